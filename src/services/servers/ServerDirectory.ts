import type { Profile } from "../../shared/profiles";
import type { ServerInfo } from "../../shared/servers";

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
}
