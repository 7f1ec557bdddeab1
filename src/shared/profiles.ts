import * as z from "zod";
import { EngineId } from "./engines";
import { DistributedOptions } from "./distributed";
import { RemotePlacement } from "./remotes";

/** Where a profile's model comes from: a repo in the HF cache, or a local path. */
export const ModelRef = z.discriminatedUnion("source", [
  z.object({
    source: z.literal("cache"),
    repoId: z.string().min(1).max(200),
    /** Commit or ref; the repo's `main` ref (or only revision) when absent. */
    revision: z.string().min(1).max(200).optional(),
    /** For GGUF repos: which file to serve (required when the repo has several). */
    file: z.string().min(1).max(500).optional(),
  }),
  z.object({
    source: z.literal("path"),
    path: z.string().min(1).max(4096),
  }),
  z.object({
    source: z.literal("remote"),
    /** The remote backend's id (GET /api/remotes). */
    backend: z.string().min(1).max(200),
    /** The model as the backend's /v1/models names it. */
    model: z.string().min(1).max(1000),
  }),
]);
export type ModelRef = z.infer<typeof ModelRef>;

/** A profile's model for people: `org/name[@revision][:file]`, the path, or `model on backend`. */
export function modelRefLabel(m: ModelRef, backendName?: (id: string) => string | undefined): string {
  if (m.source === "path") return m.path;
  if (m.source === "remote") return `${m.model} on ${backendName?.(m.backend) ?? m.backend}`;
  return `${m.repoId}${m.revision ? `@${m.revision}` : ""}${m.file ? `:${m.file}` : ""}`;
}

/** mlx-openai-server's parsers at v1.8.1 (app/parsers/__init__.py): the names its --tool-call-parser takes. */
export const TOOL_CALL_PARSERS = ["functiongemma", "gemma4", "glm4_moe", "harmony", "hermes", "iquest_coder_v1", "kimi_k2", "longcat_flash_lite", "minimax_m2", "nemotron3_nano", "qwen3", "qwen3_coder", "qwen3_moe", "qwen3_vl", "solar_open", "step_35"] as const;
/** …and its --reasoning-parser. */
export const REASONING_PARSERS = ["gemma4", "glm47_flash", "glm4_moe", "harmony", "hermes", "kimi_k2", "minimax_m2", "mixed_think_tool_handoff", "nemotron3_nano", "qwen3", "qwen3_5", "qwen3_moe", "qwen3_vl", "solar_open", "step_35"] as const;
/** llama.cpp's KV cache types (-ctk / -ctv). */
const KV_CACHE_TYPES = ["f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "iq4_nl", "q5_0", "q5_1"] as const;
const JsonValue: z.ZodType = z.json();
const LocalPath = z.string().min(1).max(4096);

const EnvName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "environment variable names are letters, digits and _");

export const ProfileOptions = z
  .object({
    contextLength: z.int().min(128).max(10_000_000),
    maxTokens: z.int().min(1).max(10_000_000),
    temperature: z.number().min(0).max(5),
    topP: z.number().min(0).max(1),
    topK: z.int().min(0).max(100_000),
    minP: z.number().min(0).max(1),
    repetitionPenalty: z.number().min(0).max(10),
    seed: z.int().min(0).max(2 ** 32 - 1),
    modelType: z.enum(["lm", "multimodal", "embeddings", "whisper", "image-generation", "image-edit"]),
    /** A local folder (MLX adapters) or .gguf file (llama-server --lora): an absolute path or ~/…. */
    adapterPath: LocalPath,
    /** A local model, or an MLX repo in the Hugging Face cache ("org/name"). */
    draftModel: LocalPath,
    trustRemoteCode: z.boolean(),
    chatTemplate: z.string().min(1).max(100_000),
    threads: z.int().min(1).max(1024),
    /** llama-server -ngl: a number of layers, or "auto" (its default: as many as fit) or "all". */
    gpuLayers: z.union([z.int().min(0).max(10_000), z.enum(["auto", "all"])]),
    /** The built-in llama engine: also serve /v1/embeddings. */
    embedding: z.boolean(),
    /** Speculative decoding: tokens the draft model proposes per step. */
    numDraftTokens: z.int().min(1).max(64),
    /** Extra variables for the chat template, e.g. {"enable_thinking": false}. */
    chatTemplateArgs: z.record(z.string().min(1).max(200), JsonValue),
    /** A Jinja chat template file that replaces the model's. */
    chatTemplateFile: LocalPath,
    /** Prompt caches kept for reuse between requests. */
    promptCacheSize: z.int().min(0).max(100_000),
    /** The most bytes the prompt caches may hold. */
    promptCacheBytes: z.int().min(1).max(2 ** 53),
    /** Sequences decoded together, and prompts prefilled together, when requests are batched. */
    decodeConcurrency: z.int().min(1).max(4096),
    promptConcurrency: z.int().min(1).max(4096),
    logLevel: z.enum(["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]),
    /** mlx-openai-server: let the model decide when to call tools (needs toolCallParser). */
    enableAutoToolChoice: z.boolean(),
    toolCallParser: z.enum(TOOL_CALL_PARSERS),
    reasoningParser: z.enum(REASONING_PARSERS),
    /** Quantize the KV cache to this many bits (mlx-openai-server), in groups of kvGroupSize. */
    kvBits: z.union([z.literal(2), z.literal(3), z.literal(4), z.literal(5), z.literal(6), z.literal(8)]),
    kvGroupSize: z.union([z.literal(32), z.literal(64), z.literal(128)]),
    disableBatching: z.boolean(),
    /** Requests the engine holds waiting, and how long one may wait. */
    queueSize: z.int().min(1).max(100_000),
    queueTimeoutSec: z.int().min(1).max(86_400),
    /** mlx-openai-server image models: the model's configuration name (--config-name, e.g. flux-schnell). */
    imageConfig: z.string().min(1).max(200).regex(/^[A-Za-z0-9._-]+$/, "a configuration name: letters, digits, '.', '_' and '-'"),
    /**
     * Requests served at once: llama-server's slots (-np, sharing its -c), or the built-in llama
     * engine's sequences (--parallel, at most 64, each with its own --ctx-size).
     */
    parallel: z.int().min(1).max(256),
    flashAttention: z.enum(["on", "off", "auto"]),
    cacheTypeK: z.enum(KV_CACHE_TYPES),
    cacheTypeV: z.enum(KV_CACHE_TYPES),
    /** llama-server: use the model's Jinja chat template (on by default; needed for tool calls). */
    jinja: z.boolean(),
    /** llama-server: the multimodal projector file of a vision model. */
    mmproj: LocalPath,
    /** llama-server: serve /metrics. */
    metrics: z.boolean(),
    /** A remote profile on an exo cluster: how Start places the model (default Pipeline, MlxRing, 1 node). */
    placement: RemotePlacement,
    /** The mlx-distributed engine: the other Macs, the backend that joins them, the Python that runs mlx-lm on each. */
    distributed: DistributedOptions,
    /** Passed to the engine as they are, one array element per argument (never a shell string). */
    extraArgs: z.array(z.string().max(4096)).max(200),
    env: z.record(EnvName, z.string().max(32_768)),
  })
  .partial()
  .strict();
export type ProfileOptions = z.infer<typeof ProfileOptions>;

/** A name people give (a profile, a group): up to 64 letters, digits, spaces, '.', '_' and '-', starting with a letter or digit. */
function givenName(missing: string, tooLong: string): z.ZodString {
  return z
    .string()
    .trim()
    .min(1, missing)
    .max(64, tooLong)
    .regex(/^[\p{L}\p{N}][\p{L}\p{N} ._-]*$/u, "use letters, digits, spaces, '.', '_' and '-', starting with a letter or digit");
}

export const ProfileName = givenName("a profile needs a name", "profile names are at most 64 characters");

/**
 * Another name clients may ask for the profile's model by (Claude Code asks for `claude-…` names):
 * exact, or a pattern where `*` matches anything (`claude-*haiku*`; `*` alone takes every name no
 * other profile answers to).
 */
export const ModelAlias = z
  .string()
  .trim()
  .min(1, "an alias needs at least one character")
  .max(200, "aliases are at most 200 characters")
  .regex(/^[A-Za-z0-9*][A-Za-z0-9._:/@+*-]*$/, "aliases use letters, digits and . _ : / @ + - (and * as a wildcard), no spaces");

/** A name for profiles that may stop each other to make room. */
export const ProfileGroup = givenName("a group needs a name", "group names are at most 64 characters");

const ProfileFields = {
  name: ProfileName,
  /** More names for this profile in /v1 requests. */
  aliases: z.array(ModelAlias).max(32, "at most 32 aliases"),
  engine: EngineId,
  model: ModelRef,
  /** A fixed port, or "auto" for any free port at start. */
  port: z.union([z.int().min(1024, "ports below 1024 need root: use 1024-65535").max(65535, "ports go up to 65535"), z.literal("auto")]),
  options: ProfileOptions,
  /** Restart after a crash (with back-off). */
  restartOnCrash: z.boolean(),
  /** Stop when idle this many seconds; 0 = never; null = the manager's default (settings: defaultIdleTimeoutSec). */
  idleTimeoutSec: z.int().min(0).max(7 * 24 * 3600).nullable(),
  /** Kept running: never stopped to make room for another model, nor by the default idle stop. */
  pinned: z.boolean(),
  /**
   * Profiles of one group make room only for each other: a just-in-time start stops idle servers of
   * its own group (no group: of the servers without one), as llama-swap's groups.
   */
  group: ProfileGroup.nullable(),
};

/** What a user writes to create a profile. */
export const ProfileInput = z
  .object({
    ...ProfileFields,
    aliases: ProfileFields.aliases.optional(),
    port: ProfileFields.port.default("auto"),
    options: ProfileFields.options.default({}),
    restartOnCrash: ProfileFields.restartOnCrash.default(false),
    idleTimeoutSec: ProfileFields.idleTimeoutSec.default(null),
    pinned: ProfileFields.pinned.default(false),
    group: ProfileFields.group.default(null),
  })
  .strict();
export type ProfileInput = z.input<typeof ProfileInput>;
export type ProfileSpec = z.output<typeof ProfileInput>;

/** What a profile's server can do, as the manager works it out from its engine, options and model. */
export const ProfileCapabilities = z.object({
  /** The engine and model really do tool calls. */
  toolCalling: z.boolean(),
  /** Images can be sent (a vision model with an engine that takes them). */
  imageInput: z.boolean(),
  /** The context the engine runs with, when it can be known. */
  contextLength: z.number().optional(),
});
export type ProfileCapabilities = z.infer<typeof ProfileCapabilities>;

/** A stored profile. `version` increases on every write; edits must name the version they saw. */
export const Profile = z.object({
  id: z.string(),
  name: z.string(),
  aliases: z.array(z.string()).optional(),
  engine: EngineId,
  model: ModelRef,
  port: z.union([z.number(), z.literal("auto")]),
  options: ProfileOptions,
  restartOnCrash: z.boolean(),
  idleTimeoutSec: z.number().nullable(),
  pinned: z.boolean().default(false),
  group: z.string().nullable().default(null),
  version: z.number(),
  createdAt: z.number(),
  updatedAt: z.number(),
  /** In the manager's answers and events; not stored. */
  capabilities: ProfileCapabilities.optional(),
});
export type Profile = z.infer<typeof Profile>;

/** PATCH body: the fields to change plus the version the client last saw. */
export const ProfilePatch = z
  .object(ProfileFields)
  .partial()
  .extend({ version: z.int().min(1) })
  .strict();
export type ProfilePatch = z.input<typeof ProfilePatch>;

/** The file format of `profiles export` / `import`. */
export const ProfileExport = z.object({
  kind: z.literal("mlx-manager.profiles"),
  version: z.literal(1),
  profiles: z.array(ProfileInput),
});
export type ProfileExport = z.input<typeof ProfileExport>;
