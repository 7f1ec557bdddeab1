import fs from "node:fs";
import path from "node:path";
import type { FastifyInstance } from "fastify";
import * as z from "zod";
import type { Job, JobPlan, JobReport } from "../../shared/jobs";
import type { Profile } from "../../shared/profiles";
import { ApiError, parseOrThrow } from "../api/ApiError";
import { clientSignal } from "../api/serverRoutes";
import { readLogTail } from "../servers/serverLogs";
import { validateJsonl, type DatasetReport } from "./datasets";
import type { JobService } from "./JobService";

const ById = z.object({ id: z.string().min(1).max(200) });
const LogQuery = z.object({ lines: z.coerce.number().int().min(1).max(5000).default(200) }).strict();
const ProfileFromJob = z.object({ name: z.string().min(1).max(64) }).strict();
const DatasetCheck = z.object({ file: z.string().min(1).max(4096), maskPrompt: z.boolean().optional() }).strict();

/**
 * `/api/jobs`: fine-tuning jobs (loopback owner only; shared mode has no route to them). A job runs
 * the manager's entry point with the Python that has mlx-lm, on files of this machine.
 */
export function registerJobRoutes(app: FastifyInstance, deps: { jobs: JobService; createProfile: (input: unknown) => Profile }): void {
  const { jobs } = deps;
  app.get("/api/jobs", async (): Promise<{ jobs: Job[] }> => ({ jobs: jobs.list() }));
  app.post("/api/jobs/plan", async (request): Promise<JobPlan> => jobs.plan(request.body));
  app.post("/api/jobs", async (request, reply) => reply.code(201).send(jobs.create(request.body)));
  app.post("/api/jobs/check-dataset", async (request): Promise<DatasetReport> => {
    const { file, maskPrompt } = parseOrThrow(DatasetCheck, request.body ?? {});
    let content: string;
    try {
      content = fs.readFileSync(path.resolve(file), "utf8");
    } catch (error) {
      throw new ApiError(400, "validation_failed", `Cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? String(error)}).`, "file");
    }
    return validateJsonl(content, { maskPrompt: maskPrompt === true });
  });
  app.get("/api/jobs/:id", async (request): Promise<Job> => jobs.get(parseOrThrow(ById, request.params).id));
  app.get("/api/jobs/:id/reports", async (request): Promise<{ reports: JobReport[] }> => ({ reports: jobs.reports(parseOrThrow(ById, request.params).id) }));
  app.get("/api/jobs/:id/log", async (request): Promise<{ lines: string[] }> => {
    const job = jobs.get(parseOrThrow(ById, request.params).id);
    const { lines } = parseOrThrow(LogQuery, request.query ?? {}, "query");
    // The servers' tail reader: the last lines without reading a long log whole.
    return { lines: readLogTail(path.join(job.dir, "train.log"), lines) };
  });
  app.post("/api/jobs/:id/cancel", async (request): Promise<Job> => jobs.cancel(parseOrThrow(ById, request.params).id));
  app.post("/api/jobs/:id/resume", async (request): Promise<Job> => jobs.resume(parseOrThrow(ById, request.params).id));
  // The adapter fused into the base model (mlx_lm.fuse), put in the Hugging Face cache as local/<name>.
  app.post("/api/jobs/:id/fuse", async (request, reply) => {
    const { name } = parseOrThrow(ProfileFromJob, request.body ?? {});
    return reply.code(201).send(await jobs.fuse(parseOrThrow(ById, request.params).id, name, clientSignal(reply)));
  });
  // A profile that serves the base model with the job's adapter (mlx_lm.server, the adapter in every request).
  app.post("/api/jobs/:id/profile", async (request, reply) => {
    const job = jobs.get(parseOrThrow(ById, request.params).id);
    const { name } = parseOrThrow(ProfileFromJob, request.body ?? {});
    if (job.state !== "completed") throw new ApiError(409, "conflict", `"${job.name}" is ${job.state}: its adapter is served once the job has completed.`);
    return reply.code(201).send(deps.createProfile({ name, engine: "mlx-lm", model: job.model, options: { adapterPath: job.adapterPath } }));
  });
}
