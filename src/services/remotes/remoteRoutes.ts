import type { FastifyInstance } from "fastify";
import * as z from "zod";
import type { RemoteBackend, RemoteBackendList, RemotePlacementList, RemoteProbe } from "../../shared/remotes";
import { parseOrThrow } from "../api/ApiError";
import { clientSignal } from "../api/serverRoutes";
import type { RemoteBackends } from "./RemoteBackends";

const ById = z.object({ id: z.string().min(1).max(200) });
const PreviewQuery = z.object({ model: z.string({ error: "model: name the model (?model=org/name)" }).min(1).max(1000) }).strict();

/**
 * `/api/remotes`: the remote backends (loopback and the local token only; shared mode has no route
 * to them). Answers never carry a key: `hasKey` says whether one is kept.
 */
export function registerRemoteRoutes(app: FastifyInstance, deps: { remotes: RemoteBackends; usedBy: (backendId: string) => string[] }): void {
  const { remotes } = deps;
  app.get("/api/remotes", async (): Promise<RemoteBackendList> => ({ remotes: remotes.list() }));
  app.post("/api/remotes/probe", async (request, reply): Promise<RemoteProbe> => remotes.probe(request.body, clientSignal(reply)));
  app.post("/api/remotes", async (request, reply) => reply.code(201).send(await remotes.add(request.body, clientSignal(reply))));
  app.get("/api/remotes/:id", async (request): Promise<RemoteBackend> => remotes.get(parseOrThrow(ById, request.params).id));
  app.patch("/api/remotes/:id", async (request, reply): Promise<RemoteBackend> => remotes.update(parseOrThrow(ById, request.params).id, request.body ?? {}, clientSignal(reply)));
  app.delete("/api/remotes/:id", async (request): Promise<RemoteBackend> => remotes.remove(parseOrThrow(ById, request.params).id, deps.usedBy));
  app.post("/api/remotes/:id/check", async (request, reply): Promise<RemoteBackend> => remotes.check(parseOrThrow(ById, request.params).id, clientSignal(reply)));
  app.get("/api/remotes/:id/previews", async (request, reply): Promise<RemotePlacementList> => {
    const { model } = parseOrThrow(PreviewQuery, request.query, "query");
    return remotes.previews(parseOrThrow(ById, request.params).id, model, clientSignal(reply));
  });
}
