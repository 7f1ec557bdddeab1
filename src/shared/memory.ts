import * as z from "zod";
import { EngineId } from "./engines";
import { ModelRef, ProfileOptions } from "./profiles";

// The memory estimate as the API gives it: what a model needs at a context on an engine, and
// whether this machine can give it (docs/memory.md has the formula).

/** What a model needs to serve `context` tokens. */
export interface MemoryNeed {
  /** The bytes of the files that load (every expert of a mixture-of-experts model). */
  weightsBytes: number;
  /** The attention cache at `context` tokens. */
  kvBytes: number;
  /** The fixed state of linear-attention or recurrent layers. */
  stateBytes: number;
  /** The engine's own memory (runtime, buffers). */
  overheadBytes: number;
  totalBytes: number;
  context: number;
  /** Parallel sequences with a cache of `context` each (the built-in engine's `parallel`); absent: one. */
  sequences?: number;
  /** Machines the model is split across; the figures are each one's part. Absent: one. */
  shards?: number;
  /** "shape": from config.json or the GGUF header; "share": a guess from the weights. */
  basis: "shape" | "share";
  notes: string[];
}

/** Fits with room (≤ 85 % of usable memory), tight (up to all of it), or does not fit. */
export type FitVerdict = "fits" | "tight" | "does_not_fit";

export interface UsableMemoryInfo {
  bytes: number;
  totalBytes: number;
  /** How it was found: the GPU's wired limit on macOS, memory less a headroom elsewhere. */
  basis: string;
}

/** A model on an engine against this machine. */
export interface MemoryFit {
  engine: EngineId;
  need: MemoryNeed;
  /** "12.3 GB (9.1 GB weights + 2.9 GB cache at 32,768 tokens + 400 MB engine)". */
  summary: string;
  usable: UsableMemoryInfo;
  verdict: FitVerdict;
  /** Whether the engine's overhead was measured on a machine like this one (else a documented figure). */
  overheadMeasured: boolean;
}

/** `POST /api/memory/estimate`: a model (as a profile names it) on an engine with options, at a context. */
export const MemoryEstimateRequest = z
  .object({
    model: ModelRef,
    engine: EngineId,
    options: ProfileOptions.optional(),
    context: z.int().min(128).max(10_000_000).optional(),
  })
  .strict();
export type MemoryEstimateRequest = z.input<typeof MemoryEstimateRequest>;

/** One variant of a model family on the Hub (an MLX quantization repo, or a GGUF quant file) at several contexts. */
export interface HubFitVariant {
  repo: string;
  /** GGUF: the file (the first part of a split one). */
  file?: string;
  /** "4-bit", "bf16", "Q4_K_M"… */
  label: string;
  bits?: number;
  weightsBytes: number;
  needs: { context: number; totalBytes: number; kvBytes: number; verdict: FitVerdict }[];
  /** The repo (and file) asked about. */
  current: boolean;
}

/** `GET /api/hub/fit?repo=&context=`: a Hub model's family against this machine. */
export interface HubFit {
  repo: string;
  engine: EngineId;
  /** 8k, 32k and the user's chosen context (sorted, unique). */
  contexts: number[];
  usable: UsableMemoryInfo;
  variants: HubFitVariant[];
  /** The variant with the most bits that fits at the chosen context, if one does. */
  suggested?: { repo: string; file?: string; label: string };
  /** What the shape was read from and what it says. */
  basis: "shape" | "share";
  notes: string[];
}

/** "12.3 GB" (decimal gigabytes, as macOS shows memory), "850 MB" under one: how every memory figure is shown. */
export function formatMemory(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(bytes >= 1e11 ? 0 : 1)} GB`;
  return `${Math.max(1, Math.round(bytes / 1e6))} MB`;
}
