// Fine-tuning jobs through the real manager and its CLI: `mlx-manager train` shows the command,
// mlx_lm.lora's configuration and the dataset check, then queues the job; Debian's python3 runs our
// entry point against the mlx_lm stand-in package (test/helpers/standins/python); the job's reports
// and log come back through /api/jobs and `mlx-manager jobs`.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import type { Job, JobReport } from "../../src/shared/jobs";
import { makeTempDir, removeTempDir, writeMlxRepo } from "../helpers/hfCache";
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
    data = path.join(root, "workspace", "train.jsonl");
    fs.mkdirSync(path.dirname(data));
    fs.writeFileSync(data, `${Array.from({ length: 30 }, (_, i) => JSON.stringify({ messages: [{ role: "user", content: `What is ${i} + 1?` }, { role: "assistant", content: `${i + 1}` }] })).join("\n")}\n`);
    manager = await startManager({ dataDir: path.join(root, "data"), hfCache: hub, env: { HOME: root, ...env() } });
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
    const bad = await manager.api("POST", "/api/jobs/check-dataset", { file: path.join(root, "hub") });
    assert.equal(bad.status, 400);
  });
});
