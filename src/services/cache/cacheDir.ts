import os from "node:os";
import path from "node:path";

export interface HfCacheDirSources {
  /** The `--hf-cache` command-line flag. */
  flag?: string | undefined;
  env?: Readonly<Record<string, string | undefined>>;
  home?: string;
}

/**
 * Where huggingface_hub keeps its cache: `--hf-cache`, `HF_HUB_CACHE`, legacy
 * `HUGGINGFACE_HUB_CACHE`, `$HF_HOME/hub`, `$XDG_CACHE_HOME/huggingface/hub`, `~/.cache/huggingface/hub`.
 */
export function resolveHfCacheDir({
  flag,
  env = process.env,
  home = os.homedir(),
}: HfCacheDirSources = {}): string {
  const nonEmpty = (value: string | undefined): string | undefined =>
    value && value.trim() !== "" ? value : undefined;
  const expand = (value: string): string => {
    if (value === "~") return home;
    if (value.startsWith("~/") || value.startsWith(`~${path.sep}`)) return path.join(home, value.slice(2));
    return value;
  };
  const direct = nonEmpty(flag) ?? nonEmpty(env["HF_HUB_CACHE"]) ?? nonEmpty(env["HUGGINGFACE_HUB_CACHE"]);
  if (direct !== undefined) return path.resolve(expand(direct));
  const hfHome = nonEmpty(env["HF_HOME"]);
  if (hfHome !== undefined) return path.resolve(expand(hfHome), "hub");
  const xdg = nonEmpty(env["XDG_CACHE_HOME"]);
  if (xdg !== undefined) return path.resolve(expand(xdg), "huggingface", "hub");
  return path.join(home, ".cache", "huggingface", "hub");
}

const MODEL_PREFIX = "models--";

/** `org/name` → `models--org--name`, the folder huggingface_hub keeps a model repo in. */
export function modelFolderName(repoId: string): string {
  return MODEL_PREFIX + repoId.split("/").join("--");
}

/** `models--org--name` → `org/name`; undefined for anything that is not a model repo folder. */
export function repoIdFromFolder(folder: string): string | undefined {
  if (!folder.startsWith(MODEL_PREFIX) || folder.length === MODEL_PREFIX.length) return undefined;
  return folder.slice(MODEL_PREFIX.length).split("--").join("/");
}
