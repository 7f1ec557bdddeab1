import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import * as z from "zod";
import type { DeleteModelResult, EngineList, ManagerStatus, ModelList } from "../../shared/api";
import { DeleteModelQuery } from "../../shared/api";
import type { SequencedEvent } from "../../shared/events";
import type { EngineDescription } from "../engines/registry";
import { engineInfo } from "../engines/registry";
import type { EventBus } from "../events/EventBus";
import type { Logger } from "../logging/Logger";
import type { ProfileService } from "../profiles/ProfileService";
import { StoreError } from "../store/StoreError";
import { ApiError, parseOrThrow } from "./ApiError";
import { bearerMatches } from "./auth";
import { dialectOf, errorBody, presentedCredential } from "../gateway/dialect";
import { GatewayError } from "../gateway/openAiError";
import { gatewayKeyMayOpen } from "./GatewayKeyStore";
import { openSseStream } from "./sse";

/** What the API needs of the model catalogue. */
export interface ModelsApi {
  list(): ModelList;
  /** The same list, serialized once per change (it is ~600 KB for 1,000 models). */
  listJson(): Buffer;
  rescan(signal?: AbortSignal): Promise<ModelList>;
  delete(id: string, revision: string | undefined): Promise<DeleteModelResult>;
}

export interface ApiDeps {
  token: string;
  /** The local gateway key: accepted on `/v1/*` only (the local token opens everything). */
  gatewayKey?: { matches(header: string | undefined): boolean };
  logger: Logger;
  events: EventBus;
  profiles: ProfileService;
  models: ModelsApi;
  engines: readonly EngineDescription[];
  status(): ManagerStatus;
  /** Asked to stop the whole manager (POST /api/shutdown). */
  shutdown(): void;
  /** SSE keep-alive interval. */
  keepAliveMs?: number;
  /** Registers more routes (servers, gateway, ...) inside the same auth hook and error handler. */
  extraRoutes?: (app: FastifyInstance) => void;
}

const MAX_BODY = 1024 * 1024;

/** Builds the manager's HTTP API on Fastify: every route authenticated, validated, one error shape. */
export function createApiServer(deps: ApiDeps): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: MAX_BODY, return503OnClosing: true, forceCloseConnections: true });
  const log = deps.logger.child({ part: "api" });

  app.addHook("onRequest", async (request, reply) => {
    const v1 = request.url === "/v1" || request.url.startsWith("/v1/");
    // /v1 clients may send the key as Anthropic's x-api-key.
    const header = v1 ? presentedCredential(request.headers) : request.headers.authorization;
    if (bearerMatches(header, deps.token)) return;
    if (deps.gatewayKey?.matches(header) === true) {
      if (gatewayKeyMayOpen(request.routeOptions.url, request.url)) return;
      await reply
        .code(403)
        .send(new ApiError(403, "forbidden", "The gateway key opens /v1 only. /api needs the local token from the data directory's token file.").toBody());
      return;
    }
    const message = "Missing or wrong token. Local clients read it from the data directory's token file.";
    const dialect = dialectOf(request.url);
    await reply
      .code(401)
      .header("www-authenticate", 'Bearer realm="mlx-manager"')
      .send(dialect === "anthropic" ? errorBody(dialect, new GatewayError(401, message, "invalid_api_key")) : new ApiError(401, "unauthorized", message).toBody());
  });

  app.setNotFoundHandler(async (request, reply) => {
    await reply.code(404).send(new ApiError(404, "not_found", `No route ${request.method} ${request.url.split("?")[0] ?? ""}. See docs/api.md.`).toBody());
  });

  app.setErrorHandler(async (error: unknown, request, reply) => {
    const apiError = toApiError(error);
    if (apiError.status >= 500) log.error("request failed", { method: request.method, url: request.url.split("?")[0], error: String(error) });
    const retryAfter = apiError.details?.["retryAfterSec"];
    if (typeof retryAfter === "number") void reply.header("retry-after", String(retryAfter));
    await reply.code(apiError.status).send(apiError.toBody());
  });

  app.get("/api/status", async () => deps.status());
  app.get("/api/engines", async (): Promise<EngineList> => ({ engines: deps.engines.map(engineInfo) }));

  app.get("/api/models", async (_request, reply) => reply.type("application/json; charset=utf-8").send(deps.models.listJson()));
  app.post("/api/models/rescan", async () => deps.models.rescan());
  app.delete("/api/models/*", async (request) => {
    const id = (request.params as { "*": string })["*"];
    const query = parseOrThrow(DeleteModelQuery, request.query, "query");
    return deps.models.delete(id, query.revision);
  });

  const byId = z.object({ id: z.string().min(1).max(200) });
  app.get("/api/profiles", async () => ({ profiles: deps.profiles.list().map((p) => deps.profiles.describe(p)) }));
  app.post("/api/profiles", async (request, reply) => reply.code(201).send(deps.profiles.create(request.body)));
  app.get("/api/profiles/export", async (request) => {
    const { ids } = parseOrThrow(z.object({ ids: z.string().max(10_000).optional() }).strict(), request.query, "query");
    return deps.profiles.export(ids?.split(",").filter(Boolean));
  });
  app.post("/api/profiles/import", async (request, reply) => reply.code(201).send(deps.profiles.import(request.body)));
  app.get("/api/profiles/:id", async (request) => deps.profiles.describe(deps.profiles.get(parseOrThrow(byId, request.params).id)));
  app.patch("/api/profiles/:id", async (request) => deps.profiles.update(parseOrThrow(byId, request.params).id, request.body));
  app.post("/api/profiles/:id/duplicate", async (request, reply) => {
    const body = parseOrThrow(z.object({ name: z.string().optional() }).strict(), request.body ?? {}, "body");
    return reply.code(201).send(deps.profiles.duplicate(parseOrThrow(byId, request.params).id, body.name));
  });
  app.delete("/api/profiles/:id", async (request) => {
    const { version } = parseOrThrow(z.object({ version: z.coerce.number().int().min(1).optional() }).strict(), request.query, "query");
    return deps.profiles.delete(parseOrThrow(byId, request.params).id, version);
  });

  app.get("/api/events", (request, reply) => {
    streamEvents(request, reply, deps.events, deps.keepAliveMs ?? 15_000);
  });

  app.post("/api/shutdown", async (_request, reply) => {
    await reply.code(202).send({ stopping: true });
    setImmediate(() => { deps.shutdown(); });
  });

  deps.extraRoutes?.(app);
  return app;
}

/** `GET /api/events`: SSE with ids; replays what a reconnecting client missed, or asks it to resync. */
function streamEvents(request: FastifyRequest, reply: FastifyReply, events: EventBus, keepAliveMs: number): void {
  const header = request.headers["last-event-id"];
  const queryId = (request.query as Record<string, unknown>)["lastEventId"];
  const lastIdText = typeof header === "string" ? header : typeof queryId === "string" ? queryId : undefined;
  const lastId = lastIdText !== undefined && /^\d+$/.test(lastIdText) ? Number(lastIdText) : undefined;

  const res = openSseStream(reply);
  const send = (event: SequencedEvent): void => {
    res.write(`id: ${event.id}\ndata: ${JSON.stringify({ type: event.type, data: event.data })}\n\n`);
  };
  res.write(`retry: 2000\n: connected, current id ${events.currentId}\n\n`);
  if (lastId !== undefined) {
    const missed = events.since(lastId);
    if (missed === undefined) send({ id: events.currentId, type: "resync", data: { reason: "too far behind: refetch the state" } });
    else missed.forEach(send);
  }
  const unsubscribe = events.subscribe(send);
  const keepAlive = setInterval(() => res.write(": keep-alive\n\n"), keepAliveMs);
  keepAlive.unref();
  const close = (): void => {
    clearInterval(keepAlive);
    unsubscribe();
  };
  res.on("close", close);
  res.on("error", close);
}

/** Any thrown error as the API's error (unknown ones become a 500 that tells where to look). */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  const e = error as { statusCode?: number; code?: string; message?: string };
  if (e.code === "FST_ERR_CTP_BODY_TOO_LARGE") return new ApiError(413, "payload_too_large", `The request body is over ${MAX_BODY} bytes.`);
  if (e.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE") return new ApiError(415, "bad_request", "Send JSON with content-type: application/json.");
  if (e.code === "FST_ERR_CTP_EMPTY_JSON_BODY") return new ApiError(400, "invalid_json", "The body is empty; send a JSON object.");
  if (error instanceof SyntaxError || e.code === "FST_ERR_CTP_INVALID_JSON_BODY") {
    return new ApiError(400, "invalid_json", `The body is not valid JSON: ${e.message ?? "parse error"}.`);
  }
  // A full disk is the user's to fix; the store's message says which file and what to do.
  if (error instanceof StoreError && error.code === "disk_full") return new ApiError(507, "disk_full", error.message);
  if (typeof e.statusCode === "number" && e.statusCode >= 400 && e.statusCode < 500) {
    return new ApiError(e.statusCode, "bad_request", e.message ?? "Bad request.");
  }
  return new ApiError(500, "internal", "The manager hit an unexpected error; details are in its log (mlx-manager status shows where).");
}
