// What a model's memory at serving time depends on besides its weights: per layer, what a token
// adds to the attention cache, or what fixed state a linear-attention layer keeps — read from a
// transformers/MLX `config.json` or from a GGUF header's metadata. Pure: the callers read the files.
import type { GgufShapeKeys } from "../cache/gguf";

/** One kind of layer and how many the model has. */
export type LayerGroup =
  /** Full attention: every token of the context is cached. */
  | { kind: "full"; layers: number; elementsPerToken: number }
  /** Sliding-window attention: at most `window` tokens are cached. */
  | { kind: "sliding"; layers: number; elementsPerToken: number; window: number }
  /** Linear attention or a state-space layer: a fixed state whatever the context — a convolution's last inputs and a recurrent state. */
  | { kind: "state"; layers: number; convElements: number; recurrentElements: number };

export interface ModelShape {
  groups: LayerGroup[];
  /** The longest context the model was made for, when it says. */
  maxContext?: number;
  /** Experts of a mixture-of-experts model (all of them load: the weights' bytes already count them). */
  experts?: number;
  /** What was read, for people: "GQA 8 of 32 heads", "MLA latent 512+64", "sliding window 1024 on 40 of 48 layers"… */
  notes: string[];
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function positive(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) && value > 0 ? value : undefined;
}

/**
 * What a model type's config may leave out because its code has defaults (Gemma 3's published
 * text_config says only the layers and the window: transformers' Gemma3TextConfig and mlx-lm fill in the rest).
 */
const TYPE_DEFAULTS: Readonly<Record<string, Json>> = {
  gemma3: { num_attention_heads: 8, num_key_value_heads: 4, head_dim: 256, sliding_window_pattern: 6 },
  gemma3_text: { num_attention_heads: 8, num_key_value_heads: 4, head_dim: 256, sliding_window_pattern: 6 },
};

/** The language model's part of a config (multimodal configs nest it under text_config), with its type's defaults under it. */
function textConfig(config: Json): Json {
  let text = config;
  for (const key of ["text_config", "llm_config", "language_config"]) {
    const nested = config[key];
    if (isObject(nested) && positive(nested["num_hidden_layers"]) !== undefined) {
      text = { ...config, ...nested };
      break;
    }
  }
  const type = typeof text["model_type"] === "string" ? text["model_type"] : typeof config["model_type"] === "string" ? config["model_type"] : "";
  return { ...(TYPE_DEFAULTS[type] ?? {}), ...text };
}

/** Which layers are what: from `layer_types` when the config lists them, else from the interval/pattern fields. */
function layerKinds(c: Json, layers: number): ("full" | "sliding" | "linear")[] | undefined {
  const types = c["layer_types"];
  if (Array.isArray(types) && types.length === layers) {
    return types.map((t) => (t === "sliding_attention" ? "sliding" : t === "linear_attention" ? "linear" : "full"));
  }
  const interval = positive(c["full_attention_interval"]);
  if (interval !== undefined && (positive(c["linear_num_value_heads"]) !== undefined || positive(c["linear_key_head_dim"]) !== undefined)) {
    // Qwen3-Next: every `interval`-th layer has full attention, the others Gated DeltaNet.
    return Array.from({ length: layers }, (_, i) => ((i + 1) % interval === 0 ? "full" : "linear"));
  }
  const window = positive(c["sliding_window"]);
  if (window === undefined || c["use_sliding_window"] === false) return undefined;
  const pattern = positive(c["sliding_window_pattern"]) ?? positive(c["_sliding_window_pattern"]);
  // Gemma 3: `pattern - 1` local layers, then one global.
  if (pattern !== undefined) return Array.from({ length: layers }, (_, i) => ((i + 1) % pattern === 0 ? "full" : "sliding"));
  return Array.from({ length: layers }, () => "sliding");
}

/** The shape of a transformers/MLX model from its config.json; undefined when it does not say enough. */
export function shapeFromConfig(raw: unknown): ModelShape | undefined {
  if (!isObject(raw)) return undefined;
  const c = textConfig(raw);
  const layers = positive(c["num_hidden_layers"]) ?? positive(c["n_layer"]) ?? positive(c["num_layers"]);
  const hidden = positive(c["hidden_size"]) ?? positive(c["d_model"]);
  const heads = positive(c["num_attention_heads"]) ?? positive(c["n_head"]);
  if (layers === undefined || heads === undefined) return undefined;
  const notes: string[] = [];
  const kvLora = positive(c["kv_lora_rank"]);
  const rope = positive(c["qk_rope_head_dim"]) ?? 64;
  let elementsPerToken: number;
  if (kvLora !== undefined && c["model_type"] !== "deepseek_v2") {
    // MLA as mlx-lm's DeepSeek V3 (and Kimi K2) keep it: the compressed latent and the shared rotary key, not per-head keys and values.
    elementsPerToken = kvLora + rope;
    notes.push(`MLA: a latent of ${kvLora} + ${rope} rotary per token`);
  } else if (kvLora !== undefined) {
    // mlx-lm's DeepSeek V2 expands the latent and caches every head's key and value.
    const nope = positive(c["qk_nope_head_dim"]) ?? 128;
    const value = positive(c["v_head_dim"]) ?? 128;
    elementsPerToken = heads * (nope + rope + value);
    notes.push(`MLA expanded to ${heads} heads (${nope + rope} key + ${value} value)`);
  } else {
    const kvHeads = positive(c["num_key_value_heads"]) ?? heads;
    const headDim = positive(c["head_dim"]) ?? (hidden === undefined ? undefined : hidden / heads);
    if (headDim === undefined) return undefined;
    elementsPerToken = 2 * kvHeads * headDim;
    notes.push(kvHeads < heads ? `GQA: ${kvHeads} KV heads of ${heads}, ${headDim} wide` : `${heads} heads of ${headDim}`);
  }
  const kinds = layerKinds(c, layers) ?? Array.from({ length: layers }, () => "full" as const);
  const count = (kind: string): number => kinds.filter((k) => k === kind).length;
  const groups: LayerGroup[] = [];
  if (count("full") > 0) groups.push({ kind: "full", layers: count("full"), elementsPerToken });
  const window = positive(c["sliding_window"]);
  if (count("sliding") > 0 && window !== undefined) {
    groups.push({ kind: "sliding", layers: count("sliding"), elementsPerToken, window });
    notes.push(`sliding window of ${window} on ${count("sliding")} of ${layers} layers`);
  }
  if (count("linear") > 0) {
    const keyHeads = positive(c["linear_num_key_heads"]) ?? 16;
    const valueHeads = positive(c["linear_num_value_heads"]) ?? 32;
    const keyDim = positive(c["linear_key_head_dim"]) ?? 128;
    const valueDim = positive(c["linear_value_head_dim"]) ?? 128;
    const kernel = positive(c["linear_conv_kernel_dim"]) ?? 4;
    // Gated DeltaNet: a convolution over the last kernel-1 inputs of q, k and v, and a key × value state per value head.
    groups.push({ kind: "state", layers: count("linear"), convElements: (kernel - 1) * (2 * keyHeads * keyDim + valueHeads * valueDim), recurrentElements: valueHeads * keyDim * valueDim });
    notes.push(`linear attention on ${count("linear")} of ${layers} layers (a fixed state each)`);
  }
  const experts = positive(c["num_experts"]) ?? positive(c["n_routed_experts"]) ?? positive(c["num_local_experts"]);
  if (experts !== undefined) notes.push(`${experts} experts, all loaded`);
  const maxContext = positive(c["max_position_embeddings"]);
  return { groups, ...(maxContext === undefined ? {} : { maxContext }), ...(experts === undefined ? {} : { experts }), notes };
}

/** Architectures whose sliding-window pattern llama.cpp knows but the GGUF does not carry: every n-th layer is global. */
const SWA_PATTERN: Readonly<Record<string, number>> = { gemma2: 2, gemma3: 6, gemma3n: 5, cohere2: 4, llama4: 4 };

/** The shape of a GGUF model from its header's metadata (keys without the architecture prefix). */
export function shapeFromGguf(architecture: string | undefined, keys: GgufShapeKeys): ModelShape | undefined {
  const num = (key: string): number | undefined => positive(keys[key]);
  const layers = num("block_count");
  const heads = num("attention.head_count");
  if (layers === undefined) return undefined;
  const notes: string[] = [];
  const kvPerLayer = keys["attention.head_count_kv"];
  // Some models give the KV heads per layer (0 for a layer without attention: a recurrent one).
  const kvHeads: number[] = Array.isArray(kvPerLayer) ? kvPerLayer : Array.from({ length: layers }, () => positive(kvPerLayer) ?? heads ?? 0);
  const embedding = num("embedding_length");
  const keyLength = num("attention.key_length") ?? (embedding !== undefined && heads !== undefined ? embedding / heads : undefined);
  const valueLength = num("attention.value_length") ?? keyLength;
  const kvLora = num("attention.kv_lora_rank");
  if (keyLength === undefined || valueLength === undefined) return undefined;
  // GGUFs of MLA models since llama.cpp #12801 say one KV head of the latent's width: the general rule covers them.
  const perToken = (kv: number): number => kv * (keyLength + valueLength);
  if (kvLora !== undefined) notes.push(`MLA: a latent of ${kvLora} per token`);
  const window = num("attention.sliding_window");
  const pattern = architecture === undefined ? undefined : SWA_PATTERN[architecture];
  const interval = num("full_attention_interval");
  const ssmInner = num("ssm.inner_size");
  const ssmState = num("ssm.state_size");
  const groups: LayerGroup[] = [];
  let full = 0;
  let sliding = 0;
  let recurrent = 0;
  let fullElements = 0;
  let slidingElements = 0;
  kvHeads.forEach((kv, i) => {
    const isRecurrent = (interval !== undefined && (i + 1) % interval !== 0) || (kv === 0 && ssmInner !== undefined);
    if (isRecurrent) recurrent++;
    else if (window !== undefined && (pattern === undefined || (i + 1) % pattern !== 0)) {
      sliding++;
      slidingElements = Math.max(slidingElements, perToken(kv));
    } else {
      full++;
      fullElements = Math.max(fullElements, perToken(kv));
    }
  });
  if (full > 0) groups.push({ kind: "full", layers: full, elementsPerToken: fullElements });
  if (sliding > 0 && window !== undefined) {
    groups.push({ kind: "sliding", layers: sliding, elementsPerToken: slidingElements, window });
    notes.push(`sliding window of ${window} on ${sliding} of ${layers} layers`);
  }
  if (recurrent > 0 && ssmInner !== undefined && ssmState !== undefined) {
    const kernel = num("ssm.conv_kernel") ?? 4;
    const groupsCount = num("ssm.group_count") ?? 1;
    // llama.cpp's recurrent memory: n_embd_r (the convolution's last kernel-1 columns) and n_embd_s (the state).
    groups.push({ kind: "state", layers: recurrent, convElements: (kernel - 1) * (ssmInner + 2 * groupsCount * ssmState), recurrentElements: ssmState * ssmInner });
    notes.push(`recurrent state on ${recurrent} of ${layers} layers`);
  }
  const expertCount = num("expert_count");
  if (expertCount !== undefined) notes.push(`${expertCount} experts, all loaded`);
  if (kvLora === undefined && heads !== undefined && kvHeads[0] !== undefined && kvHeads[0] > 0 && kvHeads[0] < heads) notes.unshift(`GQA: ${kvHeads[0]} KV heads of ${heads}, ${keyLength} wide`);
  const maxContext = num("context_length");
  return { groups, ...(maxContext === undefined ? {} : { maxContext }), ...(expertCount === undefined ? {} : { experts: expertCount }), notes };
}
