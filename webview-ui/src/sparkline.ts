import type { MetricPoint } from "../../src/shared/metrics";
import { setAttr } from "./dom";

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 120;
const HEIGHT = 28;

/** A plain SVG sparkline: one polyline whose `points` change only when the data does. */
export class Sparkline {
  readonly element: SVGSVGElement;
  private readonly line: SVGPolylineElement;

  constructor(label: string) {
    this.element = document.createElementNS(SVG, "svg");
    this.element.setAttribute("viewBox", `0 0 ${WIDTH} ${HEIGHT}`);
    this.element.setAttribute("preserveAspectRatio", "none");
    this.element.setAttribute("class", "sparkline");
    this.element.setAttribute("role", "img");
    this.element.setAttribute("aria-label", label);
    this.line = document.createElementNS(SVG, "polyline");
    this.element.append(this.line);
  }

  update(points: readonly MetricPoint[]): void {
    setAttr(this.line, "points", sparklinePoints(points));
  }
}

/** Scales points to the box; the newest on the right; a flat series sits in the middle. */
export function sparklinePoints(points: readonly MetricPoint[]): string {
  if (points.length === 0) return "";
  const first = points[0];
  const last = points[points.length - 1];
  if (!first || !last) return "";
  let min = Infinity;
  let max = -Infinity;
  for (const [, v] of points) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const span = last[0] - first[0] || 1;
  const range = max - min;
  const out: string[] = [];
  // One sample is drawn as a flat line, so a new server shows something at once.
  if (points.length === 1) return `0,${HEIGHT / 2} ${WIDTH},${HEIGHT / 2}`;
  for (const [t, v] of points) {
    const x = ((t - first[0]) / span) * WIDTH;
    const y = range === 0 ? HEIGHT / 2 : HEIGHT - 2 - ((v - min) / range) * (HEIGHT - 4);
    out.push(`${x.toFixed(1)},${y.toFixed(1)}`);
  }
  return out.join(" ");
}
