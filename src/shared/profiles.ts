import { z } from "zod";
import { EngineId } from "./engines";

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
]);
export type ModelRef = z.infer<typeof ModelRef>;

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
    adapterPath: z.string().min(1).max(4096),
    draftModel: z.string().min(1).max(4096),
    trustRemoteCode: z.boolean(),
    chatTemplate: z.string().min(1).max(100_000),
    threads: z.int().min(1).max(1024),
    gpuLayers: z.int().min(0).max(10_000),
    /** The built-in llama engine: also serve /v1/embeddings. */
    embedding: z.boolean(),
    /** Passed to the engine as they are, one array element per argument (never a shell string). */
    extraArgs: z.array(z.string().max(4096)).max(200),
    env: z.record(EnvName, z.string().max(32_768)),
  })
  .partial()
  .strict();
export type ProfileOptions = z.infer<typeof ProfileOptions>;

export const ProfileName = z
  .string()
  .trim()
  .min(1, "a profile needs a name")
  .max(64, "profile names are at most 64 characters")
  .regex(/^[\p{L}\p{N}][\p{L}\p{N} ._-]*$/u, "use letters, digits, spaces, '.', '_' and '-', starting with a letter or digit");

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
  /** Stop when idle this many seconds; 0 = never. */
  idleTimeoutSec: z.int().min(0).max(7 * 24 * 3600),
};

/** What a user writes to create a profile. */
export const ProfileInput = z
  .object({
    ...ProfileFields,
    aliases: ProfileFields.aliases.optional(),
    port: ProfileFields.port.default("auto"),
    options: ProfileFields.options.default({}),
    restartOnCrash: ProfileFields.restartOnCrash.default(false),
    idleTimeoutSec: ProfileFields.idleTimeoutSec.default(0),
  })
  .strict();
export type ProfileInput = z.input<typeof ProfileInput>;
export type ProfileSpec = z.output<typeof ProfileInput>;

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
  idleTimeoutSec: z.number(),
  version: z.number(),
  createdAt: z.number(),
  updatedAt: z.number(),
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
