import type { Profile } from "../../shared/profiles";
import type { ServerInfo } from "../../shared/servers";
import { ApiError } from "../api/ApiError";
import { routeModel } from "../profiles/modelRoutes";
import type { ServerControl } from "../servers/ServerDirectory";
import type { ServerSupervisor, StartOptions } from "../servers/ServerSupervisor";
import { abortable, NEVER } from "../servers/waiting";
import type { RemoteAccess } from "./remoteHttp";
import type { RemoteServers } from "./RemoteServers";

/**
 * Every server the manager serves models from: the supervisor's processes on this machine and the
 * remote profiles' backends. The gateway, the API's server routes and shared mode see one directory;
 * each call goes to the part that owns the profile.
 */
export class ServerFleet implements ServerControl {
  constructor(
    private readonly local: ServerSupervisor,
    private readonly remote: RemoteServers,
    private readonly profiles: { find(idOrName: string): Profile | undefined; get(idOrName: string): Profile; list(): Profile[] },
  ) {}

  list(): ServerInfo[] {
    return [...this.local.list(), ...this.remote.list()].sort((a, b) => a.profileName.localeCompare(b.profileName));
  }

  get(idOrName: string): ServerInfo | undefined {
    const profile = this.profiles.find(idOrName);
    if (profile !== undefined && isRemote(profile)) return this.remote.get(profile.id);
    return this.local.get(idOrName);
  }

  findProfile(model: string): Profile | undefined {
    return this.local.findProfile(model);
  }

  replicasOf(model: string): Profile[] {
    // Which servers run matters only when several profiles share a repo id: worked out then.
    let running: Set<string> | undefined;
    const isLive = (id: string): boolean => {
      // Live as the supervisor's findProfile counts it, so both pick the same profile.
      running ??= new Set(this.list().filter((s) => s.state !== "stopped" && s.state !== "failed").map((s) => s.profileId));
      return running.has(id);
    };
    const all = this.profiles.list();
    const direct = all.find((p) => p.id === model);
    return routeModel(direct?.name ?? model, all, isLive).map((r) => r.profile);
  }

  ensureRunning(profileId: string, signal: AbortSignal, requester: "owner" | "teammate" = "owner"): Promise<ServerInfo> {
    const profile = this.profiles.get(profileId);
    return isRemote(profile) ? this.remote.ensureRunning(profile, signal, "request") : this.local.ensureRunning(profileId, signal, requester);
  }

  noteActivity(profileId: string): void {
    this.local.noteActivity(profileId);
    this.remote.noteActivity(profileId);
  }

  upstreamModel(profileId: string): string {
    const profile = this.profiles.get(profileId);
    return profile.model.source === "remote" ? profile.model.model : this.local.upstreamModel(profileId);
  }

  accessOf(profileId: string): RemoteAccess | undefined {
    const profile = this.profiles.find(profileId);
    return profile === undefined ? undefined : this.remote.access(profile);
  }

  available(profileId: string): boolean | undefined {
    const profile = this.profiles.find(profileId);
    return profile === undefined ? undefined : this.remote.available(profile);
  }

  reportFailure(profileId: string, error: string): void {
    const profile = this.profiles.find(profileId);
    if (profile !== undefined) this.remote.reportFailure(profile, error);
  }

  start(idOrName: string, signal: AbortSignal = NEVER, options: StartOptions = {}): Promise<ServerInfo> {
    const profile = this.profiles.get(idOrName);
    return isRemote(profile) ? this.remote.ensureRunning(profile, signal, "user") : this.local.start(idOrName, signal, options);
  }

  async stop(idOrName: string, signal: AbortSignal = NEVER): Promise<ServerInfo> {
    const profile = this.profiles.find(idOrName);
    return profile !== undefined && isRemote(profile) ? abortable(this.remote.stop(profile.id), signal) : this.local.stop(idOrName, signal);
  }

  async restart(idOrName: string, signal: AbortSignal = NEVER, options: StartOptions = {}): Promise<ServerInfo> {
    const profile = this.profiles.get(idOrName);
    if (!isRemote(profile)) return this.local.restart(idOrName, signal, options);
    if (this.remote.get(profile.id) !== undefined) await abortable(this.remote.stop(profile.id, "restart"), signal);
    return this.remote.ensureRunning(profile, signal, "user");
  }

  async stopAll(signal: AbortSignal = NEVER): Promise<ServerInfo[]> {
    const [local, remote] = await Promise.all([this.local.stopAll(signal), abortable(this.remote.stopAll(), signal)]);
    return [...local, ...remote];
  }

  logFileOf(idOrName: string): { profileId: string; file: string } {
    const profile = this.profiles.find(idOrName);
    if (profile !== undefined && isRemote(profile)) throw new ApiError(404, "not_found", `"${profile.name}" runs on a remote backend: its log is kept there, not on this machine.`);
    return this.local.logFileOf(idOrName);
  }
}

function isRemote(profile: Profile): boolean {
  return profile.model.source === "remote";
}
