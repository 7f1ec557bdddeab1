import { availableParallelism } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";

/** The llama engine's command line, validated. */
export interface EngineArgs {
  model: string;
  host: string;
  port: number;
  threads: number;
  /** Context size of each sequence in tokens (node-llama-cpp's contextSize is per sequence). */
  ctxSize?: number;
  /** Sequences decoded together in one context: requests generated at once (1..MAX_PARALLEL). */
  parallel: number;
  alias?: string;
  seed?: number;
  /** Also serve /v1/embeddings (an embedding context next to the chat one). */
  embedding: boolean;
  llamaModuleDir?: string;
}

/** The most sequences one engine decodes together. */
export const MAX_PARALLEL = 64;

export const ENGINE_USAGE = `Usage: llama-engine --model PATH [--host 127.0.0.1] [--port 8080] [--threads N] [--ctx-size N]
                    [--parallel N] [--alias NAME] [--seed N] [--embedding] [--llama-module-dir DIR]

An OpenAI-compatible server (GET /health, GET /v1/models, POST /v1/chat/completions with tools,
POST /v1/completions, POST /v1/embeddings, POST /tokenize) for one GGUF model, on node-llama-cpp.
  --model PATH             GGUF file to serve (required)
  --host HOST              address to bind (default 127.0.0.1)
  --port N                 port to listen on (default 8080; 0 picks a free one)
  --threads N              CPU threads (default 1 on <= 2 cores, else cores - 2)
  --ctx-size N             context size in tokens of EACH sequence (default min(4096, the model's
                           training size)); the KV cache holds ctx-size x parallel tokens
  --parallel N             requests generated at once: N sequences of one context, decoded
                           together in batches (1 to ${MAX_PARALLEL}, default 1); others wait in turn
  --alias NAME             model id in /v1/models and responses (default the file name)
  --seed N                 sampling seed when a request gives none (default random)
  --embedding              also serve POST /v1/embeddings
  --llama-module-dir DIR   node-llama-cpp package folder (env MLX_LLAMA_MODULE_DIR;
                           default <bundle dir>/../.engines/llama/node_modules/node-llama-cpp)
`;

/** Parses a decimal integer flag within [min, max]. */
function integerFlag(name: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = /^-?\d+$/.test(value.trim()) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max)
    throw new Error(`--${name} must be an integer from ${min} to ${max}, got "${value}"`);
  return n;
}

/** One thread per core beyond two, leaving two for the OS and the manager; 1 on small machines. */
export function defaultThreads(cores = availableParallelism()): number {
  return cores <= 2 ? 1 : Math.max(1, cores - 2);
}

export type ParsedEngineArgs =
  { kind: "run"; args: EngineArgs } | { kind: "help" } | { kind: "error"; message: string };

/** Parses argv (without node and the script); `env` supplies MLX_LLAMA_MODULE_DIR. */
export function parseEngineArgs(argv: readonly string[], env: NodeJS.ProcessEnv): ParsedEngineArgs {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        model: { type: "string", short: "m" },
        host: { type: "string" },
        port: { type: "string" },
        threads: { type: "string", short: "t" },
        "ctx-size": { type: "string", short: "c" },
        parallel: { type: "string" },
        alias: { type: "string" },
        seed: { type: "string" },
        embedding: { type: "boolean" },
        "llama-module-dir": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }).values;
  } catch (error) {
    return { kind: "error", message: error instanceof Error ? error.message : String(error) };
  }
  if (values["help"] === true) return { kind: "help" };
  const text = (name: string): string | undefined => {
    const value = values[name];
    return typeof value === "string" ? value : undefined;
  };
  const model = text("model");
  if (model === undefined || model === "") return { kind: "error", message: "--model PATH is required" };
  const args: EngineArgs = {
    model: path.resolve(model),
    host: text("host") ?? "127.0.0.1",
    port: 8080,
    threads: defaultThreads(),
    parallel: 1,
    embedding: values["embedding"] === true,
  };
  try {
    args.port = integerFlag("port", text("port"), 0, 65535) ?? args.port;
    args.threads = integerFlag("threads", text("threads"), 1, 1024) ?? args.threads;
    args.parallel = integerFlag("parallel", text("parallel"), 1, MAX_PARALLEL) ?? args.parallel;
    const ctxSize = integerFlag("ctx-size", text("ctx-size"), 16, 1 << 24);
    if (ctxSize !== undefined) args.ctxSize = ctxSize;
    const seed = integerFlag("seed", text("seed"), 0, 2 ** 32 - 1);
    if (seed !== undefined) args.seed = seed;
  } catch (error) {
    return { kind: "error", message: error instanceof Error ? error.message : String(error) };
  }
  const alias = text("alias");
  if (alias) args.alias = alias;
  if (args.host === "") return { kind: "error", message: "--host must not be empty" };
  const moduleDir = text("llama-module-dir") ?? env["MLX_LLAMA_MODULE_DIR"];
  if (moduleDir) args.llamaModuleDir = path.resolve(moduleDir);
  return { kind: "run", args };
}
