import type { FastifyInstance } from "fastify";
import { z } from "zod";
import type { HostCheckReport } from "../../shared/distributed";
import type { Profile } from "../../shared/profiles";
import { parseOrThrow } from "../api/ApiError";
import { clientSignal } from "../api/serverRoutes";
import type { PreparedLaunch } from "../servers/ServerLauncher";
import type { DistributedRanks, ModelCopy } from "./DistributedRanks";

const ById = z.object({ id: z.string().min(1).max(200) });
const CopyBody = z.object({ host: z.string({ error: "host: which of the profile's hosts" }).min(1).max(300) }).strict();

/**
 * A distributed profile's hosts (loopback owner only): `POST /api/profiles/:id/hosts/check` checks
 * them as a start would; `POST /api/profiles/:id/hosts/copy-model` {host} copies the model there.
 */
export function registerDistributedRoutes(app: FastifyInstance, deps: { ranks: DistributedRanks; profiles: { get(idOrName: string): Profile }; prepare(profile: Profile): PreparedLaunch }): void {
  app.post("/api/profiles/:id/hosts/check", async (request, reply): Promise<HostCheckReport> => {
    const profile = deps.profiles.get(parseOrThrow(ById, request.params).id);
    return deps.ranks.check(profile, deps.prepare(profile), clientSignal(reply));
  });
  app.post("/api/profiles/:id/hosts/copy-model", async (request, reply): Promise<ModelCopy> => {
    const profile = deps.profiles.get(parseOrThrow(ById, request.params).id);
    const { host } = parseOrThrow(CopyBody, request.body ?? {});
    return deps.ranks.copyModel(profile, deps.prepare(profile), host, clientSignal(reply));
  });
}
