// Runs the built llama engine (dist/llama-engine.js) as a real child process for tests.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import { promisify } from "node:util";
import { build } from "esbuild";

export const repoRoot = path.resolve(__dirname, "..", "..");
export const engineBundle = path.join(repoRoot, "dist", "llama-engine.js");
export const llamaModuleDir = path.join(repoRoot, ".engines", "llama", "node_modules", "node-llama-cpp");
const engineSources = path.join(repoRoot, "src", "services", "engines", "llama");

/**
 * Builds dist/llama-engine.js when it is missing or older than its sources, with the options
 * scripts/build.mjs uses for it (only this entry, so an unrelated broken entry cannot block it).
 */
export async function ensureLlamaEngineBuilt(): Promise<void> {
  const sources = await readdir(engineSources);
  const newestSource = Math.max(
    ...(await Promise.all(sources.map(async (file) => (await stat(path.join(engineSources, file))).mtimeMs))),
  );
  const built = existsSync(engineBundle) ? (await stat(engineBundle)).mtimeMs : 0;
  if (built >= newestSource) return;
  await build({
    absWorkingDir: repoRoot,
    entryPoints: { "llama-engine": "src/services/engines/llama/main.ts" },
    outdir: "dist",
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    sourcemap: "linked",
    external: ["node-llama-cpp"],
    banner: { js: "#!/usr/bin/env node" },
    logLevel: "warning",
  });
}

/** Installs node-llama-cpp into .engines/llama (a no-op when it is there already). */
export async function ensureLlamaModuleInstalled(): Promise<void> {
  if (existsSync(path.join(llamaModuleDir, "package.json"))) return;
  await promisify(execFile)(process.execPath, [path.join(repoRoot, "scripts", "install-llama-engine.mjs")], {
    cwd: repoRoot,
  });
}

/** A port nothing listens on (bound to 0, then released for the child to take). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => {
    server.close(() => {
      resolve();
    });
  });
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

export interface HttpAnswer {
  status: number;
  body: string;
}

/** One plain HTTP request (no retries, no keep-alive). */
export function httpRequest(
  url: string,
  options: { method?: string; body?: string | Buffer; headers?: Record<string, string> } = {},
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: options.method ?? "GET", headers: options.headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") });
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(options.body);
  });
}

export interface EngineTimings {
  /** ms from spawn to the first answer of /health (any status). */
  firstHealthMs: number;
  /** Status of that first answer: 503 means it listened before the model loaded. */
  firstHealthStatus: number;
  /** ms from spawn to /health 200. */
  readyMs: number;
}

/** A running engine child process with its collected output. */
export class LlamaEngineProcess {
  stdout = "";
  stderr = "";
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(
    readonly child: ChildProcess,
    readonly port: number,
    readonly spawnedAt: number,
  ) {
    child.stdout?.setEncoding("utf8").on("data", (text: string) => (this.stdout += text));
    child.stderr?.setEncoding("utf8").on("data", (text: string) => (this.stderr += text));
    this.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        resolve({ code, signal });
      });
    });
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Spawns `node dist/llama-engine.js --host 127.0.0.1 --port P ...args`. */
  static async start(
    args: readonly string[],
    options: { port?: number; env?: NodeJS.ProcessEnv } = {},
  ): Promise<LlamaEngineProcess> {
    const port = options.port ?? (await freePort());
    const spawnedAt = performance.now();
    const child = spawn(
      process.execPath,
      [engineBundle, "--host", "127.0.0.1", "--port", String(port), ...args],
      {
        stdio: ["ignore", "pipe", "pipe"],
        env: options.env ?? process.env,
      },
    );
    return new LlamaEngineProcess(child, port, spawnedAt);
  }

  /** Polls /health every 10 ms until it answers 200; fails if the process exits or time runs out. */
  async waitUntilReady(timeoutMs = 60_000): Promise<EngineTimings> {
    let first: { ms: number; status: number } | undefined;
    const state = { exited: false };
    void this.exited.then(() => (state.exited = true));
    for (;;) {
      if (state.exited)
        throw new Error(
          `engine exited before it was ready\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`,
        );
      if (performance.now() - this.spawnedAt > timeoutMs)
        throw new Error(`engine not ready after ${timeoutMs} ms\n${this.stderr}`);
      try {
        const answer = await httpRequest(`${this.url}/health`);
        const ms = performance.now() - this.spawnedAt;
        first ??= { ms, status: answer.status };
        if (answer.status === 200)
          return { firstHealthMs: first.ms, firstHealthStatus: first.status, readyMs: ms };
        if (answer.status !== 503) throw new Error(`/health answered ${answer.status}: ${answer.body}`);
      } catch (error) {
        if (error instanceof Error && error.message.startsWith("/health")) throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /** Resolves when the engine's stdout has a line matching `pattern`. */
  async waitForLog(pattern: RegExp, timeoutMs = 5000): Promise<string> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const line = this.stdout.split("\n").find((l) => pattern.test(l));
      if (line !== undefined) return line;
      if (performance.now() > deadline)
        throw new Error(`no log line matching ${pattern} in:\n${this.stdout}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Resident memory of the engine process in MiB (Linux /proc). */
  async rssMiB(): Promise<number | undefined> {
    try {
      const status = await readFile(`/proc/${this.child.pid ?? 0}/status`, "utf8");
      const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
      return kb === undefined ? undefined : Number(kb) / 1024;
    } catch {
      return undefined;
    }
  }

  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
  async stop(graceMs = 2000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}
