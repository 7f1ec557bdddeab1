import { randomInt, randomUUID } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import type * as z from "zod";
import { GenerationQueue } from "./GenerationQueue";
import {
  ScoreInputError,
  ToolsUnsupportedError,
  type AnswerFormat,
  type ChatTools,
  type GenerationInput,
  type GenerationResult,
  type Sampling,
  type TextGenerator,
} from "./LlamaTextGenerator";
import type { LlamaChatFunctionCall, LlamaChatFunctions, LlamaChatHistoryItem } from "./nodeLlamaCpp";
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
  type ToolCall,
} from "./openaiProtocol";
import type { ChatCompletionRequest, ChatMessage, CompletionRequest, FunctionTool, ToolChoice } from "./openaiSchemas";
import { answerSchema, toGbnfSchema } from "./toolSchema";

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
  /** Generations run at once (the generator's sequences); later ones wait in arrival order. Default 1. */
  parallel?: number;
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
  "/v1/embeddings": "POST",
  "/tokenize": "POST",
  "/perplexity": "POST",
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

/** The engine's OpenAI-compatible HTTP server: `parallel` generations at once, the rest first come first served. */
export class LlamaEngineServer {
  private state: EngineState = { status: "loading" };
  private readonly server: http.Server;
  /** Generations: one slot per sequence of the generator's context. */
  private readonly queue: GenerationQueue;
  /** Embeddings: their context has a single sequence, so one request at a time (beside generations). */
  private readonly embeddingQueue = new GenerationQueue(1);
  private readonly running = new Set<AbortController>();
  private readonly createdAt = Math.floor(Date.now() / 1000);
  private closing = false;
  /** Loaded after listening: zod takes ~90 ms to load, and /health must answer at once. */
  private schemas: Promise<Schemas> | undefined;

  constructor(private readonly options: LlamaEngineServerOptions) {
    this.queue = new GenerationQueue(options.parallel ?? 1);
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
    this.embeddingQueue.close(reason);
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
    if (path === "/tokenize") {
      const request = parseOr400(schemas, schemas.TokenizeRequest, body.value, res);
      if (request === undefined) return;
      const generator = this.readyGenerator(res);
      if (generator === undefined) return;
      const functions = request.tools ? toolFunctions(request.tools) : undefined;
      const promptTokens = generator.countChatTokens(chatHistory(request.messages, schemas.contentText), functions);
      record.notes.push(`prompt_tokens=${promptTokens}`);
      sendJson(res, 200, { prompt_tokens: promptTokens, context_size: generator.contextSize });
      return;
    }
    if (path === "/perplexity") {
      const request = parseOr400(schemas, schemas.PerplexityRequest, body.value, res);
      if (request === undefined) return;
      const generator = this.readyGenerator(res);
      if (generator === undefined) return;
      await this.perplexity(res, record, generator, request);
      return;
    }
    if (path === "/v1/embeddings") {
      const request = parseOr400(schemas, schemas.EmbeddingsRequest, body.value, res);
      if (request === undefined) return;
      const generator = this.readyGenerator(res);
      if (generator === undefined) return;
      await this.embeddings(res, record, generator, request);
      return;
    }
    if (path === "/v1/chat/completions") {
      const request = parseOr400(schemas, schemas.ChatCompletionRequest, body.value, res);
      if (request === undefined) return;
      const generator = this.readyGenerator(res);
      if (generator === undefined) return;
      const history = chatHistory(request.messages, schemas.contentText);
      const tools = chatTools(request.tools, request.tool_choice, request.parallel_tool_calls === true);
      if (!tools.ok) {
        sendJson(res, 400, tools.error);
        return;
      }
      const format = answerFormat(request.response_format);
      if (format !== undefined && tools.value !== undefined) {
        const message = "response_format and tools cannot go together on the llama engine (node-llama-cpp holds an answer to a grammar or to function calls, not both): send one of them, or tool_choice \"none\".";
        sendJson(res, 400, openAiError(message, { param: "response_format", code: "unsupported_parameter" }));
        return;
      }
      // A prompt the context cannot hold is refused, never cut: node-llama-cpp's context shift would
      // drop its beginning and answer as if nothing were wrong.
      const promptTokens = generator.countChatTokens(history, request.tools ? toolFunctions(request.tools) : undefined);
      if (promptTokens >= generator.contextSize) {
        sendJson(res, 400, contextExceeded(generator.contextSize, promptTokens, "messages"));
        return;
      }
      await this.generate(req, res, record, generator, {
        kind: "chat",
        input: { kind: "chat", history, ...(tools.value !== undefined ? { tools: tools.value } : {}), ...(format !== undefined ? { format } : {}) },
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
    const prompt = typeof request.prompt === "string" ? request.prompt : (request.prompt[0] ?? "");
    const promptTokens = generator.countTextTokens(prompt);
    if (promptTokens >= generator.contextSize) {
      sendJson(res, 400, contextExceeded(generator.contextSize, promptTokens, "prompt"));
      return;
    }
    await this.generate(req, res, record, generator, {
      kind: "completion",
      input: {
        kind: "completion",
        prompt,
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
    // No seed: a new one for each request, as llama-server's default (-1) does. node-llama-cpp's own
    // default is the current second, and a sequence reused within it answered the same prompt alike.
    const seed = request.seed ?? this.options.defaultSeed ?? randomInt(2 ** 32);
    const stop = request.stop ?? [];
    const sampling: Sampling = {
      // Without max_tokens a generation may run until the context is full, not for ever.
      maxTokens: maxTokens ?? contextSize,
      temperature: request.temperature ?? DEFAULT_TEMPERATURE,
      topP: request.top_p ?? DEFAULT_TOP_P,
      stop: typeof stop === "string" ? [stop] : stop,
    };
    // llama.cpp seeds are uint32; OpenAI's are any integer.
    sampling.seed = ((seed % 2 ** 32) + 2 ** 32) % 2 ** 32;
    if (request.top_k != null) sampling.topK = request.top_k;
    if (request.min_p != null) sampling.minP = request.min_p;
    if (request.presence_penalty != null) sampling.presencePenalty = request.presence_penalty;
    if (request.frequency_penalty != null) sampling.frequencyPenalty = request.frequency_penalty;
    return sampling;
  }

  /** The abort of one request: fired when its client hangs up, or by close(); release it when the request ends. */
  private requestAbort(res: http.ServerResponse): { abort: AbortController; release: () => void } {
    const abort = new AbortController();
    const onClose = (): void => {
      if (!res.writableFinished) abort.abort(new ClientDisconnected());
    };
    res.once("close", onClose);
    this.running.add(abort);
    return {
      abort,
      release: () => {
        this.running.delete(abort);
        res.off("close", onClose);
      },
    };
  }

  /** `POST /perplexity`: the text scored on a sequence of the generation queue (it waits its turn like a generation). */
  private async perplexity(
    res: http.ServerResponse,
    record: RequestRecord,
    generator: TextGenerator,
    request: import("./openaiSchemas").PerplexityRequest,
  ): Promise<void> {
    const { abort, release } = this.requestAbort(res);
    try {
      const result = await this.queue.run(abort.signal, () =>
        generator.score(request.text, { sequenceLength: request.sequence_length ?? 512, ...(request.max_tokens === undefined ? {} : { maxTokens: request.max_tokens }) }, abort.signal),
      );
      record.notes.push(`prompt_tokens=${result.tokens}`, `ppl=${result.perplexity.toFixed(3)}`);
      sendJson(res, 200, {
        object: "perplexity",
        model: this.options.modelId,
        perplexity: result.perplexity,
        standard_error: result.standardError,
        mean_nll: result.meanNll,
        tokens: result.tokens,
        scored_tokens: result.scored,
        rows: result.rows,
        sequence_length: result.sequenceLength,
        seconds: result.seconds,
      });
    } catch (error) {
      if (abort.signal.aborted) {
        if (!res.headersSent) res.statusCode = 499;
        if (!res.writableEnded) res.destroy();
        return;
      }
      if (error instanceof ScoreInputError) sendJson(res, 400, openAiError(error.message, { param: "text", code: "text_too_short" }));
      else sendJson(res, 500, openAiError(`Scoring failed: ${errorMessage(error)}`, { type: "server_error", code: "perplexity_failed" }));
    } finally {
      release();
    }
  }

  /** `POST /v1/embeddings`: one vector per input, one request at a time. */
  private async embeddings(
    res: http.ServerResponse,
    record: RequestRecord,
    generator: TextGenerator,
    request: import("./openaiSchemas").EmbeddingsRequest,
  ): Promise<void> {
    const embed = generator.embed;
    if (embed === undefined) {
      sendJson(
        res,
        501,
        openAiError(
          "This engine was started without --embedding, so it serves no embeddings. Turn on the profile's embedding option and restart the server.",
          { code: "embeddings_not_enabled" },
        ),
      );
      return;
    }
    const inputs = typeof request.input === "string" ? [request.input] : request.input;
    const { abort, release } = this.requestAbort(res);
    try {
      const { vectors, tokens } = await this.embeddingQueue.run(abort.signal, () => embed(inputs, abort.signal));
      const size = vectors[0]?.length ?? 0;
      if (request.dimensions !== undefined && request.dimensions !== size) {
        sendJson(res, 400, openAiError(`This model's embeddings have ${size} dimensions; it cannot give ${request.dimensions}.`, { param: "dimensions", code: "invalid_value" }));
        return;
      }
      record.notes.push(`inputs=${inputs.length}`, `prompt_tokens=${tokens}`);
      sendJson(res, 200, {
        object: "list",
        data: vectors.map((vector, index) => ({
          object: "embedding",
          index,
          embedding: request.encoding_format === "base64" ? Buffer.from(new Float32Array(vector).buffer).toString("base64") : vector,
        })),
        model: this.options.modelId,
        usage: { prompt_tokens: tokens, total_tokens: tokens },
      });
    } catch (error) {
      if (abort.signal.aborted) {
        if (!res.headersSent) res.statusCode = 499;
        if (!res.writableEnded) res.destroy();
        return;
      }
      sendJson(res, 500, openAiError(`Embedding failed: ${errorMessage(error)}`, { type: "server_error", code: "embedding_failed" }));
    } finally {
      release();
    }
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
    const { abort, release } = this.requestAbort(res);
    req.socket.setNoDelay(true);

    const head: ResponseHeader = {
      id: `${job.kind === "chat" ? "chatcmpl" : "cmpl"}-${randomUUID()}`,
      created: Math.floor(Date.now() / 1000),
      model: this.options.modelId,
    };
    const chunkObject = job.kind === "chat" ? "chat.completion.chunk" : "text_completion";
    const queuedAt = performance.now();
    let chunks = 0;
    const callIds: string[] = [];
    const announced = new Set<number>();
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
          (event) => {
            chunks++;
            if (event.type === "toolCall") {
              const id = (callIds[event.index] ??= toolCallId());
              const first = !announced.has(event.index);
              announced.add(event.index);
              if (!job.stream) return;
              writeEvent(
                chatChunk(
                  head,
                  {
                    tool_calls: [
                      first
                        ? { index: event.index, id, type: "function", function: { name: event.name, arguments: event.argumentsDelta } }
                        : { index: event.index, function: { arguments: event.argumentsDelta } },
                    ],
                  },
                  null,
                ),
              );
              return;
            }
            if (!job.stream) return;
            writeEvent(
              job.kind === "chat" ? chatChunk(head, { content: event.text }, null) : textChunk(head, event.text, null),
            );
          },
          abort.signal,
        );
      });
      const toolCalls: ToolCall[] = result.toolCalls.map((call, index) => ({
        id: callIds[index] ?? toolCallId(),
        type: "function",
        // A call without parameters is sent as an empty object, as OpenAI's are.
        function: { name: call.name, arguments: call.arguments === "" ? "{}" : call.arguments },
      }));
      if (toolCalls.length > 0) record.notes.push(`tool_calls=${toolCalls.length}`);
      // A call that streamed no piece (a function without parameters) is sent whole at the end.
      if (job.stream)
        toolCalls.forEach((call, index) => {
          if (!announced.has(index))
            writeEvent(chatChunk(head, { tool_calls: [{ index, id: call.id, type: "function", function: { name: call.function.name, arguments: call.function.arguments } }] }, null));
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
            ? chatChunk(head, {}, result.finishReason, result.stopSequence)
            : textChunk(head, "", result.finishReason),
        );
        if (job.includeUsage) writeEvent(usageChunk(head, chunkObject, tokens));
        writeEvent("[DONE]");
        res.end();
      } else if (job.kind === "chat") {
        sendJson(
          res,
          200,
          chatCompletion(head, result.text, result.finishReason, tokens, {
            toolCalls,
            ...(result.stopSequence !== undefined ? { stopSequence: result.stopSequence } : {}),
          }),
        );
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
      if (error instanceof ToolsUnsupportedError && !res.headersSent) {
        record.notes.push("tools_unsupported");
        sendJson(res, 400, openAiError(error.message, { param: "tool_choice", code: "tools_unsupported" }));
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
      release();
    }
  }
}

/**
 * OpenAI messages → node-llama-cpp chat history, ending with the model turn to generate. An
 * assistant's tool calls become function calls in its turn, each with the result the `tool`
 * message of its id brought back (the template renders both).
 */
function chatHistory(
  messages: readonly ChatMessage[],
  contentText: (content: ChatMessage["content"]) => string,
): LlamaChatHistoryItem[] {
  const results = new Map<string, string>();
  for (const message of messages) if (message.role === "tool") results.set(message.tool_call_id, contentText(message.content));
  const history: LlamaChatHistoryItem[] = [];
  for (const message of messages) {
    const text = contentText(message.content);
    switch (message.role) {
      case "system":
      case "developer":
        history.push({ type: "system", text });
        break;
      case "user":
        history.push({ type: "user", text });
        break;
      case "assistant": {
        const response: (string | LlamaChatFunctionCall)[] = text === "" ? [] : [text];
        (message.tool_calls ?? []).forEach((call, index) => {
          response.push({
            type: "functionCall",
            name: call.function.name,
            params: parseArguments(call.function.arguments),
            result: results.get(call.id) ?? "",
            ...(index === 0 ? { startsNewChunk: true } : {}),
          });
        });
        history.push({ type: "model", response });
        break;
      }
      case "tool":
        // Rendered with the call it answers.
        break;
    }
  }
  // A trailing assistant message is a prefix the model continues; otherwise it answers afresh.
  const last = history.at(-1);
  if (last?.type !== "model" || last.response.some((item) => typeof item !== "string"))
    history.push({ type: "model", response: [] });
  return history;
}

/** An id for a tool call, in OpenAI's `call_…` style. */
function toolCallId(): string {
  return `call_${randomUUID().replaceAll("-", "").slice(0, 24)}`;
}

/** A call's arguments as the template renders them: the parsed JSON, or the text when it is not JSON. */
function parseArguments(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** What `response_format` asks of an answer (none for text). */
function answerFormat(format: ChatCompletionRequest["response_format"]): AnswerFormat | undefined {
  if (format == null || format.type === "text") return undefined;
  if (format.type === "json_object") return { type: "json_object" };
  return { type: "json_schema", schema: answerSchema(format.json_schema.schema ?? { type: "object" }) };
}

/** The tools of a request as node-llama-cpp's functions. */
function toolFunctions(tools: readonly FunctionTool[]): LlamaChatFunctions {
  const functions: Record<string, { description?: string; params?: Readonly<Record<string, unknown>> }> = {};
  for (const tool of tools) {
    const params = toGbnfSchema(tool.function.parameters);
    functions[tool.function.name] = {
      ...(tool.function.description !== undefined ? { description: tool.function.description } : {}),
      ...(params !== undefined ? { params } : {}),
    };
  }
  return functions;
}

/** What `tools` and `tool_choice` ask of a generation (none when there are no tools or the choice is "none"). */
function chatTools(
  tools: readonly FunctionTool[] | null | undefined,
  choice: ToolChoice | null | undefined,
  parallel: boolean,
): { ok: true; value: ChatTools | undefined } | { ok: false; error: OpenAiError } {
  if (!tools || tools.length === 0) {
    if (choice != null && choice !== "none" && choice !== "auto")
      return { ok: false, error: openAiError("tool_choice needs tools: the request has none.", { param: "tool_choice", code: "invalid_value" }) };
    return { ok: true, value: undefined };
  }
  if (choice === "none") return { ok: true, value: undefined };
  if (typeof choice === "object" && choice !== null) {
    const named = tools.find((tool) => tool.function.name === choice.function.name);
    if (named === undefined)
      return {
        ok: false,
        error: openAiError(`tool_choice names "${choice.function.name}", which is not one of the request's tools.`, {
          param: "tool_choice",
          code: "invalid_value",
        }),
      };
    return { ok: true, value: { functions: toolFunctions([named]), force: true, parallel } };
  }
  return { ok: true, value: { functions: toolFunctions(tools), force: choice === "required", parallel } };
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

/** How much of a body too large is read and dropped before answering 413, and for how long at most. */
const DRAIN_LIMIT_BYTES = 16 * 1024 * 1024;
const DRAIN_MS = 2000;

/** Reads and parses a JSON body of at most MAX_BODY_BYTES. */
async function readJsonBody(req: http.IncomingMessage): Promise<BodyResult> {
  const tooLarge: BodyResult = {
    ok: false,
    status: 413,
    error: openAiError(`Request body is larger than ${MAX_BODY_BYTES} bytes.`, { code: "payload_too_large" }),
  };
  // A body too large is still read to its end (up to DRAIN_LIMIT_BYTES, or DRAIN_MS) and dropped
  // before the 413 goes out: a connection closed while the client still writes makes it fail with
  // EPIPE before it reads the answer. Events rather than for-await: leaving a for-await loop early
  // destroys the socket.
  const declared = Number(req.headers["content-length"] ?? "0");
  const raw = await new Promise<Buffer | undefined>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = declared > MAX_BODY_BYTES ? MAX_BODY_BYTES + 1 : 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const giveUp = (): void => {
      clearTimeout(timer);
      resolve(undefined);
    };
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
      else if (size > DRAIN_LIMIT_BYTES) giveUp();
      else timer ??= setTimeout(giveUp, DRAIN_MS);
    });
    req.once("end", () => {
      clearTimeout(timer);
      resolve(size > MAX_BODY_BYTES ? undefined : Buffer.concat(chunks));
    });
    req.once("error", reject);
    req.once("close", () => {
      clearTimeout(timer);
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

/** OpenAI's answer to a prompt longer than the model's context. */
function contextExceeded(contextSize: number, promptTokens: number, param: string): OpenAiError {
  return openAiError(`This model's maximum context length is ${contextSize} tokens. However, your ${param === "prompt" ? "prompt" : "messages"} resulted in ${promptTokens} tokens. Please reduce the length of the ${param}, or start the profile with a larger context.`, { param, code: "context_length_exceeded" });
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
