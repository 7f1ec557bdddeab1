import type { FastifyInstance } from "fastify";
import * as z from "zod";
import { benchCsv, type BenchRun, type PerplexityResult } from "../../shared/benchmarks";
import { parseOrThrow } from "../api/ApiError";
import { clientSignal } from "../api/serverRoutes";
import type { BenchService } from "./BenchService";
import type { PerplexityService } from "./PerplexityService";

const ById = z.object({ id: z.string().min(1).max(200) });
const ExportQuery = z.object({ format: z.enum(["csv", "json"]).default("json") }).strict();
const ListQuery = z.object({ profile: z.string().min(1).max(200).optional() }).strict();

/**
 * `/api/benchmarks` and `/api/perplexity` (loopback owner only; shared mode has no route to them):
 * a benchmark starts and stops this machine's servers, and perplexity reads a file of this machine.
 */
export function registerBenchRoutes(app: FastifyInstance, deps: { bench: BenchService; perplexity: PerplexityService }): void {
  const { bench, perplexity } = deps;
  app.get("/api/benchmarks", async (): Promise<{ benchmarks: BenchRun[] }> => ({ benchmarks: bench.list() }));
  app.post("/api/benchmarks", async (request, reply) => reply.code(202).send(bench.start(request.body)));
  app.get("/api/benchmarks/:id", async (request): Promise<BenchRun> => bench.get(parseOrThrow(ById, request.params).id));
  app.post("/api/benchmarks/:id/cancel", async (request): Promise<BenchRun> => bench.cancel(parseOrThrow(ById, request.params).id));
  app.delete("/api/benchmarks/:id", async (request, reply) => {
    bench.remove(parseOrThrow(ById, request.params).id);
    return reply.code(204).send();
  });
  // CSV (one line per profile and size) or the whole run as JSON, as a download.
  app.get("/api/benchmarks/:id/export", async (request, reply) => {
    const run = bench.get(parseOrThrow(ById, request.params).id);
    const { format } = parseOrThrow(ExportQuery, request.query ?? {}, "query");
    const name = `benchmark-${new Date(run.createdAt).toISOString().slice(0, 19).replace(/[:T]/g, "-")}.${format}`;
    reply.header("content-disposition", `attachment; filename="${name}"`);
    if (format === "csv") return reply.type("text/csv; charset=utf-8").send(benchCsv(run));
    return reply.type("application/json; charset=utf-8").send(`${JSON.stringify(run, null, 2)}\n`);
  });
  app.get("/api/perplexity", async (request): Promise<{ results: PerplexityResult[] }> => ({ results: perplexity.list(parseOrThrow(ListQuery, request.query ?? {}, "query").profile) }));
  app.post("/api/perplexity", async (request, reply) => reply.code(201).send(await perplexity.measure(request.body, clientSignal(reply))));
}
