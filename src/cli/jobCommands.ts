import type { Command } from "commander";
import { InvalidArgumentError } from "commander";
import path from "node:path";
import type { ManagerClient } from "../client/ManagerClient";
import type { Job, JobInput } from "../shared/jobs";
import type { ModelRef } from "../shared/profiles";
import { table } from "./format";

const out = (text: string): void => void process.stdout.write(text.endsWith("\n") ? text : `${text}\n`);

const int = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError("a whole number");
  return n;
};
const num = (value: string): number => {
  const n = Number(value);
  if (!Number.isFinite(n)) throw new InvalidArgumentError("a number");
  return n;
};

function describe(job: Job): string {
  const loss = (v: number | undefined): string => (v === undefined ? "–" : v.toFixed(3));
  return [
    `${job.name} (${job.id}): ${job.state}, iteration ${job.iteration}/${job.iters}, train loss ${loss(job.trainLoss)}, validation loss ${loss(job.valLoss)}`,
    `  adapters: ${job.adapterPath}${job.checkpoint === undefined ? "" : ` (last checkpoint at ${job.checkpoint.iteration})`}`,
    `  command: ${job.command.join(" ")}`,
    ...(job.error === undefined ? [] : [`  error: ${job.error}`]),
  ].join("\n");
}

/** `mlx-manager train …` and `mlx-manager jobs …`: fine-tuning jobs (mlx_lm.lora with LoRA, DoRA or full). */
export function addJobCommands(program: Command, connect: () => Promise<ManagerClient>, parseModel: (spec: string) => ModelRef, confirm: (question: string) => Promise<boolean>): void {
  program
    .command("train")
    .description("fine-tune a model on a JSONL dataset with mlx_lm.lora: shows the command, its configuration and the dataset check, then queues the job")
    .requiredOption("--name <name>", "the job's name")
    .requiredOption("--model <model>", "the base model: org/name from the cache, or a folder")
    .requiredOption("--data <file>", "the training set (JSONL: chat, tools, completions or text)")
    .option("--valid <file>", "the validation set (default: a tenth of --data, set apart)")
    .option("--iters <n>", "iterations (mlx_lm.lora: 1000)", int)
    .option("--batch-size <n>", "batch size (4)", int)
    .option("--learning-rate <x>", "learning rate (1e-5)", num)
    .option("--num-layers <n>", "layers to fine-tune, -1 for all (16)", int)
    .option("--max-seq-length <n>", "longest sequence (2048)", int)
    .option("--grad-checkpoint", "gradient checkpointing: less memory, slower")
    .option("--fine-tune-type <type>", "lora, dora or full (lora)")
    .option("--mask-prompt", "train on the answers only (chat and completions)")
    .option("--rank <n>", "LoRA rank (8)", int)
    .option("--scale <x>", "LoRA scale (20)", num)
    .option("--dropout <x>", "LoRA dropout (0)", num)
    .option("--save-every <n>", "save a checkpoint every n iterations (100)", int)
    .option("--yes", "queue it without asking")
    .option("--json", "print JSON")
    .action(async (opts: { name: string; model: string; data: string; valid?: string; iters?: number; batchSize?: number; learningRate?: number; numLayers?: number; maxSeqLength?: number; gradCheckpoint?: boolean; fineTuneType?: string; maskPrompt?: boolean; rank?: number; scale?: number; dropout?: number; saveEvery?: number; yes?: boolean; json?: boolean }) => {
      const client = await connect();
      const settings: Record<string, unknown> = {};
      const set = (key: string, value: unknown): void => {
        if (value !== undefined) settings[key] = value;
      };
      set("iters", opts.iters);
      set("batch_size", opts.batchSize);
      set("learning_rate", opts.learningRate);
      set("num_layers", opts.numLayers);
      set("max_seq_length", opts.maxSeqLength);
      set("grad_checkpoint", opts.gradCheckpoint);
      set("fine_tune_type", opts.fineTuneType);
      set("mask_prompt", opts.maskPrompt);
      set("save_every", opts.saveEvery);
      if (opts.rank !== undefined || opts.scale !== undefined || opts.dropout !== undefined) settings["lora_parameters"] = { rank: opts.rank ?? 8, scale: opts.scale ?? 20, dropout: opts.dropout ?? 0 };
      const input: JobInput = { name: opts.name, model: parseModel(opts.model), train: path.resolve(opts.data), ...(opts.valid === undefined ? {} : { valid: path.resolve(opts.valid) }), settings: settings };
      const plan = await client.planJob(input);
      if (!opts.json) {
        const d = plan.dataset;
        out(`Dataset: ${d.format}, ${d.trainExamples} training and ${d.validExamples} validation examples${d.validSplit ? " (set apart from --data)" : ""}, about ${d.tokens.toLocaleString("en-US")} tokens${d.longest === undefined ? "" : `, the longest on line ${d.longest.line} (about ${d.longest.tokens} tokens)`}.`);
        out(`Command: ${plan.command.join(" ")}`);
        out(`Configuration (mlx_lm.lora's own; \`mlx_lm.lora -c config.json\` reads it too):\n${JSON.stringify(plan.config, null, 2)}`);
      }
      if (opts.yes !== true && !(await confirm("Queue this job?"))) {
        process.stderr.write("Not queued (pass --yes to queue without asking).\n");
        process.exitCode = 1;
        return;
      }
      const job = await client.createJob(input);
      out(opts.json ? JSON.stringify(job, null, 2) : `Queued ${job.name} (${job.id}): ${job.state}. Follow it with \`mlx-manager jobs logs ${job.name}\`.`);
    });

  const jobs = program.command("jobs").description("fine-tuning jobs: list, show, cancel, resume, logs");
  jobs
    .command("list", { isDefault: true })
    .description("list the jobs")
    .option("--json", "print JSON")
    .action(async (opts: { json?: boolean }) => {
      const list = (await (await connect()).jobs()).jobs;
      if (opts.json) { out(JSON.stringify(list, null, 2)); return; }
      if (list.length === 0) { out("No fine-tuning job. Start one with `mlx-manager train --name N --model M --data FILE`."); return; }
      out(table(["NAME", "STATE", "ITERATION", "TRAIN LOSS", "VALID LOSS"], list.map((j) => [j.name, j.state, `${j.iteration}/${j.iters}`, j.trainLoss?.toFixed(3) ?? "–", j.valLoss?.toFixed(3) ?? "–"])));
    });
  jobs.command("show <job>").description("one job").option("--json", "print JSON").action(async (id: string, opts: { json?: boolean }) => {
    const job = await (await connect()).job(id);
    out(opts.json ? JSON.stringify(job, null, 2) : describe(job));
  });
  jobs.command("cancel <job>").description("cancel a queued or running job (its adapters so far are kept)").action(async (id: string) => {
    out(describe(await (await connect()).cancelJob(id)));
  });
  jobs.command("resume <job>").description("queue an interrupted, failed or cancelled job again from its last checkpoint").action(async (id: string) => {
    out(describe(await (await connect()).resumeJob(id)));
  });
  jobs.command("profile <job> <name>").description("a profile that serves the job's base model with its adapter (mlx-lm)").action(async (id: string, name: string) => {
    const profile = await (await connect()).profileFromJob(id, name);
    out(`Created profile ${profile.name}: ${profile.engine}, adapter ${String(profile.options.adapterPath)}. Start it with \`mlx-manager start ${profile.name}\`.`);
  });
  jobs.command("fuse <job> <name>").description("fuse a finished job's adapter into its base model (mlx_lm.fuse), as local/<name> in the Hugging Face cache").action(async (id: string, name: string) => {
    const fused = await (await connect()).fuseJob(id, name);
    out(`Fused into ${fused.repoId} (${fused.commit.slice(0, 12)}): it is in the Models view; make a profile of it to serve it.`);
  });
  jobs.command("logs <job>").description("the end of a job's log (what mlx_lm.lora printed)").option("--lines <n>", "how many lines", int, 200).action(async (id: string, opts: { lines: number }) => {
    out((await (await connect()).jobLog(id, opts.lines)).lines.join("\n"));
  });
}
