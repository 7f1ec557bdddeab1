// The whole path a user's client takes, through the real manager process: the official `openai`
// client → the manager's /v1 gateway → a real engine process (the llama engine, and the MLX
// stand-ins relaying to it) → metering → /api/usage, /api/metrics, its SSE stream and /metrics.
/* eslint-disable @typescript-eslint/no-deprecated -- the engines read max_tokens (max_completion_tokens is OpenAI-only); clients still send it */
import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import OpenAI from "openai";
import type { MetricsSnapshot } from "../../src/shared/metrics";
import type { Profile } from "../../src/shared/profiles";
import type { ServerInfo, ServerList } from "../../src/shared/servers";
import type { UsageList } from "../../src/shared/usage";
import { removeTempDir } from "../helpers/hfCache";
import { startManager, type RunningManager } from "../helpers/manager";
import {
  GGUF_REPO,
  MLX_REPO,
  killGroups,
  makeServerFixture,
  pidRunning,
  portClosed,
  waitFor,
  type ServerFixture,
} from "../helpers/servers";

/** Reads `GET /api/metrics/stream` until the first `metrics` event and returns it. */
function firstMetricsEvent(url: string, token: string): Promise<MetricsSnapshot> {
  return new Promise((resolve, reject) => {
    const request = http.get(`${url}/api/metrics/stream`, { headers: { authorization: `Bearer ${token}` } }, (res) => {
      let buffer = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        buffer += chunk;
        const match = /event: metrics\nid: \d+\ndata: (.*)\n\n/.exec(buffer);
        if (match?.[1]) {
          resolve((JSON.parse(match[1]) as { data: MetricsSnapshot }).data);
          request.destroy();
        }
      });
    });
    request.on("error", reject);
    request.setTimeout(10_000, () => request.destroy(new Error("no metrics event within 10 s")));
  });
}

describe("the /v1 gateway and metrics through the real manager", function () {
  this.timeout(90_000);
  let fixture: ServerFixture;
  let manager: RunningManager;
  let openai: OpenAI;
  const spawned = new Set<number>();

  async function createProfile(input: Record<string, unknown>): Promise<Profile> {
    const res = await manager.api("POST", "/api/profiles", input);
    assert.equal(res.status, 201, res.text);
    return res.json as Profile;
  }

  async function server(name: string): Promise<ServerInfo | undefined> {
    const list = (await manager.api("GET", "/api/servers")).json as ServerList;
    const found = list.servers.find((s) => s.profileName === name);
    if (found?.pid !== undefined) spawned.add(found.pid);
    return found;
  }

  async function usage(name: string): Promise<UsageList["servers"][number]> {
    const list = (await manager.api("GET", "/api/usage")).json as UsageList;
    const found = list.servers.find((s) => s.profileName === name);
    assert.ok(found, `usage of ${name} in ${JSON.stringify(list)}`);
    return found;
  }

  before(async () => {
    fixture = await makeServerFixture("mlx-gateway-");
    manager = await startManager({ dataDir: fixture.dataDir, hfCache: fixture.hfCache, env: fixture.env });
    openai = new OpenAI({ baseURL: `${manager.url}/v1`, apiKey: manager.token, maxRetries: 0 });
  });

  after(async () => {
    await manager.api("POST", "/api/servers/stop-all").catch(() => undefined);
    await manager.stop();
    killGroups(spawned);
    removeTempDir(fixture.root);
  });

  it("starts a stopped llama profile just in time, chats (plain and streamed), meters the tokens, shows them in the metrics, and stops with the port freed", async () => {
    const profile = await createProfile({
      name: "Story",
      engine: "llama",
      model: { source: "cache", repoId: GGUF_REPO },
      options: { threads: 1, contextLength: 512 },
    });
    assert.deepEqual(
      (await openai.models.list()).data.map((m) => m.id),
      ["Story"],
      "stopped profiles are listed too",
    );
    assert.equal(await server("Story"), undefined, "nothing runs before the first request");

    const answer = await openai.chat.completions.create({
      model: "story",
      messages: [{ role: "user", content: "Once upon a time" }],
      max_tokens: 12,
      seed: 7,
    });
    assert.ok((answer.choices[0]?.message.content ?? "").length > 0);
    assert.equal(answer.usage?.completion_tokens, 12);
    const running = await server("Story");
    assert.equal(running?.state, "running", "the request started the server");

    const stream = await openai.chat.completions.create({
      model: "Story",
      messages: [{ role: "user", content: "Tell me about a cat." }],
      max_tokens: 20,
      seed: 3,
      stream: true,
    });
    let text = "";
    let chunks = 0;
    for await (const chunk of stream) {
      assert.equal(chunk.usage ?? undefined, undefined, "no usage chunk for a client that did not ask for one");
      text += chunk.choices[0]?.delta.content ?? "";
      chunks += 1;
    }
    assert.ok(chunks > 5 && text.length > 0);

    const metered = await usage("Story");
    assert.equal(metered.profileId, profile.id);
    assert.equal(metered.total.requests, 2);
    assert.equal(metered.total.completionTokens, 32, "usage was asked upstream even though the client did not ask");
    assert.equal(metered.lastRequest?.stream, true);
    assert.equal(metered.lastRequest.tokenSource, "usage");
    assert.ok((metered.ttftP50Ms ?? 0) > 0);
    assert.ok((metered.tokensPerSecondLastRequest ?? 0) > 0);
    assert.ok(metered.lastRequest.startupMs === 0, "the second request found the server running");
    assert.ok(metered.recent[0]!.startupMs > 0, "the first one waited for the start");

    const snapshot = (await manager.api("GET", "/api/metrics")).json as MetricsSnapshot;
    const tile = snapshot.servers.find((s) => s.profileId === profile.id);
    assert.ok(tile, JSON.stringify(snapshot));
    assert.equal(tile.pid, running.pid);
    assert.equal(tile.requests, 2);
    assert.equal(tile.tokensPerSecLast, metered.tokensPerSecondLastRequest);
    assert.ok((tile.ttftP50Ms ?? 0) > 0);
    assert.ok((tile.memoryBytes ?? 0) > 10 * 1024 * 1024, `engine RSS ${tile.memoryBytes}`);
    assert.equal(tile.memorySource, "rss");
    assert.ok(tile.uptimeSeconds !== null && tile.uptimeSeconds >= 0);
    assert.ok(snapshot.system.memoryTotalBytes > 0);
    assert.equal(snapshot.system.gpuUtilizationPercent, null, "unavailable off macOS, not 0");

    const streamed = await firstMetricsEvent(manager.url, manager.token);
    assert.equal(streamed.servers.find((s) => s.profileId === profile.id)?.requests, 2);

    const prometheus = await fetch(`${manager.url}/metrics`, { headers: { authorization: `Bearer ${manager.token}` } });
    assert.match(prometheus.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
    const text2 = await prometheus.text();
    assert.match(text2, /^mlx_server_requests_total\{[^}]*profile="Story"[^}]*\} 2$/m);

    const stopped = (await manager.api("POST", "/api/servers/Story/stop")).json as ServerInfo;
    assert.equal(stopped.state, "stopped");
    assert.equal(pidRunning(running.pid!), false);
    assert.ok(await portClosed(running.port));
  });

  it("answers an unknown model with a 404 in OpenAI's error shape, and a wrong key with 401", async () => {
    const missing = await openai.chat.completions
      .create({ model: "no-such-profile", messages: [{ role: "user", content: "x" }] })
      .then(() => undefined, (error: unknown) => error);
    assert.ok(missing instanceof OpenAI.NotFoundError, String(missing));
    assert.equal(missing.type, "invalid_request_error");
    assert.match(missing.message, /no-such-profile/);
    const denied = await new OpenAI({ baseURL: `${manager.url}/v1`, apiKey: "wrong", maxRetries: 0 }).models
      .list()
      .then(() => undefined, (error: unknown) => error);
    assert.ok(denied instanceof OpenAI.AuthenticationError);
  });

  it("meters the MLX engines (stand-ins) through the gateway: mlx_lm's separate usage chunk and mlx-openai-server's usage on the last chunk", async () => {
    await createProfile({ name: "lm", engine: "mlx-lm", model: { source: "cache", repoId: MLX_REPO }, options: { maxTokens: 64 } });
    await createProfile({ name: "oai", engine: "mlx-openai-server", model: { source: "cache", repoId: MLX_REPO }, options: { maxTokens: 64 } });
    for (const name of ["lm", "oai"]) {
      const stream = await openai.chat.completions.create({
        model: name,
        messages: [{ role: "user", content: "Hi" }],
        max_tokens: 6,
        stream: true,
      });
      const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
      for await (const chunk of stream) chunks.push(chunk);
      assert.ok(
        chunks.every((c) => c.choices.length === 1),
        `${name}: the client did not ask for usage, so no usage-only chunk reaches it`,
      );
      const withUsage = await openai.chat.completions.create({
        model: name,
        messages: [{ role: "user", content: "Hi" }],
        max_tokens: 6,
        stream: true,
        stream_options: { include_usage: true },
      });
      let reported: number | undefined;
      for await (const chunk of withUsage) reported = chunk.usage?.completion_tokens ?? reported;
      assert.equal(reported, 6, `${name}: a client that asks gets usage`);
      const metered = await usage(name);
      assert.equal(metered.total.requests, 2);
      assert.equal(metered.total.completionTokens, 12, `${name}: both streams metered from the engine's own usage`);
      assert.ok(metered.recent.every((r) => r.tokenSource === "usage" && r.status === "ok"));
      await server(name);
    }
    const tiles = await waitFor(async () => {
      const snapshot = (await manager.api("GET", "/api/metrics")).json as MetricsSnapshot;
      return snapshot.servers.length === 2 ? snapshot.servers : undefined;
    }, 5000, "a tile for each MLX server");
    assert.deepEqual(
      tiles.map((t) => [t.profileName, t.engine, t.requests]).sort(),
      [
        ["lm", "mlx-lm", 2],
        ["oai", "mlx-openai-server", 2],
      ],
    );
    await manager.api("POST", "/api/servers/stop-all");
  });

  it("sends mlx_lm.server the profile's adapter in every request (it keeps --adapter-path for default_model only), refuses an adapter mlx-openai-server would drop, and says mlx-openai-server has no /v1/completions", async () => {
    const adapter = path.join(fixture.dataDir, "..", "my-adapter");
    fs.mkdirSync(adapter, { recursive: true });
    // What mlx_lm.lora writes: the config and the weights.
    fs.writeFileSync(path.join(adapter, "adapter_config.json"), JSON.stringify({ fine_tune_type: "lora", num_layers: 4, lora_parameters: { rank: 8, scale: 20, dropout: 0 } }));
    fs.writeFileSync(path.join(adapter, "adapters.safetensors"), "");
    await createProfile({ name: "lm-lora", engine: "mlx-lm", model: { source: "cache", repoId: MLX_REPO }, options: { adapterPath: adapter } });
    const answer = await openai.chat.completions.create({ model: "lm-lora", messages: [{ role: "user", content: "Hi" }], max_tokens: 3 });
    assert.ok((answer.choices[0]?.message.content ?? "").length > 0);
    const streamed = await openai.chat.completions.create({ model: "lm-lora", messages: [{ role: "user", content: "Hi" }], max_tokens: 3, stream: true });
    for await (const chunk of streamed) assert.equal(chunk.object, "chat.completion.chunk");
    await openai.completions.create({ model: "lm-lora", prompt: "Once", max_tokens: 3 });
    const log = fs.readFileSync(path.join(fixture.dataDir, "logs", "servers", "lm-lora.log"), "utf8");
    // The readiness warm-up and the three requests.
    assert.equal(log.split("\n").filter((line) => line.includes(`request adapters=${JSON.stringify(adapter)}`)).length, 4, log);
    // A client's own adapter wins over the profile's.
    await openai.chat.completions.create({ model: "lm-lora", messages: [{ role: "user", content: "Hi" }], max_tokens: 3, adapters: "/other" } as OpenAI.Chat.Completions.ChatCompletionCreateParamsNonStreaming);
    assert.match(fs.readFileSync(path.join(fixture.dataDir, "logs", "servers", "lm-lora.log"), "utf8"), /request adapters="\/other"/);
    const refused = await manager.api("POST", "/api/profiles", { name: "oai-lora", engine: "mlx-openai-server", model: { source: "cache", repoId: MLX_REPO }, options: { adapterPath: adapter } });
    assert.equal(refused.status, 400, refused.text);
    const error = refused.json as { error: { field: string; message: string } };
    assert.equal(error.error.field, "options.adapterPath");
    assert.match(error.error.message, /applies adapters \(--lora-paths\) to image models only/);
    // mlx-openai-server has no /v1/completions: the gateway says so, and what to use.
    await createProfile({ name: "oai-text", engine: "mlx-openai-server", model: { source: "cache", repoId: MLX_REPO } });
    await assert.rejects(openai.completions.create({ model: "oai-text", prompt: "Once", max_tokens: 3 }), (e: unknown) => e instanceof OpenAI.NotFoundError && /mlx-openai-server has no \/v1\/completions/.test(e.message) && e.code === "unsupported_endpoint");
    const image = await manager.api("POST", "/api/profiles", { name: "oai-flux", engine: "mlx-openai-server", model: { source: "cache", repoId: MLX_REPO }, options: { adapterPath: adapter, modelType: "image-generation" } });
    assert.equal(image.status, 201, image.text);
    await manager.api("POST", "/api/servers/stop-all");
  });

  it("calls mlx_lm.server running only once its model answers (its /health is 200 while it loads), and says 'loading' meanwhile", async () => {
    const profile = await createProfile({ name: "lm-slow", engine: "mlx-lm", model: { source: "cache", repoId: MLX_REPO }, options: { env: { STANDIN_LOAD_DELAY_MS: "2500" } } });
    const start = manager.api("POST", `/api/servers/${profile.id}/start`);
    const loading = await waitFor(async () => {
      const info = await server("lm-slow");
      return info?.state === "starting" && info.loading !== undefined ? info : undefined;
    }, 20_000, "lm-slow starting with a loading note");
    assert.ok((loading.loading?.modelBytes ?? 0) > 0, JSON.stringify(loading));
    assert.ok((loading.loading?.timeoutMs ?? 0) >= 120_000);
    // The engine's own /health says ok already: that is not what "running" means.
    const health = await waitFor(async () => {
      const res = await fetch(`${loading.upstreamUrl}/health`).catch(() => undefined);
      return res?.status === 200 ? res : undefined;
    }, 10_000, "the stand-in's /health");
    assert.equal(health.status, 200);
    assert.equal((await server("lm-slow"))?.state, "starting", "still starting while the model loads");
    const started = await start;
    assert.equal(started.status, 200, started.text);
    const info = started.json as ServerInfo;
    assert.equal(info.state, "running");
    assert.equal(info.loading, undefined);
    assert.equal(info.engineVersion, "0.31.3", "read with mlx_lm --version");
    const answer = await openai.chat.completions.create({ model: "lm-slow", messages: [{ role: "user", content: "Hi" }], max_tokens: 3 });
    assert.ok((answer.choices[0]?.message.content ?? "").length > 0);
    const usage = (await manager.api("GET", "/api/usage")).json as UsageList;
    assert.equal(usage.servers.find((s) => s.profileName === "lm-slow")?.total.requests, 1, "the warm-up is not metered");
    await manager.api("POST", `/api/servers/${profile.id}/stop`);
  });

  it("fails an mlx_lm.server start at once when its model fails to load, with the exception and the log tail, instead of waiting for ever", async () => {
    const profile = await createProfile({ name: "lm-broken", engine: "mlx-lm", model: { source: "cache", repoId: MLX_REPO }, options: { env: { STANDIN_LOAD_DELAY_MS: "300", STANDIN_LOAD_FAIL: "1" } } });
    const t0 = Date.now();
    const started = await manager.api("POST", `/api/servers/${profile.id}/start`);
    assert.equal(started.status, 502, started.text);
    assert.ok(Date.now() - t0 < 20_000, `failed after ${Date.now() - t0} ms`);
    const error = started.json as { error: { message: string; details: { logTail: string[] } } };
    assert.match(error.error.message, /could not load the model of lm-broken: \w+Error: /);
    assert.ok(error.error.details.logTail.some((line) => line.startsWith("Traceback")), error.error.details.logTail.join("\n"));
    const info = await server("lm-broken");
    assert.equal(info?.state, "failed");
    const pid = info.pid;
    if (pid !== undefined) await waitFor(() => !pidRunning(pid), 10_000, "the broken server's process gone");
    // A request through the gateway gets the failure too (the start is tried again, and fails again), never a hang.
    await assert.rejects(openai.chat.completions.create({ model: "lm-broken", messages: [{ role: "user", content: "Hi" }], max_tokens: 3 }), (e: unknown) => e instanceof OpenAI.APIError && /could not load the model/.test(e.message));
  });

  it("refuses an mlx-openai-server older than 1.7.0 with the upgrade command (its --served-model-name would be 'No such option')", async () => {
    const profile = await createProfile({ name: "oai-old", engine: "mlx-openai-server", model: { source: "cache", repoId: MLX_REPO }, options: { env: { STANDIN_MLX_OPENAI_SERVER_VERSION: "1.6.2" } } });
    const started = await manager.api("POST", `/api/servers/${profile.id}/start`);
    assert.equal(started.status, 400, started.text);
    const error = started.json as { error: { code: string; message: string; details: { version: string; upgrade: string } } };
    assert.equal(error.error.code, "engine_outdated");
    assert.match(error.error.message, /mlx-openai-server 1\.6\.2 is too old: the manager needs 1\.7\.0 or newer/);
    assert.match(error.error.details.upgrade, /pipx upgrade mlx-openai-server/);
    assert.equal((await server("oai-old"))?.pid, undefined, "nothing was spawned");
  });

  it("keeps path options absolute, says what tools and images each profile really has, and refuses options that contradict each other", async () => {
    const relative = await manager.api("POST", "/api/profiles", { name: "lm-rel", engine: "mlx-lm", model: { source: "cache", repoId: MLX_REPO }, options: { adapterPath: "adapters" } });
    assert.equal(relative.status, 400, relative.text);
    assert.equal((relative.json as { error: { field: string } }).error.field, "options.adapterPath");
    const tools = await createProfile({ name: "oai-tools", engine: "mlx-openai-server", model: { source: "cache", repoId: MLX_REPO }, options: { enableAutoToolChoice: true, toolCallParser: "qwen3", modelType: "multimodal" } });
    const plain = await createProfile({ name: "oai-plain", engine: "mlx-openai-server", model: { source: "cache", repoId: MLX_REPO } });
    const listed = ((await manager.api("GET", "/api/profiles")).json as { profiles: Profile[] }).profiles;
    assert.deepEqual(listed.find((p) => p.id === tools.id)?.capabilities, { toolCalling: true, imageInput: true });
    assert.deepEqual(listed.find((p) => p.id === plain.id)?.capabilities, { toolCalling: false, imageInput: false });
    const lm = listed.find((p) => p.engine === "mlx-lm");
    assert.equal(lm?.capabilities?.toolCalling, false, "the tiny MLX model's chat template takes no tools");
    const contradiction = await manager.api("POST", "/api/profiles", { name: "oai-bad", engine: "mlx-openai-server", model: { source: "cache", repoId: MLX_REPO }, options: { enableAutoToolChoice: true } });
    assert.equal(contradiction.status, 400);
    assert.equal((contradiction.json as { error: { field: string } }).error.field, "options.toolCallParser");
  });
});
