// Writes a tiny but valid GGUF v3 llama model (~0.5 MB, random F32 weights) that llama.cpp
// loads and runs. Seeded, so the same seed gives the same bytes on every run and machine.
import { createHash } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { TINY_VOCABULARY_PUNCTUATION, TINY_VOCABULARY_WORDS } from "./tinyVocabulary";

const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian uint32
const ALIGNMENT = 32;

const enum ValueType {
  Uint32 = 4,
  Int32 = 5,
  Float32 = 6,
  String = 8,
  Array = 9,
}

/** llama.cpp's token types (llama_token_type). */
const enum TokenType {
  Normal = 1,
  Unknown = 2,
  Control = 3,
  Byte = 6,
}

type MetadataValue =
  | { type: ValueType.Uint32 | ValueType.Int32 | ValueType.Float32; value: number }
  | { type: ValueType.String; value: string }
  | { type: ValueType.Array; itemType: ValueType.String; value: readonly string[] }
  | { type: ValueType.Array; itemType: ValueType.Float32 | ValueType.Int32; value: readonly number[] };

const EMBEDDING = 64;
const HEADS = 4;
const BLOCKS = 2;
const FEED_FORWARD = 128;
const CONTEXT = 4096;
/** `</s>`, the end-of-sequence token (tokenizer.ggml.eos_token_id). */
const EOS_ID = 2;

/** ChatML, so the engine has a real template to resolve; stories260K has none. */
const CHAT_TEMPLATE =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

// prettier-ignore
const WORDS = [
  "the", "a", "and", "was", "Once", "upon", "time", "there", "little", "girl", "boy", "dog", "cat", "sun",
  "big", "happy", "play", "tree", "said", "she", "he", "they", "to", "in", "with", "day", "friend",
  "park", "ball", "red", "blue", "saw", "went", "home", "mom", "Lily", "Tom", "bird", "sky", "fun",
];
const PUNCTUATION = [".", ",", "!", "?"];
const LETTERS = "abcdefghijklmnopqrstuvwxyz".split("");

/** What a tiny model can differ in; every field left out keeps the default model's bytes. */
export interface TinyGgufOptions {
  /** `llama.context_length`, the training context (default 4096). */
  contextLength?: number;
  /** `tokenizer.chat_template` (default a ChatML template without tools). */
  chatTemplate?: string;
  /** Control tokens added after the default vocabulary: the markers a chat template uses, such as `<tool_call>`. */
  controlTokens?: readonly string[];
  /** `general.name` (default "tiny-random-llama"). */
  name?: string;
  /**
   * Words for a richer tokenizer: printable ASCII, lowercase letter pairs and every prefix of each
   * word (with and without SentencePiece's "▁") become pieces, so English and JSON take ~4
   * characters a token as with a real vocabulary, not one. None of them is generated: the model
   * still writes only its story words (their logits are scaled up to outweigh the new pieces).
   */
  vocabularyWords?: readonly string[];
  /**
   * Let the model end its answers: every token's embedding gets a constant first component, so
   * that after the final norm that component is always positive, and end-of-sequence reads only
   * it, with this weight (its logit is then about weight × 4). A client that treats a reply cut
   * by max_tokens as an error (Claude Code does) needs answers that end.
   */
  endOfSequenceWeight?: number;
  /** Transformer blocks (default 2). One halves the time a long prompt takes to read. */
  blocks?: number;
  /** Width of the model (default 64), its feed-forward layer (default 128), attention heads (default 4) and KV heads (default: as many, fewer for GQA): a few hundred MB for the memory tests. */
  embedding?: number;
  feedForward?: number;
  heads?: number;
  kvHeads?: number;
  /**
   * A model that follows this text as a bigram model instead of random weights: its words (runs
   * of letters) and . , ! ? become tokens (with the richer tokenizer, so the text tokenizes to
   * them), and the next token's logits are the log-probabilities of what follows the current one
   * in the text (add-k smoothed, see bigramSmoothing; after a paragraph's last mark, end of sequence too). The attention and
   * feed-forward layers add nothing (their output weights are zero), each of the text's tokens has
   * its own embedding dimension, and the output matrix holds the bigram table. Other characters
   * are read as spaces.
   */
  bigramText?: string;
  /**
   * What every pair the text never has counts as (default 0.1: a shuffled text scores finite
   * perplexity). A model meant to write the text's pairs only, as the demo's, takes a small one:
   * with some 200 tokens to follow each, 0.1 would give a rare word's row most of its mass.
   */
  bigramSmoothing?: number;
}

/**
 * Qwen 2.5's chat template (tokenizer_config.json of Qwen/Qwen2.5-7B-Instruct): tools listed in
 * the system turn, calls as `<tool_call>{"name", "arguments"}</tool_call>`, results in a user turn
 * as `<tool_response>`. On a llama-architecture model node-llama-cpp cannot use its Qwen wrapper
 * (that one checks for a qwen architecture), so it renders this template with its
 * JinjaTemplateChatWrapper, which reads the function-call syntax out of the template — the path
 * Hermes-style fine-tunes of llama take.
 */
export const QWEN25_TOOLS_CHAT_TEMPLATE = [
  "{%- if tools %}",
  "{{- '<|im_start|>system\\n' }}",
  "{%- if messages[0]['role'] == 'system' %}{{- messages[0]['content'] }}{%- else %}{{- 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.' }}{%- endif %}",
  '{{- "\\n\\n# Tools\\n\\nYou may call one or more functions to assist with the user query.\\n\\nYou are provided with function signatures within <tools></tools> XML tags:\\n<tools>" }}',
  '{%- for tool in tools %}{{- "\\n" }}{{- tool | tojson }}{%- endfor %}',
  '{{- "\\n</tools>\\n\\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\\n<tool_call>\\n{\\"name\\": <function-name>, \\"arguments\\": <args-json-object>}\\n</tool_call><|im_end|>\\n" }}',
  "{%- else %}",
  "{%- if messages[0]['role'] == 'system' %}{{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}{%- else %}{{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}{%- endif %}",
  "{%- endif %}",
  "{%- for message in messages %}",
  '{%- if (message.role == "user") or (message.role == "system" and not loop.first) or (message.role == "assistant" and not message.tool_calls) %}',
  "{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}",
  '{%- elif message.role == "assistant" %}',
  "{{- '<|im_start|>' + message.role }}",
  "{%- if message.content %}{{- '\\n' + message.content }}{%- endif %}",
  "{%- for tool_call in message.tool_calls %}",
  "{%- if tool_call.function is defined %}{%- set tool_call = tool_call.function %}{%- endif %}",
  "{{- '\\n<tool_call>\\n{\"name\": \"' }}{{- tool_call.name }}{{- '\", \"arguments\": ' }}{{- tool_call.arguments | tojson }}{{- '}\\n</tool_call>' }}",
  "{%- endfor %}",
  "{{- '<|im_end|>\\n' }}",
  '{%- elif message.role == "tool" %}',
  '{%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != "tool") %}{{- \'<|im_start|>user\' }}{%- endif %}',
  "{{- '\\n<tool_response>\\n' }}{{- message.content }}{{- '\\n</tool_response>' }}",
  '{%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}{{- \'<|im_end|>\\n\' }}{%- endif %}',
  "{%- endif %}",
  "{%- endfor %}",
  "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}",
].join("\n");

/**
 * A model for tool calling with a real agent's prompt: a 32k context and Qwen 2.5's tool
 * template, with its markers as control tokens.
 */
export const TOOL_CALLING_TINY_GGUF: TinyGgufOptions = {
  contextLength: 32768,
  chatTemplate: QWEN25_TOOLS_CHAT_TEMPLATE,
  controlTokens: ["<tool_call>", "</tool_call>", "<tool_response>", "</tool_response>"],
  name: "tiny-random-llama-tools",
  vocabularyWords: TINY_VOCABULARY_WORDS,
  endOfSequenceWeight: 6,
  // Reading Claude Code's ~25k-token prompt costs O(n²) attention: one block reads it in half the time.
  blocks: 1,
};

/** The vocabulary: specials, the 256 byte tokens, single letters, words, punctuation, then any extra control tokens and word pieces. */
function vocabulary(controlTokens: readonly string[] = [], words: readonly string[] = [], punctuationRuns = true): {
  tokens: string[];
  types: TokenType[];
  scores: number[];
  generable: boolean[];
} {
  const tokens: string[] = [];
  const types: TokenType[] = [];
  const scores: number[] = [];
  const generable: boolean[] = [];
  const add = (token: string, type: TokenType, score: number, canGenerate: boolean): void => {
    tokens.push(token);
    types.push(type);
    scores.push(score);
    generable.push(canGenerate);
  };
  add("<unk>", TokenType.Unknown, 0, false);
  add("<s>", TokenType.Control, 0, false);
  add("</s>", TokenType.Control, 0, false);
  add("<|im_start|>", TokenType.Control, 0, false);
  add("<|im_end|>", TokenType.Control, 0, false);
  for (let byte = 0; byte < 256; byte++) {
    add(`<0x${byte.toString(16).toUpperCase().padStart(2, "0")}>`, TokenType.Byte, 0, false);
  }
  // "▁" is SentencePiece's space; words carry it so the model's output has spaces between words.
  add("\u2581", TokenType.Normal, -1000, false);
  LETTERS.forEach((letter, i) => {
    add(letter, TokenType.Normal, -1001 - i, false);
  });
  WORDS.forEach((word, i) => {
    add(`\u2581${word}`, TokenType.Normal, -10 - i, true);
  });
  PUNCTUATION.forEach((mark, i) => {
    add(mark, TokenType.Normal, -100 - i, true);
  });
  // Appended, so the default vocabulary keeps its ids (and the default model its bytes).
  for (const token of controlTokens) add(token, TokenType.Control, 0, false);
  if (words.length > 0) {
    // SentencePiece merges the adjacent pair with the best score whose join is a piece, so every
    // step towards a word must be a piece too: all its prefixes, longer ones scored higher.
    const seen = new Set(tokens);
    const piece = (text: string, score: number): void => {
      if (seen.has(text)) return;
      seen.add(text);
      add(text, TokenType.Normal, score, false);
    };
    for (let code = 33; code < 127; code++) {
      piece(String.fromCharCode(code), -3000);
      piece(`\u2581${String.fromCharCode(code)}`, -2900);
    }
    for (const a of LETTERS) for (const b of LETTERS) piece(a + b, -2000);
    // (Not for a bigram model: ". " as one piece would take the space its next word's "▁" needs.)
    for (const run of punctuationRuns ? TINY_VOCABULARY_PUNCTUATION : []) {
      for (let end = 2; end <= run.length; end++) piece(run.slice(0, end), end * 10 - 5);
    }
    const variants = words.flatMap((word) => [word, word.charAt(0).toUpperCase() + word.slice(1)]);
    for (const word of variants) {
      for (let end = 2; end <= word.length; end++) {
        piece(`\u2581${word.slice(0, end)}`, end * 10);
        piece(word.slice(0, end), end * 10 - 5);
      }
    }
  }
  return { tokens, types, scores, generable };
}

/** mulberry32: a small, fast, seeded PRNG. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class ByteWriter {
  private readonly chunks: Buffer[] = [];
  length = 0;
  push(buffer: Buffer): void {
    this.chunks.push(buffer);
    this.length += buffer.length;
  }
  u32(value: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(value);
    this.push(b);
  }
  i32(value: number): void {
    const b = Buffer.alloc(4);
    b.writeInt32LE(value);
    this.push(b);
  }
  u64(value: number): void {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(value));
    this.push(b);
  }
  f32(value: number): void {
    const b = Buffer.alloc(4);
    b.writeFloatLE(value);
    this.push(b);
  }
  string(value: string): void {
    const bytes = Buffer.from(value, "utf8");
    this.u64(bytes.length);
    this.push(bytes);
  }
  padTo(alignment: number): void {
    const pad = (alignment - (this.length % alignment)) % alignment;
    if (pad > 0) this.push(Buffer.alloc(pad));
  }
  toBuffer(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

function writeValue(out: ByteWriter, entry: MetadataValue): void {
  out.u32(entry.type);
  switch (entry.type) {
    case ValueType.Uint32:
      out.u32(entry.value);
      return;
    case ValueType.Int32:
      out.i32(entry.value);
      return;
    case ValueType.Float32:
      out.f32(entry.value);
      return;
    case ValueType.String:
      out.string(entry.value);
      return;
    case ValueType.Array:
      out.u32(entry.itemType);
      out.u64(entry.value.length);
      if (entry.itemType === ValueType.String) for (const item of entry.value) out.string(item);
      else if (entry.itemType === ValueType.Float32) for (const item of entry.value) out.f32(item);
      else for (const item of entry.value) out.i32(item);
      return;
  }
}

interface Tensor {
  name: string;
  /** GGUF order: dims[0] is the length of a row. */
  dims: number[];
  data: Float32Array;
}

/**
 * The text's tokens as the richer tokenizer makes them: "▁word" after a space (the text's start
 * counts as one), marks alone, a paragraph break as two newline bytes with the next word
 * unspaced; one list per paragraph.
 */
export function bigramTokens(text: string): string[][] {
  return text
    .split(/\n\s*\n/)
    .map((paragraph) => [...paragraph.replace(/[^A-Za-z.,!?]+/g, " ").matchAll(/[A-Za-z]+|[.,!?]/g)].map((m) => (/[A-Za-z]/.test(m[0]) ? `\u2581${m[0]}` : m[0])))
    .filter((tokens) => tokens.length > 0)
    .map((tokens, i) => (i === 0 ? tokens : ["<0x0A>", "<0x0A>", ...tokens.map((t, j) => (j === 0 ? t.replace(/^\u2581/, "") : t))]));
}

/** The embeddings and output matrix of a bigram model of `text` (see TinyGgufOptions.bigramText). */
function bigramWeights(text: string, tokens: readonly string[], E: number, smoothing: number): { embeddings: Float32Array; output: Float32Array } {
  const ids = new Map<string, number>();
  tokens.forEach((token, id) => {
    if (!ids.has(token)) ids.set(token, id);
  });
  const paragraphs = bigramTokens(text).map((p) => p.map((token) => ids.get(token)).filter((id): id is number => id !== undefined));
  const stream = paragraphs.flat();
  const seen = [...new Set(stream)];
  if (seen.length + 1 > E) throw new Error(`the text has ${seen.length} distinct tokens: the model needs an embedding of at least ${seen.length + 1}`);
  const slot = new Map(seen.map((id, i) => [id, i]));
  const other = seen.length;
  const nVocab = tokens.length;
  // counts[row][next]: row is a slot (a token of the text) or `other` (any other token: unigram counts).
  const counts = Array.from({ length: other + 1 }, () => new Map<number, number>());
  const bump = (row: number, next: number): void => {
    const m = counts[row];
    if (m) m.set(next, (m.get(next) ?? 0) + 1);
  };
  stream.forEach((id, i) => {
    bump(other, id);
    bump(slot.get(id) ?? other, stream[i + 1] ?? EOS_ID);
  });
  // A paragraph's last mark may also end the answer: end of sequence as often as the text goes on.
  for (const p of paragraphs.slice(0, -1)) {
    const last = p.at(-1);
    if (last !== undefined) bump(slot.get(last) ?? other, EOS_ID);
  }
  const targets = [...seen, EOS_ID];
  const embeddings = new Float32Array(E * nVocab);
  for (let id = 0; id < nVocab; id++) embeddings[id * E + (slot.get(id) ?? other)] = 1;
  // RMS norm turns a one-hot row into √E at its slot: the logit of v is output[v][slot] · √E.
  const output = new Float32Array(E * nVocab).fill(-30 / Math.sqrt(E));
  counts.forEach((m, row) => {
    let total = 0;
    for (const v of m.values()) total += v;
    for (const v of targets) output[v * E + row] = Math.log(((m.get(v) ?? 0) + smoothing) / (total + smoothing * targets.length)) / Math.sqrt(E);
  });
  return { embeddings, output };
}

/** The bytes of a tiny llama GGUF model made from `seed` (and `options`; none gives the default model). */
export function tinyGgufBytes(seed = 1, options: TinyGgufOptions = {}): Buffer {
  if (options.bigramText !== undefined) {
    const words = [...new Set(bigramTokens(options.bigramText).flat().filter((t) => /^\u2581?[A-Za-z]+$/.test(t)).map((t) => t.replace(/^\u2581/, "").toLowerCase()))];
    const distinct = new Set(bigramTokens(options.bigramText).flat()).size;
    // Attention and feed-forward add nothing: blocks stay, zeroed, so the file is a plain llama model.
    options = { blocks: 1, heads: 4, feedForward: 32, name: "tiny-bigram-llama", ...options, vocabularyWords: [...(options.vocabularyWords ?? []), ...words], embedding: Math.ceil((distinct + 2) / 32) * 32 };
  }
  const next = random(seed);
  const E = options.embedding ?? EMBEDDING;
  const FF = options.feedForward ?? FEED_FORWARD;
  const H = options.heads ?? HEADS;
  const KV = options.kvHeads ?? H;
  const kvWidth = (E / H) * KV;
  const uniform = (count: number, scale: number): Float32Array => {
    const data = new Float32Array(count);
    for (let i = 0; i < count; i++) data[i] = (next() * 2 - 1) * scale;
    return data;
  };
  const ones = (count: number): Float32Array => new Float32Array(count).fill(1);
  const vocab = vocabulary(options.controlTokens, options.vocabularyWords, options.bigramText === undefined);
  const nVocab = vocab.tokens.length;

  // Output rows of tokens the model should not produce are zero (logit 0) and the rest are
  // large (logit std ~4): then end-of-sequence, bytes and lone letters are all but never
  // sampled, and the model writes long runs of words and punctuation.
  // With many more pieces at logit 0 the story words need a larger spread (std ~12) to stay ahead.
  const output = uniform(E * nVocab, options.vocabularyWords === undefined ? 0.87 : 2.6);
  vocab.generable.forEach((canGenerate, token) => {
    if (!canGenerate) output.fill(0, token * E, (token + 1) * E);
  });

  let embeddings = uniform(E * nVocab, 1);
  if (options.bigramText !== undefined) {
    const bigram = bigramWeights(options.bigramText, vocab.tokens, E, options.bigramSmoothing ?? 0.1);
    embeddings = bigram.embeddings;
    output.set(bigram.output);
  }
  const eosWeight = options.endOfSequenceWeight;
  if (eosWeight !== undefined) {
    for (let token = 0; token < nVocab; token++) embeddings[token * E] = 3;
    output.fill(0, EOS_ID * E, (EOS_ID + 1) * E);
    output[EOS_ID * E] = eosWeight;
  }

  const tensors: Tensor[] = [
    { name: "token_embd.weight", dims: [E, nVocab], data: embeddings },
    { name: "output_norm.weight", dims: [E], data: ones(E) },
    { name: "output.weight", dims: [E, nVocab], data: output },
  ];
  const blocks = options.blocks ?? BLOCKS;
  for (let block = 0; block < blocks; block++) {
    const p = `blk.${block}.`;
    const attention = 1 / Math.sqrt(E); // keeps activations in range
    tensors.push(
      { name: `${p}attn_norm.weight`, dims: [E], data: ones(E) },
      {
        name: `${p}attn_q.weight`,
        dims: [E, E],
        data: uniform(E * E, attention),
      },
      {
        name: `${p}attn_k.weight`,
        dims: [E, kvWidth],
        data: uniform(E * kvWidth, attention),
      },
      {
        name: `${p}attn_v.weight`,
        dims: [E, kvWidth],
        data: uniform(E * kvWidth, attention),
      },
      {
        name: `${p}attn_output.weight`,
        dims: [E, E],
        data: options.bigramText === undefined ? uniform(E * E, attention) : new Float32Array(E * E),
      },
      { name: `${p}ffn_norm.weight`, dims: [E], data: ones(E) },
      {
        name: `${p}ffn_gate.weight`,
        dims: [E, FF],
        data: uniform(E * FF, attention),
      },
      {
        name: `${p}ffn_up.weight`,
        dims: [E, FF],
        data: uniform(E * FF, attention),
      },
      {
        name: `${p}ffn_down.weight`,
        dims: [FF, E],
        data: options.bigramText === undefined ? uniform(FF * E, FF === FEED_FORWARD ? 0.088 : 1 / Math.sqrt(FF)) : new Float32Array(FF * E),
      },
    );
  }

  const metadata: [string, MetadataValue][] = [
    ["general.architecture", { type: ValueType.String, value: "llama" }],
    ["general.name", { type: ValueType.String, value: options.name ?? "tiny-random-llama" }],
    ["general.alignment", { type: ValueType.Uint32, value: ALIGNMENT }],
    ["general.file_type", { type: ValueType.Uint32, value: 0 }], // all F32
    ["llama.context_length", { type: ValueType.Uint32, value: options.contextLength ?? CONTEXT }],
    ["llama.embedding_length", { type: ValueType.Uint32, value: E }],
    ["llama.block_count", { type: ValueType.Uint32, value: blocks }],
    ["llama.feed_forward_length", { type: ValueType.Uint32, value: FF }],
    ["llama.attention.head_count", { type: ValueType.Uint32, value: H }],
    ["llama.attention.head_count_kv", { type: ValueType.Uint32, value: KV }],
    ["llama.rope.dimension_count", { type: ValueType.Uint32, value: E / H }],
    ["llama.attention.layer_norm_rms_epsilon", { type: ValueType.Float32, value: 1e-5 }],
    ["tokenizer.ggml.model", { type: ValueType.String, value: "llama" }],
    ["tokenizer.ggml.tokens", { type: ValueType.Array, itemType: ValueType.String, value: vocab.tokens }],
    ["tokenizer.ggml.scores", { type: ValueType.Array, itemType: ValueType.Float32, value: vocab.scores }],
    ["tokenizer.ggml.token_type", { type: ValueType.Array, itemType: ValueType.Int32, value: vocab.types }],
    ["tokenizer.ggml.unknown_token_id", { type: ValueType.Uint32, value: 0 }],
    ["tokenizer.ggml.bos_token_id", { type: ValueType.Uint32, value: 1 }],
    ["tokenizer.ggml.eos_token_id", { type: ValueType.Uint32, value: 2 }],
    ["tokenizer.chat_template", { type: ValueType.String, value: options.chatTemplate ?? CHAT_TEMPLATE }],
  ];

  const out = new ByteWriter();
  out.u32(GGUF_MAGIC);
  out.u32(3);
  out.u64(tensors.length);
  out.u64(metadata.length);
  for (const [key, value] of metadata) {
    out.string(key);
    writeValue(out, value);
  }
  let offset = 0;
  for (const tensor of tensors) {
    out.string(tensor.name);
    out.u32(tensor.dims.length);
    for (const dim of tensor.dims) out.u64(dim);
    out.u32(0); // GGML_TYPE_F32
    out.u64(offset);
    offset += Math.ceil(tensor.data.byteLength / ALIGNMENT) * ALIGNMENT;
  }
  out.padTo(ALIGNMENT);
  for (const tensor of tensors) {
    out.push(Buffer.from(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength));
    out.padTo(ALIGNMENT);
  }
  return out.toBuffer();
}

/** Writes the tiny model to `file` and returns its sha256 and size. */
export async function writeTinyGguf(
  file: string,
  opts: { seed?: number } & TinyGgufOptions = {},
): Promise<{ path: string; sha256: string; size: number }> {
  const { seed, ...options } = opts;
  const bytes = tinyGgufBytes(seed ?? 1, options);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, bytes);
  return { path: file, sha256: createHash("sha256").update(bytes).digest("hex"), size: bytes.length };
}
