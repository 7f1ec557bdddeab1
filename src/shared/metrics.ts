import * as z from "zod";

// The metrics the manager samples (GET /api/metrics, the `metrics` SSE stream), declared once
// here with schemas so a client validates what it receives. A figure this platform cannot
// measure is `Unavailable` (null), never 0: a GPU at 0 % and a GPU nobody can read differ.

/** A figure this platform (or this moment) cannot measure, e.g. GPU utilisation on Linux. Show "unavailable", never 0. */
export type Unavailable = null;

/** One point of a sparkline: `[time in ms since the epoch, value]`. */
export type MetricPoint = [t: number, value: number];

/**
 * Where a server's memory figure comes from. `phys_footprint` (macOS, from `footprint` or
 * `vmmap`) counts Metal buffers and compressed pages; `rss` misses Metal buffers, so on a Mac
 * it is only the fallback when both tools fail.
 */
export type ServerMemorySource = "phys_footprint" | "rss";

/** One running server's figures at the last sample, with short history for sparklines. */
export interface ServerMetrics {
  profileId: string;
  profileName: string;
  engine: string;
  pid: number;
  /** CPU time over the last sampling interval in % of one core (400 = four busy cores); unavailable on a server's first sample. */
  cpuPercent: number | Unavailable;
  /** Memory the process is charged for, in bytes; unavailable when the process could not be read. */
  memoryBytes: number | Unavailable;
  memorySource: ServerMemorySource | Unavailable;
  /** Seconds since the supervisor started it. */
  uptimeSeconds: number | Unavailable;
  /** Requests through the gateway since the server started. */
  requests: number;
  /** Decode tokens/s of the last request. */
  tokensPerSecLast: number | Unavailable;
  /** Decode tokens/s over the last minute. */
  tokensPerSecMinute: number | Unavailable;
  /** Median time to first token, in ms, from sending upstream (the prefill; the queue wait is apart). */
  ttftP50Ms: number | Unavailable;
  /** Median wait for a slot in the gateway's queue, in ms. */
  queueWaitP50Ms: number | Unavailable;
  /** Requests waiting for a slot now. */
  queueDepth: number;
  /** Requests being answered now, and how many the server answers at once. */
  activeRequests: number;
  slots: number | Unavailable;
  history: {
    memoryBytes: MetricPoint[];
    /** Tokens/s over the last minute, at each sample that had a figure. */
    tokensPerSec: MetricPoint[];
    cpuPercent: MetricPoint[];
  };
}

/** How the system's memory figures were obtained (formulas in services/metrics/macos.ts). */
export type SystemMemorySource = "vm_stat" | "os";

/** The whole machine. GPU utilisation is a whole-device figure, so it lives here, not on a server. */
export interface SystemMetrics {
  platform: string;
  memoryTotalBytes: number;
  /** macOS: (active + wired + compressor-occupied pages) × page size; elsewhere os.totalmem() − os.freemem(). */
  memoryUsedBytes: number;
  memorySource: SystemMemorySource;
  /** macOS `memory_pressure`'s "System-wide memory free percentage" (what Activity Monitor's pressure follows). */
  memoryFreePercent: number | Unavailable;
  /** The GPU's "Device Utilization %" from macOS `ioreg`, 0–100. */
  gpuUtilizationPercent: number | Unavailable;
  history: {
    memoryUsedBytes: MetricPoint[];
    gpuUtilizationPercent: MetricPoint[];
  };
}

/** What the sampler itself costs, so its own footprint stays visible. */
export interface SamplerStats {
  /** Samples taken since the manager started. */
  samples: number;
  /** Sampling period while someone watches. */
  intervalMs: number;
  /** Clients watching now (metric streams); 0 means no timer runs. */
  watchers: number;
  /** Manager CPU time the last sample took, in ms (on macOS the tools' own processes are not included). */
  lastCpuMs: number;
  /** Manager CPU per sample (average of the last 30) relative to the sampling period, in % of one core. */
  cpuPercentOfInterval: number;
}

/** `GET /api/metrics` and the data of each `metrics` SSE message. */
export interface MetricsSnapshot {
  sampledAt: number;
  servers: ServerMetrics[];
  system: SystemMetrics;
  sampler: SamplerStats;
}

const count = z.number().int().min(0);
const nonNegative = z.number().min(0);
const MetricPointSchema = z.tuple([z.number(), z.number()]);

export const ServerMetricsSchema: z.ZodType<ServerMetrics> = z.object({
  profileId: z.string(),
  profileName: z.string(),
  engine: z.string(),
  pid: z.number().int(),
  cpuPercent: nonNegative.nullable(),
  memoryBytes: nonNegative.nullable(),
  memorySource: z.enum(["phys_footprint", "rss"]).nullable(),
  uptimeSeconds: nonNegative.nullable(),
  requests: count,
  tokensPerSecLast: nonNegative.nullable(),
  tokensPerSecMinute: nonNegative.nullable(),
  ttftP50Ms: nonNegative.nullable(),
  queueWaitP50Ms: nonNegative.nullable(),
  queueDepth: count,
  activeRequests: count,
  slots: count.nullable(),
  history: z.object({
    memoryBytes: z.array(MetricPointSchema),
    tokensPerSec: z.array(MetricPointSchema),
    cpuPercent: z.array(MetricPointSchema),
  }),
});

export const SystemMetricsSchema: z.ZodType<SystemMetrics> = z.object({
  platform: z.string(),
  memoryTotalBytes: nonNegative,
  memoryUsedBytes: nonNegative,
  memorySource: z.enum(["vm_stat", "os"]),
  memoryFreePercent: nonNegative.max(100).nullable(),
  gpuUtilizationPercent: nonNegative.max(100).nullable(),
  history: z.object({
    memoryUsedBytes: z.array(MetricPointSchema),
    gpuUtilizationPercent: z.array(MetricPointSchema),
  }),
});

/** Validates a snapshot received from the manager (`GET /api/metrics`, the `metrics` stream). */
export const MetricsSnapshotSchema: z.ZodType<MetricsSnapshot> = z.object({
  sampledAt: z.number(),
  servers: z.array(ServerMetricsSchema),
  system: SystemMetricsSchema,
  sampler: z.object({
    samples: count,
    intervalMs: z.number().int().min(1),
    watchers: count,
    lastCpuMs: nonNegative,
    cpuPercentOfInterval: nonNegative,
  }),
});
