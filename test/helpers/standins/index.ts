// Test stand-ins for the MLX engines, which cannot run here (no Apple silicon, no PyPI).
//
//   const standins = await installStandins(binDir, { gguf: "/tmp/x/standin.gguf" });
//   spawn(..., { env: { ...process.env, ...standins.env } })   // or startManager({ env: standins.env })
//
// installStandins writes three executables into `binDir` (a temp dir of the test; never a global
// folder): `mlx_lm.server`, `mlx_lm` (mlx-lm's own console script, from 0.30.6 on) and
// `mlx-openai-server`, Node scripts with a `#!/usr/bin/env node` shebang, mode 0755. `standins.env`
// puts `binDir` first on PATH and sets STANDIN_GGUF (and the options below); the manager's engine
// lookup then finds them like the pip-installed ones.
//
// What they do (newest releases: mlx-lm v0.31.3, mlx-openai-server v1.8.1; see the header of
// ./mlxStandin.ts for the upstream files and where HEAD differs, ./flagTables.ts for the flags):
//   - Command lines as the real parsers take them. mlx_lm.server is argparse: `--flag value` and
//     `--flag=value`, unambiguous prefixes of long flags (`--mo` = `--model`), "error: ambiguous
//     option: --to could match --top-p, --top-k", "error: unrecognized arguments: ...", int/float,
//     choices, JSON (--chat-template-args: "invalid loads value") and sizes (--prompt-cache-bytes:
//     a number with "", M, G, MB or GB; an unknown suffix is a KeyError traceback, exit 1) checked;
//     usage line and exit 2; it has no --version. mlx-openai-server is click: the `launch` command,
//     exact names only ("Error: No such option: --x" with "Did you mean"), "Invalid value for
//     '--x': ...", exit 2; `mlx-openai-server --version` prints its banner ("🚀 Version: 1.8.1").
//     `mlx_lm --version` prints the bare version, `mlx_lm server ...` is mlx_lm.server, anything
//     else a ValueError traceback, exit 1.
//   - Versions: STANDIN_VERSION (or STANDIN_MLX_LM_VERSION / STANDIN_MLX_OPENAI_SERVER_VERSION,
//     which win) sets the version played: its flag set from the history in ./flagTables.ts (e.g.
//     mlx-openai-server before 1.7.0 has --max-concurrency but no --served-model-name or
//     --repetition-penalty); mlx-openai-server before 1.8.0 accepts any request `model`.
//   - They start the project's `llama` engine (dist/llama-engine.js, 1 thread) as their own child
//     on the GGUF named by env STANDIN_GGUF, and relay generation requests to it. The child shares
//     their process group and is killed with them. The model is "loaded" once the child is
//     healthy and STANDIN_LOAD_DELAY_MS (default 500) has passed since the start.
//   - mlx_lm.server binds at once ("Starting httpd at 127.0.0.1 on port N..." on stderr) and GET
//     /health answers 200 {"status": "ok"} at once; POST /v1/chat/completions, /chat/completions
//     and /v1/completions wait until the model is loaded, then are answered. Without Content-Length
//     it answers 411 {"error": "Content-Length header is required"}; bad JSON 400; a body that fails
//     its parameter checks (e.g. top_p 2) or lacks `messages`/`prompt` gets no answer (the handler
//     raises: a socketserver traceback on stderr, the connection is closed); an unknown path 404
//     "Not Found". It answers 404 {"error": ...} when a request's `model` is neither its --model
//     nor "default_model" (the real one would try to download that model): send the profile's model.
//     A request's `adapters` is logged (`request adapters="..."` on stdout) and dropped.
//   - mlx-openai-server does not listen until the model is loaded (connections are refused), then
//     logs "Uvicorn running on http://host:port" and GET /health is 200 {"status":"ok",
//     "model_id":<served name>,"model_status":"initialized (1 model(s))"}. Errors are FastAPI's:
//     404 {"detail":{"error":{... "type":"model_not_found"}}} for another `model`, 404
//     {"detail":"Not Found"} for an unknown route, 405 for a wrong method, 422 {"detail":[{type,
//     loc, msg, input}]} for malformed JSON or a body that fails validation (e.g. no `messages`).
//     It writes uvicorn's access lines (`INFO:     127.0.0.1:PORT - "GET /health HTTP/1.1" 200 OK`)
//     to stdout.
//   - STANDIN_LOAD_FAIL=1 (or a model folder without config.json or model*.safetensors): the load
//     fails after the delay with a Python traceback on stderr ending in e.g. "FileNotFoundError: No
//     safetensors found in <path>". mlx_lm.server then never answers a generation request (its
//     generation thread is dead; /health stays 200); mlx-openai-server logs "Application startup
//     failed. Exiting." and exits 0 (as v1.8.1 with its uvicorn does), never having listened.
//   - Usage on streams as each reports it: mlx_lm.server sends an extra `choices: []` chunk with
//     `usage` only when the request has stream_options.include_usage; mlx-openai-server always puts
//     `usage` on the last chunk (the one with finish_reason) and sends no separate usage chunk.
//   - SIGTERM/SIGINT: stop the child and exit 0. If the child dies, they exit 1.
// Env: STANDIN_GGUF (required), STANDIN_LOAD_DELAY_MS, STANDIN_LOAD_FAIL=1, STANDIN_VERSION (and
// the two per-engine ones), STANDIN_LLAMA_ENGINE (another llama-engine.js; default the repo's
// dist/llama-engine.js), STANDIN_DRY_RUN=1 (check the command line and the model folder, print
// "command line accepted", exit 0 without serving: a quick check of a command line).
import fs from "node:fs";
import path from "node:path";
import { build } from "esbuild";
import { engineBundle, ensureLlamaEngineBuilt, repoRoot } from "../llamaEngine";
import { compareVersions, MLX_LM_SERVER_REF } from "./flagTables";

export const STANDIN_NAMES = ["mlx_lm.server", "mlx_lm", "mlx-openai-server"] as const;

export interface InstalledStandins {
  binDir: string;
  /** Absolute paths of the executables. */
  mlxLm: string;
  /** `mlx_lm` (mlx_lm/cli.py); not written when the mlx-lm version played is older than 0.30.6, which had no such command. */
  mlxLmCli: string;
  mlxOpenAiServer: string;
  /** `mlx.launch` (mlx 846d176): ranks on 127.0.0.1 run locally, others over ssh (see ./mlxLaunch.ts). */
  mlxLaunch: string;
  /** `python`: -X options, --version and `-m mlx_lm …` (a rank of distributed mlx_lm: ./mlxDistributed.ts). */
  python: string;
  /** PATH (binDir and this Node first), STANDIN_GGUF and the env of the options given. */
  env: Record<string, string>;
}

export interface StandinOptions {
  gguf: string;
  /** STANDIN_LOAD_DELAY_MS: how long the model takes to load (after the llama child is healthy). */
  loadDelayMs?: number;
  /** STANDIN_LOAD_FAIL=1: the model load fails after the delay. */
  loadFail?: boolean;
  /** The version played: one for both engines (STANDIN_VERSION), or one each. */
  version?: string | { mlxLm?: string; mlxOpenAiServer?: string };
}

/** Writes the stand-ins into `binDir` (created if missing) and returns how to put them on PATH. */
export async function installStandins(binDir: string, options: StandinOptions): Promise<InstalledStandins> {
  await ensureLlamaEngineBuilt();
  fs.mkdirSync(binDir, { recursive: true });
  const mlxLm = path.join(binDir, "mlx_lm.server");
  const mlxLmCli = path.join(binDir, "mlx_lm");
  const mlxOpenAiServer = path.join(binDir, "mlx-openai-server");
  const mlxLaunch = path.join(binDir, "mlx.launch");
  const python = path.join(binDir, "python");
  await build({
    absWorkingDir: repoRoot,
    entryPoints: [path.join(__dirname, "mlxStandin.ts")],
    outfile: mlxLm,
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    banner: { js: "#!/usr/bin/env node" },
    define: { __STANDIN_LLAMA_ENGINE__: JSON.stringify(engineBundle) },
    logLevel: "warning",
  });
  const env: Record<string, string> = {
    // This Node first too, so the shebang's `env node` finds the same runtime as the tests.
    PATH: [binDir, path.dirname(process.execPath), process.env["PATH"] ?? ""].join(path.delimiter),
    STANDIN_GGUF: options.gguf,
  };
  if (options.loadDelayMs !== undefined) env["STANDIN_LOAD_DELAY_MS"] = String(options.loadDelayMs);
  if (options.loadFail === true) env["STANDIN_LOAD_FAIL"] = "1";
  const version = options.version;
  if (typeof version === "string") env["STANDIN_VERSION"] = version;
  else {
    if (version?.mlxLm !== undefined) env["STANDIN_MLX_LM_VERSION"] = version.mlxLm;
    if (version?.mlxOpenAiServer !== undefined)
      env["STANDIN_MLX_OPENAI_SERVER_VERSION"] = version.mlxOpenAiServer;
  }
  const lmVersion = env["STANDIN_MLX_LM_VERSION"] ?? env["STANDIN_VERSION"] ?? MLX_LM_SERVER_REF.ref.slice(1);
  const copies = [mlxOpenAiServer, mlxLaunch, python, ...(compareVersions(lmVersion, "0.30.6") >= 0 ? [mlxLmCli] : [])];
  fs.rmSync(mlxLmCli, { force: true });
  for (const copy of copies) fs.copyFileSync(mlxLm, copy);
  for (const file of [mlxLm, ...copies]) fs.chmodSync(file, 0o755);
  return { binDir, mlxLm, mlxLmCli, mlxOpenAiServer, mlxLaunch, python, env };
}
