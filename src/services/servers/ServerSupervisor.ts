import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { EngineId } from "../../shared/engines";
import type { ManagerEvent } from "../../shared/events";
import type { Profile } from "../../shared/profiles";
import type { ServerInfo, ServerState, ServerStopReason } from "../../shared/servers";
import { ApiError } from "../api/ApiError";
import type { HealthResult } from "../engines/healthProbe";
import type { EngineDescription } from "../engines/registry";
import type { EventBus } from "../events/EventBus";
import type { Logger } from "../logging/Logger";
import { processStartTime } from "../process/processInfo";
import { resolveModel, type ModelCatalog, type ResolvedModel } from "../profiles/modelResolution";
import { locateEngine, type EngineLocatorOptions } from "./engineLocator";
import { estimateMemory, memoryWarning } from "./memoryEstimate";
import { anyFreePort, findPortHolder, isPortFree, nextFreePort } from "./ports";
import { groupAlive, isProcessRunning, isSameProcess, signalGroup } from "./processes";
import type { ServerDirectory } from "./ServerDirectory";
import type { ServerRecord, ServerRecords } from "./ServerRecords";
import {
  appendLogLine,
  logSlug,
  openLogForAppend,
  pruneOldLogs,
  readLogTail,
  rotateIfLarge,
} from "./serverLogs";

/** Timings and limits of the supervisor; every one has a default (see DEFAULT_SETTINGS). */
export interface SupervisorSettings {
  /** A start fails when health has not answered 200 after this long. */
  startTimeoutMs: number;
  /** Health is polled this often while a server starts. */
  startPollMs: number;
  /** SIGTERM → SIGKILL grace period on stop. */
  stopGraceMs: number;
  /** Running servers are health-checked this often, all at once. */
  healthIntervalMs: number;
  healthTimeoutMs: number;
  /** Consecutive failed health checks before a server is `unhealthy`. */
  unhealthyAfterFailures: number;
  /** An unhealthy server of a restartOnCrash profile is restarted after this long. */
  unhealthyRestartMs: number;
  /** Adopted servers (no exit event) are checked for life this often; also the idle-stop tick. */
  livenessIntervalMs: number;
  /** First crash-restart delay; doubles with every crash in the window. */
  restartBackoffMs: number;
  restartBackoffMaxMs: number;
  /** Crash restarts allowed within `restartWindowMs`; the next crash leaves the server failed. */
  maxRestarts: number;
  restartWindowMs: number;
  /** A server log is rotated (copy-and-truncate) past this size, keeping `logKeep` old copies. */
  logMaxBytes: number;
  logKeep: number;
  /** Server logs untouched this long are deleted at start. */
  logMaxAgeMs: number;
  /** Log lines reported with a failure. */
  logTailLines: number;
}

export const DEFAULT_SETTINGS: SupervisorSettings = {
  startTimeoutMs: 120_000,
  startPollMs: 100,
  stopGraceMs: 5_000,
  healthIntervalMs: 5_000,
  healthTimeoutMs: 3_000,
  unhealthyAfterFailures: 2,
  unhealthyRestartMs: 60_000,
  livenessIntervalMs: 1_000,
  restartBackoffMs: 1_000,
  restartBackoffMaxMs: 60_000,
  maxRestarts: 5,
  restartWindowMs: 10 * 60_000,
  logMaxBytes: 20 * 1024 * 1024,
  logKeep: 2,
  logMaxAgeMs: 30 * 24 * 3600_000,
  logTailLines: 20,
};

/** What the supervisor needs of the profiles. */
export interface ProfileLookup {
  /** By id, or by name (case-insensitive). */
  find(idOrName: string): Profile | undefined;
  /** Like find, but a 404 ApiError when there is none. */
  get(idOrName: string): Profile;
  list(): Profile[];
}

export interface ServerSupervisorOptions {
  profiles: ProfileLookup;
  catalog: ModelCatalog;
  events: EventBus;
  logger: Logger;
  records: ServerRecords;
  engines: Readonly<Record<EngineId, EngineDescription>>;
  /** Where server logs go: `<dataDir>/logs/servers`. */
  logDir: string;
  /** Explicit engine executables (a user setting); they win over PATH. */
  executables?: Partial<Record<EngineId, string>>;
  /** Environment of the engines (plus each profile's options.env) and of the PATH lookup. Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Home folder for the usual engine places (default os.homedir()). */
  home?: string;
  /** Node binary for the built-in engine (default process.execPath). */
  nodePath?: string;
  /** The built-in engine script (default llama-engine.js next to the running bundle). */
  llamaScript?: string;
  /** Free memory for the fit check (default os.freemem). */
  freeMemory?: () => number;
  now?: () => number;
  settings?: Partial<SupervisorSettings>;
}

export interface StartOptions {
  /** Resolve once the process is spawned (state `starting`) instead of when it is ready. */
  wait?: boolean;
}

/** What `init` found in the store from an earlier manager run. */
export interface AdoptionReport {
  adopted: ServerInfo[];
  /** Profile ids whose recorded server was gone (or was another process by now). */
  cleaned: string[];
  /** Servers whose profile was deleted meanwhile: stopped. */
  stoppedOrphans: string[];
}

interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

interface Entry {
  info: ServerInfo;
  /** Bumped at every spawn or adoption so late events of an earlier process are ignored. */
  launch: number;
  processStart: string | undefined;
  child: ChildProcess | undefined;
  exit: ExitInfo | undefined;
  /** Resolves when the spawned process has exited (adopted ones: never; watched by liveness). */
  exited: Promise<void>;
  upstreamModel: string;
  /** Aborts the health wait of the start in progress (a stop during start). */
  startAbort: AbortController | undefined;
  stopping: boolean;
  crashes: number[];
  restartTimer: NodeJS.Timeout | undefined;
  healthFailures: number;
  healthInFlight: boolean;
  unhealthySince: number | undefined;
}

interface LaunchOptions {
  /** Reuse this port when the profile's port is "auto" and it is still free (restart keeps its port). */
  preferredPort?: number;
  /** A restart after a crash: keeps the crash history. */
  crashRestart?: boolean;
}

interface StartJob {
  spawned: Promise<ServerInfo>;
  ready: Promise<ServerInfo>;
}

const LIVE_STATES: readonly ServerState[] = ["starting", "running", "unhealthy", "stopping"];

function isLive(entry: Entry | undefined): boolean {
  return entry !== undefined && LIVE_STATES.includes(entry.info.state);
}

function stillStarting(entry: Entry, launchId: number): boolean {
  return entry.launch === launchId && entry.exit === undefined && !entry.stopping;
}

function snapshot(info: ServerInfo): ServerInfo {
  return {
    ...info,
    command: [...info.command],
    warnings: [...info.warnings],
    ...(info.failure
      ? { failure: { message: info.failure.message, logTail: [...info.failure.logTail] } }
      : {}),
  };
}

/** "10 minutes", "1 hour", "3 seconds", for messages. */
export function describeDuration(ms: number): string {
  const units: [number, string][] = [
    [3600_000, "hour"],
    [60_000, "minute"],
    [1000, "second"],
  ];
  for (const [size, name] of units) {
    if (ms >= size && ms % size === 0) {
      const n = ms / size;
      return `${n} ${name}${n === 1 ? "" : "s"}`;
    }
  }
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)} seconds` : `${ms} ms`;
}

function quoteArg(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, "'\\''")}'`;
}

function describeModelRef(profile: Profile): string {
  const m = profile.model;
  return m.source === "path"
    ? m.path
    : `${m.repoId}${m.revision ? `@${m.revision}` : ""}${m.file ? `:${m.file}` : ""}`;
}

/** A signal that never aborts: the default of the actions. */
const NEVER = new AbortController().signal;

/** Settles like `promise`, or rejects with the abort reason as soon as `signal` aborts (the promise runs on). */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal === NEVER) return promise;
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      reject(signal.reason as Error);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- passes on the promise's own reason unchanged
        reject(error);
      },
    );
  });
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

/**
 * Starts, watches and stops the model servers of profiles: one process per profile, in its own
 * process group, output straight to a log file, recorded in the store so that servers outlive the
 * manager and a restarted manager re-adopts them. Implements the gateway's ServerDirectory.
 */
export class ServerSupervisor implements ServerDirectory {
  private readonly settings: SupervisorSettings;
  private readonly entries = new Map<string, Entry>();
  private readonly starts = new Map<string, StartJob>();
  private readonly stops = new Map<string, Promise<ServerInfo>>();
  /** Ports handed to launches still being checked, so two auto starts never pick the same one. */
  private readonly reservedPorts = new Set<number>();
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly env: NodeJS.ProcessEnv;
  private timers: NodeJS.Timeout[] = [];
  private unsubscribe: (() => void) | undefined;
  private launches = 0;
  private closed = false;

  constructor(private readonly options: ServerSupervisorOptions) {
    this.settings = { ...DEFAULT_SETTINGS, ...options.settings };
    this.log = options.logger.child({ part: "servers" });
    this.now = options.now ?? Date.now;
    this.env = options.env ?? process.env;
  }

  /** Re-adopts servers an earlier manager left running, cleans records of dead ones, starts the watchers. */
  async init(signal: AbortSignal = NEVER): Promise<AdoptionReport> {
    fs.mkdirSync(this.options.logDir, { recursive: true, mode: 0o700 });
    const report: AdoptionReport = { adopted: [], cleaned: [], stoppedOrphans: [] };
    const { records, unreadable } = this.options.records.all();
    for (const id of unreadable) {
      this.log.warn("removed an unreadable server record", { profileId: id });
      this.options.records.remove(id);
      report.cleaned.push(id);
    }
    const adoptions: Promise<void>[] = [];
    for (const record of records) {
      signal.throwIfAborted();
      const identity = { pid: record.pid, processStart: record.processStart, command: record.command };
      if (!isSameProcess(identity)) {
        this.log.info("server of an earlier run is gone; removed its record", {
          profile: record.profileName,
          pid: record.pid,
        });
        appendLogLine(
          record.logFile,
          `=== ${new Date(this.now()).toISOString()} mlx-manager: pid ${record.pid} was no longer running when the manager started`,
        );
        this.options.records.remove(record.profileId);
        report.cleaned.push(record.profileId);
        continue;
      }
      const profile = this.options.profiles.find(record.profileId);
      if (!profile) {
        this.log.warn("server of a deleted profile was still running; stopping it", {
          profile: record.profileName,
          pid: record.pid,
        });
        const entry = this.adoptEntry(record);
        adoptions.push(
          this.stopEntry(entry, "profile_deleted").then(() => {
            this.entries.delete(record.profileId);
          }),
        );
        report.stoppedOrphans.push(record.profileId);
        continue;
      }
      const entry = this.adoptEntry(record);
      adoptions.push(
        this.confirmAdopted(entry).then(() => {
          report.adopted.push(snapshot(entry.info));
        }),
      );
    }
    await Promise.all(adoptions);
    const inUse = new Set([...this.entries.values()].map((e) => e.info.logFile));
    for (const file of pruneOldLogs(this.options.logDir, this.settings.logMaxAgeMs, inUse, this.now()))
      this.log.info("deleted an old server log", { file });

    this.unsubscribe = this.options.events.subscribe((event) => {
      this.onEvent(event);
    });
    this.timers = [
      setInterval(() => {
        this.tick();
      }, this.settings.livenessIntervalMs),
      setInterval(() => void this.checkHealth(), this.settings.healthIntervalMs),
    ];
    for (const timer of this.timers) timer.unref();
    return report;
  }

  // ------------------------------------------------------------------ queries

  /** Every server the supervisor knows, in any state. */
  list(): ServerInfo[] {
    return [...this.entries.values()]
      .map((e) => snapshot(e.info))
      .sort((a, b) => a.profileName.localeCompare(b.profileName));
  }

  /** The server of a profile (by profile id or name), if it was started since the manager started. */
  get(idOrName: string): ServerInfo | undefined {
    const entry = this.entryFor(idOrName);
    return entry ? snapshot(entry.info) : undefined;
  }

  /** The profile a request's `model` names: a profile name or id, else the repo id / path of exactly one profile. */
  findProfile(model: string): Profile | undefined {
    const direct = this.options.profiles.find(model);
    if (direct) return direct;
    const matches = this.options.profiles.list().filter((p) => {
      const m = p.model;
      if (m.source === "path") return m.path === model;
      return m.repoId === model || (m.file !== undefined && `${m.repoId}:${m.file}` === model);
    });
    if (matches.length === 1) return matches[0];
    const running = matches.filter((p) => isLive(this.entries.get(p.id)));
    return running.length === 1 ? running[0] : undefined;
  }

  /** The `model` to send upstream: what the running server was started with, else what the engine description says of the profile now. */
  upstreamModel(profileId: string): string {
    const entry = this.entries.get(profileId);
    if (entry && isLive(entry)) return entry.upstreamModel;
    const profile = this.options.profiles.get(profileId);
    let modelPath: string;
    try {
      modelPath = resolveModel(profile.model, this.options.catalog).path;
    } catch {
      modelPath = describeModelRef(profile);
    }
    return this.options.engines[profile.engine].requestModel({ modelPath, alias: profile.name });
  }

  /** Records that a request used the server now; the gateway calls it when a request starts and when it ends. */
  noteActivity(profileId: string): void {
    const entry = this.entries.get(profileId);
    if (entry) entry.info.lastActivityAt = this.now();
  }

  // ------------------------------------------------------------------ actions

  /** Starts the profile's server (by profile id or name) and resolves when it answers health (or, with wait: false, once spawned). */
  async start(
    idOrName: string,
    signal: AbortSignal = NEVER,
    options: StartOptions = {},
  ): Promise<ServerInfo> {
    this.assertOpen();
    const profile = this.options.profiles.get(idOrName);
    const job = await this.startJob(profile.id, signal, {});
    return abortable(options.wait === false ? job.spawned : job.ready, signal);
  }

  /** Starts the profile if it is not running and waits until it answers health. */
  async ensureRunning(profileId: string, signal: AbortSignal): Promise<ServerInfo> {
    this.assertOpen();
    const profile = this.options.profiles.get(profileId);
    const entry = this.entries.get(profile.id);
    if (entry?.restartTimer) {
      // Requests must not defeat the crash back-off by starting it at once.
      throw new ApiError(
        503,
        "unavailable",
        `"${profile.name}" crashed and is waiting to restart. ${entry.info.failure?.message ?? ""}`.trim(),
        undefined,
        {
          state: entry.info.state,
        },
      );
    }
    const info = await abortable((await this.startJob(profile.id, signal, {})).ready, signal);
    this.noteActivity(profile.id);
    return info;
  }

  /** Stops the server of a profile (by profile id or name): SIGTERM to its group, SIGKILL after the grace period; resolves when its port is free. */
  async stop(idOrName: string, signal: AbortSignal = NEVER): Promise<ServerInfo> {
    const entry = this.entryFor(idOrName);
    if (!entry) {
      const profile = this.options.profiles.get(idOrName);
      throw new ApiError(
        404,
        "not_found",
        `Profile "${profile.name}" has no server: it was not started since the manager started.`,
      );
    }
    return abortable(this.stopEntry(entry, "user"), signal);
  }

  /** Stops and starts the server again on the same port, with the profile as it is now. */
  async restart(
    idOrName: string,
    signal: AbortSignal = NEVER,
    options: StartOptions = {},
  ): Promise<ServerInfo> {
    this.assertOpen();
    const profile = this.options.profiles.get(idOrName);
    const entry = this.entries.get(profile.id);
    const port = entry?.info.port;
    const pending = this.starts.get(profile.id);
    if (pending)
      await abortable(
        pending.ready.catch(() => undefined),
        signal,
      );
    if (entry && isLive(entry)) await abortable(this.stopEntry(entry, "restart"), signal);
    const job = await this.startJob(profile.id, signal, port === undefined ? {} : { preferredPort: port });
    return abortable(options.wait === false ? job.spawned : job.ready, signal);
  }

  /** Stops every server (and cancels pending crash restarts); resolves with those it stopped once all are gone. */
  async stopAll(signal: AbortSignal = NEVER): Promise<ServerInfo[]> {
    const targets = [...this.entries.values()].filter(
      (entry) => isLive(entry) || entry.restartTimer !== undefined,
    );
    const stopping = targets.map((entry) =>
      this.stopEntry(entry, "user").catch((error: unknown) => {
        this.log.error("could not stop a server", { profile: entry.info.profileName, error: String(error) });
        return snapshot(entry.info);
      }),
    );
    return abortable(Promise.all(stopping), signal);
  }

  /** Stops watching; with stopServers the servers are stopped too, otherwise they keep running for the next manager. */
  async close(options: { stopServers: boolean }): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    this.unsubscribe?.();
    for (const entry of this.entries.values()) {
      if (entry.restartTimer) clearTimeout(entry.restartTimer);
      entry.restartTimer = undefined;
    }
    if (options.stopServers) {
      await Promise.all(
        [...this.entries.values()].map((entry) =>
          this.stopEntry(entry, "manager_exit").catch(() => undefined),
        ),
      );
    } else {
      await Promise.allSettled([...this.stops.values()]);
      this.log.info("manager closing; servers keep running and will be re-adopted", {
        running: [...this.entries.values()].filter(isLive).map((e) => e.info.profileName),
      });
    }
  }

  // ------------------------------------------------------------------ starting

  private assertOpen(): void {
    if (this.closed) throw new ApiError(503, "unavailable", "The manager is shutting down.");
  }

  private entryFor(idOrName: string): Entry | undefined {
    const byId = this.entries.get(idOrName);
    if (byId) return byId;
    const profile = this.options.profiles.find(idOrName);
    if (profile) return this.entries.get(profile.id);
    const key = idOrName.trim().toLowerCase();
    return [...this.entries.values()].find((e) => e.info.profileName.toLowerCase() === key);
  }

  /** The one start of a profile: joins the start in progress, or the running server, or begins one. */
  private async startJob(profileId: string, signal: AbortSignal, launch: LaunchOptions): Promise<StartJob> {
    for (;;) {
      signal.throwIfAborted();
      const pending = this.starts.get(profileId);
      if (pending) return pending;
      const stopping = this.stops.get(profileId);
      if (stopping) {
        await abortable(
          stopping.catch(() => undefined),
          signal,
        );
        continue;
      }
      const entry = this.entries.get(profileId);
      if (entry && (entry.info.state === "running" || entry.info.state === "unhealthy")) {
        const info = Promise.resolve(snapshot(entry.info));
        return { spawned: info, ready: info };
      }
      if (entry?.restartTimer && !launch.crashRestart) {
        clearTimeout(entry.restartTimer);
        entry.restartTimer = undefined;
      }
      // Registered before the first await, so concurrent callers join this start.
      let onSpawned: (info: ServerInfo) => void = () => undefined;
      let onSpawnFailed: (error: unknown) => void = () => undefined;
      const spawned = new Promise<ServerInfo>((resolve, reject) => {
        onSpawned = resolve;
        onSpawnFailed = reject;
      });
      const ready = this.launch(profileId, launch, onSpawned).catch((error: unknown) => {
        onSpawnFailed(error);
        throw error;
      });
      const job: StartJob = { spawned, ready };
      this.starts.set(profileId, job);
      spawned.catch(() => undefined);
      ready
        .catch(() => undefined)
        .finally(() => {
          if (this.starts.get(profileId) === job) this.starts.delete(profileId);
        });
      return job;
    }
  }

  /** Checks, spawns and waits for health. Throws ApiError for each check that fails. */
  private async launch(
    profileId: string,
    opts: LaunchOptions,
    onSpawned: (info: ServerInfo) => void,
  ): Promise<ServerInfo> {
    const profile = this.options.profiles.get(profileId);
    const engine = this.options.engines[profile.engine];
    const locatorOptions: EngineLocatorOptions = { env: this.env };
    if (this.options.executables) locatorOptions.executables = this.options.executables;
    if (this.options.home !== undefined) locatorOptions.home = this.options.home;
    if (this.options.nodePath !== undefined) locatorOptions.nodePath = this.options.nodePath;
    if (this.options.llamaScript !== undefined) locatorOptions.llamaScript = this.options.llamaScript;
    const located = locateEngine(engine, locatorOptions);
    const model = resolveModel(profile.model, this.options.catalog);
    if (!engine.formats.includes(model.format)) {
      throw new ApiError(
        400,
        "model_format_mismatch",
        `${engine.label} serves ${engine.formats.join(" or ")} models, but the model of "${profile.name}" is ${model.format}. Edit the profile to use an engine that serves ${model.format}.`,
        "engine",
      );
    }
    const port = await this.choosePort(profile, opts.preferredPort);
    try {
      return await this.spawnAndWait(profile, engine, located, model, port, opts, onSpawned);
    } finally {
      this.reservedPorts.delete(port);
    }
  }

  private async spawnAndWait(
    profile: Profile,
    engine: EngineDescription,
    located: ReturnType<typeof locateEngine>,
    model: ResolvedModel,
    port: number,
    opts: LaunchOptions,
    onSpawned: (info: ServerInfo) => void,
  ): Promise<ServerInfo> {
    const warnings: string[] = [];
    const fit = memoryWarning(
      estimateMemory(model, profile.options.contextLength),
      (this.options.freeMemory ?? os.freemem)(),
    );
    if (fit !== undefined) warnings.push(fit);

    const alias = profile.name;
    const built = engine.buildCommand(
      {
        modelPath: model.path,
        port,
        alias,
        options: profile.options,
        nodePath: located.nodePath,
        llamaScript: located.llamaScript,
      },
      located.executable,
    );
    const command = [built.command, ...built.args];
    const upstreamModel = engine.requestModel({ modelPath: model.path, alias });
    const logFile = this.logFileFor(profile);
    rotateIfLarge(logFile, this.settings.logMaxBytes, this.settings.logKeep);
    appendLogLine(
      logFile,
      `=== ${new Date(this.now()).toISOString()} mlx-manager: starting "${profile.name}" on port ${port}: ${command.map(quoteArg).join(" ")}`,
    );

    const fd = openLogForAppend(logFile);
    let child: ChildProcess;
    try {
      child = spawn(built.command, built.args, {
        detached: true,
        stdio: ["ignore", fd, fd],
        env: { ...this.env, ...profile.options.env },
        cwd: this.options.logDir,
        windowsHide: true,
      });
    } finally {
      fs.closeSync(fd);
    }
    await new Promise<void>((resolve, reject) => {
      child.once("spawn", resolve);
      child.once("error", (error: NodeJS.ErrnoException) => {
        reject(
          new ApiError(
            400,
            "engine_missing",
            `Could not run ${built.command} (${error.code ?? error.message}). Check that ${engine.label} is installed and executable: ${engine.installHint}.`,
            "engine",
            {
              engine: engine.id,
              installHint: engine.installHint,
            },
          ),
        );
      });
    });
    const pid = child.pid;
    if (pid === undefined) throw new ApiError(500, "internal", `Spawning ${built.command} gave no pid.`);
    // An 'error' event without a listener would take the manager down with it.
    child.on("error", (error) => {
      this.log.warn("server process error", { profile: profile.name, pid, error: error.message });
    });
    child.unref();

    const launchId = ++this.launches;
    const startedAt = this.now();
    const previous = this.entries.get(profile.id);
    let markExited: () => void = () => undefined;
    const exited = new Promise<void>((resolve) => {
      markExited = resolve;
    });
    const entry: Entry = {
      info: {
        profileId: profile.id,
        profileName: profile.name,
        engine: engine.id,
        model: describeModelRef(profile),
        port,
        pid,
        state: "starting",
        upstreamUrl: `http://127.0.0.1:${port}`,
        startedAt,
        restarts: opts.crashRestart ? (previous?.info.restarts ?? 0) : 0,
        logFile,
        adopted: false,
        command,
        warnings,
      },
      launch: launchId,
      processStart: processStartTime(pid),
      child,
      exit: undefined,
      exited,
      upstreamModel,
      startAbort: new AbortController(),
      stopping: false,
      crashes: opts.crashRestart ? (previous?.crashes ?? []) : [],
      restartTimer: undefined,
      healthFailures: 0,
      healthInFlight: false,
      unhealthySince: undefined,
    };
    if (previous?.restartTimer) clearTimeout(previous.restartTimer);
    this.entries.set(profile.id, entry);
    child.once("exit", (code, signal) => {
      entry.exit = { code, signal };
      markExited();
      this.onExit(entry, launchId);
    });
    try {
      this.options.records.put(this.recordOf(entry, startedAt));
    } catch (error) {
      // Unrecorded, it could not be re-adopted: better not to run it at all.
      signalGroup(pid, "SIGKILL");
      throw error;
    }
    this.log.info("server starting", { profile: profile.name, pid, port, command });
    this.publish(entry);
    onSpawned(snapshot(entry.info));
    return this.waitUntilReady(entry, launchId);
  }

  /** Polls health until 200; fails on exit, timeout, or a stop during start. */
  private async waitUntilReady(entry: Entry, launchId: number): Promise<ServerInfo> {
    const engine = this.options.engines[entry.info.engine];
    const started = this.now();
    const abort = entry.startAbort ?? new AbortController();
    let lastReport = started;
    for (;;) {
      // The next manager re-adopts it and waits for it instead.
      if (this.closed) throw new ApiError(503, "unavailable", "The manager is shutting down.");
      if (entry.launch !== launchId || abort.signal.aborted || entry.stopping) {
        throw new ApiError(409, "conflict", `"${entry.info.profileName}" was stopped while it was starting.`);
      }
      if (entry.exit !== undefined || (entry.child === undefined && !isProcessRunning(entry.info.pid ?? 0))) {
        throw this.failedStartError(entry);
      }
      const elapsed = this.now() - started;
      if (elapsed >= this.settings.startTimeoutMs) {
        await this.failStart(
          entry,
          `${entry.info.profileName} did not answer ${engine.readiness.target} within ${describeDuration(this.settings.startTimeoutMs)}; it was stopped.`,
        );
        throw new ApiError(
          504,
          "unavailable",
          `${entry.info.failure?.message ?? "Start timed out."} See its log: ${entry.info.logFile}`,
          undefined,
          {
            logTail: entry.info.failure?.logTail ?? [],
          },
        );
      }
      const result = await engine.readiness.check(
        entry.info.upstreamUrl,
        Math.min(2000, this.settings.startTimeoutMs - elapsed),
        abort.signal,
      );
      // The process may have exited or been stopped while the probe was out.
      if (result.ok && stillStarting(entry, launchId)) {
        return this.markReady(entry);
      }
      if (this.now() - lastReport >= 10_000) {
        lastReport = this.now();
        this.log.info("server still starting", {
          profile: entry.info.profileName,
          health: result.ok ? "ok" : result.reason,
          lastLog: readLogTail(entry.info.logFile, 1)[0],
        });
      }
      // Poll briskly while a small model is likely to come up, then gently (engines log each probe).
      const pause = elapsed < 5000 ? this.settings.startPollMs : Math.max(this.settings.startPollMs, 500);
      await Promise.race([sleep(pause, abort.signal), entry.exited]);
    }
  }

  private markReady(entry: Entry): ServerInfo {
    const now = this.now();
    entry.startAbort = undefined;
    entry.healthFailures = 0;
    entry.unhealthySince = undefined;
    entry.info.state = "running";
    // An adopted server keeps the ready time of the run that started it (uptime counts from there).
    if (!entry.info.adopted || entry.info.readyAt === undefined) entry.info.readyAt = now;
    entry.info.lastActivityAt = now;
    delete entry.info.failure;
    delete entry.info.stopReason;
    try {
      this.options.records.markReady(entry.info.profileId, entry.info.readyAt);
    } catch (error) {
      this.log.warn("could not record that a server is ready", { error: String(error) });
    }
    this.log.info("server ready", {
      profile: entry.info.profileName,
      pid: entry.info.pid,
      port: entry.info.port,
      ms: now - (entry.info.startedAt ?? now),
    });
    this.publish(entry);
    return snapshot(entry.info);
  }

  private failedStartError(entry: Entry): ApiError {
    const failure = entry.info.failure ?? {
      message: `${entry.info.profileName} stopped while starting.`,
      logTail: readLogTail(entry.info.logFile, this.settings.logTailLines),
    };
    return new ApiError(
      502,
      "unavailable",
      `${failure.message} See its log: ${entry.info.logFile}`,
      undefined,
      {
        exitCode: entry.info.exitCode ?? null,
        signal: entry.info.signal ?? null,
        logTail: failure.logTail,
      },
    );
  }

  /** A start that timed out: kill the group and report. */
  private async failStart(entry: Entry, message: string): Promise<void> {
    entry.stopping = true;
    await this.terminate(entry, 0);
    entry.stopping = false;
    this.removeRecord(entry);
    entry.info.state = "failed";
    entry.info.stoppedAt = this.now();
    entry.info.failure = { message, logTail: readLogTail(entry.info.logFile, this.settings.logTailLines) };
    this.publish(entry);
  }

  /** The port to start on: a free one for "auto" (the preferred one if still free), else the profile's, checked. */
  private async choosePort(profile: Profile, preferred: number | undefined): Promise<number> {
    const usedByOther = (port: number): Entry | undefined =>
      [...this.entries.values()].find(
        (e) => e.info.profileId !== profile.id && isLive(e) && e.info.port === port,
      );
    const taken = (port: number): boolean => this.reservedPorts.has(port) || usedByOther(port) !== undefined;
    if (profile.port === "auto") {
      if (preferred !== undefined && !taken(preferred) && (await isPortFree(preferred))) {
        this.reservedPorts.add(preferred);
        return preferred;
      }
      for (let attempt = 0; attempt < 20; attempt++) {
        const port = await anyFreePort();
        if (!taken(port)) {
          this.reservedPorts.add(port);
          return port;
        }
      }
      throw new ApiError(503, "unavailable", "Could not find a free port.");
    }
    const port = profile.port;
    const other = usedByOther(port);
    if (other !== undefined || this.reservedPorts.has(port) || !(await isPortFree(port))) {
      const holder = other
        ? { pid: other.info.pid ?? 0, command: other.info.command.join(" ") }
        : await findPortHolder(port);
      const suggestedPort = await nextFreePort(port + 1, 200, taken);
      const who = other
        ? `the server of profile "${other.info.profileName}" (pid ${other.info.pid ?? "?"})`
        : holder
          ? `pid ${holder.pid} (${holder.command.length > 160 ? `${holder.command.slice(0, 157)}...` : holder.command})`
          : "another process (the OS did not say which)";
      throw new ApiError(
        409,
        "port_in_use",
        `Port ${port} of profile "${profile.name}" is in use by ${who}. Stop it, or set the profile's port to ${suggestedPort} (free now) or "auto".`,
        "port",
        {
          port,
          suggestedPort,
          ...(holder
            ? {
                holder: {
                  pid: holder.pid,
                  command: holder.command,
                  ...(other ? { profile: other.info.profileName } : {}),
                },
              }
            : {}),
        },
      );
    }
    this.reservedPorts.add(port);
    return port;
  }

  /** The log file of a profile's server (by profile id or name): the current one, or where the next start writes. */
  logFileOf(idOrName: string): { profileId: string; file: string } {
    const entry = this.entryFor(idOrName);
    if (entry) return { profileId: entry.info.profileId, file: entry.info.logFile };
    const profile = this.options.profiles.get(idOrName);
    return { profileId: profile.id, file: this.logFileFor(profile) };
  }

  /** `<logDir>/<slug>.log`; the profile id is added when another profile has the same slug. */
  private logFileFor(profile: Profile): string {
    const slug = logSlug(profile.name);
    const clash = this.options.profiles.list().some((p) => p.id !== profile.id && logSlug(p.name) === slug);
    return path.join(this.options.logDir, `${clash ? `${slug}-${profile.id.slice(0, 8)}` : slug}.log`);
  }

  // ------------------------------------------------------------------ adoption

  private adoptEntry(record: ServerRecord): Entry {
    const entry: Entry = {
      info: {
        profileId: record.profileId,
        profileName: record.profileName,
        engine: record.engine,
        model: record.model,
        port: record.port,
        pid: record.pid,
        state: "starting",
        upstreamUrl: `http://127.0.0.1:${record.port}`,
        startedAt: record.startedAt,
        ...(record.readyAt === undefined ? {} : { readyAt: record.readyAt }),
        restarts: 0,
        logFile: record.logFile,
        adopted: true,
        command: record.command,
        warnings: [],
        lastActivityAt: this.now(),
      },
      launch: ++this.launches,
      processStart: record.processStart,
      child: undefined,
      exit: undefined,
      // No exit event for a process we did not spawn: the liveness tick watches it.
      exited: new Promise<void>(() => undefined),
      upstreamModel: record.upstreamModel,
      startAbort: undefined,
      stopping: false,
      crashes: [],
      restartTimer: undefined,
      healthFailures: 0,
      healthInFlight: false,
      unhealthySince: undefined,
    };
    this.entries.set(record.profileId, entry);
    return entry;
  }

  /** First health check of an adopted server: running, unhealthy, or (never ready yet) still starting. */
  private async confirmAdopted(entry: Entry): Promise<void> {
    const engine = this.options.engines[entry.info.engine];
    // One that was ready before is judged by its health; one that never got ready, by readiness.
    const probe = entry.info.readyAt === undefined ? engine.readiness : engine.health;
    const result = await probe.check(entry.info.upstreamUrl, this.settings.healthTimeoutMs);
    this.log.info("re-adopted a server left running by an earlier manager", {
      profile: entry.info.profileName,
      pid: entry.info.pid,
      health: result.ok ? "ok" : result.reason,
    });
    if (result.ok) {
      this.markReady(entry);
      return;
    }
    if (entry.info.readyAt !== undefined) {
      entry.info.state = "unhealthy";
      entry.unhealthySince = this.now();
      entry.healthFailures = this.settings.unhealthyAfterFailures;
      entry.info.failure = {
        message: `Health check failed after re-adoption: ${result.reason}.`,
        logTail: readLogTail(entry.info.logFile, this.settings.logTailLines),
      };
      this.publish(entry);
      return;
    }
    // It was still starting when the earlier manager went away: wait for it like a start.
    entry.startAbort = new AbortController();
    this.publish(entry);
    const launchId = entry.launch;
    const ready = this.waitUntilReady(entry, launchId);
    const job: StartJob = { spawned: Promise.resolve(snapshot(entry.info)), ready };
    this.starts.set(entry.info.profileId, job);
    ready
      .catch((error: unknown) => {
        this.log.warn("an adopted server did not become ready", {
          profile: entry.info.profileName,
          error: String(error),
        });
      })
      .finally(() => {
        if (this.starts.get(entry.info.profileId) === job) this.starts.delete(entry.info.profileId);
      });
  }

  // ------------------------------------------------------------------ exits and crashes

  /** The exit event of a process this manager spawned. */
  private onExit(entry: Entry, launchId: number): void {
    if (entry.launch !== launchId) return;
    entry.child = undefined;
    // A closed supervisor has handed its servers to the next manager: their fate is not ours to record.
    if (this.closed && !entry.stopping) return;
    const exit = entry.exit ?? { code: null, signal: null };
    const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code ?? "?"}`;
    appendLogLine(
      entry.info.logFile,
      `=== ${new Date(this.now()).toISOString()} mlx-manager: pid ${entry.info.pid ?? "?"} ${how}`,
    );
    if (entry.stopping) return;
    this.onUnexpectedExit(entry, exit, `${entry.info.profileName} ${how}`);
  }

  /** A server that ended without being asked to: failed, its group cleaned up, restarted if its profile says so. */
  private onUnexpectedExit(entry: Entry, exit: ExitInfo, what: string): void {
    const wasStarting = entry.info.state === "starting";
    // Whatever the engine started (a stand-in's child, a Python worker) goes with it.
    if (entry.info.pid !== undefined) signalGroup(entry.info.pid, "SIGKILL");
    this.removeRecord(entry);
    entry.startAbort = undefined;
    entry.info.exitCode = exit.code;
    entry.info.signal = exit.signal;
    entry.info.stoppedAt = this.now();
    const logTail = readLogTail(entry.info.logFile, this.settings.logTailLines);
    this.log.warn(wasStarting ? "server exited while starting" : "server crashed", {
      profile: entry.info.profileName,
      pid: entry.info.pid,
      code: exit.code,
      signal: exit.signal,
    });
    if (wasStarting) {
      // The start in progress reports it; a crash restart's catch counts it as another crash.
      entry.info.state = "failed";
      entry.info.failure = { message: `${what} while starting.`, logTail };
      this.publish(entry);
      return;
    }
    this.afterCrash(entry, `${what}.`, logTail);
  }

  /** Marks a crashed server failed and schedules a restart with back-off when its profile asks for it. */
  private afterCrash(entry: Entry, message: string, logTail: string[]): void {
    entry.info.state = "failed";
    entry.info.failure = { message, logTail };
    const profile = this.options.profiles.find(entry.info.profileId);
    if (!profile?.restartOnCrash || this.closed) {
      this.publish(entry);
      return;
    }
    const now = this.now();
    const { maxRestarts, restartWindowMs, restartBackoffMs, restartBackoffMaxMs } = this.settings;
    entry.crashes = entry.crashes.filter((t) => now - t < restartWindowMs);
    entry.crashes.push(now);
    const window = describeDuration(restartWindowMs);
    if (entry.crashes.length > maxRestarts) {
      entry.info.failure = {
        message: `${message} It crashed ${entry.crashes.length} times in ${window}; not restarting (at most ${maxRestarts} restarts in ${window}). Start it again when the cause is fixed.`,
        logTail,
      };
      this.log.error("server crash loop; not restarting", {
        profile: entry.info.profileName,
        crashes: entry.crashes.length,
      });
      this.publish(entry);
      return;
    }
    const delay = Math.min(restartBackoffMaxMs, restartBackoffMs * 2 ** (entry.crashes.length - 1));
    entry.info.restarts = entry.crashes.length;
    entry.info.failure = {
      message: `${message} Restarting in ${describeDuration(delay)} (restart ${entry.crashes.length} of at most ${maxRestarts} in ${window}).`,
      logTail,
    };
    this.publish(entry);
    if (entry.restartTimer) clearTimeout(entry.restartTimer);
    entry.restartTimer = setTimeout(() => {
      entry.restartTimer = undefined;
      this.crashRestart(entry);
    }, delay);
    entry.restartTimer.unref();
  }

  private crashRestart(entry: Entry): void {
    if (this.closed || !this.options.profiles.find(entry.info.profileId)) return;
    const preferredPort = entry.info.port;
    void this.startJob(entry.info.profileId, NEVER, { preferredPort, crashRestart: true })
      .then((job) => job.ready)
      .catch((error: unknown) => {
        const current = this.entries.get(entry.info.profileId) ?? entry;
        if (current.stopping || current.info.state === "stopped" || isLive(current)) return;
        const message = error instanceof Error ? error.message : String(error);
        this.log.warn("crash restart failed", { profile: current.info.profileName, error: message });
        // A new process that died while starting has its own report; a check that failed before any spawn has only the error.
        const spawnedAgain = current !== entry && current.info.failure !== undefined;
        this.afterCrash(
          current,
          spawnedAgain && current.info.failure ? current.info.failure.message : `Restart failed: ${message}`,
          spawnedAgain && current.info.failure
            ? current.info.failure.logTail
            : readLogTail(current.info.logFile, this.settings.logTailLines),
        );
      });
  }

  // ------------------------------------------------------------------ stopping

  /** The one stop of a server: joins a stop in progress. */
  private stopEntry(entry: Entry, reason: ServerStopReason): Promise<ServerInfo> {
    const id = entry.info.profileId;
    const pending = this.stops.get(id);
    if (pending) return pending;
    if (entry.restartTimer) {
      clearTimeout(entry.restartTimer);
      entry.restartTimer = undefined;
      if (entry.info.state === "failed") {
        entry.info.state = "stopped";
        entry.info.stopReason = reason;
        this.publish(entry);
      }
    }
    if (!isLive(entry)) return Promise.resolve(snapshot(entry.info));
    const job = (async (): Promise<ServerInfo> => {
      entry.stopping = true;
      entry.startAbort?.abort();
      entry.info.state = "stopping";
      this.publish(entry);
      this.log.info("stopping server", { profile: entry.info.profileName, pid: entry.info.pid, reason });
      try {
        await this.terminate(entry, this.settings.stopGraceMs);
        await this.waitForPortFree(entry.info.port, 3000);
      } finally {
        entry.stopping = false;
      }
      this.removeRecord(entry);
      appendLogLine(
        entry.info.logFile,
        `=== ${new Date(this.now()).toISOString()} mlx-manager: stopped (${reason})`,
      );
      entry.info.state = "stopped";
      entry.info.stopReason = reason;
      entry.info.stoppedAt = this.now();
      if (entry.exit) {
        entry.info.exitCode = entry.exit.code;
        entry.info.signal = entry.exit.signal;
      }
      delete entry.info.failure;
      this.publish(entry);
      return snapshot(entry.info);
    })();
    this.stops.set(id, job);
    job
      .catch(() => undefined)
      .finally(() => {
        if (this.stops.get(id) === job) this.stops.delete(id);
      });
    return job;
  }

  /** SIGTERM to the process group, SIGKILL after `graceMs`; resolves when no process of the group is left. */
  private async terminate(entry: Entry, graceMs: number): Promise<void> {
    const pgid = entry.info.pid;
    if (pgid === undefined) return;
    if (entry.child === undefined && entry.exit === undefined) {
      // Adopted: never signal the group of a pid that now belongs to another process. (While any
      // member of our group lives, the kernel does not hand its id out as a new pid.)
      if (
        isProcessRunning(pgid) &&
        !isSameProcess({ pid: pgid, processStart: entry.processStart, command: entry.info.command })
      )
        return;
      if (!groupAlive(pgid)) return;
    }
    signalGroup(pgid, graceMs > 0 ? "SIGTERM" : "SIGKILL");
    const deadline = this.now() + graceMs;
    while (groupAlive(pgid) && this.now() < deadline) await sleep(25);
    if (groupAlive(pgid)) {
      if (graceMs > 0)
        this.log.warn("server ignored SIGTERM; sending SIGKILL", {
          profile: entry.info.profileName,
          pid: pgid,
          graceMs,
        });
      signalGroup(pgid, "SIGKILL");
      const killDeadline = this.now() + 5000;
      while (groupAlive(pgid) && this.now() < killDeadline) await sleep(25);
    }
    // Let the exit event of a spawned child arrive, so its code and signal are known.
    if (entry.child !== undefined) await Promise.race([entry.exited, sleep(1000)]);
  }

  private async waitForPortFree(port: number, timeoutMs: number): Promise<void> {
    const deadline = this.now() + timeoutMs;
    while (!(await isPortFree(port))) {
      if (this.now() >= deadline) {
        this.log.warn("port still in use after the server stopped", { port });
        return;
      }
      await sleep(50);
    }
  }

  private removeRecord(entry: Entry): void {
    try {
      this.options.records.remove(entry.info.profileId);
    } catch (error) {
      this.log.warn("could not remove a server record", {
        profile: entry.info.profileName,
        error: String(error),
      });
    }
  }

  // ------------------------------------------------------------------ watching

  /** Every second: adopted servers still alive? idle ones to stop? */
  private tick(): void {
    const now = this.now();
    for (const entry of this.entries.values()) {
      if (!isLive(entry) || entry.stopping) continue;
      if (entry.child === undefined && entry.exit === undefined) {
        const pid = entry.info.pid ?? 0;
        const alive =
          isProcessRunning(pid) &&
          (entry.processStart === undefined || processStartTime(pid) === entry.processStart);
        if (!alive) {
          appendLogLine(
            entry.info.logFile,
            `=== ${new Date(now).toISOString()} mlx-manager: pid ${pid} is gone (exit status unknown: it was re-adopted)`,
          );
          this.onUnexpectedExit(
            entry,
            { code: null, signal: null },
            `${entry.info.profileName} (pid ${pid}) stopped running (exit status unknown: it was re-adopted from an earlier manager run)`,
          );
          continue;
        }
      }
      if (entry.info.state !== "running" || this.starts.has(entry.info.profileId)) continue;
      const profile = this.options.profiles.find(entry.info.profileId);
      const idleMs = (profile?.idleTimeoutSec ?? 0) * 1000;
      const last = entry.info.lastActivityAt ?? entry.info.readyAt ?? now;
      if (idleMs > 0 && now - last >= idleMs) {
        this.log.info("stopping idle server", {
          profile: entry.info.profileName,
          idleSec: Math.round((now - last) / 1000),
        });
        void this.stopEntry(entry, "idle").catch((error: unknown) => {
          this.log.error("idle stop failed", { profile: entry.info.profileName, error: String(error) });
        });
      }
    }
  }

  /** Health-checks every running server at once; rotates their logs on the way. */
  private async checkHealth(): Promise<void> {
    const checks: Promise<void>[] = [];
    for (const entry of this.entries.values()) {
      if (entry.info.state !== "running" && entry.info.state !== "unhealthy") continue;
      if (entry.healthInFlight || entry.stopping) continue;
      try {
        if (rotateIfLarge(entry.info.logFile, this.settings.logMaxBytes, this.settings.logKeep))
          this.log.info("rotated a server log", { file: entry.info.logFile });
      } catch (error) {
        this.log.warn("could not rotate a server log", { file: entry.info.logFile, error: String(error) });
      }
      checks.push(this.checkOne(entry));
    }
    await Promise.all(checks);
  }

  private async checkOne(entry: Entry): Promise<void> {
    const engine = this.options.engines[entry.info.engine];
    const launchId = entry.launch;
    entry.healthInFlight = true;
    let result: HealthResult;
    try {
      result = await engine.health.check(entry.info.upstreamUrl, this.settings.healthTimeoutMs);
    } finally {
      entry.healthInFlight = false;
    }
    if (
      entry.launch !== launchId ||
      entry.stopping ||
      (entry.info.state !== "running" && entry.info.state !== "unhealthy")
    )
      return;
    if (result.ok) {
      entry.healthFailures = 0;
      if (entry.info.state === "unhealthy") {
        entry.info.state = "running";
        entry.unhealthySince = undefined;
        delete entry.info.failure;
        this.log.info("server healthy again", { profile: entry.info.profileName });
        this.publish(entry);
      }
      return;
    }
    entry.healthFailures++;
    const now = this.now();
    if (entry.info.state === "running" && entry.healthFailures >= this.settings.unhealthyAfterFailures) {
      entry.info.state = "unhealthy";
      entry.unhealthySince = now;
      entry.info.failure = {
        message: `Health check failed ${entry.healthFailures} times in a row: ${result.reason}.`,
        logTail: readLogTail(entry.info.logFile, this.settings.logTailLines),
      };
      this.log.warn("server unhealthy", { profile: entry.info.profileName, reason: result.reason });
      this.publish(entry);
      return;
    }
    const profile = this.options.profiles.find(entry.info.profileId);
    if (
      entry.info.state === "unhealthy" &&
      entry.unhealthySince !== undefined &&
      now - entry.unhealthySince >= this.settings.unhealthyRestartMs &&
      profile?.restartOnCrash
    ) {
      const message = `${entry.info.profileName} was unhealthy for ${describeDuration(now - entry.unhealthySince)} (${result.reason}); it was stopped.`;
      const logTail = readLogTail(entry.info.logFile, this.settings.logTailLines);
      await this.stopEntry(entry, "unhealthy");
      this.afterCrash(entry, message, logTail);
    }
  }

  private onEvent(event: ManagerEvent): void {
    if (event.type === "profile.deleted") {
      const entry = this.entries.get(event.data.id);
      if (!entry) return;
      const forget = (): void => {
        if (this.entries.get(event.data.id) !== entry) return;
        this.entries.delete(event.data.id);
        this.options.events.publish({ type: "server.removed", data: { profileId: event.data.id } });
      };
      void this.stopEntry(entry, "profile_deleted").then(forget, (error: unknown) => {
        this.log.error("could not stop the server of a deleted profile", {
          profile: entry.info.profileName,
          error: String(error),
        });
      });
    } else if (event.type === "profile.updated") {
      // A running server keeps its command line until restarted; only its display name follows.
      const entry = this.entries.get(event.data.id);
      if (entry && entry.info.profileName !== event.data.name) {
        entry.info.profileName = event.data.name;
        this.publish(entry);
      }
    }
  }

  private publish(entry: Entry): void {
    this.options.events.publish({ type: "server.changed", data: snapshot(entry.info) });
  }

  private recordOf(entry: Entry, startedAt: number): ServerRecord {
    return {
      profileId: entry.info.profileId,
      profileName: entry.info.profileName,
      engine: entry.info.engine,
      model: entry.info.model,
      upstreamModel: entry.upstreamModel,
      pid: entry.info.pid ?? 0,
      processStart: entry.processStart,
      port: entry.info.port,
      command: entry.info.command,
      logFile: entry.info.logFile,
      startedAt,
      readyAt: undefined,
    };
  }
}
