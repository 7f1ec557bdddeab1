import type { EngineProbe, HealthResult, ProbeRequest } from "../engines/healthProbe";
import { sleep } from "./waiting";

/** One wait for a starting server to become ready. */
export interface ReadinessWait {
  /** Where the server listens: http://127.0.0.1:<port>. */
  baseUrl: string;
  /** The engine description's readiness check. */
  probe: EngineProbe;
  /** What a check that sends the model work must name (the warm-up of mlx_lm.server). */
  request?: ProbeRequest;
  timeoutMs: number;
  /** The pause between checks in the first 5 s; after that at least 500 ms. */
  pollMs: number;
  /** Aborts the check that is out and the pause (a stop during start). */
  signal: AbortSignal;
  /** Resolves when the process has exited: ends a pause (and a patient check) at once. */
  exited: Promise<void>;
  /** Asked before every check: an error to give up with (stopped, exited, shutting down), or undefined to go on. */
  interrupted(): Error | undefined;
  /** Asked with `interrupted`: why the engine failed to load although it still runs (a traceback in its log), or undefined. */
  loadFailure?(): string | undefined;
  /** Asked when a check passed: whether it still counts (the process may have exited or been stopped while the check was out). */
  stillWanted(): boolean;
  /** Called about every 10 s of waiting, with the last check's result. */
  onSlow?(result: HealthResult): void;
  now?: () => number;
}

export type ReadinessOutcome = "ready" | "timed-out" | { failed: string };

/**
 * Repeats the readiness check until it passes ("ready"), `timeoutMs` passes ("timed-out") or the
 * engine says its load failed; throws what `interrupted` returns.
 */
export async function waitForReadiness(wait: ReadinessWait): Promise<ReadinessOutcome> {
  const now = wait.now ?? Date.now;
  const started = now();
  let lastReport = started;
  for (;;) {
    const stop = wait.interrupted();
    if (stop !== undefined) throw stop;
    const failed = wait.loadFailure?.();
    if (failed !== undefined) return { failed };
    const elapsed = now() - started;
    if (elapsed >= wait.timeoutMs) return "timed-out";
    const left = wait.timeoutMs - elapsed;
    const result = wait.probe.patient === true ? await patientCheck(wait, left) : await wait.probe.check(wait.baseUrl, Math.min(2000, left), wait.signal, wait.request);
    if (result.ok && wait.stillWanted()) return "ready";
    if (now() - lastReport >= 10_000) {
      lastReport = now();
      wait.onSlow?.(result);
    }
    // Poll briskly while a small model is likely to come up, then gently (engines log each check).
    const pause = elapsed < 5000 ? wait.pollMs : Math.max(wait.pollMs, 500);
    await Promise.race([sleep(pause, wait.signal), wait.exited]);
  }
}

/**
 * One check given all the time left (a request that waits while the model loads), aborted as soon
 * as the start is interrupted, the process exits or its load fails — so it is never repeated into a
 * queue of warm-ups, and never outlives what it waits for.
 */
async function patientCheck(wait: ReadinessWait, timeoutMs: number): Promise<HealthResult> {
  const controller = new AbortController();
  const abort = (): void => {
    controller.abort();
  };
  wait.signal.addEventListener("abort", abort, { once: true });
  void wait.exited.then(abort);
  const watch = setInterval(
    () => {
      if (wait.interrupted() !== undefined || wait.loadFailure?.() !== undefined) abort();
    },
    Math.max(wait.pollMs, 250),
  );
  try {
    return await wait.probe.check(wait.baseUrl, timeoutMs, controller.signal, wait.request);
  } finally {
    clearInterval(watch);
    wait.signal.removeEventListener("abort", abort);
  }
}
