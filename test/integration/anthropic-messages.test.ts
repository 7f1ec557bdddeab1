// Anthropic's Messages API through the real manager's /v1 gateway, with the official
// @anthropic-ai/sdk: on the built-in `llama` engine (a real model on a tiny GGUF), and on a
// scripted tool-capable upstream (test/helpers/toolServer, speaking llama-server's tool-call
// protocol) that always calls a tool when offered one — so a tool test cannot pass without a call.
import Anthropic from "@anthropic-ai/sdk";
import assert from "node:assert/strict";
import fs from "node:fs";
import { ManagerClient } from "../../src/client/ManagerClient";
import type { ServerUsageSnapshot } from "../../src/shared/usage";
import type { RunningManager } from "../helpers/manager";
import { startManagerWithToolServer, type ToolServerManager } from "../helpers/toolServer";

const WEATHER = { name: "get_weather", description: "The weather in a city", input_schema: { type: "object" as const, properties: { city: { type: "string" } }, required: ["city"] } };

describe("Anthropic Messages through the /v1 gateway, with @anthropic-ai/sdk", function () {
  this.timeout(90_000);
  let root: string;
  let manager: RunningManager;
  let client: ManagerClient;
  let anthropic: Anthropic;
  let requestLog: string;

  before(async () => {
    let model: ToolServerManager["model"];
    ({ root, manager, requestLog, model } = await startManagerWithToolServer("anthropic-"));
    client = new ManagerClient({ url: manager.url, token: manager.token });
    await client.createProfile({ name: "tiny", aliases: ["claude-*haiku*"], engine: "llama", model, options: { threads: 1, contextLength: 512 } });
    await client.createProfile({ name: "tools", aliases: ["claude-sonnet-4-5", "claude-*"], engine: "llama-server", model, options: { env: { TOOL_SERVER_LOG: requestLog } } });
    // The SDK sends the key as x-api-key: the gateway key, as Claude Code would get it.
    const gatewayKey = ((await manager.api("GET", "/api/gateway-key")).json as { key: string }).key;
    anthropic = new Anthropic({ baseURL: manager.url, apiKey: gatewayKey, maxRetries: 0 });
  });

  after(async () => {
    await client.stopAllServers().catch(() => undefined);
    await manager.stop();
    fs.rmSync(root, { recursive: true, force: true });
  });

  function lastUpstreamRequest(): { messages: { role: string; content?: unknown; tool_call_id?: string; tool_calls?: unknown[] }[]; tools?: { function: { name: string } }[]; tool_choice?: unknown; max_tokens?: number; stream?: boolean } {
    const lines = fs.readFileSync(requestLog, "utf8").trim().split("\n");
    return JSON.parse(lines.at(-1) ?? "{}") as ReturnType<typeof lastUpstreamRequest>;
  }

  it("messages.create on the llama engine: a text message with Anthropic's fields, started just in time and metered", async () => {
    const message = await anthropic.messages.create({ model: "tiny", max_tokens: 24, system: "You tell stories.", messages: [{ role: "user", content: "Once upon a time" }] });
    assert.equal(message.type, "message");
    assert.equal(message.role, "assistant");
    assert.equal(message.model, "tiny");
    assert.match(message.id, /^msg_/);
    const block = message.content.at(0);
    assert.ok(block?.type === "text" && block.text.length > 0, JSON.stringify(message.content));
    assert.ok(message.stop_reason === "max_tokens" || message.stop_reason === "end_turn", String(message.stop_reason));
    assert.ok(message.usage.input_tokens > 0);
    assert.ok(message.usage.output_tokens > 0 && message.usage.output_tokens <= 24);
    const usage = (await manager.api("GET", "/api/usage")).json as { servers: ServerUsageSnapshot[] };
    const recent = usage.servers.find((s) => s.profileName === "tiny")?.recent.at(-1);
    assert.ok(recent !== undefined);
    assert.equal(recent.endpoint, "messages");
    assert.equal(recent.completionTokens, message.usage.output_tokens);
  });

  it("messages.stream on the llama engine: Anthropic's event sequence, text deltas that add up to the final message", async () => {
    const stream = anthropic.messages.stream({ model: "tiny", max_tokens: 32, messages: [{ role: "user", content: "Tell me a story." }] });
    const types: string[] = [];
    let text = "";
    stream.on("streamEvent", (event) => { types.push(event.type); });
    stream.on("text", (delta) => { text += delta; });
    const final = await stream.finalMessage();
    assert.equal(types[0], "message_start");
    assert.equal(types.at(-1), "message_stop");
    assert.equal(types.at(-2), "message_delta");
    assert.ok(types.includes("content_block_start") && types.includes("content_block_delta") && types.includes("content_block_stop"));
    assert.ok(text.length > 0);
    assert.equal(final.content[0]?.type === "text" ? final.content[0].text : undefined, text);
    assert.ok(final.usage.output_tokens > 0);
    assert.ok(final.usage.input_tokens > 0, "input tokens arrive with message_delta");
  });

  it("a tool_use → tool_result round trip on a tool-calling upstream, streamed and not, routed by Claude Code's model name", async () => {
    const first = await anthropic.messages.create({ model: "claude-sonnet-4-5", max_tokens: 64, tools: [WEATHER], messages: [{ role: "user", content: "What is the weather in Paris?" }] });
    assert.equal(first.stop_reason, "tool_use");
    const use = first.content.find((b) => b.type === "tool_use");
    assert.ok(use?.type === "tool_use");
    assert.equal(use.name, "get_weather");
    assert.deepEqual(use.input, { city: "Paris" });
    const upstream = lastUpstreamRequest();
    assert.deepEqual(upstream.tools?.map((t) => t.function.name), ["get_weather"]);
    // The result goes back; the scripted model answers in text quoting it.
    const second = anthropic.messages.stream({
      model: "claude-sonnet-4-5",
      max_tokens: 64,
      tools: [WEATHER],
      messages: [
        { role: "user", content: "What is the weather in Paris?" },
        { role: "assistant", content: first.content },
        { role: "user", content: [{ type: "tool_result", tool_use_id: use.id, content: "sunny, 21 °C" }] },
      ],
    });
    const answer = await second.finalMessage();
    assert.equal(answer.stop_reason, "end_turn");
    assert.equal(answer.content[0]?.type === "text" ? answer.content[0].text : "", "The tool said: sunny, 21 °C");
    const sent = lastUpstreamRequest().messages;
    assert.deepEqual(sent.map((m) => m.role), ["user", "assistant", "tool"]);
    assert.equal(sent[2]?.tool_call_id, use.id);
    // Streamed, the call's input arrives as input_json_delta pieces the SDK assembles.
    const streamed = anthropic.messages.stream({ model: "claude-opus-4-1", max_tokens: 64, tools: [WEATHER], tool_choice: { type: "any" }, messages: [{ role: "user", content: "Weather in Oslo" }] });
    const jsonDeltas: string[] = [];
    streamed.on("inputJson", (partial) => { jsonDeltas.push(partial); });
    const call = await streamed.finalMessage();
    assert.equal(call.stop_reason, "tool_use");
    const streamedUse = call.content.find((b) => b.type === "tool_use");
    assert.ok(streamedUse?.type === "tool_use");
    assert.deepEqual(streamedUse.input, { city: "Oslo" });
    assert.ok(jsonDeltas.length > 1, "arguments came in pieces");
    assert.equal(lastUpstreamRequest().tool_choice, "required", "tool_choice any → required");
  });

  it("Anthropic's hosted tools are dropped and named in a header; the request still answers", async () => {
    const raw = await anthropic.messages.create({ model: "tools", max_tokens: 64, tools: [{ type: "web_search_20250305", name: "web_search" }, WEATHER], messages: [{ role: "user", content: "Weather in Rome" }] }).withResponse();
    assert.equal(raw.response.headers.get("mlx-manager-dropped-tools"), "web_search_20250305");
    assert.equal(raw.data.stop_reason, "tool_use");
    assert.deepEqual(lastUpstreamRequest().tools?.map((t) => t.function.name), ["get_weather"]);
  });

  it("count_tokens: exact from a running llama engine, an estimate (said in a header) otherwise", async () => {
    const body = { model: "tiny", messages: [{ role: "user" as const, content: "Once upon a time there was a dog." }] };
    const counted = await anthropic.messages.countTokens(body);
    assert.ok(counted.input_tokens > 5);
    const raw = await anthropic.messages.countTokens({ ...body, model: "tools" }).withResponse();
    assert.equal(raw.response.headers.get("mlx-manager-token-count"), "estimate");
    assert.ok(raw.data.input_tokens > 5);
  });

  it("GET /v1/models in Anthropic's shape for Anthropic's client", async () => {
    const page = await anthropic.models.list();
    const ids = page.data.map((m) => m.id);
    assert.ok(ids.includes("tiny") && ids.includes("tools"));
    assert.equal(page.data[0]?.type, "model");
  });

  it("errors in Anthropic's shape, as the SDK's error classes", async () => {
    const wrongKey = new Anthropic({ baseURL: manager.url, apiKey: "wrong", maxRetries: 0 });
    await assert.rejects(wrongKey.messages.create({ model: "tiny", max_tokens: 5, messages: [{ role: "user", content: "hi" }] }), (error: unknown) => error instanceof Anthropic.AuthenticationError && /authentication_error/.test(JSON.stringify(error.error)));
    await assert.rejects(anthropic.messages.create({ model: "no-such-model", max_tokens: 5, messages: [{ role: "user", content: "hi" }] }), (error: unknown) => error instanceof Anthropic.NotFoundError && (error.error as { error: { type: string } }).error.type === "not_found_error");
    // max_tokens is required, as on Anthropic's API.
    const missing = await fetch(`${manager.url}/v1/messages`, { method: "POST", headers: { "x-api-key": manager.token, "content-type": "application/json", "anthropic-version": "2023-06-01" }, body: JSON.stringify({ model: "tiny", messages: [{ role: "user", content: "hi" }] }) });
    assert.equal(missing.status, 400);
    assert.deepEqual(((await missing.json()) as { type: string; error: { type: string } }).error.type, "invalid_request_error");
    const tooLarge = await fetch(`${manager.url}/v1/messages`, { method: "POST", headers: { authorization: `Bearer ${manager.token}`, "content-type": "application/json" }, body: JSON.stringify({ model: "tiny", max_tokens: 5, messages: [{ role: "user", content: "x".repeat(33_000_000) }] }) });
    assert.equal(tooLarge.status, 413);
    assert.equal(((await tooLarge.json()) as { error: { type: string } }).error.type, "request_too_large");
    // An image to a text-only model: a clear 400, never a silent drop.
    await assert.rejects(
      anthropic.messages.create({ model: "tiny", max_tokens: 5, messages: [{ role: "user", content: [{ type: "image", source: { type: "base64", media_type: "image/png", data: "iVBORw0KGgo=" } }, { type: "text", text: "What is this?" }] }] }),
      (error: unknown) => error instanceof Anthropic.BadRequestError && /takes text only/.test(error.message),
    );
  });

  it("a prompt longer than the profile's context is refused at once, naming both numbers", async () => {
    const began = Date.now();
    const long = "Once upon a time there was a little dog who liked to play in the park with a red ball. ".repeat(60);
    await assert.rejects(
      anthropic.messages.create({ model: "tiny", max_tokens: 16, messages: [{ role: "user", content: long }] }),
      (error: unknown) => error instanceof Anthropic.BadRequestError && /The prompt is [\d,]+ tokens, but the context of profile "tiny" is 512 tokens/.test((error.error as { error: { message: string } }).error.message),
    );
    assert.ok(Date.now() - began < 10_000);
    // One that fits gets max_tokens lowered to what the context leaves, and is told so.
    const medium = "Once upon a time there was a dog. ".repeat(10);
    const raw = await anthropic.messages.create({ model: "tiny", max_tokens: 10_000, messages: [{ role: "user", content: medium }] }).withResponse();
    assert.match(raw.response.headers.get("mlx-manager-max-tokens") ?? "", /^\d+ \(asked 10000; context 512, prompt \d+\)$/);
  });
});
