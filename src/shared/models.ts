import * as z from "zod";

/** What kind of weights a cached repo holds. */
export const ModelFormat = z.enum(["mlx", "gguf", "safetensors", "unknown"]);
export type ModelFormat = z.infer<typeof ModelFormat>;

export const Quantization = z.object({
  /** Bits per weight, e.g. 4 for an MLX 4-bit model or Q4_K_M. */
  bits: z.number().optional(),
  groupSize: z.number().optional(),
  /** Label as users know it: "4-bit", "Q4_K_M", "F16". */
  label: z.string(),
});
export type Quantization = z.infer<typeof Quantization>;

export const GgufFile = z.object({
  path: z.string(),
  size: z.number(),
  quantization: Quantization.optional(),
});
export type GgufFile = z.infer<typeof GgufFile>;

export const CachedRevision = z.object({
  commit: z.string(),
  /** Branch and PR refs pointing at this commit (e.g. ["main"]). */
  refs: z.array(z.string()),
  /** Absolute path of `snapshots/<commit>`. */
  snapshotPath: z.string(),
  fileCount: z.number(),
  /** Bytes of the blobs this revision links to (each blob once). */
  size: z.number(),
  lastModified: z.number(),
});
export type CachedRevision = z.infer<typeof CachedRevision>;

/** One `models--org--name` repo in the Hugging Face cache, with what we learned about it. */
export const CachedModel = z.object({
  /** Repo id, e.g. "mlx-community/Llama-3.2-1B-Instruct-4bit". */
  id: z.string(),
  /** Absolute path of the repo folder in the cache. */
  path: z.string(),
  format: ModelFormat,
  /** `model_type` from config.json (or `general.architecture` of a GGUF). */
  architecture: z.string().optional(),
  quantization: Quantization.optional(),
  /** Parameter count, unpacked for quantized weights, without scales/biases. */
  parameters: z.number().optional(),
  ggufFiles: z.array(GgufFile).optional(),
  revisions: z.array(CachedRevision),
  /** Bytes on disk: every blob of the repo counted once. */
  size: z.number(),
  /** Newest mtime among the repo's blobs (ms since epoch). */
  lastModified: z.number(),
  /** Newest atime among the repo's blobs (ms since epoch). */
  lastAccessed: z.number(),
  /** Partial downloads (`*.incomplete` blobs) still in the repo. */
  incomplete: z.array(z.object({ blob: z.string(), size: z.number() })),
  /** Things the scanner could not make sense of, for the user. */
  warnings: z.array(z.string()),
});
export type CachedModel = z.infer<typeof CachedModel>;
