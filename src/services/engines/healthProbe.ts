import http from "node:http";

export type HealthResult = { ok: true; status: number } | { ok: false; status?: number; reason: string };

/** What a check that asks the model for work must name: the `model` the engine answers to, and the profile's per-request fields. */
export interface ProbeRequest {
  model: string;
  fields: Record<string, unknown>;
}

/**
 * One way of judging a server of an engine (ready to serve, still healthy). The supervisor repeats
 * the check as it needs; the engine description says what a check is, so an engine that needs a
 * warm-up request or another path changes only its description.
 */
export interface EngineProbe {
  /** What a check asks the server for, as messages name it (e.g. "/health"). */
  target: string;
  /**
   * A check that may take as long as the whole start (a request that waits while the model loads):
   * it is given all the time left, and aborted when the start is interrupted, instead of repeated.
   */
  patient?: boolean;
  /** One check of the server at `baseUrl` (http://127.0.0.1:<port>) within `timeoutMs`. */
  check(baseUrl: string, timeoutMs: number, signal?: AbortSignal, request?: ProbeRequest): Promise<HealthResult>;
}

/** A probe that passes when `GET <path>` answers HTTP 200. */
export function httpOkProbe(path: string): EngineProbe {
  return {
    target: path,
    check: (baseUrl, timeoutMs, signal) => probeHealth(`${baseUrl}${path}`, timeoutMs, signal),
  };
}

/**
 * A one-token completion (`POST <path>`, max_tokens 1): passes once the model has answered, which is
 * what "running" means for an engine whose /health says ok before its model is loaded (mlx_lm.server).
 * It goes to the engine directly, so it is never metered.
 */
export function warmUpProbe(path: string): EngineProbe {
  return {
    target: `a 1-token request to ${path}`,
    patient: true,
    check: (baseUrl, timeoutMs, signal, request) =>
      postJson(
        `${baseUrl}${path}`,
        { ...(request?.fields ?? {}), ...(request ? { model: request.model } : {}), prompt: "Hello", max_tokens: 1, stream: false },
        timeoutMs,
        signal,
      ),
  };
}

function postJson(url: string, body: unknown, timeoutMs: number, signal?: AbortSignal): Promise<HealthResult> {
  const payload = Buffer.from(JSON.stringify(body));
  return settleRequest(timeoutMs, signal, (finish) => {
    const request = http.request(
      url,
      { method: "POST", agent: false, headers: { connection: "close", "content-type": "application/json", "content-length": payload.length } },
      (response) => {
        const status = response.statusCode ?? 0;
        const chunks: Buffer[] = [];
        let size = 0;
        response.on("data", (chunk: Buffer) => {
          if (size < 2048) chunks.push(chunk);
          size += chunk.length;
        });
        response.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8").slice(0, 300).replace(/\s+/g, " ").trim();
          finish(status === 200 ? { ok: true, status } : { ok: false, status, reason: `answered HTTP ${status}${text ? `: ${text}` : ""}` });
        });
        response.on("error", () => {
          finish({ ok: false, status, reason: "the answer broke off" });
        });
      },
    );
    request.end(payload);
    return request;
  });
}

/** Runs one request with a deadline and an abort signal; `start` sends it and calls `finish` with the result. */
function settleRequest(
  timeoutMs: number,
  signal: AbortSignal | undefined,
  start: (finish: (result: HealthResult) => void) => http.ClientRequest,
): Promise<HealthResult> {
  return new Promise((resolve) => {
    let settled = false;
    const sent: { request?: http.ClientRequest } = {};
    const finish = (result: HealthResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      sent.request?.destroy();
      resolve(result);
    };
    const onAbort = (): void => {
      finish({ ok: false, reason: "aborted" });
    };
    const timer = setTimeout(() => {
      finish({ ok: false, reason: `no answer within ${timeoutMs} ms` });
    }, timeoutMs);
    const request = start(finish);
    sent.request = request;
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

/** One `GET url` without keep-alive; healthy means HTTP 200 within `timeoutMs`. */
export function probeHealth(url: string, timeoutMs: number, signal?: AbortSignal): Promise<HealthResult> {
  return settleRequest(timeoutMs, signal, (finish) =>
    http.get(url, { agent: false, headers: { connection: "close" } }, (response) => {
      const status = response.statusCode ?? 0;
      response.resume();
      finish(status === 200 ? { ok: true, status } : { ok: false, status, reason: `answered HTTP ${status}` });
    }),
  );
}
