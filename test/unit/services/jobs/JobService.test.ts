// Fine-tuning jobs through the real service: migration 9 from schema 8, a real store, Debian's
// python3 running our entry point against the mlx_lm stand-in package (real processes, real files):
// datasets refused with their lines, one job at a time, live reports, cancel, a restart that
// re-adopts a running trainer, one that finds it gone (interrupted) and a resume from its checkpoint.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ApiError } from "../../../../src/services/api/ApiError";
import { EventBus } from "../../../../src/services/events/EventBus";
import { CacheScanner } from "../../../../src/services/cache/CacheScanner";
import { JobService } from "../../../../src/services/jobs/JobService";
import { MemoryLogger } from "../../../../src/services/logging/Logger";
import { signalGroup } from "../../../../src/services/servers/processes";
import { MIGRATIONS } from "../../../../src/services/store/migrations";
import { Store } from "../../../../src/services/store/Store";
import type { Job, JobState } from "../../../../src/shared/jobs";
import { mlxRepoFiles } from "../../../helpers/hfCache";

const ROOT = path.resolve(__dirname, "..", "..", "..", "..");

describe("fine-tuning jobs (JobService, python3 + the mlx_lm stand-in)", function () {
  this.timeout(60_000);
  let dir: string;
  let store: Store;
  let model: string;
  let trainFile: string;
  const events = new EventBus();
  const seen: { type: string; data: unknown }[] = [];
  events.subscribe((e) => void seen.push(e));
  const service = (stepMs = 5): JobService =>
    new JobService({ store, events, logger: new MemoryLogger(), catalog: { list: () => [] }, dir: path.join(dir, "jobs"), hubCache: path.join(dir, "hub"), python: () => "python3", entryScript: path.join(ROOT, "python", "mlx_manager_train.py"), env: { ...process.env, PYTHONPATH: path.join(ROOT, "test", "helpers", "standins", "python"), STANDIN_TRAIN_STEP_MS: String(stepMs) }, pollMs: 50 });
  const until = async (jobs: JobService, id: string, states: JobState[], ms = 20_000): Promise<Job> => {
    const deadline = Date.now() + ms;
    for (;;) {
      const job = jobs.get(id);
      if (states.includes(job.state)) return job;
      if (Date.now() > deadline) throw new Error(`job ${job.name} is ${job.state}, not ${states.join("/")}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "jobs-"));
    const logger = new MemoryLogger();
    // A schema-8 store first: migration 9 adds the jobs table to it.
    (await Store.open({ dir, logger, migrations: MIGRATIONS.filter((m) => m.version <= 8) })).store.close();
    store = (await Store.open({ dir, logger, migrations: MIGRATIONS.filter((m) => m.version <= 9) })).store;
    model = path.join(dir, "model");
    fs.mkdirSync(model);
    for (const [name, content] of Object.entries(mlxRepoFiles({ repoId: "test/tiny" }))) fs.writeFileSync(path.join(model, name), content);
    trainFile = path.join(dir, "train.jsonl");
    fs.writeFileSync(trainFile, `${Array.from({ length: 40 }, (_, i) => JSON.stringify({ prompt: `q${i}`, completion: `a${i}` })).join("\n")}\n`);
  });
  after(() => {
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("migration 9 adds the jobs table to a schema-8 store", () => {
    assert.equal(store.schemaVersion, 9);
    assert.deepEqual(store.all("SELECT * FROM jobs"), []);
  });

  it("refuses a dataset mlx_lm.lora would stop at, naming the lines", () => {
    const jobs = service();
    const broken = path.join(dir, "broken.jsonl");
    fs.writeFileSync(broken, `${JSON.stringify({ prompt: "q", completion: "a" })}\n{oops\n${JSON.stringify({ text: "x" })}\n`);
    assert.throws(() => jobs.create({ name: "bad", model: { source: "path", path: model }, train: broken }), (error: Error & { details?: { issues?: { line: number }[] } }) => /line 2: not JSON.*line 3: no "prompt"/.test(error.message) && error.details?.issues?.length === 2);
    const few = path.join(dir, "few.jsonl");
    fs.writeFileSync(few, `${JSON.stringify({ text: "one" })}\n${JSON.stringify({ text: "two" })}\n`);
    assert.throws(() => jobs.create({ name: "few", model: { source: "path", path: model }, train: few }), /fewer than batch_size 4/);
    assert.deepEqual(jobs.list(), []);
  });

  it("runs one job at a time with live reports; cancels; the next queued one starts", async () => {
    const jobs = service();
    jobs.init();
    const settings = { iters: 30, steps_per_report: 10, steps_per_eval: 15, save_every: 10, num_layers: 2, batch_size: 2 };
    const a = jobs.create({ name: "first", model: { source: "path", path: model }, train: trainFile, settings });
    const b = jobs.create({ name: "second", model: { source: "path", path: model }, train: trainFile, settings: { ...settings, iters: 100000 } });
    await until(jobs, a.id, ["running"]);
    assert.equal(jobs.get(b.id).state, "queued", "one at a time");
    assert.deepEqual(a.command.slice(1), [path.join(ROOT, "python", "mlx_manager_train.py"), path.join(a.dir, "config.json")]);
    const done = await until(jobs, a.id, ["completed", "failed"]);
    assert.equal(done.state, "completed", done.error);
    assert.equal(done.iteration, 30);
    assert.ok((done.trainLoss ?? 9) < 3);
    assert.deepEqual(jobs.reports(a.id).map((r) => `${r.event}@${r.iteration}`), ["val@0", "train@10", "val@14", "train@20", "val@29", "train@30"]);
    assert.ok(seen.some((e) => e.type === "job.report"));
    assert.ok(fs.existsSync(path.join(done.adapterPath, "adapters.safetensors")));
    const config = JSON.parse(fs.readFileSync(done.configFile, "utf8")) as Record<string, unknown>;
    assert.deepEqual([config["model"], config["train"], config["lora_parameters"]], [model, true, { rank: 8, scale: 20, dropout: 0 }]);
    // Its adapter fused into the base model by mlx_lm.fuse, put in the cache as local/<name>.
    const fused = await jobs.fuse(a.id, "tiny-fused", AbortSignal.timeout(20_000));
    assert.equal(fused.repoId, "local/tiny-fused");
    const cached = await new CacheScanner({ cacheDir: path.join(dir, "hub"), logger: new MemoryLogger() }).scan();
    assert.deepEqual(cached.map((m) => [m.id, m.format]), [["local/tiny-fused", "mlx"]]);
    await assert.rejects(jobs.fuse(a.id, "tiny-fused", AbortSignal.timeout(5000)), /already has local\/tiny-fused/);
    // The queued one starts once the first is done, and is cancelled while it runs.
    await until(jobs, b.id, ["running"]);
    await new Promise((r) => setTimeout(r, 300));
    jobs.cancel(b.id);
    const cancelled = await until(jobs, b.id, ["cancelled", "failed"]);
    assert.equal(cancelled.state, "cancelled");
    jobs.close();
  });

  it("waits while the memory budget has no room for it (nothing idle to stop), and starts once there is", async () => {
    let refusals = 2;
    const asked: number[] = [];
    const jobs = new JobService({
      store, events, logger: new MemoryLogger(), catalog: { list: () => [] }, dir: path.join(dir, "jobs"), python: () => "python3", entryScript: path.join(ROOT, "python", "mlx_manager_train.py"),
      env: { ...process.env, PYTHONPATH: path.join(ROOT, "test", "helpers", "standins", "python"), STANDIN_TRAIN_STEP_MS: "1" }, pollMs: 50, retryMs: 100,
      room: (job) => {
        asked.push(job.needBytes);
        if (refusals-- > 0) return Promise.reject(new ApiError(503, "over_budget", "The memory budget (8 GB) is held by: qwen (pinned)."));
        return Promise.resolve();
      },
    });
    jobs.init();
    const job = jobs.create({ name: "patient", model: { source: "path", path: model }, train: trainFile, settings: { iters: 5, num_layers: 2, batch_size: 2 } });
    await new Promise((r) => setTimeout(r, 60));
    const waiting = jobs.get(job.id);
    assert.equal(waiting.state, "queued");
    assert.match(waiting.waiting ?? "", /held by: qwen \(pinned\)/);
    assert.equal((await until(jobs, job.id, ["completed", "failed"])).state, "completed");
    assert.equal(asked.length, 3);
    assert.ok((asked[0] ?? 0) > 1e9, "its need: the weights, a quarter more, 1 GB for Python and MLX");
    jobs.close();
  });

  it("re-adopts a trainer that outlived the manager; one that died meanwhile leaves its job interrupted, resumable from its checkpoint", async () => {
    let jobs = service(20);
    jobs.init();
    const settings = { iters: 60, steps_per_report: 10, steps_per_eval: 1000, save_every: 10, num_layers: 2, batch_size: 2 };
    const job = jobs.create({ name: "long", model: { source: "path", path: model }, train: trainFile, settings });
    await new Promise((r) => setTimeout(r, 400));
    jobs.close(); // the manager stops; the trainer runs on
    jobs = service(20);
    jobs.init();
    assert.equal(jobs.get(job.id).state, "running", "re-adopted");
    const finished = await until(jobs, job.id, ["completed", "failed"]);
    assert.equal(finished.state, "completed", finished.error);
    assert.deepEqual(jobs.reports(job.id).filter((r) => r.event === "train").map((r) => r.iteration), [10, 20, 30, 40, 50, 60], "each report kept once");
    jobs.close();

    jobs = service(20);
    jobs.init();
    const second = jobs.create({ name: "killed", model: { source: "path", path: model }, train: trainFile, settings });
    await until(jobs, second.id, ["running"]);
    while ((jobs.get(second.id).iteration) < 20) await new Promise((r) => setTimeout(r, 50));
    const pid = jobs.get(second.id).pid ?? 0;
    jobs.close();
    signalGroup(pid, "SIGKILL"); // the trainer dies while no manager runs
    await new Promise((r) => setTimeout(r, 200));
    jobs = service(5);
    jobs.init();
    const interrupted = jobs.get(second.id);
    assert.equal(interrupted.state, "interrupted");
    assert.ok((interrupted.checkpoint?.iteration ?? 0) >= 20, JSON.stringify(interrupted.checkpoint));
    const resumed = jobs.resume(second.id);
    await until(jobs, second.id, ["running"]);
    assert.deepEqual(resumed.command.slice(-2), ["--iteration-offset", String(interrupted.checkpoint?.iteration)]);
    const completed = await until(jobs, second.id, ["completed", "failed"]);
    assert.equal(completed.state, "completed", completed.error);
    assert.equal(completed.iteration, 60, "it counted on to its iters");
    const config = JSON.parse(fs.readFileSync(completed.configFile, "utf8")) as Record<string, unknown>;
    assert.equal(config["resume_adapter_file"], interrupted.checkpoint?.file);
    assert.equal(config["iters"], 60 - (interrupted.checkpoint?.iteration ?? 0));
    jobs.close();
  });
});
