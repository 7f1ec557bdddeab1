import type { FastifyInstance } from "fastify";
import * as z from "zod";
import type { HostCheckReport } from "../../shared/distributed";
import type { Profile } from "../../shared/profiles";
import { ApiError, parseOrThrow } from "../api/ApiError";
import { clientSignal } from "../api/serverRoutes";
import type { PreparedLaunch } from "../servers/ServerLauncher";
import type { DistributedRanks, ModelCopy } from "./DistributedRanks";

const ById = z.object({ id: z.string().min(1).max(200) });
const CopyBody = z.object({ host: z.string({ error: "host: which of the profile's hosts" }).min(1).max(300) }).strict();

/**
 * A distributed profile's hosts (loopback owner only): `POST /api/profiles/:id/hosts/check` checks
 * them as a start would; `POST /api/profiles/:id/hosts/copy-model` {host} copies the model there.
 */
export function registerDistributedRoutes(app: FastifyInstance, deps: { ranks: DistributedRanks; profiles: { get(idOrName: string): Profile }; prepare(profile: Profile): PreparedLaunch; prepareModel(profile: Profile): Omit<PreparedLaunch, "located"> }): void {
  app.post("/api/profiles/:id/hosts/check", async (request, reply): Promise<HostCheckReport> => {
    const profile = deps.profiles.get(parseOrThrow(ById, request.params).id);
    // mlx.launch missing here is one of this Mac's problems, not a reason to check nothing.
    let missing: string | undefined;
    let prepared: Omit<PreparedLaunch, "located">;
    try {
      prepared = deps.prepare(profile);
    } catch (error) {
      if (!(error instanceof ApiError) || error.code !== "engine_missing") throw error;
      missing = error.message;
      prepared = deps.prepareModel(profile);
    }
    const report = await deps.ranks.check(profile, prepared, clientSignal(reply));
    if (missing === undefined) return report;
    return { ...report, ok: false, hosts: report.hosts.map((h) => (h.rank === 0 ? { ...h, problems: [missing, ...h.problems] } : h)) };
  });
  app.post("/api/profiles/:id/hosts/copy-model", async (request, reply): Promise<ModelCopy> => {
    const profile = deps.profiles.get(parseOrThrow(ById, request.params).id);
    const { host } = parseOrThrow(CopyBody, request.body ?? {});
    return deps.ranks.copyModel(profile, deps.prepareModel(profile), host, clientSignal(reply));
  });
}
