import type { EngineId } from "../../shared/engines";
import type { Profile } from "../../shared/profiles";
import type { EngineDescription } from "../engines/registry";
import type { Logger } from "../logging/Logger";
import { adoptedStillRunning } from "./adoption";
import { checkOnce, judgeHealth, type HealthVerdict } from "./healthPolicy";
import { isLive, type ServerEntry } from "./ServerEntry";
import type { ServerLogFiles } from "./ServerLogFiles";
import type { SupervisorSettings } from "./SupervisorSettings";

/** A health verdict that changes a server's state. */
export type HealthChange = Exclude<HealthVerdict, { kind: "unchanged" }>;

/** What the watcher needs of the supervisor: the servers, and the transitions its findings call for. */
export interface WatchedServers {
  entries(): Iterable<ServerEntry>;
  /** True while a start (or the readiness wait of an adopted server) of the profile is in progress. */
  starting(profileId: string): boolean;
  profile(profileId: string): Profile | undefined;
  engine(id: EngineId): EngineDescription;
  /** The process of an adopted server is gone (it had no exit event to tell). */
  adoptedGone(entry: ServerEntry): void;
  /** The server was idle for its profile's idle timeout. */
  idle(entry: ServerEntry): void;
  /** A request is running or waiting for the profile's server: it is not idle, however long ago the last one began. */
  busy(profileId: string): boolean;
  /** The idle stop of profiles that set none, in seconds (0 = never). */
  defaultIdleTimeoutSec(): number;
  /** A health check changed what the server is: recovered, unhealthy, or to be restarted. */
  healthChanged(entry: ServerEntry, change: HealthChange): Promise<void>;
}

export interface ServerWatcherOptions {
  servers: WatchedServers;
  logs: ServerLogFiles;
  logger: Logger;
  settings: Pick<
    SupervisorSettings,
    | "livenessIntervalMs"
    | "healthIntervalMs"
    | "healthTimeoutMs"
    | "unhealthyAfterFailures"
    | "unhealthyRestartMs"
  >;
  now: () => number;
}

/** A profile's idle stop in ms (0 = never): its own, else the default; a pinned profile never stops for idleness. */
export function idleTimeoutMs(profile: Pick<Profile, "idleTimeoutSec" | "pinned"> | undefined, defaultSec: number): number {
  if (profile === undefined || profile.pinned) return 0;
  return (profile.idleTimeoutSec ?? defaultSec) * 1000;
}

/** The periodic checks of running servers: adopted ones still alive, idle ones, and health. */
export class ServerWatcher {
  private timers: NodeJS.Timeout[] = [];

  constructor(private readonly options: ServerWatcherOptions) {}

  /** Starts both rounds on timers that do not keep the manager alive. */
  start(): void {
    const { settings } = this.options;
    this.timers = [
      setInterval(() => {
        this.livenessRound();
      }, settings.livenessIntervalMs),
      setInterval(() => void this.healthRound(), settings.healthIntervalMs),
    ];
    for (const timer of this.timers) timer.unref();
  }

  /** Stops both rounds (a round in progress finishes). */
  stop(): void {
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
  }

  /** Adopted servers still alive? Idle ones to stop? (every livenessIntervalMs) */
  livenessRound(): void {
    const { servers, logger } = this.options;
    const now = this.options.now();
    for (const entry of servers.entries()) {
      if (!isLive(entry) || entry.stopping) continue;
      if (entry.child === undefined && entry.exit === undefined) {
        if (!adoptedStillRunning(entry.info.pid ?? 0, entry.processStart)) {
          servers.adoptedGone(entry);
          continue;
        }
      }
      if (entry.info.state !== "running" || servers.starting(entry.info.profileId) || servers.busy(entry.info.profileId)) continue;
      const idleMs = idleTimeoutMs(servers.profile(entry.info.profileId), servers.defaultIdleTimeoutSec());
      const last = entry.info.lastActivityAt ?? entry.info.readyAt ?? now;
      if (idleMs > 0 && now - last >= idleMs) {
        logger.info("stopping idle server", {
          profile: entry.info.profileName,
          idleSec: Math.round((now - last) / 1000),
        });
        servers.idle(entry);
      }
    }
  }

  /** Health-checks every running server at once, rotating their logs on the way (every healthIntervalMs). */
  async healthRound(): Promise<void> {
    const checks: Promise<void>[] = [];
    for (const entry of this.options.servers.entries()) {
      if (entry.info.state !== "running" && entry.info.state !== "unhealthy") continue;
      if (entry.health.inFlight || entry.stopping) continue;
      this.options.logs.rotateWhileRunning(entry.info.logFile);
      checks.push(this.checkOne(entry));
    }
    await Promise.all(checks);
  }

  private async checkOne(entry: ServerEntry): Promise<void> {
    const { servers, settings } = this.options;
    const launchId = entry.launch;
    const result = await checkOnce(
      entry.health,
      servers.engine(entry.info.engine).health,
      entry.info.upstreamUrl,
      settings.healthTimeoutMs,
    );
    const state = entry.info.state;
    // A stop, restart or crash meanwhile makes this result stale.
    if (entry.launch !== launchId || entry.stopping || (state !== "running" && state !== "unhealthy")) return;
    const judged = judgeHealth(
      state,
      entry.health,
      result,
      {
        profileName: entry.info.profileName,
        restartOnCrash: servers.profile(entry.info.profileId)?.restartOnCrash ?? false,
        now: this.options.now(),
      },
      settings,
    );
    entry.health.failures = judged.failures;
    entry.health.unhealthySince = judged.unhealthySince;
    if (judged.verdict.kind !== "unchanged") await servers.healthChanged(entry, judged.verdict);
  }
}
