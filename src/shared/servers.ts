import type { EngineId } from "./engines";

/** starting → running → stopping → stopped, or failed; running ⇄ unhealthy while health checks fail. */
export type ServerState = "starting" | "running" | "unhealthy" | "stopping" | "stopped" | "failed";

/** A model server the manager runs (one per profile at most). */
export interface ServerInfo {
  /** The profile's id: one server per profile. */
  profileId: string;
  profileName: string;
  engine: EngineId;
  /** What the model is, for display: repo id (+ file) or path. */
  model: string;
  port: number;
  pid?: number;
  state: ServerState;
  /** Upstream base URL on loopback, e.g. http://127.0.0.1:8080 (clients use the manager's /v1). */
  upstreamUrl: string;
  startedAt?: number;
  readyAt?: number;
  stoppedAt?: number;
  exitCode?: number | null;
  signal?: string | null;
  /** Why it failed or became unhealthy: a sentence, plus the last log lines. */
  failure?: { message: string; logTail: string[] };
  /** Crash restarts in the current window. */
  restarts: number;
  /** Absolute path of the server's log file. */
  logFile: string;
  /** Found alive at manager start and taken over (no exit event: watched by liveness checks). */
  adopted: boolean;
  /** The command line, argument by argument. */
  command: string[];
  /** Warnings from the start checks (e.g. the model may not fit in free memory). */
  warnings: string[];
  /** The engine's version as it printed it, when it can tell. */
  engineVersion?: string;
  /** While starting: the model being loaded and how long the start may take (it grows with the model's size). */
  loading?: { modelBytes: number; timeoutMs: number };
  /** Why it was stopped, when it was stopped on purpose. */
  stopReason?: ServerStopReason;
  /** Last request through the gateway (or ready time): idle stop counts from here. */
  lastActivityAt?: number;
  /** Who started it: Start or the CLI (`user`), or a request just in time (`request`). */
  startedBy?: ServerStartedBy;
  /** What the model was estimated to need at start (docs/memory.md); what it holds is measured once it runs. */
  estimatedBytes?: number;
  /** With stopReason `evicted`: the profile it made room for. */
  evictedFor?: string;
  /** A distributed profile's server: the other hosts its ranks run on (ssh names; rank 0 is this machine). */
  hosts?: string[];
  /** A remote profile's server: where it runs (no process here: no pid, log or memory). */
  remote?: { backendId: string; backendName: string; url: string; model: string; instanceId?: string };
}

export type ServerStartedBy = "user" | "request";

/** Why a server was stopped on purpose (a crash is `failed`, not stopped). */
export type ServerStopReason = "user" | "idle" | "evicted" | "profile_deleted" | "unhealthy" | "restart" | "manager_exit";

/** `GET /api/servers/:id/logs?lines=N` */
export interface ServerLogTail {
  profileId: string;
  file: string;
  lines: string[];
}

/** `GET /api/servers` */
export interface ServerList {
  servers: ServerInfo[];
}

/** An entry of `GET /v1/models`: OpenAI's model object plus the profile's engine and server state. */
export interface GatewayModel {
  id: string;
  object: "model";
  created: number;
  owned_by: "mlx-manager";
  engine: string;
  state: ServerState;
}

/** `GET /v1/models`. */
export interface GatewayModelList {
  object: "list";
  data: GatewayModel[];
}

/** What a teammate sees of a server on the shared listener: no command line, log path, upstream URL or log lines. */
export type PublicServerInfo = Pick<ServerInfo, "profileId" | "profileName" | "engine" | "model" | "state" | "startedAt" | "readyAt" | "restarts">;

/** `GET /api/servers` on the shared listener. */
export interface PublicServerList {
  servers: PublicServerInfo[];
}
