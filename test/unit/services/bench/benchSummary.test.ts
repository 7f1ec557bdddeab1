// The benchmark's arithmetic: percentiles, a size's summary with the meter's figures beside it, CSV.
import assert from "node:assert/strict";
import { percentile, summarise } from "../../../../src/services/bench/BenchService";
import { benchCsv, type BenchRun, type BenchSample } from "../../../../src/shared/benchmarks";

const sample = (ttftMs: number, decode: number, meter?: { ttftMs: number; decodeTokensPerSecond: number }): BenchSample => ({ size: "1k", cold: false, promptTokens: 1000, completionTokens: 64, ttftMs, promptTokensPerSecond: 1000 / (ttftMs / 1000), decodeTokensPerSecond: decode, ...(meter === undefined ? {} : { meter }) });

describe("benchmark figures", () => {
  it("takes nearest-rank percentiles", () => {
    assert.equal(percentile([5, 1, 3, 2, 4], 50), 3);
    assert.equal(percentile([5, 1, 3, 2, 4], 95), 5);
    assert.equal(percentile([7], 95), 7);
    assert.ok(Number.isNaN(percentile([], 50)));
  });

  it("summarises a size's warm runs, with the meter's medians and client ÷ meter", () => {
    const s = summarise("1k", [sample(100, 50, { ttftMs: 98, decodeTokensPerSecond: 50.5 }), sample(120, 48, { ttftMs: 118, decodeTokensPerSecond: 48.2 }), sample(300, 40, { ttftMs: 296, decodeTokensPerSecond: 40.1 })]);
    assert.ok(s);
    assert.deepEqual([s.runs, s.ttftP50Ms, s.ttftP95Ms, s.decodeTokensPerSecond, s.promptTokens], [3, 120, 300, 48, 1000]);
    assert.equal(s.meter.ttftP50Ms, 118);
    assert.ok(Math.abs((s.meter.ttftRatio ?? 0) - 120 / 118) < 1e-9);
    assert.ok(Math.abs((s.meter.decodeRatio ?? 0) - 48 / 48.2) < 1e-9);
    assert.equal(summarise("1k", []), undefined);
  });

  it("compares decode speed with the meter only on the requests this client could time (not an answer sent in one burst)", () => {
    const { decodeTokensPerSecond: _untimed, ...burst } = sample(110, 0, { ttftMs: 108, decodeTokensPerSecond: 150_000 });
    const s = summarise("1k", [sample(100, 50, { ttftMs: 98, decodeTokensPerSecond: 50.5 }), burst, sample(120, 48, { ttftMs: 118, decodeTokensPerSecond: 48.2 })]);
    assert.ok(s);
    assert.equal(s.decodeTokensPerSecond, 48);
    assert.equal(s.meter.decodeTokensPerSecond, 48.2);
    assert.equal(s.meter.ttftP50Ms, 108);
  });

  it("writes a run as CSV, one line per profile and size, quoting what needs it", () => {
    const run: BenchRun = {
      id: "r1",
      state: "completed",
      settings: { sizes: ["1k"], runs: 3, maxTokens: 64, cold: true },
      profiles: ["a", "b,c"],
      createdAt: 0,
      results: [
        { profileId: "1", profileName: "a", engine: "llama", model: "test/x", loadMs: 1500, sizes: [summarise("1k", [sample(100, 50)])].filter((x) => x !== undefined), samples: [], peakMemoryBytes: 123456789 },
        { profileId: "2", profileName: "b,c", engine: "mlx-lm", model: "m", sizes: [], samples: [], error: 'said "no"' },
      ],
    };
    const lines = benchCsv(run).trim().split("\n");
    assert.equal(lines[0], "profile,engine,model,size,runs,prompt_tokens,ttft_p50_ms,ttft_p95_ms,prompt_tokens_per_s,decode_tokens_per_s,meter_ttft_p50_ms,meter_decode_tokens_per_s,load_ms,cold_ttft_ms,peak_memory_bytes,error");
    assert.equal(lines[1], "a,llama,test/x,1k,1,1000,100,100,10000,50,,,1500,,123456789,");
    assert.equal(lines[2], '"b,c",mlx-lm,m,,,,,,,,,,,,,"said ""no"""');
  });
});
