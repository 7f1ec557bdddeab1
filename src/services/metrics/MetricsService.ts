import { execFile } from "node:child_process";
import os from "node:os";
import pidusage from "pidusage";
import type {
  MetricPoint,
  MetricsSnapshot,
  ServerMemorySource,
  ServerMetrics,
  SystemMetrics,
  Unavailable,
} from "../../shared/metrics";
import type { ServerInfo } from "../../shared/servers";
import type { Logger } from "../logging/Logger";
import {
  parseFootprint,
  parseIoregGpuUtilization,
  parseMemoryPressure,
  parseSysctlMemsize,
  parseVmmapSummary,
  parseVmStat,
  vmStatUsedBytes,
} from "./macos";

/** Per-server request figures the gateway's meter provides (adapted to this shape by the manager). */
export interface RequestStatsSource {
  stats(
    profileId: string,
  ):
    | { requests: number; tokensPerSecLast?: number; tokensPerSecMinute?: number; ttftP50Ms?: number; queueWaitP50Ms?: number; queue?: { active: number; waiting: number; slots: number } }
    | undefined;
}

/** Runs a command (argument array, no shell) and resolves with its stdout; rejects on failure, timeout or abort. */
export type CommandRunner = (cmd: string, args: string[], signal: AbortSignal) => Promise<string>;

export interface MetricsServiceDeps {
  /** Every server the supervisor knows; only running/unhealthy ones with a pid are sampled. */
  servers: () => ServerInfo[];
  requests: RequestStatsSource;
  logger: Logger;
  platform?: NodeJS.Platform;
  /** Runs the macOS tools; tests inject recorded outputs. */
  run?: CommandRunner;
  /** Sampling period while someone watches (default 2000 ms). */
  intervalMs?: number;
  /** Points kept per sparkline (default 150: five minutes at 2 s). */
  historyPoints?: number;
  now?: () => number;
}

/** One process's usage as pidusage reports it (CPU time in ms, memory = RSS in bytes). */
interface ProcessReading {
  ctimeMs: number;
  rssBytes: number;
}

interface ServerHistory {
  memoryBytes: MetricPoint[];
  tokensPerSec: MetricPoint[];
  cpuPercent: MetricPoint[];
  /** pid and CPU time at the previous sample, for this interval's CPU %. */
  last?: { pid: number; ctimeMs: number; at: number };
}

type SampleListener = (snapshot: MetricsSnapshot) => void;

const COMMAND_TIMEOUT_MS = 5_000;
/** Samples the sampler's own cost is averaged over. */
const COST_WINDOW = 30;
const SAMPLED_STATES = new Set<ServerInfo["state"]>(["running", "unhealthy"]);

/** The default runner: execFile with an argument array, a timeout and the caller's signal. */
export const execFileRunner: CommandRunner = (cmd, args, signal) =>
  new Promise((resolve, reject) => {
    execFile(
      cmd,
      args,
      {
        encoding: "utf8",
        timeout: COMMAND_TIMEOUT_MS,
        maxBuffer: 16 * 1024 * 1024,
        signal,
        windowsHide: true,
      },
      (error: Error | null, stdout: string) => {
        if (error) reject(error);
        else resolve(stdout);
      },
    );
  });

/**
 * Samples per-server CPU/memory and system memory/GPU every `intervalMs` while at least one
 * client watches, and not at all otherwise (no timer exists then); `snapshot()` samples once on
 * demand when nobody watches. Keeps short, bounded history for sparklines.
 *
 * Cost: on Linux a sample is one batched pidusage call (reads /proc/PID/stat, no process spawned)
 * plus os.freemem(). On macOS it also runs vm_stat, memory_pressure, ioreg and one footprint per
 * server (sysctl hw.memsize once), since those figures exist nowhere else without sudo.
 */
export class MetricsService {
  private readonly platform: NodeJS.Platform;
  private readonly run: CommandRunner;
  private readonly intervalMs: number;
  private readonly historyPoints: number;
  private readonly now: () => number;
  private readonly log: Logger;

  private watchers = 0;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<MetricsSnapshot> | undefined;
  private latest: MetricsSnapshot | undefined;
  private readonly listeners = new Set<SampleListener>();
  private readonly serverHistory = new Map<string, ServerHistory>();
  private readonly systemHistory: { memoryUsedBytes: MetricPoint[]; gpuUtilizationPercent: MetricPoint[] } = {
    memoryUsedBytes: [],
    gpuUtilizationPercent: [],
  };
  private memTotalBytes: number | undefined;
  private samples = 0;
  /** CPU µs of the most recent samples (a window, so one-time start-up costs age out). */
  private readonly recentCpuMicros: number[] = [];
  private lastCpuMs = 0;
  private readonly lifetime = new AbortController();

  constructor(private readonly deps: MetricsServiceDeps) {
    this.platform = deps.platform ?? process.platform;
    this.run = deps.run ?? execFileRunner;
    this.intervalMs = Math.max(1, Math.round(deps.intervalMs ?? 2_000));
    this.historyPoints = Math.max(1, Math.round(deps.historyPoints ?? 150));
    this.now = deps.now ?? Date.now;
    this.log = deps.logger.child({ part: "metrics" });
  }

  /** Samples taken so far (for tests and the sampler's own stats). */
  get sampleCount(): number {
    return this.samples;
  }

  /** Clients watching now. */
  get watcherCount(): number {
    return this.watchers;
  }

  /** Starts periodic sampling for one more watcher; call the returned function (once) to stop watching. */
  watch(): () => void {
    this.watchers += 1;
    if (this.watchers === 1 && !this.lifetime.signal.aborted) {
      this.log.debug("sampling started");
      this.tick();
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.watchers -= 1;
      if (this.watchers === 0) {
        clearTimeout(this.timer);
        this.timer = undefined;
        this.log.debug("sampling stopped", { samples: this.samples });
      }
    };
  }

  /** Calls `listener` with every new sample; returns the unsubscribe function. */
  onSample(listener: SampleListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /**
   * The latest sample. While someone watches it is at most one interval old; when nobody watches
   * (or the periodic sample is stale) it samples now, but at most once per interval however often
   * it is asked (a Prometheus scrape storm costs one sample per interval).
   */
  async snapshot(): Promise<MetricsSnapshot> {
    const latest = this.latest;
    const age = latest === undefined ? Infinity : this.now() - latest.sampledAt;
    const fresh = this.watchers > 0 ? age <= 2 * this.intervalMs : age < this.intervalMs;
    if (latest && fresh) return latest;
    return this.sampleOnce();
  }

  /** Stops sampling for good: clears the timer, aborts running tools, drops listeners. */
  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.lifetime.abort(new Error("the metrics service closed"));
    this.listeners.clear();
  }

  /** One periodic sample, then the next one scheduled an interval after this one started. */
  private tick(): void {
    const started = this.now();
    this.sampleOnce()
      .catch((error: unknown) => {
        this.log.warn("metrics sample failed", { error: String(error) });
      })
      .finally(() => {
        if (this.watchers === 0 || this.lifetime.signal.aborted || this.timer !== undefined) return;
        const wait = Math.max(0, this.intervalMs - (this.now() - started));
        this.timer = setTimeout(() => {
          this.timer = undefined;
          if (this.watchers > 0) this.tick();
        }, wait);
        this.timer.unref();
      });
  }

  /** Takes one sample, or joins the one already running (never two at once). */
  private sampleOnce(): Promise<MetricsSnapshot> {
    this.inFlight ??= this.sample().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async sample(): Promise<MetricsSnapshot> {
    const cpuBefore = process.cpuUsage();
    const signal = this.lifetime.signal;
    const at = this.now();
    const running = this.deps
      .servers()
      .filter(
        (s): s is ServerInfo & { pid: number } =>
          SAMPLED_STATES.has(s.state) && typeof s.pid === "number" && s.pid > 0,
      );

    const [readings, footprints, system] = await Promise.all([
      this.readProcesses(running.map((s) => s.pid)),
      this.platform === "darwin"
        ? this.readFootprints(
            running.map((s) => s.pid),
            signal,
          )
        : new Map<number, number>(),
      this.readSystem(signal),
    ]);

    const servers = running.map((server) =>
      this.serverMetrics(server, at, readings.get(server.pid), footprints.get(server.pid)),
    );
    this.forgetServersNotIn(new Set(running.map((s) => s.profileId)));

    push(this.systemHistory.memoryUsedBytes, [at, system.memoryUsedBytes], this.historyPoints);
    if (system.gpuUtilizationPercent !== null) {
      push(this.systemHistory.gpuUtilizationPercent, [at, system.gpuUtilizationPercent], this.historyPoints);
    }

    const cpu = process.cpuUsage(cpuBefore);
    const cpuMicros = cpu.user + cpu.system;
    this.samples += 1;
    this.recentCpuMicros.push(cpuMicros);
    if (this.recentCpuMicros.length > COST_WINDOW) this.recentCpuMicros.shift();
    this.lastCpuMs = cpuMicros / 1000;
    const averageCpuMs = this.recentCpuMicros.reduce((a, b) => a + b, 0) / this.recentCpuMicros.length / 1000;

    const snapshot: MetricsSnapshot = {
      sampledAt: at,
      servers,
      system: {
        ...system,
        history: {
          memoryUsedBytes: [...this.systemHistory.memoryUsedBytes],
          gpuUtilizationPercent: [...this.systemHistory.gpuUtilizationPercent],
        },
      },
      sampler: {
        samples: this.samples,
        intervalMs: this.intervalMs,
        watchers: this.watchers,
        lastCpuMs: round(this.lastCpuMs, 3),
        cpuPercentOfInterval: round((averageCpuMs / this.intervalMs) * 100, 4),
      },
    };
    this.latest = snapshot;
    for (const listener of this.listeners) {
      try {
        listener(snapshot);
      } catch (error) {
        this.log.warn("metrics listener failed", { error: String(error) });
      }
    }
    return snapshot;
  }

  private serverMetrics(
    server: ServerInfo & { pid: number },
    at: number,
    reading: ProcessReading | undefined,
    footprintBytes: number | undefined,
  ): ServerMetrics {
    let history = this.serverHistory.get(server.profileId);
    if (!history) {
      history = { memoryBytes: [], tokensPerSec: [], cpuPercent: [] };
      this.serverHistory.set(server.profileId, history);
    }

    // CPU % over the interval since this server's previous sample, from the CPU-time delta; on
    // the first sample (or after a restart under a new pid) there is no interval yet.
    let cpuPercent: number | Unavailable = null;
    if (reading) {
      const last = history.last;
      if (last && last.pid === server.pid && at > last.at && reading.ctimeMs >= last.ctimeMs) {
        cpuPercent = round(((reading.ctimeMs - last.ctimeMs) / (at - last.at)) * 100, 2);
      }
      history.last = { pid: server.pid, ctimeMs: reading.ctimeMs, at };
    } else {
      delete history.last;
    }

    let memoryBytes: number | Unavailable = null;
    let memorySource: ServerMemorySource | Unavailable = null;
    if (footprintBytes !== undefined) {
      memoryBytes = footprintBytes;
      memorySource = "phys_footprint";
    } else if (reading) {
      memoryBytes = reading.rssBytes;
      memorySource = "rss";
    }

    const stats = this.deps.requests.stats(server.profileId);
    const tokensPerSecMinute = finiteOrNull(stats?.tokensPerSecMinute);
    if (memoryBytes !== null) push(history.memoryBytes, [at, memoryBytes], this.historyPoints);
    if (cpuPercent !== null) push(history.cpuPercent, [at, cpuPercent], this.historyPoints);
    if (tokensPerSecMinute !== null) push(history.tokensPerSec, [at, tokensPerSecMinute], this.historyPoints);

    return {
      profileId: server.profileId,
      profileName: server.profileName,
      engine: server.engine,
      pid: server.pid,
      cpuPercent,
      memoryBytes,
      memorySource,
      uptimeSeconds:
        server.startedAt === undefined ? null : Math.max(0, round((at - server.startedAt) / 1000, 1)),
      requests: stats?.requests ?? 0,
      tokensPerSecLast: finiteOrNull(stats?.tokensPerSecLast),
      tokensPerSecMinute,
      ttftP50Ms: finiteOrNull(stats?.ttftP50Ms),
      queueWaitP50Ms: finiteOrNull(stats?.queueWaitP50Ms),
      queueDepth: stats?.queue?.waiting ?? 0,
      activeRequests: stats?.queue?.active ?? 0,
      slots: stats?.queue?.slots ?? null,
      history: {
        memoryBytes: [...history.memoryBytes],
        tokensPerSec: [...history.tokensPerSec],
        cpuPercent: [...history.cpuPercent],
      },
    };
  }

  private forgetServersNotIn(live: Set<string>): void {
    for (const profileId of this.serverHistory.keys()) {
      if (!live.has(profileId)) this.serverHistory.delete(profileId);
    }
  }

  /** What each process holds now: phys_footprint on macOS (it counts Metal buffers), RSS elsewhere. */
  async memoryOf(pids: number[]): Promise<Map<number, number>> {
    const [readings, footprints] = await Promise.all([
      this.readProcesses(pids),
      this.platform === "darwin" ? this.readFootprints(pids, this.lifetime.signal) : new Map<number, number>(),
    ]);
    const held = new Map<number, number>();
    for (const pid of pids) {
      const bytes = footprints.get(pid) ?? readings.get(pid)?.rssBytes;
      if (bytes !== undefined) held.set(pid, bytes);
    }
    return held;
  }

  /** CPU time and RSS of every pid in one pidusage call (Linux: /proc reads; macOS: one `ps`). */
  private async readProcesses(pids: number[]): Promise<Map<number, ProcessReading>> {
    const readings = new Map<number, ProcessReading>();
    if (pids.length === 0) return readings;
    let stats: Record<string, pidusage.Status | undefined>;
    try {
      stats = await pidusage(pids);
    } catch (error) {
      // A single gone pid rejects the whole call; several are skipped one by one.
      this.log.debug("pidusage failed", { pids, error: String(error) });
      return readings;
    }
    for (const pid of pids) {
      const stat = stats[String(pid)];
      if (stat && Number.isFinite(stat.ctime) && Number.isFinite(stat.memory)) {
        readings.set(pid, { ctimeMs: stat.ctime, rssBytes: stat.memory });
      }
    }
    return readings;
  }

  /** macOS: each server's phys_footprint, from `footprint -p PID`, else `vmmap --summary PID`. */
  private async readFootprints(pids: number[], signal: AbortSignal): Promise<Map<number, number>> {
    const found = new Map<number, number>();
    await Promise.all(
      pids.map(async (pid) => {
        const bytes =
          (await this.tryRun("footprint", ["-p", String(pid)], signal, (text) =>
            parseFootprint(text, pid),
          )) ?? (await this.tryRun("vmmap", ["--summary", String(pid)], signal, parseVmmapSummary));
        if (bytes !== undefined) found.set(pid, bytes);
      }),
    );
    return found;
  }

  private async readSystem(signal: AbortSignal): Promise<Omit<SystemMetrics, "history">> {
    if (this.platform !== "darwin") {
      const total = os.totalmem();
      return {
        platform: this.platform,
        memoryTotalBytes: total,
        memoryUsedBytes: Math.max(0, total - os.freemem()),
        memorySource: "os",
        memoryFreePercent: null,
        gpuUtilizationPercent: null,
      };
    }
    this.memTotalBytes ??= await this.tryRun("sysctl", ["-n", "hw.memsize"], signal, parseSysctlMemsize);
    const [vm, pressure, gpu] = await Promise.all([
      this.tryRun("vm_stat", [], signal, parseVmStat),
      this.tryRun("memory_pressure", [], signal, parseMemoryPressure),
      this.tryRun(
        "ioreg",
        ["-r", "-d", "1", "-w", "0", "-c", "IOAccelerator"],
        signal,
        parseIoregGpuUtilization,
      ),
    ]);
    // os.totalmem() reads the same hw.memsize through libuv; it only stands in if sysctl failed.
    const total = this.memTotalBytes ?? pressure?.totalBytes ?? os.totalmem();
    return {
      platform: this.platform,
      memoryTotalBytes: total,
      memoryUsedBytes: vm ? Math.min(total, vmStatUsedBytes(vm)) : Math.max(0, total - os.freemem()),
      memorySource: vm ? "vm_stat" : "os",
      memoryFreePercent: pressure?.freePercent ?? null,
      gpuUtilizationPercent: gpu ?? null,
    };
  }

  /** Runs a tool and parses its output; undefined (logged at debug) when it fails or says nothing usable. */
  private async tryRun<T>(
    cmd: string,
    args: string[],
    signal: AbortSignal,
    parse: (text: string) => T | undefined,
  ): Promise<T | undefined> {
    try {
      const parsed = parse(await this.run(cmd, args, signal));
      if (parsed === undefined) this.log.debug("unrecognised tool output", { cmd, args });
      return parsed;
    } catch (error) {
      this.log.debug("tool failed", { cmd, args, error: String(error) });
      return undefined;
    }
  }
}

function push(series: MetricPoint[], point: MetricPoint, max: number): void {
  series.push(point);
  if (series.length > max) series.splice(0, series.length - max);
}

function finiteOrNull(value: number | undefined): number | Unavailable {
  return value !== undefined && Number.isFinite(value) && value >= 0 ? value : null;
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
