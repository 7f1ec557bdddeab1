import os from "node:os";
import path from "node:path";
import type { FastifyInstance } from "fastify";
import type { ManagerStatus } from "../../shared/api";
import type { EngineId } from "../../shared/engines";
import type { UsageList } from "../../shared/usage";
import { GatewayKeyStore, registerGatewayKeyRoutes } from "../api/GatewayKeyStore";
import { createApiServer } from "../api/server";
import { AccountService } from "../auth/AccountService";
import { registerOwnerRoutes } from "../auth/ownerRoutes";
import { SharedAccess } from "../auth/SharedAccess";
import { SharedListener } from "../auth/SharedListener";
import { TokenService } from "../auth/TokenService";
import { registerServerRoutes } from "../api/serverRoutes";
import { ConversationStore, registerConversationRoutes } from "../conversations/ConversationStore";
import { ENGINES } from "../engines/registry";
import { EventBus } from "../events/EventBus";
import { registerGatewayRoutes } from "../gateway/gatewayRoutes";
import { ResponseStore } from "../gateway/ResponseStore";
import { UsageMeter } from "../gateway/UsageMeter";
import { BlobFetcher } from "../hub/BlobFetcher";
import { DownloadService } from "../hub/DownloadService";
import { enospcAfter } from "../hub/faultSinks";
import { StorePartsLedger } from "../hub/PartsLedger";
import { HubClient } from "../hub/HubClient";
import { hubEndpoint, hubOffline, readHubToken } from "../hub/hubConfig";
import { hubFit } from "../hub/hubFit";
import { registerHubRoutes } from "../hub/hubRoutes";
import { FileLogger } from "../logging/FileLogger";
import { MetricsService, type RequestStatsSource } from "../metrics/MetricsService";
import { registerMetricsRoutes } from "../metrics/routes";
import { machineMemory, registerMemoryRoutes } from "../models/MemoryEstimator";
import { ModelService } from "../models/ModelService";
import { ProfileService } from "../profiles/ProfileService";
import { ServerRecords } from "../servers/ServerRecords";
import { ServerSupervisor, type SupervisorSettings } from "../servers/ServerSupervisor";
import { Store } from "../store/Store";
import { RequestQueues } from "../gateway/RequestQueues";
import { registerSettingsRoutes, SettingsService } from "../settings/SettingsService";
import type { ServerInfo } from "../../shared/servers";
import { RemoteBackends } from "../remotes/RemoteBackends";
import { registerRemoteRoutes } from "../remotes/remoteRoutes";
import { DistributedRanks } from "../distributed/DistributedRanks";
import { registerDistributedRoutes } from "../distributed/distributedRoutes";
import { BenchService } from "../bench/BenchService";
import { registerBenchRoutes } from "../bench/benchRoutes";
import { PerplexityService } from "../bench/PerplexityService";
import { JobService } from "../jobs/JobService";
import { registerJobRoutes } from "../jobs/jobRoutes";
import { pythonWithMlxLm } from "../jobs/pythonWithMlxLm";
import { RemoteServers } from "../remotes/RemoteServers";
import { ServerFleet } from "../remotes/ServerFleet";
import { DataDir, type LockInfo } from "./DataDir";
import { diskFullWhileFlagged } from "./faults";

export interface ManagerOptions {
  dataDir: string;
  /** 0 picks any free port. */
  port: number;
  hfCache: string;
  version: string;
  watchCache?: boolean;
  /** Stop every model server when the manager exits (default: they keep running and are re-adopted). */
  stopServersOnExit?: boolean;
  /** Explicit engine executables (a user setting); they win over PATH. */
  engineExecutables?: Partial<Record<EngineId, string>>;
  /** Supervisor timings (tests shorten them). */
  supervisorSettings?: Partial<SupervisorSettings>;
  /** Moves shared mode's clock (token expiry, rate limits) by this much; tests use it. */
  clockOffsetMs?: number;
}

/** The composition root of the manager process: owns the lock, store, catalogue and API. */
export class ManagerApp {
  private readonly dataDir: DataDir;
  private readonly notices: string[] = [];
  private api?: FastifyInstance;
  private store?: Store;
  private models?: ModelService;
  private supervisor?: ServerSupervisor;
  private remotes?: RemoteBackends;
  private remoteServers?: RemoteServers;
  private jobs?: JobService;
  private bench?: BenchService;
  private meter?: UsageMeter;
  private metrics?: MetricsService;
  private accounts?: AccountService;
  private shared?: SharedListener;
  private downloads?: DownloadService;
  private logger?: FileLogger;
  private lock?: LockInfo;
  private stopping?: Promise<void>;
  url = "";

  constructor(private readonly options: ManagerOptions) {
    this.dataDir = new DataDir(options.dataDir);
  }

  /** Takes the lock, opens the store, scans the cache, listens. Throws ManagerAlreadyRunningError. */
  async start(): Promise<void> {
    this.dataDir.ensure();
    this.lock = this.dataDir.acquireLock(this.options.version);
    try {
      await this.startParts();
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  private async startParts(): Promise<void> {
    const logger = (this.logger = new FileLogger({ file: path.join(this.dataDir.logDir, "manager.log") }));
    logger.info("manager starting", { version: this.options.version, dataDir: this.options.dataDir, hfCache: this.options.hfCache });
    const token = this.dataDir.loadOrCreateToken();
    // Tests fill the disk by creating this file (faults.ts); unset in real use.
    const diskFullFlag = process.env["MLX_MANAGER_FAULT_DISK_FULL_FLAG"];
    const faults = diskFullFlag ? diskFullWhileFlagged(diskFullFlag) : undefined;
    const { store, report } = await Store.open({ dir: this.options.dataDir, logger, ...(faults ? { io: faults.io } : {}) });
    this.store = store;
    if (report.message) {
      this.notices.push(report.message);
      logger.warn("store recovered", { ...report });
    }
    const events = new EventBus();
    const models = (this.models = new ModelService({
      cacheDir: this.options.hfCache,
      metaCacheFile: path.join(this.options.dataDir, "scan-cache.json"),
      events,
      logger,
      watch: this.options.watchCache ?? true,
    }));
    await models.start();
    const remotes = (this.remotes = new RemoteBackends({
      store,
      events,
      logger,
      keyDir: path.join(this.options.dataDir, "remote-keys"),
      ...(process.env["MLX_MANAGER_REMOTE_CHECK_MS"] ? { checkIntervalMs: Number(process.env["MLX_MANAGER_REMOTE_CHECK_MS"]) } : {}),
    }));
    const profiles = new ProfileService({ store, catalog: { list: () => models.models() }, events, engines: ENGINES, remotes });
    const machine = await machineMemory();
    const settings = new SettingsService({ store, events, logger });
    const queues = new RequestQueues(() => {
      const now = settings.get();
      return { maxLength: now.queueMaxLength, timeoutMs: now.queueTimeoutSec * 1000 };
    });
    // Before the supervisor: it measures what servers hold through it (the servers are read lazily).
    const metricsServers: { list: () => ServerInfo[] } = { list: () => [] };
    const metrics = (this.metrics = new MetricsService({ servers: () => metricsServers.list(), requests: { stats: (profileId) => requestStats.stats(profileId) }, logger }));
    // Engines find repos in the cache the manager serves (a distributed rank 0 resolves its repo id there).
    const engineEnv = { ...process.env, HF_HUB_CACHE: this.options.hfCache };
    const ranks = new DistributedRanks({ logger: logger.child({ part: "distributed" }), env: engineEnv });
    const supervisor = (this.supervisor = new ServerSupervisor({
      profiles,
      env: engineEnv,
      elsewhere: ranks,
      // A running fine-tuning job holds its share of the memory budget too.
      otherHolders: () => this.jobs?.held() ?? [],
      catalog: { list: () => models.models() },
      events,
      logger,
      records: new ServerRecords(store),
      engines: ENGINES,
      logDir: path.join(this.dataDir.logDir, "servers"),
      usableMemory: () => machine,
      memoryBudget: () => {
        const budget = settings.get().memoryBudgetBytes;
        return budget === null ? { bytes: machine.bytes, basis: "usable_memory" } : { bytes: budget, basis: "setting" };
      },
      measureMemory: (pids) => metrics.memoryOf(pids),
      inUse: (profileId) => queues.busy(profileId),
      defaultIdleTimeoutSec: () => settings.get().defaultIdleTimeoutSec,
      ...(this.options.engineExecutables ? { executables: this.options.engineExecutables } : {}),
      ...(this.options.supervisorSettings ? { settings: this.options.supervisorSettings } : {}),
    }));
    const appearMs = Number(process.env["MLX_MANAGER_EXO_PLACE_APPEAR_MS"] ?? "");
    const remoteServers = (this.remoteServers = new RemoteServers({ backends: remotes, profiles, events, logger, ...(appearMs > 0 ? { placeAppearMs: appearMs } : {}) }));
    remoteServers.start();
    remotes.start();
    // Local servers and remote profiles' backends, one directory for the gateway, the API and shared mode.
    const fleet = new ServerFleet(supervisor, remoteServers, profiles);
    metricsServers.list = () => fleet.list();
    const adoption = await supervisor.init();
    // Fine-tuning jobs: the entry point next to this bundle, run with the Python that has mlx-lm.
    const jobs = (this.jobs = new JobService({
      store,
      events,
      logger: logger.child({ part: "jobs" }),
      catalog: { list: () => models.models() },
      dir: path.join(this.options.dataDir, "jobs"),
      python: () => pythonWithMlxLm(engineEnv, undefined, [this.options.engineExecutables?.["mlx-lm"] ?? ""]),
      entryScript: path.join(__dirname, "mlx_manager_train.py"),
      env: engineEnv,
      room: (job, signal) => supervisor.makeRoomFor(job, signal),
      hubCache: this.options.hfCache,
      onModelAdded: () => void models.rescan().catch(() => undefined),
    }));
    jobs.init();
    if (adoption.adopted.length > 0 || adoption.cleaned.length > 0) {
      logger.info("servers of the last run", { adopted: adoption.adopted.map((s) => s.profileName), cleaned: adoption.cleaned.length });
    }
    const meter = (this.meter = new UsageMeter({ logger, store, queueDepth: (profileId) => queues.depth(profileId) }));
    const requestStats: RequestStatsSource = {
      stats: (profileId) => {
        const usage = meter.snapshot(profileId);
        // Before its first request a server's queue is empty, and its slots are known from its engine.
        const profile = profiles.find(profileId);
        const queue = usage?.queue ?? (profile === undefined ? undefined : { active: 0, waiting: 0, slots: ENGINES[profile.engine].slots(profile.options) });
        if (!usage) return queue === undefined ? undefined : { requests: 0, queue };
        return {
          requests: usage.total.requests,
          ...(usage.tokensPerSecondLastRequest !== undefined ? { tokensPerSecLast: usage.tokensPerSecondLastRequest } : {}),
          ...(usage.lastMinute.tokensPerSecond !== undefined ? { tokensPerSecMinute: usage.lastMinute.tokensPerSecond } : {}),
          ...(usage.ttftP50Ms !== undefined ? { ttftP50Ms: usage.ttftP50Ms } : {}),
          ...(usage.queueWaitP50Ms !== undefined ? { queueWaitP50Ms: usage.queueWaitP50Ms } : {}),
          ...(queue !== undefined ? { queue } : {}),
        };
      },
    };
    const offset = this.options.clockOffsetMs ?? 0;
    const now = offset === 0 ? Date.now : () => Date.now() + offset;
    const responses = new ResponseStore(path.join(this.options.dataDir, "responses"), logger);
    responses.open();
    const disconnect: { user?: (userId: string) => void } = {};
    const sharedChanged: { notify?: () => void } = {};
    const accounts = (this.accounts = new AccountService({ store, logger, now, onInvalidate: (userId) => disconnect.user?.(userId), onChange: () => sharedChanged.notify?.(), onDelete: (userId) => { responses.purgeOwner(userId); } }));
    const tokens = new TokenService({ secret: () => this.dataDir.loadOrCreateJwtSecret(), now });
    const access = new SharedAccess(accounts, tokens, {}, now);
    disconnect.user = (userId) => void access.disconnect(userId);
    const shared = (this.shared = new SharedListener({
      access,
      supervisor: fleet,
      profiles,
      meter,
      logger,
      tlsDir: path.join(this.options.dataDir, "tls"),
      responses,
      queues,
      onStatus: (data) => events.publish({ type: "shared.changed", data }),
    }));
    sharedChanged.notify = () => events.publish({ type: "shared.changed", data: shared.status() });
    // Profiles decide what runs on this Mac: their changes go to the audit log (only the owner can make them).
    events.subscribe((event) => {
      if (event.type === "profile.created" || event.type === "profile.updated" || event.type === "profile.deleted") {
        accounts.audit("profile_change", { kind: "owner" }, { target: event.data.name, change: event.type.slice("profile.".length) });
      }
    });
    // The Hub token: the one the extension hands over (memory only), else HF_TOKEN or the token file.
    let apiHubToken: string | undefined;
    const hub = new HubClient({
      endpoint: hubEndpoint(),
      offline: hubOffline(),
      token: () => apiHubToken ?? readHubToken()?.token,
      cacheDir: this.options.hfCache,
      logger,
    });
    const faultBytes = Number(process.env["MLX_MANAGER_FAULT_ENOSPC_AFTER_BYTES"] ?? "");
    const downloads = (this.downloads = new DownloadService({
      store,
      hub,
      fetcher: new BlobFetcher({
        logger,
        userAgent: `mlx-model-manager/${this.options.version}`,
        parts: { ledger: new StorePartsLedger(store) },
        ...(Number.isInteger(faultBytes) && faultBytes > 0 ? { openFile: enospcAfter(faultBytes) } : faults ? { openFile: faults.openFile } : {}),
      }),
      cacheDir: this.options.hfCache,
      events,
      logger,
      onCompleted: () => void models.rescan().catch(() => undefined),
    }));
    downloads.start();
    const hubTokens = {
      set: (value: string | undefined) => { apiHubToken = value; },
      source: () => (apiHubToken !== undefined ? "api" as const : readHubToken()?.source ?? "none"),
    };
    const startedAt = Date.now();
    const status = (): ManagerStatus => ({
      version: this.options.version,
      pid: process.pid,
      startedAt,
      url: this.url,
      dataDir: this.options.dataDir,
      hfCache: this.options.hfCache,
      models: models.models().length,
      profiles: profiles.list().length,
      notices: this.notices,
    });
    const gatewayKeys = new GatewayKeyStore(path.join(this.options.dataDir, "gateway-key"), logger);
    // Benchmarks go through the gateway as any client: the manager's own /v1 with the gateway key.
    const bench = (this.bench = new BenchService({
      store,
      events,
      logger: logger.child({ part: "bench" }),
      profile: (idOrName) => profiles.get(idOrName),
      servers: { get: (id) => fleet.get(id), stop: (id, signal) => fleet.stop(id, signal), start: (id, signal) => fleet.start(id, signal) },
      onUsage: (listener) => meter.onRecord(listener),
      gateway: () => ({ url: this.url, key: gatewayKeys.get().key }),
      memoryOf: async (pid) => (await metrics.memoryOf([pid])).get(pid),
      memorySource: process.platform === "darwin" ? "phys_footprint" : "rss",
    }));
    bench.init();
    const perplexity = new PerplexityService({
      store,
      events,
      logger: logger.child({ part: "perplexity" }),
      catalog: { list: () => models.models() },
      profile: (idOrName) => profiles.get(idOrName),
      ensureRunning: (profileId, signal) => supervisor.ensureRunning(profileId, signal),
      python: () => pythonWithMlxLm(engineEnv, undefined, [this.options.engineExecutables?.["mlx-lm"] ?? ""]),
      entryScript: path.join(__dirname, "mlx_manager_perplexity.py"),
      env: engineEnv,
      room: (holder, signal) => supervisor.makeRoomFor(holder, signal),
    });
    this.api = createApiServer({
      token,
      gatewayKey: gatewayKeys,
      logger,
      events,
      profiles,
      models,
      engines: Object.values(ENGINES),
      status,
      shutdown: () => void this.stop().then(() => process.exit(0)),
      extraRoutes: (app) => {
        registerServerRoutes(app, { supervisor: fleet });
        registerJobRoutes(app, { jobs, createProfile: (input) => profiles.create(input) });
        registerBenchRoutes(app, { bench, perplexity });
        registerDistributedRoutes(app, { ranks, profiles, prepare: (profile) => supervisor.prepare(profile), prepareModel: (profile) => supervisor.prepareModel(profile) });
        registerRemoteRoutes(app, { remotes, usedBy: (backendId) => profiles.list().filter((p) => p.model.source === "remote" && p.model.backend === backendId).map((p) => p.name) });
        registerMetricsRoutes(app, { metrics });
        registerConversationRoutes(app, { conversations: new ConversationStore(store) });
        registerHubRoutes(app, { hub, downloads, tokens: hubTokens, fit: (info, context, signal, token) => hubFit({ hub, engines: ENGINES, usable: machine, platform: process.platform }, info, context, { signal, token }) });
        registerMemoryRoutes(app, { catalog: { list: () => models.models() }, engines: ENGINES, usable: () => machine });
        registerGatewayRoutes(app, { directory: fleet, meter, logger, profiles, engines: ENGINES, responses, queues });
        registerSettingsRoutes(app, { settings });
        app.get("/api/memory/budget", async () => supervisor.memoryBudget());
        registerGatewayKeyRoutes(app, { keys: gatewayKeys, events });
        app.get("/api/usage", async (): Promise<UsageList> => ({ servers: meter.snapshotAll() }));
        registerOwnerRoutes(app, {
          accounts,
          shared,
          rotateSecret: () => { tokens.rotate(this.dataDir.rotateJwtSecret()); },
          flushUsage: () => { meter.flush(); },
        });
      },
    });
    // Loopback only: other machines reach models only through shared mode (a separate listener).
    await this.api.listen({ host: "127.0.0.1", port: this.options.port });
    const address = this.api.server.address();
    const port = typeof address === "object" && address ? address.port : this.options.port;
    this.url = `http://127.0.0.1:${port}`;
    if (this.lock) this.dataDir.updateLock({ ...this.lock, url: this.url });
    logger.info("manager listening", { url: this.url, host: os.hostname() });
  }

  get startupNotices(): readonly string[] {
    return this.notices;
  }

  /** Stops listening, saves everything and gives up the lock. Safe to call twice. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.logger?.info("manager stopping");
      await this.shared?.stop().catch(() => undefined);
      await this.api?.close().catch(() => undefined);
      await this.downloads?.close().catch(() => undefined);
      this.metrics?.close();
      this.remotes?.close();
      this.remoteServers?.close();
      this.jobs?.close();
      this.bench?.close();
      this.meter?.close();
      this.accounts?.close();
      await this.supervisor?.close({ stopServers: this.options.stopServersOnExit ?? false }).catch(() => undefined);
      await this.models?.stop().catch(() => undefined);
      this.store?.close();
      this.dataDir.releaseLock();
      this.logger?.flush();
    })();
    return this.stopping;
  }
}
