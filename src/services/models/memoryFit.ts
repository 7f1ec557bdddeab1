// How much memory a model needs to serve a context, and whether that fits this machine. Pure: the
// formula of docs/memory.md. need = weights (the bytes of the files that load) + the attention
// cache at the context (per layer kind, in the cache's precision) + the fixed state of linear
// layers + the engine's own overhead.
import { formatMemory, type FitVerdict, type MemoryNeed } from "../../shared/memory";
import type { LayerGroup, ModelShape } from "./modelShape";

export type { FitVerdict, MemoryNeed } from "../../shared/memory";

/** How an engine keeps its cache: MLX (mlx_lm.server, mlx-openai-server) or llama.cpp (llama-server, the built-in engine). */
export type CacheFamily = "mlx" | "llama.cpp";

/** The cache's element precision: 16 (f16/bf16), 32, or a quantized width with its group size. */
export interface KvPrecision {
  bits: number;
  /** Elements that share one scale (and bias): MLX's kv group size, llama.cpp's block of 32. */
  groupSize?: number;
}

export interface NeedInput {
  weightsBytes: number;
  shape?: ModelShape;
  context: number;
  family: CacheFamily;
  kv?: KvPrecision;
  /** The engine's own memory (runtime, buffers), measured once per engine: see ENGINE_OVERHEAD. */
  overheadBytes: number;
  /** Caches of the whole context (parallel sequences that each have their own); default 1. */
  sequences?: number;
}

/** Bytes one cached element takes: f16 2; quantized, the packed bits plus an f16 scale (and, in MLX, bias) per group. */
export function bytesPerElement(family: CacheFamily, kv: KvPrecision | undefined): number {
  if (kv === undefined || kv.bits >= 16) return kv?.bits === 32 ? 4 : 2;
  if (family === "mlx") return kv.bits / 8 + 4 / (kv.groupSize ?? 64);
  // llama.cpp's q8_0/q4_0/q5_x blocks: 32 elements and one f16 scale (q4_1/q5_1 add a min).
  return kv.bits / 8 + 2 / (kv.groupSize ?? 32);
}

/** Tokens a cache holds for `context`: MLX grows its cache in steps of 256, llama.cpp pads its context to 256. */
function cachedTokens(context: number): number {
  return Math.ceil(context / 256) * 256;
}

/** llama.cpp keeps a sliding-window layer's window plus one micro-batch (512) of cells; MLX exactly the window. */
function slidingTokens(family: CacheFamily, group: Extract<LayerGroup, { kind: "sliding" }>, context: number): number {
  const window = family === "llama.cpp" ? group.window + 512 : group.window;
  return Math.min(cachedTokens(context), window);
}

/** The memory a model needs at a context. Without a shape the cache is taken as an eighth of the weights per 4,096 tokens. */
export function memoryNeed(input: NeedInput): MemoryNeed {
  const { weightsBytes, shape, context, family, overheadBytes } = input;
  const element = bytesPerElement(family, input.kv);
  let kvBytes = 0;
  let stateBytes = 0;
  if (shape === undefined) {
    kvBytes = Math.round((weightsBytes / 8) * (context / 4096));
  } else {
    for (const group of shape.groups) {
      if (group.kind === "full") kvBytes += group.layers * cachedTokens(context) * group.elementsPerToken * element;
      else if (group.kind === "sliding") kvBytes += group.layers * slidingTokens(family, group, context) * group.elementsPerToken * element;
      // The recurrent state is 32-bit in both; MLX keeps the convolution's inputs in the model's 16 bits, llama.cpp in 32.
      else stateBytes += group.layers * (group.convElements * (family === "mlx" ? 2 : 4) + group.recurrentElements * 4);
    }
  }
  const sequences = input.sequences ?? 1;
  kvBytes = Math.round(kvBytes * sequences);
  stateBytes *= sequences;
  return {
    weightsBytes,
    kvBytes,
    stateBytes,
    overheadBytes,
    totalBytes: weightsBytes + kvBytes + stateBytes + overheadBytes,
    context,
    ...(sequences > 1 ? { sequences } : {}),
    basis: shape === undefined ? "share" : "shape",
    notes: shape?.notes ?? ["no config.json or GGUF header said the model's shape: the cache is a guess from the weights"],
  };
}

/** The memory a model may use on this machine. */
export interface UsableMemory {
  bytes: number;
  totalBytes: number;
  /** How it was found, for people. */
  basis: string;
}

const GIB = 1024 ** 3;

/**
 * macOS: the GPU's wired limit (`sysctl iogpu.wired_limit_mb` when set, else macOS's default of
 * two thirds of memory up to 36 GB and three quarters above). Elsewhere: memory less a headroom
 * for the system and other apps (15 %, at least 2 GiB).
 */
export function usableMemory(platform: NodeJS.Platform, totalBytes: number, wiredLimitMb?: number): UsableMemory {
  if (platform === "darwin") {
    if (wiredLimitMb !== undefined && wiredLimitMb > 0) return { bytes: wiredLimitMb * 1024 * 1024, totalBytes, basis: `the GPU's wired limit (iogpu.wired_limit_mb = ${wiredLimitMb})` };
    const share = totalBytes > 36 * GIB ? 0.75 : 2 / 3;
    return { bytes: Math.floor(totalBytes * share), totalBytes, basis: `macOS's default GPU wired limit (${share === 0.75 ? "3/4" : "2/3"} of memory)` };
  }
  const headroom = Math.max(2 * GIB, totalBytes * 0.15);
  return { bytes: Math.max(0, Math.floor(totalBytes - headroom)), totalBytes, basis: "memory less 15 % (at least 2 GiB) for the system and other apps" };
}

/** Fits with room to spare (at most 85 % of usable memory), tight (up to all of it), or does not fit. */
export function fitVerdict(need: number, usable: number): FitVerdict {
  if (need <= usable * 0.85) return "fits";
  if (need <= usable) return "tight";
  return "does_not_fit";
}

/** "12.3 GB" (decimal gigabytes as macOS shows them), "850 MB" under one. */
export const formatBytes = formatMemory;

/** One line for people: "12.3 GB (9.1 GB weights + 2.9 GB cache at 32,768 tokens + 0.3 GB engine)". */
export function describeNeed(need: MemoryNeed): string {
  const sequences = need.sequences !== undefined && need.sequences > 1 ? ` × ${need.sequences} sequences` : "";
  const parts = [`${formatBytes(need.weightsBytes)} weights`, `${formatBytes(need.kvBytes)} cache at ${need.context.toLocaleString("en-US")} tokens${sequences}`];
  if (need.stateBytes > 0) parts.push(`${formatBytes(need.stateBytes)} fixed state`);
  parts.push(`${formatBytes(need.overheadBytes)} engine`);
  return `${formatBytes(need.totalBytes)} (${parts.join(" + ")})${need.shards !== undefined && need.shards > 1 ? ` on each of ${need.shards} machines` : ""}`;
}
