import fs from "node:fs";

/** Largest header we accept (the safetensors reference implementation refuses more than 100 MB). */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;
/** First read: enough for the whole header of almost every file, so one read() usually does. */
const FIRST_READ = 64 * 1024;

/** What a safetensors header tells about parameter counts, independent of quantization. */
export interface SafetensorsSummary {
  /** Elements of tensors that are neither packed (U32) nor `.scales`/`.biases`. */
  plain: number;
  /** Elements of `.scales`/`.biases` tensors (quantization bookkeeping in MLX models). */
  scalesBiases: number;
  /** Packed U32 tensors: [tensor name, elements as stored]. */
  packed: [string, number][];
}

export class SafetensorsError extends Error {}

/** Reads only the JSON header of a safetensors file (8-byte length, then JSON), never the data. */
export function readSafetensorsHeader(file: string, fileSize: number): string {
  const fd = fs.openSync(file, "r");
  try {
    const first = Buffer.allocUnsafe(Math.min(FIRST_READ, Math.max(fileSize, 8)));
    const got = fs.readSync(fd, first, 0, first.byteLength, 0);
    if (got < 8) throw new SafetensorsError(`file is ${got} bytes, too short for a safetensors header`);
    const length = Number(first.readBigUInt64LE(0));
    if (length > MAX_HEADER_BYTES) throw new SafetensorsError(`header length ${length} is not plausible`);
    if (8 + length > fileSize)
      throw new SafetensorsError(`truncated header: needs ${8 + length} bytes, file has ${fileSize}`);
    if (8 + length <= got) return first.toString("utf8", 8, 8 + length);
    const rest = Buffer.allocUnsafe(length);
    const inFirst = got - 8;
    first.copy(rest, 0, 8, got);
    let offset = inFirst;
    while (offset < length) {
      const n = fs.readSync(fd, rest, offset, length - offset, 8 + offset);
      if (n === 0) throw new SafetensorsError("truncated header");
      offset += n;
    }
    return rest.toString("utf8");
  } finally {
    fs.closeSync(fd);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Sums tensor elements from a safetensors JSON header. */
export function summarizeSafetensorsHeader(json: string): SafetensorsSummary {
  let header: unknown;
  try {
    header = JSON.parse(json);
  } catch (error) {
    throw new SafetensorsError(`header is not valid JSON (${(error as Error).message})`);
  }
  if (!isRecord(header)) throw new SafetensorsError("header is not a JSON object");
  const summary: SafetensorsSummary = { plain: 0, scalesBiases: 0, packed: [] };
  for (const [name, info] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    if (!isRecord(info) || !Array.isArray(info["shape"]) || typeof info["dtype"] !== "string") {
      throw new SafetensorsError(`tensor ${name} has no dtype/shape`);
    }
    let elements = 1;
    for (const dim of info["shape"]) {
      if (typeof dim !== "number" || !Number.isInteger(dim) || dim < 0)
        throw new SafetensorsError(`tensor ${name} has a bad shape`);
      elements *= dim;
    }
    if (name.endsWith(".scales") || name.endsWith(".biases")) summary.scalesBiases += elements;
    else if (info["dtype"] === "U32") summary.packed.push([name, elements]);
    else summary.plain += elements;
  }
  return summary;
}

export interface QuantizationForCount {
  bits: number;
  /** Per-module bits from MLX's mixed quantization (`"model.layers.0.mlp.down_proj": {"bits": 8}`). */
  moduleBits?: Record<string, number>;
}

/**
 * Parameters of a model from its shards' summaries: packed U32 weights unpacked (×32/bits),
 * `.scales`/`.biases` left out, when the model is quantized.
 */
export function countParameters(
  summaries: readonly SafetensorsSummary[],
  quantization: QuantizationForCount | undefined,
): number {
  let total = 0;
  for (const s of summaries) {
    if (!quantization) {
      total += s.plain + s.scalesBiases;
      for (const [, elements] of s.packed) total += elements;
      continue;
    }
    total += s.plain;
    for (const [name, elements] of s.packed) {
      const module = name.endsWith(".weight") ? name.slice(0, -".weight".length) : name;
      const bits = quantization.moduleBits?.[module] ?? quantization.bits;
      // The packed dimension is the last one, so unpacking multiplies the element count.
      total += (elements * 32) / bits;
    }
  }
  return Math.round(total);
}
