import http from "node:http";

export type HealthResult = { ok: true; status: number } | { ok: false; status?: number; reason: string };

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
