// The metrics routes on a real Fastify instance listening on an ephemeral port, over real HTTP,
// sampling a real idle child process.
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import http from "node:http";
import type { AddressInfo } from "node:net";
import Fastify, { type FastifyInstance } from "fastify";
import { MemoryLogger } from "../../../../src/services/logging/Logger";
import { MetricsService } from "../../../../src/services/metrics/MetricsService";
import { registerMetricsRoutes } from "../../../../src/services/metrics/routes";
import { MetricsSnapshotSchema, type MetricsSnapshot } from "../../../../src/shared/metrics";
import { IDLE_SCRIPT, serverInfo, sleep, startNode, stopNode, waitFor } from "./processes";

function get(url: string): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          resolve({
            status: res.statusCode ?? 0,
            type: String(res.headers["content-type"]),
            body: Buffer.concat(chunks).toString("utf8"),
          });
        });
      })
      .on("error", reject);
  });
}

interface SseEvent {
  event: string;
  id: string;
  data: string;
}

/** Opens an SSE stream and collects its events until `count` arrived; then closes the connection. */
function readSse(
  url: string,
  count: number,
  onOpen: () => void,
): Promise<{ events: SseEvent[]; type: string }> {
  return new Promise((resolve, reject) => {
    const events: SseEvent[] = [];
    const request = http.get(url, { agent: false, headers: { accept: "text/event-stream" } }, (res) => {
      onOpen();
      let buffer = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const fields = new Map<string, string>();
          for (const line of block.split("\n")) {
            const colon = line.indexOf(":");
            if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1).trimStart());
          }
          if (fields.has("event"))
            events.push({
              event: fields.get("event") ?? "",
              id: fields.get("id") ?? "",
              data: fields.get("data") ?? "",
            });
          if (events.length >= count) {
            request.destroy();
            resolve({ events, type: String(res.headers["content-type"]) });
            return;
          }
        }
      });
    });
    request.on("error", (error) => {
      if (events.length < count) reject(error);
    });
  });
}

describe("metrics routes", function () {
  this.timeout(20_000);
  let child: ChildProcess & { pid: number };
  let metrics: MetricsService;
  let app: FastifyInstance;
  let base: string;

  before(async () => {
    child = await startNode(IDLE_SCRIPT);
    metrics = new MetricsService({
      servers: () => [serverInfo("p1", child.pid, { profileName: 'qwen "coder"', engine: "llama" })],
      requests: { stats: () => ({ requests: 3, tokensPerSecMinute: 12 }) },
      logger: new MemoryLogger(),
      platform: "linux",
      intervalMs: 100,
    });
    app = Fastify({ logger: false, forceCloseConnections: true });
    registerMetricsRoutes(app, { metrics, keepAliveMs: 50 });
    await app.listen({ port: 0, host: "127.0.0.1" });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  });

  after(async () => {
    metrics.close();
    await app.close();
    await stopNode(child);
  });

  it("GET /api/metrics answers a snapshot with history that validates against the shared schema", async () => {
    const answer = await get(`${base}/api/metrics`);
    assert.equal(answer.status, 200);
    assert.match(answer.type, /^application\/json/);
    const snapshot = MetricsSnapshotSchema.parse(JSON.parse(answer.body));
    assert.equal(snapshot.servers.length, 1);
    const server = snapshot.servers[0];
    assert.ok(server);
    assert.equal(server.requests, 3);
    assert.ok((server.memoryBytes ?? 0) > 0);
    assert.ok(snapshot.system.history.memoryUsedBytes.length >= 1);
    assert.equal(snapshot.system.gpuUtilizationPercent, null);
  });

  it("GET /metrics answers the Prometheus text format", async () => {
    const answer = await get(`${base}/metrics`);
    assert.equal(answer.status, 200);
    assert.equal(answer.type, "text/plain; version=0.0.4; charset=utf-8");
    const lines = answer.body.trimEnd().split("\n");
    for (const line of lines) {
      assert.match(line, /^(# (HELP|TYPE) \w+ .+|\w+(\{.*\})? -?[\d.e+]+)$/, line);
    }
    assert.ok(
      lines.includes(
        'mlx_server_requests_total{profile="qwen \\"coder\\"",profile_id="p1",engine="llama"} 3',
      ),
    );
    assert.ok(
      lines.includes(
        'mlx_server_tokens_per_second{profile="qwen \\"coder\\"",profile_id="p1",engine="llama",window="1m"} 12',
      ),
    );
    assert.ok(!answer.body.includes("mlx_system_gpu_utilization_ratio"), "no GPU figure on Linux");
  });

  it("GET /api/metrics/stream delivers a metrics message per sample, and sampling runs only while connected", async () => {
    assert.equal(metrics.watcherCount, 0);
    await sleep(250);
    const idleCount = metrics.sampleCount;
    await sleep(250);
    assert.equal(metrics.sampleCount, idleCount, "no sampling before anyone connects");

    let watchersWhileOpen = -1;
    const { events, type } = await readSse(`${base}/api/metrics/stream`, 3, () => {
      setTimeout(() => {
        watchersWhileOpen = metrics.watcherCount;
      }, 20);
    });
    assert.equal(type, "text/event-stream; charset=utf-8");
    assert.equal(watchersWhileOpen, 1, "an open stream counts as a watcher");
    assert.equal(events.length, 3);
    const snapshots: MetricsSnapshot[] = events.map((e) => {
      assert.equal(e.event, "metrics");
      const message = JSON.parse(e.data) as { type: string; data: unknown };
      assert.equal(message.type, "metrics");
      const snapshot = MetricsSnapshotSchema.parse(message.data);
      assert.equal(e.id, String(snapshot.sampler.samples));
      return snapshot;
    });
    const numbers = snapshots.map((s) => s.sampler.samples);
    assert.ok(
      numbers[0]! < numbers[1]! && numbers[1]! < numbers[2]!,
      `increasing sample numbers: ${numbers.join(", ")}`,
    );
    assert.ok(
      snapshots[2]!.servers[0]!.history.memoryBytes.length >= 2,
      "the history grows with each message",
    );

    await waitFor(() => metrics.watcherCount === 0, 2_000, "the stream's watcher to leave");
    await sleep(150);
    const after = metrics.sampleCount;
    await sleep(350);
    assert.equal(metrics.sampleCount, after, "sampling stopped when the client disconnected");
  });

  it("two streams share one sampler: both get the same samples, one timer runs", async () => {
    const [a, b] = await Promise.all([
      readSse(`${base}/api/metrics/stream`, 4, () => undefined),
      readSse(`${base}/api/metrics/stream`, 4, () => undefined),
    ]);
    const idsA = a.events.map((e) => Number(e.id));
    const idsB = b.events.map((e) => Number(e.id));
    // One timer for both: consecutive sample numbers; two timers would interleave and skip.
    for (const ids of [idsA, idsB]) {
      for (let i = 1; i < ids.length; i++)
        assert.equal(ids[i], ids[i - 1]! + 1, `consecutive: ${ids.join(", ")}`);
    }
    assert.ok(
      idsA.some((id) => idsB.includes(id)),
      "the same samples reach both streams",
    );
    await waitFor(() => metrics.watcherCount === 0, 2_000, "both watchers to leave");
  });
});
