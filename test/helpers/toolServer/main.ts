// A stand-in for llama.cpp's `llama-server --jinja` with a model that calls tools: it speaks the
// server's CLI (-m, --host, --port, --alias, -c, ...) and OpenAI's streaming tool-call protocol as
// llama-server writes it: a first delta with the role, then `tool_calls` deltas keyed by index (the
// id, type and name once, the arguments in pieces), `finish_reason: "tool_calls"`, and usage as an
// extra `choices: []` chunk when stream_options.include_usage asks; without `stream`, the same
// reply as one chat.completion. Its "model" is a script:
//   - the last message is from the user and tools are offered → it calls the first tool (or the one
//     named by TOOL_SERVER_TOOL) with {<its first required string parameter, else "city">: <the last
//     word of the user's message>} (and, offered exactly two tools, the second one too, with {});
//   - the last message is a tool result → it answers in text, quoting the result, a word per chunk;
//   - no tools → it answers "no tools offered".
// Every request body is appended as a JSON line to TOOL_SERVER_LOG (set through the profile's env).
import fs from "node:fs";
import http from "node:http";

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const port = Number(arg("--port"));
const host = arg("--host") ?? "127.0.0.1";
const alias = arg("--alias") ?? "default";
const logFile = process.env["TOOL_SERVER_LOG"];
const preferredTool = process.env["TOOL_SERVER_TOOL"];

interface Message { role: string; content?: unknown; tool_call_id?: string }
interface Body {
  stream?: boolean;
  messages?: Message[];
  tools?: { type: string; function: { name: string; parameters?: { properties?: Record<string, { type?: unknown }>; required?: string[] } } }[];
  parallel_tool_calls?: boolean;
  stream_options?: { include_usage?: boolean };
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on("data", (d: Buffer) => parts.push(d));
    req.on("end", () => { resolve(Buffer.concat(parts).toString("utf8")); });
    req.on("error", reject);
  });
}

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function chat(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const text = await readBody(req);
  if (logFile) fs.appendFileSync(logFile, `${text}\n`);
  const body = JSON.parse(text) as Body;
  const created = Math.floor(Date.now() / 1000);
  const messages = body.messages ?? [];
  const last = messages.at(-1);
  const tools = body.tools ?? [];
  const streaming = body.stream === true;
  if (streaming) res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  // Not streaming, the same deltas are gathered into one message, as llama-server does.
  const message: { role: string; content: string | null; tool_calls?: { id: string; type: string; function: { name: string; arguments: string } }[] } = { role: "assistant", content: null };
  const send = async (delta: { role?: string; content?: string | null; tool_calls?: { index: number; id?: string; type?: string; function: { name?: string; arguments: string } }[] }, finish: string | null = null): Promise<void> => {
    if (!streaming) {
      if (delta.content) message.content = (message.content ?? "") + delta.content;
      for (const call of delta.tool_calls ?? []) {
        message.tool_calls ??= [];
        const existing = message.tool_calls[call.index];
        if (existing) existing.function.arguments += call.function.arguments;
        else message.tool_calls[call.index] = { id: call.id ?? "", type: "function", function: { name: call.function.name ?? "", arguments: call.function.arguments } };
      }
      return;
    }
    res.write(`data: ${JSON.stringify({ id: "chatcmpl-tools", object: "chat.completion.chunk", created, model: alias, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`);
    await pause(5);
  };
  let completion = 0;
  let finish = "stop";
  if (streaming) await send({ role: "assistant", content: null });
  if (last?.role === "tool") {
    const words = `The tool said: ${typeof last.content === "string" ? last.content : JSON.stringify(last.content)}`.split(" ");
    for (const [i, word] of words.entries()) {
      await send({ content: i === 0 ? word : ` ${word}` });
      completion++;
    }
  } else if (tools.length > 0) {
    const said = typeof last?.content === "string" ? last.content : "";
    const city = said.replace(/[?!.]+$/, "").split(/\s+/).at(-1) ?? "";
    const preferred = tools.find((t) => t.function.name === preferredTool);
    const calls = preferred ? [preferred] : tools.length === 2 && body.parallel_tool_calls !== false ? tools : tools.slice(0, 1);
    for (const [index, tool] of calls.entries()) {
      await send({ tool_calls: [{ index, id: `call_${index}_${created}`, type: "function", function: { name: tool.function.name, arguments: "" } }] });
      const parameters = tool.function.parameters;
      const key = parameters?.required?.find((name) => parameters.properties?.[name]?.type === "string") ?? "city";
      const args = index === 0 ? JSON.stringify({ [key]: city }) : "{}";
      // The arguments in pieces of 4 characters, as a model generates them.
      for (let at = 0; at < args.length; at += 4) {
        await send({ tool_calls: [{ index, function: { arguments: args.slice(at, at + 4) } }] });
        completion++;
      }
    }
    finish = "tool_calls";
  } else {
    for (const word of ["no", " tools", " offered"]) {
      await send({ content: word });
      completion++;
    }
  }
  const usage = { prompt_tokens: 20, completion_tokens: completion, total_tokens: 20 + completion };
  if (!streaming) {
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ id: "chatcmpl-tools", object: "chat.completion", created, model: alias, choices: [{ index: 0, message, finish_reason: finish }], usage }));
    return;
  }
  await send({}, finish);
  if (body.stream_options?.include_usage === true) {
    res.write(`data: ${JSON.stringify({ id: "chatcmpl-tools", object: "chat.completion.chunk", created, model: alias, choices: [], usage: { prompt_tokens: 20, completion_tokens: completion, total_tokens: 20 + completion } })}\n\n`);
  }
  res.end("data: [DONE]\n\n");
}

const server = http.createServer((req, res) => {
  const url = req.url ?? "/";
  if (req.method === "GET" && url === "/health") res.writeHead(200, { "content-type": "application/json" }).end('{"status":"ok"}');
  else if (req.method === "GET" && url === "/v1/models") res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ object: "list", data: [{ id: alias, object: "model", created: 0, owned_by: "llamacpp" }] }));
  else if (req.method === "POST" && (url === "/v1/chat/completions" || url === "/chat/completions")) void chat(req, res);
  else res.writeHead(404, { "content-type": "application/json" }).end('{"error":{"code":404,"message":"File Not Found","type":"not_found_error"}}');
});
process.on("SIGTERM", () => { server.close(); process.exit(0); });
server.listen(port, host, () => { process.stdout.write(`main: server is listening on http://${host}:${port}\n`); });
