// Starts the real manager bundle (dist/manager.js) as a child process, for API and CLI tests.
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { MANAGER_NODE_ARGS } from "../../src/client/discovery";

export const ROOT = path.resolve(__dirname, "..", "..");
export const MANAGER_JS = path.join(ROOT, "dist", "manager.js");

export interface RunningManager {
  url: string;
  token: string;
  dataDir: string;
  child: ChildProcess;
  stderr: () => string;
  /** Sends a request with the local token. */
  api(method: string, route: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; json: unknown; text: string }>;
  /** SIGTERM, then wait for exit. */
  stop(): Promise<number | null>;
  /** SIGKILL, then wait for exit. */
  kill(): Promise<void>;
}

export interface StartOptions {
  dataDir: string;
  hfCache: string;
  port?: number;
  extraArgs?: string[];
  env?: NodeJS.ProcessEnv;
}

/** Spawns `node dist/manager.js serve` and resolves once it prints its URL. */
export async function startManager(options: StartOptions): Promise<RunningManager> {
  if (!fs.existsSync(MANAGER_JS)) throw new Error(`${MANAGER_JS} is missing: run "node scripts/build.mjs" first (npm run test:unit does).`);
  const child = spawn(process.execPath, [...MANAGER_NODE_ARGS, MANAGER_JS, "serve", "--data-dir", options.dataDir, "--hf-cache", options.hfCache, "--port", String(options.port ?? 0), ...(options.extraArgs ?? [])], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...options.env },
  });
  let stdout = "";
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`manager did not start in 20 s; stderr: ${stderr}`)); }, 20_000);
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
      const match = /listening on (http:\/\/\S+)/.exec(stdout);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`manager exited with ${code}; stderr: ${stderr}`));
    });
  });
  const token = fs.readFileSync(path.join(options.dataDir, "token"), "utf8").trim();
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => { resolve(code); }));
  return {
    url,
    token,
    dataDir: options.dataDir,
    child,
    stderr: () => stderr,
    async api(method, route, body, headers = {}) {
      const response = await fetch(url + route, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
        ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
      });
      const text = await response.text();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: response.status, json, text };
    },
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      child.kill("SIGTERM");
      return exited;
    },
    async kill() {
      if (child.exitCode !== null) return;
      child.kill("SIGKILL");
      await exited;
    },
  };
}

/** Runs the CLI bundle and collects its output. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}, input?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MANAGER_JS, ...args], { env: { ...process.env, ...env }, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.stdin.end(input ?? "");
    child.on("exit", (code) => { resolve({ code, stdout, stderr }); });
  });
}
