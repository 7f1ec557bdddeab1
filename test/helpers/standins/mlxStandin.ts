// The program behind the `mlx_lm.server` and `mlx-openai-server` test stand-ins (see ./index.ts for
// how tests install and use them). Which engine it plays is the name it was run as. It is bundled by
// esbuild into the test's bin dir, so it imports only Node.
//
// Upstream it follows (../shared/docs/ENGINES.md): mlx-openai-server v1.8.1 (4b7d4b6) — one model
// under --served-model-name, FastAPI's 404 {"detail": {"error": …}} for any other name, no
// /v1/completions; mlx_lm.server v0.31.3 (HEAD d78bf58) — a request's `adapters` field. Still as
// before and not yet as strict as the engines (issue 16): mlx_lm.server's background load and 411
// without Content-Length, mlx-openai-server not listening until its model has loaded.
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import path from "node:path";

declare const __STANDIN_LLAMA_ENGINE__: string;

type Flavor = "mlx_lm.server" | "mlx-openai-server";
type FlagKind = "value" | "bool" | readonly string[];

// Flags exactly as docs/ENGINES.md lists them; anything else is refused like the real CLI refuses it.
const MLX_LM_FLAGS: Record<string, FlagKind> = {
  "--model": "value",
  "--adapter-path": "value",
  "--host": "value",
  "--port": "value",
  "--allowed-origins": "value",
  "--draft-model": "value",
  "--num-draft-tokens": "value",
  "--trust-remote-code": "bool",
  "--log-level": ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"],
  "--chat-template": "value",
  "--use-default-chat-template": "bool",
  "--chat-template-args": "value",
  "--temp": "value",
  "--top-p": "value",
  "--top-k": "value",
  "--min-p": "value",
  "--max-tokens": "value",
  "--decode-concurrency": "value",
  "--prompt-concurrency": "value",
  "--prefill-step-size": "value",
  "--prompt-cache-size": "value",
  "--prompt-cache-bytes": "value",
  "--pipeline": "bool",
};

const MLX_OPENAI_FLAGS: Record<string, FlagKind> = {
  "--model-path": "value",
  "--model-type": ["lm", "multimodal", "embeddings", "whisper", "image-generation", "image-edit"],
  "--context-length": "value",
  "--served-model-name": "value",
  "--max-tokens": "value",
  "--host": "value",
  "--port": "value",
  "--queue-timeout": "value",
  "--queue-size": "value",
  "--log-level": ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"],
  "--log-file": "value",
  "--no-log-file": "bool",
  "--trust-remote-code": "bool",
  "--chat-template-file": "value",
  "--lora-paths": "value",
  "--lora-scales": "value",
  "--tool-call-parser": "value",
  "--reasoning-parser": "value",
  "--enable-auto-tool-choice": "bool",
  "--draft-model-path": "value",
  "--num-draft-tokens": "value",
  "--kv-bits": "value",
  "--kv-group-size": "value",
  "--quantized-kv-start": "value",
  "--prompt-cache-size": "value",
  "--max-bytes": "value",
  "--prompt-cache-dir": "value",
  "--decode-concurrency": "value",
  "--prompt-concurrency": "value",
  "--prefill-step-size": "value",
  "--disable-batching": "bool",
  "--temperature": "value",
  "--top-p": "value",
  "--top-k": "value",
  "--min-p": "value",
  "--repetition-penalty": "value",
  "--presence-penalty": "value",
  "--seed": "value",
};

const INT_FLAGS = new Set([
  "--port",
  "--max-tokens",
  "--top-k",
  "--context-length",
  "--seed",
  "--num-draft-tokens",
  "--queue-size",
  "--queue-timeout",
]);
const FLOAT_FLAGS = new Set([
  "--temp",
  "--temperature",
  "--top-p",
  "--min-p",
  "--repetition-penalty",
  "--presence-penalty",
]);

function log(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** Exits 2 with the message each real CLI prints (argparse for mlx_lm, click for mlx-openai-server). */
function usageError(flavor: Flavor, message: string): never {
  if (flavor === "mlx_lm.server") {
    process.stderr.write(
      `usage: mlx_lm.server [-h] [--model MODEL] [--adapter-path ADAPTER_PATH] [--host HOST] [--port PORT] ...\nmlx_lm.server: error: ${message}\n`,
    );
  } else {
    process.stderr.write(
      `Usage: mlx-openai-server launch [OPTIONS]\nTry 'mlx-openai-server launch --help' for help.\n\nError: ${message}\n`,
    );
  }
  process.exit(2);
}

function parseArgs(flavor: Flavor, argv: readonly string[]): Map<string, string | true> {
  const table = flavor === "mlx_lm.server" ? MLX_LM_FLAGS : MLX_OPENAI_FLAGS;
  let args = [...argv];
  if (flavor === "mlx-openai-server") {
    if (args[0] !== "launch")
      usageError(flavor, args[0] === undefined ? "Missing command." : `No such command '${args[0]}'.`);
    args = args.slice(1);
  }
  const values = new Map<string, string | true>();
  const unknown: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? "";
    const eq = arg.indexOf("=");
    const name = arg.startsWith("--") && eq > 0 ? arg.slice(0, eq) : arg;
    const kind = table[name];
    if (kind === undefined) {
      if (flavor === "mlx-openai-server")
        usageError(
          flavor,
          arg.startsWith("-") ? `No such option: ${name}` : `Got unexpected extra argument (${arg})`,
        );
      unknown.push(arg);
      continue;
    }
    if (kind === "bool") {
      values.set(name, true);
      continue;
    }
    const value = eq > 0 && arg.startsWith("--") ? arg.slice(eq + 1) : args[++i];
    if (value === undefined)
      usageError(
        flavor,
        flavor === "mlx_lm.server"
          ? `argument ${name}: expected one argument`
          : `Option '${name}' requires an argument.`,
      );
    if (Array.isArray(kind) && !kind.includes(value)) {
      usageError(
        flavor,
        flavor === "mlx_lm.server"
          ? `argument ${name}: invalid choice: '${value}' (choose from ${kind.map((k) => `'${k}'`).join(", ")})`
          : `Invalid value for '${name}': '${value}' is not one of ${kind.map((k) => `'${k}'`).join(", ")}.`,
      );
    }
    if (INT_FLAGS.has(name) && !/^-?\d+$/.test(value))
      usageError(
        flavor,
        flavor === "mlx_lm.server"
          ? `argument ${name}: invalid int value: '${value}'`
          : `Invalid value for '${name}': '${value}' is not a valid integer.`,
      );
    if (FLOAT_FLAGS.has(name) && Number.isNaN(Number(value)))
      usageError(
        flavor,
        flavor === "mlx_lm.server"
          ? `argument ${name}: invalid float value: '${value}'`
          : `Invalid value for '${name}': '${value}' is not a valid float.`,
      );
    values.set(name, value);
  }
  if (unknown.length > 0) usageError(flavor, `unrecognized arguments: ${unknown.join(" ")}`);
  return values;
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

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      resolve(Buffer.concat(chunks).toString("utf8"));
    });
    req.on("error", reject);
  });
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

async function main(): Promise<void> {
  const invokedAs = path.basename(process.argv[1] ?? "");
  const flavor: Flavor = invokedAs === "mlx-openai-server" ? "mlx-openai-server" : "mlx_lm.server";
  const args = parseArgs(flavor, process.argv.slice(2));
  const modelFlag = flavor === "mlx_lm.server" ? "--model" : "--model-path";
  const modelPath = args.get(modelFlag);
  if (typeof modelPath !== "string")
    usageError(
      flavor,
      flavor === "mlx_lm.server" ? "the stand-in needs --model" : "Missing option '--model-path'.",
    );
  if (!fs.existsSync(path.join(modelPath, "config.json"))) {
    process.stderr.write(`Error: ${modelPath} is not an MLX model folder (no config.json).\n`);
    process.exit(1);
  }
  if (process.env["STANDIN_DRY_RUN"] === "1") {
    log(`${flavor}: command line accepted`);
    process.exit(0);
  }
  const gguf = process.env["STANDIN_GGUF"];
  if (gguf === undefined || !fs.existsSync(gguf)) {
    process.stderr.write(
      `stand-in: set STANDIN_GGUF to the .gguf file to serve (got ${gguf ?? "nothing"}).\n`,
    );
    process.exit(1);
  }
  const host =
    typeof args.get("--host") === "string"
      ? String(args.get("--host"))
      : flavor === "mlx_lm.server"
        ? "127.0.0.1"
        : "0.0.0.0";
  const port = Number(args.get("--port") ?? (flavor === "mlx_lm.server" ? 8080 : 8000));
  const servedName =
    flavor === "mlx-openai-server" && typeof args.get("--served-model-name") === "string"
      ? String(args.get("--served-model-name"))
      : modelPath;
  const loadDelayMs = Number(process.env["STANDIN_LOAD_DELAY_MS"] ?? 500);
  const engineScript = process.env["STANDIN_LLAMA_ENGINE"] ?? __STANDIN_LLAMA_ENGINE__;

  // The real engine runs the model; the stand-in is its front door.
  const upstreamPort = await freePort();
  const upstreamAlias = "standin-upstream";
  const child: ChildProcess = spawn(
    process.execPath,
    [
      engineScript,
      "--model",
      gguf,
      "--host",
      "127.0.0.1",
      "--port",
      String(upstreamPort),
      "--threads",
      "1",
      "--alias",
      upstreamAlias,
    ],
    {
      stdio: ["ignore", "inherit", "inherit"],
    },
  );
  const state = { loaded: false, stopping: false };
  child.once("exit", (code, signal) => {
    if (state.stopping) return;
    process.stderr.write(`stand-in: the llama engine exited (${signal ?? `code ${code ?? "?"}`}); exiting\n`);
    process.exit(1);
  });
  const stop = (): void => {
    if (state.stopping) return;
    state.stopping = true;
    log("INFO: Shutting down");
    child.kill("SIGTERM");
    const timer = setTimeout(() => process.exit(0), 1500);
    child.once("exit", () => {
      clearTimeout(timer);
      process.exit(0);
    });
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);

  const waitLoaded = async (): Promise<void> => {
    while (!(await healthOk(upstreamPort))) await new Promise((r) => setTimeout(r, 50));
    if (flavor === "mlx-openai-server") await new Promise((r) => setTimeout(r, loadDelayMs));
    state.loaded = true;
    log(
      flavor === "mlx_lm.server"
        ? `Starting httpd at ${host} on port ${port}...`
        : "INFO: Model loaded successfully",
    );
  };

  const server = http.createServer((req, res) => {
    void handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: { message: String(error), type: "server_error" } });
      else res.destroy();
    });
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = (req.url ?? "/").split("?")[0] ?? "/";
    if (flavor === "mlx-openai-server") {
      // Uvicorn's access log, so tests can see the 503 phase in the server log.
      res.once("finish", () => {
        log(`INFO:     127.0.0.1 - "${req.method ?? "GET"} ${url} HTTP/1.1" ${res.statusCode}`);
      });
    }
    if (req.method === "GET" && url === "/health") {
      if (flavor === "mlx_lm.server") {
        sendJson(res, 200, { status: "ok" });
      } else if (!state.loaded) {
        sendJson(res, 503, { status: "unhealthy", model_id: null, model_status: "uninitialized" });
      } else {
        sendJson(res, 200, { status: "ok", model_id: modelPath, model_status: "initialized" });
      }
      return;
    }
    if (req.method === "GET" && url === "/v1/models") {
      sendJson(res, 200, {
        object: "list",
        data: [
          { id: servedName, object: "model", created: Math.floor(Date.now() / 1000), owned_by: "stand-in" },
        ],
      });
      return;
    }
    const chatPaths =
      flavor === "mlx_lm.server" ? ["/v1/chat/completions", "/chat/completions"] : ["/v1/chat/completions"];
    // mlx-openai-server has no /v1/completions (its router has chat, embeddings, images, audio).
    const completionPaths = flavor === "mlx_lm.server" ? ["/v1/completions"] : [];
    if (req.method === "POST" && (chatPaths.includes(url) || completionPaths.includes(url))) {
      if (!state.loaded) {
        sendJson(res, 503, {
          error: { message: "Model handler not initialized", type: "service_unavailable", code: 503 },
        });
        return;
      }
      let body: Json;
      try {
        const parsed: unknown = JSON.parse(await readBody(req));
        if (!isObject(parsed)) throw new Error("not an object");
        body = parsed;
      } catch {
        sendJson(res, 400, { error: { message: "Invalid JSON body", type: "invalid_request_error" } });
        return;
      }
      const named = body["model"];
      // mlx-openai-server registers its one model under --served-model-name (else the path) and
      // answers any other name with FastAPI's 404 (app/api/endpoints.py, v1.8.1).
      if (flavor === "mlx-openai-server" && typeof named === "string" && named !== servedName) {
        sendJson(res, 404, {
          detail: { error: { message: `Model '${named}' not found. Available models: ${servedName}`, type: "invalid_request_error", code: 404 } },
        });
        return;
      }
      // mlx_lm.server takes an adapter per request in `adapters` (SERVER.md); the log line lets tests see it arrive.
      if (flavor === "mlx_lm.server" && "adapters" in body) {
        log(`request adapters=${JSON.stringify(body["adapters"])}`);
        delete body["adapters"];
      }
      // The real mlx_lm.server loads whatever model a request names: the manager must always send the profile's.
      if (
        flavor === "mlx_lm.server" &&
        typeof named === "string" &&
        named !== modelPath &&
        named !== "default_model"
      ) {
        sendJson(res, 404, {
          error: {
            message: `stand-in mlx_lm.server serves only --model ${modelPath}; the request named "${named}", which the real server would try to download and load.`,
            type: "invalid_request_error",
          },
        });
        return;
      }
      relay(req, res, url.endsWith("chat/completions") ? "/v1/chat/completions" : "/v1/completions", body);
      return;
    }
    sendJson(res, 404, flavor === "mlx_lm.server" ? { error: "Not found" } : { detail: "Not Found" });
  }

  function relay(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    upstreamPath: string,
    body: Json,
  ): void {
    const stream = body["stream"] === true;
    const options = isObject(body["stream_options"]) ? body["stream_options"] : undefined;
    const clientWantsUsage = options?.["include_usage"] === true;
    const upstreamBody: Json = { ...body, model: upstreamAlias };
    // mlx-openai-server always reports usage on a stream; ask the real engine for it to have it to move.
    if (stream && flavor === "mlx-openai-server") upstreamBody["stream_options"] = { include_usage: true };
    const payload = JSON.stringify(upstreamBody);
    const upstream = http.request(
      {
        host: "127.0.0.1",
        port: upstreamPort,
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
            try {
              const json: unknown = JSON.parse(text);
              if (isObject(json) && "model" in json) json["model"] = servedName;
              sendJson(res, status, json);
            } catch {
              res.writeHead(status, { "content-type": up.headers["content-type"] ?? "text/plain" });
              res.end(text);
            }
          });
          return;
        }
        res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
        let buffer = "";
        let heldFinish: Json | undefined;
        const emit = (data: Json | "[DONE]"): void => {
          if (data !== "[DONE]" && "model" in data) data["model"] = servedName;
          res.write(`data: ${data === "[DONE]" ? data : JSON.stringify(data)}\n\n`);
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
              if (flavor === "mlx_lm.server") {
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
      if (!res.headersSent)
        sendJson(res, 502, { error: { message: `upstream: ${error.message}`, type: "server_error" } });
      else res.destroy();
    });
    // A client that leaves aborts the generation, as with the real servers.
    res.on("close", () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.on("error", () => upstream.destroy());
    upstream.end(payload);
  }

  if (flavor === "mlx-openai-server") {
    // FastAPI answers at once and reports 503 until the model is loaded.
    server.listen(port, host, () => {
      log(`INFO: Uvicorn running on http://${host}:${port} (Press CTRL+C to quit)`);
    });
    await waitLoaded();
  } else {
    // mlx_lm.server loads the model before it starts listening.
    log(`Loading model ${modelPath}`);
    await waitLoaded();
    server.listen(port, host);
  }
}

void main();
