// The /v1 gateway over real HTTP: the official openai client → a Fastify app built like the
// manager's (bearer hook + registerGatewayRoutes) → real upstreams (fake paced/fast servers, and
// the built-in llama engine as a child process on a tiny GGUF).
/* eslint-disable @typescript-eslint/no-deprecated -- OpenAI's types deprecate max_tokens; clients still send it */
import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import OpenAI, { toFile } from "openai";
import { createApiServer } from "../../src/services/api/server";
import { ENGINES } from "../../src/services/engines/registry";
import { EventBus } from "../../src/services/events/EventBus";
import { registerGatewayRoutes } from "../../src/services/gateway/gatewayRoutes";
import { MemoryLogger } from "../../src/services/logging/Logger";
import { ProfileService } from "../../src/services/profiles/ProfileService";
import { UsageMeter, type UsageRecord } from "../../src/services/gateway/UsageMeter";
import { Store } from "../../src/services/store/Store";
import { ensureLlamaEngineBuilt, ensureLlamaModuleInstalled, freePort, LlamaEngineProcess } from "../helpers/llamaEngine";
import { writeTinyGguf } from "../helpers/tinyGguf";
import {
  FakeServerDirectory,
  FakeUpstream,
  fakeProfile,
  PROMPT_TOKENS,
  startGatewayApp,
  type GatewayApp,
} from "../helpers/upstreams";

interface Rig {
  gateway: GatewayApp;
  directory: FakeServerDirectory;
  meter: UsageMeter;
  records: UsageRecord[];
  client: OpenAI;
}

/** Posts JSON to the gateway with the token and returns status, headers and body text. */
function post(rig: Rig, route: string, body: string | object, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${rig.gateway.url}${route}`, {
      method: "POST",
      headers: { authorization: `Bearer ${rig.gateway.token}`, "content-type": "application/json", ...headers },
      agent: false,
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8"), headers: res.headers });
      });
    });
    req.on("error", reject);
    req.end(typeof body === "string" ? body : JSON.stringify(body));
  });
}

/** The next record the meter gets. */
function nextRecord(meter: UsageMeter): Promise<UsageRecord> {
  return new Promise((resolve) => {
    const off = meter.onRecord((record) => {
      off();
      resolve(record);
    });
  });
}

function chunkStamps(chunks: readonly object[]): number[] {
  return chunks.flatMap((c) => {
    const sent = (c as { sent_at?: unknown }).sent_at;
    return typeof sent === "number" ? [sent] : [];
  });
}

describe("/v1 gateway (real HTTP, fake upstreams)", function () {
  this.timeout(20_000);
  let paced: FakeUpstream;
  let finalShape: FakeUpstream;
  let noUsage: FakeUpstream;
  let failing: FakeUpstream;
  let coldUpstream: FakeUpstream | undefined;
  let rig: Rig;
  const deadPort = { value: 0 };

  before(async () => {
    paced = await FakeUpstream.start({ pace: "paced", intervalMs: 5, tokens: 40, usage: "separate" });
    finalShape = await FakeUpstream.start({ pace: "paced", intervalMs: 5, tokens: 12, usage: "final" });
    noUsage = await FakeUpstream.start({ pace: "paced", intervalMs: 5, tokens: 9, usage: "none" });
    failing = await FakeUpstream.start({ pace: "paced", fail: { status: 422, body: JSON.stringify({ detail: "max_tokens must be positive" }) } });
    deadPort.value = await freePort();
    const directory = new FakeServerDirectory([
      { profile: fakeProfile("p-paced", "Paced", "mlx-lm"), url: paced.url, upstreamModel: "mlx-community/Paced-4bit" },
      { profile: fakeProfile("p-final", "Final", "mlx-openai-server"), url: finalShape.url },
      { profile: fakeProfile("p-none", "NoUsage", "llama-server"), url: noUsage.url },
      { profile: fakeProfile("p-fail", "Failing", "mlx-openai-server"), url: failing.url },
      { profile: fakeProfile("p-dead", "Dead"), url: `http://127.0.0.1:${deadPort.value}` },
      {
        profile: fakeProfile("p-cold", "Cold"),
        start: async () => {
          await new Promise((resolve) => setTimeout(resolve, 50));
          coldUpstream = await FakeUpstream.start({ pace: "paced", intervalMs: 2, tokens: 5 });
          return coldUpstream.url;
        },
      },
      {
        profile: fakeProfile("p-slow", "SlowStart"),
        start: (signal) =>
          new Promise((_resolve, reject) => {
            signal.addEventListener("abort", () => {
              reject(new Error("start aborted"));
            });
          }),
      },
      { profile: fakeProfile("p-broken", "Broken") },
    ]);
    const meter = new UsageMeter({ logger: new MemoryLogger() });
    const records: UsageRecord[] = [];
    meter.onRecord((r) => records.push(r));
    const gateway = await startGatewayApp({ directory, meter, logger: new MemoryLogger(), profiles: { list: () => directory.list().map((s) => fakeProfile(s.profileId, s.profileName, s.engine)) } });
    rig = { gateway, directory, meter, records, client: new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: gateway.token, maxRetries: 0 }) };
  });

  after(async () => {
    await rig.gateway.close();
    rig.meter.close();
    await Promise.all([paced.close(), finalShape.close(), noUsage.close(), failing.close(), coldUpstream?.close()]);
  });

  it("lists every profile on /v1/models in OpenAI's list shape, with its server state", async () => {
    const models = await rig.client.models.list();
    const byId = new Map(models.data.map((m) => [m.id, m as unknown as { object: string; owned_by: string; state: string; engine: string }]));
    assert.ok(byId.has("Paced") && byId.has("Cold"));
    assert.equal(byId.get("Paced")?.object, "model");
    assert.equal(byId.get("Paced")?.state, "running");
    assert.equal(byId.get("Paced")?.engine, "mlx-lm");
    assert.equal(byId.get("SlowStart")?.state, "stopped");
    const one = await rig.client.models.retrieve("paced");
    assert.equal(one.id, "Paced");
  });

  it("relays a non-streamed chat answer, sends the profile's model upstream, and meters its usage", async () => {
    const recorded = nextRecord(rig.meter);
    const answer = await rig.client.chat.completions.create({ model: "Paced", messages: [{ role: "user", content: "hi" }], max_tokens: 6 });
    assert.equal(answer.choices[0]?.message.content, "t0 t1 t2 t3 t4 t5");
    assert.deepEqual(answer.usage, { prompt_tokens: PROMPT_TOKENS, completion_tokens: 6, total_tokens: PROMPT_TOKENS + 6 });
    const upstreamBody = paced.requests.at(-1)?.json as { model: string; stream_options?: unknown; messages: unknown };
    assert.equal(upstreamBody.model, "mlx-community/Paced-4bit", "the engine's own model name goes upstream, never the client's");
    assert.equal(upstreamBody.stream_options, undefined, "no stream_options on a non-streamed request");
    assert.deepEqual(upstreamBody.messages, [{ role: "user", content: "hi" }], "everything else passes through");
    assert.equal(paced.requests.at(-1)?.headers.authorization, undefined, "the manager's token never goes upstream");
    const record = await recorded;
    assert.equal(record.status, "ok");
    assert.equal(record.stream, false);
    assert.equal(record.promptTokens, PROMPT_TOKENS);
    assert.equal(record.completionTokens, 6);
    assert.equal(record.tokenSource, "usage");
    assert.equal(record.ttftMs, undefined);
  });

  it("streams chunk by chunk with usage when asked, and measures TTFT and decode tokens/s (≈200/s at one chunk per 5 ms)", async () => {
    const recorded = nextRecord(rig.meter);
    const stream = await rig.client.chat.completions.create({ model: "Paced", messages: [{ role: "user", content: "count" }], stream: true, stream_options: { include_usage: true } });
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    const arrivals: number[] = [];
    for await (const chunk of stream) {
      chunks.push(chunk);
      arrivals.push(performance.now());
    }
    const usageChunk = chunks.at(-1);
    assert.deepEqual(usageChunk?.choices, [], "the usage-only chunk reaches a client that asked for it");
    assert.equal(usageChunk.usage?.completion_tokens, 40);
    const contentChunks = chunks.filter((c) => (c.choices[0]?.delta.content ?? "") !== "");
    assert.equal(contentChunks.length, 40);
    // Streamed, not buffered: the content chunks arrived spread over ~195 ms, not at once.
    const firstContent = arrivals[chunks.indexOf(contentChunks[0]!)]!;
    const lastContent = arrivals[chunks.indexOf(contentChunks.at(-1)!)]!;
    assert.ok(lastContent - firstContent > 150, `content spread over ${(lastContent - firstContent).toFixed(1)} ms`);

    const record = await recorded;
    const stamps = chunkStamps(contentChunks);
    const expected = (40 - 1) / ((stamps.at(-1)! - stamps[0]!) / 1000);
    assert.equal(record.stream, true);
    assert.equal(record.completionTokens, 40);
    assert.equal(record.promptTokens, PROMPT_TOKENS);
    assert.ok(record.tokensPerSecond !== undefined);
    assert.ok(Math.abs(record.tokensPerSecond - expected) / expected < 0.1, `metered ${record.tokensPerSecond.toFixed(1)} tokens/s vs ${expected.toFixed(1)} from the upstream's stamps`);
    assert.ok(record.tokensPerSecond > 150 && record.tokensPerSecond < 230, `${record.tokensPerSecond.toFixed(1)} tokens/s`);
    assert.ok(record.ttftMs !== undefined && record.ttftMs >= 4 && record.ttftMs < 100, `ttft ${record.ttftMs} ms (first token is sent after 5 ms)`);

    const snapshot = rig.meter.snapshot("p-paced");
    assert.ok(snapshot);
    assert.equal(snapshot.tokensPerSecondLastRequest, record.tokensPerSecond);
    assert.ok(snapshot.ttftP50Ms !== undefined);
    assert.ok((snapshot.lastMinute.tokensPerSecond ?? 0) > 150);
    assert.equal(snapshot.inFlight, 0);
  });

  it("always asks upstream for usage, but a client that did not ask never sees the usage chunk", async () => {
    const recorded = nextRecord(rig.meter);
    const stream = await rig.client.chat.completions.create({ model: "Paced", messages: [{ role: "user", content: "count" }], stream: true, max_tokens: 10 });
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    const upstreamBody = paced.requests.at(-1)?.json as { stream_options?: { include_usage?: boolean } };
    assert.deepEqual(upstreamBody.stream_options, { include_usage: true });
    assert.ok(chunks.every((c) => c.choices.length === 1 && c.usage == null), "no usage chunk relayed");
    assert.equal(chunks.at(-1)?.choices[0]?.finish_reason, "length");
    const record = await recorded;
    assert.equal(record.completionTokens, 10);
    assert.equal(record.tokenSource, "usage", "the meter still got the upstream's usage");
  });

  it("reads usage from the last chunk (mlx-openai-server's shape) and relays that chunk", async () => {
    const recorded = nextRecord(rig.meter);
    const stream = await rig.client.chat.completions.create({ model: "final", messages: [{ role: "user", content: "x" }], stream: true });
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    assert.equal(chunks.at(-1)?.choices[0]?.finish_reason, "length");
    assert.equal(chunks.at(-1)?.usage?.completion_tokens, 12, "a chunk with choices is never dropped");
    const record = await recorded;
    assert.equal(record.completionTokens, 12);
    assert.equal(record.tokenSource, "usage");
    assert.ok(record.tokensPerSecond !== undefined && record.tokensPerSecond > 120 && record.tokensPerSecond < 260, `${record.tokensPerSecond}`);
  });

  it("counts content deltas when the upstream reports no usage", async () => {
    const recorded = nextRecord(rig.meter);
    const stream = await rig.client.chat.completions.create({ model: "NoUsage", messages: [{ role: "user", content: "x" }], stream: true });
    for await (const _chunk of stream) {
      // drain
    }
    const record = await recorded;
    assert.equal(record.completionTokens, 9);
    assert.equal(record.tokenSource, "counted");
    assert.equal(record.promptTokens, undefined);
  });

  it("streams /v1/completions (text deltas) with the same metering", async () => {
    const recorded = nextRecord(rig.meter);
    const stream = await rig.client.completions.create({ model: "Paced", prompt: "Once", stream: true, max_tokens: 8 });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.text ?? "";
    assert.equal(text, "t0 t1 t2 t3 t4 t5 t6 t7 ");
    const record = await recorded;
    assert.equal(record.endpoint, "completions");
    assert.equal(record.completionTokens, 8);
    assert.ok(record.ttftMs !== undefined && record.tokensPerSecond !== undefined);
  });

  it("relays embeddings and meters their prompt tokens", async () => {
    const recorded = nextRecord(rig.meter);
    const answer = await rig.client.embeddings.create({ model: "Paced", input: "hello", encoding_format: "float" });
    assert.deepEqual(answer.data[0]?.embedding, [0.1, 0.2, 0.3]);
    const record = await recorded;
    assert.equal(record.endpoint, "embeddings");
    assert.equal(record.promptTokens, 5);
  });

  it("passes /v1/images/generations through (a large answer, untouched)", async () => {
    const answer = await rig.client.images.generate({ model: "Paced", prompt: "a cat" });
    assert.equal(answer.data?.[0]?.b64_json?.length, 400_000);
    assert.equal((paced.requests.at(-1)?.json as { model: string }).model, "mlx-community/Paced-4bit");
  });

  it("streams a multipart upload to /v1/audio/transcriptions, replacing only the model field", async () => {
    const audio = Buffer.alloc(3 * 1024 * 1024, 1);
    audio.write("RIFF", 0);
    const answer = await rig.client.audio.transcriptions.create({ file: await toFile(audio, "speech.wav", { type: "audio/wav" }), model: "Paced" });
    assert.equal(answer.text, "hello from the fake whisper");
    const received = paced.requests.at(-1);
    assert.ok(received);
    assert.equal(received.path, "/v1/audio/transcriptions");
    const raw = received.raw.toString("latin1");
    assert.match(raw, /name="model"\r\n\r\nmlx-community\/Paced-4bit\r\n--/);
    assert.ok(received.raw.includes(audio), "the file arrives byte for byte");
    assert.equal(Number(received.headers["content-length"]), received.raw.length, "content-length adjusted to the new model value");
  });

  it("answers an unknown model with 404 in OpenAI's error shape", async () => {
    const answer = await post(rig, "/v1/chat/completions", { model: "nope", messages: [] });
    assert.equal(answer.status, 404);
    const body = JSON.parse(answer.body) as { error: { message: string; type: string; param: string; code: string } };
    assert.equal(body.error.type, "invalid_request_error");
    assert.equal(body.error.param, "model");
    assert.equal(body.error.code, "model_not_found");
    assert.match(body.error.message, /"nope" does not exist/);
    await assert.rejects(rig.client.chat.completions.create({ model: "nope", messages: [{ role: "user", content: "x" }] }), (error: unknown) => error instanceof OpenAI.NotFoundError && error.code === "model_not_found");
  });

  it("answers malformed JSON, a body without model and an unknown route with 400/404 in OpenAI's shape", async () => {
    const bad = await post(rig, "/v1/chat/completions", '{"model": "Paced", "messages": [');
    assert.equal(bad.status, 400);
    const badBody = JSON.parse(bad.body) as { error: { type: string; code: string; param: null } };
    assert.equal(badBody.error.type, "invalid_request_error");
    assert.equal(badBody.error.code, "invalid_json");
    assert.equal(badBody.error.param, null);
    const noModel = await post(rig, "/v1/chat/completions", { messages: [] });
    assert.equal(noModel.status, 400);
    assert.equal((JSON.parse(noModel.body) as { error: { param: string } }).error.param, "model");
    const array = await post(rig, "/v1/chat/completions", "[1,2]");
    assert.equal(array.status, 400);
    const route = await post(rig, "/v1/assistants", { model: "Paced" });
    assert.equal(route.status, 404);
    assert.equal((JSON.parse(route.body) as { error: { code: string } }).error.code, "unknown_url");
  });

  it("refuses a JSON body over 2 MiB with 413 in OpenAI's shape", async () => {
    const answer = await post(rig, "/v1/chat/completions", { model: "Paced", messages: [{ role: "user", content: "x".repeat(2 * 1024 * 1024) }] });
    assert.equal(answer.status, 413);
    assert.equal((JSON.parse(answer.body) as { error: { code: string } }).error.code, "payload_too_large");
  });

  it("starts a stopped profile just in time, then forwards", async () => {
    const recorded = nextRecord(rig.meter);
    assert.equal(rig.directory.isRunning("p-cold"), false);
    const answer = await rig.client.chat.completions.create({ model: "Cold", messages: [{ role: "user", content: "wake up" }] });
    assert.equal(answer.usage?.completion_tokens, 5);
    assert.deepEqual(rig.directory.starts, ["p-cold"]);
    assert.equal(coldUpstream?.requests.length, 1);
    const record = await recorded;
    assert.ok(record.startupMs >= 40, `startup ${record.startupMs} ms`);
    await rig.client.chat.completions.create({ model: "Cold", messages: [{ role: "user", content: "again" }] });
    assert.deepEqual(rig.directory.starts, ["p-cold"], "started once");
  });

  it("notes activity at the start and the end of a request", async () => {
    rig.directory.activity.length = 0;
    await rig.client.chat.completions.create({ model: "Paced", messages: [{ role: "user", content: "x" }], max_tokens: 1 });
    assert.deepEqual(rig.directory.activity, ["p-paced", "p-paced"]);
  });

  it("says why when a profile cannot start (OpenAI shape, the supervisor's status and message)", async () => {
    const answer = await post(rig, "/v1/chat/completions", { model: "Broken", messages: [] });
    assert.equal(answer.status, 503);
    const body = JSON.parse(answer.body) as { error: { type: string; message: string; code: string } };
    assert.equal(body.error.type, "server_error");
    assert.equal(body.error.code, "unavailable");
    assert.match(body.error.message, /failed to start/);
  });

  it("aborts the just-in-time start when the client leaves while waiting", async () => {
    const recorded = nextRecord(rig.meter);
    const req = http.request(`${rig.gateway.url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${rig.gateway.token}`, "content-type": "application/json" }, agent: false });
    req.on("error", () => undefined);
    req.end(JSON.stringify({ model: "SlowStart", messages: [] }));
    await new Promise((resolve) => setTimeout(resolve, 100));
    req.destroy();
    const record = await recorded;
    assert.equal(record.status, "aborted");
    assert.equal(record.profileId, "p-slow");
  });

  it("aborts the upstream request at once when the client disconnects mid-stream", async () => {
    const long = await FakeUpstream.start({ pace: "paced", intervalMs: 5, tokens: 2000 });
    const directory = new FakeServerDirectory([{ profile: fakeProfile("p-long", "Long"), url: long.url }]);
    const meter = new UsageMeter({ logger: new MemoryLogger() });
    const gateway = await startGatewayApp({ directory, meter, logger: new MemoryLogger() });
    try {
      const recorded = nextRecord(meter);
      let hungUpAt = 0;
      await new Promise<void>((resolve, reject) => {
        const req = http.request(`${gateway.url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${gateway.token}`, "content-type": "application/json" }, agent: false }, (res) => {
          let events = 0;
          res.on("data", (chunk: Buffer) => {
            events += chunk.toString("utf8").split("data:").length - 1;
            if (events >= 4 && hungUpAt === 0) {
              hungUpAt = performance.now();
              req.destroy();
              resolve();
            }
          });
        });
        req.on("error", (error) => {
          if (hungUpAt === 0) reject(error);
        });
        req.end(JSON.stringify({ model: "Long", messages: [{ role: "user", content: "go" }], stream: true }));
      });
      await long.waitFor((requests) => requests[0]?.closedEarly === true, 1000);
      const noticedAfter = performance.now() - hungUpAt;
      const sent = long.requests[0]?.chunksSent ?? 0;
      assert.ok(sent < 40, `the upstream stopped after ${sent} of 2000 chunks (noticed ${noticedAfter.toFixed(1)} ms after the hang-up)`);
      const record = await recorded;
      assert.equal(record.status, "aborted");
      assert.equal(record.httpStatus, 200);
      assert.equal(meter.snapshot("p-long")?.total.aborted, 1);
    } finally {
      await gateway.close();
      meter.close();
      await long.close();
    }
  });

  it("answers 502 in OpenAI's shape, naming the profile, when the upstream is down", async () => {
    const recorded = nextRecord(rig.meter);
    const answer = await post(rig, "/v1/chat/completions", { model: "Dead", messages: [{ role: "user", content: "x" }] });
    assert.equal(answer.status, 502);
    const body = JSON.parse(answer.body) as { error: { message: string; type: string; code: string; param: null } };
    assert.equal(body.error.type, "server_error");
    assert.equal(body.error.code, "upstream_unreachable");
    assert.equal(body.error.param, null);
    assert.match(body.error.message, /profile "Dead" \(llama at http:\/\/127\.0\.0\.1:\d+\) is not answering \(.*ECONNREFUSED/);
    const record = await recorded;
    assert.equal(record.status, "error");
    assert.equal(record.httpStatus, 502);
  });

  it("answers 504 in OpenAI's shape when the upstream stays silent past the idle limit", async () => {
    const silent = await FakeUpstream.start({ pace: "paced", headerDelayMs: 2000 });
    const directory = new FakeServerDirectory([{ profile: fakeProfile("p-silent", "Silent"), url: silent.url }]);
    const meter = new UsageMeter({ logger: new MemoryLogger() });
    const gateway = await startGatewayApp({ directory, meter, logger: new MemoryLogger(), limits: { upstreamIdleMs: 200 } });
    try {
      const started = performance.now();
      const answer = await post({ ...rig, gateway }, "/v1/chat/completions", { model: "Silent", messages: [] });
      assert.equal(answer.status, 504);
      assert.equal((JSON.parse(answer.body) as { error: { code: string } }).error.code, "upstream_timeout");
      assert.ok(performance.now() - started < 1500, "not waiting for the upstream");
      await silent.waitFor((requests) => requests[0]?.closedEarly === true);
    } finally {
      await gateway.close();
      meter.close();
      await silent.close();
    }
  });

  it("turns an upstream error in another shape (FastAPI's detail) into OpenAI's, keeping the status", async () => {
    const answer = await post(rig, "/v1/chat/completions", { model: "Failing", messages: [] });
    assert.equal(answer.status, 422);
    const body = JSON.parse(answer.body) as { error: { message: string; type: string } };
    assert.equal(body.error.type, "invalid_request_error");
    assert.match(body.error.message, /answered HTTP 422: max_tokens must be positive/);
  });

  it("keeps the manager's token check on /v1 (no token: 401)", async () => {
    const noToken = new OpenAI({ baseURL: `${rig.gateway.url}/v1`, apiKey: "wrong", maxRetries: 0 });
    await assert.rejects(noToken.models.list(), (error: unknown) => error instanceof OpenAI.AuthenticationError);
  });

  it("relays 200 concurrent streams with no error and every one metered", async () => {
    const before = rig.records.length;
    const results = await Promise.allSettled(
      Array.from({ length: 200 }, async () => {
        const stream = await rig.client.chat.completions.create({ model: "Paced", messages: [{ role: "user", content: "x" }], stream: true, max_tokens: 10 });
        let n = 0;
        for await (const chunk of stream) if ((chunk.choices[0]?.delta.content ?? "") !== "") n++;
        return n;
      }),
    );
    const failures = results.filter((r) => r.status === "rejected");
    assert.equal(failures.length, 0, String(failures[0]?.reason));
    assert.ok(results.every((r) => r.status === "fulfilled" && r.value === 10));
    const mine = rig.records.slice(before);
    assert.equal(mine.length, 200);
    assert.ok(mine.every((r) => r.status === "ok" && r.completionTokens === 10));
  });
});

describe("/v1 gateway authorize hook (shared mode)", () => {
  it("refuses with 401 in OpenAI's shape when authorize says no, and records the user when it says yes", async () => {
    const upstream = await FakeUpstream.start({ pace: "paced", intervalMs: 1, tokens: 3 });
    const directory = new FakeServerDirectory([{ profile: fakeProfile("p1", "One"), url: upstream.url }]);
    const meter = new UsageMeter({ logger: new MemoryLogger() });
    const gateway = await startGatewayApp({
      directory,
      meter,
      logger: new MemoryLogger(),
      authorize: async (request) => (request.headers["x-user"] === "ada" ? { userId: "ada" } : undefined),
    });
    try {
      const denied = await new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: gateway.token, maxRetries: 0 }).chat.completions
        .create({ model: "One", messages: [{ role: "user", content: "x" }] })
        .then(() => undefined, (error: unknown) => error);
      assert.ok(denied instanceof OpenAI.AuthenticationError);
      assert.equal(denied.code, "invalid_api_key");
      assert.equal(denied.type, "invalid_request_error");
      const recorded = nextRecord(meter);
      const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: gateway.token, maxRetries: 0, defaultHeaders: { "x-user": "ada" } });
      await client.chat.completions.create({ model: "One", messages: [{ role: "user", content: "x" }] });
      assert.equal((await recorded).userId, "ada");
    } finally {
      await gateway.close();
      meter.close();
      await upstream.close();
    }
  });
});

describe("/v1 gateway usage aggregates in the store", () => {
  it("writes per-day aggregates in one batch after the interval, not once per request, and flushes on close", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gateway-usage-"));
    const upstream = await FakeUpstream.start({ pace: "paced", intervalMs: 1, tokens: 4 });
    const { store } = await Store.open({ dir, logger: new MemoryLogger() });
    const batches: number[] = [];
    const countingStore = {
      batch: (statements: Parameters<Store["batch"]>[0]) => {
        batches.push(statements.length);
        store.batch(statements);
      },
    };
    const meter = new UsageMeter({ logger: new MemoryLogger(), store: countingStore, flushIntervalMs: 400 });
    const directory = new FakeServerDirectory([
      { profile: fakeProfile("p-a", "Alpha"), url: upstream.url },
      { profile: fakeProfile("p-b", "Beta"), url: upstream.url },
      { profile: fakeProfile("p-dead", "Dead"), url: `http://127.0.0.1:${await freePort()}` },
    ]);
    const gateway = await startGatewayApp({ directory, meter, logger: new MemoryLogger() });
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: gateway.token, maxRetries: 0 });
    try {
      for (let i = 0; i < 3; i++) await client.chat.completions.create({ model: "Alpha", messages: [{ role: "user", content: "x" }] });
      const stream = await client.chat.completions.create({ model: "Beta", messages: [{ role: "user", content: "x" }], stream: true });
      for await (const _chunk of stream) {
        // drain
      }
      await client.chat.completions.create({ model: "Dead", messages: [{ role: "user", content: "x" }] }).catch(() => undefined);
      assert.deepEqual(store.all("SELECT * FROM usage_daily"), [], "nothing written per request");
      await new Promise((resolve) => setTimeout(resolve, 600));
      assert.equal(batches.length, 1, "one batch for all five requests");
      const rows = store.all<{ day: string; profile_id: string; user_id: string; profile_name: string; requests: number; errors: number; prompt_tokens: number; completion_tokens: number; duration_ms: number }>(
        "SELECT * FROM usage_daily ORDER BY profile_id",
      );
      const today = new Date().toISOString().slice(0, 10);
      assert.deepEqual(
        rows.map((r) => [r.day, r.profile_id, r.user_id, r.profile_name, r.requests, r.errors, r.prompt_tokens, r.completion_tokens]),
        [
          [today, "p-a", "", "Alpha", 3, 0, 3 * PROMPT_TOKENS, 12],
          [today, "p-b", "", "Beta", 1, 0, PROMPT_TOKENS, 4],
          [today, "p-dead", "", "Dead", 1, 1, 0, 0],
        ],
      );
      assert.ok(rows.every((r) => r.duration_ms >= 0));
      await client.chat.completions.create({ model: "Alpha", messages: [{ role: "user", content: "x" }] });
      meter.close();
      assert.equal(store.get<{ requests: number }>("SELECT requests FROM usage_daily WHERE profile_id = 'p-a'")?.requests, 4, "close() flushes what is queued");
    } finally {
      await gateway.close();
      meter.close();
      store.close();
      await upstream.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("/v1 gateway mounted on the manager's API server (createApiServer + extraRoutes)", () => {
  it("serves /v1 in OpenAI's shapes next to /api in the manager's, behind the same token", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gateway-api-"));
    const upstream = await FakeUpstream.start({ pace: "paced", intervalMs: 1, tokens: 3 });
    const { store } = await Store.open({ dir, logger: new MemoryLogger() });
    const events = new EventBus();
    const profiles = new ProfileService({ store, catalog: { list: () => [] }, events, engines: ENGINES });
    fs.writeFileSync(path.join(dir, "stored.gguf"), "GGUF");
    const stored = profiles.create({ name: "Stored", engine: "llama", model: { source: "path", path: path.join(dir, "stored.gguf") } });
    const directory = new FakeServerDirectory([{ profile: stored, url: upstream.url }]);
    const meter = new UsageMeter({ logger: new MemoryLogger() });
    const logger = new MemoryLogger();
    const token = "api-token";
    const app = createApiServer({
      token,
      logger,
      events,
      profiles,
      models: { list: () => ({ models: [], scannedAt: 0, cacheDir: dir }), listJson: () => Buffer.from(JSON.stringify({ models: [], scannedAt: 0, cacheDir: dir })), rescan: () => Promise.reject(new Error("unused")), delete: () => Promise.reject(new Error("unused")) },
      engines: Object.values(ENGINES),
      status: () => ({ version: "test", pid: process.pid, startedAt: 0, url: "", dataDir: dir, hfCache: dir, models: 0, profiles: 1, notices: [] }),
      shutdown: () => undefined,
      extraRoutes: (api) => {
        registerGatewayRoutes(api, { directory, meter, logger, profiles });
      },
    });
    await app.listen({ host: "127.0.0.1", port: 0 });
    const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    const rigLike = { ...({} as Rig), gateway: { app, url: base, token, close: () => app.close() } };
    try {
      const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: token, maxRetries: 0 });
      assert.deepEqual((await client.models.list()).data.map((m) => m.id), ["Stored"]);
      const answer = await client.chat.completions.create({ model: "stored", messages: [{ role: "user", content: "x" }] });
      assert.equal(answer.usage?.completion_tokens, 3);
      const unknownRoute = await post(rigLike, "/v1/nothing", { model: "Stored" });
      assert.equal(unknownRoute.status, 404);
      assert.equal((JSON.parse(unknownRoute.body) as { error: { type: string } }).error.type, "invalid_request_error", "OpenAI's shape under /v1");
      const badJson = await post(rigLike, "/v1/chat/completions", "{");
      assert.equal((JSON.parse(badJson.body) as { error: { code: string; type: string } }).error.type, "invalid_request_error");
      const apiRoute = await post(rigLike, "/api/nothing", {});
      assert.equal((JSON.parse(apiRoute.body) as { error: { code: string } }).error.code, "not_found", "the manager's shape under /api");
      const profileCreate = await post(rigLike, "/api/profiles", "{");
      assert.equal((JSON.parse(profileCreate.body) as { error: { code: string } }).error.code, "invalid_json", "the manager's JSON parser still serves /api");
      const denied = await new OpenAI({ baseURL: `${base}/v1`, apiKey: "wrong", maxRetries: 0 }).models.list().then(() => undefined, (error: unknown) => error);
      assert.ok(denied instanceof OpenAI.AuthenticationError, "the manager's token check covers /v1");
    } finally {
      await app.close();
      meter.close();
      store.close();
      await upstream.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("/v1 gateway in front of the real llama engine", function () {
  this.timeout(120_000);
  let workDir: string;
  let engine: LlamaEngineProcess;
  let gateway: GatewayApp;
  let meter: UsageMeter;
  let client: OpenAI;

  before(async function () {
    this.timeout(180_000);
    await ensureLlamaModuleInstalled();
    await ensureLlamaEngineBuilt();
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), "gateway-llama-"));
    const model = (await writeTinyGguf(path.join(workDir, "tiny.gguf"), { seed: 1 })).path;
    engine = await LlamaEngineProcess.start(["--model", model, "--threads", "1", "--alias", "tiny"]);
    await engine.waitUntilReady();
    const directory = new FakeServerDirectory([{ profile: fakeProfile("p-tiny", "Tiny"), url: engine.url, upstreamModel: "tiny" }]);
    meter = new UsageMeter({ logger: new MemoryLogger() });
    gateway = await startGatewayApp({ directory, meter, logger: new MemoryLogger() });
    client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: gateway.token, maxRetries: 0 });
  });

  after(async () => {
    await gateway.close();
    meter.close();
    await engine.stop();
    fs.rmSync(workDir, { recursive: true, force: true });
  });

  it("answers a non-streamed chat through the gateway and meters its tokens", async () => {
    const recorded = nextRecord(meter);
    const answer = await client.chat.completions.create({ model: "tiny", messages: [{ role: "user", content: "Tell me about a dog." }], max_tokens: 16, seed: 3 });
    assert.equal(answer.model, "tiny");
    assert.ok((answer.choices[0]?.message.content ?? "").length > 0);
    const record = await recorded;
    assert.equal(record.completionTokens, answer.usage?.completion_tokens);
    assert.equal(record.promptTokens, answer.usage?.prompt_tokens);
  });

  it("streams through the gateway: same text as direct, TTFT and tokens/s measured, no usage chunk unless asked", async () => {
    const request = { model: "tiny", messages: [{ role: "user" as const, content: "Hello" }], max_tokens: 24, seed: 5 };
    const recorded = nextRecord(meter);
    const stream = await client.chat.completions.create({ ...request, stream: true });
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    assert.ok(chunks.every((c) => c.choices.length === 1), "no usage chunk for a client that did not ask");
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? "").join("");
    const record = await recorded;
    assert.equal(record.completionTokens, 24);
    assert.equal(record.tokenSource, "usage");
    assert.ok(record.ttftMs !== undefined && record.ttftMs > 0);
    assert.ok(record.tokensPerSecond !== undefined && record.tokensPerSecond > 0, `tokens/s ${record.tokensPerSecond}`);

    const direct = new OpenAI({ baseURL: `${engine.url}/v1`, apiKey: "x", maxRetries: 0 });
    const whole = await direct.chat.completions.create(request);
    assert.equal(whole.choices[0]?.message.content, text, "the gateway changes delivery, not content");
    const withUsage = await client.chat.completions.create({ ...request, stream: true, stream_options: { include_usage: true } });
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of withUsage) usage = chunk.usage ?? usage;
    assert.equal(usage?.completion_tokens, 24);
    const snapshot = meter.snapshot("p-tiny");
    assert.ok(snapshot);
    assert.equal(snapshot.total.requests, 3);
    assert.equal(snapshot.total.completionTokens, snapshot.recent.reduce((sum, r) => sum + (r.completionTokens ?? 0), 0));
  });
});
