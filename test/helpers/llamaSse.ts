// A raw HTTP client for the engine's SSE streams: the tests need to see the bytes as they
// arrive and to hang up mid-stream, which the openai client hides.
import http from "node:http";

export interface SseResult {
  status: number;
  /** The `data:` payloads in arrival order ("[DONE]" included). */
  events: string[];
  /** performance.now() of the first event and of the end (or hang-up). */
  firstEventAt?: number;
  endedAt: number;
  /** True when the client hung up before the end. */
  hungUp: boolean;
}

/**
 * POSTs `body` as JSON and collects SSE events. `onEvent` may return "hang-up" to destroy the
 * request at that point, as a client closing its connection does.
 */
export function postSse(
  url: string,
  body: object,
  onEvent?: (data: string, count: number) => "hang-up" | undefined,
): Promise<SseResult> {
  return new Promise((resolve, reject) => {
    const events: string[] = [];
    let firstEventAt: number | undefined;
    let hungUp = false;
    const finish = (status: number): void => {
      const result: SseResult = { status, events, endedAt: performance.now(), hungUp };
      if (firstEventAt !== undefined) result.firstEventAt = firstEventAt;
      resolve(result);
    };
    const req = http.request(
      url,
      { method: "POST", headers: { "Content-Type": "application/json" }, agent: false },
      (res) => {
        let buffer = "";
        res.setEncoding("utf8");
        res.on("data", (text: string) => {
          buffer += text;
          let end: number;
          while ((end = buffer.indexOf("\n\n")) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            for (const line of block.split("\n")) {
              if (!line.startsWith("data: ")) continue;
              firstEventAt ??= performance.now();
              events.push(line.slice("data: ".length));
              if (!hungUp && onEvent?.(line.slice("data: ".length), events.length) === "hang-up") {
                hungUp = true;
                req.destroy();
                finish(res.statusCode ?? 0);
                return;
              }
            }
          }
        });
        res.on("end", () => {
          finish(res.statusCode ?? 0);
        });
        res.on("error", (error) => {
          if (!hungUp) reject(error);
        });
      },
    );
    req.on("error", (error) => {
      if (!hungUp) reject(error);
    });
    req.end(JSON.stringify(body));
  });
}
