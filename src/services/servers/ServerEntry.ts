import { type ChildProcess } from "node:child_process";
import { modelRefLabel, type Profile } from "../../shared/profiles";
import type { ServerInfo, ServerState } from "../../shared/servers";
import type { HealthCounters } from "./healthPolicy";

/** How a spawned process ended. */
export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** What the supervisor keeps of one profile's server; the parts read it, the supervisor changes its state. */
export interface ServerEntry {
  info: ServerInfo;
  /** Bumped at every spawn or adoption so late events of an earlier process are ignored. */
  launch: number;
  processStart: string | undefined;
  child: ChildProcess | undefined;
  exit: ExitInfo | undefined;
  /** Resolves when the spawned process has exited (adopted ones: never; watched by liveness). */
  exited: Promise<void>;
  upstreamModel: string;
  /** Aborts the readiness wait of the start in progress (a stop during start). */
  startAbort: AbortController | undefined;
  stopping: boolean;
  /** Times of the crashes in the restart window. */
  crashes: number[];
  restartTimer: NodeJS.Timeout | undefined;
  health: HealthCounters;
}

/** The fields every new entry starts with, besides its info and process. */
export function freshEntryState(): Pick<
  ServerEntry,
  "exit" | "startAbort" | "stopping" | "crashes" | "restartTimer" | "health"
> {
  return {
    exit: undefined,
    startAbort: undefined,
    stopping: false,
    crashes: [],
    restartTimer: undefined,
    health: { failures: 0, inFlight: false, unhealthySince: undefined },
  };
}

const LIVE_STATES: readonly ServerState[] = ["starting", "running", "unhealthy", "stopping"];

/** True while the entry has (or is getting) a process: starting, running, unhealthy or stopping. */
export function isLive(entry: ServerEntry | undefined): boolean {
  return entry !== undefined && LIVE_STATES.includes(entry.info.state);
}

/** True while the start `launchId` of the entry is still the one in progress and its process lives. */
export function stillStarting(entry: ServerEntry, launchId: number): boolean {
  return entry.launch === launchId && entry.exit === undefined && !entry.stopping;
}

/** A copy of the info that later changes of the entry do not reach (for events and answers). */
export function snapshot(info: ServerInfo): ServerInfo {
  return {
    ...info,
    command: [...info.command],
    warnings: [...info.warnings],
    ...(info.failure
      ? { failure: { message: info.failure.message, logTail: [...info.failure.logTail] } }
      : {}),
  };
}

/** The model of a profile for display: repo id (@revision, :file) or path. */
export function describeModelRef(profile: Profile): string {
  return modelRefLabel(profile.model);
}

/** Engines listen on loopback only; this is where the manager reaches one. */
export function loopbackUrl(port: number): string {
  return `http://127.0.0.1:${port}`;
}
