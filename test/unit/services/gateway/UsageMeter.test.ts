// The usage meter: its rolling window, its formula, and its batched aggregates in a real store.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { decodeTokensPerSecond, UsageMeter, type UsageRecord } from "../../../../src/services/gateway/UsageMeter";
import { MemoryLogger } from "../../../../src/services/logging/Logger";
import { Store, type Statement } from "../../../../src/services/store/Store";
import { MIGRATIONS } from "../../../../src/services/store/migrations";

function record(fields: { [K in keyof UsageRecord]?: UsageRecord[K] | undefined } = {}): UsageRecord {
  const base: UsageRecord = {
    profileId: "p1",
    profileName: "One",
    endpoint: "chat.completions",
    stream: true,
    status: "ok",
    httpStatus: 200,
    startedAt: Date.UTC(2025, 0, 2, 12),
    durationMs: 100,
    startupMs: 0,
    tokenSource: "usage",
    promptTokens: 10,
    completionTokens: 21,
  };
  // undefined in `fields` removes the field.
  return Object.fromEntries(Object.entries({ ...base, ...fields }).filter(([, v]) => v !== undefined)) as unknown as UsageRecord;
}

describe("UsageMeter", () => {
  it("computes decode tokens/s as (tokens − 1) / (last − first), and nothing when it cannot", () => {
    assert.equal(decodeTokensPerSecond(21, 1000, 1100), 200);
    assert.equal(decodeTokensPerSecond(1, 1000, 1100), undefined, "one token has no decode interval");
    assert.equal(decodeTokensPerSecond(5, 1000, 1000), undefined, "all in one chunk");
    assert.equal(decodeTokensPerSecond(undefined, 1000, 1100), undefined);
    assert.equal(decodeTokensPerSecond(5, undefined, 1100), undefined);
  });

  it("keeps a rolling window per server: in flight, totals, last minute, last request, TTFT median", () => {
    let now = 1_000_000;
    const meter = new UsageMeter({ logger: new MemoryLogger(), windowSize: 3, now: () => now });
    meter.begin("p1", "One");
    meter.begin("p1", "One");
    assert.equal(meter.snapshot("p1")?.inFlight, 2);
    meter.record(record({ ttftMs: 50, tokensPerSecond: 100, completionTokens: 11 })); // 10 decode tokens in 0.1 s
    now += 30_000;
    meter.record(record({ ttftMs: 10, tokensPerSecond: 300, completionTokens: 31 })); // 30 in 0.1 s
    now += 20_000;
    meter.record(record({ status: "error", httpStatus: 502, completionTokens: undefined, promptTokens: undefined, tokenSource: "none" }));
    meter.record(record({ ttftMs: 20, status: "aborted", tokensPerSecond: undefined }));
    const s = meter.snapshot("p1");
    assert.ok(s);
    assert.equal(s.inFlight, 0);
    assert.deepEqual(s.total, { requests: 4, errors: 1, aborted: 1, promptTokens: 30, completionTokens: 63 });
    assert.equal(s.tokensPerSecondLastRequest, 300, "the latest request that had a rate");
    assert.equal(s.lastRequest?.status, "aborted");
    assert.equal(s.recent.length, 3, "window of 3");
    assert.equal(s.ttftP50Ms, 15, "median of 10 and 20 (50 left the window)");
    assert.equal(s.lastMinute.requests, 4);
    assert.equal(s.lastMinute.errors, 1);
    assert.equal(s.lastMinute.tokensPerSecond, 40 / 0.2, "Σ decode tokens / Σ decode time, not a mean of rates");

    now += 15_000; // the first request is now 65 s old
    const later = meter.snapshot("p1");
    assert.equal(later?.lastMinute.requests, 3);
    assert.equal(later.lastMinute.tokensPerSecond, 300);
    now += 120_000;
    assert.equal(meter.snapshot("p1")?.lastMinute.requests, 0);
    assert.equal(meter.snapshot("p1")?.lastMinute.tokensPerSecond, undefined);
    assert.equal(meter.snapshot("nope"), undefined);
    meter.record(record({ profileId: "p2", profileName: "Two" }));
    assert.deepEqual(meter.snapshotAll().map((x) => x.profileName), ["One", "Two"]);
    meter.close();
  });

  it("tells listeners about every record; a failing listener is logged, not fatal", () => {
    const logger = new MemoryLogger();
    const meter = new UsageMeter({ logger });
    const seen: string[] = [];
    meter.onRecord(() => {
      throw new Error("boom");
    });
    const off = meter.onRecord((r) => seen.push(r.profileId));
    meter.record(record());
    off();
    meter.record(record());
    assert.deepEqual(seen, ["p1"]);
    assert.ok(logger.lines.some((l) => l.level === "warn" && l.message.includes("listener")));
  });

  it("batches aggregates: one store batch per interval for all requests, summed per day, profile and user", async () => {
    const batches: Statement[][] = [];
    const meter = new UsageMeter({ logger: new MemoryLogger(), store: { batch: (s) => batches.push(s) }, flushIntervalMs: 50 });
    for (let i = 0; i < 100; i++) meter.record(record());
    meter.record(record({ userId: "ada" }));
    meter.record(record({ startedAt: Date.UTC(2025, 0, 3, 0, 0, 1) }));
    assert.equal(batches.length, 0, "nothing written per request");
    await new Promise((resolve) => setTimeout(resolve, 120));
    assert.equal(batches.length, 1);
    assert.equal(batches[0]?.length, 3, "three rows: two days, two users");
    assert.deepEqual(batches[0][0]?.params, ["2025-01-02", "p1", "", "One", 100, 0, 0, 1000, 2100, 10_000]);
    await new Promise((resolve) => setTimeout(resolve, 120));
    assert.equal(batches.length, 1, "no empty batches");
    meter.close();
  });

  it("keeps aggregates when the store fails and writes them on the next flush", () => {
    let fail = true;
    const batches: Statement[][] = [];
    const logger = new MemoryLogger();
    const meter = new UsageMeter({
      logger,
      store: {
        batch: (s) => {
          if (fail) throw new Error("disk full");
          batches.push(s);
        },
      },
      flushIntervalMs: 60_000,
    });
    meter.record(record());
    meter.flush();
    assert.ok(logger.lines.some((l) => l.message.includes("will retry")));
    fail = false;
    meter.record(record());
    meter.close();
    assert.equal(batches.length, 1);
    assert.equal(batches[0]?.[0]?.params?.[4], 2, "both requests in the retried row");
  });

  it("adds to the rows of migration 3 in a real store across flushes and reopenings", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "usage-meter-"));
    try {
      const { store } = await Store.open({ dir, logger: new MemoryLogger(), migrations: MIGRATIONS });
      assert.equal(store.schemaVersion, MIGRATIONS.at(-1)?.version);
      const meter = new UsageMeter({ logger: new MemoryLogger(), store, flushIntervalMs: 60_000 });
      meter.record(record());
      meter.flush();
      meter.record(record({ status: "error", durationMs: 50, profileName: "One renamed" }));
      meter.close();
      store.close();
      const reopened = (await Store.open({ dir, logger: new MemoryLogger() })).store;
      const rows = reopened.all("SELECT day, profile_id, user_id, profile_name, requests, errors, aborted, prompt_tokens, completion_tokens, duration_ms FROM usage_daily");
      assert.deepEqual(rows, [
        { day: "2025-01-02", profile_id: "p1", user_id: "", profile_name: "One renamed", requests: 2, errors: 1, aborted: 0, prompt_tokens: 20, completion_tokens: 42, duration_ms: 150 },
      ]);
      reopened.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
