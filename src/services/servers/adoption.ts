import type { EngineId } from "../../shared/engines";
import type { Profile } from "../../shared/profiles";
import type { ServerInfo } from "../../shared/servers";
import type { EngineDescription } from "../engines/registry";
import type { Logger } from "../logging/Logger";
import { processStartTime } from "../process/processInfo";
import { isProcessRunning, isSameProcess } from "./processes";
import { freshEntryState, loopbackUrl, type ServerEntry } from "./ServerEntry";
import type { ServerLogFiles } from "./ServerLogFiles";
import type { ServerRecord, ServerRecords } from "./ServerRecords";
import type { ServerStarts } from "./ServerStarts";
import type { ServerStateMachine } from "./ServerStateMachine";

export interface ServerAdoptionOptions {
  records: ServerRecords;
  profiles: { find(idOrName: string): Profile | undefined };
  engines: Readonly<Record<EngineId, EngineDescription>>;
  /** What the first check of an adopted server leads to. */
  states: Pick<ServerStateMachine, "ready" | "adoptedUnhealthy">;
  starts: Pick<ServerStarts, "waitForAdopted">;
  logs: ServerLogFiles;
  logger: Logger;
  /** Ends what a server ran on other machines (a distributed engine's ranks), by profile. */
  endElsewhere?: (profileId: string) => Promise<void>;
  /** How long the first check of an adopted server may take. */
  checkTimeoutMs: number;
}

/** What the supervisor's `init` found in the store from an earlier manager run. */
export interface AdoptionReport {
  adopted: ServerInfo[];
  /** Profile ids whose recorded server was gone (or was another process by now). */
  cleaned: string[];
  /** Servers whose profile was deleted meanwhile: stopped. */
  stoppedOrphans: string[];
}

/** What the store holds of an earlier manager run, sorted. */
export interface RecordSurvey {
  /** Records whose process is still the one launched, in the store's order; an orphan's profile was deleted meanwhile. */
  alive: { record: ServerRecord; orphan: boolean }[];
  /** Profile ids whose record was unreadable or whose process was gone: their records are removed. */
  cleaned: string[];
}

/**
 * Re-adoption of servers an earlier manager left running: a record is trusted only while its pid is
 * still the process that was launched (same start time and command line), so a reused pid is
 * never taken for a server.
 */
export class ServerAdoption {
  constructor(private readonly options: ServerAdoptionOptions) {}

  /** Reads the server records, removes those unreadable or whose process is gone, and returns the rest. */
  survey(signal: AbortSignal): RecordSurvey {
    const { records: store, logger, logs } = this.options;
    const survey: RecordSurvey = { alive: [], cleaned: [] };
    const { records, unreadable } = store.all();
    for (const id of unreadable) {
      logger.warn("removed an unreadable server record", { profileId: id });
      store.remove(id);
      survey.cleaned.push(id);
    }
    for (const record of records) {
      signal.throwIfAborted();
      const identity = { pid: record.pid, processStart: record.processStart, command: record.command };
      if (!isSameProcess(identity)) {
        logger.info("server of an earlier run is gone; removed its record", {
          profile: record.profileName,
          pid: record.pid,
        });
        logs.note(record.logFile, `pid ${record.pid} was no longer running when the manager started`);
        // What it ran on other hosts (a distributed engine's ranks) may have outlived it.
        void this.options.endElsewhere?.(record.profileId).catch((error: unknown) => {
          logger.warn("could not end a gone server's processes on other hosts", { profile: record.profileName, error: error instanceof Error ? error.message : String(error) });
        });
        store.remove(record.profileId);
        survey.cleaned.push(record.profileId);
        continue;
      }
      const orphan = this.options.profiles.find(record.profileId) === undefined;
      if (orphan) {
        logger.warn("server of a deleted profile was still running; stopping it", {
          profile: record.profileName,
          pid: record.pid,
        });
      }
      survey.alive.push({ record, orphan });
    }
    return survey;
  }

  /** First check of an adopted server (already among the entries): running, unhealthy, or (never ready yet) still starting. */
  async confirm(entry: ServerEntry): Promise<void> {
    const { states, logger } = this.options;
    const engine = this.options.engines[entry.info.engine];
    // One that was ready before is judged by its health; one that never got ready, by readiness.
    const probe = entry.info.readyAt === undefined ? engine.readiness : engine.health;
    const result = await probe.check(entry.info.upstreamUrl, this.options.checkTimeoutMs);
    logger.info("re-adopted a server left running by an earlier manager", {
      profile: entry.info.profileName,
      pid: entry.info.pid,
      health: result.ok ? "ok" : result.reason,
    });
    if (result.ok) {
      states.ready(entry);
    } else if (entry.info.readyAt !== undefined) {
      states.adoptedUnhealthy(entry, result.reason);
    } else {
      // It was still starting when the earlier manager went away: wait for it like a start.
      this.options.starts.waitForAdopted(entry).catch((error: unknown) => {
        logger.warn("an adopted server did not become ready", {
          profile: entry.info.profileName,
          error: String(error),
        });
      });
    }
  }
}

/** The entry of a recorded server, `starting` until its first check says more. */
export function adoptedEntry(record: ServerRecord, launchId: number, now: number): ServerEntry {
  return {
    info: {
      profileId: record.profileId,
      profileName: record.profileName,
      engine: record.engine,
      model: record.model,
      port: record.port,
      pid: record.pid,
      state: "starting",
      upstreamUrl: loopbackUrl(record.port),
      startedAt: record.startedAt,
      ...(record.readyAt === undefined ? {} : { readyAt: record.readyAt }),
      restarts: 0,
      logFile: record.logFile,
      adopted: true,
      command: record.command,
      warnings: [],
      lastActivityAt: now,
      startedBy: record.startedBy,
    },
    launch: launchId,
    processStart: record.processStart,
    child: undefined,
    // No exit event for a process we did not spawn: the liveness tick watches it.
    exited: new Promise<void>(() => undefined),
    upstreamModel: record.upstreamModel,
    ...freshEntryState(),
  };
}

/** True while the pid of an adopted server is still its process (running, and started when it was). */
export function adoptedStillRunning(pid: number, processStart: string | undefined): boolean {
  return isProcessRunning(pid) && (processStart === undefined || processStartTime(pid) === processStart);
}
