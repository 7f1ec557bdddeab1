// The loss chart's arithmetic (webview-ui/src/chartScale.ts): ticks and the per-pixel thinning.
import assert from "node:assert/strict";
import { formatLoss, logTicks, niceTicks, thin, type LossPoint } from "../../../webview-ui/src/chartScale";

describe("the loss chart's scales", () => {
  it("puts round linear ticks (1, 2 or 5 × 10^k apart) inside the range", () => {
    assert.deepEqual(niceTicks(0, 240, 4), [0, 100, 200]);
    assert.deepEqual(niceTicks(0, 240, 6), [0, 50, 100, 150, 200]);
    assert.deepEqual(niceTicks(1.03, 3.2, 5), [1.5, 2, 2.5, 3]);
    assert.deepEqual(niceTicks(0.2, 0.2, 5), [0.2]);
  });

  it("puts log ticks on 1-2-5 steps, finer when the range is under a decade", () => {
    assert.deepEqual(logTicks(0.05, 12), [0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10]);
    assert.deepEqual(logTicks(1.03, 3.2), [1.5, 2, 3]);
  });

  it("draws a long series as at most two points (lowest and highest) per pixel column, in order", () => {
    const series: LossPoint[] = Array.from({ length: 10_000 }, (_, i) => [i + 1, 2 + Math.sin(i)]);
    const points = thin(series, { x: (i) => (i / 10_000) * 100, y: (v) => 100 - v * 10 }, 100);
    assert.ok(points.length <= 202, `${points.length} points`);
    const xs = points.map((p) => Number(p.split(",")[0]));
    assert.deepEqual(xs, [...xs].sort((a, b) => a - b), "left to right");
    const ys = points.map((p) => Number(p.split(",")[1]));
    assert.equal(Math.min(...ys), 70, "the highest loss (3) is kept");
    assert.equal(Math.max(...ys), 90, "the lowest loss (1) is kept");
    // A short series is drawn as it is.
    assert.deepEqual(thin([[1, 2], [2, 1]], { x: (i) => i, y: (v) => v }, 100), ["1,2", "2,1"]);
  });

  it("formats losses with the digits that matter", () => {
    assert.deepEqual([formatLoss(3.14159), formatLoss(0.123456), formatLoss(12.34), formatLoss(0.001234)], ["3.14", "0.123", "12.3", "1.2e-3"]);
  });
});
