import crypto from "node:crypto";
import { BenchInput, type BenchProfileResult, type BenchRun, type BenchSample, type BenchSettings, type BenchSize, type BenchSizeSummary } from "../../shared/benchmarks";
import { modelRefLabel, type Profile } from "../../shared/profiles";
import type { ServerInfo } from "../../shared/servers";
import type { UsageRecord } from "../../shared/usage";
import { ApiError, parseOrThrow } from "../api/ApiError";
import type { EventBus } from "../events/EventBus";
import type { Logger } from "../logging/Logger";
import type { Store } from "../store/Store";
import { BenchClient, defaultBenchClientScript } from "./BenchClient";
import { benchPrompt } from "./benchPrompts";

// Benchmarks of profiles, one run at a time: for each profile a cold start (the server restarted,
// its load timed, then one short request), then `runs` warm requests of each size, all through the
// manager's own /v1 gateway as any client would send them, timed by a client in its own process
// (./client). The gateway's meter records the same requests; both are kept, and their medians compared.

export interface BenchServiceOptions {
  store: Store;
  events: EventBus;
  logger: Logger;
  profile: (idOrName: string) => Profile;
  servers: {
    get(idOrName: string): ServerInfo | undefined;
    stop(idOrName: string, signal: AbortSignal): Promise<ServerInfo>;
    start(idOrName: string, signal: AbortSignal): Promise<ServerInfo>;
  };
  /** The gateway's records, as each request ends. */
  onUsage: (listener: (record: UsageRecord) => void) => () => void;
  /** The manager's own /v1 and the key it takes. */
  gateway: () => { url: string; key: string };
  /** What a process holds now (bytes), and how it was measured. */
  memoryOf: (pid: number) => Promise<number | undefined>;
  memorySource: string;
  now?: () => number;
  /** The benchmark client's script (default bench-client.js next to the running bundle). */
  clientScript?: string;
  /** How often the server's memory is read while it is measured (default 250 ms). */
  memoryEveryMs?: number;
}

interface Row extends Record<string, unknown> {
  id: string;
  state: string;
  settings: string;
  profiles: string;
  results: string;
  error: string | null;
  created_at: number;
  ended_at: number | null;
}

/** The gateway meter's record of a request is waited for at most this long after its answer ended. */
const METER_WAIT_MS = 2000;

export class BenchService {
  private running: { id: string; controller: AbortController; run: BenchRun } | undefined;
  private readonly now: () => number;

  constructor(private readonly options: BenchServiceOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Runs the manager did not finish (it stopped while they ran) are interrupted. */
  init(): void {
    this.options.store.run("UPDATE benchmarks SET state = 'interrupted', ended_at = ? WHERE state = 'running'", [this.now()]);
  }

  close(): void {
    this.running?.controller.abort(new Error("the manager is shutting down"));
  }

  list(limit = 50): BenchRun[] {
    const live = this.running?.run;
    return this.options.store.all<Row>("SELECT * FROM benchmarks ORDER BY created_at DESC LIMIT ?", [limit]).map((row) => (live?.id === row.id ? live : fromRow(row)));
  }

  get(id: string): BenchRun {
    if (this.running?.id === id) return this.running.run;
    const row = this.options.store.get<Row>("SELECT * FROM benchmarks WHERE id = ?", [id]);
    if (row === undefined) throw new ApiError(404, "not_found", `No benchmark ${id}.`);
    return fromRow(row);
  }

  /** Starts a run in the background; its progress and results come as `bench.changed` events. */
  start(raw: unknown): BenchRun {
    const input = parseOrThrow(BenchInput, raw);
    if (this.running !== undefined) throw new ApiError(409, "conflict", "A benchmark is running: wait for it to end, or cancel it.");
    // Every profile is found before anything starts, so a typo fails at once.
    const profiles = input.profiles.map((p) => this.options.profile(p));
    const run: BenchRun = { id: crypto.randomUUID(), state: "running", settings: input.settings, profiles: profiles.map((p) => p.name), results: [], createdAt: this.now() };
    this.options.store.run("INSERT INTO benchmarks (id, state, settings, profiles, created_at) VALUES (?, 'running', ?, ?, ?)", [run.id, JSON.stringify(run.settings), JSON.stringify(run.profiles), run.createdAt]);
    const controller = new AbortController();
    this.running = { id: run.id, controller, run };
    this.publish(run);
    void this.execute(run, profiles, controller.signal);
    return run;
  }

  cancel(id: string): BenchRun {
    if (this.running?.id !== id) {
      const run = this.get(id);
      throw new ApiError(409, "conflict", `Benchmark ${id} is ${run.state}, not running.`);
    }
    this.running.controller.abort(new Error("cancelled"));
    return this.running.run;
  }

  remove(id: string): void {
    if (this.running?.id === id) throw new ApiError(409, "conflict", "The benchmark is running: cancel it first.");
    this.get(id);
    this.options.store.run("DELETE FROM benchmarks WHERE id = ?", [id]);
  }

  private async execute(run: BenchRun, profiles: Profile[], signal: AbortSignal): Promise<void> {
    const total = profiles.length * stepsPerProfile(run.settings);
    let done = 0;
    const client = new BenchClient(this.options.clientScript ?? defaultBenchClientScript());
    try {
      const { url, key } = this.options.gateway();
      await client.warmUp(`${url}/v1/models`, key, signal);
      for (const profile of profiles) {
        signal.throwIfAborted();
        const result = await this.benchProfile(client, run.id, profile, run.settings, signal, (step) => {
          done += step === "load" ? 0 : 1;
          run.progress = { profile: profile.name, step, done, total };
          this.publish(run);
        });
        run.results.push(result);
        this.save(run);
        signal.throwIfAborted();
      }
      run.state = "completed";
    } catch (error) {
      run.state = signal.aborted ? "cancelled" : "failed";
      if (!signal.aborted) run.error = error instanceof Error ? error.message : String(error);
    } finally {
      client.close();
    }
    delete run.progress;
    run.endedAt = this.now();
    this.save(run);
    this.running = undefined;
    this.publish(run);
  }

  private async benchProfile(client: BenchClient, runId: string, profile: Profile, settings: BenchSettings, signal: AbortSignal, step: (what: string) => void): Promise<BenchProfileResult> {
    const result: BenchProfileResult = { profileId: profile.id, profileName: profile.name, engine: profile.engine, model: modelRefLabel(profile.model), sizes: [], samples: [], memorySource: this.options.memorySource };
    const remote = profile.engine === "remote";
    let peak: number | undefined;
    let sampling: ReturnType<typeof setInterval> | undefined;
    const sample = async (): Promise<void> => {
      const pid = this.options.servers.get(profile.id)?.pid;
      if (pid === undefined) return;
      const bytes = await this.options.memoryOf(pid).catch(() => undefined);
      if (bytes !== undefined && (peak === undefined || bytes > peak)) peak = bytes;
    };
    try {
      if (settings.cold && !remote) {
        step("load");
        const before = this.options.servers.get(profile.id);
        if (before !== undefined && before.state !== "stopped" && before.state !== "failed") await this.options.servers.stop(profile.id, signal);
        const started = performance.now();
        await this.options.servers.start(profile.id, signal);
        result.loadMs = performance.now() - started;
      }
      if (!remote) {
        sampling = setInterval(() => { void sample(); }, this.options.memoryEveryMs ?? 250);
        await sample();
      }
      if (settings.cold) {
        const cold = await this.request(client, runId, profile, "short", settings, true, result.samples.length + 1, signal);
        result.cold = cold;
        result.samples.push(cold);
        step("cold");
      }
      for (const size of settings.sizes) {
        for (let i = 0; i < settings.runs; i++) {
          const s = await this.request(client, runId, profile, size, settings, false, result.samples.length + 1, signal);
          result.samples.push(s);
          step(size);
          // A size the model cannot take (its context, say) fails the same every time: once is enough.
          if (s.error !== undefined) break;
        }
      }
      if (!remote) await sample();
    } catch (error) {
      // Cancelled: what was measured until then is kept, and the run ends after it.
      result.error = signal.aborted ? "cancelled" : error instanceof Error ? error.message : String(error);
    } finally {
      clearInterval(sampling);
    }
    for (const size of settings.sizes) {
      const summary = summarise(size, result.samples.filter((s) => s.size === size && !s.cold && s.error === undefined));
      if (summary !== undefined) result.sizes.push(summary);
    }
    if (peak !== undefined) result.peakMemoryBytes = peak;
    return result;
  }

  /** One streamed chat completion through the gateway, timed by the client process; the meter's record of it is awaited too. */
  /** `n`: the request's number in the profile's measure; its prompt's first line names the run and it. */
  private async request(client: BenchClient, runId: string, profile: Profile, size: BenchSize, settings: BenchSettings, cold: boolean, n: number, signal: AbortSignal): Promise<BenchSample> {
    const { url, key } = this.options.gateway();
    let meterRecord: UsageRecord | undefined;
    let gotRecord: () => void = () => undefined;
    const recorded = new Promise<void>((resolve) => { gotRecord = resolve; });
    // The gateway's record of this very request: it carries the id the client sends.
    const requestId = `bench-${crypto.randomUUID()}`;
    const unsubscribe = this.options.onUsage((record) => {
      if (record.requestId !== requestId || meterRecord !== undefined) return;
      meterRecord = record;
      gotRecord();
    });
    const sample: BenchSample = { size, cold, promptTokens: 0, completionTokens: 0, ttftMs: 0, promptTokensPerSecond: 0 };
    try {
      const body = JSON.stringify({ model: profile.name, messages: [{ role: "user", content: benchPrompt(size, `Benchmark ${runId.slice(0, 8)}, request ${n}.`) }], max_tokens: settings.maxTokens, temperature: 0, stream: true, stream_options: { include_usage: true } });
      const timing = await client.request({ url: `${url}/v1/chat/completions`, key, requestId, body }, signal);
      sample.promptTokens = timing.promptTokens;
      sample.completionTokens = timing.completionTokens;
      sample.textReads = timing.textReads;
      if (timing.ttftMs !== undefined) {
        sample.ttftMs = timing.ttftMs;
        sample.promptTokensPerSecond = timing.promptTokens / (timing.ttftMs / 1000);
      }
      if (timing.decodeTokensPerSecond !== undefined) sample.decodeTokensPerSecond = timing.decodeTokensPerSecond;
      if (timing.error !== undefined) {
        sample.error = timing.error;
        return sample;
      }
      await Promise.race([recorded, new Promise((resolve) => setTimeout(resolve, METER_WAIT_MS))]);
      const m = meterRecord;
      if (m !== undefined) sample.meter = { ...(m.firstTokenMs === undefined ? {} : { ttftMs: m.firstTokenMs }), ...(m.ttftMs === undefined ? {} : { prefillMs: m.ttftMs }), ...(m.tokensPerSecond === undefined ? {} : { decodeTokensPerSecond: m.tokensPerSecond }) };
      return sample;
    } catch (error) {
      if (signal.aborted) throw error;
      sample.error = error instanceof Error ? error.message : String(error);
      return sample;
    } finally {
      unsubscribe();
    }
  }

  private save(run: BenchRun): void {
    this.options.store.run("UPDATE benchmarks SET state = ?, results = ?, error = ?, ended_at = ? WHERE id = ?", [run.state, JSON.stringify(run.results), run.error ?? null, run.endedAt ?? null, run.id]);
  }

  private publish(run: BenchRun): void {
    this.options.events.publish({ type: "bench.changed", data: run });
  }
}

function stepsPerProfile(settings: BenchSettings): number {
  return (settings.cold ? 1 : 0) + settings.sizes.length * settings.runs;
}

/** Medians (and p95 of TTFT) of a size's warm runs, and the meter's medians beside them. */
export function summarise(size: BenchSize, samples: BenchSample[]): BenchSizeSummary | undefined {
  if (samples.length === 0) return undefined;
  const ttft = samples.map((s) => s.ttftMs);
  const decode = samples.flatMap((s) => (s.decodeTokensPerSecond === undefined ? [] : [s.decodeTokensPerSecond]));
  const meterTtft = samples.flatMap((s) => (s.meter?.ttftMs === undefined ? [] : [s.meter.ttftMs]));
  // Compared on the same requests: those whose decode this client could time.
  const meterDecode = samples.flatMap((s) => (s.decodeTokensPerSecond === undefined || s.meter?.decodeTokensPerSecond === undefined ? [] : [s.meter.decodeTokensPerSecond]));
  const decodeP50 = decode.length > 0 ? percentile(decode, 50) : undefined;
  const ttftP50 = percentile(ttft, 50);
  const meter: BenchSizeSummary["meter"] = {};
  if (meterTtft.length > 0) {
    meter.ttftP50Ms = percentile(meterTtft, 50);
    meter.ttftRatio = ttftP50 / meter.ttftP50Ms;
  }
  if (meterDecode.length > 0 && decodeP50 !== undefined) {
    meter.decodeTokensPerSecond = percentile(meterDecode, 50);
    meter.decodeRatio = decodeP50 / meter.decodeTokensPerSecond;
  }
  return {
    size,
    runs: samples.length,
    promptTokens: percentile(samples.map((s) => s.promptTokens), 50),
    ttftP50Ms: ttftP50,
    ttftP95Ms: percentile(ttft, 95),
    promptTokensPerSecond: percentile(samples.map((s) => s.promptTokensPerSecond), 50),
    ...(decodeP50 === undefined ? {} : { decodeTokensPerSecond: decodeP50 }),
    meter,
  };
}

/** Nearest-rank percentile. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
}

function fromRow(row: Row): BenchRun {
  return {
    id: row.id,
    state: row.state as BenchRun["state"],
    settings: JSON.parse(row.settings) as BenchSettings,
    profiles: JSON.parse(row.profiles) as string[],
    results: JSON.parse(row.results) as BenchProfileResult[],
    ...(row.error === null ? {} : { error: row.error }),
    createdAt: row.created_at,
    ...(row.ended_at === null ? {} : { endedAt: row.ended_at }),
  };
}

