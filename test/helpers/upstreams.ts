// Fake OpenAI-compatible model servers for the gateway's tests and benchmark, and a fake
// ServerDirectory pointing at them. Real HTTP on loopback; the fakes stream in the shapes the
// real engines use (ENGINES.md): usage as an extra `choices: []` chunk only when asked (mlx_lm,
// llama-server, our llama engine), or on the last chunk always (mlx-openai-server).
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import Fastify, { type FastifyInstance } from "fastify";
import { ApiError } from "../../src/services/api/ApiError";
import { bearerMatches } from "../../src/services/api/auth";
import { registerGatewayRoutes, type GatewayDeps } from "../../src/services/gateway/gatewayRoutes";
import type { ServerDirectory } from "../../src/services/servers/ServerDirectory";
import type { RemoteAccess } from "../../src/services/remotes/remoteHttp";
import type { EngineId } from "../../src/shared/engines";
import type { Profile } from "../../src/shared/profiles";
import type { ServerInfo } from "../../src/shared/servers";

/** Milliseconds on the machine's monotonic clock (CLOCK_MONOTONIC): comparable across processes. */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint() / 1000n) / 1000;
}

/**
 * How a stream reports usage: "separate" = an extra `choices: []` chunk before [DONE], only when
 * the request asked (stream_options.include_usage); "final" = on the finish chunk, always;
 * "none" = never.
 */
export type UsageShape = "separate" | "final" | "none";

export interface FakeUpstreamOptions {
  /** "paced": one token chunk every intervalMs, stamped with its send time (`sent_at`, monotonicMs); "fast": pre-recorded chunks as fast as the socket takes them. */
  pace: "paced" | "fast";
  /** Paced: ms between chunks. Default 5. */
  intervalMs?: number;
  /** Token chunks per streamed answer, unless the request's max_tokens is smaller. Default 20 (paced) / 2000 (fast). */
  tokens?: number;
  /** Fast: events per socket write. Default 1 (as a real server writes them). */
  eventsPerWrite?: number;
  usage?: UsageShape;
  /** The prompt_tokens it reports. Default 7. */
  promptTokens?: number;
  /** Answer every request with this status and body instead. */
  fail?: { status: number; body: string; contentType?: string };
  /** Delay before the answer's headers (ms). */
  headerDelayMs?: number;
  /** Paced: put the send time in each token's text too (`t3@<monotonicMs> `), so it survives a translation of the stream. */
  stampInText?: boolean;
  /** Serve https with this certificate (a remote backend's self-signed one). */
  tls?: { cert: string; key: string };
  /** Answer 401 unless the request carries `Authorization: Bearer <this>` (a remote backend's key). */
  requireKey?: string;
}

/** A request the fake received, and what became of it. */
export interface ReceivedRequest {
  path: string;
  headers: http.IncomingHttpHeaders;
  /** Parsed when the body was JSON. */
  json: unknown;
  raw: Buffer;
  /** The connection closed before the whole answer was sent. */
  closedEarly: boolean;
  /** Token chunks written before it ended or closed. */
  chunksSent: number;
  finished: boolean;
}

export const PROMPT_TOKENS = 7;

/** A fake model server on 127.0.0.1. */
export class FakeUpstream {
  readonly requests: ReceivedRequest[] = [];
  private readonly sockets = new Set<import("node:net").Socket>();

  private constructor(
    private readonly server: http.Server,
    readonly options: FakeUpstreamOptions,
    private readonly fastEvents: Buffer[],
  ) {
    server.on("connection", (socket) => {
      this.sockets.add(socket);
      socket.setNoDelay(true);
      socket.once("close", () => this.sockets.delete(socket));
    });
  }

  static async start(options: FakeUpstreamOptions, port = 0): Promise<FakeUpstream> {
    const fastEvents = options.pace === "fast" ? recordedEvents(options.tokens ?? 2000) : [];
    const holder: { upstream?: FakeUpstream } = {};
    const onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
      void holder.upstream?.handle(req, res);
    };
    const server = options.tls === undefined ? http.createServer(onRequest) : https.createServer({ cert: options.tls.cert, key: options.tls.key }, onRequest);
    server.keepAliveTimeout = 60_000;
    const upstream = new FakeUpstream(server, options, fastEvents);
    holder.upstream = upstream;
    await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
    return upstream;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get url(): string {
    return `${this.options.tls === undefined ? "http" : "https"}://127.0.0.1:${this.port}`;
  }

  /** Waits until `predicate` holds (polling every 5 ms), failing after `timeoutMs`. */
  async waitFor(predicate: (requests: ReceivedRequest[]) => boolean, timeoutMs = 3000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (!predicate(this.requests)) {
      if (performance.now() > deadline) throw new Error(`condition not met in ${timeoutMs} ms; requests: ${JSON.stringify(this.requests.map((r) => ({ path: r.path, closedEarly: r.closedEarly, finished: r.finished, chunksSent: r.chunksSent })))}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => {
      this.server.close(() => {
        resolve();
      });
    });
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    let json: unknown;
    if (/json/.test(req.headers["content-type"] ?? "")) {
      try {
        json = JSON.parse(raw.toString("utf8"));
      } catch {
        json = undefined;
      }
    }
    const path = req.url ?? "/";
    const record: ReceivedRequest = { path, headers: req.headers, json, raw, closedEarly: false, chunksSent: 0, finished: false };
    this.requests.push(record);
    if (this.options.requireKey !== undefined && req.headers.authorization !== `Bearer ${this.options.requireKey}`) {
      res.writeHead(401, { "content-type": "application/json" }).end(JSON.stringify({ error: { message: "Invalid API key", type: "invalid_request_error", param: null, code: "invalid_api_key" } }));
      return;
    }
    res.once("close", () => {
      if (!res.writableFinished) record.closedEarly = true;
    });
    res.once("finish", () => {
      record.finished = true;
    });
    if (this.options.headerDelayMs !== undefined) await sleep(this.options.headerDelayMs);
    const fail = this.options.fail;
    if (fail !== undefined) {
      res.writeHead(fail.status, { "content-type": fail.contentType ?? "application/json" });
      res.end(fail.body);
      return;
    }
    if (path === "/health") {
      sendJson(res, 200, { status: "ok" });
      return;
    }
    // first_token_delay_ms is the fakes' own field (benchmarks set 0 to time the path, not the pacing timer).
    const body = (json ?? {}) as { model?: string; stream?: boolean; max_tokens?: number; stream_options?: { include_usage?: boolean }; first_token_delay_ms?: number };
    const model = body.model ?? "unknown";
    if (path === "/v1/embeddings") {
      sendJson(res, 200, { object: "list", model, data: [{ object: "embedding", index: 0, embedding: [0.1, 0.2, 0.3] }], usage: { prompt_tokens: 5, total_tokens: 5 } });
      return;
    }
    if (path === "/v1/images/generations") {
      sendJson(res, 200, { created: 1, model, data: [{ b64_json: Buffer.alloc(300_000, 7).toString("base64") }] });
      return;
    }
    if (path === "/v1/audio/transcriptions") {
      sendJson(res, 200, { text: "hello from the fake whisper", bytes: raw.length, content_type: req.headers["content-type"] ?? "" });
      return;
    }
    if (path !== "/v1/chat/completions" && path !== "/v1/completions") {
      sendJson(res, 404, { error: { message: `no route ${path}`, type: "invalid_request_error", param: null, code: "not_found" } });
      return;
    }
    const chat = path === "/v1/chat/completions";
    const tokens = Math.min(this.options.tokens ?? (this.options.pace === "fast" ? 2000 : 20), body.max_tokens ?? Number.POSITIVE_INFINITY);
    const promptTokens = this.options.promptTokens ?? PROMPT_TOKENS;
    const usage = { prompt_tokens: promptTokens, completion_tokens: tokens, total_tokens: promptTokens + tokens };
    if (body.stream !== true) {
      const text = Array.from({ length: tokens }, (_, i) => `t${i}`).join(" ");
      sendJson(res, 200, chat
        ? { id: "chatcmpl-fake", object: "chat.completion", created: 1, model, choices: [{ index: 0, message: { role: "assistant", content: text }, finish_reason: "length" }], usage }
        : { id: "cmpl-fake", object: "text_completion", created: 1, model, choices: [{ index: 0, text, finish_reason: "length" }], usage });
      return;
    }
    const shape = this.options.usage ?? "separate";
    const wantsUsage = body.stream_options?.include_usage === true;
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    const event = (payload: object): string => `data: ${JSON.stringify(payload)}\n\n`;
    const head = { id: chat ? "chatcmpl-fake" : "cmpl-fake", object: chat ? "chat.completion.chunk" : "text_completion", created: 1, model };
    const choice = (content: string, finish: string | null): object =>
      chat ? { index: 0, delta: content === "" && finish === null ? { role: "assistant", content: "" } : { content }, finish_reason: finish } : { index: 0, text: content, finish_reason: finish };
    const finishChunk = { ...head, choices: [chat ? { index: 0, delta: {}, finish_reason: "length" } : { index: 0, text: "", finish_reason: "length" }], ...(shape === "final" ? { usage } : {}) };
    const tail = event(finishChunk) + (shape === "separate" && wantsUsage ? event({ ...head, choices: [], usage }) : "") + "data: [DONE]\n\n";

    if (this.options.pace === "fast") {
      await this.writeFast(res, record, tokens, tail);
      return;
    }
    if (chat) res.write(event({ ...head, choices: [choice("", null)] }));
    const interval = this.options.intervalMs ?? 5;
    let next = performance.now() + (body.first_token_delay_ms ?? interval) - interval;
    for (let i = 0; i < tokens; i++) {
      next += interval;
      const wait = next - performance.now();
      if (wait > 0) await sleep(wait);
      if (res.destroyed) return;
      const sentAt = monotonicMs();
      res.write(event({ ...head, choices: [choice(this.options.stampInText === true ? `t${i}@${sentAt} ` : `t${i} `, null)], sent_at: sentAt, seq: i }));
      record.chunksSent++;
    }
    if (!res.destroyed) res.end(tail);
  }

  private async writeFast(res: http.ServerResponse, record: ReceivedRequest, tokens: number, tail: string): Promise<void> {
    const per = Math.max(1, this.options.eventsPerWrite ?? 1);
    const events = this.fastEvents;
    let i = 0;
    while (i < tokens) {
      if (res.destroyed) return;
      const n = Math.min(per, tokens - i);
      const piece = n === 1 ? events[i % events.length]! : Buffer.concat(Array.from({ length: n }, (_, k) => events[(i + k) % events.length]!));
      i += n;
      record.chunksSent += n;
      if (!res.write(piece)) {
        await new Promise<void>((resolve) => {
          const done = (): void => {
            res.off("drain", done);
            res.off("close", done);
            resolve();
          };
          res.once("drain", done);
          res.once("close", done);
        });
      }
    }
    if (!res.destroyed) res.end(tail);
  }
}

/** Pre-recorded chat chunks of a realistic size (~190 bytes each). */
export function recordedEvents(count: number): Buffer[] {
  const words = ["the", " model", " streams", " tokens", " quickly", ",", " and", " every", " chunk", " is", " metered", "."];
  return Array.from({ length: count }, (_, i) =>
    Buffer.from(
      `data: ${JSON.stringify({
        id: "chatcmpl-fast0000000000000000",
        object: "chat.completion.chunk",
        created: 1_700_000_000,
        model: "fast",
        system_fingerprint: "fp_fake",
        choices: [{ index: 0, delta: { content: words[i % words.length] }, logprobs: null, finish_reason: null }],
      })}\n\n`,
    ),
  );
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A stored profile as the supervisor would hand it out. */
export function fakeProfile(id: string, name: string, engine: EngineId = "llama"): Profile {
  return {
    id,
    name,
    engine,
    model: { source: "path", path: `/models/${name}` },
    port: "auto",
    options: {},
    restartOnCrash: false,
    idleTimeoutSec: 0,
    pinned: false,
    group: null,
    version: 1,
    createdAt: 1_700_000_000_000,
    updatedAt: 1_700_000_000_000,
  };
}

export interface FakeServerSpec {
  profile: Profile;
  /** The model name the engine was started with. Default: the profile's name. */
  upstreamModel?: string;
  /** A running server's URL. */
  url?: string;
  /** A remote backend's key and pinned certificate (the profile is then served as a remote one). */
  access?: RemoteAccess;
  /** For a stopped profile: starts its server (for real) and returns its URL. */
  start?: (signal: AbortSignal) => Promise<string>;
}

/** A ServerDirectory over fixed profiles pointing at real upstreams; it records what the gateway asked of it. */
export class FakeServerDirectory implements ServerDirectory {
  readonly ensureRunningCalls: string[] = [];
  readonly starts: string[] = [];
  readonly activity: string[] = [];
  private readonly urls = new Map<string, string>();

  constructor(private readonly specs: FakeServerSpec[]) {
    for (const spec of specs) if (spec.url !== undefined) this.urls.set(spec.profile.id, spec.url);
  }

  findProfile(model: string): Profile | undefined {
    const key = model.toLowerCase();
    return this.specs.find((s) => s.profile.name.toLowerCase() === key || s.profile.id === model)?.profile;
  }

  async ensureRunning(profileId: string, signal: AbortSignal): Promise<ServerInfo> {
    this.ensureRunningCalls.push(profileId);
    const spec = this.spec(profileId);
    if (!this.urls.has(profileId)) {
      if (spec.start === undefined) throw new ApiError(503, "unavailable", `The server of profile "${spec.profile.name}" failed to start: its engine exited with code 1.`);
      this.starts.push(profileId);
      const url = await spec.start(signal);
      signal.throwIfAborted();
      this.urls.set(profileId, url);
    }
    return this.info(spec);
  }

  noteActivity(profileId: string): void {
    this.activity.push(profileId);
  }

  upstreamModel(profileId: string): string {
    const spec = this.spec(profileId);
    return spec.upstreamModel ?? spec.profile.name;
  }

  list(): ServerInfo[] {
    return this.specs.map((s) => this.info(s));
  }

  isRunning(profileId: string): boolean {
    return this.urls.has(profileId);
  }

  accessOf(profileId: string): RemoteAccess | undefined {
    return this.spec(profileId).access;
  }

  private spec(profileId: string): FakeServerSpec {
    const spec = this.specs.find((s) => s.profile.id === profileId);
    if (spec === undefined) throw new Error(`no profile ${profileId}`);
    return spec;
  }

  private info(spec: FakeServerSpec): ServerInfo {
    const url = this.urls.get(spec.profile.id);
    const port = url === undefined ? 0 : Number(new URL(url).port);
    return {
      profileId: spec.profile.id,
      profileName: spec.profile.name,
      engine: spec.profile.engine,
      model: `/models/${spec.profile.name}`,
      port,
      state: url === undefined ? "stopped" : "running",
      upstreamUrl: url ?? "",
      restarts: 0,
      logFile: "/dev/null",
      adopted: false,
      command: [],
      warnings: [],
      ...(spec.access === undefined || url === undefined ? {} : { remote: { backendId: "fake", backendName: "fake backend", url, model: spec.upstreamModel ?? spec.profile.name } }),
    };
  }
}

export interface GatewayApp {
  app: FastifyInstance;
  /** e.g. http://127.0.0.1:PORT (the /v1 base is url + "/v1"). */
  url: string;
  token: string;
  close(): Promise<void>;
}

/**
 * A Fastify app built like the manager's API (same options, same bearer-token onRequest hook)
 * with the gateway mounted, listening on 127.0.0.1.
 */
export async function startGatewayApp(deps: GatewayDeps, token = "local-test-token"): Promise<GatewayApp> {
  const app = Fastify({ logger: false, bodyLimit: 1024 * 1024, return503OnClosing: true, forceCloseConnections: true });
  app.addHook("onRequest", async (request, reply) => {
    if (!bearerMatches(request.headers.authorization, token)) {
      await reply
        .code(401)
        .header("www-authenticate", 'Bearer realm="mlx-manager"')
        .send(new ApiError(401, "unauthorized", "Missing or wrong token.").toBody());
    }
  });
  registerGatewayRoutes(app, deps);
  await app.listen({ host: "127.0.0.1", port: 0 });
  const address = app.server.address() as AddressInfo;
  return {
    app,
    url: `http://127.0.0.1:${address.port}`,
    token,
    close: () => app.close(),
  };
}
