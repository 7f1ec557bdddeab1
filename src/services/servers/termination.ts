import type { Logger } from "../logging/Logger";
import { isPortFree } from "./ports";
import { groupAlive, isProcessRunning, isSameProcess, signalGroup, type ProcessIdentity } from "./processes";
import { sleep } from "./waiting";

/** A server's process group to end. */
export interface TerminationTarget {
  /** The server's pid, which leads its own group (it was spawned detached). */
  pgid: number;
  /** For the log. */
  profileName: string;
  /** Set for a server this manager did not spawn and has not seen exit: checked before any signal. */
  adopted?: ProcessIdentity;
  /** For a process this manager spawned: resolves on its exit event. */
  exited?: Promise<void>;
}

export interface GroupTerminatorOptions {
  logger: Logger;
  now: () => number;
}

/** Ends servers' process groups (the engine and whatever it started) and waits for their ports. */
export class GroupTerminator {
  constructor(private readonly options: GroupTerminatorOptions) {}

  /** SIGTERM to the group, SIGKILL after `graceMs` (at once when 0); resolves when no process of the group is left. */
  async terminate(target: TerminationTarget, graceMs: number): Promise<void> {
    const { pgid } = target;
    if (target.adopted !== undefined) {
      // Never signal the group of a pid that now belongs to another process. (While any member of
      // our group lives, the kernel does not hand its id out as a new pid.)
      if (isProcessRunning(pgid) && !isSameProcess(target.adopted)) return;
      if (!groupAlive(pgid)) return;
    }
    const now = this.options.now;
    signalGroup(pgid, graceMs > 0 ? "SIGTERM" : "SIGKILL");
    const deadline = now() + graceMs;
    while (groupAlive(pgid) && now() < deadline) await sleep(25);
    if (groupAlive(pgid)) {
      if (graceMs > 0)
        this.options.logger.warn("server ignored SIGTERM; sending SIGKILL", {
          profile: target.profileName,
          pid: pgid,
          graceMs,
        });
      signalGroup(pgid, "SIGKILL");
      const killDeadline = now() + 5000;
      while (groupAlive(pgid) && now() < killDeadline) await sleep(25);
    }
    // Let the exit event of a spawned child arrive, so its code and signal are known.
    if (target.exited !== undefined) {
      const waited = new AbortController();
      await Promise.race([target.exited, sleep(1000, waited.signal)]);
      // An exit that came first must not leave the timer holding the event loop open.
      waited.abort();
    }
  }

  /** Resolves once nothing listens on `port`, or after `timeoutMs` (then it says so in the log). */
  async waitForPortFree(port: number, timeoutMs: number): Promise<void> {
    const deadline = this.options.now() + timeoutMs;
    while (!(await isPortFree(port))) {
      if (this.options.now() >= deadline) {
        this.options.logger.warn("port still in use after the server stopped", { port });
        return;
      }
      await sleep(50);
    }
  }
}
