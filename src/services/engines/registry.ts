import type { EngineId, EngineInfo, EngineOptionName } from "../../shared/engines";
import type { ProfileOptions } from "../../shared/profiles";
import type { GatewayEndpoint } from "../../shared/usage";
import { httpOkProbe, type EngineProbe } from "./healthProbe";

/** What the supervisor knows when it launches a profile. */
export interface LaunchContext {
  /** Local path of the model: a snapshot folder (MLX) or a .gguf file. */
  modelPath: string;
  port: number;
  /** The name clients use for the model (the profile name). */
  alias: string;
  options: ProfileOptions;
  /** For the built-in engine: the Node binary and the bundled server script. */
  nodePath: string;
  llamaScript: string;
}

/** What a request to a server knows of its launch: enough to name the model the way the engine expects. */
export type RequestContext = Pick<LaunchContext, "modelPath" | "alias">;

/**
 * An engine is a description: how to build its command line, how to tell that its server is ready
 * and healthy, what a request's `model` must say, and what it can serve. The supervisor asks these
 * questions of the description and never of the engine's id.
 */
export interface EngineDescription extends EngineInfo {
  /** The argument array (never a shell string); `command` is the executable to find. */
  buildCommand(ctx: LaunchContext, executable: string): { command: string; args: string[] };
  /** Polled while a server starts (and for a re-adopted one that never got ready): passes once the model is loaded. */
  readiness: EngineProbe;
  /** Checked every few seconds while a server runs: failing checks make it `unhealthy`. */
  health: EngineProbe;
  /** The `model` the gateway sends upstream: what this engine was started to answer to. */
  requestModel(ctx: RequestContext): string;
  /** How the engine reports usage on a stream (see docs/ENGINES.md). */
  streamUsage: "include_usage_chunk" | "last_chunk";
  /**
   * Fields every relayed JSON request carries for this profile (a client's own value wins): what
   * the engine must hear per request rather than at start. mlx_lm.server: `adapters`.
   */
  requestFields?(options: ProfileOptions): Record<string, unknown>;
  /** Gateway routes the engine does not have, with what to tell the client instead of relaying its 404. */
  lacks?: Partial<Record<GatewayEndpoint, string>>;
  /** What is wrong with a profile's options for this engine that the option list cannot say (answered 400 on that field). */
  optionProblem?(options: ProfileOptions): { field: string; message: string } | undefined;
  /** A route that counts a chat prompt's tokens exactly (POST, a chat body → {prompt_tokens, context_size}); else the gateway estimates. */
  tokenizePath?: string;
}

const LOOPBACK = "127.0.0.1";

type Flag = readonly [EngineOptionName, string];

/** Appends `--flag value` for each option that is set, in a fixed order. */
function flags(options: ProfileOptions, table: readonly Flag[]): string[] {
  const out: string[] = [];
  for (const [name, flag] of table) {
    const value = options[name];
    if (value === undefined) continue;
    if (typeof value === "boolean") {
      if (value) out.push(flag);
    } else if (typeof value === "string" || typeof value === "number") {
      out.push(flag, String(value));
    }
  }
  return out;
}

const mlxLm: EngineDescription = {
  id: "mlx-lm",
  label: "mlx_lm.server",
  formats: ["mlx", "safetensors"],
  options: [
    "maxTokens",
    "temperature",
    "topP",
    "topK",
    "minP",
    "adapterPath",
    "draftModel",
    "trustRemoteCode",
    "chatTemplate",
    "extraArgs",
    "env",
  ],
  appleSiliconOnly: true,
  executable: "mlx_lm.server",
  installHint: "pip install mlx-lm",
  readiness: httpOkProbe("/health"),
  health: httpOkProbe("/health"),
  // It loads whatever a request names, so it is sent the model it was started with.
  requestModel: (ctx) => ctx.modelPath,
  // It keeps --adapter-path only for the model named "default_model" (and releases up to v0.31.3
  // ignore the flag): the request's `adapters` field applies it on every version (SERVER.md).
  requestFields: (options) => (options.adapterPath === undefined ? {} : { adapters: options.adapterPath }),
  streamUsage: "include_usage_chunk",
  buildCommand(ctx, executable) {
    const table: Flag[] = [
      ["maxTokens", "--max-tokens"],
      ["temperature", "--temp"],
      ["topP", "--top-p"],
      ["topK", "--top-k"],
      ["minP", "--min-p"],
      ["adapterPath", "--adapter-path"],
      ["draftModel", "--draft-model"],
      ["trustRemoteCode", "--trust-remote-code"],
      ["chatTemplate", "--chat-template"],
    ];
    return {
      command: executable,
      args: [
        "--model",
        ctx.modelPath,
        "--host",
        LOOPBACK,
        "--port",
        String(ctx.port),
        ...flags(ctx.options, table),
        ...(ctx.options.extraArgs ?? []),
      ],
    };
  },
};

const mlxOpenAiServer: EngineDescription = {
  id: "mlx-openai-server",
  label: "mlx-openai-server",
  formats: ["mlx", "safetensors"],
  options: [
    "contextLength",
    "maxTokens",
    "temperature",
    "topP",
    "topK",
    "minP",
    "repetitionPenalty",
    "seed",
    "modelType",
    "adapterPath",
    "draftModel",
    "trustRemoteCode",
    "extraArgs",
    "env",
  ],
  appleSiliconOnly: true,
  executable: "mlx-openai-server",
  installHint: "pipx install mlx-openai-server",
  readiness: httpOkProbe("/health"),
  health: httpOkProbe("/health"),
  // Started with --served-model-name: it answers 404 "Model '<x>' not found" to any other name.
  requestModel: (ctx) => ctx.alias,
  lacks: {
    completions: "mlx-openai-server has no /v1/completions (text completion): send the prompt to /v1/chat/completions as a user message, or use an mlx-lm profile, whose mlx_lm.server has both.",
  },
  streamUsage: "last_chunk",
  // --lora-paths is read by its Flux image handler only; a language model would start without the adapter.
  optionProblem: (options) =>
    options.adapterPath !== undefined && !["image-generation", "image-edit"].includes(options.modelType ?? "lm")
      ? {
          field: "options.adapterPath",
          message: `mlx-openai-server applies adapters (--lora-paths) to image models only; a ${options.modelType ?? "lm"} model would run without it. Use the mlx-lm engine (mlx_lm.server) for a language model with an adapter.`,
        }
      : undefined,
  buildCommand(ctx, executable) {
    const table: Flag[] = [
      ["contextLength", "--context-length"],
      ["maxTokens", "--max-tokens"],
      ["temperature", "--temperature"],
      ["topP", "--top-p"],
      ["topK", "--top-k"],
      ["minP", "--min-p"],
      ["repetitionPenalty", "--repetition-penalty"],
      ["seed", "--seed"],
      ["adapterPath", "--lora-paths"],
      ["draftModel", "--draft-model-path"],
      ["trustRemoteCode", "--trust-remote-code"],
    ];
    return {
      command: executable,
      args: [
        "launch",
        "--model-path",
        ctx.modelPath,
        "--model-type",
        ctx.options.modelType ?? "lm",
        "--served-model-name",
        ctx.alias,
        // Its default host is 0.0.0.0: always bind loopback; the manager is the only way in.
        "--host",
        LOOPBACK,
        "--port",
        String(ctx.port),
        // Logs go to stdout, which the supervisor writes to the server's log file.
        "--no-log-file",
        ...flags(ctx.options, table),
        ...(ctx.options.extraArgs ?? []),
      ],
    };
  },
};

const llamaServer: EngineDescription = {
  id: "llama-server",
  label: "llama-server (llama.cpp)",
  formats: ["gguf"],
  options: [
    "contextLength",
    "maxTokens",
    "temperature",
    "topP",
    "topK",
    "minP",
    "repetitionPenalty",
    "seed",
    "threads",
    "gpuLayers",
    "chatTemplate",
    "extraArgs",
    "env",
  ],
  appleSiliconOnly: false,
  executable: "llama-server",
  installHint: "brew install llama.cpp (macOS) or build llama.cpp and put llama-server on PATH",
  readiness: httpOkProbe("/health"),
  health: httpOkProbe("/health"),
  // Started with --alias: that is the name it answers to.
  requestModel: (ctx) => ctx.alias,
  streamUsage: "include_usage_chunk",
  buildCommand(ctx, executable) {
    const table: Flag[] = [
      ["contextLength", "--ctx-size"],
      ["maxTokens", "--n-predict"],
      ["temperature", "--temp"],
      ["topP", "--top-p"],
      ["topK", "--top-k"],
      ["minP", "--min-p"],
      ["repetitionPenalty", "--repeat-penalty"],
      ["seed", "--seed"],
      ["threads", "--threads"],
      ["gpuLayers", "--n-gpu-layers"],
      ["chatTemplate", "--chat-template"],
    ];
    return {
      command: executable,
      args: [
        "--model",
        ctx.modelPath,
        "--host",
        LOOPBACK,
        "--port",
        String(ctx.port),
        "--alias",
        ctx.alias,
        ...flags(ctx.options, table),
        ...(ctx.options.extraArgs ?? []),
      ],
    };
  },
};

const llama: EngineDescription = {
  id: "llama",
  label: "Built-in llama engine (node-llama-cpp)",
  formats: ["gguf"],
  options: ["contextLength", "threads", "seed", "embedding", "env"],
  appleSiliconOnly: false,
  executable: "",
  installHint: "npm run setup:llama (installs node-llama-cpp into .engines/llama)",
  readiness: httpOkProbe("/health"),
  health: httpOkProbe("/health"),
  // Started with --alias: that is the name it answers to.
  requestModel: (ctx) => ctx.alias,
  streamUsage: "include_usage_chunk",
  tokenizePath: "/tokenize",
  buildCommand(ctx) {
    const table: Flag[] = [
      ["contextLength", "--ctx-size"],
      ["threads", "--threads"],
      ["seed", "--seed"],
      ["embedding", "--embedding"],
    ];
    return {
      command: ctx.nodePath,
      args: [
        ctx.llamaScript,
        "--model",
        ctx.modelPath,
        "--host",
        LOOPBACK,
        "--port",
        String(ctx.port),
        "--alias",
        ctx.alias,
        ...flags(ctx.options, table),
      ],
    };
  },
};

/** Every engine the manager knows, by id. */
export const ENGINES: Readonly<Record<EngineId, EngineDescription>> = {
  "mlx-lm": mlxLm,
  "mlx-openai-server": mlxOpenAiServer,
  "llama-server": llamaServer,
  llama,
};

/** The client-facing part of a description. */
export function engineInfo(engine: EngineDescription): EngineInfo {
  const { id, label, formats, options, appleSiliconOnly, executable, installHint } = engine;
  return { id, label, formats, options, appleSiliconOnly, executable, installHint };
}
