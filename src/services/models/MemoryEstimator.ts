import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { EngineId } from "../../shared/engines";
import type { FastifyInstance } from "fastify";
import { MemoryEstimateRequest, type MemoryFit, type MemoryNeed } from "../../shared/memory";
import { parseOrThrow } from "../api/ApiError";
import { resolveModel, type ModelCatalog, type ResolvedModel } from "../profiles/modelResolution";
import type { ProfileOptions } from "../../shared/profiles";
import { readGgufShape } from "../cache/gguf";
import type { EngineDescription } from "../engines/registry";
import { describeNeed, fitVerdict, formatBytes, memoryNeed, usableMemory, type UsableMemory } from "./memoryFit";
import { shapeFromConfig, shapeFromGguf, type ModelShape } from "./modelShape";

// The memory estimate of a model on this machine: its weights (the bytes of the files that load),
// its shape (config.json or the GGUF header), the engine's cache and overhead, against the memory
// this machine can give it. The formula is in memoryFit.ts and docs/memory.md.

/** "12GB", "12 GiB", "800MB" or a byte count; undefined when it is none of those. */
export function parseMemorySize(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib|tb|tib)?\s*$/i.exec(text);
  if (match?.[1] === undefined) return undefined;
  const unit = (match[2] ?? "b").toLowerCase();
  const scale: Record<string, number> = { b: 1, kb: 1e3, kib: 1024, mb: 1e6, mib: 1024 ** 2, gb: 1e9, gib: 1024 ** 3, tb: 1e12, tib: 1024 ** 4 };
  const bytes = Math.round(Number(match[1]) * (scale[unit] ?? 1));
  return bytes > 0 ? bytes : undefined;
}

/**
 * The memory this machine can give models: MLX_MANAGER_USABLE_MEMORY when set (to keep memory for
 * other work), else on macOS the GPU's wired limit (read once with sysctl), elsewhere memory less a headroom.
 */
export async function machineMemory(platform: NodeJS.Platform = process.platform, env: NodeJS.ProcessEnv = process.env): Promise<UsableMemory> {
  const total = os.totalmem();
  const set = env["MLX_MANAGER_USABLE_MEMORY"];
  const setBytes = set === undefined ? undefined : parseMemorySize(set);
  if (setBytes !== undefined) return { bytes: setBytes, totalBytes: total, basis: `set by MLX_MANAGER_USABLE_MEMORY=${set ?? ""}` };
  if (platform !== "darwin") return usableMemory(platform, total);
  const limit = await new Promise<number | undefined>((resolve) => {
    execFile("/usr/sbin/sysctl", ["-n", "iogpu.wired_limit_mb"], { timeout: 5000 }, (error, stdout) => {
      const value = Number(stdout.trim());
      resolve(error === null && Number.isFinite(value) ? value : undefined);
    });
  });
  return usableMemory(platform, total, limit);
}

/** The weights that load, and the shape, of a model on disk. */
export interface LocalModelFacts {
  weightsBytes: number;
  shape?: ModelShape;
}

/** The shards of a split GGUF ("x-00001-of-00003.gguf") or the file alone. */
function ggufParts(file: string): string[] {
  const match = /^(.*)-\d{5}-of-(\d{5})\.gguf$/i.exec(file);
  if (match?.[1] === undefined || match[2] === undefined) return [file];
  const count = Number(match[2]);
  return Array.from({ length: count }, (_, i) => `${match[1]}-${String(i + 1).padStart(5, "0")}-of-${match[2]}.gguf`);
}

function sizeOf(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

/** Reads what the estimate needs from a model's files: weights (.safetensors or the .gguf parts) and shape. */
export function localModelFacts(model: ResolvedModel): LocalModelFacts {
  if (model.format === "gguf") {
    const weightsBytes = ggufParts(model.path).reduce((sum, part) => sum + sizeOf(part), 0);
    try {
      const { architecture, keys } = readGgufShape(model.path);
      const shape = shapeFromGguf(architecture, keys);
      return { weightsBytes, ...(shape === undefined ? {} : { shape }) };
    } catch {
      return { weightsBytes };
    }
  }
  let names: string[] = [];
  try {
    names = fs.readdirSync(model.path);
  } catch {
    return { weightsBytes: model.size };
  }
  const weights = names.filter((n) => n.endsWith(".safetensors")).reduce((sum, n) => sum + sizeOf(path.join(model.path, n)), 0);
  let shape: ModelShape | undefined;
  try {
    shape = shapeFromConfig(JSON.parse(fs.readFileSync(path.join(model.path, "config.json"), "utf8")));
  } catch {
    shape = undefined;
  }
  return { weightsBytes: weights > 0 ? weights : model.size, ...(shape === undefined ? {} : { shape }) };
}

/** The need of a model with an engine's cache and overhead at a context (the profile's, else the engine's default). */
export function fitFor(facts: LocalModelFacts, engine: Pick<EngineDescription, "id" | "memory">, options: ProfileOptions, usable: UsableMemory, context?: number): MemoryFit {
  const memory = engine.memory;
  const ctx = context ?? memory.defaultContext(options, facts.shape?.maxContext);
  const kv = memory.kvPrecision?.(options);
  const sequences = memory.sequences?.(options) ?? 1;
  const whole = memoryNeed({ weightsBytes: facts.weightsBytes, ...(facts.shape === undefined ? {} : { shape: facts.shape }), context: ctx, family: memory.family, ...(kv === undefined ? {} : { kv }), overheadBytes: memory.overheadBytes, sequences });
  const need = perShard(whole, memory.shards?.(options) ?? 1);
  return {
    engine: engine.id,
    need,
    summary: describeNeed(need),
    usable: { bytes: usable.bytes, totalBytes: usable.totalBytes, basis: usable.basis },
    verdict: fitVerdict(need.totalBytes, usable.bytes),
    overheadMeasured: memory.overheadMeasured,
  };
}

/** Each machine's part of a model split across `shards` (tensor or pipeline parallel): its share of weights and cache, and a whole engine. */
export function perShard(need: MemoryNeed, shards: number): MemoryNeed {
  if (shards <= 1) return need;
  const weightsBytes = Math.ceil(need.weightsBytes / shards);
  const kvBytes = Math.ceil(need.kvBytes / shards);
  const stateBytes = Math.ceil(need.stateBytes / shards);
  return { ...need, weightsBytes, kvBytes, stateBytes, totalBytes: weightsBytes + kvBytes + stateBytes + need.overheadBytes, shards, notes: [...need.notes, `split across ${shards} machines: each holds about 1/${shards} of the weights and cache`] };
}

/** What a start says when the model does not fit: the numbers and what to do. */
export function doesNotFitMessage(name: string, fit: MemoryFit): string {
  const mac = fit.usable.basis.startsWith("the GPU") || fit.usable.basis.startsWith("macOS");
  return (
    `"${name}" needs about ${fit.summary}, more than the ${formatBytes(fit.usable.bytes)} this machine can give a model (${fit.usable.basis}). ` +
    `Pick a smaller quantization, or a shorter context (contextLength)${fit.need.context > 4096 ? ` than ${fit.need.context.toLocaleString("en-US")}` : ""}` +
    (mac ? `, or raise the limit with: sudo sysctl iogpu.wired_limit_mb=<MB>.` : ".")
  );
}

/** `POST /api/memory/estimate`: a model as a profile would name it, on an engine with options, against this machine. */
export function registerMemoryRoutes(app: FastifyInstance, deps: { catalog: ModelCatalog; engines: Readonly<Record<EngineId, EngineDescription>>; usable: () => UsableMemory }): void {
  app.post("/api/memory/estimate", async (request): Promise<MemoryFit> => {
    const body = parseOrThrow(MemoryEstimateRequest, request.body, "body");
    const model = resolveModel(body.model, deps.catalog);
    return fitFor(localModelFacts(model), deps.engines[body.engine], body.options ?? {}, deps.usable(), body.context);
  });
}
