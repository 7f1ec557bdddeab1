// Fine-tuning jobs through the real manager and its CLI: `mlx-manager train` shows the command,
// mlx_lm.lora's configuration and the dataset check, then queues the job; Debian's python3 runs our
// entry point against the mlx_lm stand-in package (test/helpers/standins/python); the job's reports
// and log come back through /api/jobs and `mlx-manager jobs`.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import type { Job, JobReport } from "../../src/shared/jobs";
import type { ServerInfo } from "../../src/shared/servers";
import type { MemoryBudgetView } from "../../src/shared/settings";
import { makeTempDir, removeTempDir, writeHfRepo, writeMlxRepo } from "../helpers/hfCache";
import { tinyGgufBytes } from "../helpers/tinyGguf";
import { ROOT, runCli, startManager, type RunningManager } from "../helpers/manager";

describe("fine-tuning jobs through the manager and the CLI", function () {
  this.timeout(60_000);
  let root: string;
  let manager: RunningManager;
  let data: string;
  const env = (): Record<string, string> => ({ MLX_MANAGER_TRAIN_PYTHON: "python3", PYTHONPATH: path.join(ROOT, "test", "helpers", "standins", "python"), STANDIN_TRAIN_STEP_MS: "5" });

  before(async () => {
    root = makeTempDir("jobs-");
    const hub = path.join(root, "hub");
    fs.mkdirSync(hub);
    writeMlxRepo(hub, { repoId: "mlx-community/tiny-4bit" });
    writeHfRepo(hub, { repoId: "test/tiny-gguf", revisions: [{ refs: ["main"], files: { "tiny.gguf": tinyGgufBytes(1) } }] });
    data = path.join(root, "workspace", "train.jsonl");
    fs.mkdirSync(path.dirname(data));
    fs.writeFileSync(data, `${Array.from({ length: 30 }, (_, i) => JSON.stringify({ messages: [{ role: "user", content: `What is ${i} + 1?` }, { role: "assistant", content: `${i + 1}` }] })).join("\n")}\n`);
    manager = await startManager({ dataDir: path.join(root, "data"), hfCache: hub, extraArgs: ["--no-watch"], env: { HOME: root, ...env() } });
  });
  after(async () => {
    await manager.stop();
    removeTempDir(root);
  });

  it("shows the plan, queues the job, and reports its losses until it completes", async () => {
    const cli = await runCli(["--data-dir", path.join(root, "data"), "train", "--name", "adder", "--model", "mlx-community/tiny-4bit", "--data", data, "--iters", "40", "--num-layers", "2", "--batch-size", "2", "--rank", "4", "--yes"], env());
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, /^Dataset: chat, 27 training and 3 validation examples \(set apart from --data\), about \d+ tokens, the longest on line \d+/m);
    assert.match(cli.stdout, /^Command: python3 \S+mlx_manager_train\.py \S+\/jobs\/<new job>\/config\.json$/m);
    assert.match(cli.stdout, /"lora_parameters": \{\n\s+"rank": 4,\n\s+"scale": 20,\n\s+"dropout": 0\n\s+\}/);
    assert.match(cli.stdout, /^Queued adder \(/m);
    let job: Job;
    for (;;) {
      job = (await manager.api("GET", "/api/jobs/adder")).json as Job;
      if (!["queued", "running"].includes(job.state)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(job.state, "completed", job.error);
    assert.equal(job.iteration, 40);
    const reports = ((await manager.api("GET", "/api/jobs/adder/reports")).json as { reports: JobReport[] }).reports;
    assert.deepEqual(reports.filter((r) => r.event === "train").map((r) => r.iteration), [10, 20, 30, 40]);
    const list = await runCli(["--data-dir", path.join(root, "data"), "jobs"]);
    assert.match(list.stdout, /^adder\s+completed\s+40\/40\s+\d\.\d{3}\s+\d\.\d{3}$/m);
    const logs = await runCli(["--data-dir", path.join(root, "data"), "jobs", "logs", "adder", "--lines", "3"]);
    assert.match(logs.stdout, /Saved final weights to \S+adapters\.safetensors\./);
    const served = await runCli(["--data-dir", path.join(root, "data"), "jobs", "profile", "adder", "adder-lora"]);
    assert.equal(served.code, 0, served.stderr);
    const profile = (await manager.api("GET", "/api/profiles/adder-lora")).json as { engine: string; options: { adapterPath?: string } };
    assert.deepEqual([profile.engine, profile.options.adapterPath], ["mlx-lm", job.adapterPath]);
    const fused = await runCli(["--data-dir", path.join(root, "data"), "jobs", "fuse", "adder", "tiny-adder"], env());
    assert.equal(fused.code, 0, fused.stderr);
    assert.match(fused.stdout, /^Fused into local\/tiny-adder \([0-9a-f]{12}\)/);
    for (let i = 0; i < 50; i++) {
      const models = (await manager.api("GET", "/api/models")).json as { models: { id: string }[] };
      if (models.models.some((m) => m.id === "local/tiny-adder")) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(((await manager.api("GET", "/api/models")).json as { models: { id: string }[] }).models.some((m) => m.id === "local/tiny-adder"), "the fused model is listed");
    const bad = await manager.api("POST", "/api/jobs/check-dataset", { file: path.join(root, "hub") });
    assert.equal(bad.status, 400);
  });

  it("holds its share of the memory budget: an idle server is stopped to make room for it, and a server start finds the job holding memory", async () => {
    const created = await manager.api("POST", "/api/profiles", { name: "chatty", engine: "llama", model: { source: "cache", repoId: "test/tiny-gguf", file: "tiny.gguf" }, options: { threads: 1, contextLength: 256 } });
    assert.equal(created.status, 201, created.text);
    assert.equal((await manager.api("POST", "/api/servers/chatty/start")).status, 200);
    const idle = ((await manager.api("GET", "/api/memory/budget")).json as MemoryBudgetView).servers.find((h) => h.profileName === "chatty");
    assert.ok(idle !== undefined && idle.bytes > 0);
    // Room for the job (its model, a quarter more, 1 GB for Python and MLX) but not for the server beside it.
    const plan = await manager.api("POST", "/api/jobs/plan", { name: "x", model: { source: "cache", repoId: "mlx-community/tiny-4bit" }, train: data });
    assert.equal(plan.status, 200, plan.text);
    await manager.api("PATCH", "/api/settings", { memoryBudgetBytes: 1_000_100_000 + Math.round(idle.bytes / 2) });
    const queued = await runCli(["--data-dir", path.join(root, "data"), "train", "--name", "slow", "--model", "mlx-community/tiny-4bit", "--data", data, "--iters", "100000", "--num-layers", "2", "--batch-size", "2", "--yes"], env());
    assert.equal(queued.code, 0, queued.stderr);
    const until = async (leave: string, what: string): Promise<Job> => {
      const deadline = Date.now() + 20_000;
      for (;;) {
        const now = (await manager.api("GET", "/api/jobs/slow")).json as Job;
        if (now.state !== leave) return now;
        if (Date.now() > deadline) throw new Error(`${what}: ${JSON.stringify(now)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    let job = await until("queued", "the job to start");
    assert.equal(job.state, "running", job.error);
    const server = (await manager.api("GET", "/api/servers/chatty")).json as ServerInfo;
    assert.deepEqual([server.state, server.stopReason, server.evictedFor], ["stopped", "evicted", "fine-tuning slow"]);
    const budget = (await manager.api("GET", "/api/memory/budget")).json as MemoryBudgetView;
    assert.deepEqual(budget.servers.map((h) => [h.profileName, h.pinned, h.busy]), [["fine-tuning slow", true, true]]);
    const refused = await manager.api("POST", "/api/servers/chatty/start");
    assert.equal(refused.status, 503, refused.text);
    assert.match(refused.text, /fine-tuning slow/);
    const cancelled = await runCli(["--data-dir", path.join(root, "data"), "jobs", "cancel", "slow"]);
    assert.equal(cancelled.code, 0, cancelled.stderr);
    job = await until("running", "the cancelled job to end");
    assert.equal(job.state, "cancelled");
    await manager.api("PATCH", "/api/settings", { memoryBudgetBytes: null });
  });
});
