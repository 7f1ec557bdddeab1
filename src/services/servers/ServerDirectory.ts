import type { Profile } from "../../shared/profiles";
import type { ServerInfo } from "../../shared/servers";
import type { RemoteAccess } from "../remotes/remoteHttp";

/** What the /v1 gateway needs from the supervisor: find, start just in time, and note use. */
export interface ServerDirectory {
  /** The profile a request's `model` names: a profile name (case-insensitive) or id, else the repo id / path of exactly one profile. */
  findProfile(model: string): Profile | undefined;
  /**
   * Starts the profile if it is not running and waits until it answers health, first stopping idle
   * servers when the memory budget needs it (a teammate's request only servers requests started);
   * throws ApiError saying why not (503 over_budget when nothing can make room).
   */
  ensureRunning(profileId: string, signal: AbortSignal, requester?: "owner" | "teammate"): Promise<ServerInfo>;
  /** Records that a request used the server now (idle stop counts from the last one): call it when a request starts and when it ends. */
  noteActivity(profileId: string): void;
  /** The `model` value to send upstream: what the engine was started with (mlx_lm.server loads whatever a request names). */
  upstreamModel(profileId: string): string;
  /** Every server the supervisor knows, in any state. */
  list(): ServerInfo[];
  /** Every profile the name routes to, the routing table's best first: several when they are replicas (one name, several servers). */
  replicasOf?(model: string): Profile[];
  /** How to reach a remote profile's backend (its key and pinned certificate); undefined for a server of this machine. */
  accessOf?(profileId: string): RemoteAccess | undefined;
  /** False while the profile's server is known to be down (a remote backend that stopped answering), true when a probe found it up; undefined when nothing probes it. */
  available?(profileId: string): boolean | undefined;
  /** The gateway met a failure of the profile's server before or while answering. */
  reportFailure?(profileId: string, error: string): void;
}

/** What the API's server routes (and shared mode's start/stop) do with servers, local or remote. */
export interface ServerControl extends ServerDirectory {
  get(idOrName: string): ServerInfo | undefined;
  start(idOrName: string, signal?: AbortSignal, options?: { wait?: boolean }): Promise<ServerInfo>;
  stop(idOrName: string, signal?: AbortSignal): Promise<ServerInfo>;
  restart(idOrName: string, signal?: AbortSignal, options?: { wait?: boolean }): Promise<ServerInfo>;
  stopAll(signal?: AbortSignal): Promise<ServerInfo[]>;
  logFileOf(idOrName: string): { profileId: string; file: string };
}
