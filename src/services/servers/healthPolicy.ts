import type { EngineProbe, HealthResult } from "../engines/healthProbe";
import { describeDuration } from "./describeDuration";
import type { SupervisorSettings } from "./SupervisorSettings";

/** What the periodic health checks remember of one server. */
export interface HealthCounters {
  /** Consecutive failed checks. */
  failures: number;
  /** A check is out: the next round leaves this server alone. */
  inFlight: boolean;
  /** When the server became unhealthy (undefined while it is not). */
  unhealthySince: number | undefined;
}

export type HealthLimits = Pick<SupervisorSettings, "unhealthyAfterFailures" | "unhealthyRestartMs">;

/** What one check means for the server's state. */
export type HealthVerdict =
  | { kind: "unchanged" }
  /** It was unhealthy and passed: running again. */
  | { kind: "recovered" }
  /** It was running and failed too often in a row. */
  | { kind: "unhealthy"; message: string; reason: string }
  /** It stayed unhealthy too long and its profile restarts on crash: stop it and treat it as a crash. */
  | { kind: "restart"; message: string };

export interface HealthJudgement {
  verdict: HealthVerdict;
  /** The counters after this check. */
  failures: number;
  unhealthySince: number | undefined;
}

/** Judges one health check of a running or unhealthy server (a pure function of what it is given). */
export function judgeHealth(
  state: "running" | "unhealthy",
  counters: Pick<HealthCounters, "failures" | "unhealthySince">,
  result: HealthResult,
  server: { profileName: string; restartOnCrash: boolean; now: number },
  limits: HealthLimits,
): HealthJudgement {
  if (result.ok) {
    return state === "unhealthy"
      ? { verdict: { kind: "recovered" }, failures: 0, unhealthySince: undefined }
      : { verdict: { kind: "unchanged" }, failures: 0, unhealthySince: counters.unhealthySince };
  }
  const failures = counters.failures + 1;
  if (state === "running" && failures >= limits.unhealthyAfterFailures) {
    return {
      verdict: {
        kind: "unhealthy",
        message: `Health check failed ${failures} times in a row: ${result.reason}.`,
        reason: result.reason,
      },
      failures,
      unhealthySince: server.now,
    };
  }
  const since = counters.unhealthySince;
  if (
    state === "unhealthy" &&
    since !== undefined &&
    server.now - since >= limits.unhealthyRestartMs &&
    server.restartOnCrash
  ) {
    return {
      verdict: {
        kind: "restart",
        message: `${server.profileName} was unhealthy for ${describeDuration(server.now - since)} (${result.reason}); it was stopped.`,
      },
      failures,
      unhealthySince: since,
    };
  }
  return { verdict: { kind: "unchanged" }, failures, unhealthySince: since };
}

/** Runs one check of `probe` against `baseUrl`, marking the counters in flight meanwhile. */
export async function checkOnce(
  counters: HealthCounters,
  probe: EngineProbe,
  baseUrl: string,
  timeoutMs: number,
): Promise<HealthResult> {
  counters.inFlight = true;
  try {
    return await probe.check(baseUrl, timeoutMs);
  } finally {
    counters.inFlight = false;
  }
}
