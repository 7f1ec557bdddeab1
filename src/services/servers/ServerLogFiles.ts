import fs from "node:fs";
import path from "node:path";
import type { Profile } from "../../shared/profiles";
import type { Logger } from "../logging/Logger";
import { appendLogLine, logSlug, pruneOldLogs, readLogTail, rotateIfLarge } from "./serverLogs";
import type { SupervisorSettings } from "./SupervisorSettings";

export interface ServerLogFilesOptions {
  /** `<dataDir>/logs/servers`. */
  dir: string;
  settings: Pick<SupervisorSettings, "logMaxBytes" | "logKeep" | "logMaxAgeMs" | "logTailLines">;
  logger: Logger;
  now: () => number;
}

/** The servers' log files as the supervisor uses them: where each goes, the manager's own lines, tails, rotation, pruning. */
export class ServerLogFiles {
  constructor(private readonly options: ServerLogFilesOptions) {}

  /** Creates the log folder, private to this user. */
  ensureDir(): void {
    fs.mkdirSync(this.options.dir, { recursive: true, mode: 0o700 });
  }

  /** `<dir>/<slug>.log`; the profile id is added when another of `profiles` has the same slug. */
  fileFor(profile: Profile, profiles: readonly Profile[]): string {
    const slug = logSlug(profile.name);
    const clash = profiles.some((p) => p.id !== profile.id && logSlug(p.name) === slug);
    return path.join(this.options.dir, `${clash ? `${slug}-${profile.id.slice(0, 8)}` : slug}.log`);
  }

  /** Appends a line of the manager's own to a server's log: `=== <ISO time> mlx-manager: <text>`. */
  note(file: string, text: string): void {
    appendLogLine(file, `=== ${new Date(this.options.now()).toISOString()} mlx-manager: ${text}`);
  }

  /** The last lines of a log, as many as a failure reports. */
  tail(file: string): string[] {
    return readLogTail(file, this.options.settings.logTailLines);
  }

  /** The last `lines` lines of a log. */
  recent(file: string, lines: number): string[] {
    return readLogTail(file, lines);
  }

  /** The log's size in bytes (0 when it is missing). */
  size(file: string): number {
    try {
      return fs.statSync(file).size;
    } catch {
      return 0;
    }
  }

  /** The last line of a log, if any. */
  lastLine(file: string): string | undefined {
    return readLogTail(file, 1)[0];
  }

  /** Rotates a log past its size limit before a start; an error stops the start. */
  rotateBeforeStart(file: string): void {
    rotateIfLarge(file, this.options.settings.logMaxBytes, this.options.settings.logKeep);
  }

  /** Rotates a running server's log past its size limit; an error is logged, the server runs on. */
  rotateWhileRunning(file: string): void {
    try {
      if (rotateIfLarge(file, this.options.settings.logMaxBytes, this.options.settings.logKeep))
        this.options.logger.info("rotated a server log", { file });
    } catch (error) {
      this.options.logger.warn("could not rotate a server log", { file, error: String(error) });
    }
  }

  /** Deletes logs nobody wrote to for `logMaxAgeMs`, except those in use. */
  pruneOld(inUse: ReadonlySet<string>): void {
    const { dir, settings, now } = this.options;
    for (const file of pruneOldLogs(dir, settings.logMaxAgeMs, inUse, now()))
      this.options.logger.info("deleted an old server log", { file });
  }
}
