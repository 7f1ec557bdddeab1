// Writes Hugging Face cache trees exactly as huggingface_hub lays them out, so the scanner,
// watcher and delete code are tested against the real shape, not a convenient imitation:
//   models--org--name/blobs/<etag>                 sha256 for LFS files, git blob sha1 otherwise
//   models--org--name/snapshots/<commit>/<path>    relative symlink ../../blobs/<etag>
//   models--org--name/refs/main                    bare commit sha, no newline
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export type RepoType = "model" | "dataset" | "space";

export interface FixtureRevision {
  /** 40-hex commit; derived from the repo id and the revision's index when absent. */
  commit?: string;
  /** Refs pointing at this commit: "main", "refs/pr/1", ... */
  refs?: string[];
  /** Repo-relative path → content. */
  files: Record<string, string | Uint8Array>;
  /** Paths remembered as missing under `.no_exist/<commit>/`. */
  noExist?: string[];
}

export interface FixtureRepo {
  repoId: string;
  type?: RepoType;
  revisions: FixtureRevision[];
  /** Partial downloads: `blobs/<etag>.incomplete`, or `<etag>.<8 hex>.incomplete` with `tagged`. */
  incomplete?: { size: number; tagged?: boolean }[];
  /** Write lock files under the cache's `.locks/` like huggingface_hub does. */
  locks?: boolean;
}

export interface WrittenRepo {
  /** `models--org--name` */
  folder: string;
  /** Absolute path of the repo folder. */
  path: string;
  commits: string[];
  /** Per revision: repo-relative path → blob etag. */
  etags: Map<string, string>[];
  /** etag → size, every blob written once. */
  blobs: Map<string, number>;
  /** File names of the partial downloads in `blobs/`. */
  incomplete: string[];
}

/** Extensions huggingface's default .gitattributes stores with LFS (their etag is the sha256). */
const LFS_EXTENSIONS = new Set([
  ".safetensors",
  ".gguf",
  ".bin",
  ".pt",
  ".pth",
  ".onnx",
  ".npz",
  ".h5",
  ".msgpack",
]);
const LFS_SIZE = 10 * 1024 * 1024;

export function sha256Hex(data: Uint8Array): string {
  return crypto.createHash("sha256").update(data).digest("hex");
}

/** The git blob sha1 the Hub returns as ETag for files kept in git. */
export function gitBlobSha1(data: Uint8Array): string {
  return crypto.createHash("sha1").update(`blob ${data.byteLength}\0`).update(data).digest("hex");
}

/** The etag huggingface_hub names a blob by. */
export function blobEtag(filePath: string, data: Uint8Array): string {
  const lfs = LFS_EXTENSIONS.has(path.extname(filePath).toLowerCase()) || data.byteLength >= LFS_SIZE;
  return lfs ? sha256Hex(data) : gitBlobSha1(data);
}

export function commitFor(repoId: string, index: number): string {
  return crypto.createHash("sha1").update(`${repoId}@${index}`).digest("hex");
}

export function repoFolderName(repoId: string, type: RepoType = "model"): string {
  return `${type}s--${repoId.split("/").join("--")}`;
}

function toBytes(content: string | Uint8Array): Uint8Array {
  return typeof content === "string" ? Buffer.from(content, "utf8") : content;
}

/** Writes one repo (all its revisions) into `cacheDir` and returns what it wrote. */
export function writeHfRepo(cacheDir: string, repo: FixtureRepo): WrittenRepo {
  const folder = repoFolderName(repo.repoId, repo.type);
  const repoPath = path.join(cacheDir, folder);
  const blobsDir = path.join(repoPath, "blobs");
  fs.mkdirSync(blobsDir, { recursive: true });
  fs.mkdirSync(path.join(repoPath, "snapshots"), { recursive: true });
  const written: WrittenRepo = {
    folder,
    path: repoPath,
    commits: [],
    etags: [],
    blobs: new Map(),
    incomplete: [],
  };
  const madeDirs = new Set<string>();

  repo.revisions.forEach((revision, index) => {
    const commit = revision.commit ?? commitFor(repo.repoId, index);
    const snapshot = path.join(repoPath, "snapshots", commit);
    const etags = new Map<string, string>();
    for (const [relPath, content] of Object.entries(revision.files)) {
      const data = toBytes(content);
      const etag = blobEtag(relPath, data);
      if (!written.blobs.has(etag)) {
        const blobPath = path.join(blobsDir, etag);
        // Exclusive create: a blob that exists already has this very content (it is named by it).
        try {
          fs.writeFileSync(blobPath, data, { flag: "wx" });
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
        }
        written.blobs.set(etag, data.byteLength);
      }
      const link = path.join(snapshot, relPath);
      const linkDir = path.dirname(link);
      if (!madeDirs.has(linkDir)) {
        fs.mkdirSync(linkDir, { recursive: true });
        madeDirs.add(linkDir);
      }
      const depth = relPath.split("/").length - 1;
      const target = `${"../".repeat(depth + 2)}blobs/${etag}`;
      try {
        fs.symlinkSync(target, link);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
        fs.unlinkSync(link);
        fs.symlinkSync(target, link);
      }
      etags.set(relPath, etag);
    }
    if (Object.keys(revision.files).length === 0) fs.mkdirSync(snapshot, { recursive: true });
    for (const ref of revision.refs ?? []) writeRef(repoPath, ref, commit);
    for (const missing of revision.noExist ?? []) {
      const file = path.join(repoPath, ".no_exist", commit, missing);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, "");
    }
    written.commits.push(commit);
    written.etags.push(etags);
  });

  for (const [i, partial] of (repo.incomplete ?? []).entries()) {
    const etag = sha256Hex(Buffer.from(`${repo.repoId} partial ${i}`));
    const name = partial.tagged ? `${etag}.${etag.slice(0, 8)}.incomplete` : `${etag}.incomplete`;
    fs.writeFileSync(path.join(blobsDir, name), Buffer.alloc(partial.size));
    written.incomplete.push(name);
  }
  if (repo.locks) {
    const lockDir = path.join(cacheDir, ".locks", folder);
    fs.mkdirSync(lockDir, { recursive: true });
    for (const etag of written.blobs.keys()) fs.writeFileSync(path.join(lockDir, `${etag}.lock`), "");
  }
  return written;
}

/** Points `refs/<name>` at a commit: bare sha, no newline, like huggingface_hub. */
export function writeRef(repoPath: string, ref: string, commit: string): void {
  const file = path.join(repoPath, "refs", ref);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, commit);
}

// ---------------------------------------------------------------- safetensors

export type SafetensorsDtype =
  "F64" | "F32" | "F16" | "BF16" | "I64" | "I32" | "U32" | "I16" | "U16" | "I8" | "U8" | "BOOL";
export interface TensorSpec {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
}

const DTYPE_BYTES: Record<SafetensorsDtype, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  U32: 4,
  I16: 2,
  U16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

/** A real safetensors file: u64 LE header length, JSON header (space-padded to 8 bytes), data. */
export function safetensorsBytes(tensors: TensorSpec[], metadata?: Record<string, string>): Buffer {
  const header: Record<string, unknown> = {};
  if (metadata) header["__metadata__"] = metadata;
  let offset = 0;
  for (const t of tensors) {
    const bytes = t.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[t.dtype];
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const jsonBytes = Buffer.from(json, "utf8");
  const out = Buffer.alloc(8 + jsonBytes.byteLength + offset);
  out.writeBigUInt64LE(BigInt(jsonBytes.byteLength), 0);
  jsonBytes.copy(out, 8);
  return out;
}

/** Tensors of a tiny llama-like model; quantized ones are packed like MLX does it. */
export function llamaTensors(opts: {
  hidden: number;
  layers: number;
  vocab: number;
  intermediate: number;
  quantization?: { bits: number; groupSize: number };
}): TensorSpec[] {
  const { hidden, layers, vocab, intermediate, quantization } = opts;
  const out: TensorSpec[] = [];
  const linear = (name: string, rows: number, cols: number): void => {
    if (!quantization) {
      out.push({ name: `${name}.weight`, dtype: "F16", shape: [rows, cols] });
      return;
    }
    out.push({ name: `${name}.weight`, dtype: "U32", shape: [rows, (cols * quantization.bits) / 32] });
    out.push({ name: `${name}.scales`, dtype: "F16", shape: [rows, cols / quantization.groupSize] });
    out.push({ name: `${name}.biases`, dtype: "F16", shape: [rows, cols / quantization.groupSize] });
  };
  linear("model.embed_tokens", vocab, hidden);
  for (let l = 0; l < layers; l++) {
    const p = `model.layers.${l}`;
    linear(`${p}.self_attn.q_proj`, hidden, hidden);
    linear(`${p}.self_attn.k_proj`, hidden, hidden);
    linear(`${p}.self_attn.v_proj`, hidden, hidden);
    linear(`${p}.self_attn.o_proj`, hidden, hidden);
    linear(`${p}.mlp.gate_proj`, intermediate, hidden);
    linear(`${p}.mlp.up_proj`, intermediate, hidden);
    linear(`${p}.mlp.down_proj`, hidden, intermediate);
    out.push({ name: `${p}.input_layernorm.weight`, dtype: "F16", shape: [hidden] });
    out.push({ name: `${p}.post_attention_layernorm.weight`, dtype: "F16", shape: [hidden] });
  }
  out.push({ name: "model.norm.weight", dtype: "F16", shape: [hidden] });
  linear("lm_head", vocab, hidden);
  return out;
}

/** Parameters of `llamaTensors` computed from the unquantized shapes (what the scanner must report). */
export function llamaParameterCount(opts: {
  hidden: number;
  layers: number;
  vocab: number;
  intermediate: number;
}): number {
  const { hidden: h, layers, vocab: v, intermediate: i } = opts;
  return v * h + layers * (4 * h * h + 3 * i * h + 2 * h) + h + v * h;
}

// ---------------------------------------------------------------- GGUF

type GgufValue =
  { type: "u32"; value: number } | { type: "string"; value: string } | { type: "f32"; value: number };

export interface GgufSpec {
  architecture: string;
  /** llama.cpp's `llama_ftype` (15 = Q4_K_M, 7 = Q8_0, 1 = F16). Omitted when undefined. */
  fileType?: number;
  name?: string;
  /** F32 tensors; their data is written (zeros) so the file stays valid. */
  tensors?: { name: string; shape: number[] }[];
}

/** A minimal valid GGUF v3 file: header, metadata, tensor infos, 32-byte aligned F32 data. */
export function ggufBytes(spec: GgufSpec): Buffer {
  const parts: Buffer[] = [];
  const u32 = (n: number): Buffer => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(n);
    return b;
  };
  const u64 = (n: number): Buffer => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(n));
    return b;
  };
  const str = (s: string): Buffer => {
    const bytes = Buffer.from(s, "utf8");
    return Buffer.concat([u64(bytes.byteLength), bytes]);
  };
  const kvs: [string, GgufValue][] = [["general.architecture", { type: "string", value: spec.architecture }]];
  if (spec.name !== undefined) kvs.push(["general.name", { type: "string", value: spec.name }]);
  if (spec.fileType !== undefined) kvs.push(["general.file_type", { type: "u32", value: spec.fileType }]);
  kvs.push([`${spec.architecture}.context_length`, { type: "u32", value: 256 }]);
  kvs.push([`${spec.architecture}.attention.layer_norm_rms_epsilon`, { type: "f32", value: 1e-5 }]);
  const tensors = spec.tensors ?? [];

  parts.push(Buffer.from("GGUF", "latin1"), u32(3), u64(tensors.length), u64(kvs.length));
  for (const [key, v] of kvs) {
    parts.push(str(key));
    if (v.type === "u32") parts.push(u32(4), u32(v.value));
    else if (v.type === "string") parts.push(u32(8), str(v.value));
    else {
      const b = Buffer.alloc(4);
      b.writeFloatLE(v.value);
      parts.push(u32(6), b);
    }
  }
  let offset = 0;
  for (const t of tensors) {
    // GGUF lists dimensions innermost first.
    parts.push(str(t.name), u32(t.shape.length), ...[...t.shape].reverse().map(u64), u32(0), u64(offset));
    const bytes = t.shape.reduce((a, b) => a * b, 1) * 4;
    offset += Math.ceil(bytes / 32) * 32;
  }
  const head = Buffer.concat(parts);
  const pad = (32 - (head.byteLength % 32)) % 32;
  return Buffer.concat([head, Buffer.alloc(pad + offset)]);
}

// ---------------------------------------------------------------- model repos

export interface MlxRepoOptions {
  repoId: string;
  modelType?: string;
  quantization?: { bits: number; groupSize: number };
  /** Model size knobs (defaults: a tiny llama). */
  dims?: { hidden: number; layers: number; vocab: number; intermediate: number };
  /** Split the weights over this many `model-0000X-of-0000N.safetensors` shards. */
  shards?: number;
  /** README front matter; `false` writes no README. */
  readme?: { libraryName?: string; tags?: string[] } | false;
  /** Extra files merged into the revision. */
  extraFiles?: Record<string, string | Uint8Array>;
}

export const TINY_DIMS = { hidden: 64, layers: 2, vocab: 128, intermediate: 128 };

/** The files of an MLX model folder: config.json, safetensors (maybe sharded), tokenizer, README. */
export function mlxRepoFiles(opts: MlxRepoOptions): Record<string, string | Uint8Array> {
  const dims = opts.dims ?? TINY_DIMS;
  const config: Record<string, unknown> = {
    model_type: opts.modelType ?? "llama",
    architectures: ["LlamaForCausalLM"],
    hidden_size: dims.hidden,
    num_hidden_layers: dims.layers,
    intermediate_size: dims.intermediate,
    vocab_size: dims.vocab,
  };
  if (opts.quantization) {
    const q = { group_size: opts.quantization.groupSize, bits: opts.quantization.bits };
    config["quantization"] = q;
    config["quantization_config"] = q;
  }
  const files: Record<string, string | Uint8Array> = {
    "config.json": JSON.stringify(config, null, 2),
    "tokenizer.json": JSON.stringify({ version: "1.0", model: { type: "BPE", vocab: { a: 0, b: 1 } } }),
    "tokenizer_config.json": JSON.stringify({ bos_token: "<s>", eos_token: "</s>" }),
    "special_tokens_map.json": JSON.stringify({ bos_token: "<s>" }),
  };
  const tensors = llamaTensors({
    ...dims,
    ...(opts.quantization ? { quantization: opts.quantization } : {}),
  });
  const shards = opts.shards ?? 1;
  if (shards <= 1) {
    files["model.safetensors"] = safetensorsBytes(tensors, { format: "mlx" });
  } else {
    const weightMap: Record<string, string> = {};
    const per = Math.ceil(tensors.length / shards);
    for (let s = 0; s < shards; s++) {
      const name = `model-${String(s + 1).padStart(5, "0")}-of-${String(shards).padStart(5, "0")}.safetensors`;
      const slice = tensors.slice(s * per, (s + 1) * per);
      for (const t of slice) weightMap[t.name] = name;
      files[name] = safetensorsBytes(slice, { format: "mlx" });
    }
    files["model.safetensors.index.json"] = JSON.stringify(
      { metadata: { total_size: 0 }, weight_map: weightMap },
      null,
      2,
    );
  }
  if (opts.readme !== false) {
    const readme = opts.readme ?? { libraryName: "mlx", tags: ["mlx"] };
    const lines = ["---"];
    if (readme.libraryName !== undefined) lines.push(`library_name: ${readme.libraryName}`);
    if (readme.tags) lines.push(`tags: [${readme.tags.join(", ")}]`);
    lines.push("license: apache-2.0", "---", "", `# ${opts.repoId}`, "", "A test model.", "");
    files["README.md"] = lines.join("\n");
  }
  return { ...files, ...opts.extraFiles };
}

export function writeMlxRepo(cacheDir: string, opts: MlxRepoOptions): WrittenRepo {
  return writeHfRepo(cacheDir, {
    repoId: opts.repoId,
    revisions: [{ refs: ["main"], files: mlxRepoFiles(opts) }],
  });
}

export interface GgufRepoOptions {
  repoId: string;
  files: { path: string; spec: GgufSpec }[];
  readme?: string;
}

export function writeGgufRepo(cacheDir: string, opts: GgufRepoOptions): WrittenRepo {
  const files: Record<string, string | Uint8Array> = {};
  for (const f of opts.files) files[f.path] = ggufBytes(f.spec);
  files["README.md"] = opts.readme ?? "---\nlibrary_name: gguf\ntags: [gguf]\n---\n# GGUF\n";
  return writeHfRepo(cacheDir, { repoId: opts.repoId, revisions: [{ refs: ["main"], files }] });
}

// ---------------------------------------------------------------- temp dirs and a large cache

export function makeTempDir(prefix = "hf-cache-"): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function removeTempDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

export interface LargeCache {
  repoIds: string[];
  mlx: number;
  gguf: number;
  files: number;
  bytes: number;
}

/**
 * A cache with `repos` repos of `filesPerRepo` files each: 4 of 5 MLX (quantized, real
 * safetensors headers), 1 of 5 GGUF. Every file's content is unique so no two repos share an
 * etag (a shared etag would let a "cold" scan hit its own metadata cache).
 */
export function makeLargeCache(dir: string, repos = 1000, filesPerRepo = 20): LargeCache {
  fs.mkdirSync(dir, { recursive: true });
  const out: LargeCache = { repoIds: [], mlx: 0, gguf: 0, files: 0, bytes: 0 };
  const dims = { hidden: 32, layers: 1, vocab: 64, intermediate: 64 };
  for (let r = 0; r < repos; r++) {
    const isGguf = r % 5 === 4;
    const repoId = isGguf ? `bench-gguf/model-${r}-GGUF` : `mlx-community/model-${r}-4bit`;
    let files: Record<string, string | Uint8Array>;
    if (isGguf) {
      files = {
        [`model-${r}.Q4_K_M.gguf`]: ggufBytes({
          architecture: "llama",
          fileType: 15,
          name: `model ${r}`,
          tensors: [{ name: "token_embd.weight", shape: [16, 8] }],
        }),
        "README.md": `---\nlibrary_name: gguf\ntags: [gguf]\n---\n# ${repoId}\n`,
        "config.json": JSON.stringify({ model_type: "llama", note: r }),
      };
      out.gguf++;
    } else {
      files = mlxRepoFiles({
        repoId,
        dims,
        quantization: { bits: 4, groupSize: 32 },
        extraFiles: { "generation_config.json": JSON.stringify({ repo: r }) },
      });
      // Make every file unique to this repo.
      files["tokenizer.json"] = JSON.stringify({ repo: r, model: { type: "BPE" } });
      files["tokenizer_config.json"] = JSON.stringify({ repo: r, eos_token: "</s>" });
      files["special_tokens_map.json"] = JSON.stringify({ repo: r, bos_token: "<s>" });
      files["model.safetensors"] = safetensorsBytes(
        llamaTensors({ ...dims, quantization: { bits: 4, groupSize: 32 } }),
        {
          repo: String(r),
        },
      );
      files["config.json"] = JSON.stringify({
        model_type: "llama",
        quantization: { group_size: 32, bits: 4 },
        repo: r,
      });
      out.mlx++;
    }
    for (let k = Object.keys(files).length; k < filesPerRepo; k++) {
      // One repo in ten keeps two files in a sub-folder (like `original/`), to exercise nested paths.
      const name = r % 10 === 0 && k >= filesPerRepo - 2 ? `original/part-${k}.txt` : `extra-${k}.txt`;
      files[name] = `repo ${r} file ${k}\n`;
    }
    const written = writeHfRepo(dir, { repoId, revisions: [{ refs: ["main"], files }] });
    out.repoIds.push(repoId);
    out.files += Object.keys(files).length;
    for (const size of written.blobs.values()) out.bytes += size;
  }
  return out;
}
