import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ManagerClient, ManagerRequestError, type ManagerEndpoint } from "./ManagerClient";

/** Where the manager keeps its state: `--data-dir`, else MLX_MANAGER_HOME, else ~/.mlx-manager. */
export function resolveDataDir(flag: string | undefined, env: NodeJS.ProcessEnv = process.env, home = os.homedir()): string {
  const chosen = flag ?? env["MLX_MANAGER_HOME"] ?? path.join(home, ".mlx-manager");
  return path.resolve(chosen.startsWith("~") ? path.join(home, chosen.slice(1)) : chosen);
}

/** The running manager's URL and token, read from its data dir; undefined if none is there. */
export function readEndpoint(dataDir: string): ManagerEndpoint | undefined {
  try {
    const lock = JSON.parse(fs.readFileSync(path.join(dataDir, "manager.lock"), "utf8")) as { url?: unknown };
    const token = fs.readFileSync(path.join(dataDir, "token"), "utf8").trim();
    return typeof lock.url === "string" && lock.url.length > 0 && token.length > 0 ? { url: lock.url, token } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * V8 options of the manager's Node. A young generation of at most 2 MiB a semi-space, instead of
 * growing to 16: a cache scan of 1,000 models grows it to ~27 MB, which V8 gives back only ~30 s
 * after the manager goes idle (measured: idle RSS 149 → 123 MB three seconds after the scan). The
 * cost is more minor GCs under a heavy stream load (~15 % of the gateway's throughput at 100 MB/s
 * of SSE, far beyond what any model streams).
 */
export const MANAGER_NODE_ARGS: readonly string[] = ["--max-semi-space-size=2"];

export interface EnsureManagerOptions {
  dataDir: string;
  /** The manager bundle (dist/manager.js). */
  managerScript: string;
  /** The Node to run it with (process.execPath; in VS Code with ELECTRON_RUN_AS_NODE=1). */
  nodePath?: string;
  env?: NodeJS.ProcessEnv;
  /** Extra arguments for `serve` (e.g. --port, --hf-cache). */
  serveArgs?: string[];
  timeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * Finds the manager of `dataDir`, or starts one detached (it outlives its starter) and waits
 * until its API answers.
 */
export async function ensureManager(options: EnsureManagerOptions): Promise<ManagerClient> {
  const existing = await reachable(options.dataDir, options.signal);
  if (existing) return existing;
  fs.mkdirSync(path.join(options.dataDir, "logs"), { recursive: true, mode: 0o700 });
  const out = fs.openSync(path.join(options.dataDir, "logs", "manager.out"), "a");
  const child = spawn(options.nodePath ?? process.execPath, [...MANAGER_NODE_ARGS, options.managerScript, "serve", "--data-dir", options.dataDir, ...(options.serveArgs ?? [])], {
    detached: true,
    stdio: ["ignore", out, out],
    env: options.env ?? process.env,
    windowsHide: true,
  });
  child.unref();
  fs.closeSync(out);
  const state: { exited?: number } = {};
  child.once("exit", (code) => {
    state.exited = code ?? 1;
  });
  const deadline = Date.now() + (options.timeoutMs ?? 15_000);
  while (Date.now() < deadline) {
    options.signal?.throwIfAborted();
    const client = await reachable(options.dataDir, options.signal);
    if (client) return client;
    if (state.exited !== undefined && state.exited !== 0) {
      // Lost a race to another starter? Then that one will answer shortly; otherwise report.
      const again = await reachable(options.dataDir, options.signal);
      if (again) return again;
      throw new ManagerRequestError(0, "unreachable", `The manager exited with code ${state.exited} while starting. See ${path.join(options.dataDir, "logs", "manager.out")}.`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new ManagerRequestError(0, "unreachable", `The manager did not answer within ${(options.timeoutMs ?? 15_000) / 1000} s. See ${path.join(options.dataDir, "logs")}.`);
}

async function reachable(dataDir: string, signal?: AbortSignal): Promise<ManagerClient | undefined> {
  const endpoint = readEndpoint(dataDir);
  if (!endpoint) return undefined;
  const client = new ManagerClient(endpoint);
  try {
    await client.status(signal ?? AbortSignal.timeout(2000));
    return client;
  } catch {
    return undefined;
  }
}
