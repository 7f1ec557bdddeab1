import { randomUUID } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { z } from "zod";
import { GenerationQueue } from "./GenerationQueue";
import type { GenerationInput, GenerationResult, Sampling, TextGenerator } from "./LlamaTextGenerator";
import type { LlamaChatHistoryItem } from "./nodeLlamaCpp";
import {
  chatChunk,
  chatCompletion,
  openAiError,
  textChunk,
  textCompletion,
  usage,
  usageChunk,
  type OpenAiError,
  type ResponseHeader,
} from "./openaiProtocol";
import type { ChatCompletionRequest, ChatMessage, CompletionRequest } from "./openaiSchemas";

type Schemas = typeof import("./openaiSchemas");

/** Where the engine is in its life: it listens before the model has loaded. */
export type EngineState =
  | { status: "loading" }
  | { status: "ready"; generator: TextGenerator }
  | { status: "error"; message: string };

/** Where the engine's log lines go (stdout and stderr of the process; never prompt text). */
export interface EngineLog {
  info(line: string): void;
  error(line: string): void;
}

export interface LlamaEngineServerOptions {
  /** The id `/v1/models` lists and responses carry. */
  modelId: string;
  /** Used when a request gives no seed. */
  defaultSeed?: number;
  log: EngineLog;
}

const MAX_BODY_BYTES = 1024 * 1024;
const DEFAULT_TEMPERATURE = 0.8;
const DEFAULT_TOP_P = 0.95;
const ROUTES: Record<string, string> = {
  "/health": "GET",
  "/v1/models": "GET",
  "/v1/chat/completions": "POST",
  "/v1/completions": "POST",
};

class ClientDisconnected extends Error {
  constructor() {
    super("client disconnected");
  }
}

class ShuttingDown extends Error {
  constructor() {
    super("server shutting down");
  }
}

/** What one request did, for its log line. */
interface RequestRecord {
  notes: string[];
}

/** The engine's OpenAI-compatible HTTP server: one generation at a time, first come first served. */
export class LlamaEngineServer {
  private state: EngineState = { status: "loading" };
  private readonly server: http.Server;
  private readonly queue = new GenerationQueue();
  private readonly running = new Set<AbortController>();
  private readonly createdAt = Math.floor(Date.now() / 1000);
  private closing = false;
  /** Loaded after listening: zod takes ~90 ms to load, and /health must answer at once. */
  private schemas: Promise<Schemas> | undefined;

  constructor(private readonly options: LlamaEngineServerOptions) {
    this.server = http.createServer((req, res) => {
      void this.handle(req, res);
    });
  }

  /** Starts listening; resolves with the bound address. */
  listen(host: string, port: number): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, host, () => {
        this.server.off("error", reject);
        this.schemas ??= import("./openaiSchemas");
        const address = this.server.address();
        if (address === null || typeof address === "string") reject(new Error("server has no TCP address"));
        else resolve(address);
      });
    });
  }

  setState(state: EngineState): void {
    this.state = state;
  }

  /** Stops accepting, aborts the running and queued generations, and drops connections. */
  close(): Promise<void> {
    this.closing = true;
    const reason = new ShuttingDown();
    this.queue.close(reason);
    for (const controller of this.running) controller.abort(reason);
    const closed = new Promise<void>((resolve) => {
      this.server.close(() => {
        resolve();
      });
    });
    this.server.closeAllConnections();
    return closed;
  }

  /** Answers one request and writes its log line (method, path, status, tokens, time). */
  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const started = performance.now();
    const method = req.method ?? "GET";
    const path = pathOf(req.url ?? "/");
    const record: RequestRecord = { notes: [] };
    try {
      await this.route(req, res, method, path, record);
    } catch (error) {
      this.options.log.error(`unhandled error on ${method} ${path}: ${errorMessage(error)}`);
      if (!res.headersSent)
        sendJson(res, 500, openAiError("Internal server error.", { type: "server_error" }));
      else res.end();
    } finally {
      // Health checks are polled; logging every healthy answer would drown the log.
      if (path !== "/health" || res.statusCode !== 200) {
        const ms = Math.round(performance.now() - started);
        this.options.log.info(
          `${method} ${path} ${res.statusCode} ${[...record.notes, `${ms}ms`].join(" ")}`,
        );
      }
    }
  }

  private async route(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    method: string,
    path: string,
    record: RequestRecord,
  ): Promise<void> {
    const allowed = ROUTES[path];
    if (allowed === undefined) {
      sendJson(res, 404, openAiError(`Unknown route: ${method} ${path}`, { code: "not_found" }));
      return;
    }
    if (method !== allowed && !(method === "HEAD" && allowed === "GET")) {
      res.setHeader("Allow", allowed);
      sendJson(
        res,
        405,
        openAiError(`Method ${method} is not allowed on ${path}; use ${allowed}.`, {
          code: "method_not_allowed",
        }),
      );
      return;
    }
    if (path === "/health") {
      this.health(res);
      return;
    }
    if (path === "/v1/models") {
      sendJson(res, 200, {
        object: "list",
        data: [{ id: this.options.modelId, object: "model", created: this.createdAt, owned_by: "llama" }],
      });
      return;
    }

    const body = await readJsonBody(req);
    if (!body.ok) {
      if (body.status === 413) res.setHeader("Connection", "close");
      sendJson(res, body.status, body.error);
      return;
    }
    const schemas = await (this.schemas ??= import("./openaiSchemas"));
    if (path === "/v1/chat/completions") {
      const request = parseOr400(schemas, schemas.ChatCompletionRequest, body.value, res);
      if (request === undefined) return;
      const generator = this.readyGenerator(res);
      if (generator === undefined) return;
      await this.generate(req, res, record, generator, {
        kind: "chat",
        input: { kind: "chat", history: chatHistory(request.messages, schemas.contentText) },
        sampling: this.sampling(
          request,
          request.max_completion_tokens ?? request.max_tokens,
          generator.contextSize,
        ),
        stream: request.stream === true,
        includeUsage: request.stream_options?.include_usage === true,
      });
      return;
    }
    const request = parseOr400(schemas, schemas.CompletionRequest, body.value, res);
    if (request === undefined) return;
    const generator = this.readyGenerator(res);
    if (generator === undefined) return;
    await this.generate(req, res, record, generator, {
      kind: "completion",
      input: {
        kind: "completion",
        prompt: typeof request.prompt === "string" ? request.prompt : (request.prompt[0] ?? ""),
      },
      sampling: this.sampling(request, request.max_tokens, generator.contextSize),
      stream: request.stream === true,
      includeUsage: request.stream_options?.include_usage === true,
    });
  }

  private health(res: http.ServerResponse): void {
    switch (this.state.status) {
      case "loading":
        sendJson(res, 503, { status: "loading" });
        return;
      case "ready":
        sendJson(res, 200, { status: "ok" });
        return;
      case "error":
        sendJson(res, 500, { status: "error", message: this.state.message });
        return;
    }
  }

  /** The generator, or undefined after answering 503 (loading or closing) or 500 (load failed). */
  private readyGenerator(res: http.ServerResponse): TextGenerator | undefined {
    if (this.closing) {
      sendJson(
        res,
        503,
        openAiError("The engine is shutting down.", { type: "server_error", code: "shutting_down" }),
      );
      return undefined;
    }
    switch (this.state.status) {
      case "ready":
        return this.state.generator;
      case "loading":
        sendJson(
          res,
          503,
          openAiError("The model is still loading; retry when GET /health answers 200.", {
            type: "server_error",
            code: "model_loading",
          }),
        );
        return undefined;
      case "error":
        sendJson(
          res,
          500,
          openAiError(`The model failed to load: ${this.state.message}`, {
            type: "server_error",
            code: "model_load_failed",
          }),
        );
        return undefined;
    }
  }

  private sampling(
    request: ChatCompletionRequest | CompletionRequest,
    maxTokens: number | null | undefined,
    contextSize: number,
  ): Sampling {
    const seed = request.seed ?? this.options.defaultSeed;
    const stop = request.stop ?? [];
    const sampling: Sampling = {
      // Without max_tokens a generation may run until the context is full, not for ever.
      maxTokens: maxTokens ?? contextSize,
      temperature: request.temperature ?? DEFAULT_TEMPERATURE,
      topP: request.top_p ?? DEFAULT_TOP_P,
      stop: typeof stop === "string" ? [stop] : stop,
    };
    // llama.cpp seeds are uint32; OpenAI's are any integer.
    if (seed !== undefined) sampling.seed = ((seed % 2 ** 32) + 2 ** 32) % 2 ** 32;
    if (request.top_k != null) sampling.topK = request.top_k;
    if (request.min_p != null) sampling.minP = request.min_p;
    if (request.presence_penalty != null) sampling.presencePenalty = request.presence_penalty;
    if (request.frequency_penalty != null) sampling.frequencyPenalty = request.frequency_penalty;
    return sampling;
  }

  private async generate(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    record: RequestRecord,
    generator: TextGenerator,
    job: {
      kind: "chat" | "completion";
      input: GenerationInput;
      sampling: Sampling;
      stream: boolean;
      includeUsage: boolean;
    },
  ): Promise<void> {
    const abort = new AbortController();
    const onClose = (): void => {
      if (!res.writableFinished) abort.abort(new ClientDisconnected());
    };
    res.once("close", onClose);
    req.socket.setNoDelay(true);
    this.running.add(abort);

    const head: ResponseHeader = {
      id: `${job.kind === "chat" ? "chatcmpl" : "cmpl"}-${randomUUID()}`,
      created: Math.floor(Date.now() / 1000),
      model: this.options.modelId,
    };
    const chunkObject = job.kind === "chat" ? "chat.completion.chunk" : "text_completion";
    const queuedAt = performance.now();
    let chunks = 0;
    const writeEvent = (payload: object | string): void => {
      if (res.destroyed || res.writableEnded) return;
      res.write(`data: ${typeof payload === "string" ? payload : JSON.stringify(payload)}\n\n`);
    };

    try {
      const result: GenerationResult = await this.queue.run(abort.signal, async () => {
        const waited = performance.now() - queuedAt;
        if (waited >= 1) record.notes.push(`queued=${Math.round(waited)}ms`);
        if (job.stream) {
          res.writeHead(200, {
            "Content-Type": "text/event-stream; charset=utf-8",
            "Cache-Control": "no-cache",
            Connection: "keep-alive",
            "X-Accel-Buffering": "no",
          });
          if (job.kind === "chat") writeEvent(chatChunk(head, { role: "assistant", content: "" }, null));
        }
        return generator.generate(
          job.input,
          job.sampling,
          (text) => {
            chunks++;
            if (!job.stream) return;
            writeEvent(
              job.kind === "chat" ? chatChunk(head, { content: text }, null) : textChunk(head, text, null),
            );
          },
          abort.signal,
        );
      });

      const tokens = usage(result.promptTokens, result.completionTokens);
      record.notes.push(
        `prompt_tokens=${result.promptTokens}`,
        `completion_tokens=${result.completionTokens}`,
        `finish=${result.finishReason}`,
      );
      if (result.firstTokenMs !== undefined) record.notes.push(`ttft=${Math.round(result.firstTokenMs)}ms`);
      if (result.tokensPerSecond !== undefined) record.notes.push(`tps=${result.tokensPerSecond.toFixed(1)}`);
      if (job.stream) {
        writeEvent(
          job.kind === "chat"
            ? chatChunk(head, {}, result.finishReason)
            : textChunk(head, "", result.finishReason),
        );
        if (job.includeUsage) writeEvent(usageChunk(head, chunkObject, tokens));
        writeEvent("[DONE]");
        res.end();
      } else if (job.kind === "chat") {
        sendJson(res, 200, chatCompletion(head, result.text, result.finishReason, tokens));
      } else {
        sendJson(res, 200, textCompletion(head, result.text, result.finishReason, tokens));
      }
    } catch (error) {
      if (abort.signal.aborted) {
        const reason: unknown = abort.signal.reason;
        const why = reason instanceof Error ? reason.message : "aborted";
        record.notes.push(`aborted: ${why} after ${chunks} chunks`);
        // 499 (nginx's "client closed request") marks in the log a request that got no answer.
        if (!res.headersSent && reason instanceof ClientDisconnected) res.statusCode = 499;
        if (reason instanceof ShuttingDown && !res.headersSent) {
          sendJson(
            res,
            503,
            openAiError("The engine is shutting down.", { type: "server_error", code: "shutting_down" }),
          );
        } else if (!res.writableEnded) res.destroy();
        return;
      }
      const message = errorMessage(error);
      this.options.log.error(`generation failed (${head.id}): ${message}`);
      record.notes.push("generation_failed");
      const body = openAiError(`Generation failed: ${message}`, {
        type: "server_error",
        code: "generation_failed",
      });
      if (!res.headersSent) sendJson(res, 500, body);
      else {
        writeEvent(body);
        writeEvent("[DONE]");
        res.end();
      }
    } finally {
      this.running.delete(abort);
      res.off("close", onClose);
    }
  }
}

/** OpenAI messages → node-llama-cpp chat history, ending with the model turn to generate. */
function chatHistory(
  messages: readonly ChatMessage[],
  contentText: (content: ChatMessage["content"]) => string,
): LlamaChatHistoryItem[] {
  const history: LlamaChatHistoryItem[] = messages.map((message) => {
    const text = contentText(message.content);
    switch (message.role) {
      case "system":
      case "developer":
        return { type: "system", text };
      case "user":
        return { type: "user", text };
      case "assistant":
        return { type: "model", response: [text] };
    }
  });
  // A trailing assistant message is a prefix the model continues; otherwise it answers afresh.
  if (history.at(-1)?.type !== "model") history.push({ type: "model", response: [] });
  return history;
}

function parseOr400<T>(
  schemas: Schemas,
  schema: z.ZodType<T>,
  value: unknown,
  res: http.ServerResponse,
): T | undefined {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  sendJson(res, 400, schemas.validationError(parsed.error));
  return undefined;
}

type BodyResult = { ok: true; value: unknown } | { ok: false; status: 400 | 413; error: OpenAiError };

/** Reads and parses a JSON body of at most MAX_BODY_BYTES. */
async function readJsonBody(req: http.IncomingMessage): Promise<BodyResult> {
  const tooLarge: BodyResult = {
    ok: false,
    status: 413,
    error: openAiError(`Request body is larger than ${MAX_BODY_BYTES} bytes.`, { code: "payload_too_large" }),
  };
  const declared = Number(req.headers["content-length"] ?? "0");
  if (declared > MAX_BODY_BYTES) {
    req.resume();
    return tooLarge;
  }
  // Events rather than for-await: leaving a for-await loop early destroys the socket, and the
  // 413 answer must still reach the client. Extra bytes are read and dropped.
  const raw = await new Promise<Buffer | undefined>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      if (size > MAX_BODY_BYTES) return;
      size += chunk.length;
      if (size > MAX_BODY_BYTES) resolve(undefined);
      else chunks.push(chunk);
    });
    req.once("end", () => {
      resolve(Buffer.concat(chunks));
    });
    req.once("error", reject);
    req.once("close", () => {
      if (!req.complete) reject(new Error("client disconnected while sending the body"));
    });
  });
  if (raw === undefined) return tooLarge;
  try {
    const value: unknown = JSON.parse(raw.toString("utf8"));
    return { ok: true, value };
  } catch {
    return {
      ok: false,
      status: 400,
      error: openAiError("We could not parse the JSON body of your request: it is not valid JSON.", {
        code: "invalid_json",
      }),
    };
  }
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  if (res.destroyed || res.writableEnded) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": Buffer.byteLength(text),
  });
  res.end(text);
}

/** The path of a request target, without its query. */
function pathOf(target: string): string {
  try {
    return new URL(target, "http://engine").pathname;
  } catch {
    return target.split("?")[0] ?? target;
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
