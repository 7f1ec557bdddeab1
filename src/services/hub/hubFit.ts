import type { EngineId } from "../../shared/engines";
import type { HubFile, HubModelInfo } from "../../shared/hub";
import type { HubFit, HubFitVariant } from "../../shared/memory";
import { ggufNameQuantization, ggufSplitGroup, readGgufShapeFrom } from "../cache/gguf";
import type { EngineDescription } from "../engines/registry";
import { fitVerdict, memoryNeed, type UsableMemory } from "../models/memoryFit";
import { shapeFromConfig, shapeFromGguf, type ModelShape } from "../models/modelShape";
import type { CallOptions, HubClient } from "./HubClient";

// Which variant of a Hub model fits this machine: the MLX quantizations of one model (sibling
// repos of the same author: -4bit, -6bit, -8bit, -bf16…) or the quant files of a GGUF repo, each
// with its need at 8k, 32k and the user's context. Only the repo asked about has its config.json
// (or one GGUF header) read — the variants share the shape — and each file once per content etag.

/** Suffixes of a quantized sibling's name: "Qwen3-8B-4bit-DWQ" → "Qwen3-8B". */
const QUANT_SUFFIX = /(?:[-_](?:\d+(?:\.\d+)?-?bits?|bf16|fp16|f16|fp8|fp32|mxfp4|nvfp4|mxfp8|dwq|dq\d*|awq|gptq|mlx|q\d(?:_k(?:_[msl])?)?))+$/i;

export function familyBase(name: string): string {
  return name.replace(QUANT_SUFFIX, "");
}

/** Bits of an MLX repo from its name: "-4bit" → 4, "-bf16" → 16, "-8bit-DWQ" → 8. */
export function bitsFromName(name: string): number | undefined {
  const bits = /[-_](\d+(?:\.\d+)?)-?bits?(?:[-_]|$)/i.exec(name)?.[1];
  if (bits !== undefined) return Number(bits);
  if (/[-_](?:bf16|fp16|f16)(?:[-_]|$)/i.test(name)) return 16;
  if (/[-_](?:fp8|mxfp8)(?:[-_]|$)/i.test(name)) return 8;
  if (/[-_](?:mxfp4|nvfp4)(?:[-_]|$)/i.test(name)) return 4;
  return undefined;
}

function weightsOf(files: HubFile[]): number {
  return files.filter((f) => f.path.endsWith(".safetensors")).reduce((sum, f) => sum + f.size, 0);
}

export interface HubFitDeps {
  hub: HubClient;
  engines: Readonly<Record<EngineId, Pick<EngineDescription, "memory">>>;
  usable: UsableMemory;
  platform: NodeJS.Platform;
}

/** The family of `info`'s repo against this machine, at 8k, 32k and `context`. */
export async function hubFit(deps: HubFitDeps, info: HubModelInfo, context: number | undefined, call: CallOptions = {}): Promise<HubFit> {
  const ggufs = info.files.filter((f) => f.path.endsWith(".gguf") && !/mmproj/i.test(f.path));
  const contexts = [...new Set([8192, 32_768, ...(context === undefined ? [] : [context])])].sort((a, b) => a - b);
  const chosen = context ?? 8192;
  // GGUF on a Mac runs on llama-server; elsewhere on the built-in engine.
  const engine: EngineId = ggufs.length > 0 ? (deps.platform === "darwin" ? "llama-server" : "llama") : "mlx-lm";
  const memory = deps.engines[engine].memory;
  let shape: ModelShape | undefined;
  const candidates: Omit<HubFitVariant, "needs">[] = [];
  if (ggufs.length > 0) {
    const groups = new Map<string, HubFile[]>();
    for (const file of ggufs) groups.set(ggufSplitGroup(file.path), [...(groups.get(ggufSplitGroup(file.path)) ?? []), file]);
    for (const [group, parts] of groups) {
      const first = [...parts].sort((a, b) => a.path.localeCompare(b.path))[0];
      if (first === undefined) continue;
      const quant = ggufNameQuantization(group);
      candidates.push({ repo: info.id, file: first.path, label: quant?.label ?? group.replace(/^.*\//, ""), ...(quant?.bits === undefined ? {} : { bits: quant.bits }), weightsBytes: parts.reduce((sum, p) => sum + p.size, 0), current: true });
    }
    // One header says the shape of every quant: the smallest file's.
    const smallest = [...ggufs].sort((a, b) => a.size - b.size)[0];
    if (smallest !== undefined) {
      const read = await deps.hub.readStart(info.id, info.commit, smallest, (reader) => readGgufShapeFrom(smallest.size, reader), call).catch(() => undefined);
      shape = read === undefined ? undefined : shapeFromGguf(read.architecture, read.keys);
    }
  } else {
    const configFile = info.files.find((f) => f.path === "config.json");
    if (configFile !== undefined) shape = shapeFromConfig(await deps.hub.rawConfig(info.id, info.commit, configFile, call));
    const [author, name = ""] = info.id.split("/");
    const base = familyBase(name);
    candidates.push({ repo: info.id, label: labelOf(name, info.quantization?.bits), ...bitsOf(name, info.quantization?.bits), weightsBytes: weightsOf(info.files), current: true });
    if (author !== undefined && base !== "") {
      const found = await deps.hub.search({ q: base, format: "mlx", sort: "downloads", limit: 50, page: 0 }, call).catch(() => undefined);
      const siblings = (found?.results ?? [])
        .map((r) => r.id)
        .filter((id) => id !== info.id && id.toLowerCase().startsWith(`${author.toLowerCase()}/`) && familyBase(id.slice(author.length + 1)).toLowerCase() === base.toLowerCase())
        .slice(0, 7);
      const resolved = await Promise.all(siblings.map(async (id) => ({ id, files: await deps.hub.resolveRevision(id, "main", call).then((r) => r.files, () => undefined) })));
      for (const { id, files } of resolved) {
        const weights = files === undefined ? 0 : weightsOf(files);
        if (weights === 0) continue;
        const sibling = id.slice(author.length + 1);
        candidates.push({ repo: id, label: labelOf(sibling, undefined), ...bitsOf(sibling, undefined), weightsBytes: weights, current: false });
      }
    }
  }
  const variants: HubFitVariant[] = candidates
    .map((variant) => ({
      ...variant,
      needs: contexts.map((ctx) => {
        const need = memoryNeed({ weightsBytes: variant.weightsBytes, ...(shape === undefined ? {} : { shape }), context: ctx, family: memory.family, overheadBytes: memory.overheadBytes });
        return { context: ctx, totalBytes: need.totalBytes, kvBytes: need.kvBytes, verdict: fitVerdict(need.totalBytes, deps.usable.bytes) };
      }),
    }))
    .sort((a, b) => a.weightsBytes - b.weightsBytes);
  const fitting = variants.filter((v) => v.needs.find((n) => n.context === chosen)?.verdict === "fits");
  const best = fitting.sort((a, b) => (b.bits ?? 0) - (a.bits ?? 0) || b.weightsBytes - a.weightsBytes)[0];
  return {
    repo: info.id,
    engine,
    contexts,
    usable: { bytes: deps.usable.bytes, totalBytes: deps.usable.totalBytes, basis: deps.usable.basis },
    variants,
    ...(best === undefined ? {} : { suggested: { repo: best.repo, ...(best.file === undefined ? {} : { file: best.file }), label: best.label } }),
    basis: shape === undefined ? "share" : "shape",
    notes: shape?.notes ?? ["the model's shape could not be read: the cache is a guess from the weights"],
  };
}

function bitsOf(name: string, configBits: number | undefined): { bits?: number } {
  const bits = configBits ?? bitsFromName(name);
  return bits === undefined ? {} : { bits };
}

function labelOf(name: string, configBits: number | undefined): string {
  const bits = configBits ?? bitsFromName(name);
  return bits === undefined ? name : bits === 16 ? "16-bit" : `${bits}-bit`;
}
