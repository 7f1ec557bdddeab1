import type { EngineId } from "../../shared/engines";
import type { Profile } from "../../shared/profiles";
import type { ServerInfo, ServerStartedBy } from "../../shared/servers";
import { ApiError } from "../api/ApiError";
import type { EngineDescription } from "../engines/registry";
import type { Logger } from "../logging/Logger";
import { describeDuration } from "./describeDuration";
import { EngineVersions } from "./engineVersion";
import type { PortAllocator } from "./PortAllocator";
import { isProcessRunning } from "./processes";
import { waitForReadiness } from "./readiness";
import { snapshot, stillStarting, type ServerEntry } from "./ServerEntry";
import { spawnedEntry, type PreparedLaunch, type RanksElsewhereControl, type ServerLauncher } from "./ServerLauncher";
import type { ServerLogFiles } from "./ServerLogFiles";
import type { ServerStateMachine } from "./ServerStateMachine";
import type { SupervisorSettings } from "./SupervisorSettings";
import { abortable } from "./waiting";

export interface LaunchOptions {
  /** Reuse this port when the profile's port is "auto" and it is still free (restart keeps its port). */
  preferredPort?: number;
  /** A restart after a crash: keeps the crash history (and who started it). */
  crashRestart?: boolean;
  /** Who starts it (default `user`). */
  startedBy?: ServerStartedBy;
}

/** A start in progress: when the process is spawned, and when it is ready. */
export interface StartJob {
  spawned: Promise<ServerInfo>;
  ready: Promise<ServerInfo>;
}

export interface ServerStartsOptions {
  profiles: { get(idOrName: string): Profile; list(): Profile[] };
  engines: Readonly<Record<EngineId, EngineDescription>>;
  states: ServerStateMachine;
  launcher: ServerLauncher;
  ports: PortAllocator;
  logs: ServerLogFiles;
  logger: Logger;
  settings: Pick<SupervisorSettings, "startTimeoutMs" | "startPollMs">;
  now: () => number;
  /** Reads and checks engine versions (default: one cache per supervisor). */
  versions?: EngineVersions;
  /** Checks and ends a distributed engine's ranks on other machines. */
  elsewhere?: RanksElsewhereControl;
}

/**
 * One start per profile, joined by every caller (start, ensureRunning, a crash restart): the
 * launcher's checks, a port, the spawn, then the wait for the engine's readiness check.
 */
export class ServerStarts {
  private readonly jobs = new Map<string, StartJob>();
  private readonly versions: EngineVersions;

  constructor(private readonly options: ServerStartsOptions) {
    this.versions = options.versions ?? new EngineVersions();
  }

  /** The start of the profile in progress (or the readiness wait of an adopted server), if any. */
  inProgress(profileId: string): StartJob | undefined {
    return this.jobs.get(profileId);
  }

  /** The one start of a profile: joins the start in progress, or the running server, or begins one. */
  async join(profileId: string, signal: AbortSignal, launch: LaunchOptions): Promise<StartJob> {
    const { states } = this.options;
    for (;;) {
      signal.throwIfAborted();
      const pending = this.jobs.get(profileId);
      if (pending) return pending;
      const stopping = states.stopInProgress(profileId);
      if (stopping) {
        await abortable(
          stopping.catch(() => undefined),
          signal,
        );
        continue;
      }
      const entry = states.entries.get(profileId);
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
      this.track(profileId, job);
      spawned.catch(() => undefined);
      return job;
    }
  }

  /** Waits for an adopted server that was still starting as the profile's start in progress; resolves when ready. */
  waitForAdopted(entry: ServerEntry): Promise<ServerInfo> {
    const engine = this.options.engines[entry.info.engine];
    const modelBytes = this.modelBytes(entry.info.profileId);
    entry.info.loading = { modelBytes, timeoutMs: this.startTimeoutMs(engine, modelBytes) };
    this.options.states.awaitingReadiness(entry);
    const ready = this.waitUntilReady(entry, entry.launch);
    this.track(entry.info.profileId, { spawned: Promise.resolve(snapshot(entry.info)), ready });
    return ready;
  }

  /** The supervisor's start timeout plus the time the engine takes to read a model of this size. */
  private startTimeoutMs(engine: EngineDescription, modelBytes: number): number {
    // Whole seconds: a small model adds nothing.
    return this.options.settings.startTimeoutMs + Math.round(modelBytes / engine.loadBytesPerSecond) * 1000;
  }

  /** The size of a profile's model, or 0 when it cannot be found now (its start then fails on its own). */
  private modelBytes(profileId: string): number {
    try {
      const profile = this.options.profiles.get(profileId);
      return this.options.launcher.prepare(profile, this.options.engines[profile.engine]).model.size;
    } catch {
      return 0;
    }
  }

  /** Makes `job` the start of the profile until it settles. */
  private track(profileId: string, job: StartJob): void {
    this.jobs.set(profileId, job);
    job.ready
      .catch(() => undefined)
      .finally(() => {
        if (this.jobs.get(profileId) === job) this.jobs.delete(profileId);
      });
  }

  /** Checks, spawns and waits until ready. Throws ApiError for each check that fails. */
  private async launch(
    profileId: string,
    opts: LaunchOptions,
    onSpawned: (info: ServerInfo) => void,
  ): Promise<ServerInfo> {
    const profile = this.options.profiles.get(profileId);
    const prepared = this.options.launcher.prepare(profile, this.options.engines[profile.engine]);
    // Refused before anything is spawned: an engine too old for the flags it would be given.
    const version = await this.versions.check(prepared.engine, prepared.located.executable, AbortSignal.timeout(60_000), this.options.launcher.environment(profile));
    // A distributed engine's other hosts: reachable, the same versions, the model there, room for its share.
    if (prepared.engine.elsewhere !== undefined) {
      if (this.options.elsewhere === undefined) throw new ApiError(501, "unavailable", `${prepared.engine.label} runs on other machines, which this manager cannot reach.`);
      await this.options.elsewhere.beforeStart(profile, prepared, AbortSignal.timeout(120_000));
    }
    const port = await this.options.ports.reserve(profile, opts.preferredPort);
    try {
      return await this.spawnAndWait(profile, prepared, port, opts, onSpawned, version);
    } finally {
      this.options.ports.release(port);
    }
  }

  private async spawnAndWait(
    profile: Profile,
    prepared: PreparedLaunch,
    port: number,
    opts: LaunchOptions,
    onSpawned: (info: ServerInfo) => void,
    version: string | undefined,
  ): Promise<ServerInfo> {
    const { states, logs } = this.options;
    const logFile = logs.fileFor(profile, this.options.profiles.list());
    const spawned = await this.options.launcher.spawn({ ...prepared, profile, port, logFile });
    const previous = states.entries.get(profile.id);
    const entry = spawnedEntry(spawned, {
      profile,
      engine: prepared.engine,
      port,
      logFile,
      launchId: states.nextLaunchId(),
      startedAt: this.options.now(),
      ...(opts.crashRestart && previous ? { carried: previous } : {}),
    });
    if (previous?.restartTimer) clearTimeout(previous.restartTimer);
    entry.info.loading = { modelBytes: prepared.model.size, timeoutMs: this.startTimeoutMs(prepared.engine, prepared.model.size) };
    entry.info.estimatedBytes = prepared.fit.need.totalBytes;
    entry.info.startedBy = opts.crashRestart && previous?.info.startedBy !== undefined ? previous.info.startedBy : (opts.startedBy ?? "user");
    if (version !== undefined) entry.info.engineVersion = version;
    states.launched(entry);
    onSpawned(snapshot(entry.info));
    return this.waitUntilReady(entry, entry.launch);
  }

  /** Waits for the engine's readiness check; fails on exit, a failed load, timeout (the group is killed), or a stop during start. */
  private async waitUntilReady(entry: ServerEntry, launchId: number): Promise<ServerInfo> {
    const { states, logs, settings } = this.options;
    const engine = this.options.engines[entry.info.engine];
    const readiness = engine.readiness;
    const abort = entry.startAbort ?? new AbortController();
    const timeoutMs = entry.info.loading?.timeoutMs ?? settings.startTimeoutMs;
    const profile = this.options.profiles.list().find((p) => p.id === entry.info.profileId);
    const loadFailure = engine.loadFailure ? this.loadFailureWatch(entry.info.logFile, (log) => engine.loadFailure?.(log)) : undefined;
    const outcome = await waitForReadiness({
      baseUrl: entry.info.upstreamUrl,
      probe: readiness,
      request: { model: entry.upstreamModel, fields: profile ? (engine.requestFields?.(profile.options) ?? {}) : {} },
      timeoutMs,
      pollMs: settings.startPollMs,
      signal: abort.signal,
      exited: entry.exited,
      now: this.options.now,
      interrupted: () => {
        // The next manager re-adopts it and waits for it instead.
        if (states.isClosed()) return new ApiError(503, "unavailable", "The manager is shutting down.");
        if (entry.launch !== launchId || abort.signal.aborted || entry.stopping)
          return new ApiError(
            409,
            "conflict",
            `"${entry.info.profileName}" was stopped while it was starting.`,
          );
        if (entry.exit !== undefined || (entry.child === undefined && !isProcessRunning(entry.info.pid ?? 0)))
          return this.failedStartError(entry);
        return undefined;
      },
      ...(loadFailure ? { loadFailure } : {}),
      stillWanted: () => stillStarting(entry, launchId),
      onSlow: (result) => {
        this.options.logger.info("server still starting", {
          profile: entry.info.profileName,
          health: result.ok ? "ok" : result.reason,
          lastLog: logs.lastLine(entry.info.logFile),
        });
      },
    });
    if (outcome === "ready") return states.ready(entry);
    const failed = outcome !== "timed-out";
    const failure = await states.startTimedOut(
      entry,
      failed
        ? `${engine.label} could not load the model of ${entry.info.profileName}: ${outcome.failed}. It was stopped; check the model files, the adapter and the engine's version in its log.`
        : `${entry.info.profileName} did not answer ${readiness.target} within ${describeDuration(timeoutMs)}; it was stopped. Its log says what it was doing.`,
    );
    throw new ApiError(
      failed ? 502 : 504,
      "unavailable",
      `${failure.message} See its log: ${entry.info.logFile}`,
      undefined,
      {
        logTail: failure.logTail,
      },
    );
  }

  /** Reads the log again only when it has grown, and remembers a failure once found. */
  private loadFailureWatch(file: string, read: (log: readonly string[]) => string | undefined): () => string | undefined {
    let size = -1;
    let found: string | undefined;
    return () => {
      if (found !== undefined) return found;
      const now = this.options.logs.size(file);
      if (now === size) return undefined;
      size = now;
      found = read(this.options.logs.recent(file, 200));
      return found;
    };
  }

  /** The error of a start whose process ended (or was found gone) before it was ready. */
  private failedStartError(entry: ServerEntry): ApiError {
    const failure = entry.info.failure ?? {
      message: `${entry.info.profileName} stopped while starting.`,
      logTail: this.options.logs.tail(entry.info.logFile),
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
}
