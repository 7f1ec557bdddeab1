// Installs the tool-calling llama-server stand-in (main.ts) as `<binDir>/llama-server`: bundled
// with esbuild, node shebang, mode 0755. Put binDir first on the manager's PATH.
import fs from "node:fs";
import path from "node:path";
import { makeTempDir, writeHfRepo } from "../hfCache";
import { startManager, type RunningManager } from "../manager";
import { installNodeExecutable } from "../nodeExecutable";
import { tinyGgufBytes } from "../tinyGguf";

export function installToolServer(binDir: string): Promise<string> {
  return installNodeExecutable(path.join(__dirname, "main.ts"), binDir, "llama-server");
}

/** A real manager whose llama-server is the tool-calling stand-in, with the tiny GGUF cached as `test/tiny-gguf` (`tiny-F32.gguf`). */
export interface ToolServerManager {
  root: string;
  manager: RunningManager;
  /** Where the stand-in writes each request it gets (one JSON line each): give it as the profile's env TOOL_SERVER_LOG. */
  requestLog: string;
  model: { source: "cache"; repoId: string; file: string };
}

export async function startManagerWithToolServer(prefix: string): Promise<ToolServerManager> {
  const root = makeTempDir(prefix);
  const hfCache = path.join(root, "hub");
  fs.mkdirSync(hfCache);
  writeHfRepo(hfCache, { repoId: "test/tiny-gguf", revisions: [{ refs: ["main"], files: { "tiny-F32.gguf": tinyGgufBytes(1) } }] });
  const binDir = path.join(root, "bin");
  await installToolServer(binDir);
  const manager = await startManager({
    dataDir: path.join(root, "data"),
    hfCache,
    extraArgs: ["--no-watch"],
    env: { PATH: [binDir, path.dirname(process.execPath), process.env["PATH"] ?? ""].join(path.delimiter), HOME: root },
  });
  return { root, manager, requestLog: path.join(root, "requests.jsonl"), model: { source: "cache", repoId: "test/tiny-gguf", file: "tiny-F32.gguf" } };
}
