// Helpers of the reliability suite: the fake `llama-server` on a private PATH, a cache with a GGUF
// repo, a data dir, and measurements (disk use of a folder, RSS of a process).
import fs from "node:fs";
import path from "node:path";
import { makeTempDir, writeHfRepo } from "../helpers/hfCache";
import { installNodeExecutable } from "../helpers/nodeExecutable";
import { tinyGgufBytes } from "../helpers/tinyGguf";

export const GGUF_REPO = "test/tiny-gguf";

export interface ReliabilityFixture {
  root: string;
  hfCache: string;
  dataDir: string;
  binDir: string;
  /** Environment of a manager: the fake llama-server first on PATH, HOME inside the fixture. */
  env: Record<string, string>;
}

/** A temp root with an HF cache holding a tiny GGUF repo, and `llama-server` (the fake) in its bin dir. */
export async function makeFixture(prefix: string): Promise<ReliabilityFixture> {
  const root = makeTempDir(prefix);
  const hfCache = path.join(root, "hub");
  fs.mkdirSync(hfCache);
  writeHfRepo(hfCache, {
    repoId: GGUF_REPO,
    revisions: [{ refs: ["main"], files: { "tiny-F32.gguf": tinyGgufBytes(1), "README.md": "---\nlibrary_name: gguf\n---\n# tiny\n" } }],
  });
  const binDir = path.join(root, "bin");
  await installFakeLlamaServer(binDir);
  return {
    root,
    hfCache,
    dataDir: path.join(root, "data"),
    binDir,
    env: { PATH: [binDir, path.dirname(process.execPath), process.env["PATH"] ?? ""].join(path.delimiter), HOME: root },
  };
}

/** Bundles test/reliability/fakeLlamaServer.ts into `<binDir>/llama-server` (mode 0755, node shebang). */
export function installFakeLlamaServer(binDir: string): Promise<string> {
  return installNodeExecutable(path.join(__dirname, "fakeLlamaServer.ts"), binDir, "llama-server");
}

/** A profile body for the fake llama-server with the given behaviour (see fakeLlamaServer.ts). */
export function fakeProfile(name: string, env: Record<string, string> = {}, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name, engine: "llama-server", model: { source: "cache", repoId: GGUF_REPO, file: "tiny-F32.gguf" }, options: { env }, ...extra };
}

/** Bytes the files under `dir` take (sum of sizes, recursively; symlinks not followed). */
export function diskUse(dir: string): number {
  let total = 0;
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    try {
      if (entry.isDirectory()) total += diskUse(full);
      else if (entry.isFile()) total += fs.lstatSync(full).blocks * 512;
    } catch {
      // Rotated away while we looked.
    }
  }
  return total;
}

/** Resident set size of `pid` in bytes (Linux /proc), or undefined when it is gone. */
export function rssOf(pid: number): number | undefined {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
    const match = /^VmRSS:\s+(\d+) kB/m.exec(status);
    return match?.[1] ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Least-squares slope of y over x. */
export function slope(points: readonly (readonly [number, number])[]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

export const MiB = 1024 * 1024;
