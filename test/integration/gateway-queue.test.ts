// The gateway's per-server queue against paced fake engines over real HTTP (the queue's own
// timing, not the engine's, is under test): FIFO order, a wait that times out, a client that
// leaves while waiting, a full queue in the OpenAI and Anthropic shapes.
import assert from "node:assert/strict";
import OpenAI from "openai";
import { MemoryLogger } from "../../src/services/logging/Logger";
import { RequestQueues, type QueueLimits } from "../../src/services/gateway/RequestQueues";
import { UsageMeter } from "../../src/services/gateway/UsageMeter";
import { ENGINES } from "../../src/services/engines/registry";
import { FakeServerDirectory, FakeUpstream, fakeProfile, startGatewayApp, type GatewayApp } from "../helpers/upstreams";
import { assertOverloaded } from "../helpers/overloaded";

describe("gateway request queues (paced fake engine)", function () {
  this.timeout(30_000);
  let upstream: FakeUpstream;
  let gateway: GatewayApp;
  let queues: RequestQueues;
  let meter: UsageMeter;
  const limits: QueueLimits = { maxLength: 512, timeoutMs: 10_000 };
  const profile = fakeProfile("p-q", "slow");

  before(async () => {
    // 40 tokens, 25 ms apart: each answer takes about a second.
    upstream = await FakeUpstream.start({ pace: "paced", intervalMs: 25, tokens: 40, usage: "separate" });
    queues = new RequestQueues(() => limits);
    meter = new UsageMeter({ logger: new MemoryLogger() });
    gateway = await startGatewayApp({ directory: new FakeServerDirectory([{ profile, url: upstream.url }]), meter, logger: new MemoryLogger(), engines: ENGINES, queues });
  });

  after(async () => {
    await gateway.close();
    await upstream.close();
    meter.close();
  });

  const openai = (): OpenAI => new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: gateway.token, maxRetries: 0 });
  /** A streamed chat read to its end (the paced engine paces streams only). */
  const streamed = async (client: OpenAI, content: string, signal?: AbortSignal): Promise<void> => {
    const stream = await client.chat.completions.create({ model: "slow", messages: [{ role: "user", content }], stream: true }, signal === undefined ? {} : { signal });
    let chunks = 0;
    for await (const chunk of stream) chunks += chunk.choices.length;
    assert.ok(chunks > 0);
  };
  const until = async (check: () => boolean): Promise<void> => {
    while (!check()) await new Promise((resolve) => setTimeout(resolve, 5));
  };

  it("one slot: requests reach the engine one at a time, in the order they arrived; each one's wait is metered apart from its TTFT", async () => {
    const client = openai();
    const done: number[] = [];
    const sent: Promise<void>[] = [];
    for (let i = 0; i < 4; i++) {
      sent.push(streamed(client, `request ${i}`).then(() => void done.push(i)));
      // The next one is sent once this one holds the slot or waits behind the others.
      await until(() => (queues.depth(profile.id)?.active ?? 0) + (queues.depth(profile.id)?.waiting ?? 0) === i + 1);
    }
    assert.deepEqual(queues.depth(profile.id), { active: 1, waiting: 3, arriving: 0, slots: 1 });
    await Promise.all(sent);
    assert.deepEqual(done, [0, 1, 2, 3]);
    const order = upstream.requests.slice(-4).map((r) => ((r.json as { messages: { content: string }[] }).messages[0]?.content ?? ""));
    assert.deepEqual(order, ["request 0", "request 1", "request 2", "request 3"]);
    const waits = meter.snapshot(profile.id)?.recent.slice(-4).map((r) => r.queueMs ?? -1) ?? [];
    assert.ok(waits[0]! < 50 && waits[3]! > waits[1]! && waits[1]! > 500, `waits ${waits.join(", ")}`);
  });

  it("a wait past the queue timeout is a 503 with Retry-After; a client that leaves while waiting frees its place; a full queue is 503 (529 overloaded_error on /v1/messages)", async () => {
    limits.timeoutMs = 300;
    const client = openai();
    const first = streamed(client, "holds the slot");
    await until(() => queues.depth(profile.id)?.active === 1);
    const started = performance.now();
    await assert.rejects(streamed(client, "waits"), (e: unknown) => {
      assert.ok(e instanceof OpenAI.APIError);
      assert.equal(e.status, 503);
      assert.equal(e.code, "queue_timeout");
      assert.ok((e.headers as Headers | undefined)?.get("retry-after"));
      return true;
    });
    assert.ok(performance.now() - started >= 290);

    limits.timeoutMs = 10_000;
    const leaving = new AbortController();
    const left = streamed(client, "leaves", leaving.signal);
    await until(() => queues.depth(profile.id)?.waiting === 1);
    leaving.abort();
    await assert.rejects(left);
    await until(() => queues.depth(profile.id)?.waiting === 0);

    limits.maxLength = 0;
    const full = await fetch(`${gateway.url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${gateway.token}`, "content-type": "application/json" }, body: JSON.stringify({ model: "slow", messages: [{ role: "user", content: "full" }] }) });
    assert.equal(full.status, 503);
    assert.equal(full.headers.get("retry-after"), "1");
    assert.equal(((await full.json()) as { error: { code: string } }).error.code, "queue_full");
    await assertOverloaded(gateway.url, gateway.token, "slow");
    limits.maxLength = 512;
    await first;
    assert.equal(upstream.requests.filter((r) => JSON.stringify(r.json).includes('"leaves"')).length, 0, "the request that left never reached the engine");
  });
});
