// OpenAI's Responses API through the real manager's /v1 gateway, with the official `openai` SDK
// (responses.create, responses.stream, retrieve, inputItems, delete) and `@openai/agents` (an agent
// with one function tool): on the built-in `llama` engine (a real model on a tiny GGUF), and on the
// scripted tool-capable upstream (test/helpers/toolServer, speaking llama-server's tool-call
// protocol) that always calls a tool when offered one — so a tool test cannot pass without a call.
import { Agent, run, setDefaultOpenAIClient, setOpenAIAPI, setTracingDisabled, tool } from "@openai/agents";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import OpenAI from "openai";
import { z } from "zod";
import { ManagerClient } from "../../src/client/ManagerClient";
import type { ServerUsageSnapshot } from "../../src/shared/usage";
import type { RunningManager } from "../helpers/manager";
import { approvedUser, call, openShared } from "../helpers/shared";
import { startManagerWithToolServer, type ToolServerManager } from "../helpers/toolServer";

const WEATHER = { type: "function" as const, name: "get_weather", description: "The weather in a city", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"], additionalProperties: false }, strict: true };
const APPLY_PATCH = { type: "custom" as const, name: "apply_patch", description: "Edit files with a patch.", format: { type: "grammar" as const, syntax: "lark" as const, definition: 'start: "*** Begin Patch" LF body "*** End Patch"' } };

interface UpstreamRequest {
  messages: { role: string; content?: unknown; tool_call_id?: string; tool_calls?: { id: string; function: { name: string; arguments: string } }[] }[];
  tools?: { function: { name: string; parameters?: unknown; description?: string } }[];
  tool_choice?: unknown;
  max_tokens?: number;
  stream?: boolean;
}

describe("OpenAI Responses through the /v1 gateway, with the openai SDK and @openai/agents", function () {
  this.timeout(90_000);
  let root: string;
  let manager: RunningManager;
  let client: ManagerClient;
  let openai: OpenAI;
  let requestLog: string;

  before(async () => {
    let model: ToolServerManager["model"];
    ({ root, manager, requestLog, model } = await startManagerWithToolServer("responses-"));
    client = new ManagerClient({ url: manager.url, token: manager.token });
    await client.createProfile({ name: "tiny", engine: "llama", model, options: { threads: 1, contextLength: 512 } });
    await client.createProfile({ name: "tools", aliases: ["gpt-*"], engine: "llama-server", model, options: { env: { TOOL_SERVER_LOG: requestLog } } });
    const gatewayKey = ((await manager.api("GET", "/api/gateway-key")).json as { key: string }).key;
    openai = new OpenAI({ baseURL: `${manager.url}/v1`, apiKey: gatewayKey, maxRetries: 0 });
  });

  after(async () => {
    await client.stopAllServers().catch(() => undefined);
    await manager.stop();
    fs.rmSync(root, { recursive: true, force: true });
  });

  function lastUpstreamRequest(): UpstreamRequest {
    const lines = fs.readFileSync(requestLog, "utf8").trim().split("\n");
    return JSON.parse(lines.at(-1) ?? "{}") as UpstreamRequest;
  }

  async function recentUsage(profile: string): Promise<ServerUsageSnapshot["recent"]> {
    const usage = (await manager.api("GET", "/api/usage")).json as { servers: ServerUsageSnapshot[] };
    return usage.servers.find((s) => s.profileName === profile)?.recent ?? [];
  }

  it("responses.create on the llama engine: a message with output_text, usage, started just in time, metered and kept", async () => {
    const response = await openai.responses.create({ model: "tiny", instructions: "You tell stories.", input: "Once upon a time", max_output_tokens: 24 });
    assert.match(response.id, /^resp_/);
    assert.equal(response.object, "response");
    assert.equal(response.model, "tiny");
    assert.equal(response.instructions, "You tell stories.");
    assert.ok(response.status === "completed" || response.status === "incomplete", String(response.status));
    const message = response.output[0];
    assert.ok(message?.type === "message", JSON.stringify(message));
    assert.equal(message.role, "assistant");
    assert.ok(["completed", "incomplete"].includes(message.status), message.status);
    assert.ok(response.output_text.length > 0, JSON.stringify(response.output));
    assert.ok((response.usage?.input_tokens ?? 0) > 0);
    assert.ok((response.usage?.output_tokens ?? 0) > 0 && (response.usage?.output_tokens ?? 0) <= 24);
    assert.equal(response.usage?.total_tokens, (response.usage?.input_tokens ?? 0) + (response.usage?.output_tokens ?? 0));
    const recent = (await recentUsage("tiny")).at(-1);
    assert.equal(recent?.endpoint, "responses");
    assert.equal(recent.completionTokens, response.usage.output_tokens);
    // Kept by default: it can be read back, with the input that led to it.
    const kept = await openai.responses.retrieve(response.id);
    assert.equal(kept.id, response.id);
    assert.equal(kept.output_text, response.output_text);
    const items = await openai.responses.inputItems.list(response.id);
    assert.deepEqual(items.data.map((i) => (i.type === "message" ? i.role : i.type)), ["user"]);
  });

  it("responses.stream on the llama engine: the documented events in order, numbered, deltas that add up, no [DONE]", async () => {
    const stream = openai.responses.stream({ model: "tiny", input: "Tell me a story.", max_output_tokens: 32 });
    const events: { type: string; sequence_number: number }[] = [];
    let text = "";
    stream.on("event", (event) => { events.push(event); });
    stream.on("response.output_text.delta", (event) => { text += event.delta; });
    const final = await stream.finalResponse();
    const types = events.map((e) => e.type);
    assert.deepEqual(types.slice(0, 4), ["response.created", "response.in_progress", "response.output_item.added", "response.content_part.added"]);
    assert.ok(types.includes("response.output_text.delta"));
    const terminal = types.at(-1);
    assert.ok(terminal === "response.completed" || terminal === "response.incomplete", String(terminal));
    assert.deepEqual(types.slice(-4, -1), ["response.output_text.done", "response.content_part.done", "response.output_item.done"]);
    assert.deepEqual(events.map((e) => e.sequence_number), events.map((_, i) => i));
    assert.ok(text.length > 0);
    assert.equal(final.output_text, text);
    assert.ok((final.usage?.output_tokens ?? 0) > 0 && (final.usage?.input_tokens ?? 0) > 0, "usage in the final event");
    // The raw stream ends with its last event: no [DONE].
    const raw = await fetch(`${manager.url}/v1/responses`, { method: "POST", headers: { authorization: `Bearer ${manager.token}`, "content-type": "application/json" }, body: JSON.stringify({ model: "tiny", input: "Hi", max_output_tokens: 4, stream: true, store: false }) });
    const body = await raw.text();
    assert.ok(!body.includes("[DONE]"), body.slice(-200));
    assert.match(body.trimEnd().split("\n\n").at(-1) ?? "", /^event: response\.(completed|incomplete)\n/);
  });

  it("max_output_tokens reached: status incomplete with the reason, response.incomplete when streamed", async () => {
    const response = await openai.responses.create({ model: "tiny", input: "Once upon a time there was a very long story", max_output_tokens: 2, store: false });
    assert.equal(response.status, "incomplete");
    assert.deepEqual(response.incomplete_details, { reason: "max_output_tokens" });
    const stream = openai.responses.stream({ model: "tiny", input: "Once upon a time there was a very long story", max_output_tokens: 2, store: false });
    const types: string[] = [];
    stream.on("event", (event) => { types.push(event.type); });
    const final = await stream.finalResponse();
    assert.equal(types.at(-1), "response.incomplete");
    assert.equal(final.status, "incomplete");
  });

  it("a function tool round trip on a tool-calling upstream: function_call out, function_call_output back through previous_response_id", async () => {
    const first = await openai.responses.create({ model: "tools", input: "What is the weather in Paris?", tools: [WEATHER] });
    const callItem = first.output.find((i) => i.type === "function_call");
    assert.ok(callItem?.type === "function_call", JSON.stringify(first.output));
    assert.equal(callItem.name, "get_weather");
    assert.deepEqual(JSON.parse(callItem.arguments), { city: "Paris" });
    assert.equal(first.status, "completed");
    assert.deepEqual(lastUpstreamRequest().tools?.map((t) => t.function.name), ["get_weather"]);
    // The result goes back as the only new input; the earlier turn comes from the kept response.
    const second = await openai.responses.create({ model: "tools", previous_response_id: first.id, tools: [WEATHER], input: [{ type: "function_call_output", call_id: callItem.call_id, output: "sunny, 21 °C" }] });
    assert.equal(second.output_text, "The tool said: sunny, 21 °C");
    assert.equal(second.previous_response_id, first.id);
    const sent = lastUpstreamRequest().messages;
    assert.deepEqual(sent.map((m) => m.role), ["user", "assistant", "tool"]);
    assert.equal(sent[1]?.tool_calls?.[0]?.id, callItem.call_id);
    assert.equal(sent[2]?.tool_call_id, callItem.call_id);
    // Streamed: the arguments arrive as deltas, then one done event with the whole call.
    const stream = openai.responses.stream({ model: "tools", input: "Weather in Oslo", tools: [WEATHER], tool_choice: "required", store: false });
    const deltas: string[] = [];
    const types: string[] = [];
    stream.on("response.function_call_arguments.delta", (event) => { deltas.push(event.delta); });
    stream.on("event", (event) => { types.push(event.type); });
    const streamed = await stream.finalResponse();
    const streamedCall = streamed.output.find((i) => i.type === "function_call");
    assert.ok(streamedCall?.type === "function_call");
    assert.deepEqual(JSON.parse(streamedCall.arguments), { city: "Oslo" });
    assert.ok(deltas.length > 1, "arguments came in pieces");
    assert.ok(types.includes("response.function_call_arguments.done"));
    assert.equal(lastUpstreamRequest().tool_choice, "required");
  });

  it("a custom (freeform) tool round trip, as Codex's apply_patch: a function taking {input} upstream, custom_tool_call items to the client", async () => {
    const input = "Patch the file named hello.txt";
    const first = await openai.responses.create({ model: "tools", input, tools: [APPLY_PATCH], store: false });
    const callItem = first.output.find((i) => i.type === "custom_tool_call");
    assert.ok(callItem?.type === "custom_tool_call", JSON.stringify(first.output));
    assert.equal(callItem.name, "apply_patch");
    assert.equal(callItem.input, "hello.txt");
    const upstreamTool = lastUpstreamRequest().tools?.[0]?.function;
    assert.equal(upstreamTool?.name, "apply_patch");
    assert.deepEqual((upstreamTool.parameters as { required: string[] }).required, ["input"]);
    assert.match(JSON.stringify(upstreamTool.parameters), /lark grammar/, "the grammar is told to the model");
    // Streamed: one custom_tool_call_input delta and done, then the item.
    const stream = openai.responses.stream({ model: "tools", input, tools: [APPLY_PATCH], store: false });
    const types: string[] = [];
    stream.on("event", (event) => { types.push(event.type); });
    const streamed = await stream.finalResponse();
    assert.ok(types.includes("response.custom_tool_call_input.delta") && types.includes("response.custom_tool_call_input.done"), types.join(" "));
    const streamedCall = streamed.output.find((i) => i.type === "custom_tool_call");
    assert.ok(streamedCall?.type === "custom_tool_call" && streamedCall.input === "hello.txt");
    // The whole history sent back, as Codex does (store: false): the call and its output.
    const second = await openai.responses.create({
      model: "tools",
      store: false,
      tools: [APPLY_PATCH],
      input: [
        { role: "developer", content: "You edit files." },
        { role: "user", content: input },
        { type: "reasoning", id: "rs_1", summary: [], encrypted_content: "opaque" },
        { type: "custom_tool_call", call_id: callItem.call_id, name: "apply_patch", input: callItem.input },
        { type: "custom_tool_call_output", call_id: callItem.call_id, output: "Success. Updated hello.txt" },
      ],
    });
    assert.equal(second.output_text, "The tool said: Success. Updated hello.txt");
    const sent = lastUpstreamRequest().messages;
    assert.deepEqual(sent.map((m) => m.role), ["system", "user", "assistant", "tool"]);
    assert.equal(sent[0]?.content, "You edit files.");
    assert.equal(sent[2]?.tool_calls?.[0]?.function.arguments, JSON.stringify({ input: "hello.txt" }));
  });

  it("hosted tools are dropped and named in a header; the request still answers", async () => {
    const raw = await openai.responses.create({ model: "tools", input: "Weather in Rome", tools: [{ type: "web_search" }, WEATHER], store: false }).withResponse();
    assert.equal(raw.response.headers.get("mlx-manager-dropped-tools"), "web_search");
    assert.ok(raw.data.output.some((i) => i.type === "function_call"));
    assert.deepEqual(lastUpstreamRequest().tools?.map((t) => t.function.name), ["get_weather"]);
  });

  it("store: false keeps nothing; a missing id is a clear 404 for retrieve, previous_response_id and delete", async () => {
    const unkept = await openai.responses.create({ model: "tools", input: "Hello", store: false });
    assert.equal((unkept as { store?: boolean }).store, false);
    await assert.rejects(openai.responses.retrieve(unkept.id), (error: unknown) => error instanceof OpenAI.NotFoundError && /No response with id/.test(error.message));
    await assert.rejects(
      openai.responses.create({ model: "tools", input: "Again", previous_response_id: unkept.id }),
      (error: unknown) => error instanceof OpenAI.NotFoundError && error.param === "previous_response_id" && error.code === "response_not_found",
    );
    const kept = await openai.responses.create({ model: "tools", input: "Hello" });
    const deleted = await openai.responses.delete(kept.id).asResponse();
    assert.deepEqual(await deleted.json(), { id: kept.id, object: "response", deleted: true });
    await assert.rejects(openai.responses.retrieve(kept.id), (error: unknown) => error instanceof OpenAI.NotFoundError);
    await assert.rejects(openai.responses.delete(kept.id), (error: unknown) => error instanceof OpenAI.NotFoundError);
    // Kept as a file of its own, private to this user.
    const files = fs.readdirSync(path.join(root, "data", "responses"));
    assert.ok(files.every((f) => f.startsWith("local.resp_")), files.join(" "));
    for (const f of files) assert.equal(fs.statSync(path.join(root, "data", "responses", f)).mode & 0o777, 0o600);
  });

  it("text.format json_schema on the llama engine: the answer is JSON that follows the schema (held by a grammar)", async () => {
    const schema = { type: "object", properties: { mood: { type: "string", enum: ["happy", "sad"] } }, required: ["mood"], additionalProperties: false };
    const response = await openai.responses.create({ model: "tiny", input: "How is the dog?", max_output_tokens: 30, store: false, text: { format: { type: "json_schema", name: "mood", schema, strict: true } } });
    assert.equal(response.status, "completed", JSON.stringify(response.output));
    assert.ok(["happy", "sad"].includes((JSON.parse(response.output_text) as { mood: string }).mood), response.output_text);
    assert.deepEqual(response.text?.format, { type: "json_schema", name: "mood", schema, strict: true }, "the format is echoed");
  });

  it("errors in OpenAI's shape, as the SDK's error classes", async () => {
    await assert.rejects(openai.responses.create({ model: "no-such-model", input: "hi" }), (error: unknown) => error instanceof OpenAI.NotFoundError && error.code === "model_not_found");
    await assert.rejects(
      openai.responses.create({ model: "tiny", input: [{ type: "teleport", to: "mars" } as never] }),
      (error: unknown) => error instanceof OpenAI.BadRequestError && error.param === "input.0.type" && /not an input item/.test(error.message),
    );
    await assert.rejects(
      openai.responses.create({ model: "tiny", input: [{ role: "user", content: [{ type: "input_image", image_url: "data:image/png;base64,iVBORw0KGgo=", detail: "auto" }] }] }),
      (error: unknown) => error instanceof OpenAI.BadRequestError && /takes text only/.test(error.message),
    );
    await assert.rejects(openai.responses.create({ model: "tiny", input: "hi", background: true }), (error: unknown) => error instanceof OpenAI.BadRequestError && error.param === "background");
    const wrongKey = new OpenAI({ baseURL: `${manager.url}/v1`, apiKey: "wrong", maxRetries: 0 });
    await assert.rejects(wrongKey.responses.create({ model: "tiny", input: "hi" }), (error: unknown) => error instanceof OpenAI.AuthenticationError);
  });

  it("@openai/agents runs an agent with one function tool through the gateway", async () => {
    setTracingDisabled(true);
    setOpenAIAPI("responses");
    // The SDK is typed against its own openai major; ours is the same client at runtime.
    setDefaultOpenAIClient(openai as unknown as Parameters<typeof setDefaultOpenAIClient>[0]);
    const asked: string[] = [];
    const getWeather = tool({
      name: "get_weather",
      description: "The weather in a city",
      parameters: z.object({ city: z.string() }),
      execute: async ({ city }) => {
        asked.push(city);
        return `Sunny in ${city}`;
      },
    });
    const agent = new Agent({ name: "Forecaster", instructions: "Answer with the weather.", model: "gpt-4.1", tools: [getWeather] });
    const result = await run(agent, "What is the weather in Paris?");
    assert.deepEqual(asked, ["Paris"]);
    assert.equal(result.finalOutput, "The tool said: Sunny in Paris");
    const recent = (await recentUsage("tools")).filter((r) => r.endpoint === "responses").slice(-2);
    assert.equal(recent.length, 2, "two model turns, both metered");
    // Streamed too.
    const streamed = await run(agent, "Weather in Oslo", { stream: true });
    let events = 0;
    for await (const _ of streamed.toStream()) events++;
    assert.ok(events > 0);
    await streamed.completed;
    assert.equal(streamed.finalOutput, "The tool said: Sunny in Oslo");
  });

  it("in shared mode each user sees only their own responses, and a deleted user's are purged", async () => {
    const shared = await openShared(manager);
    const user = await approvedUser(manager, shared, "responses@example.com", "responses long passphrase");
    const mine = await call(shared, "POST", "/v1/responses", { auth: user.token, body: { model: "tools", input: "Hello" } });
    assert.equal(mine.status, 200, mine.text);
    const id = (mine.json as { id: string }).id;
    assert.equal((await call(shared, "GET", `/v1/responses/${id}`, { auth: user.token })).status, 200);
    // The owner over loopback cannot read the user's, nor the user the owner's.
    assert.equal((await call(manager.url, "GET", `/v1/responses/${id}`, { auth: manager.token })).status, 404);
    const owners = await openai.responses.create({ model: "tools", input: "Mine" });
    const foreign = await call(shared, "GET", `/v1/responses/${owners.id}`, { auth: user.token });
    assert.equal(foreign.status, 404);
    assert.equal((foreign.json as { error: { code: string } }).error.code, "response_not_found");
    const files = (): string[] => fs.readdirSync(path.join(root, "data", "responses"));
    assert.ok(files().some((f) => f.startsWith(`${user.id}.`)));
    assert.equal((await manager.api("DELETE", `/api/users/${user.id}`)).status, 200);
    assert.ok(!files().some((f) => f.startsWith(`${user.id}.`)), "purged with the user");
    assert.ok(files().some((f) => f === `local.${owners.id}.json`), "the owner's stay");
  });
});
