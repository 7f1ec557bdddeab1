// Writes a tiny but valid GGUF v3 llama model (~0.5 MB, random F32 weights) that llama.cpp
// loads and runs. Seeded, so the same seed gives the same bytes on every run and machine.
import { createHash } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";

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

/** The vocabulary: specials, the 256 byte tokens, single letters, words and punctuation. */
function vocabulary(): { tokens: string[]; types: TokenType[]; scores: number[]; generable: boolean[] } {
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

/** The bytes of a tiny llama GGUF model made from `seed`. */
export function tinyGgufBytes(seed = 1): Buffer {
  const next = random(seed);
  const uniform = (count: number, scale: number): Float32Array => {
    const data = new Float32Array(count);
    for (let i = 0; i < count; i++) data[i] = (next() * 2 - 1) * scale;
    return data;
  };
  const ones = (count: number): Float32Array => new Float32Array(count).fill(1);
  const vocab = vocabulary();
  const nVocab = vocab.tokens.length;

  // Output rows of tokens the model should not produce are zero (logit 0) and the rest are
  // large (logit std ~4): then end-of-sequence, bytes and lone letters are all but never
  // sampled, and the model writes long runs of words and punctuation.
  const output = uniform(EMBEDDING * nVocab, 0.87);
  vocab.generable.forEach((canGenerate, token) => {
    if (!canGenerate) output.fill(0, token * EMBEDDING, (token + 1) * EMBEDDING);
  });

  const tensors: Tensor[] = [
    { name: "token_embd.weight", dims: [EMBEDDING, nVocab], data: uniform(EMBEDDING * nVocab, 1) },
    { name: "output_norm.weight", dims: [EMBEDDING], data: ones(EMBEDDING) },
    { name: "output.weight", dims: [EMBEDDING, nVocab], data: output },
  ];
  for (let block = 0; block < BLOCKS; block++) {
    const p = `blk.${block}.`;
    const attention = 0.125; // ~1/sqrt(EMBEDDING): keeps activations in range
    tensors.push(
      { name: `${p}attn_norm.weight`, dims: [EMBEDDING], data: ones(EMBEDDING) },
      {
        name: `${p}attn_q.weight`,
        dims: [EMBEDDING, EMBEDDING],
        data: uniform(EMBEDDING * EMBEDDING, attention),
      },
      {
        name: `${p}attn_k.weight`,
        dims: [EMBEDDING, EMBEDDING],
        data: uniform(EMBEDDING * EMBEDDING, attention),
      },
      {
        name: `${p}attn_v.weight`,
        dims: [EMBEDDING, EMBEDDING],
        data: uniform(EMBEDDING * EMBEDDING, attention),
      },
      {
        name: `${p}attn_output.weight`,
        dims: [EMBEDDING, EMBEDDING],
        data: uniform(EMBEDDING * EMBEDDING, attention),
      },
      { name: `${p}ffn_norm.weight`, dims: [EMBEDDING], data: ones(EMBEDDING) },
      {
        name: `${p}ffn_gate.weight`,
        dims: [EMBEDDING, FEED_FORWARD],
        data: uniform(EMBEDDING * FEED_FORWARD, attention),
      },
      {
        name: `${p}ffn_up.weight`,
        dims: [EMBEDDING, FEED_FORWARD],
        data: uniform(EMBEDDING * FEED_FORWARD, attention),
      },
      {
        name: `${p}ffn_down.weight`,
        dims: [FEED_FORWARD, EMBEDDING],
        data: uniform(FEED_FORWARD * EMBEDDING, 0.088),
      },
    );
  }

  const metadata: [string, MetadataValue][] = [
    ["general.architecture", { type: ValueType.String, value: "llama" }],
    ["general.name", { type: ValueType.String, value: "tiny-random-llama" }],
    ["general.alignment", { type: ValueType.Uint32, value: ALIGNMENT }],
    ["general.file_type", { type: ValueType.Uint32, value: 0 }], // all F32
    ["llama.context_length", { type: ValueType.Uint32, value: CONTEXT }],
    ["llama.embedding_length", { type: ValueType.Uint32, value: EMBEDDING }],
    ["llama.block_count", { type: ValueType.Uint32, value: BLOCKS }],
    ["llama.feed_forward_length", { type: ValueType.Uint32, value: FEED_FORWARD }],
    ["llama.attention.head_count", { type: ValueType.Uint32, value: HEADS }],
    ["llama.attention.head_count_kv", { type: ValueType.Uint32, value: HEADS }],
    ["llama.rope.dimension_count", { type: ValueType.Uint32, value: EMBEDDING / HEADS }],
    ["llama.attention.layer_norm_rms_epsilon", { type: ValueType.Float32, value: 1e-5 }],
    ["tokenizer.ggml.model", { type: ValueType.String, value: "llama" }],
    ["tokenizer.ggml.tokens", { type: ValueType.Array, itemType: ValueType.String, value: vocab.tokens }],
    ["tokenizer.ggml.scores", { type: ValueType.Array, itemType: ValueType.Float32, value: vocab.scores }],
    ["tokenizer.ggml.token_type", { type: ValueType.Array, itemType: ValueType.Int32, value: vocab.types }],
    ["tokenizer.ggml.unknown_token_id", { type: ValueType.Uint32, value: 0 }],
    ["tokenizer.ggml.bos_token_id", { type: ValueType.Uint32, value: 1 }],
    ["tokenizer.ggml.eos_token_id", { type: ValueType.Uint32, value: 2 }],
    ["tokenizer.chat_template", { type: ValueType.String, value: CHAT_TEMPLATE }],
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
  opts: { seed?: number } = {},
): Promise<{ path: string; sha256: string; size: number }> {
  const bytes = tinyGgufBytes(opts.seed ?? 1);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, bytes);
  return { path: file, sha256: createHash("sha256").update(bytes).digest("hex"), size: bytes.length };
}
