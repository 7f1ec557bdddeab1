import * as vscode from "vscode";
import { ManagerRequestError, type ManagerClient } from "../../client/ManagerClient";
import type { EngineInfo } from "../../shared/engines";
import type { ManagerEvent, SequencedEvent } from "../../shared/events";
import type { Download } from "../../shared/hub";
import type { MetricsSnapshot, ServerMetrics } from "../../shared/metrics";
import type { CachedModel } from "../../shared/models";
import type { Profile } from "../../shared/profiles";
import type { RemoteBackend } from "../../shared/remotes";
import type { Job } from "../../shared/jobs";
import type { ServerInfo } from "../../shared/servers";
import type { SharedStatus, UserInfo } from "../../shared/auth";
import type { ManagerConnection } from "./ManagerConnection";

export type StateKind = "models" | "profiles" | "servers" | "downloads" | "metrics" | "users" | "gatewayKey" | "remotes" | "jobs";

const METRICS_INTERVAL_MS = 3000;

/**
 * The extension's copy of the manager's state: fetched once per connection, then kept current
 * from the event stream (never by polling the lists). Views read it and listen to `onDidChange`.
 */
export class ManagerState implements vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<StateKind>();
  readonly onDidChange = this.changed.event;
  models: CachedModel[] = [];
  profiles: Profile[] = [];
  engines: EngineInfo[] = [];
  readonly servers = new Map<string, ServerInfo>();
  readonly downloads = new Map<string, Download>();
  readonly metrics = new Map<string, ServerMetrics>();
  /** Remote backends (other machines' OpenAI-compatible servers), by id. */
  readonly remotes = new Map<string, RemoteBackend>();
  /** Fine-tuning jobs, newest first when listed. */
  readonly jobs = new Map<string, Job>();
  /** Shared (team) mode of the manager: null for managers without it, undefined until known. */
  shared: SharedStatus | null | undefined;
  /** Accounts of shared mode (the local owner sees them all). */
  users: UserInfo[] = [];
  /** True once the lists were fetched at least once. */
  loaded = false;
  private follow: AbortController | undefined;
  private pending: SequencedEvent[] | undefined;
  private metricsTimer: NodeJS.Timeout | undefined;
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(
    private readonly connection: ManagerConnection,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.subscriptions.push(
      connection.onDidChange((state) => {
        if (state.kind === "connected") this.start(state.client);
        else {
          this.stop();
          this.shared = undefined;
          this.users = [];
        }
        this.fireAll();
      }),
    );
  }

  get runningServers(): ServerInfo[] {
    return [...this.servers.values()].filter((s) => s.state === "running" || s.state === "unhealthy");
  }

  /** Servers worth showing: all but the stopped ones. */
  get visibleServers(): ServerInfo[] {
    // A server stopped to make room for another model stays listed, saying so, until it starts again.
    return [...this.servers.values()].filter((s) => s.state !== "stopped" || s.stopReason === "evicted").sort((a, b) => a.profileName.localeCompare(b.profileName));
  }

  serverOf(profileId: string): ServerInfo | undefined {
    return this.servers.get(profileId);
  }

  /** Fetches every list again (after a resync, a reconnect or a Refresh). */
  async refresh(client: ManagerClient): Promise<void> {
    this.pending ??= [];
    try {
      const [models, profiles, servers, engines, downloads, remotes, jobs] = await Promise.all([
        client.models(),
        client.profiles(),
        client.servers(),
        client.engines(),
        client.downloads().catch((error: unknown) => {
          // Older managers have no downloads route: show none rather than fail.
          if (error instanceof ManagerRequestError && error.status === 404) return { downloads: [] };
          throw error;
        }),
        client.remotes().catch((error: unknown) => {
          // Managers before remote backends: none.
          if (error instanceof ManagerRequestError && error.status === 404) return { remotes: [] };
          throw error;
        }),
        client.jobs().catch((error: unknown) => {
          // Managers before fine-tuning jobs: none.
          if (error instanceof ManagerRequestError && error.status === 404) return { jobs: [] };
          throw error;
        }),
      ]);
      this.jobs.clear();
      for (const job of jobs.jobs) this.jobs.set(job.id, job);
      this.remotes.clear();
      for (const remote of remotes.remotes) this.remotes.set(remote.id, remote);
      this.models = models.models;
      this.profiles = profiles.profiles;
      this.engines = engines.engines;
      this.servers.clear();
      for (const server of servers.servers) this.servers.set(server.profileId, server);
      this.downloads.clear();
      for (const download of downloads.downloads) this.downloads.set(download.id, download);
      this.loaded = true;
      void this.refreshUsers(client);
      // Events that arrived while fetching are newer than (or equal to) what was fetched.
      const late = this.pending;
      this.pending = undefined;
      for (const event of late) this.apply(event);
    } finally {
      this.pending = undefined;
    }
    this.updateMetricsTimer();
    this.fireAll();
  }

  private start(client: ManagerClient): void {
    this.stop();
    const follow = new AbortController();
    this.follow = follow;
    let lostTimer: NodeJS.Timeout | undefined;
    void client.followEvents(
      (event) => {
        if (event.type === "resync") void this.refresh(client).catch((e: unknown) => { this.log.warn(`refresh failed: ${String(e)}`); });
        else if (this.pending) this.pending.push(event);
        else this.apply(event);
      },
      follow.signal,
      (connected) => {
        clearTimeout(lostTimer);
        if (connected) void this.refresh(client).catch((e: unknown) => { this.log.warn(`refresh failed: ${String(e)}`); });
        // A short drop is retried by followEvents itself; a longer one means the manager is gone.
        else if (!follow.signal.aborted) lostTimer = setTimeout(() => { this.connection.lost("the event stream closed"); }, 2000);
      },
    );
    follow.signal.addEventListener("abort", () => { clearTimeout(lostTimer); }, { once: true });
  }

  private stop(): void {
    this.follow?.abort();
    this.follow = undefined;
    clearInterval(this.metricsTimer);
    this.metricsTimer = undefined;
  }

  private jobsTimer: NodeJS.Timeout | undefined;

  /** "jobs" changed, at most every 500 ms (reports may come ten times a second). */
  private jobsChanged(): void {
    if (this.jobsTimer !== undefined) return;
    this.jobsTimer = setTimeout(() => {
      this.jobsTimer = undefined;
      this.changed.fire("jobs");
    }, 500);
  }

  /** Jobs, newest first. */
  get jobList(): Job[] {
    return [...this.jobs.values()].sort((a, b) => b.createdAt - a.createdAt);
  }

  /** Applies one event to the copy and tells the views which list changed. */
  apply(event: ManagerEvent): void {
    switch (event.type) {
      case "model.added":
      case "model.changed": {
        const index = this.models.findIndex((m) => m.id === event.data.id);
        this.models = index < 0 ? [...this.models, event.data] : this.models.with(index, event.data);
        this.changed.fire("models");
        return;
      }
      case "model.removed":
        this.models = this.models.filter((m) => m.id !== event.data.id);
        this.changed.fire("models");
        return;
      case "profile.created":
      case "profile.updated":
        this.profiles = [...this.profiles.filter((p) => p.id !== event.data.id), event.data];
        this.changed.fire("profiles");
        return;
      case "profile.deleted":
        this.profiles = this.profiles.filter((p) => p.id !== event.data.id);
        this.changed.fire("profiles");
        return;
      case "server.changed":
        this.servers.set(event.data.profileId, event.data);
        this.updateMetricsTimer();
        this.changed.fire("servers");
        this.changed.fire("profiles");
        return;
      case "server.removed":
        this.servers.delete(event.data.profileId);
        this.metrics.delete(event.data.profileId);
        this.updateMetricsTimer();
        this.changed.fire("servers");
        this.changed.fire("profiles");
        return;
      case "download.changed":
      case "download.progress":
        this.downloads.set(event.data.id, event.data);
        this.changed.fire("downloads");
        return;
      case "download.removed":
        this.downloads.delete(event.data.id);
        this.changed.fire("downloads");
        return;
      case "shared.changed":
        this.shared = event.data;
        this.changed.fire("users");
        if (this.connection.state.kind === "connected") void this.refreshUsers(this.connection.state.client);
        return;
      case "job.changed":
        this.jobs.set(event.data.id, event.data);
        this.changed.fire("jobs");
        break;
      case "job.report": {
        // The figures of a running job as they come; the view redraws at most twice a second.
        const job = this.jobs.get(event.data.id);
        if (job === undefined) break;
        const r = event.data.report;
        if (r.event === "train") this.jobs.set(job.id, { ...job, iteration: r.iteration, ...(r.train_loss === undefined ? {} : { trainLoss: r.train_loss }) });
        else if (r.val_loss !== undefined) this.jobs.set(job.id, { ...job, valLoss: r.val_loss });
        this.jobsChanged();
        break;
      }
      case "remote.changed":
        this.remotes.set(event.data.id, event.data);
        this.changed.fire("remotes");
        return;
      case "remote.removed":
        this.remotes.delete(event.data.id);
        this.changed.fire("remotes");
        return;
      case "gatewayKey.rotated":
        // Whoever hands the key out (terminals, Copy Endpoint) fetches the new one.
        this.changed.fire("gatewayKey");
        return;
      case "resync":
        return;
    }
  }

  /** Fetches shared mode's state and accounts again (after an event or a user action). */
  async refreshUsers(client: ManagerClient): Promise<void> {
    try {
      const [shared, users] = await Promise.all([client.sharedStatus(), client.users()]);
      this.shared = shared;
      this.users = users.users;
    } catch (error) {
      // Managers without shared mode answer 404: no Users to show.
      const missing = error instanceof ManagerRequestError && error.status === 404;
      if (!missing) this.log.warn(`users: ${String(error)}`);
      this.shared = missing ? null : undefined;
      this.users = [];
    }
    this.changed.fire("users");
  }

  /** Memory and tokens/s come from /api/metrics, asked only while a server runs. */
  private updateMetricsTimer(): void {
    const want = this.runningServers.length > 0 && this.connection.state.kind === "connected";
    if (want && !this.metricsTimer) {
      this.metricsTimer = setInterval(() => void this.sampleMetrics(), METRICS_INTERVAL_MS);
      void this.sampleMetrics();
    } else if (!want && this.metricsTimer) {
      clearInterval(this.metricsTimer);
      this.metricsTimer = undefined;
      this.metrics.clear();
      this.changed.fire("metrics");
    }
  }

  private async sampleMetrics(): Promise<void> {
    const state = this.connection.state;
    if (state.kind !== "connected") return;
    try {
      const snapshot = await state.client.request<MetricsSnapshot>("GET", "/api/metrics", undefined, AbortSignal.timeout(5000));
      this.metrics.clear();
      for (const server of snapshot.servers) this.metrics.set(server.profileId, server);
      this.changed.fire("metrics");
    } catch (error) {
      this.log.debug(`metrics: ${String(error)}`);
    }
  }

  private fireAll(): void {
    for (const kind of ["models", "profiles", "servers", "downloads", "metrics", "users", "remotes", "jobs"] as const) this.changed.fire(kind);
  }

  dispose(): void {
    this.stop();
    clearTimeout(this.jobsTimer);
    for (const s of this.subscriptions) s.dispose();
    this.changed.dispose();
  }
}
