import type { FastifyInstance } from "fastify";
import type { MetricsSnapshot } from "../../shared/metrics";
import type { MetricsService } from "./MetricsService";
import { formatPrometheus, PROMETHEUS_CONTENT_TYPE } from "./prometheus";
import { openSseStream } from "../api/sse";

export interface MetricsRoutesDeps {
  metrics: MetricsService;
  /** SSE keep-alive interval of the metrics stream. */
  keepAliveMs?: number;
}

/**
 * `GET /api/metrics` (JSON snapshot with history), `GET /api/metrics/stream` (SSE: a `metrics`
 * message per sample; an open stream counts as a watcher, so sampling runs only while one is
 * open) and `GET /metrics` (Prometheus text format; a scrape samples on demand).
 */
export function registerMetricsRoutes(app: FastifyInstance, deps: MetricsRoutesDeps): void {
  const { metrics } = deps;
  const keepAliveMs = deps.keepAliveMs ?? 15_000;

  app.get("/api/metrics", async (): Promise<MetricsSnapshot> => metrics.snapshot());

  app.get("/metrics", async (_request, reply) => {
    const snapshot = await metrics.snapshot();
    return reply.type(PROMETHEUS_CONTENT_TYPE).send(formatPrometheus(snapshot));
  });

  app.get("/api/metrics/stream", (_request, reply) => {
    const res = openSseStream(reply);
    res.write("retry: 2000\n: metrics stream\n\n");

    let lastSent = 0;
    const send = (snapshot: MetricsSnapshot): void => {
      if (res.destroyed || res.writableEnded || snapshot.sampler.samples <= lastSent) return;
      // A client that stopped reading skips samples instead of piling them up in memory.
      if (res.writableNeedDrain) return;
      lastSent = snapshot.sampler.samples;
      res.write(
        `event: metrics\nid: ${snapshot.sampler.samples}\ndata: ${JSON.stringify({ type: "metrics", data: snapshot })}\n\n`,
      );
    };
    // Subscribe before watching, so the first periodic sample is not missed.
    const unsubscribe = metrics.onSample(send);
    const unwatch = metrics.watch();
    // A client joining a running sampler gets the current figures at once, not an interval later.
    metrics.snapshot().then(send, () => undefined);
    const keepAlive = setInterval(() => res.write(": keep-alive\n\n"), keepAliveMs);
    keepAlive.unref();

    let closed = false;
    const close = (): void => {
      if (closed) return;
      closed = true;
      clearInterval(keepAlive);
      unsubscribe();
      unwatch();
    };
    res.on("close", close);
    res.on("error", close);
  });
}
