// Load on the real manager process: 50 event-stream subscribers at once, and 10,000 metered
// requests through the /v1 gateway, with the store's files and the manager's memory measured.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import type { UsageList } from "../../src/shared/usage";
import { removeTempDir } from "../helpers/hfCache";
import { startManager, type RunningManager } from "../helpers/manager";
import { killGroups, pidsWithCommandLine } from "../helpers/servers";
import { MiB, fakeProfile, makeFixture, rssOf, type ReliabilityFixture } from "./helpers";

/** Reads `GET /api/events` as raw SSE, collecting the ids of profile events. */
function subscribe(url: string, token: string, signal: AbortSignal): { ids: number[]; errors: string[]; ready: Promise<void>; done: Promise<void> } {
  const ids: number[] = [];
  const errors: string[] = [];
  let onReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => { onReady = resolve; });
  const done = (async () => {
    try {
      const response = await fetch(`${url}/api/events`, { headers: { authorization: `Bearer ${token}`, accept: "text/event-stream" }, signal });
      if (response.status !== 200 || !response.body) {
        errors.push(`status ${response.status}`);
        onReady();
        return;
      }
      onReady();
      const decoder = new TextDecoder();
      let buffer = "";
      for await (const chunk of response.body) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        let end: number;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const event = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const id = /^id: (\d+)$/m.exec(event)?.[1];
          if (id !== undefined && /"type":"profile\./.test(event)) ids.push(Number(id));
        }
      }
    } catch (error) {
      if (!signal.aborted) errors.push(String(error));
    }
  })();
  return { ids, errors, ready, done };
}

function storeBytes(dataDir: string): number {
  return fs.readdirSync(dataDir).filter((f) => f.startsWith("store.")).reduce((sum, f) => sum + fs.statSync(path.join(dataDir, f)).size, 0);
}

describe("reliability: load on the real manager", function () {
  this.timeout(240_000);
  let fixture: ReliabilityFixture;
  let manager: RunningManager;

  before(async () => {
    fixture = await makeFixture("mlx-rel-load-");
    manager = await startManager({ dataDir: fixture.dataDir, hfCache: fixture.hfCache, env: fixture.env });
  });
  after(async () => {
    await manager.api("POST", "/api/servers/stop-all").catch(() => undefined);
    await manager.stop();
    killGroups(pidsWithCommandLine(fixture.root));
    removeTempDir(fixture.root);
  });

  it("50 event subscribers at once each get all 100 profile events, in order, with no error", async () => {
    const controller = new AbortController();
    const subscribers = Array.from({ length: 50 }, () => subscribe(manager.url, manager.token, controller.signal));
    await Promise.all(subscribers.map((s) => s.ready));
    const rssBefore = rssOf(manager.child.pid!) ?? 0;
    for (let i = 0; i < 50; i++) {
      const created = await manager.api("POST", "/api/profiles", fakeProfile(`sub-${i}`));
      assert.equal(created.status, 201, created.text);
      const id = (created.json as { id: string }).id;
      assert.equal((await manager.api("PATCH", `/api/profiles/${id}`, { version: 1, port: 21_000 + i })).status, 200);
    }
    const deadline = Date.now() + 20_000;
    while (subscribers.some((s) => s.ids.length < 100) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const rssAfter = rssOf(manager.child.pid!) ?? 0;
    controller.abort();
    await Promise.all(subscribers.map((s) => s.done));
    for (const [n, s] of subscribers.entries()) {
      assert.deepEqual(s.errors, [], `subscriber ${n}`);
      assert.equal(s.ids.length, 100, `subscriber ${n} got ${s.ids.length} of 100 events`);
      assert.deepEqual(s.ids, [...s.ids].sort((a, b) => a - b), `subscriber ${n}: in order`);
    }
    assert.ok(rssAfter - rssBefore < 64 * MiB, `manager RSS grew ${((rssAfter - rssBefore) / MiB).toFixed(1)} MiB`);
    process.stdout.write(`      figures: 50 subscribers × 100 events = 5,000 deliveries, 0 errors; manager RSS ${(rssBefore / MiB).toFixed(0)} → ${(rssAfter / MiB).toFixed(0)} MiB\n`);
  });

  it("200 concurrent streaming chats through the real manager: no error, every one metered, the manager's memory bounded", async () => {
    // 200 slots (llama-server's --parallel 200): the gateway sends a server at most its slots at once
    // and queues the rest, so this is what lets all 200 streams run together.
    assert.equal((await manager.api("POST", "/api/profiles", { ...fakeProfile("wide"), options: { env: { FAKE_LLAMA_INTERVAL_MS: "10" }, parallel: 200 } })).status, 201);
    assert.equal((await manager.api("POST", "/api/servers/wide/start")).status, 200);
    const rssBefore = rssOf(manager.child.pid!) ?? 0;
    let peak = rssBefore;
    const sampler = setInterval(() => { peak = Math.max(peak, rssOf(manager.child.pid!) ?? 0); }, 50);
    const body = JSON.stringify({ model: "wide", messages: [{ role: "user", content: "stream" }], max_tokens: 100, stream: true });
    const results = await Promise.all(Array.from({ length: 200 }, async () => {
      const res = await fetch(`${manager.url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${manager.token}`, "content-type": "application/json" }, body });
      const text = await res.text();
      return { status: res.status, tokens: (text.match(/"content":"tok\d+ "/g) ?? []).length, done: text.includes("data: [DONE]") };
    }));
    clearInterval(sampler);
    const bad = results.filter((r) => r.status !== 200 || r.tokens !== 100 || !r.done);
    const waits = ((await manager.api("GET", "/api/usage")).json as UsageList).servers.find((x) => x.profileName === "wide")?.recent.map((r) => r.queueMs ?? 0) ?? [];
    assert.ok(Math.max(...waits) < 1000, `no stream waited for a slot (longest wait ${Math.round(Math.max(...waits))} ms)`);
    assert.deepEqual(bad, [], "every stream complete");
    const usage = (await manager.api("GET", "/api/usage")).json as UsageList;
    assert.equal(usage.servers.find((x) => x.profileName === "wide")?.total.requests, 200, "every one metered");
    assert.ok(peak - rssBefore < 128 * MiB, `manager RSS peak +${((peak - rssBefore) / MiB).toFixed(1)} MiB`);
    process.stdout.write(`      figures: 200 streams × 100 tokens, 0 errors, 200 metered; manager RSS ${(rssBefore / MiB).toFixed(0)} MiB, peak ${(peak / MiB).toFixed(0)} MiB\n`);
    await manager.api("POST", "/api/servers/wide/stop");
  });

  it("10,000 metered requests through /v1: every one counted, the store and the memory do not grow with them", async () => {
    assert.equal((await manager.api("POST", "/api/profiles", fakeProfile("meter"))).status, 201);
    assert.equal((await manager.api("POST", "/api/servers/meter/start")).status, 200);
    const body = JSON.stringify({ model: "meter", messages: [{ role: "user", content: "count me" }], max_tokens: 2 });
    let failed = 0;
    let sent = 0;
    const run = async (count: number): Promise<void> => {
      const worker = async (): Promise<void> => {
        while (sent < count) {
          sent++;
          const res = await fetch(`${manager.url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${manager.token}`, "content-type": "application/json" }, body });
          await res.arrayBuffer();
          if (res.status !== 200) failed++;
        }
      };
      await Promise.all(Array.from({ length: 16 }, () => worker()));
    };
    await run(1000); // warm up
    await new Promise((r) => setTimeout(r, 5500)); // one usage batch written
    const storeAt1k = storeBytes(fixture.dataDir);
    const rssAt1k = rssOf(manager.child.pid!) ?? 0;
    const began = Date.now();
    await run(10_000);
    const seconds = (Date.now() - began) / 1000;
    await new Promise((r) => setTimeout(r, 5500));
    const storeAt10k = storeBytes(fixture.dataDir);
    const rssAt10k = rssOf(manager.child.pid!) ?? 0;
    assert.equal(failed, 0, "no request failed");
    const usage = (await manager.api("GET", "/api/usage")).json as UsageList;
    const meter = usage.servers.find((s) => s.profileName === "meter");
    assert.equal(meter?.total.requests, 10_000, "every request was counted");
    assert.equal(meter.total.completionTokens, 20_000);
    assert.ok(meter.recent.length <= 100, `the in-memory window is bounded (${meter.recent.length})`);
    // 9,000 more requests: the store holds daily aggregates, not rows per request.
    assert.ok(storeAt10k - storeAt1k < 256 * 1024, `store files grew ${storeAt10k - storeAt1k} bytes for 9,000 requests`);
    assert.ok(rssAt10k - rssAt1k < 48 * MiB, `manager RSS grew ${((rssAt10k - rssAt1k) / MiB).toFixed(1)} MiB for 9,000 requests`);
    process.stdout.write(`      figures: 10,000 requests (9,000 in ${seconds.toFixed(1)} s, ${(9000 / seconds).toFixed(0)}/s), 0 failed; store ${storeAt1k} → ${storeAt10k} bytes; RSS ${(rssAt1k / MiB).toFixed(0)} → ${(rssAt10k / MiB).toFixed(0)} MiB\n`);
  });
});
