import http from "node:http";

export type HealthResult = { ok: true; status: number } | { ok: false; status?: number; reason: string };

/**
 * One way of judging a server of an engine (ready to serve, still healthy). The supervisor repeats
 * the check as it needs; the engine description says what a check is, so an engine that needs a
 * warm-up request or another path changes only its description.
 */
export interface EngineProbe {
  /** What a check asks the server for, as messages name it (e.g. "/health"). */
  target: string;
  /** One check of the server at `baseUrl` (http://127.0.0.1:<port>) within `timeoutMs`. */
  check(baseUrl: string, timeoutMs: number, signal?: AbortSignal): Promise<HealthResult>;
}

/** A probe that passes when `GET <path>` answers HTTP 200. */
export function httpOkProbe(path: string): EngineProbe {
  return {
    target: path,
    check: (baseUrl, timeoutMs, signal) => probeHealth(`${baseUrl}${path}`, timeoutMs, signal),
  };
}

/** One `GET url` without keep-alive; healthy means HTTP 200 within `timeoutMs`. */
export function probeHealth(url: string, timeoutMs: number, signal?: AbortSignal): Promise<HealthResult> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: HealthResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      request.destroy();
      resolve(result);
    };
    const onAbort = (): void => {
      finish({ ok: false, reason: "aborted" });
    };
    const request = http.get(url, { agent: false, headers: { connection: "close" } }, (response) => {
      const status = response.statusCode ?? 0;
      response.resume();
      finish(
        status === 200 ? { ok: true, status } : { ok: false, status, reason: `answered HTTP ${status}` },
      );
    });
    const timer = setTimeout(() => {
      finish({ ok: false, reason: `no answer within ${timeoutMs} ms` });
    }, timeoutMs);
    request.on("error", (error: NodeJS.ErrnoException) => {
      finish({
        ok: false,
        reason: error.code === "ECONNREFUSED" ? "connection refused" : (error.code ?? error.message),
      });
    });
    if (signal?.aborted) onAbort();
    else signal?.addEventListener("abort", onAbort, { once: true });
  });
}
