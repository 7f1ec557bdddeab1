import { describeDuration } from "./describeDuration";
import type { SupervisorSettings } from "./SupervisorSettings";

export type RestartLimits = Pick<
  SupervisorSettings,
  "maxRestarts" | "restartWindowMs" | "restartBackoffMs" | "restartBackoffMaxMs"
>;

/** What to do after a crash of a server whose profile restarts on crash. */
export interface CrashDecision {
  /** The crashes still within the window, this one last. */
  crashes: number[];
  /** Restart after this many ms; undefined when it crashed too often: it stays failed. */
  restartInMs: number | undefined;
  /** The sentence the failure message ends with: when the restart comes, or why none will. */
  note: string;
}

/**
 * Back-off for crash restarts: the first after `restartBackoffMs`, doubling with every crash in
 * `restartWindowMs` up to `restartBackoffMaxMs`; past `maxRestarts` in the window no restart, so a
 * server that cannot start never becomes a restart storm. A pure function of its arguments.
 */
export function decideAfterCrash(
  previous: readonly number[],
  now: number,
  limits: RestartLimits,
): CrashDecision {
  const { maxRestarts, restartWindowMs, restartBackoffMs, restartBackoffMaxMs } = limits;
  const crashes = [...previous.filter((t) => now - t < restartWindowMs), now];
  const window = describeDuration(restartWindowMs);
  if (crashes.length > maxRestarts) {
    return {
      crashes,
      restartInMs: undefined,
      note: `It crashed ${crashes.length} times in ${window}; not restarting (at most ${maxRestarts} restarts in ${window}). Start it again when the cause is fixed.`,
    };
  }
  const delay = Math.min(restartBackoffMaxMs, restartBackoffMs * 2 ** (crashes.length - 1));
  return {
    crashes,
    restartInMs: delay,
    note: `Restarting in ${describeDuration(delay)} (restart ${crashes.length} of at most ${maxRestarts} in ${window}).`,
  };
}
