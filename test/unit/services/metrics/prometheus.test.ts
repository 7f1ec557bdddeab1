// GET /metrics's text: the exposition format line by line, label escaping, and unavailable
// figures left out rather than written as 0.
import assert from "node:assert/strict";
import { escapeLabelValue, formatPrometheus } from "../../../../src/services/metrics/prometheus";
import type { MetricsSnapshot, ServerMetrics } from "../../../../src/shared/metrics";

/** One sample line: `name{label="value",...} number`, label values with only \\, \" and \n escapes. */
const LABEL = String.raw`[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"`;
const SAMPLE_LINE = new RegExp(
  String.raw`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:${LABEL})(?:,${LABEL})*\})? (-?\d+(?:\.\d+)?(?:e[+-]?\d+)?|NaN|[+-]Inf)$`,
);
const COMMENT_LINE = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/;

function server(overrides: Partial<ServerMetrics> = {}): ServerMetrics {
  return {
    profileId: "p1",
    profileName: "Qwen 7B",
    engine: "mlx-lm",
    pid: 4242,
    cpuPercent: 12.5,
    memoryBytes: 5_368_709_120,
    memorySource: "phys_footprint",
    uptimeSeconds: 90,
    requests: 7,
    tokensPerSecLast: 41.2,
    tokensPerSecMinute: 38,
    ttftP50Ms: 230,
    queueWaitP50Ms: 12,
    queueDepth: 2,
    activeRequests: 1,
    slots: 1,
    history: { memoryBytes: [], tokensPerSec: [], cpuPercent: [] },
    ...overrides,
  };
}

function snapshot(
  servers: ServerMetrics[],
  system: Partial<MetricsSnapshot["system"]> = {},
): MetricsSnapshot {
  return {
    sampledAt: 1_700_000_000_000,
    servers,
    system: {
      platform: "darwin",
      memoryTotalBytes: 68_719_476_736,
      memoryUsedBytes: 19_068_518_400,
      memorySource: "vm_stat",
      memoryFreePercent: 70,
      gpuUtilizationPercent: 45,
      history: { memoryUsedBytes: [], gpuUtilizationPercent: [] },
      ...system,
    },
    sampler: { samples: 3, intervalMs: 2000, watchers: 1, lastCpuMs: 0.4, cpuPercentOfInterval: 0.02 },
  };
}

/** Checks every line and returns the samples as `name{labels}` → value. */
function parseExposition(text: string): Map<string, number> {
  assert.ok(text.endsWith("\n"), "the text ends with a line feed");
  const samples = new Map<string, number>();
  const typed = new Set<string>();
  for (const line of text.slice(0, -1).split("\n")) {
    const comment = COMMENT_LINE.exec(line);
    if (comment) {
      if (comment[1] === "TYPE") {
        assert.match(comment[3] ?? "", /^(gauge|counter)$/);
        typed.add(comment[2] ?? "");
      }
      continue;
    }
    const sample = SAMPLE_LINE.exec(line);
    assert.ok(sample, `not a sample line: ${JSON.stringify(line)}`);
    assert.ok(typed.has(sample[1] ?? ""), `${sample[1]} has its TYPE line before its samples`);
    samples.set(`${sample[1]}${sample[2] ?? ""}`, Number(sample[3]));
  }
  return samples;
}

describe("Prometheus text format", () => {
  it("writes every family with HELP and TYPE, and every sample as name{labels} value", () => {
    const text = formatPrometheus(snapshot([server()]));
    const samples = parseExposition(text);
    const labels = 'profile="Qwen 7B",profile_id="p1",engine="mlx-lm"';
    assert.equal(samples.get(`mlx_server_memory_bytes{${labels},source="phys_footprint"}`), 5_368_709_120);
    assert.equal(samples.get(`mlx_server_cpu_percent{${labels}}`), 12.5);
    assert.equal(samples.get(`mlx_server_uptime_seconds{${labels}}`), 90);
    assert.equal(samples.get(`mlx_server_requests_total{${labels}}`), 7);
    assert.equal(samples.get(`mlx_server_tokens_per_second{${labels},window="1m"}`), 38);
    assert.equal(samples.get(`mlx_server_tokens_per_second{${labels},window="last"}`), 41.2);
    assert.equal(samples.get(`mlx_server_ttft_seconds{${labels}}`), 0.23);
    assert.equal(samples.get("mlx_system_memory_total_bytes"), 68_719_476_736);
    assert.equal(samples.get("mlx_system_memory_used_bytes"), 19_068_518_400);
    assert.equal(samples.get("mlx_system_memory_free_ratio"), 0.7);
    assert.equal(samples.get("mlx_system_gpu_utilization_ratio"), 0.45);
    assert.equal(samples.get("mlx_metrics_samples_total"), 3);
    assert.match(text, /^# TYPE mlx_server_requests_total counter$/m);
    assert.match(text, /^# TYPE mlx_server_memory_bytes gauge$/m);
  });

  it("leaves unavailable figures out instead of writing 0", () => {
    const text = formatPrometheus(
      snapshot(
        [server({ cpuPercent: null, tokensPerSecLast: null, tokensPerSecMinute: null, ttftP50Ms: null })],
        {
          platform: "linux",
          memorySource: "os",
          gpuUtilizationPercent: null,
          memoryFreePercent: null,
        },
      ),
    );
    const samples = parseExposition(text);
    assert.ok(![...samples.keys()].some((k) => k.startsWith("mlx_server_cpu_percent")));
    assert.ok(![...samples.keys()].some((k) => k.startsWith("mlx_server_tokens_per_second")));
    assert.ok(![...samples.keys()].some((k) => k.startsWith("mlx_server_ttft_seconds")));
    assert.doesNotMatch(
      text,
      /mlx_system_gpu_utilization_ratio/,
      "no GPU family at all where it cannot be measured",
    );
    assert.doesNotMatch(text, /mlx_system_memory_free_ratio/);
    assert.equal(samples.get("mlx_system_memory_used_bytes"), 19_068_518_400);
  });

  it("escapes backslashes, double quotes and line feeds in label values", () => {
    assert.equal(escapeLabelValue('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
    const text = formatPrometheus(
      snapshot([server({ profileName: 'my "fast"\\model\nv2', profileId: "id,with=odd}chars" })]),
    );
    const samples = parseExposition(text);
    const key =
      'mlx_server_requests_total{profile="my \\"fast\\"\\\\model\\nv2",profile_id="id,with=odd}chars",engine="mlx-lm"}';
    assert.equal(samples.get(key), 7);
    assert.equal(
      text.split("\n").filter((l) => l.startsWith("mlx_server_requests_total")).length,
      1,
      "the line feed stayed escaped",
    );
  });

  it("writes one series per server", () => {
    const samples = parseExposition(
      formatPrometheus(snapshot([server(), server({ profileId: "p2", profileName: "Llama", requests: 1 })])),
    );
    assert.equal([...samples.keys()].filter((k) => k.startsWith("mlx_server_requests_total")).length, 2);
  });
});
