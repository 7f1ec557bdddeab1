import fs from "node:fs";
import path from "node:path";
import type { ResolvedModel } from "../profiles/modelResolution";

const DEFAULT_CONTEXT = 4096;
const FP16_BYTES = 2;

export interface MemoryEstimate {
  modelBytes: number;
  kvBytes: number;
  contextLength: number;
  /** How the KV size was found: from the model's config.json, or a share of the model size. */
  kvBasis: "config" | "share";
}

interface AttentionShape {
  layers: number;
  kvHeads: number;
  headDim: number;
}

/** Layers, KV heads and head size from an MLX/transformers config.json, if it says. */
function attentionShape(modelDir: string): AttentionShape | undefined {
  let config: Record<string, unknown>;
  try {
    config = JSON.parse(fs.readFileSync(path.join(modelDir, "config.json"), "utf8")) as Record<
      string,
      unknown
    >;
  } catch {
    return undefined;
  }
  // Multimodal configs keep the language model's numbers under text_config.
  const text =
    typeof config["text_config"] === "object" && config["text_config"] !== null
      ? (config["text_config"] as Record<string, unknown>)
      : config;
  const num = (key: string): number | undefined => {
    const value = text[key] ?? config[key];
    return typeof value === "number" && Number.isFinite(value) && value > 0 ? value : undefined;
  };
  const layers = num("num_hidden_layers");
  const hidden = num("hidden_size");
  const heads = num("num_attention_heads");
  if (layers === undefined || hidden === undefined || heads === undefined) return undefined;
  return { layers, kvHeads: num("num_key_value_heads") ?? heads, headDim: num("head_dim") ?? hidden / heads };
}

/**
 * Memory a model needs to serve: its weights (size on disk) plus the KV cache for the context,
 * fp16 keys and values per layer. Without a config to read (GGUF), the KV cache is taken as an
 * eighth of the weights per 4096 tokens, which is about right for current GQA models.
 */
export function estimateMemory(model: ResolvedModel, contextLength: number | undefined): MemoryEstimate {
  const context = contextLength ?? DEFAULT_CONTEXT;
  const shape = model.format === "gguf" ? undefined : attentionShape(model.path);
  if (shape) {
    const kvBytes = 2 * shape.layers * context * shape.kvHeads * shape.headDim * FP16_BYTES;
    return {
      modelBytes: model.size,
      kvBytes: Math.round(kvBytes),
      contextLength: context,
      kvBasis: "config",
    };
  }
  return {
    modelBytes: model.size,
    kvBytes: Math.round((model.size / 8) * (context / DEFAULT_CONTEXT)),
    contextLength: context,
    kvBasis: "share",
  };
}

function gib(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(bytes < 10 * 1024 ** 3 ? 1 : 0)} GB`;
}

/** A warning when the estimate is over `freeBytes`; undefined when it fits. */
export function memoryWarning(estimate: MemoryEstimate, freeBytes: number): string | undefined {
  const total = estimate.modelBytes + estimate.kvBytes;
  if (total <= freeBytes) return undefined;
  return (
    `The model may not fit in memory: it needs about ${gib(total)} (${gib(estimate.modelBytes)} of weights + ${gib(estimate.kvBytes)} ` +
    `of KV cache for ${estimate.contextLength} tokens) and ${gib(freeBytes)} is free. It may load slowly, swap, or fail; ` +
    `close other apps or pick a smaller quantization or context.`
  );
}
