// What a health check means for a server (a pure function), and one check against a real HTTP server.
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { httpOkProbe } from "../../../../src/services/engines/healthProbe";
import {
  checkOnce,
  judgeHealth,
  type HealthCounters,
  type HealthLimits,
} from "../../../../src/services/servers/healthPolicy";

describe("health policy", () => {
  const limits: HealthLimits = { unhealthyAfterFailures: 2, unhealthyRestartMs: 60_000 };
  const failed = { ok: false as const, reason: "no answer within 3000 ms" };
  const passed = { ok: true as const, status: 200 };
  const server = (now: number, restartOnCrash = true) => ({ profileName: "tiny", restartOnCrash, now });

  it("marks a running server unhealthy after two failed checks in a row, not after one", () => {
    const first = judgeHealth(
      "running",
      { failures: 0, unhealthySince: undefined },
      failed,
      server(1000),
      limits,
    );
    assert.deepEqual(first, { verdict: { kind: "unchanged" }, failures: 1, unhealthySince: undefined });
    const second = judgeHealth("running", first, failed, server(6000), limits);
    assert.deepEqual(second, {
      verdict: {
        kind: "unhealthy",
        message: "Health check failed 2 times in a row: no answer within 3000 ms.",
        reason: "no answer within 3000 ms",
      },
      failures: 2,
      unhealthySince: 6000,
    });
  });

  it("a passing check resets the count, and brings an unhealthy server back", () => {
    assert.deepEqual(
      judgeHealth("running", { failures: 1, unhealthySince: undefined }, passed, server(0), limits),
      {
        verdict: { kind: "unchanged" },
        failures: 0,
        unhealthySince: undefined,
      },
    );
    assert.deepEqual(
      judgeHealth("unhealthy", { failures: 5, unhealthySince: 100 }, passed, server(200), limits),
      {
        verdict: { kind: "recovered" },
        failures: 0,
        unhealthySince: undefined,
      },
    );
  });

  it("restarts a server unhealthy for unhealthyRestartMs only when its profile restarts on crash", () => {
    const counters = { failures: 4, unhealthySince: 1000 };
    assert.equal(
      judgeHealth("unhealthy", counters, failed, server(60_999), limits).verdict.kind,
      "unchanged",
      "not yet a minute",
    );
    assert.deepEqual(judgeHealth("unhealthy", counters, failed, server(61_000), limits).verdict, {
      kind: "restart",
      message: "tiny was unhealthy for 1 minute (no answer within 3000 ms); it was stopped.",
    });
    assert.equal(
      judgeHealth("unhealthy", counters, failed, server(600_000, false), limits).verdict.kind,
      "unchanged",
      "a profile without restartOnCrash stays unhealthy",
    );
  });

  it("keeps a check in flight while the engine's health probe is out, so the next round skips it", async () => {
    const counters: HealthCounters = { failures: 0, inFlight: false, unhealthySince: undefined };
    const seenInFlight: boolean[] = [];
    const engine = http.createServer((request, response) => {
      seenInFlight.push(counters.inFlight);
      response.writeHead(request.url === "/health" ? 200 : 404).end();
    });
    await new Promise<void>((resolve) => engine.listen(0, "127.0.0.1", resolve));
    try {
      const base = `http://127.0.0.1:${(engine.address() as AddressInfo).port}`;
      assert.deepEqual(await checkOnce(counters, httpOkProbe("/health"), base, 2000), {
        ok: true,
        status: 200,
      });
      assert.deepEqual(seenInFlight, [true]);
      assert.equal(counters.inFlight, false);
      assert.deepEqual(await checkOnce(counters, httpOkProbe("/other"), base, 2000), {
        ok: false,
        status: 404,
        reason: "answered HTTP 404",
      });
    } finally {
      engine.close();
    }
  });
});
