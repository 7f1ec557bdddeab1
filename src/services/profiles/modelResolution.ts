import fs from "node:fs";
import path from "node:path";
import type { CachedModel, ModelFormat } from "../../shared/models";
import type { ModelRef } from "../../shared/profiles";
import { ApiError } from "../api/ApiError";

/** Where the models a profile can name come from. */
export interface ModelCatalog {
  list(): CachedModel[];
}

export interface ResolvedModel {
  format: ModelFormat;
  /** What the engine is given: a snapshot folder, a .gguf file, or the user's path. */
  path: string;
  /** Bytes on disk, for the memory estimate. */
  size: number;
}

/** Finds the model a profile names, or says precisely what is missing (field `model...`). */
export function resolveModel(ref: ModelRef, catalog: ModelCatalog): ResolvedModel {
  if (ref.source === "path") return resolveLocalPath(ref.path);
  if (ref.source === "remote") throw new ApiError(400, "validation_failed", `"${ref.model}" is served by a remote backend: nothing of it is on this machine.`, "model");
  const model = catalog.list().find((m) => m.id === ref.repoId);
  if (!model) {
    throw new ApiError(404, "model_missing", `The model "${ref.repoId}" is not in the Hugging Face cache. Download it first, or pick a cached model.`, "model.repoId");
  }
  const revision = ref.revision
    ? model.revisions.find((r) => r.commit === ref.revision || r.commit.startsWith(ref.revision ?? "") || r.refs.includes(ref.revision ?? ""))
    : (model.revisions.find((r) => r.refs.includes("main")) ?? model.revisions[0]);
  if (!revision) {
    const known = model.revisions.map((r) => (r.refs.length > 0 ? r.refs.join(",") : r.commit.slice(0, 10))).join(", ");
    throw new ApiError(404, "model_missing", `"${model.id}" has no revision "${ref.revision ?? "main"}" in the cache (cached: ${known || "none"}).`, "model.revision");
  }
  if (model.format !== "gguf") return { format: model.format, path: revision.snapshotPath, size: revision.size };

  const files = model.ggufFiles ?? [];
  if (ref.file === undefined && files.length > 1) {
    throw new ApiError(400, "validation_failed", `"${model.id}" holds ${files.length} GGUF files; choose one with model.file (${files.map((f) => f.path).join(", ")}).`, "model.file");
  }
  const file = ref.file === undefined ? files[0] : files.find((f) => f.path === ref.file);
  if (!file) {
    throw new ApiError(404, "model_missing", `"${model.id}" has no GGUF file "${ref.file ?? ""}" in the cache.`, "model.file");
  }
  return { format: "gguf", path: path.join(revision.snapshotPath, file.path), size: file.size };
}

function resolveLocalPath(p: string): ResolvedModel {
  if (!path.isAbsolute(p)) throw new ApiError(400, "validation_failed", "model.path must be an absolute path.", "model.path");
  let stat: fs.Stats;
  try {
    stat = fs.statSync(p);
  } catch {
    throw new ApiError(404, "model_missing", `Nothing exists at ${p}.`, "model.path");
  }
  if (stat.isFile()) {
    if (p.toLowerCase().endsWith(".gguf")) return { format: "gguf", path: p, size: stat.size };
    throw new ApiError(400, "model_format_mismatch", `${p} is a file but not a .gguf model; an MLX model is a folder with config.json.`, "model.path");
  }
  let entries: string[];
  try {
    entries = fs.readdirSync(p);
  } catch {
    throw new ApiError(400, "model_missing", `The folder ${p} cannot be read.`, "model.path");
  }
  const size = entries.reduce((sum, name) => {
    try {
      return sum + fs.statSync(path.join(p, name)).size;
    } catch {
      return sum;
    }
  }, 0);
  if (entries.includes("config.json") && entries.some((e) => e.endsWith(".safetensors"))) {
    return { format: isMlxConfig(path.join(p, "config.json")) ? "mlx" : "safetensors", path: p, size };
  }
  const gguf = entries.filter((e) => e.toLowerCase().endsWith(".gguf"));
  if (gguf.length === 1 && gguf[0] !== undefined) {
    const file = path.join(p, gguf[0]);
    return { format: "gguf", path: file, size: fs.statSync(file).size };
  }
  throw new ApiError(400, "model_format_mismatch", `${p} holds neither an MLX model (config.json + *.safetensors) nor exactly one .gguf file.`, "model.path");
}

function isMlxConfig(configPath: string): boolean {
  try {
    const config = JSON.parse(fs.readFileSync(configPath, "utf8")) as Record<string, unknown>;
    return typeof config["quantization"] === "object" && config["quantization"] !== null;
  } catch {
    return false;
  }
}
