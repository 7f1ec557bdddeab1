// `npm start`: the product, on a machine without VS Code desktop. Builds the .vsix, makes a demo
// Hugging Face cache (the tests' tiny GGUF and MLX repo, and the demo's own model: a tiny GGUF that
// is a bigram model of a few fables, so its answers read as English) with a ready `llama` profile, starts
// the manager and the VS Code server of the code-server npm package with the extension installed
// from the fresh .vsix, and prints the URL. With VS Code desktop on PATH (`code`), and without
// --server, it opens that instead. Ctrl-C stops everything it started.
import { spawn, spawnSync } from "node:child_process";
import path from "node:path";
import { writeDemoModel } from "../test/helpers/demoModel";
import { startManager } from "../test/helpers/manager";
import { ROOT, installVsix, startCodeServer } from "../test/vscode/codeServer";
import { makeFixture } from "../test/vscode/fixture";

const DEMO = path.join(ROOT, ".demo");
const PROFILE = "tiny-fables";
const args = process.argv.slice(2);

function say(line: string): void {
  process.stdout.write(`[demo] ${line}\n`);
}

function hasDesktopCode(): boolean {
  return !args.includes("--server") && spawnSync("code", ["--version"], { stdio: "ignore" }).status === 0;
}

async function main(): Promise<void> {
  const packaged = spawnSync(process.execPath, [path.join(ROOT, "scripts", "package.mjs")], { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"], encoding: "utf8" });
  if (packaged.status !== 0) throw new Error("packaging failed");
  const vsix = packaged.stdout.trim().split("\n").pop() ?? "";
  say(`built ${path.relative(ROOT, vsix)}`);
  // The package is staged apart from dist/; the demo's manager runs from dist/ (a fresh clone has none).
  const built = spawnSync(process.execPath, [path.join(ROOT, "scripts", "build.mjs")], { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"] });
  if (built.status !== 0) throw new Error("build failed");
  const fx = makeFixture(DEMO);
  const demoModel = writeDemoModel(fx.hfCache);
  const manager = await startManager({ dataDir: fx.dataDir, hfCache: fx.hfCache, port: Number(process.env["MLX_MANAGER_PORT"] ?? 0) });
  const created = await manager.api("POST", "/api/profiles", { name: PROFILE, engine: "llama", model: { source: "cache", ...demoModel }, options: { threads: 1, contextLength: 4096 } });
  if (created.status !== 201) throw new Error(`could not create the demo profile: ${created.text}`);
  say(`manager ${manager.url} (data dir ${path.relative(ROOT, fx.dataDir)}, HF cache ${path.relative(ROOT, fx.hfCache)}); profile "${PROFILE}" ready`);
  const env: NodeJS.ProcessEnv = { ...process.env, MLX_MANAGER_HOME: fx.dataDir, HF_HUB_CACHE: fx.hfCache };
  delete env["NODE_OPTIONS"];

  const stopAll = async (): Promise<void> => {
    await manager.api("POST", "/api/servers/stop-all").catch(() => undefined);
    await manager.stop();
  };
  if (hasDesktopCode()) {
    spawnSync("code", ["--install-extension", vsix, "--force"], { stdio: "inherit" });
    spawn("code", ["--new-window", fx.workspace], { stdio: "ignore", env, detached: true }).unref();
    say("opened VS Code desktop with the extension; Ctrl-C stops the manager");
    for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => void stopAll().then(() => process.exit(0)));
    return;
  }
  const installed = spawnSync(process.execPath, [path.join(ROOT, "scripts", "vscode-server", "install.mjs")], { stdio: "inherit" });
  if (installed.status !== 0) throw new Error("could not install the VS Code server (see above)");
  installVsix(path.join(DEMO, "server"), vsix);
  const server = await startCodeServer({ dir: path.join(DEMO, "server"), env });
  const url = `${server.url}/?folder=${encodeURIComponent(fx.workspace)}`;
  say(`VS Code with MLX Model Manager: ${url}`);
  say(`open it in a browser, click the MLX icon in the activity bar, start ${PROFILE}; Ctrl-C stops everything`);
  const stop = (): void => {
    void (async () => {
      say("stopping");
      await stopAll();
      await server.stop();
      process.exit(0);
    })();
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

void main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
