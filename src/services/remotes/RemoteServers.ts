import type { ManagerEvent } from "../../shared/events";
import { modelRefLabel, type Profile } from "../../shared/profiles";
import type { RemoteBackend, RemotePlacement } from "../../shared/remotes";
import type { ServerInfo, ServerStartedBy, ServerStopReason } from "../../shared/servers";
import { ApiError } from "../api/ApiError";
import type { EventBus } from "../events/EventBus";
import type { Logger } from "../logging/Logger";
import { snapshot } from "../servers/ServerEntry";
import { abortable, NEVER, sleep } from "../servers/waiting";
import type { RemoteBackends } from "./RemoteBackends";
import type { RemoteAccess } from "./remoteHttp";

export interface RemoteServersOptions {
  backends: RemoteBackends;
  profiles: { find(idOrName: string): Profile | undefined; get(idOrName: string): Profile };
  events: EventBus;
  logger: Logger;
  now?: () => number;
  /** exo: how long a placed model may take to appear before the start says it was not placed. Default 15 s. */
  placeAppearMs?: number;
}

/** How long a healthy check counts before a start checks again. */
const FRESH_CHECK_MS = 30_000;
/** exo: how long a placed model may take to appear in /state (it is refused silently when it does not fit), and to load (a download may come first). */
const PLACE_APPEAR_MS = 15_000;
const PLACE_READY_MS = 30 * 60_000;
const PLACE_POLL_MS = 500;
const DEFAULT_PLACEMENT: RemotePlacement = { sharding: "Pipeline", instanceMeta: "MlxRing", minNodes: 1 };

/**
 * The servers of remote profiles: nothing runs here, so "running" means its backend answers and
 * lists the model. Started by Start or just in time by a request (a check of the backend), stopped
 * by Stop (the gateway then starts it again on the next request, as it would a local one); a backend
 * that stops answering makes its servers `unhealthy` until it answers again.
 */
export class RemoteServers {
  private readonly entries = new Map<string, ServerInfo>();
  private readonly now: () => number;
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly options: RemoteServersOptions) {
    this.now = options.now ?? Date.now;
  }

  start(): void {
    this.unsubscribe = this.options.events.subscribe((event) => {
      this.onEvent(event);
    });
  }

  close(): void {
    this.unsubscribe?.();
  }

  list(): ServerInfo[] {
    return [...this.entries.values()].map(snapshot);
  }

  get(profileId: string): ServerInfo | undefined {
    const entry = this.entries.get(profileId);
    return entry === undefined ? undefined : snapshot(entry);
  }

  /** Running once its backend answers and lists the model; a 503 (remote_unreachable) or 404 (remote_model_missing) saying why not. */
  async ensureRunning(profile: Profile, signal: AbortSignal = NEVER, startedBy: ServerStartedBy = "request"): Promise<ServerInfo> {
    const ref = profile.model;
    if (ref.source !== "remote") throw new Error(`profile ${profile.name} is not remote`);
    let current = this.entries.get(profile.id);
    if (current !== undefined && (current.remote?.backendId !== ref.backend || current.remote.model !== ref.model)) {
      // The profile now names another backend or model: the old entry says nothing of it.
      this.entries.delete(profile.id);
      current = undefined;
    }
    const known = this.options.backends.get(ref.backend);
    if (known.kind === "exo") return this.ensureOnExo(profile, current, signal, startedBy);
    const fresh = known.health.state === "healthy" && known.health.checkedAt !== undefined && this.now() - known.health.checkedAt < FRESH_CHECK_MS;
    if (current?.state === "running" && known.health.state === "healthy") return snapshot(current);
    const backend = fresh ? known : await abortable(this.options.backends.check(ref.backend), signal);
    if (backend.health.state !== "healthy") {
      throw new ApiError(503, "remote_unreachable", `Remote backend "${backend.name}" (${backend.url}) cannot serve "${profile.name}": ${backend.health.error ?? "it does not answer"}`, undefined, { retryAfterSec: 5 });
    }
    if (!backend.health.models.some((m) => m.id === ref.model)) {
      const listed = backend.health.models.map((m) => m.id);
      throw new ApiError(404, "remote_model_missing", `Remote backend "${backend.name}" no longer lists "${ref.model}" (it lists ${listed.length === 0 ? "no models" : listed.slice(0, 10).map((m) => `"${m}"`).join(", ")}). Edit profile "${profile.name}" to name one of them.`);
    }
    const at = this.now();
    const entry: ServerInfo = current?.state === "running" ? current : this.entryFor(profile, backend, at, startedBy);
    entry.state = "running";
    delete entry.failure;
    this.entries.set(profile.id, entry);
    this.options.logger.info("remote server up", { profile: profile.name, backend: backend.name });
    this.publish(entry);
    return snapshot(entry);
  }

  /**
   * An exo profile: running once an instance of its model is ready on the cluster. A request only
   * uses (or waits for) one that is placed; Start places it as the profile says, because placing
   * makes exo download the model.
   */
  private async ensureOnExo(profile: Profile, current: ServerInfo | undefined, signal: AbortSignal, startedBy: ServerStartedBy): Promise<ServerInfo> {
    const ref = profile.model;
    if (ref.source !== "remote") throw new Error(`profile ${profile.name} is not remote`);
    const backends = this.options.backends;
    let backend = await abortable(backends.check(ref.backend), signal);
    if (backend.health.state !== "healthy") throw new ApiError(503, "remote_unreachable", `exo cluster "${backend.name}" (${backend.url}) cannot serve "${profile.name}": ${backend.health.error ?? "it does not answer"}`, undefined, { retryAfterSec: 5 });
    const instanceOf = (view: RemoteBackend): NonNullable<RemoteBackend["health"]["instances"]>[number] | undefined => view.health.instances?.find((i) => i.model === ref.model && i.state !== "failed") ?? view.health.instances?.find((i) => i.model === ref.model);
    let instance = instanceOf(backend);
    if (instance?.state === "ready" && current?.state === "running" && current.remote?.instanceId === instance.id) return snapshot(current);
    const at = this.now();
    const entry = current ?? this.entryFor(profile, backend, at, startedBy);
    if (instance === undefined || instance.state === "failed") {
      if (startedBy === "request") {
        throw new ApiError(503, "not_placed", `"${profile.name}" is not placed on exo cluster "${backend.name}", and a request never places a model there (placing makes exo download it). Start it first: MLX: Start Server, or \`mlx-manager start "${profile.name}"\`.`, undefined, { retryAfterSec: 60 });
      }
      await backends.place(ref.backend, ref.model, profile.options.placement ?? DEFAULT_PLACEMENT, signal);
    }
    entry.state = "starting";
    entry.startedAt = at;
    delete entry.failure;
    this.entries.set(profile.id, entry);
    this.publish(entry);
    const started = this.now();
    try {
      for (;;) {
        instance = instanceOf(backend);
        if (instance?.state === "ready") break;
        if (instance?.state === "failed") throw new ApiError(502, "remote_unreachable", `exo cluster "${backend.name}" could not load "${ref.model}": ${instance.error ?? "a runner failed"}.`);
        const waited = this.now() - started;
        if (instance === undefined && waited > (this.options.placeAppearMs ?? PLACE_APPEAR_MS)) {
          throw new ApiError(503, "not_placed", `exo cluster "${backend.name}" did not place "${ref.model}": its nodes have not the memory this placement needs (exo only logs that). Choose another placement from its previews (MLX: Place on exo…, or \`mlx-manager remotes previews ${backend.name} ${ref.model}\`).`);
        }
        if (waited > PLACE_READY_MS) throw new ApiError(504, "remote_unreachable", `"${ref.model}" did not get ready on exo cluster "${backend.name}" within ${Math.round(PLACE_READY_MS / 60_000)} minutes.`);
        await sleep(PLACE_POLL_MS, signal);
        backend = await abortable(backends.check(ref.backend), signal);
      }
    } catch (error) {
      if (!signal.aborted) {
        entry.state = "failed";
        entry.failure = { message: error instanceof Error ? error.message : String(error), logTail: [] };
        this.publish(entry);
      }
      throw error;
    }
    entry.state = "running";
    entry.readyAt = this.now();
    entry.remote = { ...(entry.remote ?? { backendId: backend.id, backendName: backend.name, url: backend.url, model: ref.model }), instanceId: instance.id };
    this.options.logger.info("exo instance ready", { profile: profile.name, backend: backend.name, instance: instance.id });
    this.publish(entry);
    return snapshot(entry);
  }

  async stop(profileId: string, reason: ServerStopReason = "user"): Promise<ServerInfo> {
    const entry = this.entries.get(profileId);
    if (entry === undefined) {
      const profile = this.options.profiles.get(profileId);
      throw new ApiError(404, "not_found", `Profile "${profile.name}" has no server: it was not started since the manager started.`);
    }
    const instanceId = entry.remote?.instanceId;
    if (instanceId !== undefined && entry.remote !== undefined && entry.state !== "stopped") {
      // exo: stopping deletes the instance (its memory on every node is freed).
      await this.options.backends.deleteInstance(entry.remote.backendId, instanceId, NEVER);
      entry.remote = { ...entry.remote };
      delete entry.remote.instanceId;
    }
    if (entry.state !== "stopped") {
      entry.state = "stopped";
      entry.stoppedAt = this.now();
      entry.stopReason = reason;
      delete entry.failure;
      this.publish(entry);
    }
    return snapshot(entry);
  }

  stopAll(): Promise<ServerInfo[]> {
    return Promise.all([...this.entries.values()].filter((e) => e.state !== "stopped").map((e) => this.stop(e.profileId)));
  }

  noteActivity(profileId: string): void {
    const entry = this.entries.get(profileId);
    if (entry) entry.lastActivityAt = this.now();
  }

  access(profile: Profile): RemoteAccess | undefined {
    return profile.model.source === "remote" ? this.options.backends.access(profile.model.backend) : undefined;
  }

  /** A remote profile: whether its backend's last check found it answering (undefined before the first); a local one: undefined. */
  available(profile: Profile): boolean | undefined {
    if (profile.model.source !== "remote") return undefined;
    const state = this.options.backends.find(profile.model.backend)?.health.state;
    return state === undefined || state === "unknown" ? undefined : state === "healthy";
  }

  reportFailure(profile: Profile, error: string): void {
    if (profile.model.source === "remote") this.options.backends.reportFailure(profile.model.backend, error);
  }

  private entryFor(profile: Profile, backend: RemoteBackend, at: number, startedBy: ServerStartedBy): ServerInfo {
    const ref = profile.model;
    const url = new URL(backend.url);
    return {
      profileId: profile.id,
      profileName: profile.name,
      engine: "remote",
      model: modelRefLabel(ref, () => backend.name),
      port: Number(url.port || (url.protocol === "https:" ? 443 : 80)),
      state: "running",
      upstreamUrl: backend.url,
      startedAt: at,
      readyAt: at,
      lastActivityAt: at,
      restarts: 0,
      logFile: "",
      adopted: false,
      command: [],
      warnings: backend.plainHttp ? [`Requests to "${backend.name}" cross the network in clear text (plain http).`] : [],
      startedBy,
      remote: { backendId: backend.id, backendName: backend.name, url: backend.url, model: ref.source === "remote" ? ref.model : "" },
    };
  }

  private publish(entry: ServerInfo): void {
    this.options.events.publish({ type: "server.changed", data: snapshot(entry) });
  }

  private onEvent(event: ManagerEvent): void {
    if (event.type === "remote.changed") {
      const backend = event.data;
      for (const entry of this.entries.values()) {
        if (entry.remote?.backendId !== backend.id || entry.state === "stopped" || entry.state === "starting") continue;
        // exo: the instance it serves from must still be there (a node that left takes it along).
        const instanceId = entry.remote.instanceId;
        const gone = instanceId !== undefined && backend.health.state === "healthy" && !(backend.health.instances ?? []).some((i) => i.id === instanceId && i.state === "ready");
        const healthy = backend.health.state === "healthy" && !gone;
        const next = healthy ? "running" : "unhealthy";
        const renamed = entry.remote.backendName !== backend.name;
        if (entry.state === next && !renamed) continue;
        entry.state = next;
        entry.remote = { ...entry.remote, backendName: backend.name };
        entry.model = `${entry.remote.model} on ${backend.name}`;
        if (healthy) delete entry.failure;
        else entry.failure = { message: gone ? `exo cluster "${backend.name}" no longer has this model's instance ready (a node may have left): stop and start it again.` : (backend.health.error ?? `Remote backend "${backend.name}" does not answer.`), logTail: [] };
        this.publish(entry);
      }
    } else if (event.type === "profile.deleted") {
      if (this.entries.delete(event.data.id)) this.options.events.publish({ type: "server.removed", data: { profileId: event.data.id } });
    } else if (event.type === "profile.updated") {
      const entry = this.entries.get(event.data.id);
      if (entry === undefined) return;
      const ref = event.data.model;
      if (ref.source !== "remote" || entry.remote?.backendId !== ref.backend || entry.remote.model !== ref.model) {
        // Another backend or model: stopped; the next request or Start checks the new one.
        if (entry.state !== "stopped") {
          void this.stop(entry.profileId, "restart").catch((error: unknown) => {
            this.options.logger.warn("could not stop a remote server after its profile changed", { profile: entry.profileName, error: String(error) });
          });
        }
        return;
      }
      if (entry.profileName !== event.data.name) {
        entry.profileName = event.data.name;
        this.publish(entry);
      }
    }
  }
}
