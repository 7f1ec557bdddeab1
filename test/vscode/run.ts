// Runs the in-host mocha suite (test/vscode/suite) inside the VS Code server of the code-server
// npm package, driven by Chromium, against a real manager, the `llama` engine and a tiny GGUF:
//   --dev    the extension from this folder (extensionDevelopmentPath)
//   --vsix F the extension installed from a built .vsix (server-main.js --install-extension)
//   --ui     the Playwright UI test (test/vscode/ui.ts) instead of the suite
//   --all    what `npm run test:vscode` does: build, package the .vsix, then the suite from the
//            development folder, the suite from the .vsix and the UI test
// Usage: tsx test/vscode/run.ts [--all] [--dev] [--vsix dist/x.vsix] [--ui] [--bench DIR]
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { format } from "node:util";
import type { Browser } from "playwright-core";
import { launchChromium } from "./browser";
import { CHROMIUM, NODE24, ROOT, SERVER_MAIN, installVsix, startCodeServer, workbenchUrl } from "./codeServer";
import { makeFixture, startFixtureHub, stopFixtureManager, type FixtureInfo } from "./fixture";
import { runUiTest } from "./ui";

// MLX_TEST_WORK lets two runs (two checkouts' helpers, or a run and a benchmark) share a tree.
const WORK = process.env["MLX_TEST_WORK"] ?? path.join(ROOT, ".test-work", "vscode");
const WORKBENCH_NOISE = /ENOTFOUND|Service ?Worker|socket|authentication provider|AgentHost|connection token|grace|builtin extensions cache|workbench contribution|^\s+at /i;
const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};

function ensureInstalled(): void {
  if (fs.existsSync(NODE24) && fs.existsSync(SERVER_MAIN) && fs.existsSync(CHROMIUM)) return;
  const result = spawnSync(process.execPath, [path.join(ROOT, "scripts", "vscode-server", "install.mjs")], { stdio: "inherit" });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

function say(line: string): void {
  process.stdout.write(`[vscode-test] ${line}\n`);
}

function environment(fx: FixtureInfo, hubUrl: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, MLX_MANAGER_HOME: fx.dataDir, HF_HUB_CACHE: fx.hfCache, HF_ENDPOINT: hubUrl, MLX_MANAGER_PORT: "0", MLX_TEST_FIXTURE: path.join(fx.root, "fixture.json") };
  // The server must not pick up the runner's own Node flags (tsx loaders).
  delete env["NODE_OPTIONS"];
  return env;
}

/** An extension that contributes nothing: the development extension of a .vsix run. */
function writeDriverExtension(dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "vsix-test-driver", publisher: "mlx-model-manager-tests", version: "0.0.0", engines: { vscode: "*" } }));
  return dir;
}

/**
 * What the installed .vsix runs of the in-host suite: what packaging can break — activation from
 * the bundle, the contributed commands and walkthrough media, the views fed by the manager started
 * from the package, the llama engine shipped in it starting a server and streaming through
 * vscode.lm. The rest of the suite tests code that is the same bundle in both runs; it runs on the
 * development build, and the UI test runs on the .vsix too (kept under CI's 20 minutes: the whole
 * suite on the .vsix again took 75 s).
 */
const VSIX_SMOKE = [
  "activates cheaply",
  "contributes exactly the commands",
  "shows the cached models",
  "creates a profile and shows it stopped",
  "starts the server: starting",
  "is contributed, and each step",
  "the llama engine came with the extension",
  "offers every profile as",
  "streams a reply from the llama engine",
].join("|");

/** Runs the suite once; resolves with mocha's exit code. */
async function runSuite(name: string, options: { vsix?: string; benchOut?: string; grep?: string }): Promise<number> {
  const fx = makeFixture(path.join(WORK, name));
  if (options.benchOut) {
    fx.benchOut = options.benchOut;
    fs.mkdirSync(options.benchOut, { recursive: true });
  }
  if (options.vsix) fx.installedFrom = options.vsix;
  fs.writeFileSync(path.join(fx.root, "fixture.json"), JSON.stringify(fx, null, 2));
  const serverDir = path.join(fx.root, "server");
  if (options.vsix) {
    say(`${name}: installing ${path.relative(ROOT, options.vsix)}`);
    installVsix(serverDir, options.vsix);
  }
  const hub = await startFixtureHub();
  const env = { ...environment(fx, hub.url), ...(options.grep === undefined ? {} : { MLX_TEST_GREP: options.grep }) };
  const server = await startCodeServer({ dir: serverDir, env }).catch(async (error: unknown) => {
    await hub.close();
    throw error;
  });
  let browser: Browser | undefined;
  const started = Date.now();
  try {
    browser = await launchChromium();
    say(`${name}: Chromium ${browser.version()}${options.grep === undefined ? "" : " (the packaging smoke tests)"}`);
    const page = await browser.newPage();
    let settle: (code: number) => void = () => undefined;
    const exited = new Promise<number>((resolve) => (settle = resolve));
    await page.exposeFunction("codeAutomationLog", (_type: string, logArgs: unknown[]) => {
      const text = format(...(Array.isArray(logArgs) ? logArgs : [logArgs]));
      // The workbench's own chatter (offline gallery, auth providers, sockets) is not ours.
      if (process.env["MLX_TEST_VERBOSE"] || !WORKBENCH_NOISE.test(text)) process.stdout.write(`${text}\n`);
    });
    await page.exposeFunction("codeAutomationExit", (code: number) => {
      settle(code);
    });
    // The web workbench runs extensionTestsPath only in extension-development mode: with a
    // .vsix, the development extension is an empty driver and ours is the installed one.
    const url = workbenchUrl(server, fx.workspace, {
      developmentPath: options.vsix ? writeDriverExtension(path.join(fx.root, "driver-extension")) : ROOT,
      testsPath: path.join(ROOT, "dist", "test", "index.js"),
    });
    say(`${name}: ${url.slice(0, 80)}…`);
    await page.goto(url);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<number>((resolve) => (timer = setTimeout(() => { say(`${name}: timed out`); resolve(124); }, 5 * 60_000)));
    const code = await Promise.race([exited, timeout]);
    clearTimeout(timer);
    say(`${name}: exit code ${code} after ${((Date.now() - started) / 1000).toFixed(1)} s`);
    if (code !== 0) {
      const log = path.join(fx.root, "server-output.log");
      fs.writeFileSync(log, server.output());
      say(`server output: ${log}; manager log: ${path.join(fx.dataDir, "logs")}`);
    }
    return code;
  } finally {
    // Each step on its own: a manager that never started must not leave code-server running.
    await browser?.close().catch(() => undefined);
    await stopFixtureManager(fx.dataDir).catch((error: unknown) => { say(`${name}: could not stop the fixture's manager (${String(error)})`); });
    await server.stop();
    await hub.close();
  }
}

/** Runs one of scripts/ and returns what it printed. */
function node(script: string, argv: string[] = []): string {
  const result = spawnSync(process.execPath, [path.join(ROOT, "scripts", script), ...argv], { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"], encoding: "utf8" });
  if (result.status !== 0) {
    process.stdout.write(result.stdout);
    throw new Error(`${script} failed with ${result.status}`);
  }
  return result.stdout;
}

function buildAll(): string {
  const vsix = node("package.mjs").trim().split("\n").pop() ?? "";
  say(`packaged ${path.relative(ROOT, vsix)}`);
  // The production package build minifies; the development run wants the source-mapped bundles.
  node("build.mjs");
  node(path.join("vscode-server", "build-suite.mjs"));
  return vsix;
}

async function main(): Promise<void> {
  ensureInstalled();
  if (args.includes("--all")) {
    const started = Date.now();
    const vsix = buildAll();
    const failures: string[] = [];
    if ((await runSuite("dev", {})) !== 0) failures.push("suite (development folder)");
    if ((await runSuite("vsix", { vsix, grep: VSIX_SMOKE })) !== 0) failures.push("suite (installed .vsix)");
    const fx = makeFixture(path.join(WORK, "ui"));
    const hub = await startFixtureHub();
    if ((await runUiTest(fx, { environment: environment(fx, hub.url), vsix }).finally(() => hub.close())) !== 0) failures.push("UI test");
    say(`${failures.length === 0 ? "passed" : `FAILED: ${failures.join(", ")}`} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    process.exit(failures.length === 0 ? 0 : 1);
  }
  const vsix = flag("--vsix");
  const benchOut = flag("--bench");
  const failures: string[] = [];
  if (args.includes("--ui")) {
    const fx = makeFixture(path.join(WORK, "ui"));
    const hub = await startFixtureHub();
    const code = await runUiTest(fx, { environment: environment(fx, hub.url), ...(vsix ? { vsix: path.resolve(vsix) } : {}) }).finally(() => hub.close());
    if (code !== 0) failures.push("ui");
  } else {
    if (args.includes("--dev") || !vsix) {
      // The development run uses the bundles and the suite as they are in the tree now.
      node("build.mjs");
      node(path.join("vscode-server", "build-suite.mjs"));
      if ((await runSuite("dev", benchOut ? { benchOut } : {})) !== 0) failures.push("dev");
    }
    if (vsix && (await runSuite("vsix", { vsix: path.resolve(vsix) })) !== 0) failures.push("vsix");
  }
  if (failures.length > 0) {
    say(`FAILED: ${failures.join(", ")}`);
    process.exit(1);
  }
  say("passed");
}

void main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
  process.exit(1);
});
