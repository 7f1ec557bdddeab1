// The program behind the MLX engine stand-ins (see ./index.ts for how tests install and use them).
// Which program it plays is the name it was run as: `mlx_lm.server`, `mlx_lm` (mlx_lm/cli.py) or
// `mlx-openai-server`. It is bundled by esbuild into the test's bin dir, so it imports only Node
// and its sibling modules. The project's own llama engine, run as a child, is its "model".
//
// Upstream it follows, newest releases (../shared/docs/ENGINES.md):
//   - mlx-lm v0.31.3 (ed1fca4c): mlx_lm/server.py, mlx_lm/cli.py, mlx_lm/utils.py. HEAD d78bf58
//     (0.32.0) has the same flags and HTTP behaviour; it honours --adapter-path for default_model
//     (dd7c91d6), which the stand-in never applies anyway (it only logs a request's `adapters`).
//   - mlx-openai-server v1.8.1 (6c4ccfe7): app/cli.py, app/server.py, app/api/endpoints.py,
//     app/core/handler_process.py, with click 8.3, uvicorn 0.35 and FastAPI 0.129 (its pins). HEAD
//     4b7d4b6 differs only in how the last stream chunk serialises usage (endpoints.py:1050).
//   - Older releases as STANDIN_VERSION asks: the flag history of ./flagTables.ts, `mlx_lm` only
//     from 0.30.6, mlx-openai-server before 1.8.0 in single-handler mode (any `model` accepted).
//   - Messages are CPython 3.11's (argparse, json, repr, tracebacks without caret lines).
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import { parseArgparse, formatUsage, type ArgparseContext } from "./argparseParser";
import { parseClick } from "./clickParser";
import { runMlxLaunch } from "./mlxLaunch";
import { DISTRIBUTED_UNSUPPORTED, joinRing, resolveModelArg, worldFromEnv } from "./mlxDistributed";
import {
  compareVersions,
  flagsAt,
  MLX_LM_SERVER_FLAG_HISTORY,
  MLX_LM_SERVER_FLAGS,
  MLX_LM_SERVER_REF,
  MLX_OPENAI_SERVER_FLAG_HISTORY,
  MLX_OPENAI_SERVER_LAUNCH_FLAGS,
  MLX_OPENAI_SERVER_REF,
} from "./flagTables";
import { pyJsonDumps, pyJsonLoads, pyRepr, pyTraceback, pyTypeName, type PyFrame } from "./pythonText";

declare const __STANDIN_LLAMA_ENGINE__: string;

/**
 * What a failed model load leaves mlx-openai-server exiting with: 0. Its lifespan raises, uvicorn
 * (< 0.53; v1.8.1 pins < 0.40) logs "Application startup failed. Exiting." and Server.serve()
 * returns normally, so start_multi and the click command return and the process exits 0.
 */
const OPENAI_SERVER_LOAD_FAILURE_EXIT = 0;

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function out(text: string): void {
  process.stdout.write(text);
}

function err(text: string): void {
  process.stderr.write(text);
}

/** Writes what a parser decided and ends the process with its code. */
function finish(outcome: { code: number; stdout: string; stderr: string }): never {
  out(outcome.stdout);
  err(outcome.stderr);
  process.exit(outcome.code);
}

function envVersion(specific: string, fallback: string): string {
  return process.env[specific] ?? process.env["STANDIN_VERSION"] ?? fallback;
}

const mlxLmVersion = (): string => envVersion("STANDIN_MLX_LM_VERSION", MLX_LM_SERVER_REF.ref.slice(1));
const openAiServerVersion = (): string =>
  envVersion("STANDIN_MLX_OPENAI_SERVER_VERSION", MLX_OPENAI_SERVER_REF.ref.slice(1));

/** The paths a traceback names: the venv this bin dir would belong to. */
function pythonPaths(): { script: string; lib: string; sitePackages: string } {
  const script = process.argv[1] ?? "";
  const venv = path.dirname(path.dirname(script));
  return {
    script,
    lib: "/usr/lib/python3.11",
    sitePackages: path.join(venv, "lib", "python3.11", "site-packages"),
  };
}

/** Python logging's default asctime: "2026-12-02 10:00:00,123". */
function asctime(): string {
  const d = new Date();
  const p = (n: number, w = 2): string => String(n).padStart(w, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())},${p(d.getMilliseconds(), 3)}`;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => {
        if (address === null || typeof address === "string") reject(new Error("no port"));
        else resolve(address.port);
      });
    });
  });
}

function healthOk(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ host: "127.0.0.1", port, path: "/health", agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on("error", () => {
      resolve(false);
    });
    req.setTimeout(1000, () => {
      req.destroy();
      resolve(false);
    });
  });
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      resolve(Buffer.concat(chunks));
    });
    req.on("error", reject);
  });
}

/** The environment every serving stand-in needs; exits like a broken test setup otherwise. */
function requireGguf(): string {
  const gguf = process.env["STANDIN_GGUF"];
  if (gguf === undefined || !fs.existsSync(gguf)) {
    err(`stand-in: set STANDIN_GGUF to the .gguf file to serve (got ${gguf ?? "nothing"}).\n`);
    process.exit(1);
  }
  return gguf;
}

/** STANDIN_DRY_RUN=1: the command line was accepted; check the model folder and stop there. */
function dryRun(flavor: string, modelPath: string): void {
  if (process.env["STANDIN_DRY_RUN"] !== "1") return;
  if (!fs.existsSync(path.join(modelPath, "config.json"))) {
    err(`Error: ${modelPath} is not an MLX model folder (no config.json).\n`);
    process.exit(1);
  }
  out(`${flavor}: command line accepted\n`);
  process.exit(0);
}

function loadDelayMs(): number {
  return Number(process.env["STANDIN_LOAD_DELAY_MS"] ?? 500);
}

/** Why loading `modelPath` fails, as the Python exception line and its innermost frames; undefined when it loads. */
function loadProblem(
  modelPath: string,
  sitePackages: string,
): { exception: string; frames: PyFrame[] } | undefined {
  const utils = `${sitePackages}/mlx_lm/utils.py`;
  const loadModelFrame: PyFrame = {
    file: utils,
    line: 491,
    func: "load",
    code: "model, config = load_model(model_path, lazy, model_config=model_config)",
  };
  // The failure STANDIN_LOAD_FAIL plays is the one of a folder without weights.
  const noWeights = {
    exception: `FileNotFoundError: No safetensors found in ${modelPath}`,
    frames: [
      loadModelFrame,
      {
        file: utils,
        line: 319,
        func: "load_model",
        code: 'raise FileNotFoundError(f"No safetensors found in {model_path}")',
      },
    ],
  };
  if (process.env["STANDIN_LOAD_FAIL"] === "1") return noWeights;
  if (!fs.existsSync(modelPath)) {
    // Not a local folder: huggingface_hub is asked for it as a repo id.
    return {
      exception: path.isAbsolute(modelPath)
        ? `huggingface_hub.errors.HFValidationError: Repo id must be in the form 'repo_name' or 'namespace/repo_name': ${pyRepr(modelPath)}. Use \`repo_type\` argument if needed.`
        : process.env["HF_HUB_OFFLINE"] === "1"
          ? "huggingface_hub.errors.LocalEntryNotFoundError: Cannot find an appropriate cached snapshot folder for the specified revision on the local disk and outgoing traffic has been disabled. To enable repo look-ups and downloads online, pass 'local_files_only=False' as input."
          : `huggingface_hub.errors.LocalEntryNotFoundError: stand-in: ${modelPath} is not in this host's Hugging Face cache and the stand-in downloads nothing from the Hub.`,
      frames: [
        {
          file: utils,
          line: 488,
          func: "load",
          code: "model_path = _download(path_or_hf_repo, revision=revision)",
        },
      ],
    };
  }
  if (!fs.existsSync(path.join(modelPath, "config.json")))
    return {
      exception: `FileNotFoundError: [Errno 2] No such file or directory: ${pyRepr(path.join(modelPath, "config.json"))}`,
      frames: [
        loadModelFrame,
        { file: utils, line: 312, func: "load_model", code: "config = load_config(model_path)" },
        {
          file: utils,
          line: 264,
          func: "load_config",
          code: 'with open(model_path / "config.json", "r") as f:',
        },
      ],
    };
  if (!fs.readdirSync(modelPath).some((f) => /^model.*\.safetensors$/.test(f))) return noWeights;
  return undefined;
}

/** The llama engine child that plays the model: it listens on a private port. */
class LlamaChild {
  readonly alias = "standin-upstream";
  private child: ChildProcess | undefined;
  port = 0;
  stopping = false;

  async start(gguf: string): Promise<void> {
    this.port = await freePort();
    const engineScript = process.env["STANDIN_LLAMA_ENGINE"] ?? __STANDIN_LLAMA_ENGINE__;
    const args = [engineScript, "--model", gguf, "--host", "127.0.0.1", "--port", String(this.port)];
    this.child = spawn(process.execPath, [...args, "--threads", "1", "--alias", this.alias], {
      stdio: ["ignore", "inherit", "inherit"],
    });
    this.child.once("exit", (code, signal) => {
      if (this.stopping) return;
      err(`stand-in: the llama engine exited (${signal ?? `code ${code ?? "?"}`}); exiting\n`);
      process.exit(1);
    });
  }

  async healthy(): Promise<void> {
    while (!(await healthOk(this.port))) await delay(50);
  }

  /** Kills the child at once (the process is about to exit). */
  kill(): void {
    this.stopping = true;
    this.child?.kill("SIGKILL");
  }

  /** Stops the child (if any), then exits 0. */
  stopAndExit(): void {
    if (this.stopping) return;
    this.stopping = true;
    if (this.child === undefined || this.child.exitCode !== null) process.exit(0);
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => process.exit(0), 1500);
    this.child.once("exit", () => {
      clearTimeout(timer);
      process.exit(0);
    });
  }
}

/** How an engine puts usage on a stream (docs/ENGINES.md). */
type StreamUsage = "include_usage_chunk" | "last_chunk";

/** Relays a generation request to the llama child and its answer back, in the engine's stream shape. */
function relay(
  llama: LlamaChild,
  res: http.ServerResponse,
  upstreamPath: string,
  body: Json,
  opts: {
    servedName: string;
    streamUsage: StreamUsage;
    /** json.dumps of a whole answer and of one stream event. */
    dumpsBody: (value: unknown) => string;
    dumpsEvent: (value: unknown) => string;
    head: (status: number, headers: Record<string, string>) => void;
  },
): void {
  const stream = body["stream"] === true;
  const streamOptions = isObject(body["stream_options"]) ? body["stream_options"] : undefined;
  const clientWantsUsage = streamOptions?.["include_usage"] === true;
  const upstreamBody: Json = { ...body, model: llama.alias };
  // mlx-openai-server always reports usage on a stream; ask the llama engine for it.
  if (stream && opts.streamUsage === "last_chunk") upstreamBody["stream_options"] = { include_usage: true };
  const payload = JSON.stringify(upstreamBody);
  const upstream = http.request(
    {
      host: "127.0.0.1",
      port: llama.port,
      path: upstreamPath,
      method: "POST",
      agent: false,
      headers: { "content-type": "application/json", "content-length": Buffer.byteLength(payload) },
    },
    (up) => {
      const status = up.statusCode ?? 502;
      if (!stream || status !== 200) {
        const chunks: Buffer[] = [];
        up.on("data", (chunk: Buffer) => chunks.push(chunk));
        up.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let answer = text;
          try {
            const json: unknown = JSON.parse(text);
            if (isObject(json) && "model" in json) json["model"] = opts.servedName;
            answer = opts.dumpsBody(json);
          } catch {
            // Not JSON: relayed as it came.
          }
          opts.head(status, {
            "content-type": "application/json",
            "content-length": String(Buffer.byteLength(answer)),
          });
          res.end(answer);
        });
        return;
      }
      opts.head(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
      let buffer = "";
      let heldFinish: Json | undefined;
      const emit = (data: Json | "[DONE]"): void => {
        if (data !== "[DONE]" && "model" in data) data["model"] = opts.servedName;
        res.write(`data: ${data === "[DONE]" ? data : opts.dumpsEvent(data)}\n\n`);
      };
      up.setEncoding("utf8");
      up.on("data", (text: string) => {
        buffer += text;
        let end: number;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          for (const line of block.split("\n")) {
            if (!line.startsWith("data: ")) continue;
            const data = line.slice(6).trim();
            if (data === "[DONE]") {
              if (heldFinish) emit(heldFinish);
              heldFinish = undefined;
              emit("[DONE]");
              continue;
            }
            let chunk: Json;
            try {
              const parsed: unknown = JSON.parse(data);
              if (!isObject(parsed)) continue;
              chunk = parsed;
            } catch {
              continue;
            }
            const choices = Array.isArray(chunk["choices"]) ? (chunk["choices"] as unknown[]) : [];
            const isUsageChunk = choices.length === 0 && isObject(chunk["usage"]);
            if (opts.streamUsage === "include_usage_chunk") {
              // An extra `choices: []` usage chunk, only when asked for; never usage elsewhere.
              if (isUsageChunk) {
                if (clientWantsUsage) emit(chunk);
                continue;
              }
              delete chunk["usage"];
              emit(chunk);
              continue;
            }
            // mlx-openai-server: usage rides on the last chunk (the one with finish_reason); no separate chunk.
            if (isUsageChunk) {
              if (heldFinish) {
                heldFinish["usage"] = chunk["usage"];
                emit(heldFinish);
                heldFinish = undefined;
              }
              continue;
            }
            const finished = choices.some(
              (c) => isObject(c) && c["finish_reason"] !== null && c["finish_reason"] !== undefined,
            );
            if (finished) {
              heldFinish = chunk;
              continue;
            }
            delete chunk["usage"];
            emit(chunk);
          }
        }
      });
      up.on("end", () => {
        res.end();
      });
      up.on("error", () => {
        res.destroy();
      });
    },
  );
  upstream.on("error", (error) => {
    if (!res.headersSent) {
      const answer = opts.dumpsBody({ error: `stand-in: the llama engine: ${error.message}` });
      opts.head(502, {
        "content-type": "application/json",
        "content-length": String(Buffer.byteLength(answer)),
      });
      res.end(answer);
    } else res.destroy();
  });
  // A client that leaves aborts the generation, as with the real servers.
  res.on("close", () => {
    if (!res.writableFinished) upstream.destroy();
  });
  upstream.end(payload);
}

// ====================================================================== mlx_lm (mlx_lm/cli.py)

const MLX_LM_SUBCOMMANDS = [
  "benchmark",
  "cache_prompt",
  "chat",
  "convert",
  "evaluate",
  "fuse",
  "generate",
  "lora",
  "manage",
  "perplexity",
  "awq",
  "dwq",
  "dynamic_quant",
  "gptq",
  "server",
  "upload",
  "share",
];

async function runMlxLmCli(argv: readonly string[]): Promise<void> {
  const version = mlxLmVersion();
  if (compareVersions(version, "0.30.6") < 0) {
    // The `mlx_lm` console script came in v0.30.6 (ad9434be); a shell would not find it.
    err(`stand-in: mlx-lm ${version} has no \`mlx_lm\` command (it came in 0.30.6)\n`);
    process.exit(127);
  }
  const { script, sitePackages } = pythonPaths();
  const valueError = (line: number): never => {
    err(
      pyTraceback(
        [
          { file: script, line: 8, func: "<module>", code: "sys.exit(main())" },
          {
            file: `${sitePackages}/mlx_lm/cli.py`,
            line,
            func: "main",
            code: 'raise ValueError(f"CLI requires a subcommand in {subcommands}")',
          },
        ],
        `ValueError: CLI requires a subcommand in (${MLX_LM_SUBCOMMANDS.map((s) => pyRepr(s)).join(", ")})`,
      ),
    );
    process.exit(1);
  };
  const [subcommand, ...rest] = argv;
  if (subcommand === undefined) valueError(34);
  if (subcommand === "server") return runMlxLmServer("mlx_lm", rest);
  if (subcommand === "--version") {
    out(`${version}\n`);
    process.exit(0);
  }
  if (subcommand === "-h" || subcommand === "--help") {
    out(
      `The supported subcommands are (${MLX_LM_SUBCOMMANDS.map((s) => pyRepr(s)).join(", ")})\n\nFor help on an individual subcommand, pass --help to the subcommand. For example: mlx_lm.generate --help\n`,
    );
    process.exit(0);
  }
  if (subcommand !== undefined && MLX_LM_SUBCOMMANDS.includes(subcommand)) {
    err(
      `stand-in: \`mlx_lm ${subcommand}\` is not played by the stand-in (only \`mlx_lm server\` and \`mlx_lm --version\`)\n`,
    );
    process.exit(1);
  }
  valueError(53);
}

// ====================================================================== mlx_lm.server

/** One field of a request body, checked as APIHandler._validate does it (server.py:1204-1257). */
interface Check {
  attr: string;
  value: unknown;
  types: readonly ("int" | "float" | "bool" | "str" | "dict")[];
  min?: number;
  max?: number;
  optional?: boolean;
  whitelist?: readonly number[];
}

/** Python's isinstance over the decoded JSON value (bool is an int). */
function isPyInstance(value: unknown, type: Check["types"][number], writtenAsFloat: boolean): boolean {
  const name = pyTypeName(value, writtenAsFloat);
  if (type === "int") return name === "int" || name === "bool";
  return name === type;
}

/** The ValueError validate_model_parameters raises for `body`, if any. */
function mlxLmValidationError(
  body: Json,
  floatKeys: Set<string>,
  cli: Map<string, unknown>,
): string | undefined {
  const get = (key: string, fallback: unknown): unknown => (key in body ? body[key] : fallback);
  const maxTokens = body["max_completion_tokens"] ?? get("max_tokens", cli.get("--max-tokens") ?? 512);
  const maxTokensKey =
    body["max_completion_tokens"] !== undefined && body["max_completion_tokens"] !== null
      ? "max_completion_tokens"
      : "max_tokens";
  const checks: Check[] = [
    { attr: "stream", value: get("stream", false), types: ["bool"] },
    { attr: "max_tokens", value: maxTokens, types: ["int"], min: 0 },
    {
      attr: "temperature",
      value: get("temperature", cli.get("--temp") ?? 0.0),
      types: ["float", "int"],
      min: 0,
    },
    {
      attr: "top_p",
      value: get("top_p", cli.get("--top-p") ?? 1.0),
      types: ["float", "int"],
      min: 0,
      max: 1,
    },
    { attr: "top_k", value: get("top_k", cli.get("--top-k") ?? 0), types: ["int"], min: 0 },
    {
      attr: "min_p",
      value: get("min_p", cli.get("--min-p") ?? 0.0),
      types: ["float", "int"],
      min: 0,
      max: 1,
    },
    {
      attr: "num_draft_tokens",
      value: get("num_draft_tokens", cli.get("--num-draft-tokens") ?? 3),
      types: ["int"],
      min: 0,
    },
    { attr: "repetition_penalty", value: get("repetition_penalty", 0.0), types: ["float", "int"], min: 0 },
    { attr: "repetition_context_size", value: get("repetition_context_size", 20), types: ["int"], min: 0 },
    { attr: "presence_penalty", value: get("presence_penalty", 0.0), types: ["float", "int"] },
    { attr: "presence_context_size", value: get("presence_context_size", 20), types: ["int"], min: 0 },
    { attr: "frequency_penalty", value: get("frequency_penalty", 0.0), types: ["float", "int"] },
    { attr: "frequency_context_size", value: get("frequency_context_size", 20), types: ["int"], min: 0 },
    { attr: "logprobs", value: get("logprobs", false), types: ["bool"] },
    {
      attr: "top_logprobs",
      value: get("top_logprobs", -1),
      types: ["int"],
      min: 0,
      max: 11,
      whitelist: [-1],
    },
    { attr: "xtc_probability", value: get("xtc_probability", 0.0), types: ["float"], min: 0, max: 1 },
    { attr: "xtc_threshold", value: get("xtc_threshold", 0.0), types: ["float"], min: 0, max: 1 },
    { attr: "requested_model", value: get("model", "default_model"), types: ["str"] },
    { attr: "adapter", value: get("adapters", null), types: ["str"], optional: true },
    { attr: "seed", value: get("seed", null), types: ["int"], optional: true },
    { attr: "logit_bias", value: get("logit_bias", null), types: ["dict"], optional: true },
  ];
  // Which body key each attribute came from, for "written as a float" (1.0 is a float, not an int).
  const keyOf: Record<string, string> = {
    max_tokens: maxTokensKey,
    requested_model: "model",
    adapter: "adapters",
  };
  // CLI defaults are Python floats where argparse made them floats.
  const cliFloats = new Set([
    "temperature",
    "top_p",
    "min_p",
    "repetition_penalty",
    "presence_penalty",
    "frequency_penalty",
    "xtc_probability",
    "xtc_threshold",
  ]);
  for (const c of checks) {
    if (c.optional === true && (c.value === null || c.value === undefined)) continue;
    const key = keyOf[c.attr] ?? c.attr;
    const asFloat = key in body ? floatKeys.has(key) : cliFloats.has(c.attr);
    if (!c.types.some((t) => isPyInstance(c.value, t, asFloat))) {
      const allowed =
        c.types.length === 1 ? (c.types[0] ?? "") : `(${c.types.map((t) => pyRepr(t)).join(", ")})`;
      return `ValueError: ${c.attr} must be of type ${allowed}`;
    }
    const n = typeof c.value === "boolean" ? Number(c.value) : c.value;
    if (typeof n !== "number") continue;
    if (c.whitelist?.includes(n) === true) continue;
    if (c.min !== undefined && n < c.min) return `ValueError: ${c.attr} must be at least ${c.min}`;
    if (c.max !== undefined && n > c.max) return `ValueError: ${c.attr} must be at most ${c.max}`;
  }
  if (isObject(body["logit_bias"])) {
    for (const [k, v] of Object.entries(body["logit_bias"]))
      if (
        !/^\s*[+-]?\d+\s*$/.test(k) ||
        (typeof v !== "number" && (typeof v !== "string" || Number.isNaN(Number(v))))
      )
        return "ValueError: logit_bias must be a dict of int to float";
  }
  return undefined;
}

async function runMlxLmServer(prog: string, argv: readonly string[]): Promise<void> {
  const version = mlxLmVersion();
  const flags = flagsAt(MLX_LM_SERVER_FLAGS, MLX_LM_SERVER_FLAG_HISTORY, version);
  const { script, lib, sitePackages } = pythonPaths();
  const server = `${sitePackages}/mlx_lm/server.py`;
  const ctx: ArgparseContext = {
    prog,
    description: "MLX Http Server.",
    columns: Number(process.env["COLUMNS"] ?? "") > 0 ? Number(process.env["COLUMNS"]) : 80,
    callerFrames: [
      { file: script, line: 8, func: "<module>", code: "sys.exit(main())" },
      { file: server, line: 1887, func: "main", code: "args = parser.parse_args()" },
    ],
    pythonLib: lib,
    sitePackages,
  };
  const parsed = parseArgparse(flags, argv, ctx);
  if (parsed.kind === "exit") finish(parsed);
  const cli = parsed.values;
  const modelArg = cli.get("--model");
  if (typeof modelArg !== "string") {
    // The real server starts without a model and loads what each request names; the stand-in serves one.
    finish({
      code: 2,
      stdout: "",
      stderr: `${formatUsage(flags, ctx)}${prog}: error: the stand-in needs --model (it serves the one model it was started with)\n`,
    });
  }
  const modelPath = modelArg;
  // A folder, or a repo id found in this host's Hugging Face cache (the real one would download it).
  const modelDir = resolveModelArg(modelPath) ?? (path.isAbsolute(modelPath) || !/^[\w.-]+\/[\w.-]+$/.test(modelPath) ? path.resolve(modelPath) : modelPath);
  dryRun(prog, modelDir);
  const gguf = requireGguf();
  const world = worldFromEnv();
  const host = typeof cli.get("--host") === "string" ? String(cli.get("--host")) : "127.0.0.1";
  const port = typeof cli.get("--port") === "number" ? Number(cli.get("--port")) : 8080;
  const logLevel = typeof cli.get("--log-level") === "string" ? String(cli.get("--log-level")) : "INFO";
  const levels = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"];
  const logs = (level: string): boolean => levels.indexOf(level) >= levels.indexOf(logLevel);
  const log = (level: string, message: string): void => {
    if (logs(level)) err(`${asctime()} - ${level} - ${message}\n`);
  };
  const allowedOrigins = Array.isArray(cli.get("--allowed-origins"))
    ? (cli.get("--allowed-origins") as string[])
    : ["*"];

  // The generation thread loads the model in the background while HTTP answers at once.
  const llama = new LlamaChild();
  process.on("SIGTERM", () => {
    llama.stopAndExit();
  });
  process.on("SIGINT", () => {
    llama.stopAndExit();
  });
  let markLoaded: () => void = () => undefined;
  const loaded = new Promise<void>((resolve) => {
    markLoaded = resolve;
  });
  let problem = loadProblem(modelDir, sitePackages);
  if (world.size > 1) {
    if (world.backend === "jaccl") {
      err("[stand-in] the jaccl backend needs RDMA over Thunderbolt, which cannot exist here: use ring.\n");
      process.exit(1);
    }
    // mx.distributed.init() in ModelProvider.__init__: nothing listens until every rank has joined.
    try {
      await joinRing(world, (peer) => {
        err(`RuntimeError: [ring] Lost the connection to rank ${peer}.\n`);
        llama.kill();
        process.exit(1);
      });
    } catch (error) {
      err(pyTraceback([{ file: script, line: 8, func: "<module>", code: "sys.exit(main())" }, { file: server, line: 1896, func: "main", code: "run(args.host, args.port, ModelProvider(args))" }, { file: server, line: 284, func: "__init__", code: "group = mx.distributed.init()" }], `RuntimeError: ${error instanceof Error ? error.message : String(error)}`));
      process.exit(1);
    }
    const utils = `${sitePackages}/mlx_lm/utils.py`;
    if (problem === undefined && (cli.get("--adapter-path") !== undefined || cli.get("--draft-model") !== undefined))
      problem = { exception: `ValueError: ${DISTRIBUTED_UNSUPPORTED}`, frames: [{ file: server, line: 310, func: "_load", code: "raise ValueError(" }] };
    if (problem === undefined && cli.get("--pipeline") === true && !fs.existsSync(path.join(modelDir, "model.safetensors.index.json")))
      problem = { exception: `FileNotFoundError: [Errno 2] No such file or directory: ${pyRepr(path.join(modelDir, "model.safetensors.index.json"))}`, frames: [{ file: server, line: 322, func: "_load", code: "model, tokenizer = sharded_load(" }, { file: utils, line: 599, func: "sharded_load", code: 'with open(model_path / "model.safetensors.index.json", "r") as fid:' }] };
    if (world.rank > 0) {
      // response_generator.join(): this rank only takes part in the generation; no HTTP.
      if (problem !== undefined) {
        err(`Exception in thread Thread-1 (_generate):\n${pyTraceback([{ file: server, line: 695, func: "_generate", code: "self.model_provider.load_default()" }, ...problem.frames], problem.exception)}`);
        process.exit(0);
      }
      process.on("SIGTERM", () => process.exit(0));
      process.on("SIGINT", () => process.exit(0));
      setInterval(() => undefined, 60_000);
      return;
    }
  }
  const startedAt = Date.now();
  if (problem === undefined) {
    await llama.start(gguf);
    void llama.healthy().then(async () => {
      await delay(Math.max(0, loadDelayMs() - (Date.now() - startedAt)));
      markLoaded();
    });
  } else {
    // The thread dies with the traceback; `loaded` never resolves, so every request waits forever.
    void delay(loadDelayMs()).then(() => {
      err(
        `Exception in thread Thread-1 (_generate):\n${pyTraceback(
          [
            { file: `${lib}/threading.py`, line: 1045, func: "_bootstrap_inner", code: "self.run()" },
            {
              file: `${lib}/threading.py`,
              line: 982,
              func: "run",
              code: "self._target(*self._args, **self._kwargs)",
            },
            { file: server, line: 695, func: "_generate", code: "self.model_provider.load_default()" },
            {
              file: server,
              line: 385,
              func: "load_default",
              code: 'self.load("default_model", None, "default_model")',
            },
            { file: server, line: 394, func: "load", code: "self._load(*model_key)" },
            { file: server, line: 349, func: "_load", code: "model, tokenizer = load(" },
            ...problem.frames,
          ],
          problem.exception,
        )}`,
      );
    });
  }

  const cors = (req: http.IncomingMessage): Record<string, string> => {
    const origin = req.headers.origin;
    const headers: Record<string, string> = {
      "Access-Control-Allow-Methods": "*",
      "Access-Control-Allow-Headers": "*",
    };
    if (allowedOrigins.includes("*")) headers["Access-Control-Allow-Origin"] = "*";
    else if (origin !== undefined && allowedOrigins.includes(origin)) {
      headers["Access-Control-Allow-Origin"] = origin;
      headers["Vary"] = "Origin";
    }
    return headers;
  };

  const httpServer = http.createServer((req, res) => {
    // BaseHTTPRequestHandler speaks HTTP/1.0: one request per connection.
    const requestLine = `${req.method ?? ""} ${req.url ?? ""} HTTP/${req.httpVersion}`;
    const head = (status: number, headers: Record<string, string>): void => {
      const d = new Date();
      const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
      const p = (n: number): string => String(n).padStart(2, "0");
      const stamp = `${p(d.getDate())}/${months[d.getMonth()] ?? ""}/${d.getFullYear()} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
      err(`${req.socket.remoteAddress ?? "127.0.0.1"} - - [${stamp}] "${requestLine}" ${status} -\n`);
      res.writeHead(status, {
        server: "BaseHTTP/0.6 Python/3.11.7",
        connection: "close",
        ...headers,
        ...cors(req),
      });
    };
    const send = (status: number, body: string): void => {
      head(status, { "Content-type": "application/json", "content-length": String(Buffer.byteLength(body)) });
      res.end(body);
    };
    void handle(req, res, head, send).catch((error: unknown) => {
      err(`stand-in: ${String(error)}\n`);
      res.destroy();
    });
  });

  /** An exception in the handler thread: socketserver prints it and drops the connection unanswered. */
  const requestException = (req: http.IncomingMessage, frames: PyFrame[], exception: string): void => {
    const socketserver = `${lib}/socketserver.py`;
    err(
      `${"-".repeat(40)}\nException occurred during processing of request from ('${req.socket.remoteAddress ?? "127.0.0.1"}', ${req.socket.remotePort ?? 0})\n${pyTraceback(
        [
          {
            file: socketserver,
            line: 691,
            func: "process_request_thread",
            code: "self.finish_request(request, client_address)",
          },
          {
            file: socketserver,
            line: 361,
            func: "finish_request",
            code: "self.RequestHandlerClass(request, client_address, self)",
          },
          { file: server, line: 1716, func: "<lambda>", code: "lambda *args, **kwargs: handler_class(" },
          { file: server, line: 1073, func: "__init__", code: "super().__init__(*args, **kwargs)" },
          { file: socketserver, line: 755, func: "__init__", code: "self.handle()" },
          { file: `${lib}/http/server.py`, line: 436, func: "handle", code: "self.handle_one_request()" },
          { file: `${lib}/http/server.py`, line: 424, func: "handle_one_request", code: "method()" },
          ...frames,
        ],
        exception,
      )}${"-".repeat(40)}\n`,
    );
    req.socket.destroy();
  };

  async function handle(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    head: (status: number, headers: Record<string, string>) => void,
    send: (status: number, body: string) => void,
  ): Promise<void> {
    // server.py compares the raw path (query string included).
    const url = req.url ?? "/";
    if (req.method === "OPTIONS") {
      head(204, { "Content-type": "application/json" });
      res.end();
      return;
    }
    if (req.method === "GET") {
      if (url.startsWith("/v1/models")) {
        const id = path.resolve(modelPath);
        send(
          200,
          pyJsonDumps({
            object: "list",
            data: [{ id, object: "model", created: Math.floor(Date.now() / 1000) }],
          }),
        );
      } else if (url === "/health") send(200, '{"status": "ok"}');
      else {
        head(404, { "Content-type": "application/json" });
        res.end("Not Found");
      }
      return;
    }
    if (req.method !== "POST") {
      // BaseHTTPRequestHandler: no do_<METHOD>.
      const page = `<!DOCTYPE HTML>\n<html lang="en">\n    <head>\n        <meta charset="utf-8">\n        <title>Error response</title>\n    </head>\n    <body>\n        <h1>Error response</h1>\n        <p>Error code: 501</p>\n        <p>Message: Unsupported method (${pyRepr(req.method ?? "")}).</p>\n        <p>Error code explanation: 501 - Server does not support this operation.</p>\n    </body>\n</html>\n`;
      head(501, {
        "Content-Type": "text/html;charset=utf-8",
        "Content-Length": String(Buffer.byteLength(page)),
      });
      res.end(page);
      return;
    }
    const routes = ["/v1/completions", "/v1/chat/completions", "/chat/completions"];
    if (!routes.includes(url)) {
      head(404, { "Content-type": "application/json" });
      res.end("Not Found");
      return;
    }
    if (req.headers["content-length"] === undefined) {
      send(411, pyJsonDumps({ error: "Content-Length header is required" }));
      return;
    }
    const raw = await readBody(req);
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(raw);
    } catch {
      requestException(
        req,
        [{ file: server, line: 1135, func: "do_POST", code: "self.body = json.loads(raw_body.decode())" }],
        "UnicodeDecodeError: 'utf-8' codec can't decode the request body: invalid start byte",
      );
      return;
    }
    const decoded = pyJsonLoads(text);
    if (!decoded.ok) {
      log("ERROR", `JSONDecodeError: ${decoded.message} - Raw body: ${text}`);
      send(400, pyJsonDumps({ error: `Invalid JSON in request body: ${decoded.message}` }));
      return;
    }
    const body = decoded.value;
    if (!isObject(body)) {
      log("ERROR", `Invalid Request Body: ${JSON.stringify(body, null, "\t")}`);
      send(400, pyJsonDumps({ error: "Request should be a JSON dictionary" }));
      return;
    }
    const invalid = mlxLmValidationError(body, decoded.floatKeys, cli);
    if (invalid !== undefined) {
      requestException(
        req,
        [
          { file: server, line: 1193, func: "do_POST", code: "self.validate_model_parameters()" },
          { file: server, line: 1231, func: "validate_model_parameters", code: "self._validate(...)" },
          invalid.includes("must be of type")
            ? {
                file: server,
                line: 1221,
                func: "_validate",
                code: 'raise ValueError(f"{name} must be of type {allowed}")',
              }
            : invalid.includes("at least")
              ? {
                  file: server,
                  line: 1225,
                  func: "_validate",
                  code: 'raise ValueError(f"{name} must be at least {min_val}")',
                }
              : invalid.includes("at most")
                ? {
                    file: server,
                    line: 1227,
                    func: "_validate",
                    code: 'raise ValueError(f"{name} must be at most {max_val}")',
                  }
                : {
                    file: server,
                    line: 1257,
                    func: "validate_model_parameters",
                    code: 'raise ValueError("logit_bias must be a dict of int to float")',
                  },
        ],
        invalid,
      );
      return;
    }
    const chat = url.endsWith("chat/completions");
    if (!((chat ? "messages" : "prompt") in body)) {
      requestException(
        req,
        [
          { file: server, line: 1201, func: "do_POST", code: "request = request_factories[self.path]()" },
          chat
            ? {
                file: server,
                line: 1587,
                func: "handle_chat_completions",
                code: 'assert "messages" in body, "Request did not contain messages"',
              }
            : {
                file: server,
                line: 1612,
                func: "handle_text_completions",
                code: 'assert "prompt" in self.body, "Request did not contain a prompt"',
              },
        ],
        `AssertionError: ${chat ? "Request did not contain messages" : "Request did not contain a prompt"}`,
      );
      return;
    }
    // mlx_lm.server takes an adapter per request in `adapters` (SERVER.md); the log line lets tests see it arrive.
    if ("adapters" in body && world.size > 1) {
      // ModelProvider._load raises before anything is generated; the handler answers 404 with it.
      send(404, pyJsonDumps({ error: DISTRIBUTED_UNSUPPORTED }));
      return;
    }
    if ("adapters" in body) {
      out(`request adapters=${JSON.stringify(body["adapters"])}\n`);
      delete body["adapters"];
    }
    // The request waits on its queue until the generation thread has the model (forever if the load failed).
    await loaded;
    if (res.destroyed) return;
    const named = body["model"] ?? "default_model";
    if (named !== modelPath && named !== "default_model") {
      // The real server would try to load (download) the model named; generate() raises and it answers 404.
      send(
        404,
        pyJsonDumps({
          error: `stand-in mlx_lm.server serves only --model ${modelPath}; the request named ${typeof named === "string" ? pyRepr(named) : JSON.stringify(named)}, which the real server would try to download and load.`,
        }),
      );
      return;
    }
    relay(llama, res, chat ? "/v1/chat/completions" : "/v1/completions", body, {
      servedName: typeof named === "string" ? named : modelPath,
      streamUsage: "include_usage_chunk",
      dumpsBody: pyJsonDumps,
      dumpsEvent: pyJsonDumps,
      head,
    });
  }

  httpServer.once("error", (error: NodeJS.ErrnoException) => {
    // HTTPServer's constructor raises in the main thread; the generation thread is not a daemon, so
    // the process stays up without HTTP until it is killed.
    const errno =
      error.code === "EADDRINUSE"
        ? "[Errno 98] Address already in use"
        : `[Errno ${error.errno ?? 0}] ${error.message}`;
    err(
      pyTraceback(
        [
          { file: script, line: 8, func: "<module>", code: "sys.exit(main())" },
          { file: server, line: 1896, func: "main", code: "run(args.host, args.port, ModelProvider(args))" },
          { file: server, line: 1714, func: "_run_http_server", code: "httpd = server_class(" },
          { file: `${lib}/socketserver.py`, line: 456, func: "__init__", code: "self.server_bind()" },
        ],
        `OSError: ${errno}`,
      ),
    );
  });
  httpServer.listen(port, host, () => {
    err(
      `${server}:1723: UserWarning: mlx_lm.server is not recommended for production as it only implements basic security checks.\n  warnings.warn(\n`,
    );
    log("INFO", `Starting httpd at ${host} on port ${port}...`);
  });
}

// ====================================================================== mlx-openai-server

/** The pydantic v2 error FastAPI reports for one field (loc after "body"). */
interface FieldError {
  type: string;
  loc: (string | number)[];
  msg: string;
  input: unknown;
  ctx?: Json;
}

/** FastAPI + pydantic's 422 for a chat body: the ChatCompletionRequest fields the stand-in knows (app/schemas/openai.py). */
function chatValidationErrors(body: unknown): FieldError[] {
  if (!isObject(body))
    return [
      body === undefined
        ? { type: "missing", loc: ["body"], msg: "Field required", input: null }
        : {
            type: "model_attributes_type",
            loc: ["body"],
            msg: "Input should be a valid dictionary or object to extract fields from",
            input: body,
          },
    ];
  const errors: FieldError[] = [];
  const at = (field: string): (string | number)[] => ["body", field];
  const int = (field: string): void => {
    const v = body[field];
    if (v === undefined || v === null || typeof v === "boolean") return;
    if (typeof v === "number") {
      if (!Number.isFinite(v))
        errors.push({
          type: "finite_number",
          loc: at(field),
          msg: "Input should be a finite number",
          input: v,
        });
      else if (!Number.isInteger(v))
        errors.push({
          type: "int_from_float",
          loc: at(field),
          msg: "Input should be a valid integer, got a number with a fractional part",
          input: v,
        });
      return;
    }
    if (typeof v === "string") {
      if (!/^\s*[+-]?\d+\s*$/.test(v))
        errors.push({
          type: "int_parsing",
          loc: at(field),
          msg: "Input should be a valid integer, unable to parse string as an integer",
          input: v,
        });
      return;
    }
    errors.push({ type: "int_type", loc: at(field), msg: "Input should be a valid integer", input: v });
  };
  const float = (field: string): void => {
    const v = body[field];
    if (v === undefined || v === null || typeof v === "boolean" || typeof v === "number") return;
    if (typeof v === "string") {
      if (v.trim() === "" || Number.isNaN(Number(v)))
        errors.push({
          type: "float_parsing",
          loc: at(field),
          msg: "Input should be a valid number, unable to parse string as a number",
          input: v,
        });
      return;
    }
    errors.push({ type: "float_type", loc: at(field), msg: "Input should be a valid number", input: v });
  };
  if ("model" in body && typeof body["model"] !== "string")
    errors.push({
      type: "string_type",
      loc: at("model"),
      msg: "Input should be a valid string",
      input: body["model"],
    });
  const messages = body["messages"];
  if (messages === undefined)
    errors.push({ type: "missing", loc: at("messages"), msg: "Field required", input: body });
  else if (!Array.isArray(messages))
    errors.push({
      type: "list_type",
      loc: at("messages"),
      msg: "Input should be a valid list",
      input: messages,
    });
  else
    messages.forEach((m: unknown, i) => {
      if (!isObject(m)) {
        errors.push({
          type: "model_attributes_type",
          loc: ["body", "messages", i],
          msg: "Input should be a valid dictionary or object to extract fields from",
          input: m,
        });
        return;
      }
      const roles = ["system", "user", "assistant", "tool"];
      const expected = "'system', 'user', 'assistant' or 'tool'";
      if (!("role" in m))
        errors.push({
          type: "missing",
          loc: ["body", "messages", i, "role"],
          msg: "Field required",
          input: m,
        });
      else if (typeof m["role"] !== "string" || !roles.includes(m["role"]))
        errors.push({
          type: "literal_error",
          loc: ["body", "messages", i, "role"],
          msg: `Input should be ${expected}`,
          input: m["role"],
          ctx: { expected },
        });
    });
  for (const f of ["max_tokens", "max_completion_tokens"]) int(f);
  for (const f of ["temperature", "top_p"]) float(f);
  int("top_k");
  for (const f of ["min_p", "frequency_penalty", "presence_penalty"]) float(f);
  int("n");
  int("seed");
  float("repetition_penalty");
  int("repetition_context_size");
  for (const f of ["xtc_probability", "xtc_threshold"]) float(f);
  if ("stream" in body) {
    const v = body["stream"];
    const words = ["0", "off", "f", "false", "n", "no", "1", "on", "t", "true", "y", "yes"];
    if (typeof v === "string" && !words.includes(v.trim().toLowerCase()))
      errors.push({
        type: "bool_parsing",
        loc: at("stream"),
        msg: "Input should be a valid boolean, unable to interpret input",
        input: v,
      });
    else if (typeof v === "number" && v !== 0 && v !== 1)
      errors.push({
        type: "bool_parsing",
        loc: at("stream"),
        msg: "Input should be a valid boolean, unable to interpret input",
        input: v,
      });
    else if (v === null || isObject(v) || Array.isArray(v))
      errors.push({ type: "bool_type", loc: at("stream"), msg: "Input should be a valid boolean", input: v });
  }
  return errors;
}

const STATUS_PHRASES: Record<number, string> = {
  200: "OK",
  307: "Temporary Redirect",
  400: "Bad Request",
  404: "Not Found",
  405: "Method Not Allowed",
  422: "Unprocessable Entity",
  500: "Internal Server Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
};

async function runOpenAiServer(argv: readonly string[]): Promise<void> {
  const version = openAiServerVersion();
  const flags = flagsAt(MLX_OPENAI_SERVER_LAUNCH_FLAGS, MLX_OPENAI_SERVER_FLAG_HISTORY, version);
  const prog = path.basename(process.argv[1] ?? "mlx-openai-server");
  const parsed = parseClick(flags, argv, { prog, version });
  if (parsed.kind === "exit") finish(parsed);
  const cli = parsed.values;
  const modelPath = cli.get("--model-path");
  if (typeof modelPath !== "string") {
    // --config: multi-handler YAML mode.
    if (process.env["STANDIN_DRY_RUN"] === "1") {
      out(`${prog}: command line accepted\n`);
      process.exit(0);
    }
    err("stand-in: --config (multi-handler YAML mode) is not played by the stand-in\n");
    process.exit(1);
  }
  dryRun(prog, path.resolve(modelPath));
  const gguf = requireGguf();
  const host = typeof cli.get("--host") === "string" ? String(cli.get("--host")) : "0.0.0.0";
  const port = typeof cli.get("--port") === "number" ? Number(cli.get("--port")) : 8000;
  const servedName =
    typeof cli.get("--served-model-name") === "string" ? String(cli.get("--served-model-name")) : modelPath;
  const modelType = typeof cli.get("--model-type") === "string" ? String(cli.get("--model-type")) : "lm";
  // From v1.8.0 `launch` runs through start_multi: a ModelRegistry, 404 for any other model name.
  const registry = compareVersions(version, "1.8.0") >= 0;
  const { lib, sitePackages } = pythonPaths();
  const uvicorn = (level: string, message: string): void => {
    err(`${`${level}:`.padEnd(9)} ${message}\n`);
  };
  const loguru = (level: string, where: string, message: string): void => {
    const d = new Date();
    const p = (n: number): string => String(n).padStart(2, "0");
    const time = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
    out(`${time} | ${level.padEnd(8)} | ${where} | ✦ ${message}\n`);
  };

  const llama = new LlamaChild();
  process.on("SIGTERM", () => {
    llama.stopAndExit();
  });
  process.on("SIGINT", () => {
    llama.stopAndExit();
  });
  const startedAt = Date.now();
  loguru("INFO", "app.server:setup_server:604", `Starting server on ${host}:${port}`);
  uvicorn("INFO", `Started server process [${process.pid}]`);
  uvicorn("INFO", "Waiting for application startup.");
  loguru(
    "INFO",
    "app.server:lifespan:433",
    `Spawning handler process for model '${servedName}' (type=${modelType}, path=${modelPath})`,
  );

  // The lifespan awaits the model before uvicorn binds: nothing listens while it loads.
  const problem = loadProblem(path.resolve(modelPath), sitePackages);
  if (problem !== undefined) {
    await delay(loadDelayMs());
    const detail = problem.exception.replace(/^[\w.]+: /, "");
    const starlette = `${sitePackages}/starlette/routing.py`;
    const frames: PyFrame[] = [
      {
        file: starlette,
        line: 694,
        func: "lifespan",
        code: "async with self.lifespan_context(app) as maybe_state:",
      },
      { file: `${lib}/contextlib.py`, line: 204, func: "__aenter__", code: "return await anext(self.gen)" },
    ];
    const traceback = registry
      ? pyTraceback(
          [
            ...frames,
            {
              file: `${sitePackages}/app/server.py`,
              line: 445,
              func: "lifespan",
              code: "await proxy.start(queue_config)",
            },
            {
              file: `${sitePackages}/app/core/handler_process.py`,
              line: 598,
              func: "start",
              code: "raise RuntimeError(",
            },
          ],
          `RuntimeError: Handler process for '${servedName}' failed to initialize: ${detail}`,
        )
      : pyTraceback(
          [
            ...frames,
            {
              file: `${sitePackages}/app/server.py`,
              line: 180,
              func: "lifespan",
              code: "await handler.initialize(",
            },
            ...problem.frames,
          ],
          problem.exception,
        );
    if (registry)
      loguru(
        "ERROR",
        "app.server:lifespan:471",
        `Failed to initialize multi-handler setup: Handler process for '${servedName}' failed to initialize: ${detail}`,
      );
    else loguru("ERROR", "app.server:lifespan:199", `Failed to initialize MLX handler: ${detail}`);
    uvicorn("ERROR", traceback);
    uvicorn("ERROR", "Application startup failed. Exiting.");
    process.exit(OPENAI_SERVER_LOAD_FAILURE_EXIT);
  }
  await llama.start(gguf);
  await llama.healthy();
  await delay(Math.max(0, loadDelayMs() - (Date.now() - startedAt)));
  loguru("INFO", "app.server:lifespan:453", `Model '${servedName}' spawned and registered successfully`);
  uvicorn("INFO", "Application startup complete.");

  const getRoutes = new Set([
    "/health",
    "/v1/models",
    "/v1/queue/stats",
    "/docs",
    "/redoc",
    "/openapi.json",
    "/docs/oauth2-redirect",
  ]);
  const postRoutes = new Set([
    "/v1/chat/completions",
    "/v1/embeddings",
    "/v1/images/generations",
    "/v1/images/edits",
    "/v1/audio/transcriptions",
    "/v1/responses",
  ]);

  const httpServer = http.createServer((req, res) => {
    const started = Date.now();
    const url = req.url ?? "/";
    res.once("finish", () => {
      // Uvicorn's access log (stdout).
      out(
        `INFO:     ${req.socket.remoteAddress ?? "127.0.0.1"}:${req.socket.remotePort ?? 0} - "${req.method ?? "GET"} ${url} HTTP/${req.httpVersion}" ${res.statusCode} ${STATUS_PHRASES[res.statusCode] ?? ""}\n`,
      );
    });
    const head = (status: number, headers: Record<string, string>): void => {
      res.writeHead(status, {
        server: "uvicorn",
        "x-process-time": String((Date.now() - started) / 1000),
        ...headers,
      });
    };
    const send = (status: number, body: unknown, extra: Record<string, string> = {}): void => {
      const text = JSON.stringify(body);
      head(status, {
        "content-type": "application/json",
        "content-length": String(Buffer.byteLength(text)),
        ...extra,
      });
      res.end(text);
    };
    void handle(req, res, url, head, send).catch((error: unknown) => {
      if (!res.headersSent)
        send(500, { error: { message: "Internal server error", type: "internal_error" } });
      else res.destroy();
      loguru(
        "ERROR",
        "app.server:global_exception_handler:596",
        `Global exception handler caught: ${String(error)}`,
      );
    });
  });

  async function handle(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    rawUrl: string,
    head: (status: number, headers: Record<string, string>) => void,
    send: (status: number, body: unknown, extra?: Record<string, string>) => void,
  ): Promise<void> {
    const url = rawUrl.split("?")[0] ?? "/";
    const method = req.method ?? "GET";
    const known = getRoutes.has(url) || postRoutes.has(url);
    if (!known) {
      // Starlette redirects a trailing slash to the route without it.
      const bare = url.replace(/\/+$/, "");
      if (bare !== url && (getRoutes.has(bare) || postRoutes.has(bare))) {
        head(307, { location: bare, "content-length": "0" });
        res.end();
        return;
      }
      send(404, { detail: "Not Found" });
      return;
    }
    const allowed = getRoutes.has(url) ? "GET" : "POST";
    if (method !== allowed && !(allowed === "GET" && method === "HEAD")) {
      send(405, { detail: "Method Not Allowed" }, { allow: allowed });
      return;
    }
    if (url === "/health") {
      send(
        200,
        registry
          ? { status: "ok", model_id: servedName, model_status: "initialized (1 model(s))" }
          : { status: "ok", model_id: servedName, model_status: "initialized" },
      );
      return;
    }
    if (url === "/v1/models") {
      send(200, {
        object: "list",
        data: [{ id: servedName, object: "model", created: Math.floor(startedAt / 1000), owned_by: "local" }],
      });
      return;
    }
    if (url === "/openapi.json") {
      send(200, { openapi: "3.1.0", info: { title: "OpenAI-compatible API", version }, paths: {} });
      return;
    }
    if (url !== "/v1/chat/completions" && url !== "/v1/embeddings") {
      send(501, {
        error: {
          message: `stand-in: ${method} ${url} is not played by the stand-in`,
          type: "not_implemented",
          param: null,
          code: "501",
        },
      });
      return;
    }
    // FastAPI: the body is JSON when the content type says so (or says nothing), else bytes.
    const raw = await readBody(req);
    const type = req.headers["content-type"];
    const json = type === undefined || /^application\/(?:[\w.+-]*\+)?json\b/i.test(type.trim());
    let body: unknown = raw.length === 0 ? undefined : raw.toString("utf8");
    if (raw.length > 0 && json) {
      const decoded = pyJsonLoads(raw.toString("utf8"));
      if (!decoded.ok) {
        send(422, {
          detail: [
            {
              type: "json_invalid",
              loc: ["body", decoded.pos],
              msg: "JSON decode error",
              input: {},
              ctx: { error: decoded.msg },
            },
          ],
        });
        return;
      }
      body = decoded.value;
    }
    if (url === "/v1/embeddings") {
      const model =
        isObject(body) && typeof body["model"] === "string" ? body["model"] : "local-embedding-model";
      if (registry && model !== servedName) {
        notFound(model);
        return;
      }
      if (modelType !== "embeddings") {
        send(400, {
          error: {
            message: `Unsupported model type for embeddings. Handler for '${model}' is ${registry ? "HandlerProcessProxy" : "MLXLMHandler"}.`,
            type: "unsupported_request",
            param: null,
            code: "400",
          },
        });
        return;
      }
      send(501, {
        error: {
          message: "stand-in: embeddings are not played by the stand-in",
          type: "not_implemented",
          param: null,
          code: "501",
        },
      });
      return;
    }
    const errors = chatValidationErrors(body);
    if (errors.length > 0) {
      send(422, { detail: errors });
      return;
    }
    const request = body as Json;
    // An omitted model falls back to the one handler; a named one must be registered (endpoints.py:96-177).
    const named = request["model"];
    if (registry && typeof named === "string" && named !== servedName) {
      notFound(named);
      return;
    }
    if (modelType !== "lm" && modelType !== "multimodal") {
      send(400, {
        error: {
          message: `Unsupported model type for chat completions. Handler for '${typeof named === "string" ? named : "local-text-model"}' is ${registry ? "HandlerProcessProxy" : "MLXLMHandler"} (handler_type=${pyRepr(modelType)}).`,
          type: "unsupported_request",
          param: null,
          code: "400",
        },
      });
      return;
    }
    relay(llama, res, "/v1/chat/completions", request, {
      servedName: typeof named === "string" ? named : registry ? servedName : "local-text-model",
      streamUsage: "last_chunk",
      // FastAPI's JSONResponse is compact; the SSE events are json.dumps with its defaults.
      dumpsBody: (value) => JSON.stringify(value),
      dumpsEvent: pyJsonDumps,
      head,
    });

    function notFound(model: string): void {
      send(404, {
        detail: {
          error: {
            message: `Model '${model}' not found. Available models: ${servedName}`,
            type: "model_not_found",
            code: 404,
          },
        },
      });
    }
  }

  httpServer.once("error", (error: NodeJS.ErrnoException) => {
    const reason = error.code === "EADDRINUSE" ? "address already in use" : error.message;
    uvicorn(
      "ERROR",
      `[Errno ${error.code === "EADDRINUSE" ? 98 : (error.errno ?? 0)}] error while attempting to bind on address ('${host}', ${port}): ${reason}`,
    );
    uvicorn("INFO", "Waiting for application shutdown.");
    uvicorn("INFO", "Application shutdown complete.");
    llama.kill();
    process.exit(1);
  });
  httpServer.listen(port, host, () => {
    uvicorn(
      "INFO",
      `Uvicorn running on http://${host.includes(":") ? `[${host}]` : host}:${port} (Press CTRL+C to quit)`,
    );
  });
}

// ====================================================================== python

/**
 * `python` as far as distributed mlx_lm uses it: CPython's -X options (any name: kept in
 * sys._xoptions), `--version`/-V ("Python 3.12.8"; STANDIN_PYTHON_VERSION), and `-m mlx_lm …`
 * (mlx_lm/__main__.py runs cli.main; before 0.30.6 there is no __main__ and CPython says so).
 */
async function runPython(argv: readonly string[]): Promise<void> {
  let i = 0;
  while (i < argv.length && (argv[i] ?? "").startsWith("-X")) i += argv[i] === "-X" ? 2 : 1;
  const rest = argv.slice(i);
  const me = process.argv[1] ?? "python";
  if (rest[0] === "--version" || rest[0] === "-V") {
    out(`Python ${process.env["STANDIN_PYTHON_VERSION"] ?? "3.12.8"}\n`);
    process.exit(0);
  }
  if (rest[0] === "-m" && rest[1] === "mlx_lm") {
    if (compareVersions(mlxLmVersion(), "0.30.6") < 0) {
      err(`${me}: No module named mlx_lm.__main__; 'mlx_lm' is a package and cannot be directly executed\n`);
      process.exit(1);
    }
    if (rest[2] === "server") return runMlxLmServer("__main__.py", rest.slice(3));
    return runMlxLmCli(rest.slice(2));
  }
  if (rest[0] === "-m") {
    err(`${me}: No module named ${rest[1] ?? ""}\n`);
    process.exit(1);
  }
  err(`stand-in python plays only -X, --version and -m mlx_lm (got ${JSON.stringify(rest)})\n`);
  process.exit(2);
}

// ====================================================================== dispatch

async function main(): Promise<void> {
  const invokedAs = path.basename(process.argv[1] ?? "");
  const argv = process.argv.slice(2);
  if (invokedAs === "mlx.launch") await runMlxLaunch(argv);
  else if (invokedAs === "python" || invokedAs === "python3") await runPython(argv);
  else if (invokedAs === "mlx-openai-server") await runOpenAiServer(argv);
  else if (invokedAs === "mlx_lm") await runMlxLmCli(argv);
  else await runMlxLmServer("mlx_lm.server", argv);
}

void main();
