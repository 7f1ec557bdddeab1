// The `llama` engine: an OpenAI-compatible server for one GGUF model on node-llama-cpp,
// bundled to dist/llama-engine.js and run by the manager as a child process whose stdout and
// stderr go to a log file. It listens first and loads after, so /health answers at once.
import { accessSync, constants, statSync } from "node:fs";
import path from "node:path";
import { ENGINE_USAGE, parseEngineArgs, type EngineArgs } from "./engineArgs";
import { LlamaEngineServer, type EngineLog } from "./LlamaEngineServer";
import { LlamaTextGenerator } from "./LlamaTextGenerator";
import { defaultModuleDir, importNodeLlamaCpp, moduleDirProblem } from "./nodeLlamaCpp";

const processStarted = performance.now();

const log: EngineLog = {
  info(line) {
    process.stdout.write(`${new Date().toISOString()} ${line}\n`);
  },
  error(line) {
    process.stderr.write(`${new Date().toISOString()} ${line}\n`);
  },
};

/** Why the model file cannot be served, or undefined when it is a readable file. */
function modelFileProblem(file: string): string | undefined {
  try {
    if (!statSync(file).isFile()) return `Model path is not a file: ${file}`;
    accessSync(file, constants.R_OK);
    return undefined;
  } catch (error) {
    const code = error instanceof Error && "code" in error ? error.code : undefined;
    if (code === "ENOENT" || code === "ENOTDIR") return `Model file not found: ${file}`;
    if (code === "EACCES" || code === "EPERM") return `Model file is not readable: ${file}`;
    return `Cannot read model file ${file}: ${error instanceof Error ? error.message : String(error)}`;
  }
}

function fail(message: string, exitCode: number): never {
  process.stderr.write(`${message}\n`);
  process.exit(exitCode);
}

async function run(args: EngineArgs): Promise<void> {
  const modelProblem = modelFileProblem(args.model);
  if (modelProblem !== undefined) fail(modelProblem, 2);
  const moduleDir = args.llamaModuleDir ?? defaultModuleDir(__dirname);
  const moduleProblem = moduleDirProblem(moduleDir);
  if (moduleProblem !== undefined) fail(moduleProblem, 2);

  const modelId = args.alias ?? path.basename(args.model);
  const server = new LlamaEngineServer({
    modelId,
    log,
    parallel: args.parallel,
    ...(args.seed !== undefined ? { defaultSeed: args.seed } : {}),
  });
  const address = await server
    .listen(args.host, args.port)
    .catch((error: unknown) =>
      fail(
        `Cannot listen on ${args.host}:${args.port}: ${error instanceof Error ? error.message : String(error)}`,
        1,
      ),
    );
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  log.info(
    `listening on http://${host}:${address.port} pid=${process.pid} model=${modelId} (${Math.round(performance.now() - processStarted)}ms after start)`,
  );

  let generator: LlamaTextGenerator | undefined;
  const lifecycle = { stopping: false };
  const stop = (signal: NodeJS.Signals): void => {
    if (lifecycle.stopping) return;
    lifecycle.stopping = true;
    log.info(`${signal}: shutting down`);
    // Exiting frees the model; disposing it while an aborted generation unwinds gains nothing.
    setTimeout(() => process.exit(0), 800);
    void server.close().finally(() => process.exit(0));
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);

  try {
    const { module, version } = await importNodeLlamaCpp(moduleDir);
    generator = await LlamaTextGenerator.load(module, {
      modelPath: args.model,
      threads: args.threads,
      gpu: process.platform === "linux" ? false : "auto",
      onLog: (level, message) => {
        log.error(`[llama.cpp ${level}] ${message.trimEnd()}`);
      },
      ...(args.ctxSize !== undefined ? { contextSize: args.ctxSize } : {}),
      sequences: args.parallel,
      embedding: args.embedding,
    });
    if (lifecycle.stopping) return;
    server.setState({ status: "ready", generator });
    const rssMb = Math.round(process.memoryUsage().rss / (1024 * 1024));
    log.info(
      `ready in ${Math.round(performance.now() - processStarted)}ms: ctx=${generator.contextSize} parallel=${generator.parallel} threads=${args.threads} ` +
        `chat_format=${generator.chatWrapper.wrapperName} build=${generator.buildType} node-llama-cpp=${version} rss=${rssMb}MB`,
    );
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    server.setState({ status: "error", message });
    log.error(`Failed to load model ${args.model}: ${message}`);
    // Stay up briefly so a supervisor polling /health can read why, then exit non-zero.
    setTimeout(() => process.exit(1), 2000);
  }
}

const parsed = parseEngineArgs(process.argv.slice(2), process.env);
if (parsed.kind === "help") process.stdout.write(ENGINE_USAGE);
else if (parsed.kind === "error") fail(`${parsed.message}\n\n${ENGINE_USAGE}`, 2);
else {
  process.on("unhandledRejection", (reason) => {
    log.error(
      `unhandled rejection: ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}`,
    );
    process.exit(1);
  });
  void run(parsed.args);
}
