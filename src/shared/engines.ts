import * as z from "zod";
import type { ModelFormat } from "./models";

/** The engines the manager runs (`mlx-distributed`: mlx_lm across several Macs, by mlx.launch), and `remote`: a server another machine runs (a remote backend's model). */
export const EngineId = z.enum(["mlx-lm", "mlx-openai-server", "llama-server", "llama", "remote", "mlx-distributed"]);
export type EngineId = z.infer<typeof EngineId>;

/** Names of the profile options an engine may take (see ProfileOptions). */
export type EngineOptionName =
  | "contextLength"
  | "maxTokens"
  | "temperature"
  | "topP"
  | "topK"
  | "minP"
  | "repetitionPenalty"
  | "seed"
  | "modelType"
  | "adapterPath"
  | "draftModel"
  | "trustRemoteCode"
  | "chatTemplate"
  | "threads"
  | "gpuLayers"
  | "embedding"
  | "numDraftTokens"
  | "chatTemplateArgs"
  | "chatTemplateFile"
  | "promptCacheSize"
  | "promptCacheBytes"
  | "decodeConcurrency"
  | "promptConcurrency"
  | "logLevel"
  | "enableAutoToolChoice"
  | "toolCallParser"
  | "reasoningParser"
  | "kvBits"
  | "kvGroupSize"
  | "disableBatching"
  | "queueSize"
  | "queueTimeoutSec"
  | "imageConfig"
  | "parallel"
  | "flashAttention"
  | "cacheTypeK"
  | "cacheTypeV"
  | "jinja"
  | "mmproj"
  | "metrics"
  | "extraArgs"
  | "env"
  | "placement"
  | "distributed";

/** What an engine is, as clients see it (the command-line builder lives in services). */
export interface EngineInfo {
  id: EngineId;
  label: string;
  /** Model formats it serves. */
  formats: readonly ModelFormat[];
  /** Options of a profile it honours; any other set option is a validation error. */
  options: readonly EngineOptionName[];
  /** Only Apple silicon can run it. */
  appleSiliconOnly: boolean;
  /** Executable name looked up on PATH ("" for the built-in engine). */
  executable: string;
  /** How a user installs it. */
  installHint: string;
  /** `remote`: nothing runs here; requests go to a remote backend (profiles of it are made from its model list). */
  runsHere: boolean;
}
