// Test stand-ins for the MLX engines, which cannot run here (no Apple silicon, no PyPI).
//
//   const standins = await installStandins(binDir, { gguf: "/tmp/x/standin.gguf" });
//   spawn(..., { env: { ...process.env, ...standins.env } })   // or startManager({ env: standins.env })
//
// installStandins writes two executables into `binDir` (a temp dir of the test; never a global
// folder): `mlx_lm.server` and `mlx-openai-server`, Node scripts with a `#!/usr/bin/env node`
// shebang, mode 0755. `standins.env` puts `binDir` first on PATH and sets STANDIN_GGUF; the manager's
// engine lookup then finds them like the pip-installed ones.
//
// What they do, per engine (facts from docs/ENGINES.md):
//   - Refuse any flag ENGINES.md does not list for that engine, exit 2 with the real CLI's message
//     (argparse for mlx_lm.server: "error: unrecognized arguments: ..."; click for mlx-openai-server:
//     "Error: No such option: ..."; mlx-openai-server also needs the `launch` subcommand). Choices and
//     int/float values are checked. `--model` / `--model-path` must be a folder with config.json (the
//     MLX snapshot the manager resolved).
//   - Start the project's `llama` engine (dist/llama-engine.js, 1 thread) as their own child on the GGUF
//     named by env STANDIN_GGUF, and relay POST /v1/chat/completions (mlx_lm also /chat/completions)
//     and /v1/completions to it. The child shares their process group and is killed with them.
//   - GET /health: mlx_lm.server listens only once the model is loaded, then {"status":"ok"};
//     mlx-openai-server listens at once, answers 503 {"status":"unhealthy","model_id":null,
//     "model_status":"uninitialized"} until loaded (+ STANDIN_LOAD_DELAY_MS, default 500), then 200
//     {"status":"ok","model_id":<model path>,"model_status":"initialized"}. GET /v1/models lists the model.
//   - Usage on streams as each reports it: mlx_lm.server sends an extra `choices: []` chunk with
//     `usage` only when the request has stream_options.include_usage; mlx-openai-server always puts
//     `usage` on the last chunk (the one with finish_reason) and sends no separate usage chunk.
//   - mlx_lm.server answers 404 when a request's `model` is neither its --model path nor
//     "default_model" (the real one would try to load that model): send the profile's model.
//   - SIGTERM/SIGINT: stop the child and exit 0. If the child dies, they exit 1.
//   - mlx-openai-server writes uvicorn-style access lines (`"GET /health HTTP/1.1" 503`) to stdout.
// Env: STANDIN_GGUF (required), STANDIN_LOAD_DELAY_MS (mlx-openai-server's 503 phase after the model
// loaded), STANDIN_LLAMA_ENGINE (another llama-engine.js; default the repo's dist/llama-engine.js),
// STANDIN_DRY_RUN=1 (check the command line and the model folder, print "command line accepted",
// exit 0 without serving: a quick check of a command line).
import fs from "node:fs";
import path from "node:path";
import { build } from "esbuild";
import { engineBundle, ensureLlamaEngineBuilt, repoRoot } from "../llamaEngine";

export const STANDIN_NAMES = ["mlx_lm.server", "mlx-openai-server"] as const;

export interface InstalledStandins {
  binDir: string;
  /** Absolute paths of the two executables. */
  mlxLm: string;
  mlxOpenAiServer: string;
  /** PATH (binDir and this Node first) and STANDIN_GGUF (+ STANDIN_LOAD_DELAY_MS when given). */
  env: Record<string, string>;
}

/** Writes the stand-ins into `binDir` (created if missing) and returns how to put them on PATH. */
export async function installStandins(
  binDir: string,
  options: { gguf: string; loadDelayMs?: number },
): Promise<InstalledStandins> {
  await ensureLlamaEngineBuilt();
  fs.mkdirSync(binDir, { recursive: true });
  const mlxLm = path.join(binDir, "mlx_lm.server");
  const mlxOpenAiServer = path.join(binDir, "mlx-openai-server");
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
  fs.copyFileSync(mlxLm, mlxOpenAiServer);
  fs.chmodSync(mlxLm, 0o755);
  fs.chmodSync(mlxOpenAiServer, 0o755);
  const env: Record<string, string> = {
    // This Node first too, so the shebang's `env node` finds the same runtime as the tests.
    PATH: [binDir, path.dirname(process.execPath), process.env["PATH"] ?? ""].join(path.delimiter),
    STANDIN_GGUF: options.gguf,
  };
  if (options.loadDelayMs !== undefined) env["STANDIN_LOAD_DELAY_MS"] = String(options.loadDelayMs);
  return { binDir, mlxLm, mlxOpenAiServer, env };
}
