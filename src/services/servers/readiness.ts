import type { EngineProbe, HealthResult } from "../engines/healthProbe";
import { sleep } from "./waiting";

/** One wait for a starting server to become ready. */
export interface ReadinessWait {
  /** Where the server listens: http://127.0.0.1:<port>. */
  baseUrl: string;
  /** The engine description's readiness check. */
  probe: EngineProbe;
  timeoutMs: number;
  /** The pause between checks in the first 5 s; after that at least 500 ms. */
  pollMs: number;
  /** Aborts the check that is out and the pause (a stop during start). */
  signal: AbortSignal;
  /** Resolves when the process has exited: ends a pause at once. */
  exited: Promise<void>;
  /** Asked before every check: an error to give up with (stopped, exited, shutting down), or undefined to go on. */
  interrupted(): Error | undefined;
  /** Asked when a check passed: whether it still counts (the process may have exited or been stopped while the check was out). */
  stillWanted(): boolean;
  /** Called about every 10 s of waiting, with the last check's result. */
  onSlow?(result: HealthResult): void;
  now?: () => number;
}

/** Repeats the readiness check until it passes ("ready") or `timeoutMs` passes ("timed-out"); throws what `interrupted` returns. */
export async function waitForReadiness(wait: ReadinessWait): Promise<"ready" | "timed-out"> {
  const now = wait.now ?? Date.now;
  const started = now();
  let lastReport = started;
  for (;;) {
    const stop = wait.interrupted();
    if (stop !== undefined) throw stop;
    const elapsed = now() - started;
    if (elapsed >= wait.timeoutMs) return "timed-out";
    const result = await wait.probe.check(
      wait.baseUrl,
      Math.min(2000, wait.timeoutMs - elapsed),
      wait.signal,
    );
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
