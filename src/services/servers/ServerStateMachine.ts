import type { Profile } from "../../shared/profiles";
import type { ServerInfo, ServerStopReason } from "../../shared/servers";
import type { EventBus } from "../events/EventBus";
import type { Logger } from "../logging/Logger";
import { signalGroup } from "./processes";
import { decideAfterCrash } from "./restartPolicy";
import { isLive, snapshot, type ExitInfo, type ServerEntry } from "./ServerEntry";
import type { ServerLogFiles } from "./ServerLogFiles";
import type { ServerRecords } from "./ServerRecords";
import type { HealthChange } from "./ServerWatcher";
import type { SupervisorSettings } from "./SupervisorSettings";
import type { GroupTerminator } from "./termination";

export interface ServerStateMachineOptions {
  profiles: { find(idOrName: string): Profile | undefined };
  records: ServerRecords;
  events: EventBus;
  logs: ServerLogFiles;
  terminator: GroupTerminator;
  logger: Logger;
  settings: SupervisorSettings;
  now: () => number;
  /** Starts the profile again after a crash, on the port it had (the supervisor's one start per profile); resolves when ready. */
  restartAfterCrash(profileId: string, preferredPort: number): Promise<ServerInfo>;
  /** After a server's process group here has ended: ends what it ran on other machines (a distributed engine's ranks). */
  endElsewhere?(entry: ServerEntry): Promise<void>;
}

/**
 * Each server's state: starting → running ⇄ unhealthy → stopping → stopped, or failed. Every
 * change is published as `server.changed` and mirrored in the store's record; process exits,
 * health changes and crashes move a server on, and a crash of a restartOnCrash profile schedules
 * its restart as restartPolicy decides. The supervisor creates it and is the only one to drive it.
 */
export class ServerStateMachine {
  /** Every server known, by profile id. */
  readonly entries = new Map<string, ServerEntry>();
  private readonly stops = new Map<string, Promise<ServerInfo>>();
  private readonly log: Logger;
  private launches = 0;
  private closed = false;

  constructor(private readonly options: ServerStateMachineOptions) {
    this.log = options.logger;
  }

  /** From now on the servers belong to the next manager: exits are not recorded and crashes not restarted. */
  close(): void {
    this.closed = true;
    for (const entry of this.entries.values()) {
      if (entry.restartTimer) clearTimeout(entry.restartTimer);
      entry.restartTimer = undefined;
    }
  }

  /** True once closed. */
  isClosed(): boolean {
    return this.closed;
  }

  /** A new launch id: every spawn or adoption gets one, so late events of an earlier process are ignored. */
  nextLaunchId(): number {
    return ++this.launches;
  }

  /** The stop of the profile in progress, if any. */
  stopInProgress(profileId: string): Promise<ServerInfo> | undefined {
    return this.stops.get(profileId);
  }

  /** Every stop in progress. */
  pendingStops(): Promise<ServerInfo>[] {
    return [...this.stops.values()];
  }

  // ------------------------------------------------------------------ starting

  /** A server just spawned: `starting`, recorded in the store (or killed when it cannot be), watched for its exit. */
  launched(entry: ServerEntry): void {
    const { child, launch: launchId, info } = entry;
    const pid = info.pid ?? 0;
    this.entries.set(info.profileId, entry);
    child?.once("exit", () => {
      this.onExit(entry, launchId);
    });
    try {
      this.options.records.put({
        profileId: info.profileId,
        profileName: info.profileName,
        engine: info.engine,
        model: info.model,
        upstreamModel: entry.upstreamModel,
        pid,
        processStart: entry.processStart,
        port: info.port,
        command: info.command,
        logFile: info.logFile,
        startedAt: info.startedAt ?? this.options.now(),
        readyAt: undefined,
        startedBy: info.startedBy ?? "user",
      });
    } catch (error) {
      // Unrecorded, it could not be re-adopted: better not to run it at all.
      signalGroup(pid, "SIGKILL");
      throw error;
    }
    this.log.info("server starting", {
      profile: info.profileName,
      pid,
      port: info.port,
      command: info.command,
    });
    this.publish(entry);
  }

  /** The readiness check passed: `running`, recorded as ready. */
  ready(entry: ServerEntry): ServerInfo {
    const now = this.options.now();
    entry.startAbort = undefined;
    entry.health.failures = 0;
    entry.health.unhealthySince = undefined;
    entry.info.state = "running";
    delete entry.info.loading;
    // An adopted server keeps the ready time of the run that started it (uptime counts from there).
    if (!entry.info.adopted || entry.info.readyAt === undefined) entry.info.readyAt = now;
    entry.info.lastActivityAt = now;
    delete entry.info.failure;
    delete entry.info.stopReason;
    delete entry.info.evictedFor;
    try {
      this.options.records.markReady(entry.info.profileId, entry.info.readyAt);
    } catch (error) {
      this.log.warn("could not record that a server is ready", { error: String(error) });
    }
    this.log.info("server ready", {
      profile: entry.info.profileName,
      pid: entry.info.pid,
      port: entry.info.port,
      ms: now - (entry.info.startedAt ?? now),
    });
    this.publish(entry);
    return snapshot(entry.info);
  }

  /** A start that timed out: its group killed, `failed` with `message` and the log tail (returned). */
  async startTimedOut(entry: ServerEntry, message: string): Promise<{ message: string; logTail: string[] }> {
    delete entry.info.loading;
    entry.stopping = true;
    await this.terminate(entry, 0);
    await this.endElsewhere(entry);
    entry.stopping = false;
    this.removeRecord(entry);
    entry.info.state = "failed";
    entry.info.stoppedAt = this.options.now();
    const failure = { message, logTail: this.options.logs.tail(entry.info.logFile) };
    entry.info.failure = failure;
    this.publish(entry);
    return failure;
  }

  // ------------------------------------------------------------------ adoption

  /** An adopted server that was ready before failed its first check: `unhealthy` at once. */
  adoptedUnhealthy(entry: ServerEntry, reason: string): void {
    entry.info.state = "unhealthy";
    entry.health.unhealthySince = this.options.now();
    entry.health.failures = this.options.settings.unhealthyAfterFailures;
    entry.info.failure = {
      message: `Health check failed after re-adoption: ${reason}.`,
      logTail: this.options.logs.tail(entry.info.logFile),
    };
    this.publish(entry);
  }

  /** An adopted server that never got ready stays `starting`, now with a readiness wait a stop can abort. */
  awaitingReadiness(entry: ServerEntry): void {
    entry.startAbort = new AbortController();
    this.publish(entry);
  }

  /** The process of an adopted server is gone (it has no exit event to tell). */
  adoptedGone(entry: ServerEntry): void {
    const pid = entry.info.pid ?? 0;
    this.options.logs.note(entry.info.logFile, `pid ${pid} is gone (exit status unknown: it was re-adopted)`);
    this.onUnexpectedExit(
      entry,
      { code: null, signal: null },
      `${entry.info.profileName} (pid ${pid}) stopped running (exit status unknown: it was re-adopted from an earlier manager run)`,
    );
  }

  // ------------------------------------------------------------------ exits, crashes, health

  /** The exit event of a process this manager spawned. */
  private onExit(entry: ServerEntry, launchId: number): void {
    if (entry.launch !== launchId) return;
    entry.child = undefined;
    // A closed supervisor has handed its servers to the next manager: their fate is not ours to record.
    if (this.closed && !entry.stopping) return;
    const exit = entry.exit ?? { code: null, signal: null };
    const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code ?? "?"}`;
    this.options.logs.note(entry.info.logFile, `pid ${entry.info.pid ?? "?"} ${how}`);
    if (entry.stopping) return;
    this.onUnexpectedExit(entry, exit, `${entry.info.profileName} ${how}`);
  }

  /** A server that ended without being asked to: failed, its group cleaned up, restarted if its profile says so. */
  private onUnexpectedExit(entry: ServerEntry, exit: ExitInfo, what: string): void {
    const wasStarting = entry.info.state === "starting";
    // Whatever the engine started (a stand-in's child, a Python worker) goes with it, here and on other hosts.
    if (entry.info.pid !== undefined) signalGroup(entry.info.pid, "SIGKILL");
    void this.endElsewhere(entry);
    this.removeRecord(entry);
    entry.startAbort = undefined;
    entry.info.exitCode = exit.code;
    entry.info.signal = exit.signal;
    entry.info.stoppedAt = this.options.now();
    const logTail = this.options.logs.tail(entry.info.logFile);
    this.log.warn(wasStarting ? "server exited while starting" : "server crashed", {
      profile: entry.info.profileName,
      pid: entry.info.pid,
      code: exit.code,
      signal: exit.signal,
    });
    if (wasStarting) {
      // The start in progress reports it; a crash restart's catch counts it as another crash.
      entry.info.state = "failed";
      entry.info.failure = { message: `${what} while starting.`, logTail };
      this.publish(entry);
      return;
    }
    this.afterCrash(entry, `${what}.`, logTail);
  }

  /** Marks a crashed server failed and, when its profile asks for it, schedules a restart as restartPolicy decides. */
  private afterCrash(entry: ServerEntry, message: string, logTail: string[]): void {
    entry.info.state = "failed";
    entry.info.failure = { message, logTail };
    const profile = this.options.profiles.find(entry.info.profileId);
    if (!profile?.restartOnCrash || this.closed) {
      this.publish(entry);
      return;
    }
    const decision = decideAfterCrash(entry.crashes, this.options.now(), this.options.settings);
    entry.crashes = decision.crashes;
    entry.info.failure = { message: `${message} ${decision.note}`, logTail };
    if (decision.restartInMs === undefined) {
      this.log.error("server crash loop; not restarting", {
        profile: entry.info.profileName,
        crashes: entry.crashes.length,
      });
      this.publish(entry);
      return;
    }
    entry.info.restarts = entry.crashes.length;
    this.publish(entry);
    if (entry.restartTimer) clearTimeout(entry.restartTimer);
    entry.restartTimer = setTimeout(() => {
      entry.restartTimer = undefined;
      this.crashRestart(entry);
    }, decision.restartInMs);
    entry.restartTimer.unref();
  }

  private crashRestart(entry: ServerEntry): void {
    if (this.closed || !this.options.profiles.find(entry.info.profileId)) return;
    void this.options.restartAfterCrash(entry.info.profileId, entry.info.port).catch((error: unknown) => {
      const current = this.entries.get(entry.info.profileId) ?? entry;
      if (current.stopping || current.info.state === "stopped" || isLive(current)) return;
      const message = error instanceof Error ? error.message : String(error);
      this.log.warn("crash restart failed", { profile: current.info.profileName, error: message });
      // A new process that died while starting has its own report; a check that failed before any spawn has only the error.
      const spawnedAgain = current !== entry && current.info.failure !== undefined;
      this.afterCrash(
        current,
        spawnedAgain && current.info.failure ? current.info.failure.message : `Restart failed: ${message}`,
        spawnedAgain && current.info.failure
          ? current.info.failure.logTail
          : this.options.logs.tail(current.info.logFile),
      );
    });
  }

  /** What a health check found: running again, unhealthy, or unhealthy so long that it is restarted like a crash. */
  async healthChanged(entry: ServerEntry, change: HealthChange): Promise<void> {
    if (change.kind === "recovered") {
      entry.info.state = "running";
      delete entry.info.failure;
      this.log.info("server healthy again", { profile: entry.info.profileName });
      this.publish(entry);
    } else if (change.kind === "unhealthy") {
      entry.info.state = "unhealthy";
      entry.info.failure = { message: change.message, logTail: this.options.logs.tail(entry.info.logFile) };
      this.log.warn("server unhealthy", { profile: entry.info.profileName, reason: change.reason });
      this.publish(entry);
    } else {
      const logTail = this.options.logs.tail(entry.info.logFile);
      await this.stop(entry, "unhealthy");
      this.afterCrash(entry, change.message, logTail);
    }
  }

  // ------------------------------------------------------------------ stopping

  /** The one stop of a server (joins a stop in progress): stopping, its group ended, its port free, then stopped. */
  stop(entry: ServerEntry, reason: ServerStopReason): Promise<ServerInfo> {
    const id = entry.info.profileId;
    const pending = this.stops.get(id);
    if (pending) return pending;
    if (entry.restartTimer) {
      clearTimeout(entry.restartTimer);
      entry.restartTimer = undefined;
      if (entry.info.state === "failed") {
        entry.info.state = "stopped";
        entry.info.stopReason = reason;
        this.publish(entry);
      }
    }
    if (!isLive(entry)) return Promise.resolve(snapshot(entry.info));
    const job = (async (): Promise<ServerInfo> => {
      entry.stopping = true;
      entry.startAbort?.abort();
      entry.info.state = "stopping";
      this.publish(entry);
      this.log.info("stopping server", { profile: entry.info.profileName, pid: entry.info.pid, reason });
      try {
        await this.terminate(entry, this.options.settings.stopGraceMs);
        await this.endElsewhere(entry);
        await this.options.terminator.waitForPortFree(entry.info.port, 3000);
      } finally {
        entry.stopping = false;
      }
      this.removeRecord(entry);
      this.options.logs.note(entry.info.logFile, `stopped (${reason})`);
      entry.info.state = "stopped";
      entry.info.stopReason = reason;
      entry.info.stoppedAt = this.options.now();
      if (entry.exit) {
        entry.info.exitCode = entry.exit.code;
        entry.info.signal = entry.exit.signal;
      }
      delete entry.info.failure;
      this.publish(entry);
      return snapshot(entry.info);
    })();
    this.stops.set(id, job);
    job
      .catch(() => undefined)
      .finally(() => {
        if (this.stops.get(id) === job) this.stops.delete(id);
      });
    return job;
  }

  /** Ends the entry's process group (see GroupTerminator); an adopted one only while its pid is still its process. */
  private async terminate(entry: ServerEntry, graceMs: number): Promise<void> {
    const pgid = entry.info.pid;
    if (pgid === undefined) return;
    const adopted = entry.child === undefined && entry.exit === undefined;
    await this.options.terminator.terminate(
      {
        pgid,
        profileName: entry.info.profileName,
        ...(adopted
          ? { adopted: { pid: pgid, processStart: entry.processStart, command: entry.info.command } }
          : {}),
        ...(entry.child === undefined ? {} : { exited: entry.exited }),
      },
      graceMs,
    );
  }

  /** Ends the server's processes on other machines; a failure is logged (in its log too), never thrown: the stop here is done. */
  private async endElsewhere(entry: ServerEntry): Promise<void> {
    try {
      await this.options.endElsewhere?.(entry);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.options.logs.note(entry.info.logFile, `could not end its processes on other hosts: ${message}`);
      this.log.warn("could not end a server's processes on other hosts", { profile: entry.info.profileName, error: message });
    }
  }

  private removeRecord(entry: ServerEntry): void {
    try {
      this.options.records.remove(entry.info.profileId);
    } catch (error) {
      this.log.warn("could not remove a server record", {
        profile: entry.info.profileName,
        error: String(error),
      });
    }
  }

  /** Announces the entry as it is now (`server.changed`). */
  publish(entry: ServerEntry): void {
    // What is being loaded is news only while the server starts.
    if (entry.info.state !== "starting") delete entry.info.loading;
    this.options.events.publish({ type: "server.changed", data: snapshot(entry.info) });
  }
}
