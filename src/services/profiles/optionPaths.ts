import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { EngineId } from "../../shared/engines";
import type { ProfileOptions } from "../../shared/profiles";
import { ApiError } from "../api/ApiError";
import { resolveModel, type ModelCatalog } from "./modelResolution";

/** The options that name a file or folder of the user's. */
const PATH_OPTIONS = ["adapterPath", "draftModel", "chatTemplateFile", "mmproj"] as const;
type PathOption = (typeof PATH_OPTIONS)[number];

const LABELS: Record<PathOption, string> = {
  adapterPath: "The adapter",
  draftModel: "The draft model",
  chatTemplateFile: "The chat template file",
  mmproj: "The projector file (mmproj)",
};

/** A Hugging Face repo id ("org/name"): the MLX engines take one as a draft model. */
const REPO_ID = /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/;

function takesRepoId(engine: EngineId, name: PathOption): boolean {
  return name === "draftModel" && (engine === "mlx-lm" || engine === "mlx-openai-server");
}

/**
 * Paths as a profile keeps them: `~/…` expanded, anything else relative refused. Engines run in the
 * manager's log folder, so a relative path would be looked for there, not where the user meant.
 */
export function normalizePathOptions(options: ProfileOptions, engine: EngineId, home: string = os.homedir()): ProfileOptions {
  const out: ProfileOptions = { ...options };
  for (const name of PATH_OPTIONS) {
    const value = out[name];
    if (value === undefined) continue;
    if (value === "~" || value.startsWith("~/")) {
      out[name] = path.join(home, value.slice(1));
    } else if (!path.isAbsolute(value) && !(takesRepoId(engine, name) && REPO_ID.test(value))) {
      throw new ApiError(
        400,
        "validation_failed",
        `options.${name} must be an absolute path (or start with ~/)${takesRepoId(engine, name) ? " or a Hugging Face repo id (org/name)" : ""}: "${value}" would be looked for in the engine's working folder, not where you meant.`,
        `options.${name}`,
      );
    }
  }
  return out;
}

/**
 * Checks before a launch that each path option names something that exists (an MLX adapter: a folder
 * with adapter_config.json) and turns a draft model's repo id into its snapshot in the cache. Throws
 * ApiError on the field; returns the options the engine is started with.
 */
export function resolvePathOptions(options: ProfileOptions, engine: EngineId, catalog: ModelCatalog): ProfileOptions {
  const out: ProfileOptions = { ...options };
  for (const name of PATH_OPTIONS) {
    const value = out[name];
    if (value === undefined) continue;
    if (!path.isAbsolute(value)) {
      if (takesRepoId(engine, name) && REPO_ID.test(value)) {
        out[name] = resolveModel({ source: "cache", repoId: value }, catalog).path;
        continue;
      }
      throw new ApiError(400, "validation_failed", `${LABELS[name]} "${value}" is not an absolute path. Edit the profile: give the full path.`, `options.${name}`);
    }
    let stat: fs.Stats;
    try {
      stat = fs.statSync(value);
    } catch {
      throw new ApiError(404, "validation_failed", `${LABELS[name]} ${value} does not exist. Edit the profile, or put it back there.`, `options.${name}`);
    }
    if (name === "adapterPath" && (engine === "mlx-lm" || engine === "mlx-openai-server") && !(stat.isDirectory() && fs.existsSync(path.join(value, "adapter_config.json")))) {
      throw new ApiError(
        400,
        "validation_failed",
        `${value} is not an MLX adapter: it needs to be the folder mlx_lm.lora wrote, with adapter_config.json and adapters.safetensors in it.`,
        `options.${name}`,
      );
    }
  }
  return out;
}
