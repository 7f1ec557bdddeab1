/** Timings and limits of the supervisor; every one has a default (see DEFAULT_SETTINGS). */
export interface SupervisorSettings {
  /** A start fails when the engine's readiness check has not passed after this long. */
  startTimeoutMs: number;
  /** Readiness is polled this often while a server starts. */
  startPollMs: number;
  /** SIGTERM → SIGKILL grace period on stop. */
  stopGraceMs: number;
  /** Running servers are health-checked this often, all at once. */
  healthIntervalMs: number;
  healthTimeoutMs: number;
  /** Consecutive failed health checks before a server is `unhealthy`. */
  unhealthyAfterFailures: number;
  /** An unhealthy server of a restartOnCrash profile is restarted after this long. */
  unhealthyRestartMs: number;
  /** Adopted servers (no exit event) are checked for life this often; also the idle-stop tick. */
  livenessIntervalMs: number;
  /** First crash-restart delay; doubles with every crash in the window. */
  restartBackoffMs: number;
  restartBackoffMaxMs: number;
  /** Crash restarts allowed within `restartWindowMs`; the next crash leaves the server failed. */
  maxRestarts: number;
  restartWindowMs: number;
  /** A server log is rotated (copy-and-truncate) past this size, keeping `logKeep` old copies. */
  logMaxBytes: number;
  logKeep: number;
  /** Server logs untouched this long are deleted at start. */
  logMaxAgeMs: number;
  /** Log lines reported with a failure. */
  logTailLines: number;
}

export const DEFAULT_SETTINGS: SupervisorSettings = {
  startTimeoutMs: 120_000,
  startPollMs: 100,
  stopGraceMs: 5_000,
  healthIntervalMs: 5_000,
  healthTimeoutMs: 3_000,
  unhealthyAfterFailures: 2,
  unhealthyRestartMs: 60_000,
  livenessIntervalMs: 1_000,
  restartBackoffMs: 1_000,
  restartBackoffMaxMs: 60_000,
  maxRestarts: 5,
  restartWindowMs: 10 * 60_000,
  logMaxBytes: 20 * 1024 * 1024,
  logKeep: 2,
  logMaxAgeMs: 30 * 24 * 3600_000,
  logTailLines: 20,
};
