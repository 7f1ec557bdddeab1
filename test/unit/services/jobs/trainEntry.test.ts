// MLX Model Manager's training entry point (python/mlx_manager_train.py) run by Debian's python3
// against the mlx_lm stand-in package on PYTHONPATH (test/helpers/standins/python, mlx-lm d78bf58):
// one JSON line per report with mlx_lm's own keys, adapters and checkpoints where mlx_lm writes
// them, a resumed job counting on from its checkpoint, and failures reported.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { mlxRepoFiles } from "../../../helpers/hfCache";

const ROOT = path.resolve(__dirname, "..", "..", "..", "..");
const ENTRY = path.join(ROOT, "python", "mlx_manager_train.py");
const STANDIN = path.join(ROOT, "test", "helpers", "standins", "python");

interface Report {
  event: string;
  [key: string]: unknown;
}

describe("the training entry point (python3 + the mlx_lm stand-in)", function () {
  this.timeout(30_000);
  let dir: string;
  let model: string;
  let data: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "train-entry-"));
    model = path.join(dir, "model");
    fs.mkdirSync(model);
    for (const [name, content] of Object.entries(mlxRepoFiles({ repoId: "test/tiny" }))) fs.writeFileSync(path.join(model, name), content);
    data = path.join(dir, "data");
    fs.mkdirSync(data);
    const line = (i: number): string => JSON.stringify({ messages: [{ role: "user", content: `question ${i}` }, { role: "assistant", content: `answer ${i} in a few words` }] });
    fs.writeFileSync(path.join(data, "train.jsonl"), `${Array.from({ length: 20 }, (_, i) => line(i)).join("\n")}\n`);
    // valid holds at least batch_size examples (mlx_lm's iterate_batches refuses fewer).
    fs.writeFileSync(path.join(data, "valid.jsonl"), `${[96, 97, 98, 99].map(line).join("\n")}\n`);
  });
  after(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const train = (config: Record<string, unknown>, extra: string[] = [], version = "0.31.3"): { status: number | null; reports: Report[]; stderr: string } => {
    const file = path.join(dir, `config-${Date.now()}.json`);
    fs.writeFileSync(file, JSON.stringify(config));
    const r = spawnSync("python3", [ENTRY, file, ...extra], { env: { ...process.env, PYTHONPATH: STANDIN, STANDIN_TRAIN_STEP_MS: "1", STANDIN_MLX_LM_VERSION: version }, encoding: "utf8" });
    const reports = r.stdout
      .split("\n")
      .filter((l) => l.startsWith("MLX_MANAGER_REPORT "))
      .map((l) => JSON.parse(l.slice("MLX_MANAGER_REPORT ".length)) as Report);
    return { status: r.status, reports, stderr: r.stderr };
  };

  it("reports every train and validation loss with mlx_lm's keys, and writes the adapters where mlx_lm does", () => {
    const adapters = path.join(dir, "adapters");
    const { status, reports, stderr } = train({ model, data, adapter_path: adapters, iters: 30, steps_per_report: 10, steps_per_eval: 20, save_every: 20, num_layers: 2, batch_size: 2 });
    assert.equal(status, 0, stderr);
    assert.deepEqual(reports.map((r) => `${r.event}${typeof r["iteration"] === "number" ? `@${r["iteration"]}` : ""}`), ["start", "val@0", "train@10", "val@19", "train@20", "val@29", "train@30", "done"]);
    const first = reports.find((r) => r.event === "train");
    assert.deepEqual(Object.keys(first ?? {}).sort(), ["event", "iteration", "iterations_per_second", "learning_rate", "peak_memory", "tokens_per_second", "train_loss", "trained_tokens"]);
    const losses = reports.filter((r) => r.event === "train").map((r) => Number(r["train_loss"]));
    assert.ok((losses[0] ?? 0) > (losses[losses.length - 1] ?? 0), `the loss falls: ${losses.join(", ")}`);
    assert.deepEqual(fs.readdirSync(adapters).sort(), ["0000020_adapters.safetensors", "adapter_config.json", "adapters.safetensors"]);
    const saved = JSON.parse(fs.readFileSync(path.join(adapters, "adapter_config.json"), "utf8")) as Record<string, unknown>;
    assert.deepEqual([saved["iters"], saved["fine_tune_type"], saved["lora_parameters"], saved["learning_rate"]], [30, "lora", { rank: 8, dropout: 0, scale: 20 }, 1e-5], "CONFIG_DEFAULTS fill what the config leaves out");
  });

  it("resumes from a checkpoint, counting on from its iteration", () => {
    const adapters = path.join(dir, "resumed");
    const { status, reports } = train({ model, data, adapter_path: adapters, iters: 10, steps_per_report: 5, steps_per_eval: 100, num_layers: 2, resume_adapter_file: path.join(dir, "adapters", "0000020_adapters.safetensors") }, ["--iteration-offset", "20"]);
    assert.equal(status, 0);
    assert.deepEqual(reports.filter((r) => r.event === "train").map((r) => r["iteration"]), [25, 30]);
    assert.deepEqual(reports[0], { event: "start", mlx_lm: "0.31.3", iterationOffset: 20 });
  });

  it("loads with trust_remote_code only where load() takes it (after v0.31.3)", () => {
    const head = train({ model, data, adapter_path: path.join(dir, "head"), iters: 2, num_layers: 2, trust_remote_code: false }, [], "0.32.0.dev0");
    assert.equal(head.status, 0, head.stderr);
    assert.equal(head.reports[0]?.["mlx_lm"], "0.32.0.dev0");
  });

  it("reports mlx_lm's own errors and exits 1: more layers than the model has, fewer examples than a batch", () => {
    const layers = train({ model, data, num_layers: 16, iters: 5 });
    assert.equal(layers.status, 1);
    assert.deepEqual(layers.reports[layers.reports.length - 1], { event: "error", type: "ValueError", message: "Requested to train 16 layers but the model only has 2 layers." });
    const batch = train({ model, data, num_layers: 2, iters: 5, batch_size: 8 });
    assert.deepEqual(batch.reports[batch.reports.length - 1], { event: "error", type: "ValueError", message: "Dataset must have at least batch_size=8 examples but only has 4." });
  });

  it("(why not lora.run) mlx_lm.lora.run drops the callback it is given since 6d74487e", () => {
    const script = `import types\nfrom mlx_lm import lora\nfrom mlx_lm.tuner.callbacks import TrainingCallback\ncalls = []\nclass C(TrainingCallback):\n    def on_train_loss_report(self, info): calls.append(info)\nargs = dict(lora.CONFIG_DEFAULTS)\nargs.update(model=${JSON.stringify(model)}, data=${JSON.stringify(data)}, adapter_path=${JSON.stringify(path.join(dir, "run"))}, iters=3, steps_per_report=1, num_layers=2, train=True)\nlora.run(types.SimpleNamespace(**args), training_callback=C())\nprint("calls", len(calls))\n`;
    const r = spawnSync("python3", ["-c", script], { env: { ...process.env, PYTHONPATH: STANDIN, STANDIN_TRAIN_STEP_MS: "1" }, encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^calls 0$/m);
  });
});
