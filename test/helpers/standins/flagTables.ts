// The command-line flags of the two MLX engines, as the stand-ins accept them: every flag of
// `mlx_lm.server` (argparse, mlx_lm/server.py `main`) at mlx-lm v0.31.3 and of `mlx-openai-server
// launch` (click, app/cli.py) at mlx-openai-server v1.8.1, in source order, with the implicit
// help flag last. Transcribed from ../shared/engines/upstream-flags.json (read from upstream source;
// a test compares these tables with it), plus the version history of each flag set read from the
// upstream tags. HEAD of both (mlx-lm d78bf58, mlx-openai-server 4b7d4b6) has the same flags.

import { compareVersions } from "../../../src/services/servers/engineVersion";

/** The kinds of value a flag takes, as upstream-flags.json names them. */
export type FlagType = "str" | "int" | "float" | "bool" | "json" | "size" | "csv-list" | "path" | "choice";

export interface FlagSpec {
  /** Every spelling the parser accepts (short aliases included). */
  names: readonly string[];
  /** False for argparse store_true / help and click is_flag options. */
  takesValue: boolean;
  type: FlagType;
  /** argparse `choices` / click.Choice values. */
  choices?: readonly string[];
  /** click: compared case-insensitively (mlx-openai-server's UpperChoice). */
  caseInsensitive?: true;
  /** click.Path constraints (exists, file_okay, dir_okay). */
  path?: { exists?: boolean; fileOkay?: boolean; dirOkay?: boolean };
  /** click: the values an option callback accepts (not a Choice, so its own message). */
  validValues?: readonly string[];
  /** Added by the parser itself: the help flag. */
  implicit?: true;
  /** argparse action="append": every occurrence is kept, in order. */
  append?: true;
}

export const MLX_LM_SERVER_REF = {
  ref: "v0.31.3",
  commit: "ed1fca4cef15a824c5f1702c80f70b4cffc8e4dd",
} as const;
export const MLX_OPENAI_SERVER_REF = {
  ref: "v1.8.1",
  commit: "6c4ccfe7f12437e30850ae271b67b438b15bfcad",
} as const;

const LOG_LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] as const;

export const MLX_LM_SERVER_FLAGS: readonly FlagSpec[] = [
  { names: ["--model"], takesValue: true, type: "str" },
  { names: ["--adapter-path"], takesValue: true, type: "str" },
  { names: ["--host"], takesValue: true, type: "str" },
  { names: ["--port"], takesValue: true, type: "int" },
  { names: ["--allowed-origins"], takesValue: true, type: "csv-list" },
  { names: ["--draft-model"], takesValue: true, type: "str" },
  { names: ["--num-draft-tokens"], takesValue: true, type: "int" },
  { names: ["--trust-remote-code"], takesValue: false, type: "bool" },
  { names: ["--log-level"], takesValue: true, type: "str", choices: LOG_LEVELS },
  { names: ["--chat-template"], takesValue: true, type: "str" },
  { names: ["--use-default-chat-template"], takesValue: false, type: "bool" },
  { names: ["--temp"], takesValue: true, type: "float" },
  { names: ["--top-p"], takesValue: true, type: "float" },
  { names: ["--top-k"], takesValue: true, type: "int" },
  { names: ["--min-p"], takesValue: true, type: "float" },
  { names: ["--max-tokens"], takesValue: true, type: "int" },
  { names: ["--chat-template-args"], takesValue: true, type: "json" },
  { names: ["--decode-concurrency"], takesValue: true, type: "int" },
  { names: ["--prompt-concurrency"], takesValue: true, type: "int" },
  { names: ["--prefill-step-size"], takesValue: true, type: "int" },
  { names: ["--prompt-cache-size"], takesValue: true, type: "int" },
  { names: ["--prompt-cache-bytes"], takesValue: true, type: "size" },
  { names: ["--pipeline"], takesValue: false, type: "bool" },
  { names: ["-h", "--help"], takesValue: false, type: "bool", implicit: true },
];

export const MLX_OPENAI_SERVER_LAUNCH_FLAGS: readonly FlagSpec[] = [
  { names: ["--config"], takesValue: true, type: "path", path: { exists: true } },
  { names: ["--model-path"], takesValue: true, type: "str" },
  {
    names: ["--model-type"],
    takesValue: true,
    type: "choice",
    choices: ["lm", "multimodal", "image-generation", "image-edit", "embeddings", "whisper"],
  },
  { names: ["--context-length"], takesValue: true, type: "int" },
  { names: ["--served-model-name"], takesValue: true, type: "str" },
  { names: ["--port"], takesValue: true, type: "int" },
  { names: ["--host"], takesValue: true, type: "str" },
  { names: ["--queue-timeout"], takesValue: true, type: "int" },
  { names: ["--queue-size"], takesValue: true, type: "int" },
  { names: ["--quantize"], takesValue: true, type: "int" },
  {
    names: ["--config-name"],
    takesValue: true,
    type: "str",
    validValues: [
      "flux-schnell",
      "flux-dev",
      "flux-krea-dev",
      "flux-kontext-dev",
      "qwen-image",
      "qwen-image-edit",
      "fibo",
      "z-image-turbo",
      "flux2-klein-4b",
      "flux2-klein-9b",
      "flux2-klein-edit-4b",
      "flux2-klein-edit-9b",
    ],
  },
  { names: ["--lora-paths"], takesValue: true, type: "str" },
  { names: ["--lora-scales"], takesValue: true, type: "str" },
  { names: ["--disable-auto-resize"], takesValue: false, type: "bool" },
  { names: ["--log-file"], takesValue: true, type: "str" },
  { names: ["--no-log-file"], takesValue: false, type: "bool" },
  { names: ["--log-level"], takesValue: true, type: "choice", choices: LOG_LEVELS, caseInsensitive: true },
  { names: ["--enable-auto-tool-choice"], takesValue: false, type: "bool" },
  {
    names: ["--tool-call-parser"],
    takesValue: true,
    type: "choice",
    choices: [
      "functiongemma",
      "gemma4",
      "glm4_moe",
      "harmony",
      "hermes",
      "iquest_coder_v1",
      "kimi_k2",
      "longcat_flash_lite",
      "minimax_m2",
      "nemotron3_nano",
      "qwen3",
      "qwen3_coder",
      "qwen3_moe",
      "qwen3_vl",
      "solar_open",
      "step_35",
    ],
  },
  {
    names: ["--reasoning-parser"],
    takesValue: true,
    type: "choice",
    choices: [
      "gemma4",
      "glm47_flash",
      "glm4_moe",
      "harmony",
      "hermes",
      "kimi_k2",
      "minimax_m2",
      "mixed_think_tool_handoff",
      "nemotron3_nano",
      "qwen3",
      "qwen3_5",
      "qwen3_moe",
      "qwen3_vl",
      "solar_open",
      "step_35",
    ],
  },
  { names: ["--trust-remote-code"], takesValue: false, type: "bool" },
  { names: ["--chat-template-file"], takesValue: true, type: "str" },
  { names: ["--debug"], takesValue: false, type: "bool" },
  { names: ["--prompt-cache-size"], takesValue: true, type: "int" },
  { names: ["--max-bytes"], takesValue: true, type: "int" },
  { names: ["--prompt-cache-dir"], takesValue: true, type: "path", path: { fileOkay: false, dirOkay: true } },
  { names: ["--draft-model-path"], takesValue: true, type: "str" },
  { names: ["--num-draft-tokens"], takesValue: true, type: "int" },
  { names: ["--kv-bits"], takesValue: true, type: "int" },
  { names: ["--kv-group-size"], takesValue: true, type: "int" },
  { names: ["--quantized-kv-start"], takesValue: true, type: "int" },
  { names: ["--decode-concurrency"], takesValue: true, type: "int" },
  { names: ["--prompt-concurrency"], takesValue: true, type: "int" },
  { names: ["--prefill-step-size"], takesValue: true, type: "int" },
  { names: ["--disable-batching"], takesValue: false, type: "bool" },
  { names: ["--max-tokens"], takesValue: true, type: "int" },
  { names: ["--temperature"], takesValue: true, type: "float" },
  { names: ["--top-p"], takesValue: true, type: "float" },
  { names: ["--top-k"], takesValue: true, type: "int" },
  { names: ["--min-p"], takesValue: true, type: "float" },
  { names: ["--repetition-penalty"], takesValue: true, type: "float" },
  { names: ["--presence-penalty"], takesValue: true, type: "float" },
  { names: ["--xtc-probability"], takesValue: true, type: "float" },
  { names: ["--xtc-threshold"], takesValue: true, type: "float" },
  { names: ["--seed"], takesValue: true, type: "int" },
  { names: ["--repetition-context-size"], takesValue: true, type: "int" },
  { names: ["--help"], takesValue: false, type: "bool", implicit: true },
];

/**
 * How a flag set changed at a release: flags `added` there (absent before) and flags `removed`
 * there (present before, with their spec). Read by diffing the parser source between tags.
 */
export interface FlagChange {
  version: string;
  commit: string;
  added?: readonly string[];
  removed?: readonly FlagSpec[];
}

/** mlx_lm.server, v0.24.1 to v0.30.5 have the same flags; older releases are not described. */
export const MLX_LM_SERVER_FLAG_HISTORY: readonly FlagChange[] = [
  {
    version: "0.30.6",
    commit: "f18526f8d66f74728072e96d55acb6c451e92e88",
    added: ["--decode-concurrency", "--pipeline", "--prompt-concurrency"],
  },
  {
    version: "0.31.0",
    commit: "044474bc80511053cb5eb9502b592304f43b0036",
    added: ["--prefill-step-size", "--prompt-cache-bytes", "--prompt-cache-size"],
  },
  { version: "0.31.2", commit: "dcbf6e33d135a1b7c6767ca0fe7ebbd23df814a7", added: ["--allowed-origins"] },
];

/** mlx-openai-server launch, from v1.6.0 on (older releases are not described). */
export const MLX_OPENAI_SERVER_FLAG_HISTORY: readonly FlagChange[] = [
  { version: "1.6.3", commit: "f551524614782b842483158a963f24950758b1cd", added: ["--max-bytes"] },
  {
    version: "1.7.0",
    commit: "cd128b1410fd71c8352ee930b67d6a1d0586b97a",
    added: ["--repetition-penalty", "--served-model-name"],
    removed: [
      { names: ["--max-concurrency"], takesValue: true, type: "int" },
      {
        names: ["--message-converter"],
        takesValue: true,
        type: "choice",
        choices: [
          "glm4_moe",
          "longcat_flash_lite",
          "minimax",
          "minimax_m2",
          "nemotron3_nano",
          "qwen3_coder",
          "step_35",
        ],
      },
    ],
  },
  {
    version: "1.8.0",
    commit: "711d0c1d66445a571438981f224b69395aa7b4c0",
    added: [
      "--decode-concurrency",
      "--kv-bits",
      "--kv-group-size",
      "--prefill-step-size",
      "--prompt-cache-dir",
      "--prompt-concurrency",
      "--quantized-kv-start",
    ],
  },
  { version: "1.8.1", commit: "6c4ccfe7f12437e30850ae271b67b438b15bfcad", added: ["--disable-batching"] },
];

export { compareVersions };

/**
 * The flag set of `version`: the newest table with the changes of every later release undone
 * (a flag added after `version` is dropped; one removed after it comes back, at its old place
 * at the end, before the help flag).
 */
export function flagsAt(
  newest: readonly FlagSpec[],
  history: readonly FlagChange[],
  version: string,
): FlagSpec[] {
  let flags = [...newest];
  for (const change of [...history].reverse()) {
    if (compareVersions(version, change.version) >= 0) break;
    const added = new Set(change.added ?? []);
    flags = flags.filter((f) => !f.names.some((n) => added.has(n)));
    const help = flags.filter((f) => f.implicit === true);
    flags = [...flags.filter((f) => f.implicit !== true), ...(change.removed ?? []), ...help];
  }
  return flags;
}
