import type { IncomingMessage, ServerResponse } from "node:http";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import * as z from "zod";
import type { EngineId } from "../../shared/engines";
import type { Profile } from "../../shared/profiles";
import type { GatewayModel, ServerInfo, ServerState } from "../../shared/servers";
import type { EngineDescription } from "../engines/registry";
import type { Logger } from "../logging/Logger";
import type { ServerDirectory } from "../servers/ServerDirectory";
import { MultipartModelFinder, multipartBoundary, type MultipartModelField } from "./multipartModel";
import { GatewayError, modelNotFound, toGatewayError } from "./openAiError";
import { UpstreamClient, type RelayBody, type RelayResult } from "./UpstreamClient";
import type { RequestQueues, Slot } from "./RequestQueues";
import { dialectOf, errorBody } from "./dialect";
import { PromptFitter } from "./promptFit";
import { ReplicaChooser } from "./ReplicaChooser";
import type { AnswerTranslator } from "./translate/AnswerTranslator";
import { AnthropicAnswer } from "./translate/anthropicAnswer";
import { chatRequestFromMessages, CountTokensRequest, droppedServerTools, MessagesRequest } from "./translate/anthropicRequest";
import type { ChatRequestBody, TargetAbilities } from "./translate/chatBody";
import { ResponsesAnswer, type ResponseEcho } from "./translate/responsesAnswer";
import { chatRequestFromResponses, inputItems, ResponsesRequest, type ResponsesInputItem } from "./translate/responsesRequest";
import { LOCAL_OWNER, type ResponseStore } from "./ResponseStore";
import { decodeTokensPerSecond, type GatewayEndpoint, type UsageMeter, type UsageRecord } from "./UsageMeter";

/** Who a request comes from; undefined refuses it. */
export type GatewayAuthorizer = (request: FastifyRequest) => Promise<{ userId?: string } | undefined>;

export interface GatewayDeps {
  directory: ServerDirectory;
  meter: UsageMeter;
  logger: Logger;
  /** Shared mode's check; without it the manager's own token check (its onRequest hook) is the gate. */
  authorize?: GatewayAuthorizer;
  /** What the gateway asks of each engine (its tokenize route, the routes it lacks, the fields each request carries); without it prompts are estimated and bodies go as sent. */
  engines?: Readonly<Record<EngineId, Pick<EngineDescription, "tokenizePath" | "lacks" | "requestFields" | "structuredOutputProblem" | "slots">>>;
  /** Kept Responses (`store`, `previous_response_id`); without it nothing is kept and a previous id is unknown. */
  responses?: ResponseStore;
  /** Per-server queues (the engine's slots at once, the rest in order); without them every request goes at once. */
  queues?: RequestQueues;
  /** Every profile, so `/v1/models` lists stopped ones too; without it only the servers the directory knows. */
  profiles?: { list(): Profile[] };
  limits?: {
    /** JSON request bodies. Default 2 MiB. */
    jsonBodyBytes?: number;
    /** Uploads to /v1/audio/transcriptions. Default 20 MiB. */
    uploadBytes?: number;
    /** Bodies of /v1/messages and /v1/responses (images and agents' histories make them large). Default 32 MB, as Anthropic's. */
    messagesBodyBytes?: number;
    /** No byte from a model server for this long ends the request with 504. Default 10 minutes. */
    upstreamIdleMs?: number;
  };
}

export type { GatewayModel } from "../../shared/servers";

const JSON_BODY_BYTES = 2 * 1024 * 1024;
const UPLOAD_BYTES = 20 * 1024 * 1024;
const MESSAGES_BODY_BYTES = 32 * 1000 * 1000;

/** What the gateway reads of a JSON body; everything else passes through untouched. */
const JsonRequest = z.looseObject({
  model: z.string({ error: "model: name a profile (GET /v1/models lists them)." }).min(1, "model: name a profile.").max(1000),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().nullish() }).nullish(),
});

interface JsonRoute {
  endpoint: GatewayEndpoint;
  path: string;
  /** Can stream tokens: ask upstream for usage and meter the stream. */
  generates: boolean;
  /** Read `usage` from the answer (embeddings have prompt tokens); otherwise relay it untouched. */
  meterUsage: boolean;
}

const JSON_ROUTES: JsonRoute[] = [
  { endpoint: "chat.completions", path: "/chat/completions", generates: true, meterUsage: true },
  { endpoint: "completions", path: "/completions", generates: true, meterUsage: true },
  { endpoint: "embeddings", path: "/embeddings", generates: false, meterUsage: true },
  { endpoint: "images.generations", path: "/images/generations", generates: false, meterUsage: false },
];

/**
 * Mounts the OpenAI-compatible `/v1/*` gateway on the manager's Fastify instance: routes each
 * request by its `model` to a profile's server (starting it just in time), relays the answer
 * chunk by chunk and meters it. Every /v1 error is in OpenAI's shape.
 */
export function registerGatewayRoutes(app: FastifyInstance, deps: GatewayDeps): void {
  void app.register(
    async (scope) => {
      const gateway = new Gateway(deps);
      scope.addHook("onClose", async () => {
        gateway.close();
      });

      // Bodies are read by the handlers (JSON with a cap; uploads streamed through), never by Fastify.
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser("*", (_request, _payload, done) => {
        done(null);
      });

      scope.setErrorHandler(async (error: unknown, request, reply) => {
        const gatewayError = toGatewayError(error);
        if (gatewayError.status >= 500) gateway.log.error("gateway request failed", { url: request.url.split("?")[0], error: String(error) });
        if (gatewayError.status === 413) void reply.header("connection", "close");
        if (gatewayError.retryAfterSec !== undefined) void reply.header("retry-after", String(gatewayError.retryAfterSec));
        const dialect = dialectOf(request.url);
        // Anthropic's clients read "overloaded" as 529 (and retry it); OpenAI's as 503.
        const status = dialect === "anthropic" && gatewayError.status === 503 ? 529 : gatewayError.status;
        await reply.code(status).send(errorBody(dialect, gatewayError));
      });
      scope.setNotFoundHandler(async (request, reply) => {
        const path = request.url.split("?")[0] ?? "";
        const error = new GatewayError(404, `Unknown route ${request.method} ${path}. The gateway serves /v1/models, /v1/chat/completions, /v1/completions, /v1/embeddings, /v1/messages, /v1/messages/count_tokens, /v1/responses, /v1/audio/transcriptions and /v1/images/generations.`, "unknown_url");
        await reply.code(404).send(errorBody(dialectOf(request.url), error));
      });

      const authorize = deps.authorize;
      if (authorize !== undefined) {
        scope.addHook("preHandler", async (request) => {
          const who = await authorize(request);
          if (who === undefined) throw new GatewayError(401, "Missing or invalid API key: send Authorization: Bearer <your key> (or x-api-key).", "invalid_api_key");
          gateway.users.set(request, who.userId);
        });
      }

      // Anthropic's clients send anthropic-version with every request: they get Anthropic's list shape.
      scope.get("/models", async (request) => (request.headers["anthropic-version"] === undefined ? gateway.models() : anthropicModelList(gateway.models().data)));
      scope.get("/models/*", async (request) => gateway.model((request.params as { "*": string })["*"]));
      for (const route of JSON_ROUTES) {
        scope.post(route.path, async (request, reply) => {
          await gateway.relayJson(request, reply, route);
        });
      }
      scope.post("/messages", async (request, reply) => {
        await gateway.relayMessages(request, reply);
      });
      scope.post("/messages/count_tokens", async (request, reply) => gateway.countMessageTokens(request, reply));
      scope.post("/responses", async (request, reply) => {
        await gateway.relayResponses(request, reply);
      });
      scope.get("/responses/:id", async (request) => gateway.storedResponse(request).response);
      scope.get("/responses/:id/input_items", async (request) => gateway.responseInputItems(request));
      scope.delete("/responses/:id", async (request) => gateway.deleteResponse(request));
      scope.post("/audio/transcriptions", async (request, reply) => {
        await gateway.relayUpload(request, reply, "/audio/transcriptions");
      });
    },
    { prefix: "/v1" },
  );
}

interface Target {
  /** The profile the name routes to first; replicas of the same name may serve instead. */
  profile: Profile;
  /** The `model` the client named. */
  requested: string;
  /** The body can be sent again (not a streamed upload): a replica that failed before answering may hand it to the next. */
  replayable: boolean;
  endpoint: GatewayEndpoint;
  path: string;
  /** Arrival at the gateway (performance.now()) and its epoch ms. */
  t0: number;
  startedAt: number;
  meterUsage: boolean;
  dropUsageOnly: boolean;
  /** The body to send once the server's model is known. */
  /** The body to send, given the `model` the engine answers to and the fields its profile adds to every request. */
  body: (upstreamModel: string, fields: Record<string, unknown>) => RelayBody;
  /** Checks made once the server (of the replica chosen) runs, before the body is built (the prompt against its context). */
  prepare?: (server: ServerInfo, profile: Profile, signal: AbortSignal) => Promise<void>;
  /** The client speaks another API: its answer is translated. */
  translate?: AnswerTranslator;
}

class Gateway {
  readonly log: Logger;
  readonly users = new WeakMap<FastifyRequest, string | undefined>();
  private readonly upstream: UpstreamClient;
  private readonly jsonBodyBytes: number;
  private readonly uploadBytes: number;
  private readonly messagesBodyBytes: number;
  private readonly contexts: PromptFitter;
  private readonly replicas: ReplicaChooser;

  constructor(private readonly deps: GatewayDeps) {
    this.replicas = new ReplicaChooser({
      servers: () => deps.directory.list(),
      depth: (profileId) => deps.queues?.depth(profileId),
      slots: (profile) => deps.engines?.[profile.engine].slots(profile.options) ?? 1,
      ...(deps.directory.available ? { available: (profileId: string) => deps.directory.available?.(profileId) } : {}),
    });
    this.log = deps.logger.child({ part: "gateway" });
    this.upstream = new UpstreamClient(deps.limits?.upstreamIdleMs === undefined ? {} : { idleTimeoutMs: deps.limits.upstreamIdleMs });
    this.jsonBodyBytes = deps.limits?.jsonBodyBytes ?? JSON_BODY_BYTES;
    this.uploadBytes = deps.limits?.uploadBytes ?? UPLOAD_BYTES;
    this.messagesBodyBytes = deps.limits?.messagesBodyBytes ?? MESSAGES_BODY_BYTES;
    this.contexts = new PromptFitter((engine) => deps.engines?.[engine].tokenizePath, this.log);
  }

  close(): void {
    this.upstream.close();
  }

  /** `GET /v1/models`: every profile (running or not) and any other server the directory knows. */
  models(): { object: "list"; data: GatewayModel[] } {
    const servers = new Map(this.deps.directory.list().map((s) => [s.profileId, s]));
    const data: GatewayModel[] = [];
    for (const profile of this.deps.profiles?.list() ?? []) {
      data.push(modelEntry(profile.name, profile.engine, profile.createdAt, servers.get(profile.id)?.state ?? "stopped"));
      servers.delete(profile.id);
    }
    for (const server of servers.values()) data.push(modelEntry(server.profileName, server.engine, server.startedAt ?? Date.now(), server.state));
    return { object: "list", data };
  }

  /** `GET /v1/models/{model}`. */
  model(name: string): GatewayModel {
    const profile = this.deps.directory.findProfile(name);
    if (profile === undefined) throw modelNotFound(name);
    const server = this.deps.directory.list().find((s) => s.profileId === profile.id);
    return modelEntry(profile.name, profile.engine, profile.createdAt, server?.state ?? "stopped");
  }

  /** The JSON endpoints: read and check the body, route by model, rewrite model (and stream_options), relay. */
  async relayJson(request: FastifyRequest, reply: FastifyReply, route: JsonRoute): Promise<void> {
    const t0 = arrivedAt(reply);
    const startedAt = Date.now();
    const parsed = parseJsonBody(await readBody(request.raw, this.jsonBodyBytes), JsonRequest);
    const body = parsed as Record<string, unknown>;
    const { model, stream, stream_options: streamOptions } = parsed;
    const profile = this.deps.directory.findProfile(model);
    if (profile === undefined) throw modelNotFound(model);
    const lacking = this.deps.engines?.[profile.engine].lacks?.[route.endpoint];
    if (lacking !== undefined) throw new GatewayError(404, lacking, "unsupported_endpoint");
    const streaming = route.generates && stream === true;
    await this.forward(request, reply, {
      profile,
      requested: model,
      replayable: true,
      endpoint: route.endpoint,
      path: route.path,
      t0,
      startedAt,
      meterUsage: route.meterUsage,
      // Usage is always asked for upstream; a client that did not ask does not get the usage-only chunk.
      dropUsageOnly: streaming && streamOptions?.include_usage !== true,
      body: (upstreamModel, fields) => {
        // The profile's per-request fields (adapters, a default max_tokens) are for generation only.
        const out: Record<string, unknown> = { ...(route.generates ? fields : {}), ...body, model: upstreamModel };
        if (streaming) out["stream_options"] = { ...(streamOptions ?? {}), include_usage: true };
        return { kind: "buffer", bytes: Buffer.from(JSON.stringify(out)), contentType: "application/json" };
      },
    });
  }

  /** `POST /v1/messages`: Anthropic's Messages API, served as Chat Completions by the profile's engine. */
  async relayMessages(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const t0 = arrivedAt(reply);
    const startedAt = Date.now();
    const messages = parseJsonBody(await readBody(request.raw, this.messagesBodyBytes), MessagesRequest);
    const profile = this.deps.directory.findProfile(messages.model);
    if (profile === undefined) throw modelNotFound(messages.model);
    const chat = chatRequestFromMessages(messages, abilitiesOf(profile));
    const dropped = droppedServerTools(messages);
    if (dropped.length > 0) reply.raw.setHeader("mlx-manager-dropped-tools", dropped.join(", "));
    await this.relayTranslated(request, reply, { profile, requested: messages.model, endpoint: "messages", t0, startedAt, chat, streaming: messages.stream === true, translate: new AnthropicAnswer(messages.model) });
  }

  /**
   * Relays a request of another API as Chat Completions: the prompt checked against the context
   * (max_tokens lowered to what it leaves, said in a header), usage asked for, the answer translated.
   */
  private async relayTranslated(
    request: FastifyRequest,
    reply: FastifyReply,
    target: Pick<Target, "profile" | "requested" | "endpoint" | "t0" | "startedAt"> & { chat: ChatRequestBody; streaming: boolean; translate: AnswerTranslator },
  ): Promise<void> {
    const { profile, chat, streaming } = target;
    const asked = chat.max_tokens;
    await this.forward(request, reply, {
      profile,
      requested: target.requested,
      replayable: true,
      endpoint: target.endpoint,
      path: "/chat/completions",
      t0: target.t0,
      startedAt: target.startedAt,
      meterUsage: true,
      dropUsageOnly: false,
      translate: target.translate,
      prepare: async (server, replica, signal) => {
        reply.raw.removeHeader("mlx-manager-max-tokens");
        // Each replica's context decides (a failed-over request is checked again on the next one).
        if (asked === undefined) delete chat.max_tokens;
        else chat.max_tokens = asked;
        const fit = await this.contexts.fit(server, replica, chat, signal);
        if (fit.clampedFrom !== undefined) reply.raw.setHeader("mlx-manager-max-tokens", `${fit.maxTokens} (asked ${fit.clampedFrom}; context ${fit.contextSize}, prompt ${fit.promptTokens}${fit.exact ? "" : " estimated"})`);
        if (fit.maxTokens !== undefined) chat.max_tokens = fit.maxTokens;
      },
      body: (upstreamModel, fields) => {
        const out: Record<string, unknown> = { ...fields, ...chat, model: upstreamModel, stream: streaming };
        if (streaming) out["stream_options"] = { include_usage: true };
        return { kind: "buffer", bytes: Buffer.from(JSON.stringify(out)), contentType: "application/json" };
      },
    });
  }

  /** `POST /v1/messages/count_tokens`: exact where the engine can tokenize (and runs), else an estimate said as such. */
  async countMessageTokens(request: FastifyRequest, reply: FastifyReply): Promise<{ input_tokens: number }> {
    const body = parseJsonBody(await readBody(request.raw, this.messagesBodyBytes), CountTokensRequest);
    const profile = this.deps.directory.findProfile(body.model);
    if (profile === undefined) throw modelNotFound(body.model);
    const chat = chatRequestFromMessages(body, abilitiesOf(profile));
    // Counting never starts a server: a stopped one gets the estimate.
    const server = this.deps.directory.list().find((s) => s.profileId === profile.id && s.state === "running");
    const count = await this.contexts.count(server, chat, clientSignal(reply.raw).signal);
    void reply.header("mlx-manager-token-count", count.exact ? "exact" : "estimate");
    return { input_tokens: count.tokens };
  }

  /** `POST /v1/responses`: OpenAI's Responses API, served as Chat Completions by the profile's engine; kept unless `store: false`. */
  async relayResponses(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const t0 = arrivedAt(reply);
    const startedAt = Date.now();
    const body = parseJsonBody(await readBody(request.raw, this.messagesBodyBytes), ResponsesRequest);
    if (body.background === true) throw new GatewayError(400, "background: responses run while the request is open here; send the request without background (stream it to see progress).", "unsupported_parameter", "background");
    const owner = this.ownerOf(request);
    let history: ResponsesInputItem[] = [];
    if (body.previous_response_id != null) {
      const previous = this.deps.responses?.get(owner, body.previous_response_id);
      if (previous === undefined) throw responseNotFound(body.previous_response_id, "previous_response_id");
      history = [...previous.input, ...(previous.response.output as ResponsesInputItem[])];
    }
    const profile = this.deps.directory.findProfile(body.model);
    if (profile === undefined) throw modelNotFound(body.model);
    const plan = chatRequestFromResponses(body, history, abilitiesOf(profile));
    const unstructured = plan.structured === undefined ? undefined : this.deps.engines?.[profile.engine].structuredOutputProblem?.(profile.options, plan.structured);
    if (unstructured !== undefined) throw new GatewayError(400, `text.format: ${unstructured}`, "unsupported_parameter", "text.format");
    if (plan.droppedTools.length > 0) reply.raw.setHeader("mlx-manager-dropped-tools", plan.droppedTools.join(", "));
    const responses = body.store === false ? undefined : this.deps.responses;
    const input = [...history, ...inputItems(body.input)];
    const answer = new ResponsesAnswer(body.model, responseEcho(body), plan.customTools, responses === undefined ? undefined : (response) => { responses.save(owner, { response, input }); });
    await this.relayTranslated(request, reply, { profile, requested: body.model, endpoint: "responses", t0, startedAt, chat: plan.chat, streaming: body.stream === true, translate: answer });
  }

  /** `GET /v1/responses/{id}`: a kept response of the caller's. */
  storedResponse(request: FastifyRequest): { response: unknown; input: ResponsesInputItem[] } {
    const { id } = request.params as { id: string };
    const stored = this.deps.responses?.get(this.ownerOf(request), id);
    if (stored === undefined) throw responseNotFound(id, null);
    return stored;
  }

  /** `GET /v1/responses/{id}/input_items`: the input that led to it, as OpenAI lists it (newest first unless order=asc). */
  responseInputItems(request: FastifyRequest): unknown {
    const { input } = this.storedResponse(request);
    const query = z.object({ order: z.enum(["asc", "desc"]).default("desc"), limit: z.coerce.number().int().min(1).max(100).default(20), after: z.string().optional() }).safeParse(request.query);
    if (!query.success) throw new GatewayError(400, "order: asc or desc; limit: 1 to 100; after: an item id.", "invalid_value");
    const items = input.map((item, i) => ({ id: typeof item["id"] === "string" ? item["id"] : `item_${i}`, ...item }));
    const ordered = query.data.order === "desc" ? items.reverse() : items;
    const from = query.data.after === undefined ? 0 : ordered.findIndex((item) => item.id === query.data.after) + 1;
    const data = ordered.slice(from, from + query.data.limit);
    return { object: "list", data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: from + data.length < ordered.length };
  }

  /** `DELETE /v1/responses/{id}`. */
  deleteResponse(request: FastifyRequest): { id: string; object: "response"; deleted: true } {
    const { id } = request.params as { id: string };
    if (this.deps.responses?.delete(this.ownerOf(request), id) !== true) throw responseNotFound(id, null);
    return { id, object: "response", deleted: true };
  }

  /** Whose a request is: a shared-mode user, else the local owner. */
  private ownerOf(request: FastifyRequest): string {
    return this.users.get(request) ?? LOCAL_OWNER;
  }

  /** `POST /v1/audio/transcriptions`: multipart, streamed through; only the `model` field is found (and its value replaced). */
  async relayUpload(request: FastifyRequest, reply: FastifyReply, path: string): Promise<void> {
    const t0 = arrivedAt(reply);
    const startedAt = Date.now();
    const contentType = request.headers["content-type"];
    const boundary = multipartBoundary(contentType);
    if (boundary === undefined || contentType === undefined) throw new GatewayError(400, "Send the upload as multipart/form-data with a boundary.", "invalid_content_type");
    const declared = declaredLength(request.raw);
    if (declared !== undefined && declared > this.uploadBytes) throw tooLarge(this.uploadBytes);
    const head = await findModelField(request.raw, new MultipartModelFinder(boundary), this.uploadBytes);
    if (head.field === "absent") throw new GatewayError(400, "The form has no model field: add model=<profile name>.", "missing_model", "model");
    const field = head.field;
    const profile = this.deps.directory.findProfile(field.model);
    if (profile === undefined) throw modelNotFound(field.model);
    await this.forward(request, reply, {
      profile,
      requested: field.model,
      // The upload is streamed through as it arrives: it cannot be sent to a second replica.
      replayable: false,
      endpoint: "audio.transcriptions",
      path,
      t0,
      startedAt,
      meterUsage: false,
      dropUsageOnly: false,
      body: (upstreamModel) => {
        const received = Buffer.concat(head.chunks);
        const model = Buffer.from(upstreamModel);
        return {
          kind: "stream",
          head: [received.subarray(0, field.valueStart), model, received.subarray(field.valueEnd)],
          rest: head.ended ? undefined : request.raw,
          contentType,
          length: declared === undefined ? undefined : declared - (field.valueEnd - field.valueStart) + model.length,
          restLimit: this.uploadBytes - received.length,
        };
      },
    });
  }

  /**
   * Serves the request from the replica with the shortest queue of those the name routes to (one
   * profile, or several sharing the name): starts its server if needed, waits for a slot, relays,
   * and records the request. A replica that fails before the client got a byte hands the request to
   * the next (a stream that has begun is never replayed) and cools down.
   */
  private async forward(request: FastifyRequest, reply: FastifyReply, target: Target): Promise<void> {
    const named = this.deps.directory.replicasOf?.(target.requested) ?? [];
    // The profile the request was checked against is always among them.
    const replicas = this.replicas.order(named.some((p) => p.id === target.profile.id) ? named : [target.profile, ...named]);
    const client = clientSignal(reply.raw);
    const failedOver: string[] = [];
    // Set from inside attempt(): an object, so the flow analysis does not fix it at false.
    const taken = { over: false };
    for (let i = 0; i < replicas.length; i++) {
      const profile = replicas[i] ?? target.profile;
      const last = i === replicas.length - 1 || client.signal.aborted;
      let outcome: "done" | "next";
      try {
        outcome = await this.attempt(request, reply, target, profile, { client, mayFailOver: !last, failedOver, hijack: () => { taken.over = true; }, replicated: replicas.length > 1 });
      } catch (error) {
        if (!taken.over) throw error;
        // An earlier replica took the reply over from Fastify: its error handler cannot answer now.
        this.sendError(request, reply, toGatewayError(error));
        return;
      }
      if (outcome === "done") return;
      failedOver.push(profile.name);
    }
  }

  /** One replica's try: "next" when it failed before answering and another may take the request. */
  private async attempt(
    request: FastifyRequest,
    reply: FastifyReply,
    target: Target,
    profile: Profile,
    how: { client: AbortController; mayFailOver: boolean; failedOver: string[]; hijack: () => void; replicated: boolean },
  ): Promise<"done" | "next"> {
    const { directory, meter, queues } = this.deps;
    const { client } = how;
    const mayFailOver = how.mayFailOver && target.replayable;
    directory.noteActivity(profile.id);
    meter.begin(profile.id, profile.name);
    // Counted from here: a server with a request on its way is not stopped to make room.
    const arrived = queues?.arrive(profile.id);
    let slot: Slot | undefined;
    let startupMs = 0;
    let result: RelayResult | undefined;
    let failure: GatewayError | undefined;
    /** Handed to the next replica: `down` (it failed: it cools down, a remote backend is probed) or `busy` (its queue or its own limit). */
    let handedOver: "down" | "busy" | undefined;
    const attemptT0 = performance.now();
    const handOver = (error: unknown, why: "down" | "busy"): "next" => {
      failure = toGatewayError(error);
      handedOver = why;
      return "next";
    };
    const clientLeftWhile = (what: string): void => {
      result = { status: "aborted", httpStatus: 499, stream: false, tokenEvents: 0, error: `the client disconnected while ${what}` };
      reply.hijack();
      how.hijack();
    };
    try {
      const startWait = performance.now();
      const wasRunning = directory.list().some((s) => s.profileId === profile.id && s.state === "running");
      let server: ServerInfo;
      try {
        server = await directory.ensureRunning(profile.id, client.signal, this.users.get(request) === undefined ? "owner" : "teammate");
      } catch (error) {
        if (client.signal.aborted) {
          clientLeftWhile("the server started");
          return "done";
        }
        if (mayFailOver) return handOver(error, "down");
        throw error;
      }
      startupMs = wasRunning ? 0 : performance.now() - startWait;
      await target.prepare?.(server, profile, client.signal);
      if (queues !== undefined) {
        // From here it is counted as waiting (or answered): acquire takes its place at once.
        arrived?.();
        try {
          slot = await queues.acquire(profile.id, this.deps.engines?.[profile.engine].slots(profile.options) ?? 1, client.signal);
        } catch (error) {
          if (client.signal.aborted) {
            clientLeftWhile("it waited for its turn");
            return "done";
          }
          if (mayFailOver) return handOver(error, "busy");
          throw error;
        }
      }
      const upstreamModel = directory.upstreamModel(profile.id);
      const access = directory.accessOf?.(profile.id);
      // Which replica answers (the next one's name replaces it after a failover); encoded: names may be any letters.
      if (how.replicated) reply.raw.setHeader("mlx-manager-replica", encodeURIComponent(profile.name));
      reply.hijack();
      how.hijack();
      result = await this.upstream.relay({
        // A remote backend's key goes only to its own URL, whatever a server entry says.
        baseUrl: access?.url ?? server.upstreamUrl,
        upstream: { profileId: profile.id, process: access?.generation ?? `${server.pid ?? "?"}@${server.startedAt ?? "?"}` },
        path: `/v1${target.path}`,
        body: target.body(upstreamModel, this.deps.engines?.[profile.engine].requestFields?.(profile.options) ?? {}),
        res: reply.raw,
        signal: client.signal,
        meterUsage: target.meterUsage,
        dropUsageOnly: target.dropUsageOnly,
        describe: `profile "${profile.name}" (${server.remote === undefined ? `${server.engine} at ${server.upstreamUrl}` : `remote backend "${server.remote.backendName}" at ${server.upstreamUrl}`})`,
        mayFailOver,
        ...(access?.authorization === undefined ? {} : { authorization: access.authorization }),
        ...(access?.pin === undefined ? {} : { pin: access.pin }),
        ...(server.remote === undefined ? {} : { keyRefused: `Remote backend "${server.remote.backendName}" (${server.upstreamUrl}) refused this manager's key for it. Set a valid key: MLX: Set Remote Backend Key, or \`mlx-manager remotes set-key ${server.remote.backendName}\`.` }),
        ...(target.translate ? { translate: target.translate } : {}),
      });
      if (result.failedOver !== undefined) return handOver(result.failedOver, result.failedOver.status === 429 ? "busy" : "down");
      if (result.status === "error" && (result.stream || result.httpStatus === 502 || result.httpStatus === 504)) {
        // It broke off, or did not answer with nothing to fail over to: the next requests prefer the others.
        this.replicas.failed(profile.id);
        directory.reportFailure?.(profile.id, result.error ?? "failed");
      } else if (result.status === "ok") this.replicas.succeeded(profile.id);
      return "done";
    } catch (error) {
      failure = toGatewayError(error);
      if (failure.status >= 500) this.log.warn("could not serve a request", { profile: profile.name, error: failure.message });
      throw failure;
    } finally {
      slot?.release();
      arrived?.();
      directory.noteActivity(profile.id);
      const record = this.usageRecord(request, target, profile, startupMs, slot?.waitedMs, result, failure);
      if (how.replicated) record.requestedModel = target.requested;
      if (how.failedOver.length > 0) record.failedOver = [...how.failedOver];
      if (handedOver !== undefined && failure !== undefined) {
        // Nothing reached the client: the next replica takes it. This attempt counts as this
        // replica's error, timed from its own start (the client's request is the next one's record).
        record.durationMs = performance.now() - attemptT0;
        record.error = `${failure.message} (handed to the next replica)`;
        if (handedOver === "down") {
          this.replicas.failed(profile.id);
          directory.reportFailure?.(profile.id, failure.message);
        }
        this.log.warn("a replica could not take a request; trying the next", { profile: profile.name, why: handedOver, error: failure.message });
      }
      meter.record(record);
    }
  }

  /** An error for a reply already taken over from Fastify (the error handler's shape and status). */
  private sendError(request: FastifyRequest, reply: FastifyReply, error: GatewayError): void {
    const res = reply.raw;
    if (res.headersSent || res.destroyed) return;
    const dialect = dialectOf(request.url);
    const status = dialect === "anthropic" && error.status === 503 ? 529 : error.status;
    const text = JSON.stringify(errorBody(dialect, error));
    res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text), ...(error.retryAfterSec === undefined ? {} : { "retry-after": String(error.retryAfterSec) }) });
    res.end(text);
  }

  private usageRecord(request: FastifyRequest, target: Target, profile: Profile, startupMs: number, queueMs: number | undefined, result: RelayResult | undefined, failure: GatewayError | undefined): UsageRecord {
    const record: UsageRecord = {
      profileId: profile.id,
      profileName: profile.name,
      endpoint: target.endpoint,
      stream: result?.stream ?? false,
      status: result?.status ?? "error",
      httpStatus: result?.httpStatus ?? failure?.status ?? 500,
      startedAt: target.startedAt,
      durationMs: performance.now() - target.t0,
      startupMs,
      tokenSource: "none",
    };
    if (queueMs !== undefined) record.queueMs = queueMs;
    const requestId = request.headers["x-request-id"];
    if (typeof requestId === "string" && requestId.length > 0 && requestId.length <= 128) record.requestId = requestId;
    const userId = this.users.get(request);
    if (userId !== undefined) record.userId = userId;
    const error = result?.error ?? failure?.message;
    if (error !== undefined) record.error = error;
    if (result === undefined) return record;
    if (result.sentAt !== undefined && result.firstTokenAt !== undefined) record.ttftMs = result.firstTokenAt - result.sentAt;
    if (result.firstTokenAt !== undefined) record.firstTokenMs = result.firstTokenAt - target.t0;
    if (result.usage?.promptTokens !== undefined) record.promptTokens = result.usage.promptTokens;
    if (result.usage?.completionTokens !== undefined) {
      record.completionTokens = result.usage.completionTokens;
      record.tokenSource = "usage";
    } else if (result.stream && result.tokenEvents > 0) {
      record.completionTokens = result.tokenEvents;
      record.tokenSource = "counted";
    }
    const tokensPerSecond = decodeTokensPerSecond(record.completionTokens, result.firstTokenAt, result.lastTokenAt);
    if (tokensPerSecond !== undefined) record.tokensPerSecond = tokensPerSecond;
    return record;
  }
}

/**
 * When the request reached the gateway (performance.now()): Fastify's start of the reply, before
 * the body was read and parsed, so a client's time to first token and the meter's differ only by
 * the network.
 */
function arrivedAt(reply: FastifyReply): number {
  return performance.now() - reply.elapsedTime;
}

/** A JSON object body checked against `schema`; every failure is a 400 naming the field. */
function parseJsonBody<S extends z.ZodType>(bytes: Buffer, schema: S): z.output<S> {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString("utf8"));
  } catch (error) {
    throw new GatewayError(400, `The body is not valid JSON (${error instanceof Error ? error.message : "parse error"}).`, "invalid_json");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new GatewayError(400, "The body must be a JSON object.", "invalid_json");
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const param = issue?.path.map(String).join(".") ?? "";
    const message = issue?.message ?? "Invalid request body.";
    throw new GatewayError(400, param !== "" && !message.startsWith(param) ? `${param}: ${message}` : message, "invalid_value", param === "" ? null : param);
  }
  return parsed.data;
}

/** The 404 of a response that is not there for this caller (never kept, deleted, expired, or someone else's). */
function responseNotFound(id: string, param: string | null): GatewayError {
  return new GatewayError(404, `No response with id "${id}" is kept for you: it was made with store: false, deleted, expired, or made by someone else.`, "response_not_found", param);
}

/** The request's settings a Response carries back. */
function responseEcho(body: ResponsesRequest): ResponseEcho {
  return {
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    parallel_tool_calls: body.parallel_tool_calls ?? true,
    previous_response_id: body.previous_response_id ?? null,
    temperature: body.temperature ?? null,
    top_p: body.top_p ?? null,
    tool_choice: body.tool_choice ?? "auto",
    tools: body.tools ?? [],
    text: body.text ?? { format: { type: "text" } },
    reasoning: body.reasoning ?? null,
    store: body.store !== false,
    metadata: body.metadata ?? {},
  };
}

/** What a profile's model can take from a request. */
function abilitiesOf(profile: Profile): TargetAbilities {
  return { images: profile.options.modelType === "multimodal" };
}

/** `GET /v1/models` in Anthropic's shape (its SDK's models.list). */
function anthropicModelList(models: GatewayModel[]): unknown {
  const data = models.map((m) => ({ type: "model", id: m.id, display_name: m.id, created_at: new Date(m.created * 1000).toISOString() }));
  return { data, has_more: false, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null };
}

function modelEntry(name: string, engine: string, createdMs: number, state: ServerState): GatewayModel {
  return { id: name, object: "model", created: Math.floor(createdMs / 1000), owned_by: "mlx-manager", engine, state };
}

/** Aborted when the client's connection closes before its answer is complete. */
function clientSignal(res: ServerResponse): AbortController {
  const controller = new AbortController();
  res.once("close", () => {
    if (!res.writableFinished) controller.abort(new Error("the client disconnected"));
  });
  return controller;
}

function declaredLength(req: IncomingMessage): number | undefined {
  const header = req.headers["content-length"];
  if (header === undefined || !/^\d+$/.test(header)) return undefined;
  return Number(header);
}

function tooLarge(limit: number): GatewayError {
  return new GatewayError(413, `The request body is larger than ${Math.round(limit / 1024 / 1024)} MiB.`, "payload_too_large");
}

function clientLeft(): GatewayError {
  return new GatewayError(400, "The client disconnected while sending the body.", "client_disconnected");
}

/** Reads and drops what is left of a request body. */
function drain(req: IncomingMessage): Promise<void> {
  return new Promise((resolve) => {
    req.on("data", () => undefined);
    req.once("end", resolve);
    req.once("error", () => { resolve(); });
    req.once("close", resolve);
    req.resume();
  });
}

/** Reads a request body of at most `limit` bytes. */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = declaredLength(req);
  if (declared !== undefined && declared > limit) {
    // A client still sending a body somewhat over the limit gets the 413, not a broken pipe: the
    // rest is read and dropped. One more than twice the limit is refused at once.
    if (declared > 2 * limit) return Promise.reject(tooLarge(limit));
    return drain(req).then(() => Promise.reject(tooLarge(limit)));
  }
  const chunks: Buffer[] = [];
  let size = 0;
  return readChunks(
    req,
    limit,
    (chunk) => {
      chunks.push(chunk);
      size += chunk.length;
      return undefined;
    },
    () => (chunks.length === 1 && chunks[0] !== undefined ? chunks[0] : Buffer.concat(chunks, size)),
  );
}

/** Reads an upload until its model field is complete; the rest stays unread (paused) for the relay. */
function findModelField(
  req: IncomingMessage,
  finder: MultipartModelFinder,
  limit: number,
): Promise<{ field: MultipartModelField | "absent"; chunks: Buffer[]; ended: boolean }> {
  const chunks: Buffer[] = [];
  return readChunks<{ field: MultipartModelField | "absent"; chunks: Buffer[]; ended: boolean }>(
    req,
    limit,
    (chunk) => {
      chunks.push(chunk);
      const field = finder.push(chunk);
      if (field === undefined) return undefined;
      req.pause();
      return { field, chunks, ended: false };
    },
    () => ({ field: finder.end(), chunks, ended: true }),
  );
}

/**
 * Feeds a request's body to `take` chunk by chunk (at most `limit` bytes in all) until it returns
 * a value, else resolves with `end()` when the body ends. A client that leaves first is an error.
 */
function readChunks<T>(req: IncomingMessage, limit: number, take: (chunk: Buffer) => T | undefined, end: () => T): Promise<T> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const cleanup = (): void => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      req.off("close", onClose);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        reject(tooLarge(limit));
        return;
      }
      const value = take(chunk);
      if (value === undefined) return;
      cleanup();
      resolve(value);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(end());
    };
    const onError = (): void => {
      cleanup();
      reject(clientLeft());
    };
    const onClose = (): void => {
      if (req.complete) return;
      cleanup();
      reject(clientLeft());
    };
    req.on("data", onData);
    req.once("end", onEnd);
    req.once("error", onError);
    req.once("close", onClose);
  });
}
