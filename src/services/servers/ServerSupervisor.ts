import { routeModel } from "../profiles/modelRoutes";
import type { EngineId } from "../../shared/engines";
import type { ManagerEvent } from "../../shared/events";
import type { Profile } from "../../shared/profiles";
import type { ServerInfo } from "../../shared/servers";
import { ApiError } from "../api/ApiError";
import type { EngineDescription } from "../engines/registry";
import type { EventBus } from "../events/EventBus";
import type { Logger } from "../logging/Logger";
import { resolveModel, type ModelCatalog } from "../profiles/modelResolution";
import { adoptedEntry, ServerAdoption, type AdoptionReport } from "./adoption";
import { PortAllocator } from "./PortAllocator";
import type { ServerDirectory } from "./ServerDirectory";
import { describeModelRef, isLive, snapshot, type ServerEntry } from "./ServerEntry";
import { ServerLauncher } from "./ServerLauncher";
import type { UsableMemory } from "../models/memoryFit";
import { ServerLogFiles } from "./ServerLogFiles";
import type { ServerRecords } from "./ServerRecords";
import { ServerStarts } from "./ServerStarts";
import { ServerStateMachine } from "./ServerStateMachine";
import { ServerWatcher, type WatchedServers } from "./ServerWatcher";
import { DEFAULT_SETTINGS, type SupervisorSettings } from "./SupervisorSettings";
import { GroupTerminator } from "./termination";
import { abortable, NEVER } from "./waiting";

export { DEFAULT_SETTINGS, type SupervisorSettings } from "./SupervisorSettings";
export { describeDuration } from "./describeDuration";
export type { AdoptionReport } from "./adoption";

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
  /** The memory this machine can give a model; a start that needs more is refused (default: memory less a headroom). */
  usableMemory?: () => UsableMemory;
  now?: () => number;
  settings?: Partial<SupervisorSettings>;
}

export interface StartOptions {
  /** Resolve once the process is spawned (state `starting`) instead of when it is ready. */
  wait?: boolean;
}

/**
 * Starts, watches and stops the model servers of profiles: one process per profile, in its own
 * process group, output straight to a log file, recorded in the store so that servers outlive the
 * manager and a restarted manager re-adopts them. Implements the gateway's ServerDirectory.
 *
 * It composes one part per job — ServerStarts (one start per profile: ServerLauncher,
 * PortAllocator, readiness), ServerAdoption, ServerWatcher (liveness, idle, health), restartPolicy,
 * GroupTerminator, ServerLogFiles — and owns the one ServerStateMachine that holds each server's
 * state (starting → running ⇄ unhealthy → stopping → stopped, or failed). Here: the public API.
 */
export class ServerSupervisor implements ServerDirectory {
  private readonly states: ServerStateMachine;
  /** Every server known, by profile id (the state machine's map, read here). */
  private readonly entries: Map<string, ServerEntry>;
  private readonly starts: ServerStarts;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly logs: ServerLogFiles;
  private readonly adoption: ServerAdoption;
  private readonly watcher: ServerWatcher;
  private unsubscribe: (() => void) | undefined;
  private closed = false;

  constructor(private readonly options: ServerSupervisorOptions) {
    const settings = { ...DEFAULT_SETTINGS, ...options.settings };
    const logger = (this.log = options.logger.child({ part: "servers" }));
    const now = (this.now = options.now ?? Date.now);
    const { profiles, engines, records, events } = options;
    const logs = (this.logs = new ServerLogFiles({ dir: options.logDir, settings, logger, now }));
    const terminator = new GroupTerminator({ logger, now });
    const states = (this.states = new ServerStateMachine({
      profiles,
      records,
      events,
      logs,
      terminator,
      logger,
      settings,
      now,
      // A crash restart joins the profile's one start like any other caller.
      restartAfterCrash: (profileId, preferredPort) =>
        this.starts.join(profileId, NEVER, { preferredPort, crashRestart: true }).then((job) => job.ready),
    }));
    const entries = (this.entries = states.entries);
    const launcher = new ServerLauncher({
      catalog: options.catalog,
      logs,
      logger,
      cwd: options.logDir,
      env: options.env ?? process.env,
      executables: options.executables,
      home: options.home,
      nodePath: options.nodePath,
      llamaScript: options.llamaScript,
      freeMemory: options.freeMemory,
      usableMemory: options.usableMemory,
    });
    const ports = new PortAllocator({
      serverOn: (port, exceptProfileId) =>
        [...entries.values()].find(
          (e) => e.info.profileId !== exceptProfileId && isLive(e) && e.info.port === port,
        )?.info,
    });
    const starts = (this.starts = new ServerStarts({
      profiles,
      engines,
      states,
      launcher,
      ports,
      logs,
      logger,
      settings,
      now,
    }));
    const checkTimeoutMs = settings.healthTimeoutMs;
    this.adoption = new ServerAdoption({
      records,
      profiles,
      engines,
      states,
      starts,
      logs,
      logger,
      checkTimeoutMs,
    });
    const servers: WatchedServers = {
      entries: () => entries.values(),
      starting: (profileId) => starts.inProgress(profileId) !== undefined,
      profile: (profileId) => profiles.find(profileId),
      engine: (id) => engines[id],
      adoptedGone: (entry) => {
        states.adoptedGone(entry);
      },
      idle: (entry) => {
        void states.stop(entry, "idle").catch((error: unknown) => {
          logger.error("idle stop failed", { profile: entry.info.profileName, error: String(error) });
        });
      },
      healthChanged: (entry, change) => states.healthChanged(entry, change),
    };
    this.watcher = new ServerWatcher({ servers, logs, logger, settings, now });
  }

  /** Re-adopts servers an earlier manager left running, cleans records of dead ones, starts the watchers. */
  async init(signal: AbortSignal = NEVER): Promise<AdoptionReport> {
    this.logs.ensureDir();
    const survey = this.adoption.survey(signal);
    const report: AdoptionReport = { adopted: [], cleaned: survey.cleaned, stoppedOrphans: [] };
    const adoptions = survey.alive.map(async ({ record, orphan }) => {
      const entry = adoptedEntry(record, this.states.nextLaunchId(), this.now());
      this.entries.set(record.profileId, entry);
      if (orphan) {
        report.stoppedOrphans.push(record.profileId);
        await this.states.stop(entry, "profile_deleted");
        this.entries.delete(record.profileId);
        return;
      }
      await this.adoption.confirm(entry);
      report.adopted.push(snapshot(entry.info));
    });
    await Promise.all(adoptions);
    this.logs.pruneOld(new Set([...this.entries.values()].map((e) => e.info.logFile)));
    this.unsubscribe = this.options.events.subscribe((event) => {
      this.onEvent(event);
    });
    this.watcher.start();
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

  /**
   * The profile a request's `model` names: a profile name or id, an alias, the repo id / path of
   * exactly one profile, or the most specific `*` alias (modelRoutes.ts has the order).
   */
  findProfile(model: string): Profile | undefined {
    const direct = this.options.profiles.find(model);
    if (direct) return direct;
    return routeModel(model, this.options.profiles.list(), (id) => isLive(this.entries.get(id)))[0]?.profile;
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

  /** The log file of a profile's server (by profile id or name): the current one, or where the next start writes. */
  logFileOf(idOrName: string): { profileId: string; file: string } {
    const entry = this.entryFor(idOrName);
    if (entry) return { profileId: entry.info.profileId, file: entry.info.logFile };
    const profile = this.options.profiles.get(idOrName);
    return { profileId: profile.id, file: this.logs.fileFor(profile, this.options.profiles.list()) };
  }

  // ------------------------------------------------------------------ actions

  /** Starts the profile's server (by profile id or name) and resolves when it is ready (or, with wait: false, once spawned). */
  async start(
    idOrName: string,
    signal: AbortSignal = NEVER,
    options: StartOptions = {},
  ): Promise<ServerInfo> {
    this.assertOpen();
    const profile = this.options.profiles.get(idOrName);
    const job = await this.starts.join(profile.id, signal, {});
    return abortable(options.wait === false ? job.spawned : job.ready, signal);
  }

  /** Starts the profile if it is not running and waits until it is ready. */
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
    const info = await abortable((await this.starts.join(profile.id, signal, {})).ready, signal);
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
    return abortable(this.states.stop(entry, "user"), signal);
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
    const pending = this.starts.inProgress(profile.id);
    if (pending)
      await abortable(
        pending.ready.catch(() => undefined),
        signal,
      );
    if (entry && isLive(entry)) await abortable(this.states.stop(entry, "restart"), signal);
    const job = await this.starts.join(profile.id, signal, port === undefined ? {} : { preferredPort: port });
    return abortable(options.wait === false ? job.spawned : job.ready, signal);
  }

  /** Stops every server (and cancels pending crash restarts); resolves with those it stopped once all are gone. */
  async stopAll(signal: AbortSignal = NEVER): Promise<ServerInfo[]> {
    const targets = [...this.entries.values()].filter(
      (entry) => isLive(entry) || entry.restartTimer !== undefined,
    );
    const stopping = targets.map((entry) =>
      this.states.stop(entry, "user").catch((error: unknown) => {
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
    this.watcher.stop();
    this.unsubscribe?.();
    this.states.close();
    if (options.stopServers) {
      await Promise.all(
        [...this.entries.values()].map((entry) =>
          this.states.stop(entry, "manager_exit").catch(() => undefined),
        ),
      );
    } else {
      await Promise.allSettled(this.states.pendingStops());
      this.log.info("manager closing; servers keep running and will be re-adopted", {
        running: [...this.entries.values()].filter(isLive).map((e) => e.info.profileName),
      });
    }
  }

  // ------------------------------------------------------------------ lookups

  private assertOpen(): void {
    if (this.closed) throw new ApiError(503, "unavailable", "The manager is shutting down.");
  }

  private entryFor(idOrName: string): ServerEntry | undefined {
    const byId = this.entries.get(idOrName);
    if (byId) return byId;
    const profile = this.options.profiles.find(idOrName);
    if (profile) return this.entries.get(profile.id);
    const key = idOrName.trim().toLowerCase();
    return [...this.entries.values()].find((e) => e.info.profileName.toLowerCase() === key);
  }

  // ------------------------------------------------------------------ events

  private onEvent(event: ManagerEvent): void {
    if (event.type === "profile.deleted") {
      const entry = this.entries.get(event.data.id);
      if (!entry) return;
      const forget = (): void => {
        if (this.entries.get(event.data.id) !== entry) return;
        this.entries.delete(event.data.id);
        this.options.events.publish({ type: "server.removed", data: { profileId: event.data.id } });
      };
      void this.states.stop(entry, "profile_deleted").then(forget, (error: unknown) => {
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
        this.states.publish(entry);
      }
    }
  }
}
