import * as z from "zod";
import { ModelRef } from "./profiles";

// Fine-tuning jobs: mlx_lm.lora run by the manager's entry point (python/mlx_manager_train.py), one
// at a time. Settings carry mlx_lm.lora's own names and defaults (mlx-lm d78bf58, CONFIG_DEFAULTS).

export const JobState = z.enum(["queued", "running", "completed", "failed", "cancelled", "interrupted"]);
export type JobState = z.infer<typeof JobState>;

/** mlx_lm.lora's settings a job may set (its names; absent: its defaults). */
export const LoraSettings = z
  .object({
    iters: z.int().min(1).max(1_000_000).default(1000),
    batch_size: z.int().min(1).max(1024).default(4),
    learning_rate: z.number().positive().max(1).default(1e-5),
    /** Layers to fine-tune (-1: all). */
    num_layers: z.int().min(-1).max(1000).default(16),
    max_seq_length: z.int().min(16).max(1_000_000).default(2048),
    grad_checkpoint: z.boolean().default(false),
    fine_tune_type: z.enum(["lora", "dora", "full"]).default("lora"),
    mask_prompt: z.boolean().default(false),
    steps_per_report: z.int().min(1).max(100_000).default(10),
    steps_per_eval: z.int().min(1).max(1_000_000).default(200),
    save_every: z.int().min(1).max(1_000_000).default(100),
    val_batches: z.int().min(-1).max(100_000).default(25),
    seed: z.int().min(0).max(2 ** 32 - 1).default(0),
    /** In the YAML config only (mlx_lm.lora merges it as a whole: all three are always written). */
    lora_parameters: z.object({ rank: z.int().min(1).max(1024).default(8), scale: z.number().positive().max(1000).default(20), dropout: z.number().min(0).max(1).default(0) }).strict().default({ rank: 8, scale: 20, dropout: 0 }),
  })
  .strict();
export type LoraSettings = z.infer<typeof LoraSettings>;

/** What a user gives to queue a job. */
export const JobInput = z
  .object({
    name: z.string().trim().min(1).max(80),
    /** The base model (an MLX model in the cache, or a folder). */
    model: ModelRef,
    /** A JSONL file in one of mlx_lm.lora's formats; `valid` absent: a tenth of train is set apart. */
    train: z.string().min(1).max(4096),
    valid: z.string().min(1).max(4096).optional(),
    settings: LoraSettings.default(LoraSettings.parse({})),
  })
  .strict();
export type JobInput = z.input<typeof JobInput>;

/** One report of a running job (mlx_lm's callback dictionaries, iterations counted across resumes). */
export interface JobReport {
  event: "train" | "val";
  iteration: number;
  train_loss?: number;
  val_loss?: number;
  learning_rate?: number;
  iterations_per_second?: number;
  tokens_per_second?: number;
  trained_tokens?: number;
  /** GB, as mlx_lm reports it. */
  peak_memory?: number;
  val_time?: number;
  at: number;
}

export interface Job {
  id: string;
  name: string;
  state: JobState;
  model: ModelRef;
  settings: LoraSettings;
  dir: string;
  /** The iterations asked for, and the last one reported. */
  iters: number;
  iteration: number;
  trainLoss?: number;
  valLoss?: number;
  /** The newest checkpoint (adapters saved at an iteration): a resume starts there. */
  checkpoint?: { file: string; iteration: number };
  pid?: number;
  error?: string;
  /** A queued job that waits for room in the memory budget: what holds it. */
  waiting?: string;
  /** The command it runs (argument by argument) and the configuration file it reads. */
  command: string[];
  configFile: string;
  adapterPath: string;
  createdAt: number;
  startedAt?: number;
  endedAt?: number;
}

/** `POST /api/jobs/plan`: what a job would run, before it is queued. */
export interface JobPlan {
  command: string[];
  /** mlx_lm.lora's configuration (its keys), paths in the job's folder to be. */
  config: Record<string, unknown>;
  dataset: { format: string; trainExamples: number; validExamples: number; validSplit: boolean; tokens: number; longest?: { line: number; tokens: number } };
}

/** `POST /api/jobs/check-dataset`: a JSONL file checked as mlx_lm.lora will read it. */
export interface DatasetCheck {
  format?: "chat" | "tools" | "completions" | "text";
  examples: number;
  issues: { line: number; message: string }[];
  issueCount: number;
  tokens: number;
  longest?: { line: number; tokens: number };
}
