import type { MetricsSnapshot, ServerMetrics } from "../../shared/metrics";

// Prometheus text exposition format 0.0.4: one HELP and TYPE line per family, then its samples
// `name{label="value",...} number`. A figure that is unavailable is left out, never written as 0.

/** The content type Prometheus expects for the text format. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Escapes a label value: backslash, double quote and line feed, as the format requires. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** Escapes HELP text: backslash and line feed. */
function escapeHelp(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

type Labels = Record<string, string>;
interface Family {
  name: string;
  type: "gauge" | "counter";
  help: string;
  samples: { labels: Labels; value: number }[];
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

function formatLabels(labels: Labels): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return "";
  return `{${entries.map(([key, value]) => `${key}="${escapeLabelValue(value)}"`).join(",")}}`;
}

function serverLabels(server: ServerMetrics): Labels {
  return { profile: server.profileName, profile_id: server.profileId, engine: server.engine };
}

/** Renders a metrics snapshot in the Prometheus text format (`GET /metrics`). */
export function formatPrometheus(snapshot: MetricsSnapshot): string {
  const families: Family[] = [];
  const perServer = (
    name: string,
    type: Family["type"],
    help: string,
    pick: (s: ServerMetrics) => { labels?: Labels; value: number | null }[],
  ): void => {
    const samples: Family["samples"] = [];
    for (const server of snapshot.servers) {
      for (const { labels, value } of pick(server)) {
        if (value !== null) samples.push({ labels: { ...serverLabels(server), ...labels }, value });
      }
    }
    families.push({ name, type, help, samples });
  };

  perServer(
    "mlx_server_memory_bytes",
    "gauge",
    "Memory of the model server process: phys_footprint on macOS (counts Metal buffers), RSS elsewhere.",
    (s) => [{ labels: { source: s.memorySource ?? "unknown" }, value: s.memoryBytes }],
  );
  perServer(
    "mlx_server_cpu_percent",
    "gauge",
    "CPU of the model server over the last sampling interval, in % of one core.",
    (s) => [{ value: s.cpuPercent }],
  );
  perServer("mlx_server_uptime_seconds", "gauge", "Seconds since the model server was started.", (s) => [
    { value: s.uptimeSeconds },
  ]);
  perServer(
    "mlx_server_requests_total",
    "counter",
    "Requests through the gateway since the model server started.",
    (s) => [{ value: s.requests }],
  );
  perServer(
    "mlx_server_tokens_per_second",
    "gauge",
    'Decode tokens per second: window="1m" over the last minute, window="last" of the last request.',
    (s) => [
      { labels: { window: "1m" }, value: s.tokensPerSecMinute },
      { labels: { window: "last" }, value: s.tokensPerSecLast },
    ],
  );
  perServer(
    "mlx_server_ttft_seconds",
    "gauge",
    "Median time to first token through the gateway, in seconds, from sending the request to the server (the prefill; the queue wait is mlx_server_queue_wait_seconds).",
    (s) => [{ value: s.ttftP50Ms === null ? null : s.ttftP50Ms / 1000 }],
  );
  perServer(
    "mlx_server_queue_wait_seconds",
    "gauge",
    "Median wait for a slot of the server in the gateway's queue, in seconds.",
    (s) => [{ value: s.queueWaitP50Ms === null ? null : s.queueWaitP50Ms / 1000 }],
  );
  perServer("mlx_server_queue_depth", "gauge", "Requests waiting in the gateway's queue for a slot of the server.", (s) => [{ value: s.queueDepth }]);
  perServer("mlx_server_requests_active", "gauge", "Requests the server is answering now (at most mlx_server_slots).", (s) => [{ value: s.activeRequests }]);
  perServer("mlx_server_slots", "gauge", "Requests the server answers at once (its parallel slots); the gateway queues the rest.", (s) => [{ value: s.slots }]);

  const system = snapshot.system;
  families.push(
    {
      name: "mlx_system_memory_total_bytes",
      type: "gauge",
      help: "Physical memory of the machine.",
      samples: [{ labels: {}, value: system.memoryTotalBytes }],
    },
    {
      name: "mlx_system_memory_used_bytes",
      type: "gauge",
      help: "Memory in use: macOS (active + wired + compressor) pages from vm_stat, elsewhere total minus free.",
      samples: [{ labels: {}, value: system.memoryUsedBytes }],
    },
  );
  if (system.memoryFreePercent !== null) {
    families.push({
      name: "mlx_system_memory_free_ratio",
      type: "gauge",
      help: "macOS memory_pressure's system-wide memory free level, 0-1 (pressure is 1 minus this).",
      samples: [{ labels: {}, value: system.memoryFreePercent / 100 }],
    });
  }
  if (system.gpuUtilizationPercent !== null) {
    families.push({
      name: "mlx_system_gpu_utilization_ratio",
      type: "gauge",
      help: "GPU device utilization from ioreg, 0-1 (whole device, all processes).",
      samples: [{ labels: {}, value: system.gpuUtilizationPercent / 100 }],
    });
  }
  families.push({
    name: "mlx_metrics_samples_total",
    type: "counter",
    help: "Samples the manager's metrics sampler has taken.",
    samples: [{ labels: {}, value: snapshot.sampler.samples }],
  });

  const lines: string[] = [];
  for (const family of families) {
    lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`, `# TYPE ${family.name} ${family.type}`);
    for (const sample of family.samples)
      lines.push(`${family.name}${formatLabels(sample.labels)} ${formatValue(sample.value)}`);
  }
  return `${lines.join("\n")}\n`;
}
