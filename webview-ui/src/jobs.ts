import type { Job, JobReport } from "../../src/shared/jobs";
import type { HostBridge } from "./bridge";
import { figure, formatBytes, formatDuration, formatNumber, h, setAttr, setText, toggleAttr } from "./dom";
import { formatLoss, type LossPoint } from "./chartScale";
import { LossChart } from "./lossChart";

// The Jobs tab: the queue of fine-tuning jobs on the left, the picked job on the right with its
// figures, its live loss chart, its actions and the tail of its log. Built once and patched.

export interface JobsViewEvents {
  /** Compare base and adapted: the Chat tab's Compare with these two profiles. */
  compare(base: string, adapted: string): void;
  error(message: string): void;
  changed(): void;
}

export interface JobsViewState {
  selected?: string;
  logScale?: boolean;
}

const ORDER: Record<Job["state"], number> = { running: 0, queued: 1, interrupted: 2, failed: 3, cancelled: 4, completed: 5 };
const LOG_REFRESH_MS = 2000;

export class JobsView {
  readonly element: HTMLElement;
  private readonly jobs = new Map<string, Job>();
  private readonly rows = new Map<string, JobRow>();
  private readonly list = h("div", { class: "job-list", role: "listbox", "aria-label": "Fine-tuning jobs" });
  private readonly emptyList = h(
    "div",
    { class: "empty jobs-empty" },
    h("p", {}, "No fine-tuning job yet. Pick an MLX model and a JSONL dataset from your workspace: the job runs mlx_lm.lora here, and its losses are drawn live."),
  );
  private readonly detail: JobDetail;
  private selected: string | undefined;
  /** A job the editor asked to show before the panel knew it. */
  private wanted: string | undefined;
  /** Reports of the picked job, once loaded; live ones that arrive while loading wait in `early`. */
  private reports: JobReport[] | undefined;
  private early: JobReport[] = [];
  private loading = 0;

  constructor(private readonly bridge: HostBridge, private readonly events: JobsViewEvents, state: JobsViewState) {
    const fineTune = h("vscode-button", { "data-action": "fine-tune" }, "Fine-tune a Model…");
    fineTune.addEventListener("click", () => { void this.run("mlx.fineTune"); });
    this.emptyList.append(fineTune);
    this.detail = new JobDetail(this, state.logScale === true);
    this.selected = state.selected;
    this.element = h("section", { class: "jobs-view" }, h("div", { class: "job-queue" }, h("h2", { class: "section-title" }, "Queue"), this.emptyList, this.list), this.detail.element);
    this.list.addEventListener("keydown", (event) => { this.onKey(event); });
  }

  get state(): JobsViewState {
    return { ...(this.selected === undefined ? {} : { selected: this.selected }), logScale: this.detail.logScale };
  }

  /** Every job (init or a reconnect). */
  setJobs(jobs: Job[]): void {
    const ids = new Set(jobs.map((j) => j.id));
    for (const id of [...this.jobs.keys()]) {
      if (ids.has(id)) continue;
      this.jobs.delete(id);
      this.rows.get(id)?.element.remove();
      this.rows.delete(id);
    }
    for (const job of jobs) this.updateJob(job, false);
    this.order();
    if (this.wanted !== undefined && this.jobs.has(this.wanted)) [this.selected, this.wanted] = [this.wanted, undefined];
    if (this.selected === undefined || !this.jobs.has(this.selected)) this.selected = this.sorted()[0]?.id;
    if (this.selected !== undefined) this.select(this.selected, false, true);
    else this.detail.show(undefined);
    toggleAttr(this.emptyList, "hidden", this.jobs.size > 0);
  }

  updateJob(job: Job, reorder = true): void {
    const before = this.jobs.get(job.id);
    this.jobs.set(job.id, job);
    let row = this.rows.get(job.id);
    if (!row) {
      row = new JobRow(job.id, () => { this.select(job.id, true); });
      this.rows.set(job.id, row);
      this.list.append(row.element);
    }
    row.update(job);
    toggleAttr(this.emptyList, "hidden", true);
    if (reorder && before?.state !== job.state) this.order();
    if (this.wanted === job.id || (this.selected === undefined && reorder)) this.select(job.id, this.wanted === job.id);
    else if (this.selected === job.id) {
      this.detail.update(job);
      if (before !== undefined && before.state !== job.state) this.detail.refreshLog(true);
    }
  }

  onReport(jobId: string, report: JobReport): void {
    if (jobId !== this.selected) return;
    if (this.reports === undefined) {
      this.early.push(report);
      return;
    }
    this.reports.push(report);
    const job = this.jobs.get(jobId);
    this.detail.addReport(report, job?.iters ?? report.iteration);
    this.detail.refreshLog(false);
  }

  /** Shows a job (a row clicked, or the editor's "Show in Dashboard"). */
  select(jobId: string, focus: boolean, force = false): void {
    if (!this.jobs.has(jobId)) {
      this.wanted = jobId;
      return;
    }
    this.wanted = undefined;
    const changed = jobId !== this.selected;
    this.selected = jobId;
    for (const [id, row] of this.rows) row.setSelected(id === jobId);
    if (focus) this.rows.get(jobId)?.element.focus();
    if (changed || force || this.reports === undefined) {
      this.detail.show(this.jobs.get(jobId));
      void this.loadReports(jobId);
    }
    this.events.changed();
  }

  // ---------------------------------------------------------------- for the detail

  async act(type: "jobs.cancel" | "jobs.resume", jobId: string): Promise<void> {
    try {
      this.updateJob(await this.bridge.request(type, { jobId }));
    } catch (error) {
      this.events.error(message(error));
    }
  }

  async compare(jobId: string): Promise<void> {
    try {
      const { base, adapted } = await this.bridge.request("jobs.compare", { jobId });
      this.events.compare(base, adapted);
    } catch (error) {
      this.events.error(message(error));
    }
  }

  async run(command: "mlx.fineTune" | "mlx.serveJobAdapter" | "mlx.fuseJobAdapter" | "mlx.showJobLog", jobId?: string): Promise<void> {
    try {
      await this.bridge.request("command.run", { command, ...(jobId === undefined ? {} : { jobId }) });
    } catch (error) {
      this.events.error(message(error));
    }
  }

  async log(jobId: string): Promise<string[]> {
    return (await this.bridge.request("jobs.log", { jobId })).lines;
  }

  stateChanged(): void {
    this.events.changed();
  }

  // ---------------------------------------------------------------- private

  private async loadReports(jobId: string): Promise<void> {
    const ticket = ++this.loading;
    this.reports = undefined;
    this.early = [];
    let loaded: JobReport[];
    try {
      loaded = (await this.bridge.request("jobs.reports", { jobId })).reports;
    } catch (error) {
      if (ticket === this.loading) this.events.error(message(error));
      return;
    }
    if (ticket !== this.loading) return;
    // Reports that arrived while loading and are newer than the history are added after it.
    const last = { train: lastIteration(loaded, "train"), val: lastIteration(loaded, "val") };
    const reports = [...loaded, ...this.early.filter((r) => r.iteration > last[r.event])];
    this.reports = reports;
    this.early = [];
    const job = this.jobs.get(jobId);
    this.detail.setReports(reports, job?.iters ?? 0);
  }

  private sorted(): Job[] {
    return [...this.jobs.values()].sort((a, b) => ORDER[a.state] - ORDER[b.state] || (a.state === "queued" ? a.createdAt - b.createdAt : b.createdAt - a.createdAt));
  }

  /** Running first, then the queue in its order, then the finished ones, newest first. */
  private order(): void {
    const sorted = this.sorted();
    const now = [...this.list.children];
    if (sorted.every((job, i) => now[i] === this.rows.get(job.id)?.element)) return;
    this.list.replaceChildren(...sorted.map((job) => this.rows.get(job.id)?.element).filter((e): e is HTMLElement => e !== undefined));
  }

  private onKey(event: KeyboardEvent): void {
    if (event.key !== "ArrowDown" && event.key !== "ArrowUp") return;
    const ids = this.sorted().map((j) => j.id);
    const at = this.selected === undefined ? -1 : ids.indexOf(this.selected);
    const next = ids[Math.min(ids.length - 1, Math.max(0, at + (event.key === "ArrowDown" ? 1 : -1)))];
    if (next !== undefined) this.select(next, true);
    event.preventDefault();
  }
}

/** One job in the queue: name, state, a progress bar and its last losses. */
class JobRow {
  readonly element: HTMLElement;
  private readonly name = h("span", { class: "job-name" });
  private readonly state = h("span", { class: "state" });
  private readonly bar = h("div", { class: "progress-fill" });
  private readonly line = h("div", { class: "job-line" });

  constructor(readonly jobId: string, onPick: () => void) {
    this.element = h(
      "div",
      { class: "job-row", role: "option", tabindex: "-1", "aria-selected": "false", "data-job-id": jobId },
      h("div", { class: "job-row-header" }, this.name, this.state),
      h("div", { class: "progress", "aria-hidden": "true" }, this.bar),
      this.line,
    );
    this.element.addEventListener("click", onPick);
  }

  update(job: Job): void {
    setText(this.name, job.name);
    setText(this.state, stateLabel(job));
    setAttr(this.element, "data-state", job.state);
    const percent = job.iters > 0 ? Math.min(100, (100 * job.iteration) / job.iters) : 0;
    // CSSOM, not a style attribute: the panel's CSP refuses inline style attributes.
    const width = `${percent.toFixed(1)}%`;
    if (this.bar.style.width !== width) this.bar.style.width = width;
    setText(this.line, `${job.iteration}/${job.iters}${job.trainLoss === undefined ? "" : ` · loss ${formatLoss(job.trainLoss)}`}${job.valLoss === undefined ? "" : ` / ${formatLoss(job.valLoss)}`}`);
    setAttr(this.element, "aria-label", `${job.name}, ${stateLabel(job)}, iteration ${job.iteration} of ${job.iters}`);
  }

  setSelected(on: boolean): void {
    setAttr(this.element, "aria-selected", String(on));
    setAttr(this.element, "tabindex", on ? "0" : "-1");
  }
}

type FigureName = "iteration" | "train" | "valid" | "lr" | "its" | "tps" | "tokens" | "memory" | "time";

/** The picked job: what it is, its figures, chart, actions and log. */
class JobDetail {
  readonly element: HTMLElement;
  private readonly title = h("h2", { class: "job-title" });
  private readonly state = h("span", { class: "state" });
  private readonly meta = h("div", { class: "job-meta" });
  private readonly notice = h("p", { class: "job-notice", role: "status", hidden: true });
  private readonly values: Record<FigureName, HTMLElement>;
  private readonly chart = new LossChart();
  private readonly logScaleBox = h("vscode-checkbox", { "data-action": "log-scale", class: "log-scale" }, "Log scale") as HTMLElement & { checked: boolean };
  private readonly buttons: Record<"cancel" | "resume" | "compare" | "serve" | "fuse" | "fullLog", HTMLElement>;
  private readonly logTail = h("pre", { class: "log-tail job-log", tabindex: "0", "aria-label": "The end of the job's log" });
  private readonly body: HTMLElement;
  private readonly none = h("p", { class: "empty" }, "Pick a job on the left.");
  private job: Job | undefined;
  private lastReport: JobReport | undefined;
  private logTimer: ReturnType<typeof setTimeout> | undefined;
  private logAsked = 0;
  logScale: boolean;

  constructor(private readonly view: JobsView, logScale: boolean) {
    this.logScale = logScale;
    const value = (name: FigureName): HTMLElement => h("span", { class: "value", "data-figure": name }, "n/a");
    this.values = { iteration: value("iteration"), train: value("train"), valid: value("valid"), lr: value("lr"), its: value("its"), tps: value("tps"), tokens: value("tokens"), memory: value("memory"), time: value("time") };
    const button = (action: string, label: string, run: (job: Job) => void, secondary = true): HTMLElement => {
      const el = h("vscode-button", { "data-action": action, secondary }, label);
      el.addEventListener("click", () => { if (this.job) run(this.job); });
      return el;
    };
    this.buttons = {
      cancel: button("cancel", "Cancel", (job) => { void view.act("jobs.cancel", job.id); }),
      resume: button("resume", "Resume from Checkpoint", (job) => { void view.act("jobs.resume", job.id); }, false),
      compare: button("compare", "Compare with Base Model", (job) => { void view.compare(job.id); }, false),
      serve: button("serve", "Serve the Adapter", (job) => { void view.run("mlx.serveJobAdapter", job.id); }),
      fuse: button("fuse", "Fuse into a New Model…", (job) => { void view.run("mlx.fuseJobAdapter", job.id); }),
      fullLog: button("full-log", "Open Full Log", (job) => { void view.run("mlx.showJobLog", job.id); }),
    };
    this.logScaleBox.checked = logScale;
    if (logScale) this.logScaleBox.setAttribute("checked", "");
    this.chart.setLogScale(logScale);
    this.chart.addTool(this.logScaleBox);
    this.logScaleBox.addEventListener("change", () => {
      this.logScale = this.logScaleBox.checked;
      this.chart.setLogScale(this.logScale);
      view.stateChanged();
    });
    this.body = h(
      "div",
      { class: "job-body", hidden: true },
      h("header", { class: "job-header" }, this.title, this.state),
      this.meta,
      this.notice,
      h(
        "div",
        { class: "figures job-figures" },
        figure("Iteration", this.values.iteration),
        figure("Train loss", this.values.train),
        figure("Validation loss", this.values.valid),
        figure("Learning rate", this.values.lr),
        figure("Iterations/s", this.values.its),
        figure("Tokens/s", this.values.tps),
        figure("Trained tokens", this.values.tokens),
        figure("Peak memory", this.values.memory),
        figure("Time", this.values.time),
      ),
      this.chart.element,
      h("div", { class: "actions" }, ...Object.values(this.buttons)),
      h("h3", { class: "section-title" }, "Log"),
      this.logTail,
    );
    this.element = h("section", { class: "job-detail", "aria-label": "The picked job" }, this.none, this.body);
  }

  /** Points drawn (tests). */
  get chartPoints(): { train: number; valid: number } {
    return this.chart.points;
  }

  show(job: Job | undefined): void {
    this.job = job;
    this.lastReport = undefined;
    toggleAttr(this.none, "hidden", job !== undefined);
    toggleAttr(this.body, "hidden", job === undefined);
    this.chart.set({ train: [], valid: [], iters: job?.iters ?? 0 });
    setText(this.logTail, "");
    if (!job) return;
    setAttr(this.body, "data-job-id", job.id);
    this.update(job);
    this.refreshLog(true);
  }

  setReports(reports: JobReport[], iters: number): void {
    const train: LossPoint[] = [];
    const valid: LossPoint[] = [];
    for (const r of reports) {
      if (r.event === "train" && r.train_loss !== undefined) train.push([r.iteration, r.train_loss]);
      if (r.event === "val" && r.val_loss !== undefined) valid.push([r.iteration, r.val_loss]);
    }
    this.chart.set({ train, valid, iters });
    this.lastReport = [...reports].reverse().find((r) => r.event === "train");
    if (this.job) this.update(this.job);
  }

  addReport(report: JobReport, iters: number): void {
    if (report.event === "train" && report.train_loss !== undefined) {
      this.chart.add("train", [report.iteration, report.train_loss], iters);
      this.lastReport = report;
    } else if (report.event === "val" && report.val_loss !== undefined) {
      this.chart.add("valid", [report.iteration, report.val_loss], iters);
    }
    if (this.job) this.update(this.job);
  }

  update(job: Job): void {
    this.job = job;
    setText(this.title, job.name);
    setText(this.state, stateLabel(job));
    setAttr(this.element, "data-state", job.state);
    const s = job.settings;
    setText(this.meta, `${modelLabel(job)} · ${s.fine_tune_type}${s.fine_tune_type === "full" ? "" : ` rank ${s.lora_parameters.rank}`} · ${s.num_layers === -1 ? "all" : s.num_layers} layers · batch ${s.batch_size} · learning rate ${s.learning_rate < 0.001 ? s.learning_rate.toExponential() : s.learning_rate} · ${s.iters} iterations`);
    const notice = job.error ?? job.waiting ?? (job.checkpoint !== undefined && ["interrupted", "failed", "cancelled"].includes(job.state) ? `Its last checkpoint is at iteration ${job.checkpoint.iteration}: Resume goes on from there.` : undefined);
    toggleAttr(this.notice, "hidden", notice === undefined);
    setText(this.notice, notice ?? "");
    toggleAttr(this.notice, "data-error", job.error !== undefined);
    const r = this.lastReport;
    setText(this.values.iteration, `${job.iteration} / ${job.iters}`);
    setText(this.values.train, job.trainLoss === undefined ? "n/a" : formatLoss(job.trainLoss));
    setText(this.values.valid, job.valLoss === undefined ? "n/a" : formatLoss(job.valLoss));
    setText(this.values.lr, r?.learning_rate === undefined ? "n/a" : r.learning_rate.toExponential(2));
    setText(this.values.its, formatNumber(r?.iterations_per_second, 2));
    setText(this.values.tps, formatNumber(r?.tokens_per_second, 0));
    setText(this.values.tokens, r?.trained_tokens === undefined ? "n/a" : r.trained_tokens.toLocaleString("en-US"));
    setText(this.values.memory, r?.peak_memory === undefined ? "n/a" : formatBytes(r.peak_memory * 1e9));
    setText(this.values.time, timeText(job, r));
    const active = job.state === "running" || job.state === "queued";
    toggleAttr(this.buttons.cancel, "hidden", !active);
    toggleAttr(this.buttons.resume, "hidden", !["interrupted", "failed", "cancelled"].includes(job.state));
    for (const b of [this.buttons.compare, this.buttons.serve, this.buttons.fuse]) toggleAttr(b, "hidden", job.state !== "completed");
    for (const el of Object.values(this.buttons)) setAttr(el, "aria-label", `${el.textContent} (${job.name})`);
  }

  /** The log's tail, at most every 2 s while reports come in (`now`: at once). */
  refreshLog(now: boolean): void {
    if (now) {
      clearTimeout(this.logTimer);
      this.logTimer = undefined;
      void this.loadLog();
      return;
    }
    this.logTimer ??= setTimeout(() => {
      this.logTimer = undefined;
      void this.loadLog();
    }, LOG_REFRESH_MS);
  }

  private async loadLog(): Promise<void> {
    const job = this.job;
    if (!job) return;
    const ticket = ++this.logAsked;
    let lines: string[];
    try {
      lines = await this.view.log(job.id);
    } catch {
      return;
    }
    if (ticket !== this.logAsked || this.job?.id !== job.id) return;
    const atEnd = this.logTail.scrollHeight - this.logTail.scrollTop - this.logTail.clientHeight < 24;
    // Our entry point's MLX_MANAGER_REPORT lines repeat mlx_lm's own progress lines for the manager: not shown here.
    const shown = lines.filter((line) => !line.startsWith("MLX_MANAGER_REPORT "));
    setText(this.logTail, shown.join("\n") || "(the log is empty)");
    if (atEnd) this.logTail.scrollTop = this.logTail.scrollHeight;
  }
}

function stateLabel(job: Job): string {
  if (job.state === "queued" && job.waiting !== undefined) return "waiting for memory";
  if (job.state === "running" && job.iters > 0) return `running · ${Math.floor((100 * job.iteration) / job.iters)} %`;
  return job.state;
}

function modelLabel(job: Job): string {
  const m = job.model;
  return m.source === "cache" ? `${m.repoId}${m.revision ? `@${m.revision}` : ""}` : m.source === "path" ? m.path : m.model;
}

/** Running: elapsed and what is left at the last speed; ended: how long it took. */
function timeText(job: Job, report: JobReport | undefined): string {
  if (job.startedAt === undefined) return "n/a";
  const end = job.endedAt ?? Date.now();
  const elapsed = formatDuration((end - job.startedAt) / 1000);
  if (job.state !== "running" || !report?.iterations_per_second) return elapsed;
  return `${elapsed}, about ${formatDuration((job.iters - job.iteration) / report.iterations_per_second)} left`;
}

function lastIteration(reports: JobReport[], event: JobReport["event"]): number {
  for (let i = reports.length - 1; i >= 0; i--) if (reports[i]?.event === event) return reports[i]?.iteration ?? -1;
  return -1;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
