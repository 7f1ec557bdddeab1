import * as z from "zod";

// Benchmarks of profiles through the gateway, and perplexity of a profile's model on a text.

/** The fixed prompts: a short question, and a text of about 1k and 4k tokens to read first. */
export const BENCH_SIZES = ["short", "1k", "4k"] as const;
export type BenchSize = (typeof BENCH_SIZES)[number];

export const BenchSettings = z
  .object({
    sizes: z.array(z.enum(BENCH_SIZES)).min(1).max(3).default(["short", "1k", "4k"]),
    /** Warm runs of each size (after the cold one). */
    runs: z.int().min(1).max(50).default(3),
    /** Tokens asked of every answer (the same for every profile). */
    maxTokens: z.int().min(8).max(4096).default(128),
    /** Restart a running server first, so the first request meets a just-started engine. */
    cold: z.boolean().default(true),
  })
  .strict();
export type BenchSettings = z.infer<typeof BenchSettings>;

export const BenchInput = z
  .object({
    /** Profile names or ids, benchmarked one after the other in this order. */
    profiles: z.array(z.string().min(1).max(200)).min(1).max(8),
    settings: BenchSettings.default(BenchSettings.parse({})),
  })
  .strict();
export type BenchInput = z.input<typeof BenchInput>;

/** One request as the benchmark client timed it, and as the gateway's meter recorded it. */
export interface BenchSample {
  size: BenchSize;
  cold: boolean;
  promptTokens: number;
  completionTokens: number;
  /** Sent → first generated text, as the client saw it. */
  ttftMs: number;
  /** Prompt tokens / TTFT. */
  promptTokensPerSecond: number;
  /**
   * (completion tokens − 1) / (last text read − first text read); absent when the text came in
   * fewer reads than half its tokens (the server held it back and sent it in bursts), which no
   * clock can time.
   */
  decodeTokensPerSecond?: number;
  /** Reads of the stream that brought generated text. */
  textReads?: number;
  /** The gateway meter's record of the same request: TTFT from its arrival (and the prefill alone, from sending upstream), decode speed. */
  meter?: { ttftMs?: number; prefillMs?: number; decodeTokensPerSecond?: number };
  error?: string;
}

export interface BenchSizeSummary {
  size: BenchSize;
  /** Warm runs only. */
  runs: number;
  promptTokens: number;
  ttftP50Ms: number;
  ttftP95Ms: number;
  promptTokensPerSecond: number;
  decodeTokensPerSecond?: number;
  /** The gateway meter's medians for the same requests, and client ÷ meter. */
  meter: { ttftP50Ms?: number; decodeTokensPerSecond?: number; ttftRatio?: number; decodeRatio?: number };
}

export interface BenchProfileResult {
  profileId: string;
  profileName: string;
  engine: string;
  model: string;
  /** Start → ready of the cold start (absent when the server was not restarted). */
  loadMs?: number;
  /** The first request after the start. */
  cold?: BenchSample;
  sizes: BenchSizeSummary[];
  samples: BenchSample[];
  /** The highest memory of the server's process while it was measured. */
  peakMemoryBytes?: number;
  memorySource?: string;
  error?: string;
}

export type BenchState = "running" | "completed" | "failed" | "cancelled" | "interrupted";

export interface BenchRun {
  id: string;
  state: BenchState;
  settings: BenchSettings;
  profiles: string[];
  results: BenchProfileResult[];
  /** While running: what is being measured now. */
  progress?: { profile: string; step: string; done: number; total: number };
  error?: string;
  createdAt: number;
  endedAt?: number;
}

export const PerplexityInput = z
  .object({
    profile: z.string().min(1).max(200),
    /** A text file of this machine (UTF-8). */
    file: z.string().min(1).max(4096),
    sequenceLength: z.int().min(16).max(32_768).default(512),
    /** Score at most this many tokens of the text. */
    maxTokens: z.int().min(32).max(1_000_000).default(16_384),
  })
  .strict();
export type PerplexityInput = z.input<typeof PerplexityInput>;

export interface PerplexityResult {
  id: string;
  profileId: string;
  profileName: string;
  engine: string;
  model: string;
  textName: string;
  textSha256: string;
  tokens: number;
  scoredTokens: number;
  sequenceLength: number;
  perplexity: number;
  standardError: number;
  seconds: number;
  createdAt: number;
}

/** A run as CSV: one line per profile and size, warm medians, the cold start and the meter's figures. */
export function benchCsv(run: BenchRun): string {
  const header = ["profile", "engine", "model", "size", "runs", "prompt_tokens", "ttft_p50_ms", "ttft_p95_ms", "prompt_tokens_per_s", "decode_tokens_per_s", "meter_ttft_p50_ms", "meter_decode_tokens_per_s", "load_ms", "cold_ttft_ms", "peak_memory_bytes", "error"];
  const cell = (value: string | number | undefined | null): string => {
    if (value === undefined || value === null) return "";
    const text = typeof value === "number" ? (Number.isInteger(value) ? String(value) : value.toFixed(2)) : value;
    return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  const lines = [header.join(",")];
  for (const r of run.results) {
    const sizes = r.sizes.length > 0 ? r.sizes : [undefined];
    for (const s of sizes) {
      lines.push([r.profileName, r.engine, r.model, s?.size, s?.runs, s?.promptTokens, s?.ttftP50Ms, s?.ttftP95Ms, s?.promptTokensPerSecond, s?.decodeTokensPerSecond, s?.meter.ttftP50Ms, s?.meter.decodeTokensPerSecond, r.loadMs, r.cold?.ttftMs, r.peakMemoryBytes, r.error].map(cell).join(","));
    }
  }
  return `${lines.join("\n")}\n`;
}
