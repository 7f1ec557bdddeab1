// A stand-in for llama.cpp's `llama-server`, which is not installed here, speaking its HTTP
// protocol (GET /health, GET /v1/models, POST /v1/chat/completions plain and SSE with
// stream_options.include_usage). The reliability tests install it as `llama-server` on the
// manager's PATH and choose a misbehaviour per profile through the profile's `env` option:
//   FAKE_LLAMA_MODE=serve (default) | hang (listens, never answers, ignores SIGTERM) | flood
//     | crash (prints an error and exits 1 before listening)
//   FAKE_LLAMA_INTERVAL_MS  ms between streamed tokens (default 20)
//   FAKE_LLAMA_LISTEN_DELAY_MS  wait this long before listening (a slow model load)
//   FAKE_LLAMA_FLOOD_MB  flood: MB of log lines written to stdout while serving (default 100)
//   FAKE_LLAMA_FLOOD_MB_PER_S  flood: at most this many MB per second (default 50)
//   FAKE_LLAMA_FLOOD_DONE_FILE  flood: a file written once the flood is over
import fs from "node:fs";
import http from "node:http";

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const port = Number(arg("--port"));
const host = arg("--host") ?? "127.0.0.1";
const alias = arg("--alias") ?? "default";
const mode = process.env["FAKE_LLAMA_MODE"] ?? "serve";
const intervalMs = Number(process.env["FAKE_LLAMA_INTERVAL_MS"] ?? 20);
const listenDelayMs = Number(process.env["FAKE_LLAMA_LISTEN_DELAY_MS"] ?? 0);
const floodMb = Number(process.env["FAKE_LLAMA_FLOOD_MB"] ?? 100);
const floodRate = Number(process.env["FAKE_LLAMA_FLOOD_MB_PER_S"] ?? 50);

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on("data", (d: Buffer) => parts.push(d));
    req.on("end", () => { resolve(Buffer.concat(parts).toString("utf8")); });
    req.on("error", reject);
  });
}

interface ChatBody {
  stream?: boolean;
  max_tokens?: number;
  stream_options?: { include_usage?: boolean };
}

async function chat(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  let body: ChatBody;
  try {
    body = JSON.parse(await readBody(req)) as ChatBody;
  } catch {
    res.writeHead(400, { "content-type": "application/json" }).end(JSON.stringify({ error: { code: 400, message: "invalid JSON", type: "invalid_request_error" } }));
    return;
  }
  const tokens = Math.max(1, Math.min(body.max_tokens ?? 16, 100_000));
  const created = Math.floor(Date.now() / 1000);
  const usage = { prompt_tokens: 5, completion_tokens: tokens, total_tokens: 5 + tokens };
  if (body.stream !== true) {
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({
      id: "chatcmpl-fake", object: "chat.completion", created, model: alias,
      choices: [{ index: 0, message: { role: "assistant", content: "tok ".repeat(tokens).trim() }, finish_reason: "length" }],
      usage,
    }));
    return;
  }
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  const chunk = (delta: object, finish: string | null): string =>
    `data: ${JSON.stringify({ id: "chatcmpl-fake", object: "chat.completion.chunk", created, model: alias, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
  res.write(chunk({ role: "assistant", content: "" }, null));
  let sent = 0;
  const state = { closed: false };
  res.on("close", () => { state.closed = true; });
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      if (state.closed) {
        clearInterval(timer);
        resolve();
        return;
      }
      sent++;
      res.write(chunk({ content: `tok${sent} ` }, null));
      if (sent >= tokens) {
        clearInterval(timer);
        resolve();
      }
    }, intervalMs);
  });
  if (state.closed) return;
  res.write(chunk({}, "length"));
  if (body.stream_options?.include_usage === true) {
    res.write(`data: ${JSON.stringify({ id: "chatcmpl-fake", object: "chat.completion.chunk", created, model: alias, choices: [], usage })}\n\n`);
  }
  res.end("data: [DONE]\n\n");
}

const server = http.createServer((req, res) => {
  if (mode === "hang") return; // accepted, never answered
  const url = req.url ?? "/";
  if (req.method === "GET" && url === "/health") {
    res.writeHead(200, { "content-type": "application/json" }).end('{"status":"ok"}');
  } else if (req.method === "GET" && url === "/v1/models") {
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ object: "list", data: [{ id: alias, object: "model", created: 0, owned_by: "llamacpp" }] }));
  } else if (req.method === "POST" && (url === "/v1/chat/completions" || url === "/chat/completions")) {
    void chat(req, res);
  } else {
    res.writeHead(404, { "content-type": "application/json" }).end('{"error":{"code":404,"message":"File Not Found","type":"not_found_error"}}');
  }
});

/** Writes `mb` MB of log lines to stdout as fast as the file takes them, yielding to the event loop. */
function flood(mb: number): void {
  const line = `srv  log_server: request: GET /health 127.0.0.1 200 ${"x".repeat(60)}\n`;
  const block = Buffer.from(line.repeat(Math.ceil((64 * 1024) / line.length)));
  const total = mb * 1024 * 1024;
  let written = 0;
  const began = Date.now();
  const step = (): void => {
    // Keep to the rate: write what is due by now, in blocks.
    const due = Math.min(total, ((Date.now() - began) / 1000) * floodRate * 1024 * 1024 + block.length);
    while (written < due) {
      // stdout is the log file (a descriptor, not a pipe): writeSync cannot block on a reader.
      const n = Math.min(block.length, total - written);
      fs.writeSync(1, block, 0, n);
      written += n;
    }
    if (written < total) {
      setTimeout(step, 5);
      return;
    }
    process.stdout.write("flood done\n");
    const doneFile = process.env["FAKE_LLAMA_FLOOD_DONE_FILE"];
    if (doneFile) fs.writeFileSync(doneFile, String(written));
  };
  step();
}

if (mode === "crash") {
  process.stderr.write("llama_model_load: error loading model: tensor 'blk.0.attn_q.weight' data is not within the file bounds\n");
  setTimeout(() => process.exit(1), 200);
} else if (mode === "hang") process.on("SIGTERM", () => { process.stdout.write("SIGTERM ignored (hung)\n"); });
else process.on("SIGTERM", () => { server.close(); process.exit(0); });

if (mode !== "crash") setTimeout(() => {
  server.listen(port, host, () => {
    process.stdout.write(`main: server is listening on http://${host}:${port} (${mode})\n`);
    if (mode === "flood") flood(floodMb);
  });
}, listenDelayMs);
