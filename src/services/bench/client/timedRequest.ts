import http from "node:http";
// One streamed chat completion, timed as a client times it: sent → first generated text (TTFT),
// and the decode speed between the first and the last read that brought text. Used by the
// benchmark client (./main.ts), which runs in its own process so that the manager's event loop
// (the gateway relaying, the store writing) never delays what it reads.

export interface TimedRequest {
  /** The gateway's chat completions URL. */
  url: string;
  key: string;
  /** Sent as `x-request-id`: the gateway keeps it in its meter's record of the request. */
  requestId: string;
  /** The JSON body, streamed, with usage asked for. */
  body: string;
}

export interface Timing {
  promptTokens: number;
  completionTokens: number;
  /** Sent → first generated text; absent when no text came. */
  ttftMs?: number;
  /** (completion tokens − 1) / (last text read − first text read), when the text came spread out. */
  decodeTokensPerSecond?: number;
  /** Reads of the stream that brought generated text. */
  textReads: number;
  error?: string;
}

/** One kept-alive connection for the whole benchmark: no request pays for a new one. */
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function post(request: TimedRequest, signal: AbortSignal): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const body = Buffer.from(request.body);
    const req = http.request(request.url, {
      method: "POST",
      agent,
      signal,
      headers: { "content-type": "application/json", "content-length": body.length, authorization: `Bearer ${request.key}`, "x-request-id": request.requestId },
    }, resolve);
    req.once("error", reject);
    req.setNoDelay(true);
    req.end(body);
  });
}

/** A GET whose answer is dropped, on the same kept-alive connection. */
export function warmUp(url: string, key: string, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    http.get(url, { agent, signal, headers: { authorization: `Bearer ${key}` } }, (res) => {
      res.resume().once("end", resolve).once("error", reject);
    }).once("error", reject);
  });
}

export async function timedRequest(request: TimedRequest, signal: AbortSignal): Promise<Timing> {
  const timing: Timing = { promptTokens: 0, completionTokens: 0, textReads: 0 };
  const sent = performance.now();
  const response = await post(request, signal);
  const status = response.statusCode ?? 0;
  if (status < 200 || status >= 300) {
    let text = "";
    for await (const chunk of response) text += String(chunk);
    timing.error = `${status}: ${errorMessage(text)}`;
    return timing;
  }
  let first: number | undefined;
  let last: number | undefined;
  for await (const { data, at } of sseData(response)) {
    if (data === "[DONE]") break;
    const chunk = JSON.parse(data) as { choices?: { delta?: { content?: string | null; reasoning_content?: string | null } }[]; usage?: { prompt_tokens?: number; completion_tokens?: number }; error?: { message?: string } };
    if (chunk.error !== undefined) {
      timing.error = chunk.error.message ?? "the stream ended with an error";
      break;
    }
    const delta = chunk.choices?.[0]?.delta;
    if ((delta?.content ?? "") !== "" || (delta?.reasoning_content ?? "") !== "") {
      if (at !== last) timing.textReads++;
      first ??= at;
      last = at;
    }
    if (chunk.usage !== undefined) {
      timing.promptTokens = chunk.usage.prompt_tokens ?? 0;
      timing.completionTokens = chunk.usage.completion_tokens ?? 0;
    }
  }
  if (first === undefined) {
    timing.error ??= "the answer had no text";
    return timing;
  }
  timing.ttftMs = first - sent;
  // Text held back by the server and sent at once (a stop sequence it was matching, a tool call it
  // was parsing) arrives in one read: the time between reads is then not the decode's.
  const tokens = timing.completionTokens;
  if (last !== undefined && last > first && tokens >= 2 && timing.textReads >= Math.max(2, Math.ceil(tokens / 2)))
    timing.decodeTokensPerSecond = (tokens - 1) / ((last - first) / 1000);
  return timing;
}

function errorMessage(body: string): string {
  try {
    const parsed = JSON.parse(body) as { error?: { message?: string } | string; message?: string };
    if (typeof parsed.error === "string") return parsed.error;
    return parsed.error?.message ?? parsed.message ?? body.slice(0, 300);
  } catch {
    return body.slice(0, 300);
  }
}

/** The `data:` payloads of a server-sent event stream, each with the time of the read that completed it. */
async function* sseData(body: http.IncomingMessage): AsyncGenerator<{ data: string; at: number }> {
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of body as AsyncIterable<Buffer>) {
    const at = performance.now();
    buffer += decoder.decode(chunk, { stream: true });
    for (let end = buffer.indexOf("\n\n"); end !== -1; end = buffer.indexOf("\n\n")) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = event.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trimStart()).join("\n");
      if (data !== "") yield { data, at };
    }
  }
}
