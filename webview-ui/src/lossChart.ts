import { formatLoss, logTicks, niceTicks, round, thin, type LossPoint, type PlotScale } from "./chartScale";
import { h, setAttr, setText } from "./dom";

// A fine-tuning job's loss chart: train and validation loss over iterations, linear or log scale.
// Our own SVG rather than a charting library: two series that only grow, drawn as two polylines
// whose `points` are rewritten at most once a frame; colours and fonts come from the editor's
// theme variables through CSS; nothing to load, no canvas to redraw by hand on a theme change.
// A long run is thinned to at most two points (the lowest and highest) per pixel column, so a
// frame costs the same at 100 reports as at 100,000.

const SVG = "http://www.w3.org/2000/svg";
const HEIGHT = 240;
const MARGIN = { left: 62, right: 14, top: 10, bottom: 26 };


export interface ChartSeries {
  train: readonly LossPoint[];
  valid: readonly LossPoint[];
  /** The job's last iteration (the x axis ends there, or at the last point beyond it). */
  iters: number;
}

export class LossChart {
  readonly element: HTMLElement;
  private readonly svg: SVGSVGElement;
  private readonly grid: SVGGElement;
  private readonly trainLine: SVGPolylineElement;
  private readonly validLine: SVGPolylineElement;
  private readonly validDots: SVGPathElement;
  private readonly cursor: SVGLineElement;
  private readonly readout = h("span", { class: "chart-readout", "aria-live": "off" });
  private readonly empty = h("p", { class: "empty chart-empty" }, "No loss reported yet: mlx_lm reports one every steps_per_report iterations.");
  private readonly legend: HTMLElement;
  private train: LossPoint[] = [];
  private valid: LossPoint[] = [];
  private iters = 0;
  private log = false;
  private width = 600;
  private frame = 0;
  private tickKey = "";
  /** Drawn frames (tests and the benchmark read it). */
  draws = 0;

  constructor() {
    this.svg = svg("svg", { class: "loss-chart", role: "img", "aria-label": "Loss chart" });
    this.grid = svg("g", { class: "chart-grid" });
    this.trainLine = svg("polyline", { class: "series-train" });
    this.validLine = svg("polyline", { class: "series-valid" });
    this.validDots = svg("path", { class: "series-valid-dots" });
    this.cursor = svg("line", { class: "chart-cursor", visibility: "hidden" });
    this.svg.append(this.grid, this.trainLine, this.validLine, this.validDots, this.cursor);
    this.legend = h(
      "div",
      { class: "chart-legend" },
      h("span", { class: "legend-train" }, "Train loss"),
      h("span", { class: "legend-valid" }, "Validation loss"),
      this.readout,
    );
    this.element = h("figure", { class: "chart" }, this.legend, this.svg, this.empty);
    this.svg.addEventListener("pointermove", (event) => { this.hover(event.offsetX); });
    this.svg.addEventListener("pointerleave", () => { this.hover(undefined); });
    new ResizeObserver((entries) => {
      const width = Math.round(entries[0]?.contentRect.width ?? 0);
      if (width > 0 && width !== this.width) {
        this.width = width;
        this.tickKey = "";
        this.schedule();
      }
    }).observe(this.svg);
  }

  /** A control shown at the end of the legend row (the log-scale toggle). */
  addTool(element: HTMLElement): void {
    this.legend.append(element);
  }

  /** The whole history (a job picked, or its reports loaded). */
  set(series: ChartSeries): void {
    this.train = [...series.train];
    this.valid = [...series.valid];
    this.iters = series.iters;
    this.schedule();
  }

  /** One new report; reports come in iteration order, a repeat of the last one is ignored. */
  add(kind: "train" | "valid", point: LossPoint, iters: number): void {
    const series = kind === "train" ? this.train : this.valid;
    const last = series[series.length - 1];
    if (last !== undefined && point[0] <= last[0]) return;
    series.push(point);
    this.iters = iters;
    this.schedule();
  }

  setLogScale(on: boolean): void {
    if (on === this.log) return;
    this.log = on;
    this.tickKey = "";
    this.schedule();
  }

  get points(): { train: number; valid: number } {
    return { train: this.train.length, valid: this.valid.length };
  }

  /** Many reports in one frame are drawn once. */
  private schedule(): void {
    if (this.frame !== 0) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.draw();
    });
  }

  private draw(): void {
    this.draws += 1;
    const { width } = this;
    setAttr(this.svg, "viewBox", `0 0 ${width} ${HEIGHT}`);
    const hasData = this.train.length + this.valid.length > 0;
    this.empty.hidden = hasData;
    this.svg.style.visibility = hasData ? "visible" : "hidden";
    if (!hasData) return;
    const scale = this.scale();
    const ticks = this.ticks(scale);
    const key = JSON.stringify([width, this.log, ticks.x, ticks.y]);
    if (key !== this.tickKey) {
      this.tickKey = key;
      this.drawGrid(scale, ticks);
    }
    setAttr(this.trainLine, "points", thin(this.train, scale, width).join(" "));
    const valid = thin(this.valid, scale, width);
    setAttr(this.validLine, "points", valid.join(" "));
    // Validation is reported every steps_per_eval iterations: few points, each marked.
    setAttr(this.validDots, "d", this.valid.length <= 60 ? valid.map((p) => `M${p}h0`).join("") : "");
    const lastTrain = this.train[this.train.length - 1];
    const lastValid = this.valid[this.valid.length - 1];
    setAttr(
      this.svg,
      "aria-label",
      `Loss chart${this.log ? " (log scale)" : ""}: ${lastTrain ? `train loss ${lastTrain[1].toFixed(3)} at iteration ${lastTrain[0]}` : "no train loss yet"}${lastValid ? `, validation loss ${lastValid[1].toFixed(3)} at iteration ${lastValid[0]}` : ""}`,
    );
  }

  private scale(): Scale {
    let min = Infinity;
    let max = -Infinity;
    let last = 0;
    for (const series of [this.train, this.valid]) {
      for (const [, y] of series) {
        if (!(y > 0) && this.log) continue;
        if (y < min) min = y;
        if (y > max) max = y;
      }
      last = Math.max(last, series[series.length - 1]?.[0] ?? 0);
    }
    if (!Number.isFinite(min)) [min, max] = [0.1, 1];
    const f = this.log ? Math.log10 : (v: number): number => v;
    let lo = f(min);
    let hi = f(max);
    if (hi - lo < 1e-9) [lo, hi] = [lo - 0.5, hi + 0.5];
    const pad = (hi - lo) * 0.06;
    lo -= pad;
    hi += pad;
    if (!this.log && min >= 0) lo = Math.max(0, lo);
    const xMax = Math.max(this.iters, last, 1);
    const plotW = this.width - MARGIN.left - MARGIN.right;
    const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
    return {
      x: (i) => MARGIN.left + (i / xMax) * plotW,
      y: (v) => MARGIN.top + plotH - ((f(v) - lo) / (hi - lo)) * plotH,
      invertX: (px) => ((px - MARGIN.left) / plotW) * xMax,
      xMax,
      yMin: this.log ? 10 ** lo : lo,
      yMax: this.log ? 10 ** hi : hi,
    };
  }

  private ticks(scale: Scale): { x: number[]; y: number[] } {
    const x = niceTicks(0, scale.xMax, Math.max(2, Math.floor(this.width / 110))).filter((t) => Number.isInteger(t));
    const y = this.log ? logTicks(scale.yMin, scale.yMax) : niceTicks(scale.yMin, scale.yMax, 5);
    return { x, y };
  }

  private drawGrid(scale: Scale, ticks: { x: number[]; y: number[] }): void {
    const left = MARGIN.left;
    const right = this.width - MARGIN.right;
    const bottom = HEIGHT - MARGIN.bottom;
    const parts: SVGElement[] = [];
    for (const t of ticks.y) {
      const y = round(scale.y(t));
      parts.push(svg("line", { x1: String(left), x2: String(right), y1: String(y), y2: String(y) }));
      parts.push(svg("text", { x: String(left - 6), y: String(y), class: "tick-y" }, formatLoss(t)));
    }
    for (const t of ticks.x) {
      const x = round(scale.x(t));
      parts.push(svg("line", { x1: String(x), x2: String(x), y1: String(bottom), y2: String(bottom + 4), class: "tick-mark" }));
      parts.push(svg("text", { x: String(x), y: String(bottom + 16), class: "tick-x" }, t >= 10_000 ? `${t / 1000}k` : String(t)));
    }
    parts.push(svg("line", { x1: String(left), x2: String(right), y1: String(bottom), y2: String(bottom), class: "axis" }));
    // Left of the first tick, under the loss labels: "iteration 0 … 1000".
    parts.push(svg("text", { x: String(left - 10), y: String(bottom + 16), class: "axis-label" }, "iteration"));
    this.grid.replaceChildren(...parts);
  }

  private hover(px: number | undefined): void {
    if (px === undefined || this.train.length + this.valid.length === 0) {
      setAttr(this.cursor, "visibility", "hidden");
      setText(this.readout, "");
      return;
    }
    const scale = this.scale();
    const iteration = scale.invertX(px);
    const train = nearest(this.train, iteration);
    const valid = nearest(this.valid, iteration);
    const at = train?.[0] ?? valid?.[0];
    if (at === undefined) return;
    const x = String(round(scale.x(at)));
    for (const [name, value] of [["x1", x], ["x2", x], ["y1", String(MARGIN.top)], ["y2", String(HEIGHT - MARGIN.bottom)]] as const) setAttr(this.cursor, name, value);
    setAttr(this.cursor, "visibility", "visible");
    setText(this.readout, `Iteration ${at}${train ? ` · train ${formatLoss(train[1])}` : ""}${valid ? ` · validation ${formatLoss(valid[1])} (at ${valid[0]})` : ""}`);
  }
}

interface Scale extends PlotScale {
  invertX(px: number): number;
  xMax: number;
  yMin: number;
  yMax: number;
}

function nearest(series: readonly LossPoint[], iteration: number): LossPoint | undefined {
  if (series.length === 0) return undefined;
  let a = 0;
  let b = series.length - 1;
  while (a < b) {
    const m = (a + b) >> 1;
    if ((series[m]?.[0] ?? 0) < iteration) a = m + 1;
    else b = m;
  }
  const after = series[a];
  const before = series[a - 1];
  if (before && after && Math.abs(before[0] - iteration) < Math.abs(after[0] - iteration)) return before;
  return after;
}

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string>, text?: string): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (text !== undefined) el.textContent = text;
  return el;
}
