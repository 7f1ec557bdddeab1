// The loss chart's arithmetic, apart from the DOM: ticks, thinning and number formats.

/** One point of a series: [iteration, loss]. */
export type LossPoint = readonly [number, number];

/** Iterations and losses to pixels. */
export interface PlotScale {
  x(iteration: number): number;
  y(loss: number): number;
}

/** Pixel points of a series; at most two per pixel column (its lowest and highest), in order. */
export function thin(series: readonly LossPoint[], scale: PlotScale, width: number): string[] {
  const out: string[] = [];
  if (series.length <= width * 2) {
    for (const [i, v] of series) if (Number.isFinite(scale.y(v))) out.push(`${round(scale.x(i))},${round(scale.y(v))}`);
    return out;
  }
  let column = -1;
  let lo: number | undefined;
  let hi: number | undefined;
  const flush = (): void => {
    if (lo === undefined || hi === undefined) return;
    out.push(`${column},${round(lo)}`);
    if (hi !== lo) out.push(`${column},${round(hi)}`);
  };
  for (const [i, v] of series) {
    const y = scale.y(v);
    if (!Number.isFinite(y)) continue;
    const x = Math.round(scale.x(i));
    if (x !== column) {
      flush();
      column = x;
      lo = hi = y;
    } else {
      // Screen y grows downwards: draw the column from its top to its bottom.
      if (lo === undefined || y < lo) lo = y;
      if (hi === undefined || y > hi) hi = y;
    }
  }
  flush();
  return out;
}

/** Round numbers (1, 2 or 5 × 10^k apart) covering [lo, hi], about `count` of them. */
export function niceTicks(lo: number, hi: number, count: number): number[] {
  const span = hi - lo;
  if (!(span > 0)) return [lo];
  const raw = span / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? 10 * magnitude;
  const out: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push(Number(t.toPrecision(12)));
  return out;
}

/** Log-scale ticks: 1, 2 and 5 × 10^k within [lo, hi]; finer steps when that gives fewer than three. */
export function logTicks(lo: number, hi: number): number[] {
  for (const steps of [[1, 2, 5], [1, 1.5, 2, 3, 4, 5, 6, 8]]) {
    const out: number[] = [];
    for (let k = Math.floor(Math.log10(lo)); k <= Math.ceil(Math.log10(hi)); k++) {
      for (const m of steps) {
        const t = Number((m * 10 ** k).toPrecision(12));
        if (t >= lo && t <= hi) out.push(t);
      }
    }
    if (out.length >= 3) return out;
  }
  return niceTicks(lo, hi, 4);
}

export function formatLoss(v: number): string {
  if (v === 0) return "0";
  const a = Math.abs(v);
  return a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : a >= 0.01 ? v.toFixed(a >= 1 ? 2 : 3) : v.toExponential(1);
}

export function round(v: number): number {
  return Math.round(v * 10) / 10;
}
