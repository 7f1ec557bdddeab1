import { spawn, type ChildProcess } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { JobInput, LoraSettings, type Job, type JobPlan, type JobReport, type JobState } from "../../shared/jobs";
import { ModelRef } from "../../shared/profiles";
import { ApiError, parseOrThrow } from "../api/ApiError";
import type { EventBus } from "../events/EventBus";
import { writeFileAtomicSync } from "../fs/atomicWrite";
import type { Logger } from "../logging/Logger";
import { processStartTime } from "../process/processInfo";
import { resolveModel, type ModelCatalog } from "../profiles/modelResolution";
import { isProcessRunning, isSameProcess, signalGroup } from "../servers/processes";
import type { Store } from "../store/Store";
import type { HeldMemory } from "../../shared/settings";
import { splitTrainValid, validateJsonl, type DatasetReport } from "./datasets";
import { installIntoCache } from "./installIntoCache";

// Fine-tuning jobs: queued → running → completed | failed | cancelled | interrupted, one running at a
// time. Each job has a folder (<data dir>/jobs/<id>): config.json (mlx_lm.lora's own configuration,
// also readable by `mlx_lm.lora -c`), data/{train,valid}.jsonl, adapters/ (mlx_lm writes
// adapter_config.json, adapters.safetensors and NNNNNNN_adapters.safetensors checkpoints there),
// train.log (everything the trainer prints; it writes there itself, so it outlives the manager) and
// reports.jsonl (every report). The trainer is our entry point (python/mlx_manager_train.py); its
// `MLX_MANAGER_REPORT {json}` lines are read from the log as they come.

const MARK = "MLX_MANAGER_REPORT ";
const CHECKPOINT = /^(\d{7})_adapters\.safetensors$/;

export interface JobServiceOptions {
  store: Store;
  events: EventBus;
  logger: Logger;
  catalog: ModelCatalog;
  /** <data dir>/jobs */
  dir: string;
  /** The Python that has mlx-lm (a setting; default python3 on PATH) and our entry point. */
  python: () => string;
  entryScript: string;
  env?: NodeJS.ProcessEnv;
  /** How often a running job's log is read and its process checked (default 250 ms). */
  pollMs?: number;
  now?: () => number;
  /**
   * Room in the memory budget before a job starts (the supervisor stops idle servers, or throws
   * 503 over_budget: the job waits and is tried again). Absent: no budget.
   */
  room?: (job: { id: string; name: string; needBytes: number }, signal: AbortSignal) => Promise<void>;
  /** How long a job that found no room waits before it asks again (default 5 s). */
  retryMs?: number;
  /** The Hugging Face cache a fused model goes into, and what to tell when one was added there. */
  hubCache?: string;
  onModelAdded?: () => void;
}

/**
 * What a fine-tuning run holds, roughly: the weights; LoRA/DoRA add little (small adapters, their
 * optimizer state, activations, a quarter of the weights counted for it), full fine-tuning adds
 * gradients and Adam's two moments (three times the weights); plus 1 GB for Python and MLX.
 */
export function trainingNeedBytes(weightsBytes: number, fineTuneType: LoraSettings["fine_tune_type"]): number {
  return Math.round(weightsBytes * (fineTuneType === "full" ? 4 : 1.25) + 1e9);
}

interface Row extends Record<string, unknown> {
  id: string;
  name: string;
  state: JobState;
  model: string;
  settings: string;
  dir: string;
  iters: number;
  iteration: number;
  iteration_offset: number;
  train_loss: number | null;
  val_loss: number | null;
  checkpoint: string | null;
  pid: number | null;
  process_start: string | null;
  error: string | null;
  created_at: number;
  started_at: number | null;
  ended_at: number | null;
}

/** What a running job's watcher holds. */
interface Running {
  id: string;
  /** The job's folder (its log is read there every tick). */
  dir: string;
  pid: number;
  child?: ChildProcess;
  /** Bytes of train.log read so far, and a line cut at the end of the last read. */
  offset: number;
  partial: string;
  cancelling: boolean;
  ended?: { event: "done" } | { event: "error"; message: string };
  /** Reports kept already (`train@100`): a re-adopted job's log is read again from its start. */
  kept: Set<string>;
  timer: NodeJS.Timeout;
}

function checkpointIteration(file: string): number {
  return Number(CHECKPOINT.exec(path.basename(file))?.[1] ?? 0);
}

/** The newest checkpoint in an adapters folder, if any. */
export function newestCheckpoint(adapters: string): { file: string; iteration: number } | undefined {
  let best: { file: string; iteration: number } | undefined;
  let names: string[] = [];
  try {
    names = fs.readdirSync(adapters);
  } catch {
    return undefined;
  }
  for (const name of names) {
    const match = CHECKPOINT.exec(name);
    if (match === null) continue;
    const iteration = Number(match[1]);
    if (best === undefined || iteration > best.iteration) best = { file: path.join(adapters, name), iteration };
  }
  return best;
}

/** mlx_lm.lora's configuration of one run (its own keys; JSON, which its YAML loader reads too). */
function configFor(modelPath: string, dir: string, settings: LoraSettings, iters: number, resume?: string): Record<string, unknown> {
  return { model: modelPath, train: true, data: path.join(dir, "data"), adapter_path: path.join(dir, "adapters"), ...settings, iters, ...(resume === undefined ? {} : { resume_adapter_file: resume }) };
}

export class JobService {
  private running: Running | undefined;
  /** A start in progress (room being made): no second one. */
  private starting = false;
  private retry: NodeJS.Timeout | undefined;
  /** Why a queued job waits (no room in the memory budget), by id. */
  private readonly waiting = new Map<string, string>();
  /** What the running job holds of the budget. */
  private holding: { id: string; name: string; bytes: number } | undefined;
  private readonly now: () => number;

  constructor(private readonly options: JobServiceOptions) {
    this.now = options.now ?? Date.now;
  }

  /** After a manager restart: a trainer still running is watched again; one that is gone leaves its job interrupted (resumable from its last checkpoint). */
  init(): void {
    fs.mkdirSync(this.options.dir, { recursive: true, mode: 0o700 });
    for (const row of this.rows("SELECT * FROM jobs WHERE state = 'running'")) {
      const alive = row.pid !== null && isProcessRunning(row.pid) && isSameProcess({ pid: row.pid, processStart: row.process_start ?? undefined, command: this.command(row) });
      if (alive && row.pid !== null && this.running === undefined) {
        this.options.logger.info("re-adopted a running fine-tuning job", { job: row.name, pid: row.pid });
        // Reports already kept are skipped by iteration when the log is read again from the start.
        let bytes = 0;
        try {
          bytes = this.needOf(row);
        } catch {
          bytes = 0;
        }
        this.holding = { id: row.id, name: row.name, bytes };
        this.watch(row.id, row.dir, row.pid, undefined);
        continue;
      }
      this.finish(row.id, "interrupted", "The manager stopped while it ran, and so did the trainer. Resume it from its last checkpoint.");
    }
    this.pump();
  }

  /** The running job's share of the memory budget (never stopped to make room: it is busy). */
  held(): HeldMemory[] {
    const h = this.holding;
    if (h === undefined || this.running === undefined) return [];
    return [{ profileId: `job:${h.id}`, profileName: `fine-tuning ${h.name}`, bytes: h.bytes, source: "estimated", pinned: true, group: null, busy: true, startedBy: "user" }];
  }

  list(): Job[] {
    return this.rows("SELECT * FROM jobs ORDER BY created_at DESC").map((r) => this.toJob(r));
  }

  get(id: string): Job {
    const row = this.row(id);
    if (row === undefined) throw new ApiError(404, "not_found", `No fine-tuning job "${id}".`);
    return this.toJob(row);
  }

  /** Every report of a job so far. */
  reports(id: string): JobReport[] {
    const job = this.get(id);
    try {
      return fs
        .readFileSync(path.join(job.dir, "reports.jsonl"), "utf8")
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => JSON.parse(l) as JobReport);
    } catch {
      return [];
    }
  }

  /** The checks of a job (the model, each dataset line, batch sizes) and what it would write. */
  private prepare(body: unknown): { input: ReturnType<typeof JobInput.parse>; settings: LoraSettings; modelPath: string; train: string; valid: string; trainReport: DatasetReport } {
    const input = parseOrThrow(JobInput, body);
    const settings = LoraSettings.parse(input.settings);
    const model = resolveModel(input.model, this.options.catalog);
    if (model.format !== "mlx" && model.format !== "safetensors") throw new ApiError(400, "validation_failed", `mlx_lm.lora fine-tunes MLX models; this one is ${model.format}.`, "model");
    const read = (file: string, field: string): string => {
      try {
        return fs.readFileSync(file, "utf8");
      } catch (error) {
        throw new ApiError(400, "validation_failed", `Cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? String(error)}).`, field);
      }
    };
    const check = (content: string, field: string, file: string): DatasetReport => {
      const report = validateJsonl(content, { maskPrompt: settings.mask_prompt });
      if (report.issueCount > 0) {
        const first = report.issues.slice(0, 5).map((i) => `line ${i.line}: ${i.message}`).join("; ");
        throw new ApiError(400, "validation_failed", `${path.basename(file)} has ${report.issueCount} problem(s) mlx_lm.lora would stop at: ${first}.`, field, { issues: report.issues, format: report.format ?? null });
      }
      return report;
    };
    const trainText = read(input.train, "train");
    const trainReport = check(trainText, "train", input.train);
    let train = trainText;
    let valid: string;
    if (input.valid === undefined) {
      ({ train, valid } = splitTrainValid(trainText, { seed: settings.seed, minValid: settings.batch_size }));
    } else {
      valid = read(input.valid, "valid");
      const validReport = check(valid, "valid", input.valid);
      if (validReport.format !== trainReport.format) throw new ApiError(400, "validation_failed", `valid is ${validReport.format ?? "?"} but train is ${trainReport.format ?? "?"}: both need one format.`, "valid");
    }
    // mlx_lm's iterate_batches refuses a set smaller than a batch (train, and valid at the first evaluation).
    for (const [name, content] of [["train", train], ["valid", valid]] as const) {
      const examples = content.split("\n").filter((l) => l.trim() !== "").length;
      if (examples < settings.batch_size) throw new ApiError(400, "validation_failed", `${name} has ${examples} example(s), fewer than batch_size ${settings.batch_size}: mlx_lm.lora would stop. Add examples or lower batch_size.`, name === "train" ? "train" : "valid");
    }
    return { input, settings, modelPath: model.path, train, valid, trainReport };
  }

  /**
   * What a job would run, before it is queued: the command, mlx_lm.lora's configuration (paths in
   * the job's folder to be) and what the dataset check found. Throws what create would.
   */
  plan(body: unknown): JobPlan {
    const { input, settings, modelPath, train, valid, trainReport } = this.prepare(body);
    const dir = path.join(this.options.dir, "<new job>");
    const count = (text: string): number => text.split("\n").filter((l) => l.trim() !== "").length;
    return {
      command: [this.options.python(), this.options.entryScript, path.join(dir, "config.json")],
      config: configFor(modelPath, dir, settings, settings.iters),
      dataset: { format: trainReport.format ?? "text", trainExamples: count(train), validExamples: count(valid), validSplit: input.valid === undefined, tokens: trainReport.tokens, ...(trainReport.longest === undefined ? {} : { longest: trainReport.longest }) },
    };
  }

  /** Checks the dataset (each problem with its line) and the model, writes the job's folder and queues it. */
  create(body: unknown): Job {
    const { input, settings, train, valid } = this.prepare(body);
    const id = crypto.randomUUID();
    const dir = path.join(this.options.dir, id);
    fs.mkdirSync(path.join(dir, "data"), { recursive: true, mode: 0o700 });
    writeFileAtomicSync(path.join(dir, "data", "train.jsonl"), train);
    writeFileAtomicSync(path.join(dir, "data", "valid.jsonl"), valid);
    const now = this.now();
    this.options.store.run("INSERT INTO jobs (id, name, state, model, settings, dir, iters, created_at) VALUES (?, ?, 'queued', ?, ?, ?, ?, ?)", [id, input.name, JSON.stringify(input.model), JSON.stringify(settings), dir, settings.iters, now]);
    this.writeConfig(id);
    const job = this.get(id);
    this.publish(job);
    this.pump();
    return this.get(id);
  }

  /** Ends a queued or running job (its trainer's group gets SIGTERM); its adapters so far are kept. */
  cancel(idOrName: string): Job {
    const job = this.get(idOrName);
    const id = job.id;
    if (job.state === "queued") {
      this.finish(id, "cancelled");
      return this.get(id);
    }
    if (job.state !== "running") return job;
    const running = this.running;
    if (running?.id === id) {
      running.cancelling = true;
      signalGroup(running.pid, "SIGTERM");
    }
    return job;
  }

  /** Queues a stopped job again from its newest checkpoint: it counts on from that iteration to its iters. */
  resume(idOrName: string): Job {
    const job = this.get(idOrName);
    const id = job.id;
    if (!["interrupted", "failed", "cancelled"].includes(job.state)) throw new ApiError(409, "conflict", `"${job.name}" is ${job.state}: only an interrupted, failed or cancelled job resumes.`);
    const checkpoint = newestCheckpoint(job.adapterPath);
    if (checkpoint === undefined) throw new ApiError(409, "conflict", `"${job.name}" saved no checkpoint yet (every ${job.settings.save_every} iterations): start it anew instead.`);
    this.options.store.run("UPDATE jobs SET state = 'queued', iteration_offset = ?, checkpoint = ?, error = NULL, ended_at = NULL WHERE id = ?", [checkpoint.iteration, checkpoint.file, id]);
    this.writeConfig(id);
    this.publish(this.get(id));
    this.pump();
    return this.get(id);
  }

  /**
   * Fuses a completed job's adapter into its base model with mlx_lm.fuse and puts the result in the
   * Hugging Face cache as `local/<name>` (the Models view lists it; a profile can serve it).
   */
  async fuse(idOrName: string, name: string, signal: AbortSignal): Promise<{ repoId: string; commit: string }> {
    const job = this.get(idOrName);
    if (job.state !== "completed") throw new ApiError(409, "conflict", `"${job.name}" is ${job.state}: only a completed job's adapter is fused.`);
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$/.test(name)) throw new ApiError(400, "validation_failed", "name: letters, digits, '.', '_' and '-'", "name");
    const hub = this.options.hubCache;
    if (hub === undefined) throw new ApiError(501, "unavailable", "This manager has no Hugging Face cache to put a fused model in.");
    const repoId = `local/${name}`;
    if (fs.existsSync(path.join(hub, `models--local--${name}`))) throw new ApiError(409, "conflict", `The cache already has ${repoId}: pick another name.`, "name");
    const model = resolveModel(job.model, this.options.catalog);
    const save = path.join(job.dir, "fused");
    fs.rmSync(save, { recursive: true, force: true });
    const args = ["-m", "mlx_lm", "fuse", "--model", model.path, "--adapter-path", job.adapterPath, "--save-path", save];
    const log = path.join(job.dir, "fuse.log");
    const code = await new Promise<number | null>((resolve) => {
      const fd = fs.openSync(log, "w");
      const child = spawn(this.options.python(), args, { stdio: ["ignore", fd, fd], env: this.options.env ?? process.env, signal });
      fs.closeSync(fd);
      child.once("error", () => {
        resolve(null);
      });
      child.once("exit", (c) => {
        resolve(c);
      });
    });
    signal.throwIfAborted();
    if (code !== 0) {
      const tail = fs.readFileSync(log, "utf8").trim().split("\n").slice(-3).join(" ");
      throw new ApiError(502, "unavailable", `mlx_lm.fuse failed (${tail || `exit ${code ?? "?"}`}). Its log: ${log}`);
    }
    const commit = installIntoCache(hub, repoId, save);
    fs.rmSync(save, { recursive: true, force: true });
    this.options.logger.info("fused a job's adapter into a model", { job: job.name, repoId });
    this.options.onModelAdded?.();
    return { repoId, commit };
  }

  /** Stops watching (the trainer runs on; the next manager re-adopts it). */
  close(): void {
    if (this.running !== undefined) clearInterval(this.running.timer);
    clearTimeout(this.retry);
    this.running = undefined;
  }

  // ---------------------------------------------------------------- running

  /** mlx_lm.lora's configuration for the job's next run (JSON, which its YAML loader reads too). */
  private writeConfig(id: string): void {
    const row = this.row(id);
    if (row === undefined) return;
    const settings = LoraSettings.parse(JSON.parse(row.settings));
    const model = resolveModel(ModelRef.parse(JSON.parse(row.model)), this.options.catalog);
    // A resumed run trains the rest, starting from its checkpoint's weights.
    const config = configFor(model.path, row.dir, settings, Math.max(1, row.iters - row.iteration_offset), row.checkpoint ?? undefined);
    writeFileAtomicSync(path.join(row.dir, "config.json"), `${JSON.stringify(config, null, 2)}\n`);
  }

  private command(row: Row): string[] {
    return [this.options.python(), this.options.entryScript, path.join(row.dir, "config.json"), ...(row.iteration_offset > 0 ? ["--iteration-offset", String(row.iteration_offset)] : [])];
  }

  /** Starts the oldest queued job when none runs, once the memory budget has room for it. */
  private pump(): void {
    if (this.running !== undefined || this.starting) return;
    const next = this.rows("SELECT * FROM jobs WHERE state = 'queued' ORDER BY created_at LIMIT 1")[0];
    if (next === undefined) return;
    this.starting = true;
    void this.startWithRoom(next).finally(() => {
      this.starting = false;
    });
  }

  private async startWithRoom(next: Row): Promise<void> {
    let needBytes = 0;
    try {
      needBytes = this.needOf(next);
      await this.options.room?.({ id: `job:${next.id}`, name: `fine-tuning ${next.name}`, needBytes }, AbortSignal.timeout(600_000));
    } catch (error) {
      if (error instanceof ApiError && error.code === "over_budget") {
        // It waits its turn: tried again a little later, and whenever a job ends.
        this.waiting.set(next.id, error.message);
        this.publish(this.get(next.id));
        clearTimeout(this.retry);
        this.retry = setTimeout(() => {
          this.pump();
        }, this.options.retryMs ?? 5000);
        this.retry.unref();
        return;
      }
      this.finish(next.id, "failed", error instanceof Error ? error.message : String(error));
      this.pump();
      return;
    }
    this.waiting.delete(next.id);
    if (this.row(next.id)?.state !== "queued") return;
    this.holding = { id: next.id, name: next.name, bytes: needBytes };
    this.spawnTrainer(next);
  }

  /** What a job's run holds of the memory budget (trainingNeedBytes of its model). */
  private needOf(row: Row): number {
    const settings = LoraSettings.parse(JSON.parse(row.settings));
    return trainingNeedBytes(resolveModel(ModelRef.parse(JSON.parse(row.model)), this.options.catalog).size, settings.fine_tune_type);
  }

  private spawnTrainer(next: Row): void {
    const [file = "python3", ...args] = this.command(next);
    const log = path.join(next.dir, "train.log");
    const fd = fs.openSync(log, "a");
    let child: ChildProcess;
    try {
      child = spawn(file, args, { detached: true, stdio: ["ignore", fd, fd], env: { ...(this.options.env ?? process.env), PYTHONUNBUFFERED: "1" }, cwd: next.dir });
    } finally {
      fs.closeSync(fd);
    }
    child.once("error", (error) => {
      this.finish(next.id, "failed", `Could not run ${file} (${error.message}): set the Python that has mlx-lm.`);
    });
    const pid = child.pid;
    if (pid === undefined) return;
    child.unref();
    this.options.store.run("UPDATE jobs SET state = 'running', pid = ?, process_start = ?, started_at = ?, error = NULL WHERE id = ?", [pid, processStartTime(pid) ?? null, this.now(), next.id]);
    this.options.logger.info("fine-tuning job started", { job: next.name, pid });
    this.watch(next.id, next.dir, pid, child);
    this.publish(this.get(next.id));
  }

  /** Reads the job's log as it grows and watches its trainer until it ends. */
  private watch(id: string, dir: string, pid: number, child: ChildProcess | undefined): void {
    const kept = new Set(this.reportsOf(id).map((r) => `${r.event}@${r.iteration}`));
    const running: Running = {
      id,
      dir,
      pid,
      offset: 0,
      partial: "",
      cancelling: false,
      kept,
      timer: setInterval(() => {
        this.tick(running);
      }, this.options.pollMs ?? 250),
    };
    if (child !== undefined) running.child = child;
    running.timer.unref();
    this.running = running;
    child?.once("exit", () => {
      this.tick(running);
    });
  }

  private reportsOf(id: string): JobReport[] {
    try {
      return this.reports(id);
    } catch {
      return [];
    }
  }

  private tick(running: Running): void {
    if (this.running !== running) return;
    this.readLog(running);
    const alive = running.child !== undefined ? running.child.exitCode === null && running.child.signalCode === null : isProcessRunning(running.pid);
    if (alive) return;
    clearInterval(running.timer);
    this.running = undefined;
    this.holding = undefined;
    if (running.cancelling) this.finish(running.id, "cancelled");
    else if (running.ended?.event === "done") this.finish(running.id, "completed");
    else if (running.ended?.event === "error") this.finish(running.id, "failed", running.ended.message);
    else this.finish(running.id, "failed", `The trainer exited${running.child?.exitCode === undefined || running.child.exitCode === null ? "" : ` with code ${running.child.exitCode}`} before it was done: see ${path.join(running.dir, "train.log")}.`);
    this.pump();
  }

  private readLog(running: Running): void {
    const log = path.join(running.dir, "train.log");
    let fd: number;
    try {
      fd = fs.openSync(log, "r");
    } catch {
      return;
    }
    try {
      const size = fs.fstatSync(fd).size;
      if (size <= running.offset) return;
      const buffer = Buffer.alloc(size - running.offset);
      fs.readSync(fd, buffer, 0, buffer.length, running.offset);
      running.offset = size;
      const text = running.partial + buffer.toString("utf8");
      const lines = text.split("\n");
      running.partial = lines.pop() ?? "";
      for (const line of lines) {
        const at = line.indexOf(MARK);
        if (at < 0) continue;
        let report: Record<string, unknown>;
        try {
          report = JSON.parse(line.slice(at + MARK.length)) as Record<string, unknown>;
        } catch {
          continue;
        }
        this.onReport(running, report);
      }
    } finally {
      fs.closeSync(fd);
    }
  }

  private onReport(running: Running, raw: Record<string, unknown>): void {
    const event = raw["event"];
    if (event === "done") running.ended = { event: "done" };
    else if (event === "error") running.ended = { event: "error", message: `${typeof raw["type"] === "string" ? raw["type"] : "Error"}: ${typeof raw["message"] === "string" ? raw["message"] : ""}` };
    if (event !== "train" && event !== "val") return;
    const report = { ...raw, event, iteration: Number(raw["iteration"] ?? 0), at: this.now() } as JobReport;
    const key = `${report.event}@${report.iteration}`;
    if (running.kept.has(key)) return;
    running.kept.add(key);
    fs.appendFileSync(path.join(running.dir, "reports.jsonl"), `${JSON.stringify(report)}\n`);
    if (event === "train") this.options.store.run("UPDATE jobs SET iteration = ?, train_loss = ? WHERE id = ?", [report.iteration, report.train_loss ?? null, running.id]);
    else this.options.store.run("UPDATE jobs SET val_loss = ? WHERE id = ?", [report.val_loss ?? null, running.id]);
    this.options.events.publish({ type: "job.report", data: { id: running.id, report } });
  }

  private finish(id: string, state: JobState, error?: string): void {
    const row = this.row(id);
    if (row === undefined) return;
    const checkpoint = newestCheckpoint(path.join(row.dir, "adapters"));
    this.options.store.run("UPDATE jobs SET state = ?, error = ?, ended_at = ?, pid = NULL, checkpoint = ? WHERE id = ?", [state, error ?? null, this.now(), checkpoint?.file ?? row.checkpoint, id]);
    this.options.logger.info("fine-tuning job ended", { job: row.name, state, ...(error === undefined ? {} : { error }) });
    this.publish(this.get(id));
  }

  private publish(job: Job): void {
    this.options.events.publish({ type: "job.changed", data: job });
  }

  private rows(sql: string, params: (string | number)[] = []): Row[] {
    return this.options.store.all<Row>(sql, params);
  }

  private row(id: string): Row | undefined {
    return this.options.store.get<Row>("SELECT * FROM jobs WHERE id = ? OR name = ? ORDER BY created_at DESC LIMIT 1", [id, id]);
  }

  private toJob(row: Row): Job {
    const adapterPath = path.join(row.dir, "adapters");
    const checkpoint = row.checkpoint === null ? undefined : { file: row.checkpoint, iteration: checkpointIteration(row.checkpoint) };
    return {
      id: row.id,
      name: row.name,
      state: row.state,
      model: ModelRef.parse(JSON.parse(row.model)),
      settings: LoraSettings.parse(JSON.parse(row.settings)),
      dir: row.dir,
      iters: row.iters,
      iteration: row.iteration,
      ...(row.train_loss === null ? {} : { trainLoss: row.train_loss }),
      ...(row.val_loss === null ? {} : { valLoss: row.val_loss }),
      ...(checkpoint === undefined ? {} : { checkpoint }),
      ...(row.pid === null ? {} : { pid: row.pid }),
      ...(row.error === null ? {} : { error: row.error }),
      ...(row.state === "queued" && this.waiting.has(row.id) ? { waiting: this.waiting.get(row.id) ?? "" } : {}),
      command: this.command(row),
      configFile: path.join(row.dir, "config.json"),
      adapterPath,
      createdAt: row.created_at,
      ...(row.started_at === null ? {} : { startedAt: row.started_at }),
      ...(row.ended_at === null ? {} : { endedAt: row.ended_at }),
    };
  }
}
