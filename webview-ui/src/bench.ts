import type { BenchProfileResult, BenchRun, BenchSize, PerplexityResult } from "../../src/shared/benchmarks";
import type { ProfileOption } from "../../src/shared/dashboard";
import type { HostBridge } from "./bridge";
import { formatBytes, formatNumber, h, setAttr, setText, toggleAttr } from "./dom";

// The Benchmarks tab: pick profiles and run the fixed prompts through the gateway; past runs on the
// left; the picked run's profiles side by side (a table, and bars of decode speed and TTFT per
// prompt size), its perplexity figures beside, and CSV / JSON export.

const SIZES: BenchSize[] = ["short", "1k", "4k"];
const SVG = "http://www.w3.org/2000/svg";

export interface BenchViewEvents {
  error(message: string): void;
  changed(): void;
}

export interface BenchViewState {
  selected?: string;
}

type ValueElement = HTMLElement & { value: string };
type MultiElement = HTMLElement & { value: string[] };
type CheckElement = HTMLElement & { checked: boolean };

export class BenchView {
  readonly element: HTMLElement;
  private readonly runs = new Map<string, BenchRun>();
  private perplexity: PerplexityResult[] = [];
  private profiles: ProfileOption[] = [];
  private profileKey = "";
  private selected: string | undefined;
  private readonly picker = h("vscode-multi-select", { combobox: true, "aria-label": "Profiles to benchmark", class: "bench-profiles", placeholder: "Profiles to benchmark" }) as MultiElement;
  private readonly sizeBoxes = SIZES.map((size) => h("vscode-checkbox", { checked: true, "data-size": size }, size === "short" ? "short prompt" : `~${size} tokens`) as CheckElement);
  private readonly runsField = h("vscode-textfield", { type: "number", min: "1", max: "50", value: "3", "aria-label": "Warm runs of each size", class: "bench-number" }) as ValueElement;
  private readonly tokensField = h("vscode-textfield", { type: "number", min: "8", max: "4096", value: "128", "aria-label": "Tokens asked of each answer", class: "bench-number" }) as ValueElement;
  private readonly coldBox = h("vscode-checkbox", { checked: true, "data-action": "cold" }, "cold start first (restarts a running server)") as CheckElement;
  private readonly runButton = h("vscode-button", { "data-action": "bench-run" }, "Run Benchmark");
  private readonly cancelButton = h("vscode-button", { "data-action": "bench-cancel", secondary: true, hidden: true }, "Cancel");
  private readonly progress = h("div", { class: "bench-progress", role: "status" });
  private readonly history = h("div", { class: "bench-history", role: "listbox", "aria-label": "Past benchmarks" });
  private readonly emptyHistory = h("p", { class: "empty" }, "No benchmark yet.");
  private readonly detail = h("section", { class: "bench-detail", "aria-label": "The picked benchmark" });

  constructor(private readonly bridge: HostBridge, private readonly events: BenchViewEvents, state: BenchViewState) {
    this.selected = state.selected;
    this.runButton.addEventListener("click", () => { void this.start(); });
    this.cancelButton.addEventListener("click", () => {
      const running = this.running();
      if (running) void this.request(() => this.bridge.request("bench.cancel", { runId: running.id }));
    });
    const field = (label: string, control: HTMLElement): HTMLElement => h("label", { class: "field" }, h("span", { class: "label" }, label), control);
    const form = h(
      "div",
      { class: "bench-form" },
      field("Profiles", this.picker),
      h("div", { class: "bench-sizes", role: "group", "aria-label": "Prompt sizes" }, ...this.sizeBoxes),
      h("div", { class: "bench-numbers" }, field("Warm runs", this.runsField), field("Max tokens", this.tokensField)),
      this.coldBox,
      h("div", { class: "actions" }, this.runButton, this.cancelButton),
      this.progress,
    );
    this.element = h(
      "section",
      { class: "bench-view" },
      h("div", { class: "bench-side" }, h("h2", { class: "section-title" }, "Benchmark"), form, h("h2", { class: "section-title" }, "History"), this.emptyHistory, this.history),
      this.detail,
    );
  }

  get state(): BenchViewState {
    return this.selected === undefined ? {} : { selected: this.selected };
  }

  setProfiles(profiles: ProfileOption[]): void {
    const local = profiles.filter((p) => !p.id.startsWith("team:"));
    const key = JSON.stringify(local.map((p) => [p.id, p.name]));
    if (key === this.profileKey) return;
    this.profileKey = key;
    this.profiles = local;
    const chosen = new Set(this.picker.value);
    this.picker.replaceChildren(...local.map((p) => h("vscode-option", { value: p.name, description: p.engine, ...(chosen.has(p.name) ? { selected: true } : {}) }, p.name)));
    this.renderDetail();
  }

  setRuns(runs: BenchRun[], perplexity: PerplexityResult[]): void {
    this.runs.clear();
    for (const run of runs) this.runs.set(run.id, run);
    this.perplexity = perplexity;
    if (this.selected === undefined || !this.runs.has(this.selected)) this.selected = this.sorted()[0]?.id;
    this.renderHistory();
    this.renderDetail();
  }

  updateRun(run: BenchRun): void {
    const known = this.runs.has(run.id);
    this.runs.set(run.id, run);
    if (!known) {
      this.selected = run.id;
      // A run started elsewhere (the editor's command, the CLI) fills an empty form, so Run Benchmark repeats it.
      if (this.picker.value.length === 0) this.picker.value = run.profiles.filter((name) => this.profiles.some((p) => p.name === name));
    }
    this.renderHistory();
    if (this.selected === run.id) this.renderDetail();
  }

  removeRun(runId: string): void {
    this.runs.delete(runId);
    if (this.selected === runId) this.selected = this.sorted()[0]?.id;
    this.renderHistory();
    this.renderDetail();
  }

  /** Shows a run (the editor's Benchmark Profiles… opens the tab on the run it started). */
  select(runId: string): void {
    this.selected = runId;
    this.renderHistory();
    this.renderDetail();
    this.events.changed();
  }

  addPerplexity(result: PerplexityResult): void {
    this.perplexity = [result, ...this.perplexity];
    this.renderDetail();
  }

  private running(): BenchRun | undefined {
    return [...this.runs.values()].find((r) => r.state === "running");
  }

  private sorted(): BenchRun[] {
    return [...this.runs.values()].sort((a, b) => b.createdAt - a.createdAt);
  }

  private async start(): Promise<void> {
    const profiles = this.picker.value;
    if (profiles.length === 0) {
      setText(this.progress, "Pick one or more profiles to benchmark.");
      return;
    }
    const sizes = SIZES.filter((_, i) => this.sizeBoxes[i]?.checked === true);
    if (sizes.length === 0) {
      setText(this.progress, "Pick at least one prompt size.");
      return;
    }
    const runs = Number(this.runsField.value);
    const maxTokens = Number(this.tokensField.value);
    if (!Number.isInteger(runs) || runs < 1 || runs > 50 || !Number.isInteger(maxTokens) || maxTokens < 8 || maxTokens > 4096) {
      setText(this.progress, "Warm runs are 1 to 50, max tokens 8 to 4096.");
      return;
    }
    await this.request(async () => {
      const run = await this.bridge.request("bench.start", { profiles, settings: { sizes, runs, maxTokens, cold: this.coldBox.checked } });
      this.updateRun(run);
    });
  }

  private async request(action: () => Promise<unknown>): Promise<void> {
    try {
      await action();
    } catch (error) {
      this.events.error(error instanceof Error ? error.message : String(error));
    }
  }

  private renderHistory(): void {
    const runs = this.sorted();
    toggleAttr(this.emptyHistory, "hidden", runs.length > 0);
    const running = this.running();
    toggleAttr(this.runButton, "disabled", running !== undefined);
    toggleAttr(this.cancelButton, "hidden", running === undefined);
    const p = running?.progress;
    setText(this.progress, running === undefined ? "" : p === undefined ? "Starting…" : `${p.profile}: ${p.step === "load" ? "starting the server" : `${p.step} prompt`} (${p.done}/${p.total})`);
    this.history.replaceChildren(
      ...runs.map((run) => {
        const row = h(
          "div",
          { class: "bench-run", role: "option", tabindex: run.id === this.selected ? "0" : "-1", "aria-selected": String(run.id === this.selected), "data-run-id": run.id, "data-state": run.state },
          h("span", { class: "bench-run-when" }, new Date(run.createdAt).toLocaleString()),
          h("span", { class: "bench-run-profiles" }, run.profiles.join(", ")),
          h("span", { class: "state" }, run.state),
        );
        row.addEventListener("click", () => {
          this.selected = run.id;
          this.renderHistory();
          this.renderDetail();
          this.events.changed();
        });
        return row;
      }),
    );
  }

  private renderDetail(): void {
    const run = this.selected === undefined ? undefined : this.runs.get(this.selected);
    if (run === undefined) {
      this.detail.replaceChildren(h("p", { class: "empty" }, "Pick profiles and run a benchmark: the same prompts (a short one, ~1k and ~4k tokens to read) go through the gateway to each, a cold start first, then warm runs; each profile's TTFT, prompt and decode speed and peak memory are shown side by side."));
      return;
    }
    const s = run.settings;
    const exportButton = (format: "csv" | "json"): HTMLElement => {
      const b = h("vscode-button", { secondary: true, "data-action": `export-${format}` }, `Export ${format.toUpperCase()}`);
      b.addEventListener("click", () => { void this.request(() => this.bridge.request("bench.export", { runId: run.id, format })); });
      return b;
    };
    const remove = h("vscode-button", { secondary: true, "data-action": "bench-delete" }, "Delete");
    remove.addEventListener("click", () => { void this.request(() => this.bridge.request("bench.delete", { runId: run.id })); });
    toggleAttr(remove, "disabled", run.state === "running");
    this.detail.replaceChildren(
      h("header", { class: "job-header" }, h("h2", { class: "job-title" }, `Benchmark of ${new Date(run.createdAt).toLocaleString()}`), h("span", { class: "state" }, run.state)),
      h("div", { class: "job-meta" }, `${s.sizes.join(", ")} prompts · ${s.runs} warm run${s.runs === 1 ? "" : "s"} each · ${s.maxTokens} tokens asked · ${s.cold ? "cold start first" : "no cold start"}`),
      ...(run.error === undefined ? [] : [h("p", { class: "job-notice", "data-error": true }, run.error)]),
      barChart("Decode tokens/s (warm, median)", run.results, (r, size) => r.sizes.find((x) => x.size === size)?.decodeTokensPerSecond, "tok/s"),
      barChart("TTFT p50 (warm)", run.results, (r, size) => r.sizes.find((x) => x.size === size)?.ttftP50Ms, "ms"),
      this.table(run),
      h("div", { class: "actions" }, exportButton("csv"), exportButton("json"), remove),
    );
  }

  /** The profiles side by side: one column each, one row per figure. */
  private table(run: BenchRun): HTMLElement {
    const results = run.results;
    const rows: [string, (r: BenchProfileResult) => string][] = [
      ["Engine", (r) => r.engine],
      ["Model", (r) => r.model],
      ["Load (cold start)", (r) => (r.loadMs === undefined ? "–" : `${(r.loadMs / 1000).toFixed(2)} s`)],
      ["Cold TTFT (short)", (r) => (r.cold === undefined ? "–" : r.cold.error ?? `${r.cold.ttftMs.toFixed(0)} ms`)],
      ...run.settings.sizes.flatMap((size): [string, (r: BenchProfileResult) => string][] => [
        [`${size}: prompt tokens`, (r) => sizeCell(r, size, (x) => String(x.promptTokens))],
        [`${size}: TTFT p50 / p95`, (r) => sizeCell(r, size, (x) => `${x.ttftP50Ms.toFixed(0)} / ${x.ttftP95Ms.toFixed(0)} ms`)],
        [`${size}: prompt tokens/s`, (r) => sizeCell(r, size, (x) => formatNumber(x.promptTokensPerSecond, 0))],
        [`${size}: decode tokens/s`, (r) => sizeCell(r, size, (x) => (x.decodeTokensPerSecond === undefined ? "not timed: sent in bursts" : formatNumber(x.decodeTokensPerSecond, 1)))],
        [`${size}: client ÷ gateway meter (TTFT, decode)`, (r) => sizeCell(r, size, (x) => `${formatNumber(x.meter.ttftRatio, 3)}, ${formatNumber(x.meter.decodeRatio, 3)}`)],
      ]),
      ["Peak memory", (r) => (r.peakMemoryBytes === undefined ? "–" : `${formatBytes(r.peakMemoryBytes)} (${r.memorySource ?? "rss"})`)],
      ["Perplexity (latest)", (r) => {
        const p = this.perplexity.find((x) => x.profileId === r.profileId);
        return p === undefined ? "–" : `${p.perplexity.toFixed(2)} ± ${p.standardError.toFixed(2)} on ${p.textName}`;
      }],
      ["Error", (r) => r.error ?? ""],
    ];
    const measure = results.map((r) => {
      const b = h("vscode-button", { secondary: true, "data-action": "perplexity", "data-profile-id": r.profileId }, "Measure Perplexity…");
      b.addEventListener("click", () => { void this.request(() => this.bridge.request("command.run", { command: "mlx.measurePerplexity", jobId: r.profileId })); });
      toggleAttr(b, "disabled", !this.profiles.some((p) => p.id === r.profileId));
      return h("td", {}, b);
    });
    return h(
      "table",
      { class: "bench-table" },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, ""), ...results.map((r) => h("th", { scope: "col" }, r.profileName)))),
      h(
        "tbody",
        {},
        ...rows.filter(([label]) => label !== "Error" || results.some((r) => r.error !== undefined)).map(([label, cell]) => h("tr", {}, h("th", { scope: "row" }, label), ...results.map((r) => h("td", {}, cell(r))))),
        h("tr", {}, h("th", { scope: "row" }, ""), ...measure),
      ),
    );
  }
}

function sizeCell(r: BenchProfileResult, size: BenchSize, show: (x: NonNullable<BenchProfileResult["sizes"][number]>) => string): string {
  const summary = r.sizes.find((x) => x.size === size);
  if (summary !== undefined) return show(summary);
  const failed = r.samples.find((x) => x.size === size && x.error !== undefined);
  return failed?.error !== undefined ? `failed: ${failed.error}` : "–";
}

/** Grouped bars: one group per prompt size, one bar per profile, the value written on it. */
function barChart(title: string, results: BenchProfileResult[], value: (r: BenchProfileResult, size: BenchSize) => number | undefined, unit: string): HTMLElement {
  const sizes = SIZES.filter((size) => results.some((r) => value(r, size) !== undefined));
  const figure = h("figure", { class: "bench-chart" }, h("figcaption", { class: "label" }, title));
  if (sizes.length === 0) return figure;
  const width = 640;
  const rowHeight = 18;
  const groupGap = 10;
  const left = 70;
  const max = Math.max(...sizes.flatMap((size) => results.map((r) => value(r, size) ?? 0)), 1e-9);
  const labelOf = (r: BenchProfileResult, v: number | undefined): string => (v === undefined ? `${r.profileName}: –` : `${r.profileName}: ${v.toFixed(v >= 100 ? 0 : 1)} ${unit}`);
  // Room after the longest bar for the longest label (about 7 units a character at the chart's font size).
  const labelRoom = 12 + 7 * Math.max(...sizes.flatMap((size) => results.map((r) => labelOf(r, value(r, size)).length)));
  const height = sizes.length * (results.length * rowHeight + groupGap);
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("role", "img");
  const summary: string[] = [];
  let y = 0;
  for (const size of sizes) {
    const label = document.createElementNS(SVG, "text");
    setAttr(label, "x", "0");
    setAttr(label, "y", String(y + (results.length * rowHeight) / 2 + 4));
    setAttr(label, "class", "bench-size-label");
    label.textContent = size;
    svg.append(label);
    results.forEach((r, i) => {
      const v = value(r, size);
      const bar = document.createElementNS(SVG, "rect");
      const w = v === undefined ? 0 : Math.max(1, (v / max) * Math.max(80, width - left - labelRoom));
      setAttr(bar, "x", String(left));
      setAttr(bar, "y", String(y + i * rowHeight + 2));
      setAttr(bar, "width", w.toFixed(1));
      setAttr(bar, "height", String(rowHeight - 4));
      setAttr(bar, "class", `bench-bar bench-bar-${i % 6}`);
      const text = document.createElementNS(SVG, "text");
      setAttr(text, "x", String(left + w + 6));
      setAttr(text, "y", String(y + i * rowHeight + rowHeight - 5));
      setAttr(text, "class", "bench-bar-label");
      text.textContent = labelOf(r, v);
      svg.append(bar, text);
      if (v !== undefined) summary.push(`${r.profileName} ${size} ${v.toFixed(1)} ${unit}`);
    });
    y += results.length * rowHeight + groupGap;
  }
  svg.setAttribute("aria-label", `${title}: ${summary.join(", ")}`);
  figure.append(svg);
  return figure;
}
