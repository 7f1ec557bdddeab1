// Tool pass-through of the VS Code language-model provider, end to end except the VS Code API
// itself: VS Code-shaped messages and tools are converted as the provider converts them, sent by
// ManagerClient.chatCompletionStream through the real manager's /v1 gateway (which starts the
// profile just in time) to a real local HTTP server speaking llama-server's streaming tool-call
// protocol (test/helpers/toolServer), and the streamed calls come back whole. The built-in `llama`
// engine calls tools only when forced (a random tiny model never chooses to), so this is how the round trip is tested.
import assert from "node:assert/strict";
import fs from "node:fs";
import type { LanguageModelChatMessageRole, LanguageModelChatRequestMessage, LanguageModelChatToolMode } from "vscode";
import type { ChatCompletionEvent } from "../../src/client/chatCompletions";
import { ManagerClient } from "../../src/client/ManagerClient";
import type { Profile } from "../../src/shared/profiles";
import type { ServerUsageSnapshot } from "../../src/shared/usage";
import { toOpenAiMessages, toOpenAiTools } from "../../src/views/lm/chatConversion";
import type { RunningManager } from "../helpers/manager";
import { startManagerWithToolServer } from "../helpers/toolServer";

// VS Code's part classes have exactly these fields; the provider reads parts by shape.
class TextPart { constructor(public value: string) {} }
class ToolCallPart { constructor(public callId: string, public name: string, public input: object) {} }
class ToolResultPart { constructor(public callId: string, public content: unknown[]) {} }
/* eslint-disable @typescript-eslint/no-unsafe-enum-assignment -- numbers standing in for VS Code's enums */
const USER = 1 as LanguageModelChatMessageRole;
const ASSISTANT = 2 as LanguageModelChatMessageRole;
const AUTO = 1 as LanguageModelChatToolMode;
/* eslint-enable @typescript-eslint/no-unsafe-enum-assignment */
const msg = (role: LanguageModelChatMessageRole, ...content: unknown[]): LanguageModelChatRequestMessage => ({ role, content, name: undefined });

const TOOLS = [
  { name: "get_weather", description: "The weather in a city", inputSchema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } },
  { name: "get_time", description: "The time now" },
];

describe("VS Code chat models: tool calls through the /v1 gateway", function () {
  this.timeout(60_000);
  let root: string;
  let manager: RunningManager;
  let client: ManagerClient;
  let profile: Profile;
  let requestLog: string;

  before(async () => {
    ({ root, manager, requestLog } = await startManagerWithToolServer("lm-tools-"));
    client = new ManagerClient({ url: manager.url, token: manager.token });
    profile = await client.createProfile({ name: "tool-model", engine: "llama-server", model: { source: "cache", repoId: "test/tiny-gguf", file: "tiny-F32.gguf" }, options: { env: { TOOL_SERVER_LOG: requestLog } } });
  });

  after(async () => {
    await client.stopAllServers().catch(() => undefined);
    await manager.stop();
    fs.rmSync(root, { recursive: true, force: true });
  });

  async function send(messages: LanguageModelChatRequestMessage[]): Promise<ChatCompletionEvent[]> {
    const events: ChatCompletionEvent[] = [];
    const request = { model: profile.name, messages: toOpenAiMessages(messages, { tools: true, images: false }), ...toOpenAiTools(TOOLS, AUTO) };
    for await (const event of client.chatCompletionStream(request, AbortSignal.timeout(30_000))) events.push(event);
    return events;
  }

  function received(): { tools?: unknown; tool_choice?: unknown; messages: unknown[]; stream_options?: unknown }[] {
    return fs.readFileSync(requestLog, "utf8").trim().split("\n").map((line) => JSON.parse(line) as { messages: unknown[] });
  }

  it("passes the tools through and streams the model's calls back whole, with their ids", async () => {
    const events = await send([msg(USER, new TextPart("What is the weather in Paris?"))]);
    const calls = events.filter((e) => e.type === "toolCall");
    assert.equal(calls.length, 2);
    const [weather, time] = calls;
    assert.ok(weather && time);
    assert.equal(weather.name, "get_weather");
    assert.deepEqual(JSON.parse(weather.arguments), { city: "Paris" }, "arguments assembled from 4-character pieces");
    assert.match(weather.id, /^call_0_/);
    assert.equal(time.name, "get_time");
    assert.deepEqual(JSON.parse(time.arguments), {});
    assert.ok(events.some((e) => e.type === "finish" && e.reason === "tool_calls"));
    assert.ok(!events.some((e) => e.type === "text"), "no text: only calls");

    const [first] = received();
    assert.deepEqual(first?.tools, [
      { type: "function", function: { name: "get_weather", description: "The weather in a city", parameters: TOOLS[0]?.inputSchema } },
      { type: "function", function: { name: "get_time", description: "The time now", parameters: { type: "object", properties: {} } } },
    ]);
    assert.equal(first.tool_choice, "auto");
    assert.deepEqual(first.stream_options, { include_usage: true });
  });

  it("sends the calls and their results back as tool messages, and streams the answer in parts", async () => {
    const events = await send([
      msg(USER, new TextPart("What is the weather in Paris?")),
      msg(ASSISTANT, new ToolCallPart("call_w", "get_weather", { city: "Paris" })),
      msg(USER, new ToolResultPart("call_w", [new TextPart("18 °C and sunny")])),
    ]);
    const text = events.filter((e) => e.type === "text").map((e) => e.text);
    assert.ok(text.length > 3, `the answer arrived in ${text.length} parts`);
    assert.equal(text.join(""), "The tool said: 18 °C and sunny");
    const last = received().at(-1);
    assert.deepEqual(last?.messages, [
      { role: "user", content: "What is the weather in Paris?" },
      { role: "assistant", content: null, tool_calls: [{ id: "call_w", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }] },
      { role: "tool", tool_call_id: "call_w", content: "18 °C and sunny" },
    ]);
  });

  it("meters both requests in /api/usage", async () => {
    const { servers } = await client.request<{ servers: ServerUsageSnapshot[] }>("GET", "/api/usage");
    const usage = servers.find((s) => s.profileId === profile.id);
    assert.equal(usage?.total.requests, 2);
    assert.ok(usage.recent.every((r) => r.status === "ok" && r.stream && r.tokenSource === "usage"));
    assert.deepEqual(usage.recent.map((r) => r.completionTokens), [5, 7], "the stand-in's counts: 4+1 argument pieces, then 7 words");
  });
});
