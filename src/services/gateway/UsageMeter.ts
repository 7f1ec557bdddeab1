import type { Logger } from "../logging/Logger";
import type { Statement } from "../store/Store";
import type { ServerUsageSnapshot, UsageRecord } from "../../shared/usage";

export type { GatewayEndpoint, RequestStatus, ServerUsageSnapshot, UsageRecord } from "../../shared/usage";

/** The store the meter writes its daily aggregates to (the manager's Store). */
export interface UsageStore {
  batch(statements: Statement[]): void;
}

export interface UsageMeterOptions {
  logger: Logger;
  /** Without one, only the in-memory window is kept. */
  store?: UsageStore;
  /** Aggregates are written at most this often (one batch for all requests since). Default 5000. */
  flushIntervalMs?: number;
  /** Requests kept per server for `recent` and the TTFT median. Default 100. */
  windowSize?: number;
  /** Epoch ms; tests move time. */
  now?: () => number;
  /** The gateway's queue of a server now (RequestQueues.depth). */
  queueDepth?: (profileId: string) => { active: number; waiting: number; slots: number } | undefined;
}

/** Decode tokens/s by ENGINES.md's formula, or undefined when it cannot be measured (fewer than 2 tokens, or all in one chunk). */
export function decodeTokensPerSecond(completionTokens: number | undefined, firstTokenAt: number | undefined, lastTokenAt: number | undefined): number | undefined {
  if (completionTokens === undefined || completionTokens < 2 || firstTokenAt === undefined || lastTokenAt === undefined) return undefined;
  const seconds = (lastTokenAt - firstTokenAt) / 1000;
  return seconds > 0 ? (completionTokens - 1) / seconds : undefined;
}

/** One second of the last minute. */
interface SecondBucket {
  second: number;
  requests: number;
  errors: number;
  promptTokens: number;
  completionTokens: number;
  decodeTokens: number;
  decodeSeconds: number;
}

function emptyBucket(second: number): SecondBucket {
  return { second, requests: 0, errors: 0, promptTokens: 0, completionTokens: 0, decodeTokens: 0, decodeSeconds: 0 };
}

class ServerWindow {
  inFlight = 0;
  readonly total = { requests: 0, errors: 0, aborted: 0, promptTokens: 0, completionTokens: 0 };
  readonly recent: UsageRecord[] = [];
  /** Ring of the last 60 seconds, indexed by second % 60. */
  readonly seconds: SecondBucket[] = Array.from({ length: 60 }, () => emptyBucket(-1));
  lastTokensPerSecond: number | undefined;
  lastRequest: UsageRecord | undefined;

  constructor(
    readonly profileId: string,
    public profileName: string,
  ) {}
}

/** One row of `usage_daily` not yet written. */
interface PendingAggregate {
  day: string;
  profileId: string;
  profileName: string;
  userId: string;
  requests: number;
  errors: number;
  aborted: number;
  promptTokens: number;
  completionTokens: number;
  durationMs: number;
}

const UPSERT = `INSERT INTO usage_daily
  (day, profile_id, user_id, profile_name, requests, errors, aborted, prompt_tokens, completion_tokens, duration_ms)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (day, profile_id, user_id) DO UPDATE SET
    profile_name = excluded.profile_name,
    requests = requests + excluded.requests,
    errors = errors + excluded.errors,
    aborted = aborted + excluded.aborted,
    prompt_tokens = prompt_tokens + excluded.prompt_tokens,
    completion_tokens = completion_tokens + excluded.completion_tokens,
    duration_ms = duration_ms + excluded.duration_ms`;

/**
 * Per-server usage of the /v1 gateway: a rolling window in memory (last N requests, last minute)
 * and per-day aggregates in the store, written in batches rather than once per request.
 */
export class UsageMeter {
  private readonly windows = new Map<string, ServerWindow>();
  private readonly pending = new Map<string, PendingAggregate>();
  private readonly listeners = new Set<(record: UsageRecord) => void>();
  private readonly windowSize: number;
  private readonly now: () => number;
  private readonly logger: Logger;
  private readonly timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly options: UsageMeterOptions) {
    this.windowSize = options.windowSize ?? 100;
    this.now = options.now ?? Date.now;
    this.logger = options.logger.child({ part: "usage" });
    if (options.store !== undefined) {
      this.timer = setInterval(() => {
        this.flush();
      }, options.flushIntervalMs ?? 5000);
      this.timer.unref();
    }
  }

  /** A request to the server started (counts as in flight until its record arrives). */
  begin(profileId: string, profileName: string): void {
    this.window(profileId, profileName).inFlight++;
  }

  /** A request ended: updates the window, queues the aggregate and tells the listeners. */
  record(record: UsageRecord): void {
    const w = this.window(record.profileId, record.profileName);
    w.inFlight = Math.max(0, w.inFlight - 1);
    w.profileName = record.profileName;
    const isError = record.status === "error";
    const prompt = record.promptTokens ?? 0;
    const completion = record.completionTokens ?? 0;
    w.total.requests++;
    if (isError) w.total.errors++;
    if (record.status === "aborted") w.total.aborted++;
    w.total.promptTokens += prompt;
    w.total.completionTokens += completion;
    w.lastRequest = record;
    if (record.tokensPerSecond !== undefined) w.lastTokensPerSecond = record.tokensPerSecond;
    w.recent.push(record);
    if (w.recent.length > this.windowSize) w.recent.shift();

    const now = this.now();
    const second = Math.floor(now / 1000);
    const slot = second % 60;
    let bucket = w.seconds[slot];
    if (bucket?.second !== second) {
      bucket = emptyBucket(second);
      w.seconds[slot] = bucket;
    }
    bucket.requests++;
    if (isError) bucket.errors++;
    bucket.promptTokens += prompt;
    bucket.completionTokens += completion;
    if (record.tokensPerSecond !== undefined && completion >= 2) {
      bucket.decodeTokens += completion - 1;
      bucket.decodeSeconds += (completion - 1) / record.tokensPerSecond;
    }

    if (this.options.store !== undefined && !this.closed) this.queueAggregate(record);
    for (const listener of this.listeners) {
      try {
        listener(record);
      } catch (error) {
        this.logger.warn("a usage listener failed", { error: String(error) });
      }
    }
  }

  /** Calls `listener` after every request; returns the function that unsubscribes it. */
  onRecord(listener: (record: UsageRecord) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** The server's window, or undefined when no request has reached it since the manager started. */
  snapshot(profileId: string): ServerUsageSnapshot | undefined {
    const w = this.windows.get(profileId);
    return w === undefined ? undefined : this.snapshotOf(w);
  }

  /** Every server's window. */
  snapshotAll(): ServerUsageSnapshot[] {
    return [...this.windows.values()].map((w) => this.snapshotOf(w));
  }

  /** Writes the queued aggregates now, as one store batch. */
  flush(): void {
    if (this.pending.size === 0 || this.options.store === undefined) return;
    const rows = [...this.pending.values()];
    try {
      this.options.store.batch(
        rows.map((r) => ({
          sql: UPSERT,
          params: [r.day, r.profileId, r.userId, r.profileName, r.requests, r.errors, r.aborted, r.promptTokens, r.completionTokens, Math.round(r.durationMs)],
        })),
      );
      this.pending.clear();
    } catch (error) {
      // Kept for the next flush: usage figures are worth a retry, not a crash.
      this.logger.warn("could not save usage aggregates; will retry", { rows: rows.length, error: String(error) });
    }
  }

  /** Stops the timer and writes what is queued; later records only update the window. Call before closing the store. */
  close(): void {
    if (this.closed) return;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.flush();
    this.closed = true;
    this.pending.clear();
  }

  private window(profileId: string, profileName: string): ServerWindow {
    let w = this.windows.get(profileId);
    if (w === undefined) {
      w = new ServerWindow(profileId, profileName);
      this.windows.set(profileId, w);
    }
    return w;
  }

  private queueAggregate(record: UsageRecord): void {
    const day = new Date(record.startedAt).toISOString().slice(0, 10);
    const userId = record.userId ?? "";
    const key = `${day}\u0000${record.profileId}\u0000${userId}`;
    let row = this.pending.get(key);
    if (row === undefined) {
      row = { day, profileId: record.profileId, profileName: record.profileName, userId, requests: 0, errors: 0, aborted: 0, promptTokens: 0, completionTokens: 0, durationMs: 0 };
      this.pending.set(key, row);
    }
    row.profileName = record.profileName;
    row.requests++;
    if (record.status === "error") row.errors++;
    if (record.status === "aborted") row.aborted++;
    row.promptTokens += record.promptTokens ?? 0;
    row.completionTokens += record.completionTokens ?? 0;
    row.durationMs += record.durationMs;
  }

  private snapshotOf(w: ServerWindow): ServerUsageSnapshot {
    const nowSecond = Math.floor(this.now() / 1000);
    const minute = { requests: 0, errors: 0, promptTokens: 0, completionTokens: 0, decodeTokens: 0, decodeSeconds: 0 };
    for (const bucket of w.seconds) {
      if (bucket.second <= nowSecond - 60) continue;
      minute.requests += bucket.requests;
      minute.errors += bucket.errors;
      minute.promptTokens += bucket.promptTokens;
      minute.completionTokens += bucket.completionTokens;
      minute.decodeTokens += bucket.decodeTokens;
      minute.decodeSeconds += bucket.decodeSeconds;
    }
    const lastMinute: ServerUsageSnapshot["lastMinute"] = {
      requests: minute.requests,
      errors: minute.errors,
      promptTokens: minute.promptTokens,
      completionTokens: minute.completionTokens,
    };
    if (minute.decodeSeconds > 0) lastMinute.tokensPerSecond = minute.decodeTokens / minute.decodeSeconds;
    const snapshot: ServerUsageSnapshot = {
      profileId: w.profileId,
      profileName: w.profileName,
      inFlight: w.inFlight,
      total: { ...w.total },
      lastMinute,
      recent: [...w.recent],
    };
    if (w.lastTokensPerSecond !== undefined) snapshot.tokensPerSecondLastRequest = w.lastTokensPerSecond;
    const ttfts = w.recent.flatMap((r) => (r.ttftMs === undefined ? [] : [r.ttftMs])).sort((a, b) => a - b);
    if (ttfts.length > 0) snapshot.ttftP50Ms = median(ttfts);
    const waits = w.recent.flatMap((r) => (r.queueMs === undefined ? [] : [r.queueMs])).sort((a, b) => a - b);
    if (waits.length > 0) snapshot.queueWaitP50Ms = median(waits);
    const depth = this.options.queueDepth?.(w.profileId);
    if (depth !== undefined) snapshot.queue = { active: depth.active, waiting: depth.waiting, slots: depth.slots };
    if (w.lastRequest !== undefined) snapshot.lastRequest = w.lastRequest;
    return snapshot;
  }
}

function median(sorted: readonly number[]): number {
  const mid = Math.floor(sorted.length / 2);
  const upper = sorted[mid] ?? 0;
  return sorted.length % 2 === 1 ? upper : ((sorted[mid - 1] ?? upper) + upper) / 2;
}
