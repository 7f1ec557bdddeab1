import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import * as z from "zod";
import type { DownloadList, HubModelInfo, HubStatus } from "../../shared/hub";
import type { HubFit } from "../../shared/memory";
import { DownloadRequest, HubSearchQuery, HubTokenBody } from "../../shared/hub";
import { ApiError, parseOrThrow } from "../api/ApiError";
import type { DownloadService } from "./DownloadService";
import type { HubClient } from "./HubClient";
import { HubError } from "./HubError";

export interface HubRouteDeps {
  hub: HubClient;
  /** What a model's family needs against this machine (GET /api/hub/fit); without it the route answers 404. */
  fit?: (info: HubModelInfo, context: number | undefined, signal: AbortSignal, token: string | undefined) => Promise<HubFit>;
  downloads: DownloadService;
  /** The token handed over by the extension (memory only), with set/clear. */
  tokens: { set(token: string | undefined): void; source(): HubStatus["tokenSource"] };
}

const RepoParam = z.object({ "*": z.string().regex(/^[\w.-]+\/[\w.-]+$|^[\w.-]+$/, "a repo id like org/name") });
const InfoQuery = z.object({ revision: z.string().min(1).max(200).default("main") }).strict();
const FitQuery = z
  .object({
    repo: z.string().regex(/^[\w.-]+\/[\w.-]+$/, "a repo id like org/name"),
    revision: z.string().min(1).max(200).default("main"),
    context: z.coerce.number().int().min(128).max(10_000_000).optional(),
  })
  .strict();
const IdParam = z.object({ id: z.string().min(1).max(100) });
const CancelQuery = z.object({ discard: z.enum(["0", "1", "true", "false"]).optional() }).strict();

/** A per-request Hub token (the CLI sends HF_TOKEN this way); it wins over the manager's. */
function requestToken(request: FastifyRequest): string | undefined {
  const header = request.headers["x-hf-token"];
  return typeof header === "string" && header.trim() !== "" ? header.trim() : undefined;
}

/** Aborted when the client goes away (a newer search replaced this one). */
function clientSignal(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  reply.raw.on("close", () => {
    if (!reply.raw.writableFinished) controller.abort(new Error("client went away"));
  });
  return controller.signal;
}

function toApi(error: unknown): unknown {
  if (error instanceof HubError) return new ApiError(error.status, error.code, error.message, undefined, error.retryAfterSec === undefined ? undefined : { retryAfterSec: error.retryAfterSec });
  return error;
}

async function mapped<T>(run: () => Promise<T> | T): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw toApi(error);
  }
}

/** `/api/hub/*` (search, details, token) and `/api/downloads` (the queue). */
export function registerHubRoutes(app: FastifyInstance, deps: HubRouteDeps): void {
  app.get("/api/hub/status", async (): Promise<HubStatus> => ({ endpoint: deps.hub.endpoint, offline: deps.hub.offline, tokenSource: deps.tokens.source() }));
  app.put("/api/hub/token", async (request, reply) => {
    deps.tokens.set(parseOrThrow(HubTokenBody, request.body, "body").token);
    return reply.code(204).send();
  });
  app.delete("/api/hub/token", async (_request, reply) => {
    deps.tokens.set(undefined);
    return reply.code(204).send();
  });

  app.get("/api/hub/search", async (request, reply) => {
    const query = parseOrThrow(HubSearchQuery, request.query, "query");
    return mapped(() => deps.hub.search(query, { signal: clientSignal(reply), token: requestToken(request) }));
  });
  app.get("/api/hub/models/*", async (request, reply) => {
    const repo = parseOrThrow(RepoParam, request.params, "path")["*"];
    const { revision } = parseOrThrow(InfoQuery, request.query, "query");
    return mapped(() => deps.hub.info(repo, revision, { signal: clientSignal(reply), token: requestToken(request) }));
  });

  app.get("/api/hub/fit", async (request, reply) => {
    const { repo, revision, context } = parseOrThrow(FitQuery, request.query, "query");
    const fit = deps.fit;
    if (fit === undefined) throw new ApiError(404, "not_found", "The memory fit is not available here.");
    const signal = clientSignal(reply);
    const token = requestToken(request);
    return mapped(async () => fit(await deps.hub.info(repo, revision, { signal, token }), context, signal, token));
  });

  app.get("/api/downloads", async (): Promise<DownloadList> => ({ downloads: deps.downloads.list() }));
  app.post("/api/downloads", async (request, reply) => {
    const body = parseOrThrow(DownloadRequest, request.body, "body");
    const started = await mapped(() => deps.downloads.request(body, requestToken(request)));
    return reply.code(started.joined ? 200 : 201).send(started);
  });
  app.get("/api/downloads/:id", async (request) => mapped(() => deps.downloads.get(parseOrThrow(IdParam, request.params).id)));
  app.post("/api/downloads/:id/cancel", async (request) => {
    const { discard } = parseOrThrow(CancelQuery, request.query, "query");
    return mapped(() => deps.downloads.cancel(parseOrThrow(IdParam, request.params).id, discard === "1" || discard === "true"));
  });
  app.post("/api/downloads/:id/resume", async (request) => mapped(() => deps.downloads.resume(parseOrThrow(IdParam, request.params).id, requestToken(request))));
  app.delete("/api/downloads/:id", async (request, reply) => {
    await mapped(() => { deps.downloads.remove(parseOrThrow(IdParam, request.params).id); });
    return reply.code(204).send();
  });
}
