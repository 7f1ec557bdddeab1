import fs from "node:fs";
import type { Quantization } from "../../shared/models";

/** What the scanner keeps from a GGUF header. */
export interface GgufSummary {
  architecture?: string;
  /** llama.cpp's `general.file_type` (`llama_ftype`). */
  fileType?: number;
  /** Sum of tensor elements, when the tensor infos could be read. */
  parameters?: number;
}

/** A GGUF header's numbers about the model's shape (`<arch>.block_count`, `<arch>.attention.*`, `<arch>.ssm.*`…), keyed without the architecture. */
export type GgufShapeKeys = Record<string, number | number[]>;

/** The keys (after `<arch>.`) the memory estimate reads; a per-layer array (head_count_kv of some models) is kept whole. */
const SHAPE_KEY =
  /^(?:block_count|embedding_length|context_length|expert_count|expert_used_count|full_attention_interval|attention\.[a-z_]+|rope\.dimension_count|ssm\.[a-z_]+|shortconv\.[a-z_]+)$/;

export class GgufError extends Error {}
class NeedMoreBytes extends Error {}

const FIRST_READ = 256 * 1024;
/** Tokenizer arrays make headers large (a 150k vocabulary is ~10 MB); beyond this we give up. */
const MAX_HEADER_BYTES = 64 * 1024 * 1024;

/** `llama_ftype` values (llama.h) → the names users know. */
const FILE_TYPES: Readonly<Record<number, string>> = {
  0: "F32",
  1: "F16",
  2: "Q4_0",
  3: "Q4_1",
  4: "Q4_1_SOME_F16",
  7: "Q8_0",
  8: "Q5_0",
  9: "Q5_1",
  10: "Q2_K",
  11: "Q3_K_S",
  12: "Q3_K_M",
  13: "Q3_K_L",
  14: "Q4_K_S",
  15: "Q4_K_M",
  16: "Q5_K_S",
  17: "Q5_K_M",
  18: "Q6_K",
  19: "IQ2_XXS",
  20: "IQ2_XS",
  21: "Q2_K_S",
  22: "IQ3_XS",
  23: "IQ3_XXS",
  24: "IQ1_S",
  25: "IQ4_NL",
  26: "IQ3_S",
  27: "IQ3_M",
  28: "IQ2_S",
  29: "IQ2_M",
  30: "IQ4_XS",
  31: "IQ1_M",
  32: "BF16",
  33: "Q4_0_4_4",
  34: "Q4_0_4_8",
  35: "Q4_0_8_8",
  36: "TQ1_0",
  37: "TQ2_0",
  38: "MXFP4_MOE",
};

/** Bits per weight as users count them: Q4_K_M → 4, IQ2_XS → 2, F16/BF16 → 16. */
function bitsOfLabel(label: string): number | undefined {
  const q = /^(?:I?Q|TQ)(\d)/.exec(label);
  if (q?.[1] !== undefined) return Number(q[1]);
  const f = /^B?F(16|32)$/.exec(label);
  if (f?.[1] !== undefined) return Number(f[1]);
  if (label.startsWith("MXFP4")) return 4;
  return undefined;
}

function quantizationOfLabel(label: string): Quantization {
  const bits = bitsOfLabel(label);
  return bits === undefined ? { label } : { label, bits };
}

/** Quantization from a GGUF header's `general.file_type`. */
export function ggufFileTypeQuantization(fileType: number): Quantization | undefined {
  const label = FILE_TYPES[fileType];
  return label === undefined ? undefined : quantizationOfLabel(label);
}

const NAME_PATTERN = /(?:^|[-._])((?:I?Q|TQ)\d(?:_[A-Z0-9]+)*|BF16|F16|F32|MXFP4(?:_MOE)?)(?=[-._]|$)/gi;

/** Quantization from a GGUF file name: "Llama-3.2-1B-Instruct-Q4_K_M.gguf" → Q4_K_M. */
export function ggufNameQuantization(fileName: string): Quantization | undefined {
  const base = fileName
    .replace(/^.*[\\/]/, "")
    .replace(/\.gguf$/i, "")
    .replace(/-\d{5}-of-\d{5}$/, "");
  let last: string | undefined;
  for (const match of base.matchAll(NAME_PATTERN)) last = match[1];
  return last === undefined ? undefined : quantizationOfLabel(last.toUpperCase());
}

/** The name shards of one split GGUF share: "x-00001-of-00003.gguf" → "x.gguf". */
export function ggufSplitGroup(relPath: string): string {
  return relPath.replace(/-\d{5}-of-\d{5}(\.gguf)$/i, "$1");
}

class Cursor {
  offset = 0;
  constructor(
    private readonly buf: Buffer,
    private readonly wide: boolean,
  ) {}
  private need(n: number): void {
    if (this.offset + n > this.buf.byteLength) throw new NeedMoreBytes();
  }
  u8(): number {
    this.need(1);
    return this.buf.readUInt8(this.offset++);
  }
  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16LE(this.offset);
    this.offset += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32LE(this.offset);
    this.offset += 4;
    return v;
  }
  i32(): number {
    this.need(4);
    const v = this.buf.readInt32LE(this.offset);
    this.offset += 4;
    return v;
  }
  f32(): number {
    this.need(4);
    const v = this.buf.readFloatLE(this.offset);
    this.offset += 4;
    return v;
  }
  u64(): number {
    this.need(8);
    const v = this.buf.readBigUInt64LE(this.offset);
    this.offset += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new GgufError("a count in the header is not plausible");
    return Number(v);
  }
  /** Counts and string lengths are u64 since GGUF v2, u32 in v1. */
  count(): number {
    return this.wide ? this.u64() : this.u32();
  }
  skip(n: number): void {
    this.need(n);
    this.offset += n;
  }
  string(): string {
    const n = this.count();
    this.need(n);
    const s = this.buf.toString("utf8", this.offset, this.offset + n);
    this.offset += n;
    return s;
  }
}

const SCALAR_BYTES: Readonly<Record<number, number>> = {
  0: 1,
  1: 1,
  2: 2,
  3: 2,
  4: 4,
  5: 4,
  6: 4,
  7: 1,
  10: 8,
  11: 8,
  12: 8,
};

function skipValue(c: Cursor, type: number, depth = 0): void {
  const size = SCALAR_BYTES[type];
  if (size !== undefined) {
    c.skip(size);
    return;
  }
  if (type === 8) {
    c.skip(c.count());
    return;
  }
  if (type === 9 && depth < 4) {
    const elementType = c.u32();
    const n = c.count();
    const elementSize = SCALAR_BYTES[elementType];
    if (elementSize !== undefined) {
      c.skip(n * elementSize);
      return;
    }
    for (let i = 0; i < n; i++) skipValue(c, elementType, depth + 1);
    return;
  }
  throw new GgufError(`unknown metadata value type ${type}`);
}

/** A number, or an array of numbers (at most 4096), of an integer or float metadata type; undefined (skipped) otherwise. */
function readNumbers(c: Cursor, type: number): number | number[] | undefined {
  const one = (t: number): number | undefined => {
    switch (t) {
      case 0: {
        const v = c.u8();
        return v;
      }
      case 2:
        return c.u16();
      case 4:
        return c.u32();
      case 5:
        return c.i32();
      case 6:
        return c.f32();
      case 10:
        return c.u64();
      default:
        return undefined;
    }
  };
  if (type === 9) {
    const elementType = c.u32();
    const n = c.count();
    if (n > 4096 || ![0, 2, 4, 5, 6, 10].includes(elementType)) {
      const size = SCALAR_BYTES[elementType];
      if (size !== undefined) c.skip(n * size);
      else for (let i = 0; i < n; i++) skipValue(c, elementType, 1);
      return undefined;
    }
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push(one(elementType) ?? 0);
    return out;
  }
  if ([0, 2, 4, 5, 6, 10].includes(type)) return one(type);
  skipValue(c, type);
  return undefined;
}

/** Parses a GGUF header from the start of a file into `summary`; throws NeedMoreBytes when `buf` is too short. */
function parse(buf: Buffer, summary: GgufSummary, shape?: GgufShapeKeys): void {
  if (buf.byteLength < 8 || buf.toString("latin1", 0, 4) !== "GGUF")
    throw new GgufError("not a GGUF file (bad magic)");
  const version = buf.readUInt32LE(4);
  if (version < 1 || version > 3) throw new GgufError(`unsupported GGUF version ${version}`);
  const c = new Cursor(buf, version >= 2);
  c.skip(8);
  const tensorCount = c.count();
  const kvCount = c.count();
  for (let i = 0; i < kvCount; i++) {
    const key = c.string();
    const type = c.u32();
    if (key === "general.architecture" && type === 8) summary.architecture = c.string();
    else if (key === "general.file_type" && (type === 4 || type === 5)) summary.fileType = c.u32();
    else if (
      shape !== undefined &&
      summary.architecture !== undefined &&
      key.startsWith(`${summary.architecture}.`) &&
      SHAPE_KEY.test(key.slice(summary.architecture.length + 1))
    ) {
      const value = readNumbers(c, type);
      if (value !== undefined) shape[key.slice(summary.architecture.length + 1)] = value;
    } else skipValue(c, type);
  }
  // The shape is all a memory estimate needs: the tensor infos are not read for it.
  if (shape !== undefined) return;
  let parameters = 0;
  for (let i = 0; i < tensorCount; i++) {
    c.skip(c.count()); // name
    const dims = c.u32();
    if (dims > 8) throw new GgufError("a tensor has more than 8 dimensions");
    let elements = 1;
    for (let d = 0; d < dims; d++) elements *= c.u64();
    c.skip(4 + 8); // type, offset
    parameters += elements;
  }
  if (tensorCount > 0) summary.parameters = parameters;
}

/** Reads a GGUF file's header (metadata and tensor infos), growing the read until it fits. */
export function readGgufSummary(file: string, fileSize: number): GgufSummary {
  const fd = fs.openSync(file, "r");
  try {
    return (
      readGrowing(
        fileSize,
        (length) => readFd(fd, length),
        (buf, summary) => {
          parse(buf, summary);
        },
      ) ?? {}
    );
  } finally {
    fs.closeSync(fd);
  }
}

/** The shape keys and architecture of a GGUF file on disk. */
export function readGgufShape(file: string): { architecture?: string; keys: GgufShapeKeys } {
  const fd = fs.openSync(file, "r");
  try {
    const keys: GgufShapeKeys = {};
    const summary = readGrowing(
      fs.fstatSync(fd).size,
      (length) => readFd(fd, length),
      (buf, out) => {
        parse(buf, out, keys);
      },
    );
    return { ...(summary?.architecture === undefined ? {} : { architecture: summary.architecture }), keys };
  } finally {
    fs.closeSync(fd);
  }
}

/** The shape keys of a GGUF file read from elsewhere (the Hub, by HTTP ranges): `read(n)` gives its first n bytes. */
export async function readGgufShapeFrom(
  fileSize: number,
  read: (length: number) => Promise<Buffer>,
): Promise<{ architecture?: string; keys: GgufShapeKeys }> {
  let length = Math.min(FIRST_READ, fileSize);
  for (;;) {
    const buf = await read(length);
    const keys: GgufShapeKeys = {};
    const summary: GgufSummary = {};
    try {
      parse(buf, summary, keys);
      return { ...(summary.architecture === undefined ? {} : { architecture: summary.architecture }), keys };
    } catch (error) {
      if (!(error instanceof NeedMoreBytes)) throw error;
      if (buf.length < length || length >= fileSize || length >= MAX_HEADER_BYTES)
        throw new GgufError("truncated header");
      length = Math.min(length * 4, fileSize, MAX_HEADER_BYTES);
    }
  }
}

function readFd(fd: number, length: number): Buffer {
  const buf = Buffer.allocUnsafe(length);
  let got = 0;
  while (got < length) {
    const n = fs.readSync(fd, buf, got, length - got, got);
    if (n === 0) break;
    got += n;
  }
  return buf.subarray(0, got);
}

/** Parses the start of a file, growing the read until the header fits; past the cap, what the metadata said. */
function readGrowing(
  fileSize: number,
  read: (length: number) => Buffer,
  parseInto: (buf: Buffer, summary: GgufSummary) => void,
): GgufSummary | undefined {
  let length = Math.min(FIRST_READ, fileSize);
  for (;;) {
    const buf = read(length);
    const summary: GgufSummary = {};
    try {
      parseInto(buf, summary);
      return summary;
    } catch (error) {
      if (!(error instanceof NeedMoreBytes)) throw error;
      if (buf.length < length || length >= fileSize) throw new GgufError("truncated header");
      // Past the cap, keep what the metadata said and go without a parameter count.
      if (length >= MAX_HEADER_BYTES) return summary;
      length = Math.min(length * 4, fileSize, MAX_HEADER_BYTES);
    }
  }
}
