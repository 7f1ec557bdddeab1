import { spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { PerplexityInput, type PerplexityResult } from "../../shared/benchmarks";
import { modelRefLabel, type Profile } from "../../shared/profiles";
import type { ServerInfo } from "../../shared/servers";
import { ApiError, parseOrThrow } from "../api/ApiError";
import type { EventBus } from "../events/EventBus";
import type { Logger } from "../logging/Logger";
import { resolveModel, type ModelCatalog } from "../profiles/modelResolution";
import type { Store } from "../store/Store";

// Perplexity of a profile's model on a text the user picks: how well the model predicts it, the
// same way for every quantization, so a lower bit-width's cost in quality sits beside what it saves.
// MLX models: mlx_lm.perplexity's eval_ppl through our entry point (python/mlx_manager_perplexity.py),
// run by the Python that has mlx-lm. The built-in `llama` engine: its own POST /perplexity
// (node-llama-cpp), on the profile's running server. Both score as mlx_lm.perplexity does.

const MARK = "MLX_MANAGER_PERPLEXITY ";
const MLX_ENGINES = new Set(["mlx-lm", "mlx-openai-server", "mlx-distributed"]);
const MAX_TEXT_BYTES = 16 * 1024 * 1024;

export interface PerplexityServiceOptions {
  store: Store;
  events: EventBus;
  logger: Logger;
  catalog: ModelCatalog;
  profile: (idOrName: string) => Profile;
  /** Starts the profile's server if needed and resolves once it answers. */
  ensureRunning: (profileId: string, signal: AbortSignal) => Promise<ServerInfo>;
  python: () => string;
  entryScript: string;
  env?: NodeJS.ProcessEnv;
  /** Room in the memory budget for the Python process that loads an MLX model (like a job). */
  room?: (holder: { id: string; name: string; needBytes: number }, signal: AbortSignal) => Promise<void>;
  now?: () => number;
}

interface Row extends Record<string, unknown> {
  id: string;
  profile_id: string;
  profile_name: string;
  engine: string;
  model: string;
  text_name: string;
  text_sha256: string;
  tokens: number;
  scored_tokens: number;
  sequence_length: number;
  perplexity: number;
  standard_error: number;
  seconds: number;
  created_at: number;
}

interface Measured {
  perplexity: number;
  standard_error: number;
  tokens: number;
  scored_tokens: number;
  sequence_length: number;
  seconds: number;
}

export class PerplexityService {
  private readonly now: () => number;
  /** Profiles being measured now: one measure per profile at a time. */
  private readonly busy = new Set<string>();

  constructor(private readonly options: PerplexityServiceOptions) {
    this.now = options.now ?? Date.now;
  }

  list(profile?: string): PerplexityResult[] {
    const rows = profile === undefined
      ? this.options.store.all<Row>("SELECT * FROM perplexity ORDER BY created_at DESC LIMIT 200")
      : this.options.store.all<Row>("SELECT * FROM perplexity WHERE profile_id = ? ORDER BY created_at DESC LIMIT 200", [this.options.profile(profile).id]);
    return rows.map(fromRow);
  }

  async measure(raw: unknown, signal: AbortSignal): Promise<PerplexityResult> {
    const input = parseOrThrow(PerplexityInput, raw);
    const profile = this.options.profile(input.profile);
    const file = path.resolve(input.file);
    let text: string;
    try {
      const size = fs.statSync(file).size;
      if (size > MAX_TEXT_BYTES) throw new ApiError(400, "validation_failed", `${file} is ${size} bytes: perplexity reads texts of up to ${MAX_TEXT_BYTES / 1024 / 1024} MiB (the first tokens are enough: see maxTokens).`, "file");
      text = fs.readFileSync(file, "utf8");
    } catch (error) {
      if (error instanceof ApiError) throw error;
      throw new ApiError(400, "validation_failed", `Cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? String(error)}).`, "file");
    }
    if (text.trim() === "") throw new ApiError(400, "validation_failed", `${file} is empty: pick a text with a few paragraphs at least.`, "file");
    if (this.busy.has(profile.id)) throw new ApiError(409, "conflict", `Perplexity of "${profile.name}" is being measured: wait for it to end.`);
    this.busy.add(profile.id);
    try {
      const measured = profile.engine === "llama" ? await this.onLlama(profile, text, input, signal) : MLX_ENGINES.has(profile.engine) ? await this.onMlx(profile, file, input, signal) : unsupported(profile);
      const result: PerplexityResult = {
        id: crypto.randomUUID(),
        profileId: profile.id,
        profileName: profile.name,
        engine: profile.engine,
        model: modelRefLabel(profile.model),
        textName: path.basename(file),
        textSha256: crypto.createHash("sha256").update(text).digest("hex"),
        tokens: measured.tokens,
        scoredTokens: measured.scored_tokens,
        sequenceLength: measured.sequence_length,
        perplexity: measured.perplexity,
        standardError: measured.standard_error,
        seconds: measured.seconds,
        createdAt: this.now(),
      };
      this.options.store.run(
        "INSERT INTO perplexity (id, profile_id, profile_name, engine, model, text_name, text_sha256, tokens, scored_tokens, sequence_length, perplexity, standard_error, seconds, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [result.id, result.profileId, result.profileName, result.engine, result.model, result.textName, result.textSha256, result.tokens, result.scoredTokens, result.sequenceLength, result.perplexity, result.standardError, result.seconds, result.createdAt],
      );
      this.options.events.publish({ type: "perplexity.added", data: result });
      return result;
    } finally {
      this.busy.delete(profile.id);
    }
  }

  /** The profile's running `llama` server scores the text itself (started first if it is not running). */
  private async onLlama(profile: Profile, text: string, input: ReturnType<typeof PerplexityInput.parse>, signal: AbortSignal): Promise<Measured> {
    const server = await this.options.ensureRunning(profile.id, signal);
    const response = await fetch(`${server.upstreamUrl}/perplexity`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ text, sequence_length: input.sequenceLength, max_tokens: input.maxTokens }),
      signal,
    });
    const body = (await response.json().catch(() => ({}))) as Partial<Measured> & { error?: { message?: string } };
    if (!response.ok) throw new ApiError(response.status === 400 ? 400 : 502, response.status === 400 ? "validation_failed" : "unavailable", `The llama engine could not score the text: ${body.error?.message ?? `HTTP ${response.status}`}`, response.status === 400 ? "file" : undefined);
    return measuredFrom(body);
  }

  /** Our entry point with mlx-lm's eval_ppl; it holds the model like a job, so it takes its room in the budget. */
  private async onMlx(profile: Profile, file: string, input: ReturnType<typeof PerplexityInput.parse>, signal: AbortSignal): Promise<Measured> {
    const model = resolveModel(profile.model, this.options.catalog);
    await this.options.room?.({ id: `perplexity:${profile.id}`, name: `perplexity of ${profile.name}`, needBytes: Math.round(model.size * 1.2) + 1e9 }, signal);
    const python = this.options.python();
    const args = [this.options.entryScript, "--model", model.path, "--text-file", file, "--sequence-length", String(input.sequenceLength), "--max-tokens", String(input.maxTokens)];
    this.options.logger.info("perplexity started", { profile: profile.name, python });
    const { code, stdout, stderr } = await run(python, args, { ...(this.options.env ?? process.env), PYTHONUNBUFFERED: "1" }, signal);
    const line = stdout.split("\n").reverse().find((l) => l.startsWith(MARK));
    const parsed = line === undefined ? undefined : (JSON.parse(line.slice(MARK.length)) as Partial<Measured> & { error?: string; type?: string });
    const which = "the Python on the #! line of mlx_lm's scripts is used, or MLX_MANAGER_TRAIN_PYTHON";
    if (parsed?.type === "ModuleNotFoundError" || parsed?.type === "ImportError") throw new ApiError(500, "engine_missing", `${python} has no mlx-lm (${parsed.error ?? ""}): install it (pip install mlx-lm) or point the manager at the Python that has it (${which}).`);
    if (parsed?.error !== undefined) throw new ApiError(parsed.type === "ValueError" ? 400 : 500, parsed.type === "ValueError" ? "validation_failed" : "internal", `mlx_lm could not score the text: ${parsed.error}`);
    if (code !== 0 || parsed === undefined) {
      const tail = stderr.trim().split("\n").slice(-3).join(" ");
      throw new ApiError(500, "internal", `${python} ended with code ${code} before a result${tail ? ` (${tail})` : ""}: check that it has mlx-lm (${which}).`);
    }
    return measuredFrom(parsed);
  }
}

function unsupported(profile: Profile): never {
  const hint = profile.engine === "llama-server" ? " For a GGUF model, make a profile of it on the built-in llama engine, or run llama.cpp's llama-perplexity." : "";
  throw new ApiError(400, "validation_failed", `Perplexity is measured for MLX models (mlx-lm) and the built-in llama engine, not ${profile.engine}.${hint}`, "profile");
}

function measuredFrom(body: Partial<Measured>): Measured {
  const num = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) ? v : Number.NaN);
  return { perplexity: num(body.perplexity), standard_error: num(body.standard_error), tokens: num(body.tokens), scored_tokens: num(body.scored_tokens), sequence_length: num(body.sequence_length), seconds: num(body.seconds) };
}

function run(file: string, args: string[], env: NodeJS.ProcessEnv, signal: AbortSignal): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env, stdio: ["ignore", "pipe", "pipe"], signal });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => { stdout += d; });
    child.stderr.setEncoding("utf8").on("data", (d: string) => { stderr = (stderr + d).slice(-20_000); });
    child.once("error", (error) => {
      reject(signal.aborted ? error : new ApiError(500, "internal", `Could not run ${file} (${error.message}): set the Python that has mlx-lm.`));
    });
    child.once("close", (code) => { resolve({ code, stdout, stderr }); });
  });
}

function fromRow(row: Row): PerplexityResult {
  return {
    id: row.id,
    profileId: row.profile_id,
    profileName: row.profile_name,
    engine: row.engine,
    model: row.model,
    textName: row.text_name,
    textSha256: row.text_sha256,
    tokens: row.tokens,
    scoredTokens: row.scored_tokens,
    sequenceLength: row.sequence_length,
    perplexity: row.perplexity,
    standardError: row.standard_error,
    seconds: row.seconds,
    createdAt: row.created_at,
  };
}
