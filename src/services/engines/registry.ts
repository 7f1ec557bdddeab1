import type { EngineId, EngineInfo, EngineOptionName } from "../../shared/engines";
import type { ProfileCapabilities, ProfileOptions } from "../../shared/profiles";
import type { ModelFacts } from "./modelFacts";
import type { GatewayEndpoint } from "../../shared/usage";
import { siblingCommand, type EngineVersionQuery } from "../servers/engineVersion";
import { httpOkProbe, warmUpProbe, type EngineProbe } from "./healthProbe";
import type { CacheFamily, KvPrecision } from "../models/memoryFit";
import path from "node:path";
import type { DistributedOptions } from "../../shared/distributed";
import { buildHostfile, hostListProblem, rankHosts, sshTarget } from "../distributed/hostfile";

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
  /** The profile's id (a distributed engine marks every rank's process with it). */
  profileId?: string;
  /** The model's Hugging Face repo id when it comes from the cache (each host of a distributed run finds it in its own cache). */
  modelRepo?: string;
  /** Where the files of `launchFiles` are written before the spawn (a folder of the server's own). */
  filesDir?: string;
}

/** What a request to a server knows of its launch: enough to name the model the way the engine expects. */
export type RequestContext = Pick<LaunchContext, "modelPath" | "alias" | "modelRepo">;

/**
 * An engine whose ranks run on other machines too (mlx.launch over ssh): which hosts, the Python
 * that runs there, and the mark on the command line of every rank's process, by which the manager
 * finds and ends them on each host (mlx.launch itself ends nothing when it is stopped).
 */
export interface RanksElsewhere {
  /** The ssh targets of ranks 1, 2, … (rank 0 runs here). */
  hosts(options: ProfileOptions): string[];
  python(options: ProfileOptions): string;
  /** A word on every rank's command line that names the profile (searched with pgrep -f). */
  marker(profileId: string): string;
}

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
  /** Read from the log while a server starts: why its model failed to load although the process runs on (else undefined). */
  loadFailure?(log: readonly string[]): string | undefined;
  /**
   * How fast it loads a model from disk, for the start timeout: the supervisor's timeout plus the
   * model's size at this rate (a 70B model takes minutes).
   */
  loadBytesPerSecond: number;
  /**
   * Requests it answers at once (its parallel slots): the gateway sends it no more and queues the
   * rest in order. MLX engines batch up to their decode concurrency.
   */
  slots(options: ProfileOptions): number;
  /** How it keeps its attention cache, for the memory estimate (docs/memory.md). */
  memory: {
    family: CacheFamily;
    /** The engine's own memory besides weights and cache (runtime, compute buffers); `measured` says whether on this machine. */
    overheadBytes: number;
    overheadMeasured: boolean;
    /** The context the estimate uses when the profile sets none (`maxContext`: the model's own). */
    defaultContext(options: ProfileOptions, maxContext: number | undefined): number;
    /** The cache's precision when the profile quantizes it (undefined: 16-bit). */
    kvPrecision?(options: ProfileOptions): KvPrecision | undefined;
    /**
     * Caches of the whole context the engine allocates (the built-in engine: one per parallel
     * sequence). Absent: one — llama-server's -c is shared by its slots, and the MLX engines grow
     * each batched request's cache as it goes, so the profile's context stands for all of them.
     */
    sequences?(options: ProfileOptions): number;
    /** Machines the model is split across (weights and cache shared out evenly); absent: one. The estimate is per machine. */
    shards?(options: ProfileOptions): number;
  };
  /** What a profile of this engine can do, from its options and what the model's files say. */
  capabilities(options: ProfileOptions, model: ModelFacts): ProfileCapabilities;
  /** How to read its version, and the oldest the manager works with. */
  version?: EngineVersionQuery;
  /**
   * Why the engine cannot follow a JSON schema or JSON mode (Chat Completions' `response_format`,
   * the Responses API's `text.format`) for this profile; undefined when it can.
   */
  structuredOutputProblem?(options: ProfileOptions, kind: "json_schema" | "json_object"): string | undefined;
  /** Files written into LaunchContext.filesDir before the spawn (name → content): mlx.launch's host file. */
  launchFiles?(ctx: LaunchContext): Record<string, string>;
  /** Set for an engine whose ranks run on other machines too. */
  elsewhere?: RanksElsewhere;
  /** A route that counts a chat prompt's tokens exactly (POST, a chat body → {prompt_tokens, context_size}); else the gateway estimates. */
  tokenizePath?: string;
}

const LOOPBACK = "127.0.0.1";

/**
 * The built-in engine's memory besides weights and cache, measured on this machine (Node, node-llama-cpp
 * and llama.cpp's CPU buffers at rest after a load; test/integration/memory-estimate.test.ts checks the
 * estimate against measured RSS), and llama.cpp's share of it for llama-server.
 */
const LLAMA_ENGINE_OVERHEAD = 130e6;
const LLAMA_CPP_OVERHEAD = LLAMA_ENGINE_OVERHEAD - 45e6;

/** llama-server's cache precision from --cache-type-k/-v: the mean of the two (q8_0 → 8 bits, f16 → 16). */
function llamaCacheBits(options: ProfileOptions): KvPrecision | undefined {
  const bits = (type: string | undefined): number => (type === undefined ? 16 : type === "f32" ? 32 : /^(?:iq|q)(\d)/.exec(type)?.[1] !== undefined ? Number(/^(?:iq|q)(\d)/.exec(type)?.[1]) : 16);
  if (options.cacheTypeK === undefined && options.cacheTypeV === undefined) return undefined;
  return { bits: (bits(options.cacheTypeK) + bits(options.cacheTypeV)) / 2, groupSize: 32 };
}

/** An option and its flag; a third name is the flag for `false` (llama-server's `--no-jinja`). */
type Flag = readonly [EngineOptionName, string, string?];

/** Appends `--flag value` for each option that is set, in a fixed order (objects as JSON). */
function flags(options: ProfileOptions, table: readonly Flag[]): string[] {
  const out: string[] = [];
  for (const [name, flag, negative] of table) {
    const value = options[name];
    if (value === undefined) continue;
    if (typeof value === "boolean") {
      if (value) out.push(flag);
      else if (negative !== undefined) out.push(negative);
    } else if (typeof value === "string" || typeof value === "number") {
      out.push(flag, String(value));
    } else if (typeof value === "object" && !Array.isArray(value)) {
      out.push(flag, JSON.stringify(value));
    }
  }
  return out;
}

/**
 * The failure of a Python engine's model load, from its log: the exception line that ends the last
 * traceback ("FileNotFoundError: …"), once the traceback is complete.
 */
export function pythonLoadFailure(log: readonly string[]): string | undefined {
  let start = -1;
  for (let i = log.length - 1; i >= 0; i--) {
    if ((log[i] ?? "").startsWith("Traceback (most recent call last):")) {
      start = i;
      break;
    }
  }
  if (start < 0) return undefined;
  // The frames are indented; the exception is the first line after them that is not.
  for (let i = start + 1; i < log.length; i++) {
    const line = log[i] ?? "";
    if (line !== "" && !/^\s/.test(line)) return line.trim();
  }
  return undefined;
}

/** A draft length without a draft model does nothing: say so. */
function draftProblem(options: ProfileOptions): { field: string; message: string } | undefined {
  return options.numDraftTokens !== undefined && options.draftModel === undefined
    ? { field: "options.numDraftTokens", message: "numDraftTokens sets how many tokens the draft model proposes: set options.draftModel too, or remove it." }
    : undefined;
}

/** mlx_lm.server's flags for profile options (mlx-lm v0.31.3). */
const MLX_LM_FLAGS: readonly Flag[] = [
  ["maxTokens", "--max-tokens"],
  ["temperature", "--temp"],
  ["topP", "--top-p"],
  ["topK", "--top-k"],
  ["minP", "--min-p"],
  ["adapterPath", "--adapter-path"],
  ["draftModel", "--draft-model"],
  ["numDraftTokens", "--num-draft-tokens"],
  ["trustRemoteCode", "--trust-remote-code"],
  ["chatTemplate", "--chat-template"],
  ["chatTemplateArgs", "--chat-template-args"],
  ["promptCacheSize", "--prompt-cache-size"],
  ["promptCacheBytes", "--prompt-cache-bytes"],
  ["decodeConcurrency", "--decode-concurrency"],
  ["promptConcurrency", "--prompt-concurrency"],
  ["logLevel", "--log-level"],
];

/** What mlx_lm refuses distributed ("Loading with adapters or draft models not supported in distributed mode"). */
const NOT_DISTRIBUTED: readonly EngineOptionName[] = ["adapterPath", "draftModel", "numDraftTokens"];

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
    "numDraftTokens",
    "trustRemoteCode",
    "chatTemplate",
    "chatTemplateArgs",
    "promptCacheSize",
    "promptCacheBytes",
    "decodeConcurrency",
    "promptConcurrency",
    "logLevel",
    "extraArgs",
    "env",
  ],
  appleSiliconOnly: true,
  executable: "mlx_lm.server",
  installHint: "pip install mlx-lm",
  runsHere: true,
  // Its /health answers 200 at once and the model loads in a background thread; a request waits for
  // the load (and forever when it failed). Ready = a 1-token completion answered; the log is watched
  // for the traceback of a failed load meanwhile.
  readiness: warmUpProbe("/v1/completions"),
  loadFailure: pythonLoadFailure,
  loadBytesPerSecond: 200e6,
  // Batched decoding (--decode-concurrency, 32 by default); a draft model turns batching off.
  slots: (options) => (options.draftModel !== undefined ? 1 : (options.decodeConcurrency ?? 32)),
  memory: {
    family: "mlx",
    // Python, MLX and the server at rest, besides weights and cache; not measured here (no Apple silicon).
    overheadBytes: 400e6,
    overheadMeasured: false,
    // No context flag: the cache grows with the conversation; the estimate takes a long chat.
    defaultContext: (_options, maxContext) => Math.min(maxContext ?? 8192, 8192),
  },
  version: {
    command: siblingCommand("mlx_lm"),
    parse: (output) => /^\s*(\d+\.\d+\.\d+\S*)\s*$/m.exec(output)?.[1],
    upgrade: "pip install -U mlx-lm",
  },
  health: httpOkProbe("/health"),
  // It loads whatever a request names, so it is sent the model it was started with.
  requestModel: (ctx) => ctx.modelPath,
  // It keeps --adapter-path only for the model named "default_model" (and releases up to v0.31.3
  // ignore the flag): the request's `adapters` field applies it on every version (SERVER.md).
  requestFields: (options) => (options.adapterPath === undefined ? {} : { adapters: options.adapterPath }),
  // server.py never reads response_format (ml-explore/mlx-lm#1007): the answer would be free text.
  structuredOutputProblem: () =>
    "mlx_lm.server cannot hold its output to a JSON schema (it ignores response_format). Use an mlx-openai-server profile, llama-server or the llama engine for structured output.",
  // It passes a request's tools to the chat template and parses the calls the tokenizer knows: only
  // a model whose template takes tools calls them. No context flag: the model's own length applies.
  capabilities: (_options, model) => ({
    toolCalling: model.templateTakesTools === true,
    imageInput: false,
    ...(model.contextLength === undefined ? {} : { contextLength: model.contextLength }),
  }),
  optionProblem: (options) => draftProblem(options),
  streamUsage: "include_usage_chunk",
  buildCommand(ctx, executable) {
    const table = MLX_LM_FLAGS;
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
    "numDraftTokens",
    "trustRemoteCode",
    "enableAutoToolChoice",
    "toolCallParser",
    "reasoningParser",
    "chatTemplateFile",
    "kvBits",
    "kvGroupSize",
    "promptCacheSize",
    "promptCacheBytes",
    "decodeConcurrency",
    "promptConcurrency",
    "disableBatching",
    "queueSize",
    "queueTimeoutSec",
    "imageConfig",
    "logLevel",
    "extraArgs",
    "env",
  ],
  appleSiliconOnly: true,
  executable: "mlx-openai-server",
  installHint: "pipx install mlx-openai-server",
  runsHere: true,
  // It does not listen until its model is loaded (and exits when the load fails or takes 300 s):
  // connections are refused meanwhile, then /health answers 200.
  readiness: httpOkProbe("/health"),
  loadBytesPerSecond: 200e6,
  // Its batch scheduler decodes up to --decode-concurrency (32) at once; --disable-batching or a draft model: one at a time.
  slots: (options) => (options.disableBatching === true || options.draftModel !== undefined ? 1 : (options.decodeConcurrency ?? 32)),
  memory: {
    family: "mlx",
    // The API process and the model process; not measured here (no Apple silicon).
    overheadBytes: 600e6,
    overheadMeasured: false,
    defaultContext: (options, maxContext) => options.contextLength ?? Math.min(maxContext ?? 8192, 8192),
    kvPrecision: (options) => (options.kvBits === undefined ? undefined : { bits: options.kvBits, groupSize: options.kvGroupSize ?? 64 }),
  },
  version: {
    command: (executable) => ({ command: executable, args: ["--version"] }),
    // Its click version option prints a banner whose last line is "🚀 Version: 1.8.1" (app/cli.py, since v1.5.0).
    parse: (output) => /Version: v?(\d+\.\d+\.\d+\S*)/.exec(output)?.[1],
    floor: { version: "1.7.0", reason: "--served-model-name, the name the gateway sends, and --repetition-penalty came in 1.7.0" },
    upgrade: "pipx upgrade mlx-openai-server (or pip install -U mlx-openai-server)",
  },
  health: httpOkProbe("/health"),
  // Started with --served-model-name: it answers 404 "Model '<x>' not found" to any other name.
  requestModel: (ctx) => ctx.alias,
  // It enforces a json_schema with outlines' logits processor; json_object passes without effect.
  structuredOutputProblem: (_options, kind) =>
    kind === "json_object" ? "mlx-openai-server accepts JSON mode but does not enforce it. Send a json_schema format (the schema your answer must follow) instead." : undefined,
  lacks: {
    completions: "mlx-openai-server has no /v1/completions (text completion): send the prompt to /v1/chat/completions as a user message, or use an mlx-lm profile, whose mlx_lm.server has both.",
  },
  streamUsage: "last_chunk",
  // Tool calls come back parsed only with a tool-call parser and auto tool choice; images only to a multimodal model.
  capabilities: (options, model) => {
    const type = options.modelType ?? "lm";
    const chats = type === "lm" || type === "multimodal";
    const context = options.contextLength ?? model.contextLength;
    return {
      toolCalling: chats && options.enableAutoToolChoice === true && options.toolCallParser !== undefined,
      imageInput: type === "multimodal",
      ...(context === undefined ? {} : { contextLength: context }),
    };
  },
  optionProblem: (options) => {
    const type = options.modelType ?? "lm";
    const image = type === "image-generation" || type === "image-edit";
    // --lora-paths is read by its Flux image handler only; a language model would start without the adapter.
    if (options.adapterPath !== undefined && !image)
      return {
        field: "options.adapterPath",
        message: `mlx-openai-server applies adapters (--lora-paths) to image models only; a ${type} model would run without it. Use the mlx-lm engine (mlx_lm.server) for a language model with an adapter.`,
      };
    if (options.imageConfig !== undefined && !image)
      return { field: "options.imageConfig", message: `imageConfig (--config-name) is for image-generation and image-edit models; this profile's modelType is ${type}.` };
    if (options.enableAutoToolChoice === true && options.toolCallParser === undefined)
      return { field: "options.toolCallParser", message: "enableAutoToolChoice needs a tool-call parser that matches the model's format (e.g. qwen3, hermes, glm4_moe): set options.toolCallParser." };
    return draftProblem(options);
  },
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
      ["numDraftTokens", "--num-draft-tokens"],
      ["trustRemoteCode", "--trust-remote-code"],
      ["enableAutoToolChoice", "--enable-auto-tool-choice"],
      ["toolCallParser", "--tool-call-parser"],
      ["reasoningParser", "--reasoning-parser"],
      ["chatTemplateFile", "--chat-template-file"],
      ["kvBits", "--kv-bits"],
      ["kvGroupSize", "--kv-group-size"],
      ["promptCacheSize", "--prompt-cache-size"],
      ["promptCacheBytes", "--max-bytes"],
      ["decodeConcurrency", "--decode-concurrency"],
      ["promptConcurrency", "--prompt-concurrency"],
      ["disableBatching", "--disable-batching"],
      ["queueSize", "--queue-size"],
      ["queueTimeoutSec", "--queue-timeout"],
      ["imageConfig", "--config-name"],
      ["logLevel", "--log-level"],
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
    "parallel",
    "flashAttention",
    "cacheTypeK",
    "cacheTypeV",
    "jinja",
    "chatTemplate",
    "chatTemplateFile",
    "chatTemplateArgs",
    "mmproj",
    "draftModel",
    "adapterPath",
    "embedding",
    "metrics",
    "extraArgs",
    "env",
  ],
  appleSiliconOnly: false,
  executable: "llama-server",
  installHint: "brew install llama.cpp (macOS) or build llama.cpp and put llama-server on PATH",
  runsHere: true,
  // /health answers 503 "Loading model" until it is loaded.
  readiness: httpOkProbe("/health"),
  loadBytesPerSecond: 200e6,
  // -np slots; llama-server's default (-1, auto) gives 4.
  slots: (options) => options.parallel ?? 4,
  memory: {
    family: "llama.cpp",
    // llama.cpp's own buffers: the built-in engine's figure less Node's (llama-server is not on this machine).
    overheadBytes: LLAMA_CPP_OVERHEAD,
    overheadMeasured: false,
    // llama-server's -c defaults to 4096.
    defaultContext: (options) => options.contextLength ?? 4096,
    kvPrecision: (options) => llamaCacheBits(options),
  },
  version: {
    command: (executable) => ({ command: executable, args: ["--version"] }),
    // "version: 6789 (abcdef0)" on stderr
    parse: (output) => /version: (\d+ \([0-9a-f]+\))/.exec(output)?.[1],
    upgrade: "brew upgrade llama.cpp (or rebuild llama.cpp)",
  },
  health: httpOkProbe("/health"),
  // Started with --alias: that is the name it answers to.
  requestModel: (ctx) => ctx.alias,
  // Its -n/--n-predict is the default and also the cap of every request; the profile's maxTokens is
  // meant as the default only, so it goes in each request (a client's own max_tokens wins).
  requestFields: (options) => (options.maxTokens === undefined ? {} : { max_tokens: options.maxTokens }),
  // Its Jinja templates (on unless --no-jinja) take tools, with a generic format for models without one.
  capabilities: (options) => ({
    toolCalling: options.jinja !== false,
    imageInput: options.mmproj !== undefined,
    ...(options.contextLength === undefined ? {} : { contextLength: options.contextLength }),
  }),
  optionProblem: (options) => {
    if (options.chatTemplate !== undefined && options.chatTemplateFile !== undefined)
      return { field: "options.chatTemplateFile", message: "Give the chat template either inline (chatTemplate) or as a file (chatTemplateFile), not both." };
    if (options.chatTemplateArgs !== undefined && options.jinja === false)
      return { field: "options.chatTemplateArgs", message: "chatTemplateArgs are variables of a Jinja template: they need jinja on (remove \"jinja\": false)." };
    return undefined;
  },
  streamUsage: "include_usage_chunk",
  buildCommand(ctx, executable) {
    const table: Flag[] = [
      ["contextLength", "--ctx-size"],
      // maxTokens is not passed as --n-predict, which would cap every request as well: it is sent
      // as each request's default max_tokens instead (requestFields), as the MLX engines use theirs.
      ["temperature", "--temp"],
      ["topP", "--top-p"],
      ["topK", "--top-k"],
      ["minP", "--min-p"],
      ["repetitionPenalty", "--repeat-penalty"],
      ["seed", "--seed"],
      ["threads", "--threads"],
      ["gpuLayers", "--n-gpu-layers"],
      ["parallel", "--parallel"],
      ["flashAttention", "--flash-attn"],
      ["cacheTypeK", "--cache-type-k"],
      ["cacheTypeV", "--cache-type-v"],
      // --jinja before --chat-template: without it only built-in template names are accepted.
      ["jinja", "--jinja", "--no-jinja"],
      ["chatTemplate", "--chat-template"],
      ["chatTemplateFile", "--chat-template-file"],
      ["chatTemplateArgs", "--chat-template-kwargs"],
      ["mmproj", "--mmproj"],
      ["draftModel", "--model-draft"],
      ["adapterPath", "--lora"],
      ["embedding", "--embedding"],
      ["metrics", "--metrics"],
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
  options: ["contextLength", "threads", "parallel", "seed", "embedding", "env"],
  appleSiliconOnly: false,
  executable: "",
  installHint: "npm run setup:llama (installs node-llama-cpp into .engines/llama)",
  runsHere: true,
  readiness: httpOkProbe("/health"),
  // Its --parallel stops at 64 sequences (profiles allow llama-server's 256 slots).
  optionProblem: (options) =>
    options.parallel !== undefined && options.parallel > 64
      ? { field: "options.parallel", message: `The built-in engine runs at most 64 parallel sequences, not ${options.parallel}: each holds a cache of the whole context. Use 64 or fewer.` }
      : undefined,
  loadBytesPerSecond: 200e6,
  // --parallel sequences (default 1), each generating at once.
  slots: (options) => options.parallel ?? 1,
  memory: {
    family: "llama.cpp",
    overheadBytes: LLAMA_ENGINE_OVERHEAD,
    overheadMeasured: true,
    // The engine caps an unset context at 4096 (or the model's own, when smaller).
    defaultContext: (options, maxContext) => options.contextLength ?? Math.min(maxContext ?? 4096, 4096),
    // --ctx-size is per sequence: node-llama-cpp gives each of the --parallel sequences its own.
    sequences: (options) => options.parallel ?? 1,
  },
  health: httpOkProbe("/health"),
  // Started with --alias: that is the name it answers to.
  requestModel: (ctx) => ctx.alias,
  streamUsage: "include_usage_chunk",
  tokenizePath: "/tokenize",
  // node-llama-cpp's function calling: the model's template syntax, else its generic one.
  capabilities: (options) => ({
    toolCalling: true,
    imageInput: false,
    ...(options.contextLength === undefined ? {} : { contextLength: options.contextLength }),
  }),
  buildCommand(ctx) {
    const table: Flag[] = [
      ["contextLength", "--ctx-size"],
      ["threads", "--threads"],
      ["parallel", "--parallel"],
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

/**
 * A model another machine serves (a remote backend: another manager's team server, LM Studio,
 * Ollama, vLLM, LiteLLM). Nothing is launched: the remote backends service checks it and the
 * gateway relays to it (src/services/remotes). Its options are what the gateway itself needs.
 */
const remote: EngineDescription = {
  id: "remote",
  label: "Remote backend (OpenAI-compatible)",
  formats: [],
  options: ["contextLength", "parallel", "placement"],
  appleSiliconOnly: false,
  executable: "",
  installHint: "Add the backend with MLX: Add Remote Backend (or `mlx-manager remotes add URL`).",
  runsHere: false,
  readiness: httpOkProbe("/v1/models"),
  health: httpOkProbe("/v1/models"),
  loadBytesPerSecond: 1e12,
  // The backend has its own queue; the gateway sends it at most this many at once (`parallel`, default 16).
  slots: (options) => options.parallel ?? 16,
  memory: { family: "llama.cpp", overheadBytes: 0, overheadMeasured: false, defaultContext: (options) => options.contextLength ?? 0, sequences: () => 0 },
  requestModel: (ctx) => ctx.alias,
  streamUsage: "include_usage_chunk",
  // What the backend's model can do is its own business: the gateway relays tools and images as sent.
  capabilities: (options) => ({ toolCalling: true, imageInput: true, ...(options.contextLength === undefined ? {} : { contextLength: options.contextLength }) }),
  buildCommand() {
    throw new Error("A remote profile runs nothing on this machine: its backend serves it.");
  },
};

/** mlx_lm's server flags a distributed profile may set (not adapters or a draft model). */
const MLX_LM_DISTRIBUTED_FLAGS: readonly Flag[] = MLX_LM_FLAGS.filter(([name]) => !NOT_DISTRIBUTED.includes(name));

/** The host file's name in the server's files folder. */
const HOSTFILE = "hostfile.json";

function distributedOf(options: ProfileOptions): DistributedOptions {
  if (options.distributed === undefined) throw new Error("an mlx-distributed profile needs options.distributed");
  return options.distributed;
}

/**
 * mlx_lm's server across several Macs: `mlx.launch --hostfile … --backend … -- <python> -m mlx_lm
 * server --model <repo> [--pipeline]` (mlx-lm ≥ 0.30.6, mlx.launch of mlx; see docs/ENGINES.md).
 * Rank 0 is this Mac and serves HTTP on loopback; each other host loads its share of the model from
 * its own Hugging Face cache (offline: the pre-start check makes sure it is there, nothing
 * downloads behind the user's back). Every rank's python carries `-X mlx_manager_profile=<id>`
 * (CPython keeps any -X option in sys._xoptions), by which the manager finds it on each host.
 */
const mlxDistributed: EngineDescription = {
  id: "mlx-distributed",
  label: "Distributed mlx_lm (mlx.launch)",
  formats: ["mlx", "safetensors"],
  options: ["distributed", ...mlxLm.options.filter((name) => !NOT_DISTRIBUTED.includes(name))],
  appleSiliconOnly: true,
  executable: "mlx.launch",
  installHint: "pip install mlx mlx-lm on every Mac (mlx.launch comes with mlx; mlx-lm 0.30.6 or later)",
  runsHere: true,
  // Rank 0 does not listen until every rank has joined (mx.distributed.init() blocks), then as mlx_lm.server.
  readiness: warmUpProbe("/v1/completions"),
  loadFailure: pythonLoadFailure,
  // Each host reads its share; the network joins them.
  loadBytesPerSecond: 200e6,
  slots: (options) => options.decodeConcurrency ?? 32,
  memory: {
    family: "mlx",
    overheadBytes: 400e6,
    overheadMeasured: false,
    defaultContext: (_options, maxContext) => Math.min(maxContext ?? 8192, 8192),
    shards: (options) => 1 + (options.distributed?.hosts.length ?? 0),
  },
  health: httpOkProbe("/health"),
  // Started with the repo id (each host resolves it in its own cache): requests name the same.
  requestModel: (ctx) => ctx.modelRepo ?? ctx.modelPath,
  structuredOutputProblem: () => "mlx_lm's server cannot hold its output to a JSON schema (it ignores response_format), distributed or not.",
  capabilities: (options, model) => mlxLm.capabilities(options, model),
  optionProblem: (options) => {
    const d = options.distributed;
    if (d === undefined) return { field: "options.distributed", message: 'A distributed profile needs options.distributed: {"python": "/path/to/python", "hosts": [{"ssh": "other-mac", "ips": ["…"]}], "local": {"ips": ["…"]}}.' };
    const problem = hostListProblem(d.backend, rankHosts(d));
    return problem === undefined ? undefined : { field: `options.distributed.${problem.field}`, message: problem.message };
  },
  streamUsage: "include_usage_chunk",
  elsewhere: {
    hosts: (options) => distributedOf(options).hosts.map((h) => sshTarget(distributedOf(options), h)),
    python: (options) => distributedOf(options).python,
    marker: (profileId) => `mlx_manager_profile=${profileId}`,
  },
  launchFiles(ctx) {
    const d = distributedOf(ctx.options);
    // Offline: a host without the model fails its load instead of downloading it unasked. The
    // profile's env goes to every rank (mlx.launch exports the host file's envs on each host).
    const envs = ["HF_HUB_OFFLINE=1", ...Object.entries(ctx.options.env ?? {}).map(([k, v]) => `${k}=${v}`)];
    return { [HOSTFILE]: `${JSON.stringify(buildHostfile(d.backend, rankHosts(d), envs), null, 2)}\n` };
  },
  buildCommand(ctx, executable) {
    const d = distributedOf(ctx.options);
    if (ctx.filesDir === undefined || ctx.profileId === undefined) throw new Error("a distributed launch needs its files folder and profile id");
    return {
      command: executable,
      args: [
        "--hostfile",
        path.join(ctx.filesDir, HOSTFILE),
        "--backend",
        d.backend,
        "--starting-port",
        String(d.startingPort),
        "--",
        d.python,
        "-X",
        `mlx_manager_profile=${ctx.profileId}`,
        "-m",
        "mlx_lm",
        "server",
        "--model",
        ctx.modelRepo ?? ctx.modelPath,
        "--host",
        LOOPBACK,
        "--port",
        String(ctx.port),
        ...(d.pipeline ? ["--pipeline"] : []),
        ...flags(ctx.options, MLX_LM_DISTRIBUTED_FLAGS),
        ...(ctx.options.extraArgs ?? []),
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
  remote,
  "mlx-distributed": mlxDistributed,
};

/** The client-facing part of a description. */
export function engineInfo(engine: EngineDescription): EngineInfo {
  const { id, label, formats, options, appleSiliconOnly, executable, installHint, runsHere } = engine;
  return { id, label, formats, options, appleSiliconOnly, executable, installHint, runsHere };
}
