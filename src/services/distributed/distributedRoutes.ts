import type { FastifyInstance } from "fastify";
import { z } from "zod";
import type { HostCheckReport } from "../../shared/distributed";
import type { Profile } from "../../shared/profiles";
import { parseOrThrow } from "../api/ApiError";
import { clientSignal } from "../api/serverRoutes";
import type { PreparedLaunch } from "../servers/ServerLauncher";
import type { DistributedRanks } from "./DistributedRanks";

const ById = z.object({ id: z.string().min(1).max(200) });

/** `POST /api/profiles/:id/hosts/check`: a distributed profile's hosts checked as a start would (loopback owner only). */
export function registerDistributedRoutes(app: FastifyInstance, deps: { ranks: DistributedRanks; profiles: { get(idOrName: string): Profile }; prepare(profile: Profile): PreparedLaunch }): void {
  app.post("/api/profiles/:id/hosts/check", async (request, reply): Promise<HostCheckReport> => {
    const profile = deps.profiles.get(parseOrThrow(ById, request.params).id);
    return deps.ranks.check(profile, deps.prepare(profile), clientSignal(reply));
  });
}
