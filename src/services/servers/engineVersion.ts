import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { ApiError } from "../api/ApiError";
import type { EngineDescription } from "../engines/registry";

/** How an engine tells its version, and the oldest one the manager works with. */
export interface EngineVersionQuery {
  /** The command that prints the version, given the engine's executable; undefined when there is none to ask. */
  command(executable: string): { command: string; args: string[] } | undefined;
  /** The version in what it printed (stdout and stderr together). */
  parse(output: string): string | undefined;
  /** The oldest version that has every flag the manager passes, with why. */
  floor?: { version: string; reason: string };
  /** The command that upgrades it. */
  upgrade: string;
}

/** "1.10.0" > "1.7.0"; prerelease and build suffixes ("0.32.0.dev0", "1.8.1+4") are ignored. */
export function compareVersions(a: string, b: string): number {
  const parts = (v: string): number[] => (v.match(/^\d+(?:\.\d+)*/)?.[0] ?? "0").split(".").map(Number);
  const x = parts(a);
  const y = parts(b);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv | undefined, signal: AbortSignal): Promise<string> {
  return new Promise((resolve) => {
    execFile(command, args, { encoding: "utf8", timeout: 30_000, maxBuffer: 1024 * 1024, signal, windowsHide: true, ...(env ? { env } : {}) }, (_error, stdout, stderr) => {
      resolve(`${stdout}\n${stderr}`);
    });
  });
}

/**
 * Reads engines' versions (a Python engine takes seconds to print one, so each executable is asked
 * once until it changes on disk) and refuses one below the floor with the command that upgrades it.
 */
export class EngineVersions {
  private readonly known = new Map<string, { stamp: string; version: string | undefined }>();

  /**
   * The version of `executable` run with `env` (the server's own environment: a PYTHONPATH there
   * changes what runs), or undefined when it cannot say; throws ApiError `engine_outdated` below the floor.
   */
  async check(engine: EngineDescription, executable: string, signal: AbortSignal, env?: NodeJS.ProcessEnv): Promise<string | undefined> {
    const query = engine.version;
    if (query === undefined) return undefined;
    const asked = query.command(executable);
    if (asked === undefined) return undefined;
    let stamp: string;
    try {
      const stat = fs.statSync(asked.command);
      stamp = `${stat.mtimeMs}:${stat.size}`;
    } catch {
      return undefined;
    }
    const key = `${asked.command}\0${env === undefined ? "" : JSON.stringify(env)}`;
    const known = this.known.get(key);
    let version = known?.version;
    if (known?.stamp !== stamp) {
      version = query.parse(await run(asked.command, asked.args, env, signal));
      signal.throwIfAborted();
      this.known.set(key, { stamp, version });
    }
    if (version !== undefined && query.floor !== undefined && compareVersions(version, query.floor.version) < 0) {
      throw new ApiError(
        400,
        "engine_outdated",
        `${engine.label} ${version} is too old: the manager needs ${query.floor.version} or newer (${query.floor.reason}). Upgrade it with: ${query.upgrade}`,
        "engine",
        { engine: engine.id, version, required: query.floor.version, upgrade: query.upgrade },
      );
    }
    return version;
  }
}

/** `mlx_lm --version` (mlx_lm/cli.py prints the bare version); mlx_lm.server itself has no --version. */
export function siblingCommand(name: string): (executable: string) => { command: string; args: string[] } | undefined {
  return (executable) => {
    const sibling = path.join(path.dirname(executable), name);
    return fs.existsSync(sibling) ? { command: sibling, args: ["--version"] } : undefined;
  };
}
