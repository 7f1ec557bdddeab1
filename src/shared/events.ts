import type { BenchRun, PerplexityResult } from "./benchmarks";
import type { Job, JobReport } from "./jobs";
import type { SharedStatus } from "./auth";
import type { Download } from "./hub";
import type { CachedModel } from "./models";
import type { Profile } from "./profiles";
import type { RemoteBackend } from "./remotes";
import type { ServerInfo } from "./servers";
import type { ManagerSettings } from "./settings";

/** Every state change the manager announces on `GET /api/events`. */
export type ManagerEvent =
  | { type: "model.added"; data: CachedModel }
  | { type: "model.changed"; data: CachedModel }
  | { type: "model.removed"; data: { id: string } }
  | { type: "profile.created"; data: Profile }
  | { type: "profile.updated"; data: Profile }
  | { type: "profile.deleted"; data: { id: string; name: string } }
  | { type: "server.changed"; data: ServerInfo }
  | { type: "server.removed"; data: { profileId: string } }
  | { type: "download.changed"; data: Download }
  | { type: "download.progress"; data: Download }
  | { type: "download.removed"; data: { id: string } }
  /** Shared mode opened, closed, or its accounts changed (pendingUsers is the admins' badge). */
  | { type: "shared.changed"; data: SharedStatus }
  /** The local gateway key was rotated: clients that hand it out fetch the new one (the key is never in an event). */
  | { type: "gatewayKey.rotated"; data: { createdAt: number } }
  /** The manager's settings changed (memory budget, default idle stop, request queue). */
  | { type: "settings.changed"; data: ManagerSettings }
  /** A server was stopped to make room for another model (the stopped server's own server.changed says so too). */
  | { type: "server.evicted"; data: ServerEviction }
  /** A remote backend was added, edited, or its health changed (never its key). */
  | { type: "remote.changed"; data: RemoteBackend }
  | { type: "remote.removed"; data: { id: string; name: string } }
  /** Nodes joined or left an exo cluster (found by comparing its /state between checks). */
  | { type: "remote.nodes"; data: { id: string; name: string; joined: string[]; left: string[] } }
  /** A fine-tuning job was queued, started, reported, ended or removed (its state and figures). */
  | { type: "job.changed"; data: Job }
  /** One report of a running job (mlx_lm's train or validation figures). */
  | { type: "job.report"; data: { id: string; report: JobReport } }
  /** A benchmark started, moved on, or ended (its progress and the results so far). */
  | { type: "bench.changed"; data: BenchRun }
  /** A perplexity measure finished. */
  | { type: "perplexity.added"; data: PerplexityResult }
  | { type: "resync"; data: { reason: string } };

/** A server stopped to make room: who, for whom, and what the budget was. */
export interface ServerEviction {
  profileId: string;
  profileName: string;
  /** The profile that needed the memory. */
  forProfileId: string;
  forProfileName: string;
  /** What the stopped server held (measured, else estimated). */
  freedBytes: number;
  budgetBytes: number;
  at: number;
}

export type ManagerEventType = ManagerEvent["type"];

/** An event as it travels: with the stream's increasing id. */
export type SequencedEvent = ManagerEvent & { id: number };
