import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export const DEFAULT_HUB_URL = "https://huggingface.co";

type Env = Readonly<Record<string, string | undefined>>;

/** The Hub's base URL: `HF_ENDPOINT` (mirrors, tests), as huggingface_hub reads it. */
export function hubEndpoint(env: Env = process.env): string {
  const value = env["HF_ENDPOINT"]?.trim();
  return (value && value !== "" ? value : DEFAULT_HUB_URL).replace(/\/+$/, "");
}

/** `HF_HUB_OFFLINE=1` (or true/yes/on): no network call at all. */
export function hubOffline(env: Env = process.env): boolean {
  return /^(1|true|yes|on)$/i.test(env["HF_HUB_OFFLINE"]?.trim() ?? "");
}

/** Where huggingface_hub keeps the token: `HF_TOKEN_PATH`, `$HF_HOME/token`, `$XDG_CACHE_HOME/huggingface/token`, `~/.cache/huggingface/token`. */
export function hubTokenFile(env: Env = process.env, home = os.homedir()): string {
  const explicit = env["HF_TOKEN_PATH"]?.trim();
  if (explicit) return explicit;
  const hfHome = env["HF_HOME"]?.trim();
  if (hfHome) return path.join(hfHome, "token");
  const xdg = env["XDG_CACHE_HOME"]?.trim();
  if (xdg) return path.join(xdg, "huggingface", "token");
  return path.join(home, ".cache", "huggingface", "token");
}

/** The token huggingface_hub would use: `HF_TOKEN`, else the token file; with where it came from. */
export function readHubToken(env: Env = process.env, home = os.homedir()): { token: string; source: "env" | "file" } | undefined {
  const fromEnv = env["HF_TOKEN"]?.trim() ?? env["HUGGING_FACE_HUB_TOKEN"]?.trim();
  if (fromEnv) return { token: fromEnv, source: "env" };
  try {
    const fromFile = fs.readFileSync(hubTokenFile(env, home), "utf8").trim();
    if (fromFile) return { token: fromFile, source: "file" };
  } catch {
    // No token file: anonymous access.
  }
  return undefined;
}
