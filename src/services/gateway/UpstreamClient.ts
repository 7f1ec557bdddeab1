import http from "node:http";
import https from "node:https";
import type { Socket } from "node:net";
import type { Readable } from "node:stream";
import * as z from "zod";
import type { OpenAiErrorBody } from "./openAiError";
import { GatewayError } from "./openAiError";
import { readUsage, SseStreamMeter, type TokenUsage } from "./SseStreamMeter";
import { SseDataReader, type AnswerTranslator } from "./translate/AnswerTranslator";
import type { RequestStatus } from "./UsageMeter";
import { pinnedTlsOptions, type CertificatePin } from "../remotes/remoteHttp";

/** What is sent upstream: a body in memory, or a head in memory followed by the rest of the client's upload. */
export type RelayBody =
  | { kind: "buffer"; bytes: Buffer; contentType: string }
  | {
      kind: "stream";
      head: Buffer[];
      /** The rest of the upload (paused), or undefined when it has all arrived. */
      rest: Readable | undefined;
      contentType: string;
      /** Total bytes, when the client declared them. */
      length: number | undefined;
      /** Bytes `rest` may still bring before the upload is refused. */
      restLimit: number;
    };

export interface RelayOptions {
  /** The server's base URL, e.g. http://127.0.0.1:8080. */
  baseUrl: string;
  /**
   * The server process the request goes to: `profileId` names the pool, `process` the process
   * (pid and start). Connections are pooled per process: a restarted server on the same port
   * never gets a connection made to its previous process.
   */
  upstream: { profileId: string; process: string };
  path: string;
  body: RelayBody;
  /** The client's response; the caller has taken it over from Fastify. */
  res: http.ServerResponse;
  /** Aborted when the client goes away: the upstream request is torn down at once. */
  signal: AbortSignal;
  /** Read usage from the answer (SSE events or a JSON body); otherwise relay it untouched. */
  meterUsage: boolean;
  /** Drop the `choices: []` usage chunk: the client did not ask for usage. */
  dropUsageOnly: boolean;
  /** Names the server in error messages, e.g. `profile "Qwen" (mlx-lm at http://127.0.0.1:8080)`. */
  describe: string;
  /** The client speaks another API (Anthropic Messages, OpenAI Responses): answers and errors are translated. */
  translate?: AnswerTranslator;
  /** A remote backend's key (`Bearer …`): sent upstream, never logged. */
  authorization?: string;
  /** An https backend's pinned certificate: nothing else is trusted. */
  pin?: CertificatePin;
  /** What to tell the client when the backend refuses our key (401/403), instead of relaying a refusal that reads as theirs. */
  keyRefused?: string;
  /**
   * Another replica can take the request: a failure before any byte reached the client (no
   * answer, a 5xx or 429, a refused key) is not sent but returned as `failedOver`.
   */
  mayFailOver?: boolean;
}

/** How one relayed exchange went. Times are performance.now(). */
export interface RelayResult {
  status: RequestStatus;
  /** What the client got; 499 when it hung up before any answer. */
  httpStatus: number;
  /** The answer was an event stream. */
  stream: boolean;
  sentAt?: number;
  firstTokenAt?: number;
  lastTokenAt?: number;
  /** Events that carried generated text. */
  tokenEvents: number;
  /** Sent a second time, on a fresh connection, after a kept-alive one turned out closed. */
  retried?: boolean;
  usage?: TokenUsage;
  error?: string;
  /** With mayFailOver: it failed before the client got anything (nothing was sent); another replica may try. */
  failedOver?: GatewayError;
}

export interface UpstreamClientOptions {
  /** No byte from the upstream for this long ends the request with 504. Default 10 minutes. */
  idleTimeoutMs?: number;
  /** A kept-alive connection unused this long is closed by us. Default FREE_SOCKET_TTL_MS. */
  freeSocketTtlMs?: number;
}

/**
 * Below every engine's own keep-alive timeout (uvicorn's and cpp-httplib's 5 s, Node's 5 s + 1 s),
 * so the gateway closes an idle connection before the server can close it under a request.
 */
export const FREE_SOCKET_TTL_MS = 2000;

/** Errors of a kept-alive connection the server had closed before our request reached it. */
const STALE_CONNECTION_CODES = new Set(["ECONNRESET", "EPIPE"]);

/**
 * Node's agent gives an idle pooled socket no timeout of its own (it lowers `timeout` to the
 * server's Keep-Alive hint only when one is set, and most engines send no hint). This one arms a
 * timeout while a socket is free; on reuse the gateway disarms it, so a streaming answer pays no
 * timer per chunk.
 */
class PoolAgent extends http.Agent {
  constructor(private readonly freeTtlMs: number) {
    super(POOL_OPTIONS);
  }

  override keepSocketAlive(socket: Socket): boolean {
    return keepWithTtl(http.Agent.prototype, this, socket, this.freeTtlMs);
  }
}

/** The same pool for an https backend (a remote one), its pinned certificate in every connection. */
class TlsPoolAgent extends https.Agent {
  constructor(
    private readonly freeTtlMs: number,
    tls: https.AgentOptions,
  ) {
    super({ ...POOL_OPTIONS, ...tls });
  }

  override keepSocketAlive(socket: Socket): boolean {
    return keepWithTtl(https.Agent.prototype, this, socket, this.freeTtlMs);
  }
}

const POOL_OPTIONS: http.AgentOptions = { keepAlive: true, keepAliveMsecs: 1000, maxFreeSockets: 256, scheduling: "lifo" };

/** Node's keepSocketAlive, then a timeout on the freed socket (the agent destroys it when it fires). */
function keepWithTtl(proto: http.Agent, agent: http.Agent, socket: Socket, ttlMs: number): boolean {
  // Typed as void in @types/node; Node's own returns whether the socket may be kept (false: destroyed).
  const keep = (proto.keepSocketAlive as (socket: Socket) => boolean | undefined).call(agent, socket) !== false;
  if (keep) socket.setTimeout(ttlMs);
  return keep;
}

/** A usage body worth parsing is small; bigger answers (images) are relayed without it. */
const MAX_USAGE_BODY_BYTES = 8 * 1024 * 1024;
const MAX_ERROR_BODY_BYTES = 64 * 1024;
/** Response headers relayed as they are; hop-by-hop ones are not. */
const RELAYED_HEADERS = ["content-type", "content-length", "content-encoding", "content-disposition", "cache-control"];

const OpenAiShape = z.object({
  error: z.looseObject({
    message: z.string(),
    type: z.string().nullish(),
    param: z.string().nullish(),
    code: z.union([z.string(), z.number()]).nullish(),
  }),
});
/** FastAPI's `{"detail": ...}`, and the `{"error": "..."}` or `{"message": "..."}` other servers send. */
const OtherErrorShape = z.looseObject({ detail: z.unknown().optional(), error: z.unknown().optional(), message: z.unknown().optional() });
const UsageCarrier = z.looseObject({ usage: z.unknown() });

/** Sends gateway requests to model servers over kept-alive connections and relays the answers byte for byte. */
export class UpstreamClient {
  /** One pool per profile, for its current process only. */
  private readonly pools = new Map<string, { process: string; agent: http.Agent }>();
  private readonly tunedSockets = new WeakSet<Socket>();
  private readonly idleTimeoutMs: number;
  private readonly freeSocketTtlMs: number;
  private readonly active = new Set<Exchange>();
  /**
   * One coarse sweep for idle upstreams instead of a socket timeout, which Node re-arms on every
   * read: a per-chunk cost paid for a condition that almost never happens.
   */
  private readonly sweeper: NodeJS.Timeout;

  constructor(options: UpstreamClientOptions = {}) {
    this.idleTimeoutMs = options.idleTimeoutMs ?? 10 * 60_000;
    this.freeSocketTtlMs = options.freeSocketTtlMs ?? FREE_SOCKET_TTL_MS;
    this.sweeper = setInterval(() => {
      const now = performance.now();
      for (const exchange of this.active) exchange.timeOutIfIdle(now, this.idleTimeoutMs);
    }, Math.max(50, Math.min(5000, this.idleTimeoutMs / 4)));
    this.sweeper.unref();
  }

  /** Closes the kept-alive connections. */
  close(): void {
    clearInterval(this.sweeper);
    for (const pool of this.pools.values()) pool.agent.destroy();
    this.pools.clear();
  }

  /** Kept-alive connections now open to the profile's server (for tests and diagnostics). */
  openConnections(profileId: string): number {
    const agent = this.pools.get(profileId)?.agent;
    if (!agent) return 0;
    return [...Object.values(agent.sockets), ...Object.values(agent.freeSockets)].reduce((n, list) => n + (list?.length ?? 0), 0);
  }

  /** The pool of the profile's current process (or backend key and pin); the pool of an earlier one is closed. */
  private agentFor(options: RelayOptions): http.Agent {
    const upstream = options.upstream;
    const pool = this.pools.get(upstream.profileId);
    if (pool?.process === upstream.process) return pool.agent;
    // Its requests in flight keep their sockets; only the pooled ones are closed.
    pool?.agent.destroy();
    const agent = options.baseUrl.startsWith("https:") ? new TlsPoolAgent(this.freeSocketTtlMs, options.pin === undefined ? {} : pinnedTlsOptions(options.baseUrl, options.pin)) : new PoolAgent(this.freeSocketTtlMs);
    this.pools.set(upstream.profileId, { process: upstream.process, agent });
    return agent;
  }

  /** Forwards one request and relays its answer to `options.res`; never rejects. */
  relay(options: RelayOptions): Promise<RelayResult> {
    return new Promise((resolve) => {
      const exchange = new Exchange(options, this.agentFor(options), this.tunedSockets, (result) => {
        this.active.delete(exchange);
        resolve(result);
      });
      this.active.add(exchange);
      exchange.start();
    });
  }
}

/** One request to an upstream and the relay of its answer. */
class Exchange {
  private readonly result: RelayResult = { status: "ok", httpStatus: 0, stream: false, tokenEvents: 0 };
  private settled = false;
  private request: http.ClientRequest | undefined;
  private response: http.IncomingMessage | undefined;
  private paused = false;
  /** Relays the stream bytes received in this tick and not yet written (set while a stream is relayed). */
  private relayPending: (() => void) | undefined;
  /** performance.now() of the last sign of life from the upstream (or of sending). */
  private lastActivity = performance.now();
  private readonly onAbort = (): void => {
    this.clientGone();
  };

  constructor(
    private readonly o: RelayOptions,
    private readonly agent: http.Agent,
    private readonly tunedSockets: WeakSet<Socket>,
    private readonly resolve: (result: RelayResult) => void,
  ) {}

  /** Ends the exchange with 504 (or a broken-off stream) when the upstream has been silent too long. */
  timeOutIfIdle(now: number, idleTimeoutMs: number): void {
    if (this.settled || this.paused || now - this.lastActivity < idleTimeoutMs) return;
    const error = Object.assign(new Error(`no answer for ${Math.round(idleTimeoutMs / 1000)} s`), { code: "ETIMEDOUT" });
    this.request?.destroy();
    this.response?.destroy();
    if (this.response === undefined) this.failBeforeAnswer(error);
    else this.failMidway(error);
  }

  start(): void {
    if (this.o.signal.aborted) {
      this.clientGone();
      return;
    }
    this.o.signal.addEventListener("abort", this.onAbort, { once: true });
    this.send(true);
  }

  private settle(status: RequestStatus, error?: string): void {
    if (this.settled) return;
    this.settled = true;
    this.o.signal.removeEventListener("abort", this.onAbort);
    this.result.status = status;
    if (error !== undefined) this.result.error = error;
    this.resolve(this.result);
  }

  private clientGone(): void {
    if (this.settled) return;
    this.request?.destroy();
    this.response?.destroy();
    this.result.httpStatus = this.o.res.headersSent ? this.o.res.statusCode : 499;
    this.settle("aborted", "the client disconnected");
  }

  private send(mayRetry: boolean): void {
    const { body } = this.o;
    const headers: http.OutgoingHttpHeaders = { "content-type": body.contentType, accept: "*/*" };
    if (body.kind === "buffer") headers["content-length"] = body.bytes.length;
    else if (body.length !== undefined) headers["content-length"] = body.length;
    if (this.o.authorization !== undefined) headers["authorization"] = this.o.authorization;
    const url = new URL(this.o.baseUrl + this.o.path);
    // The retry takes a connection of its own: the pool may hold more connections the server closed.
    const request =
      url.protocol === "https:"
        ? https.request(url, { method: "POST", agent: mayRetry ? this.agent : false, headers, ...(this.o.pin === undefined ? {} : pinnedTlsOptions(this.o.baseUrl, this.o.pin)) })
        : http.request(url, { method: "POST", agent: mayRetry ? this.agent : false, headers });
    this.request = request;
    request.on("socket", (socket) => {
      // Free, it had a timeout armed (PoolAgent); in use, the sweeper watches it instead.
      if (request.reusedSocket) socket.setTimeout(0);
      if (this.tunedSockets.has(socket)) return;
      this.tunedSockets.add(socket);
      socket.setNoDelay(true);
    });
    request.on("error", (error: NodeJS.ErrnoException) => {
      if (this.settled) return;
      if (this.response !== undefined) {
        this.failMidway(error);
        return;
      }
      // A kept-alive connection the server had closed: nothing of the answer came, so the request
      // goes once more on a fresh connection. (An upload already streamed cannot be sent again.)
      if (mayRetry && request.reusedSocket && STALE_CONNECTION_CODES.has(error.code ?? "") && body.kind === "buffer") {
        this.result.retried = true;
        this.send(false);
        return;
      }
      this.failBeforeAnswer(error);
    });
    request.on("response", (response) => {
      this.onResponse(response);
    });
    if (body.kind === "buffer") {
      request.end(body.bytes);
    } else {
      for (const part of body.head) request.write(part);
      this.pipeUpload(body.rest, body.restLimit, request);
    }
    this.result.sentAt = performance.now();
    this.lastActivity = this.result.sentAt;
  }

  /** Streams the rest of an upload with backpressure, refusing it past its limit. */
  private pipeUpload(rest: Readable | undefined, limit: number, request: http.ClientRequest): void {
    if (rest === undefined) {
      request.end();
      return;
    }
    let bytes = 0;
    rest.on("data", (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > limit) {
        rest.pause();
        request.destroy();
        this.sendError(new GatewayError(413, "The upload is larger than the gateway accepts.", "payload_too_large"));
        this.settle("error", "upload too large");
        return;
      }
      if (!request.write(chunk)) {
        rest.pause();
        request.once("drain", () => rest.resume());
      }
    });
    rest.once("end", () => request.end());
    rest.resume();
  }

  private failBeforeAnswer(error: NodeJS.ErrnoException): void {
    const timedOut = error.code === "ETIMEDOUT";
    const why = error.code !== undefined && !error.message.includes(error.code) ? `${error.code}: ${error.message}` : error.message;
    const message = timedOut
      ? `The model server of ${this.o.describe} did not answer in time (${error.message}).`
      : `The model server of ${this.o.describe} is not answering (${why}). It may have crashed or be restarting: check \`mlx-manager ps\` and its log.`;
    this.failOverOrSend(new GatewayError(timedOut ? 504 : 502, message, timedOut ? "upstream_timeout" : "upstream_unreachable"));
  }

  /** A failure before any byte of the answer: handed back for another replica, or sent to the client. */
  private failOverOrSend(error: GatewayError): void {
    if (this.o.mayFailOver === true) this.result.failedOver = error;
    else this.sendError(error);
    this.result.httpStatus = error.status;
    this.settle("error", error.message);
  }

  /** The upstream broke off after answering: end the client's stream with an error event, or cut a plain answer short. */
  private failMidway(error: Error): void {
    const message = `The model server of ${this.o.describe} broke off its answer (${error.message}).`;
    const res = this.o.res;
    // What arrived before the break goes out before the error event.
    this.relayPending?.();
    if (this.result.stream && !res.writableEnded && !res.destroyed) {
      const translate = this.o.translate;
      res.end(translate ? translate.streamError(message) : `data: ${JSON.stringify(new GatewayError(502, message, "upstream_broke_off").toBody())}\n\n`);
    } else {
      res.destroy();
    }
    this.settle("error", message);
  }

  private sendError(error: GatewayError): void {
    this.sendJson(error.status, error.toBody());
  }

  /** Sends an error in the client's API's shape. */
  private sendJson(status: number, body: OpenAiErrorBody): void {
    this.sendBody(status, this.o.translate ? this.o.translate.error(status, body) : body);
  }

  private sendBody(status: number, body: unknown): void {
    const res = this.o.res;
    this.result.httpStatus = status;
    if (res.headersSent || res.destroyed) return;
    const text = JSON.stringify(body);
    res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text) });
    res.end(text);
  }

  private onResponse(response: http.IncomingMessage): void {
    this.response = response;
    this.lastActivity = performance.now();
    const status = response.statusCode ?? 502;
    const contentType = response.headers["content-type"] ?? "";
    response.once("error", (error) => {
      if (!this.settled) this.failMidway(error);
    });
    response.once("close", () => {
      if (!this.settled && !response.complete) this.failMidway(new Error("connection closed"));
    });
    if (status >= 400) this.relayError(response, status);
    else if (contentType.startsWith("text/event-stream")) {
      if (this.o.translate) this.relayTranslatedStream(response, status, this.o.translate);
      else this.relayStream(response, status, contentType);
    } else if (this.o.translate) this.relayTranslatedBody(response, status, this.o.translate);
    else this.relayPlain(response, status);
  }

  /** Pauses the upstream while the client cannot take more. */
  private write(bytes: Buffer): void {
    if (this.o.res.write(bytes) || this.paused) return;
    this.paused = true;
    this.response?.pause();
    this.o.res.once("drain", () => {
      this.paused = false;
      this.response?.resume();
    });
  }

  private relayStream(response: http.IncomingMessage, status: number, contentType: string): void {
    const res = this.o.res;
    this.result.stream = true;
    this.result.httpStatus = status;
    res.writeHead(status, { "content-type": contentType, "cache-control": "no-cache", "x-accel-buffering": "no" });
    res.socket?.setNoDelay(true);
    const meter = new SseStreamMeter(this.o.dropUsageOnly);
    const write = (bytes: Buffer): void => {
      this.write(bytes);
    };
    // What one read of the upstream's socket holds goes on as one write: an engine that writes
    // each event as its own HTTP chunk (20,000 a second from a fast one) is parsed into as many
    // 'data' events, all in one tick; relayed one by one, each is a write with its own chunk
    // framing here and a 'data' event in the client. SSE does not depend on where chunks end.
    let pending: Buffer[] = [];
    const relay = (): void => {
      if (pending.length === 0) return;
      if (res.writableEnded || res.destroyed) {
        pending = [];
        return;
      }
      const bytes = pending.length === 1 ? (pending[0] as Buffer) : Buffer.concat(pending);
      pending = [];
      const now = this.lastActivity;
      if (this.o.dropUsageOnly) meter.push(bytes, now, write);
      else {
        // Relay first, meter after: metering never delays a byte.
        this.write(bytes);
        meter.push(bytes, now);
      }
    };
    this.relayPending = relay;
    response.on("data", (chunk: Buffer) => {
      this.lastActivity = performance.now();
      if (pending.push(chunk) === 1) process.nextTick(relay);
    });
    response.once("end", () => {
      relay();
      meter.end(performance.now(), write);
      res.end();
      this.takeMeter(meter);
      if (meter.error !== undefined) this.settle("error", `the model server sent an error event: ${meter.error}`);
      else this.settle("ok");
    });
  }

  /** A stream in another API: the meter reads the upstream's events, the client gets them translated one by one. */
  private relayTranslatedStream(response: http.IncomingMessage, status: number, translate: AnswerTranslator): void {
    const res = this.o.res;
    this.result.stream = true;
    this.result.httpStatus = status;
    res.writeHead(status, { "content-type": translate.streamContentType, "cache-control": "no-cache", "x-accel-buffering": "no" });
    res.socket?.setNoDelay(true);
    const meter = new SseStreamMeter(false);
    const reader = new SseDataReader();
    const emit = (payloads: string[]): void => {
      let out = "";
      for (const payload of payloads) out += translate.streamEvent(payload);
      if (out !== "") this.write(Buffer.from(out));
    };
    response.on("data", (chunk: Buffer) => {
      emit(reader.push(chunk));
      meter.push(chunk, (this.lastActivity = performance.now()));
    });
    response.once("end", () => {
      emit(reader.end());
      meter.end(performance.now());
      res.end(meter.error === undefined ? translate.streamEnd() : "");
      this.takeMeter(meter);
      if (meter.error !== undefined) this.settle("error", `the model server sent an error event: ${meter.error}`);
      else this.settle("ok");
    });
  }

  /** A JSON answer in another API: read whole (answers are small), translated, sent. */
  private relayTranslatedBody(response: http.IncomingMessage, status: number, translate: AnswerTranslator): void {
    const chunks: Buffer[] = [];
    let bytes = 0;
    response.on("data", (chunk: Buffer) => {
      this.lastActivity = performance.now();
      bytes += chunk.length;
      if (bytes <= MAX_USAGE_BODY_BYTES) chunks.push(chunk);
    });
    response.once("end", () => {
      let json: unknown;
      try {
        json = bytes <= MAX_USAGE_BODY_BYTES ? JSON.parse(Buffer.concat(chunks).toString("utf8")) : undefined;
      } catch {
        json = undefined;
      }
      if (json === undefined) {
        this.sendError(new GatewayError(502, `The model server of ${this.o.describe} answered with a body that is not JSON.`, "upstream_bad_answer"));
        this.settle("error", "unreadable upstream answer");
        return;
      }
      const usage = usageIn(json);
      if (usage !== undefined) this.result.usage = usage;
      this.sendBody(status, translate.body(json));
      this.settle("ok");
    });
  }

  private takeMeter(meter: SseStreamMeter): void {
    if (meter.firstTokenAt !== undefined) this.result.firstTokenAt = meter.firstTokenAt;
    if (meter.lastTokenAt !== undefined) this.result.lastTokenAt = meter.lastTokenAt;
    this.result.tokenEvents = meter.tokenEvents;
    if (meter.usage !== undefined) this.result.usage = meter.usage;
  }

  private relayPlain(response: http.IncomingMessage, status: number): void {
    const res = this.o.res;
    this.result.httpStatus = status;
    const headers: http.OutgoingHttpHeaders = {};
    for (const name of RELAYED_HEADERS) {
      const value = response.headers[name];
      if (value !== undefined) headers[name] = value;
    }
    res.writeHead(status, headers);
    const declared = Number(response.headers["content-length"] ?? "0");
    let kept: Buffer[] | undefined =
      this.o.meterUsage && /json/i.test(response.headers["content-type"] ?? "") && declared <= MAX_USAGE_BODY_BYTES ? [] : undefined;
    let keptBytes = 0;
    response.on("data", (chunk: Buffer) => {
      this.write(chunk);
      this.lastActivity = performance.now();
      if (kept === undefined) return;
      keptBytes += chunk.length;
      if (keptBytes > MAX_USAGE_BODY_BYTES) kept = undefined;
      else kept.push(chunk);
    });
    response.once("end", () => {
      res.end();
      if (kept !== undefined) {
        const usage = usageOf(Buffer.concat(kept, keptBytes));
        if (usage !== undefined) this.result.usage = usage;
      }
      this.settle("ok");
    });
  }

  /** Relays an upstream error in OpenAI's shape, whatever shape the server used. */
  private relayError(response: http.IncomingMessage, status: number): void {
    const chunks: Buffer[] = [];
    let bytes = 0;
    response.on("data", (chunk: Buffer) => {
      if (bytes < MAX_ERROR_BODY_BYTES) chunks.push(chunk);
      bytes += chunk.length;
    });
    response.once("end", () => {
      const body = upstreamErrorBody(status, Buffer.concat(chunks).toString("utf8").slice(0, MAX_ERROR_BODY_BYTES), this.o.describe);
      if ((status === 401 || status === 403) && this.o.keyRefused !== undefined) {
        this.failOverOrSend(new GatewayError(502, this.o.keyRefused, "remote_key_refused"));
        return;
      }
      if (this.o.mayFailOver === true && (status >= 500 || status === 429)) {
        this.failOverOrSend(new GatewayError(status, body.error.message, body.error.code ?? "upstream_error", body.error.param ?? null, body.error.type === "invalid_request_error" ? "invalid_request_error" : "server_error"));
        return;
      }
      this.sendJson(status, body);
      this.settle("error", body.error.message);
    });
  }
}

function usageOf(body: Buffer): TokenUsage | undefined {
  try {
    return usageIn(JSON.parse(body.toString("utf8")));
  } catch {
    return undefined;
  }
}

/** The usage of a parsed JSON answer, when it has one. */
function usageIn(json: unknown): TokenUsage | undefined {
  const parsed = UsageCarrier.safeParse(json);
  return parsed.success ? readUsage(parsed.data.usage) : undefined;
}

/** An upstream's error answer in OpenAI's shape: kept when it already is, wrapped (FastAPI's `detail`, plain text) when not. */
export function upstreamErrorBody(status: number, text: string, describe: string): OpenAiErrorBody {
  const fallbackType = status >= 500 ? "server_error" : "invalid_request_error";
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  const openAi = OpenAiShape.safeParse(value);
  if (openAi.success) {
    const e = openAi.data.error;
    const type = e.type === "invalid_request_error" || e.type === "server_error" ? e.type : fallbackType;
    return { error: { message: e.message, type, param: e.param ?? null, code: e.code == null ? null : String(e.code) } };
  }
  let detail = text.trim();
  const other = OtherErrorShape.safeParse(value);
  if (other.success) {
    const { detail: fastApi, error, message } = other.data;
    if (typeof fastApi === "string") detail = fastApi;
    else if (fastApi !== undefined) detail = JSON.stringify(fastApi);
    else if (typeof error === "string") detail = error;
    else if (typeof message === "string") detail = message;
  }
  const message = `The model server of ${describe} answered HTTP ${status}${detail ? `: ${detail.slice(0, 1000)}` : "."}`;
  return { error: { message, type: fallbackType, param: null, code: "upstream_error" } };
}
