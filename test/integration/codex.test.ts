// Codex itself (@openai/codex from npm: its native binary) pointed at the real manager's gateway
// through the Responses API, with the profile file "MLX: Use a Local Model in Codex…" writes
// (src/commands/codexConfig.ts), analytics and plugin sync off, a throwaway CODEX_HOME and HOME.
// `codex exec` must run a shell command the model asks for and hand its output back — on the
// scripted tool-calling upstream, so the test cannot pass without a real tool round trip — and
// answer a plain prompt on the built-in `llama` engine with Codex's whole prompt.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { applyCodexConfig, CODEX_PROFILE, CODEX_PROVIDER_ID } from "../../src/commands/codexConfig";
import { ManagerClient } from "../../src/client/ManagerClient";
import type { ServerUsageSnapshot } from "../../src/shared/usage";
import { writeHfRepo } from "../helpers/hfCache";
import { ROOT, type RunningManager } from "../helpers/manager";
import { TOOL_CALLING_TINY_GGUF, tinyGgufBytes } from "../helpers/tinyGguf";
import { startManagerWithToolServer } from "../helpers/toolServer";

const CODEX = path.join(ROOT, ".test-cache", "codex", "node_modules", ".bin", "codex");

interface CodexRun {
  code: number | null;
  events: { type: string; item?: { type: string; text?: string; command?: string; exit_code?: number | null; aggregated_output?: string }; message?: string; usage?: unknown }[];
  stdout: string;
  stderr: string;
  ms: number;
}

/** `codex exec --json` with the `mlx` profile, in `cwd`, with no stdin. */
function codex(prompt: string, home: string, cwd: string, timeoutMs: number): Promise<CodexRun> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const args = [
      "exec",
      "--json",
      "--strict-config",
      "--skip-git-repo-check",
      "--ephemeral",
      "--profile",
      CODEX_PROFILE,
      "--sandbox",
      "danger-full-access",
      // One try each: a failure shows at once instead of after Codex's back-off.
      "-c",
      `model_providers.${CODEX_PROVIDER_ID}.request_max_retries=0`,
      "-c",
      `model_providers.${CODEX_PROVIDER_ID}.stream_max_retries=0`,
      prompt,
    ];
    const child = spawn(CODEX, args, {
      cwd,
      env: { PATH: ["/usr/bin", "/bin"].join(path.delimiter), HOME: home, CODEX_HOME: path.join(home, ".codex"), RUST_LOG: "error" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`codex did not finish within ${timeoutMs} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    }, timeoutMs);
    child.once("error", reject);
    child.once("close", (code) => {
      clearTimeout(timer);
      const events = stdout
        .split("\n")
        .filter((line) => line.startsWith("{"))
        .map((line) => JSON.parse(line) as CodexRun["events"][number]);
      resolve({ code, events, stdout, stderr, ms: performance.now() - started });
    });
  });
}

describe("Codex (the real CLI from npm) on local models through the gateway's Responses API", function () {
  this.timeout(180_000);
  let root: string;
  let home: string;
  let work: string;
  let manager: RunningManager;
  let client: ManagerClient;
  let gatewayKey: string;

  /** The profile file as the editor command writes it, for `model`; Codex's analytics and plugin sync off. */
  function configure(model: string): void {
    const dir = path.join(home, ".codex");
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `${CODEX_PROFILE}.config.toml`);
    fs.writeFileSync(file, applyCodexConfig("", { baseUrl: `${manager.url}/v1`, gatewayKey, model }, file).text, { mode: 0o600 });
    fs.writeFileSync(path.join(dir, "config.toml"), "[analytics]\nenabled = false\n\n[features]\nplugins = false\n");
  }

  async function responsesUsage(profile: string): Promise<ServerUsageSnapshot["recent"]> {
    const usage = (await manager.api("GET", "/api/usage")).json as { servers: ServerUsageSnapshot[] };
    return (usage.servers.find((s) => s.profileName === profile)?.recent ?? []).filter((r) => r.endpoint === "responses");
  }

  before(async () => {
    assert.ok(fs.existsSync(CODEX), `Codex is not installed at ${CODEX}: run "node scripts/vscode-server/install.mjs" (npm run test:unit does)`);
    let requestLog: string;
    let model;
    ({ root, manager, requestLog, model } = await startManagerWithToolServer("codex-"));
    home = path.join(root, "home");
    work = path.join(root, "work");
    fs.mkdirSync(home);
    fs.mkdirSync(work);
    writeHfRepo(path.join(root, "hub"), { repoId: "test/tiny-tools-gguf", revisions: [{ refs: ["main"], files: { "tiny-tools-F32.gguf": tinyGgufBytes(1, TOOL_CALLING_TINY_GGUF) } }] });
    client = new ManagerClient({ url: manager.url, token: manager.token });
    await client.rescanModels();
    await client.createProfile({ name: "coder", engine: "llama-server", model, options: { env: { TOOL_SERVER_LOG: requestLog, TOOL_SERVER_TOOL: "exec_command" } } });
    await client.createProfile({ name: "local", engine: "llama", model: { source: "cache", repoId: "test/tiny-tools-gguf", file: "tiny-tools-F32.gguf" }, options: { threads: 1, contextLength: 32768 } });
    gatewayKey = ((await manager.api("GET", "/api/gateway-key")).json as { key: string }).key;
  });

  after(async () => {
    await client.stopAllServers().catch(() => undefined);
    await manager.stop();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it("codex exec runs the shell command the model calls for and hands its output back, both turns metered", async () => {
    configure("coder");
    const run = await codex("Run this command: pwd", home, work, 120_000);
    assert.equal(run.code, 0, `exit ${String(run.code)}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`);
    const command = run.events.find((e) => e.type === "item.completed" && e.item?.type === "command_execution")?.item;
    assert.ok(command !== undefined, run.stdout);
    assert.match(command.command ?? "", /pwd/);
    assert.equal(command.exit_code, 0);
    const answer = run.events.filter((e) => e.type === "item.completed" && e.item?.type === "agent_message").at(-1)?.item?.text ?? "";
    assert.match(answer, /^The tool said: /, run.stdout);
    assert.ok(answer.includes(fs.realpathSync(work)), `the command's output came back to the model: ${answer}`);
    const turns = await responsesUsage("coder");
    assert.equal(turns.length, 2, JSON.stringify(turns));
    assert.ok(turns.every((t) => t.status === "ok" && t.stream), JSON.stringify(turns));
    process.stdout.write(`      figures: codex exec with one tool call in ${Math.round(run.ms)} ms\n`);
  });

  it("codex exec answers a plain prompt on the llama engine, Codex's whole prompt read by the model", async () => {
    configure("local");
    const run = await codex("Tell me a story about a dog.", home, work, 150_000);
    assert.equal(run.code, 0, `exit ${String(run.code)}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`);
    const answer = run.events.filter((e) => e.type === "item.completed" && e.item?.type === "agent_message").at(-1)?.item?.text ?? "";
    assert.ok(answer.length > 0, run.stdout);
    const turns = await responsesUsage("local");
    assert.ok(turns.length >= 1 && turns.every((t) => t.status === "ok"), JSON.stringify(turns));
    const biggest = Math.max(...turns.map((t) => t.promptTokens ?? 0));
    process.stdout.write(`      figures: codex exec in ${Math.round(run.ms)} ms, ${turns.map((t) => `${t.promptTokens ?? "?"} → ${t.completionTokens ?? "?"} tokens in ${Math.round(t.durationMs)} ms`).join(", ")}\n`);
    assert.ok(biggest > 2000, `Codex's instructions and tools reached the model whole (${biggest} tokens)`);
  });
});
