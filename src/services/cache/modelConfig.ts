import type { Quantization } from "../../shared/models";

/** What the scanner keeps from a config.json. */
export interface ModelConfigInfo {
  modelType?: string;
  quantization?: Quantization;
  /** Per-module bits of MLX's mixed quantization, keyed by module path. */
  moduleBits?: Record<string, number>;
  /** The config carries MLX's `"quantization": {"bits", "group_size"}` object. */
  mlxQuantization: boolean;
}

export class ModelConfigError extends Error {}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function positiveNumber(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) && value > 0 ? value : undefined;
}

/** Parses config.json text: `model_type` and the quantization MLX or transformers wrote. */
export function parseModelConfig(text: string): ModelConfigInfo {
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch (error) {
    throw new ModelConfigError(`not valid JSON (${(error as Error).message})`);
  }
  if (!isRecord(config)) throw new ModelConfigError("not a JSON object");
  const info: ModelConfigInfo = { mlxQuantization: false };
  const modelType = config["model_type"];
  if (typeof modelType === "string" && modelType !== "") info.modelType = modelType;

  const mlx = config["quantization"];
  if (isRecord(mlx)) {
    const bits = positiveNumber(mlx["bits"]);
    const groupSize = positiveNumber(mlx["group_size"]);
    if (bits !== undefined || groupSize !== undefined) {
      info.mlxQuantization = true;
      info.quantization = {
        label: bits !== undefined ? `${bits}-bit` : "quantized",
        ...(bits !== undefined ? { bits } : {}),
        ...(groupSize !== undefined ? { groupSize } : {}),
      };
      const moduleBits: Record<string, number> = {};
      for (const [key, value] of Object.entries(mlx)) {
        const moduleBitsValue = isRecord(value) ? positiveNumber(value["bits"]) : undefined;
        if (moduleBitsValue !== undefined) moduleBits[key] = moduleBitsValue;
      }
      if (Object.keys(moduleBits).length > 0) info.moduleBits = moduleBits;
      return info;
    }
  }
  const hf = config["quantization_config"];
  if (isRecord(hf)) {
    let bits = positiveNumber(hf["bits"]);
    if (bits === undefined && hf["load_in_4bit"] === true) bits = 4;
    if (bits === undefined && hf["load_in_8bit"] === true) bits = 8;
    const groupSize = positiveNumber(hf["group_size"]);
    const method = typeof hf["quant_method"] === "string" ? hf["quant_method"] : undefined;
    info.quantization = {
      label: bits !== undefined ? `${bits}-bit` : (method ?? "quantized"),
      ...(bits !== undefined ? { bits } : {}),
      ...(groupSize !== undefined ? { groupSize } : {}),
    };
  }
  return info;
}
