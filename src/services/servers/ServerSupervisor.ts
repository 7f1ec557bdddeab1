import os from "node:os";
import { routeModel } from "../profiles/modelRoutes";
import type { EngineId } from "../../shared/engines";
import type { ManagerEvent } from "../../shared/events";
import type { Profile } from "../../shared/profiles";
import type { ServerInfo, ServerStartedBy } from "../../shared/servers";
import { ApiError } from "../api/ApiError";
import type { EngineDescription } from "../engines/registry";
import type { EventBus } from "../events/EventBus";
import type { Logger } from "../logging/Logger";
import { resolveModel, type ModelCatalog } from "../profiles/modelResolution";
import { adoptedEntry, ServerAdoption, type AdoptionReport } from "./adoption";
import { PortAllocator } from "./PortAllocator";
import type { ServerDirectory } from "./ServerDirectory";
import { describeModelRef, isLive, snapshot, type ServerEntry } from "./ServerEntry";
import { ServerLauncher, type PreparedLaunch, type RanksElsewhereControl } from "./ServerLauncher";
import { usableMemory, type UsableMemory } from "../models/memoryFit";
import type { MemoryBudgetView } from "../../shared/settings";
import { planRoom, type HeldMemory, type Requester } from "./MemoryBudget";
import { ServerLogFiles } from "./ServerLogFiles";
import type { ServerRecords } from "./ServerRecords";
import { ServerStarts, type StartJob } from "./ServerStarts";
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
  /** The memory budget of every running model together, and where it comes from (default: usable memory). */
  memoryBudget?: () => { bytes: number; basis: MemoryBudgetView["basis"] };
  /** What each process holds now, by pid (phys_footprint on macOS, RSS elsewhere); default: not measured. */
  measureMemory?: (pids: number[]) => Promise<Map<number, number>>;
  /** A request is running or waiting for the profile's server (the gateway's queues): never stopped to make room. */
  inUse?: (profileId: string) => boolean;
  /** The idle stop of profiles that set none (idleTimeoutSec null), in seconds; 0 = never. Default 0. */
  defaultIdleTimeoutSec?: () => number;
  /** Checks and ends the ranks distributed engines run on other machines (src/services/distributed). */
  elsewhere?: RanksElsewhereControl;
  /** Memory held by what is not a server (a fine-tuning job): counted by every start, never stopped to make room. */
  otherHolders?: () => HeldMemory[];
}

export interface StartOptions {
  /** Resolve once the process is spawned (state `starting`) instead of when it is ready. */
  wait?: boolean;
}

/** Who asks a just-in-time start: the owner, or a teammate in shared mode (who may stop only servers requests started). */
export type { Requester } from "./MemoryBudget";

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
  private readonly launcher: ServerLauncher;
  private unsubscribe: (() => void) | undefined;
  private closed = false;
  /** Starts that may need room go one at a time: each sees what the one before it took. */
  private roomQueue: Promise<unknown> = Promise.resolve();

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
      endElsewhere: async (entry) => {
        const engine = engines[entry.info.engine];
        const profile = profiles.find(entry.info.profileId);
        if (engine.elsewhere === undefined || profile === undefined || options.elsewhere === undefined) return;
        await options.elsewhere.end(profile, engine);
      },
    }));
    const entries = (this.entries = states.entries);
    const launcher = (this.launcher = new ServerLauncher({
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
    }));
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
      ...(options.elsewhere === undefined ? {} : { elsewhere: options.elsewhere }),
    }));
    const checkTimeoutMs = settings.healthTimeoutMs;
    this.adoption = new ServerAdoption({
      endElsewhere: async (profileId) => {
        const profile = profiles.find(profileId);
        const engine = profile === undefined ? undefined : engines[profile.engine];
        if (profile !== undefined && engine?.elsewhere !== undefined && options.elsewhere !== undefined) await options.elsewhere.end(profile, engine);
      },
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
      busy: (profileId) => options.inUse?.(profileId) ?? false,
      defaultIdleTimeoutSec: () => options.defaultIdleTimeoutSec?.() ?? 0,
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
      const profile = this.options.profiles.find(record.profileId);
      const elsewhere = profile === undefined ? undefined : this.options.engines[profile.engine].elsewhere;
      if (profile !== undefined && elsewhere !== undefined) entry.info.hosts = elsewhere.hosts(profile.options);
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
  /** The checks before a launch of the profile (engine, model, memory), without launching: what a start would run. */
  prepare(profile: Profile): PreparedLaunch {
    return this.launcher.prepare(profile, this.options.engines[profile.engine]);
  }

  /** The same without looking for the engine here (a distributed profile's hosts are checked without it). */
  prepareModel(profile: Profile): Omit<PreparedLaunch, "located"> {
    return this.launcher.prepareModel(profile, this.options.engines[profile.engine]);
  }

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
    return this.options.engines[profile.engine].requestModel({ modelPath, alias: profile.name, ...(profile.model.source === "cache" ? { modelRepo: profile.model.repoId } : {}) });
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
    const job = await this.startWithRoom(profile, "owner", "user", signal);
    return abortable(options.wait === false ? job.spawned : job.ready, signal);
  }

  /**
   * Starts the profile if it is not running and waits until it is ready; a start that would pass
   * the memory budget first stops idle servers (least recently used first), or is refused (503).
   */
  async ensureRunning(profileId: string, signal: AbortSignal, requester: Requester = "owner"): Promise<ServerInfo> {
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
    const info = await abortable((await this.startWithRoom(profile, requester, "request", signal)).ready, signal);
    this.noteActivity(profile.id);
    return info;
  }

  /** The memory budget and what each live server holds of it (`GET /api/memory/budget`). */
  async memoryBudget(): Promise<MemoryBudgetView> {
    const budget = this.budget();
    const servers = await this.holders(undefined);
    return { budgetBytes: budget.bytes, basis: budget.basis, heldBytes: servers.reduce((sum, h) => sum + h.bytes, 0), servers };
  }

  private budget(): { bytes: number; basis: MemoryBudgetView["basis"] } {
    if (this.options.memoryBudget) return this.options.memoryBudget();
    const usable = this.options.usableMemory?.() ?? usableMemory(process.platform, os.totalmem());
    return { bytes: usable.bytes, basis: "usable_memory" };
  }

  /**
   * Joins the profile's start; when it is not running or starting, the start waits its turn behind
   * other starts that need room, stops what the budget requires, and holds the turn until spawned.
   */
  private async startWithRoom(profile: Profile, requester: Requester, startedBy: ServerStartedBy, signal: AbortSignal): Promise<StartJob> {
    const live = (): boolean => {
      const entry = this.entries.get(profile.id);
      // A server being stopped starts again only after its turn in the queue.
      return this.starts.inProgress(profile.id) !== undefined || (isLive(entry) && entry?.info.state !== "stopping");
    };
    if (live()) return this.starts.join(profile.id, signal, { startedBy });
    const turn = this.roomQueue.then(async () => {
      if (live()) return this.starts.join(profile.id, signal, { startedBy });
      // The same checks as the launch (does_not_fit, engine_missing…): refused before anything is stopped.
      await this.makeRoom(profile, requester, signal, this.launcher.prepare(profile, this.options.engines[profile.engine]).fit.need.totalBytes);
      const job = await this.starts.join(profile.id, signal, { startedBy });
      // The next start counts this one once its process (and estimate) is in the entries.
      await job.spawned.catch(() => undefined);
      return job;
    });
    this.roomQueue = turn.catch(() => undefined);
    return abortable(turn, signal);
  }

  /**
   * Room in the budget for something that is not a server (a fine-tuning job of `needBytes`): waits
   * its turn with the starts, stops idle servers as a start would (the owner's request, no group),
   * and throws ApiError 503 over_budget when nothing that may be stopped frees enough.
   */
  async makeRoomFor(holder: { id: string; name: string; needBytes: number }, signal: AbortSignal): Promise<void> {
    const turn = this.roomQueue.then(() => this.makeRoom({ id: holder.id, name: holder.name, group: null }, "owner", signal, holder.needBytes));
    this.roomQueue = turn.catch(() => undefined);
    await abortable(turn, signal);
  }

  /** Stops the servers the budget requires for `profile`, which needs `need` bytes (ApiError 503 over_budget when it cannot). */
  private async makeRoom(profile: Pick<Profile, "id" | "name" | "group">, requester: Requester, signal: AbortSignal, need: number): Promise<void> {
    await Promise.allSettled(this.states.pendingStops());
    const budget = this.budget();
    const holders = await this.holders(profile.id);
    const plan = planRoom({ needBytes: need, budgetBytes: budget.bytes, holders, profile: { id: profile.id, name: profile.name, group: profile.group }, requester });
    if (plan.kind === "fits") return;
    if (plan.kind === "blocked") {
      this.log.warn("no room to start a model", { profile: profile.name, need, budget: budget.bytes, held: holders.map((h) => [h.profileName, h.bytes]) });
      throw new ApiError(503, "over_budget", plan.message, undefined, { retryAfterSec: plan.retryAfterSec });
    }
    for (const victim of plan.victims) {
      signal.throwIfAborted();
      const entry = this.entries.get(victim.profileId);
      // It took a request meanwhile, or stopped on its own: the next turn plans again.
      if (!entry || entry.info.state !== "running" || this.options.inUse?.(victim.profileId) === true) continue;
      entry.info.evictedFor = profile.name;
      this.log.info("stopping a server to make room", { profile: victim.profileName, for: profile.name, freed: victim.bytes, budget: budget.bytes });
      await this.states.stop(entry, "evicted");
      this.options.events.publish({
        type: "server.evicted",
        data: { profileId: victim.profileId, profileName: victim.profileName, forProfileId: profile.id, forProfileName: profile.name, freedBytes: victim.bytes, budgetBytes: budget.bytes, at: this.now() },
      });
    }
  }

  /**
   * What each live server (but `except`) holds: the larger of what it was estimated to need at its
   * context and what it holds now (a cache grows as conversations do, and an estimate can be low).
   */
  private async holders(except: string | undefined): Promise<HeldMemory[]> {
    const live = [...this.entries.values()].filter((e) => isLive(e) && e.info.profileId !== except);
    const pids = live.filter((e) => e.info.state !== "starting").map((e) => e.info.pid ?? 0).filter((pid) => pid > 0);
    const measured = pids.length > 0 && this.options.measureMemory ? await this.options.measureMemory(pids).catch(() => new Map<number, number>()) : new Map<number, number>();
    return live.map((entry) => {
      const info = entry.info;
      const profile = this.options.profiles.find(info.profileId);
      // Adopted servers have no estimate recorded: made once (it reads the model's files), then kept.
      if (info.estimatedBytes === undefined) {
        const made = this.estimateOf(profile);
        if (made !== undefined) info.estimatedBytes = made;
      }
      const estimate = info.estimatedBytes ?? 0;
      const now = measured.get(info.pid ?? 0);
      const held: HeldMemory = {
        profileId: info.profileId,
        profileName: info.profileName,
        bytes: Math.max(estimate, now ?? 0),
        source: now !== undefined && now >= estimate ? "measured" : "estimated",
        pinned: profile?.pinned ?? false,
        group: profile?.group ?? null,
        busy: info.state !== "running" || (this.options.inUse?.(info.profileId) ?? false),
        startedBy: info.startedBy ?? "user",
      };
      if (info.lastActivityAt !== undefined) held.lastActivityAt = info.lastActivityAt;
      return held;
    }).concat((this.options.otherHolders?.() ?? []).filter((h) => h.profileId !== except));
  }

  /** The estimate of a profile's model (adopted servers have none recorded), or undefined when it cannot be made. */
  private estimateOf(profile: Profile | undefined): number | undefined {
    if (!profile) return undefined;
    try {
      return this.launcher.prepare(profile, this.options.engines[profile.engine]).fit.need.totalBytes;
    } catch {
      return undefined;
    }
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
