import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import * as z from "zod";
import type { ServerList, ServerLogTail } from "../../shared/servers";
import { followLog, readLogTail, fileSize } from "../servers/serverLogs";
import type { ServerControl } from "../servers/ServerDirectory";
import { ApiError, parseOrThrow } from "./ApiError";
import { openSseStream } from "./sse";

export interface ServerRoutesDeps {
  /** Local and remote servers (ServerFleet). */
  supervisor: ServerControl;
  /** SSE keep-alive interval of `logs?follow=1`. */
  keepAliveMs?: number;
}

const ById = z.object({ id: z.string().min(1).max(200) });
const WaitQuery = z.object({ wait: z.enum(["0", "1", "true", "false"]).optional() }).strict();
const LogsQuery = z
  .object({
    lines: z.coerce.number().int().min(0).max(10_000).optional(),
    follow: z.enum(["0", "1", "true", "false"]).optional(),
  })
  .strict();

const DEFAULT_TAIL = 100;
const DEFAULT_FOLLOW_TAIL = 10;

/** Aborts when the client goes away before the answer is sent, so a long start or stop is not awaited for nobody. */
export function clientSignal(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  reply.raw.once("close", () => {
    if (!reply.raw.writableFinished) controller.abort(new Error("the client closed the connection"));
  });
  return controller.signal;
}

function truthy(flag: string | undefined): boolean {
  return flag === "1" || flag === "true";
}

/** The `/api/servers` routes: list, start, stop, restart, stop-all, logs (tail and follow). */
export function registerServerRoutes(app: FastifyInstance, deps: ServerRoutesDeps): void {
  const { supervisor } = deps;

  app.get("/api/servers", async (): Promise<ServerList> => ({ servers: supervisor.list() }));

  app.post("/api/servers/stop-all", async (_request, reply): Promise<ServerList> => ({
    servers: await supervisor.stopAll(clientSignal(reply)),
  }));

  app.get("/api/servers/:id", async (request) => {
    const { id } = parseOrThrow(ById, request.params);
    const info = supervisor.get(id);
    if (info) return info;
    throw new ApiError(
      404,
      "not_found",
      `No server for "${id}": start it with POST /api/servers/${encodeURIComponent(id)}/start.`,
    );
  });

  app.post("/api/servers/:id/start", async (request, reply) => {
    const { id } = parseOrThrow(ById, request.params);
    const { wait } = parseOrThrow(WaitQuery, request.query, "query");
    const info = await supervisor.start(id, clientSignal(reply), {
      wait: wait === undefined || truthy(wait),
    });
    return reply.code(info.state === "starting" ? 202 : 200).send(info);
  });

  app.post("/api/servers/:id/stop", async (request, reply) => {
    const { id } = parseOrThrow(ById, request.params);
    return supervisor.stop(id, clientSignal(reply));
  });

  app.post("/api/servers/:id/restart", async (request, reply) => {
    const { id } = parseOrThrow(ById, request.params);
    const { wait } = parseOrThrow(WaitQuery, request.query, "query");
    const info = await supervisor.restart(id, clientSignal(reply), {
      wait: wait === undefined || truthy(wait),
    });
    return reply.code(info.state === "starting" ? 202 : 200).send(info);
  });

  app.get("/api/servers/:id/logs", async (request, reply) => {
    const { id } = parseOrThrow(ById, request.params);
    const query = parseOrThrow(LogsQuery, request.query, "query");
    const { profileId, file } = supervisor.logFileOf(id);
    if (!truthy(query.follow)) {
      const tail: ServerLogTail = { profileId, file, lines: readLogTail(file, query.lines ?? DEFAULT_TAIL) };
      return tail;
    }
    followLogs(request, reply, file, query.lines ?? DEFAULT_FOLLOW_TAIL, deps.keepAliveMs ?? 15_000);
    return reply;
  });
}

/** `logs?follow=1`: SSE, each message `data: {"lines": [...]}`: the last `tail` lines, then new ones until the client leaves. */
function followLogs(
  request: FastifyRequest,
  reply: FastifyReply,
  file: string,
  tail: number,
  keepAliveMs: number,
): void {
  const res = openSseStream(reply);
  const send = (lines: string[]): void => {
    if (lines.length > 0) res.write(`data: ${JSON.stringify({ lines })}\n\n`);
  };
  const start = fileSize(file);
  res.write(`: following ${file}\n\n`);
  send(readLogTail(file, tail));
  const controller = new AbortController();
  const keepAlive = setInterval(() => res.write(": keep-alive\n\n"), keepAliveMs);
  keepAlive.unref();
  const close = (): void => {
    clearInterval(keepAlive);
    controller.abort();
  };
  res.on("close", close);
  res.on("error", close);
  request.raw.on("error", close);
  void followLog(file, send, controller.signal, { fromOffset: start }).finally(() => {
    if (!res.writableEnded) res.end();
  });
}
