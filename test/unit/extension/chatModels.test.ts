// The language-model provider's conversions, without VS Code: profiles → model information,
// chat messages and tools → OpenAI's request, a streamed OpenAI answer (text and tool calls) →
// events, and the token estimate. The part classes below have exactly the fields of VS Code's
// LanguageModelTextPart / ToolCallPart / ToolResultPart / DataPart (the provider reads them by shape).
import assert from "node:assert/strict";
import type { LanguageModelChatMessageRole, LanguageModelChatRequestMessage, LanguageModelChatToolMode } from "vscode";
import { chatCompletionEvents, type ChatCompletionEvent } from "../../../src/client/chatCompletions";
import type { Profile } from "../../../src/shared/profiles";
import {
  chatModelInformation,
  DEFAULT_CONTEXT_TOKENS,
  estimateMessageTokens,
  estimateTokens,
  isChatProfile,
  samplingOptions,
  toOpenAiMessages,
  toOpenAiTools,
  toolResultText,
} from "../../../src/views/lm/chatConversion";

class TextPart { constructor(public value: string) {} }
class ToolCallPart { constructor(public callId: string, public name: string, public input: object) {} }
class ToolResultPart { constructor(public callId: string, public content: unknown[]) {} }
class DataPart { constructor(public data: Uint8Array, public mimeType: string) {} }
class PromptTsxPart { constructor(public value: unknown) {} }

// The values of VS Code's enums (no vscode module here; the in-host test sends the real ones).
/* eslint-disable @typescript-eslint/no-unsafe-enum-assignment -- numbers standing in for the enums */
const USER = 1 as LanguageModelChatMessageRole;
const ASSISTANT = 2 as LanguageModelChatMessageRole;
const SYSTEM = 3 as LanguageModelChatMessageRole;
const AUTO = 1 as LanguageModelChatToolMode;
const REQUIRED = 2 as LanguageModelChatToolMode;
/* eslint-enable @typescript-eslint/no-unsafe-enum-assignment */
const msg = (role: LanguageModelChatMessageRole, ...content: unknown[]): LanguageModelChatRequestMessage => ({ role, content, name: undefined });

function profile(over: Partial<Profile> = {}): Profile {
  return {
    id: "p1", name: "tiny-llama", engine: "llama", model: { source: "cache", repoId: "test/tiny-gguf", file: "tiny.gguf" }, port: "auto",
    options: {}, restartOnCrash: false, idleTimeoutSec: 0, pinned: false, group: null, version: 1, createdAt: 0, updatedAt: 0, ...over,
  };
}

async function events(lines: string[]): Promise<ChatCompletionEvent[]> {
  async function* sse(): AsyncGenerator<{ data: string }> {
    for (const data of lines) yield { data };
  }
  const out: ChatCompletionEvent[] = [];
  for await (const event of chatCompletionEvents(sse())) out.push(event);
  return out;
}
const chunk = (delta: object, finish: string | null = null): string => JSON.stringify({ id: "c", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta, finish_reason: finish }] });

describe("VS Code chat models: conversions", () => {
  describe("model information", () => {
    it("offers a profile as 'MLX · <profile>' with its context size as the input limit", () => {
      const info = chatModelInformation(profile({ options: { contextLength: 8192 } }), [{ id: "test/tiny-gguf", architecture: "llama" } as never]);
      assert.equal(info.id, "p1");
      assert.equal(info.name, "MLX · tiny-llama");
      assert.equal(info.family, "llama", "the model's architecture");
      assert.equal(info.version, "test/tiny-gguf:tiny.gguf");
      assert.equal(info.maxInputTokens, 8192);
      assert.equal(info.maxOutputTokens, 2048, "a quarter of the context");
      assert.equal(info.capabilities.toolCalling, true, "the built-in llama engine calls tools (node-llama-cpp's function calling)");
    });

    it("falls back to a sane context and mlx_lm's 512-token output default, and claims only the tools and images the manager says the profile has", () => {
      const mlx = chatModelInformation(profile({ engine: "mlx-lm", model: { source: "cache", repoId: "mlx-community/Q-4bit" } }), []);
      assert.equal(mlx.maxInputTokens, DEFAULT_CONTEXT_TOKENS);
      assert.equal(mlx.maxOutputTokens, 512);
      assert.equal(mlx.family, "mlx-lm", "no cached architecture: the engine");
      assert.equal(mlx.capabilities.toolCalling, false, "no capabilities from the manager: no tool claim for an MLX engine");
      const told = chatModelInformation(profile({ engine: "mlx-lm", capabilities: { toolCalling: true, imageInput: false, contextLength: 32768 } }), []);
      assert.deepEqual([told.capabilities.toolCalling, told.maxInputTokens], [true, 32768], "the manager's claims, and the context the engine runs with");
      const server = chatModelInformation(profile({ engine: "llama-server", options: { contextLength: 2048, maxTokens: 300 }, capabilities: { toolCalling: true, imageInput: false, contextLength: 2048 } }), []);
      assert.deepEqual([server.maxInputTokens, server.maxOutputTokens, server.capabilities.toolCalling], [2048, 300, true]);
      const vision = chatModelInformation(profile({ engine: "mlx-openai-server", options: { modelType: "multimodal" }, capabilities: { toolCalling: false, imageInput: true } }), []);
      assert.deepEqual([vision.capabilities.imageInput, vision.capabilities.toolCalling], [true, false]);
    });

    it("leaves out profiles that cannot chat (embeddings, speech, images)", () => {
      assert.equal(isChatProfile(profile()), true);
      assert.equal(isChatProfile(profile({ engine: "mlx-openai-server", options: { modelType: "embeddings" } })), false);
      assert.equal(isChatProfile(profile({ engine: "mlx-openai-server", options: { modelType: "whisper" } })), false);
      assert.equal(isChatProfile(profile({ engine: "mlx-openai-server", options: { modelType: "lm" } })), true);
    });
  });

  describe("messages", () => {
    it("joins streamed text pieces per message and keeps the roles", () => {
      const out = toOpenAiMessages([msg(USER, new TextPart("Hello, "), new TextPart("there")), msg(ASSISTANT, new TextPart("Hi!")), msg(USER, new TextPart("Tell me a story"))], { tools: false, images: false });
      assert.deepEqual(out, [
        { role: "user", content: "Hello, there" },
        { role: "assistant", content: "Hi!" },
        { role: "user", content: "Tell me a story" },
      ]);
    });

    it("sends tool calls as assistant tool_calls and their results as tool messages right after them", () => {
      const out = toOpenAiMessages([
        msg(USER, new TextPart("What is the weather in Paris and Oslo?")),
        msg(ASSISTANT, new TextPart(""), new ToolCallPart("call_1", "get_weather", { city: "Paris" }), new ToolCallPart("call_2", "get_weather", { city: "Oslo" })),
        msg(USER, new ToolResultPart("call_1", [new TextPart("18 °C, sunny")]), new ToolResultPart("call_2", [new TextPart("4 °C, "), new TextPart("snow")]), new TextPart("Which is warmer?")),
      ], { tools: true, images: false });
      assert.deepEqual(out, [
        { role: "user", content: "What is the weather in Paris and Oslo?" },
        {
          role: "assistant",
          content: null,
          tool_calls: [
            { id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } },
            { id: "call_2", type: "function", function: { name: "get_weather", arguments: '{"city":"Oslo"}' } },
          ],
        },
        { role: "tool", tool_call_id: "call_1", content: "18 °C, sunny" },
        { role: "tool", tool_call_id: "call_2", content: "4 °C, snow" },
        { role: "user", content: "Which is warmer?" },
      ]);
    });

    it("turns earlier calls and results into text for an engine without tools", () => {
      const out = toOpenAiMessages([
        msg(ASSISTANT, new TextPart("Let me look."), new ToolCallPart("call_1", "search", { q: "x" })),
        msg(USER, new ToolResultPart("call_1", [new TextPart("found")])),
      ], { tools: false, images: false });
      assert.deepEqual(out, [
        { role: "assistant", content: 'Let me look.\n[called tool search with {"q":"x"}]' },
        { role: "user", content: "[tool result call_1: found]" },
      ]);
      assert.ok(out.every((m) => m.role !== "tool" && !("tool_calls" in m)));
    });

    it("reads tool results given as text, JSON data and prompt-tsx parts", () => {
      const json = new DataPart(new TextEncoder().encode('{"ok":true}'), "application/json");
      const png = new DataPart(new Uint8Array([137, 80, 78, 71]), "image/png");
      assert.equal(toolResultText([new TextPart("a"), json, new PromptTsxPart({ node: 1 }), png]), 'a{"ok":true}{"node":1}[image/png data, 4 bytes]');
    });

    it("sends images as data URLs to a vision model, and a note instead to a text-only one", () => {
      const png = new DataPart(new Uint8Array([1, 2, 3]), "image/png");
      const vision = toOpenAiMessages([msg(USER, new TextPart("What is "), new TextPart("this?"), png)], { tools: false, images: true });
      assert.deepEqual(vision, [{ role: "user", content: [{ type: "text", text: "What is this?" }, { type: "image_url", image_url: { url: "data:image/png;base64,AQID" } }] }]);
      const text = toOpenAiMessages([msg(USER, new TextPart("What is this?"), png)], { tools: false, images: false });
      assert.deepEqual(text, [{ role: "user", content: "What is this?[image/png attachment left out: this model takes text only]" }]);
    });

    it("treats a role beyond User and Assistant (the proposed System) as a system prompt, and skips empty messages", () => {
      assert.deepEqual(toOpenAiMessages([msg(SYSTEM, new TextPart("Be brief.")), msg(USER), msg(USER, new TextPart("Hi"))], { tools: true, images: false }), [
        { role: "system", content: "Be brief." },
        { role: "user", content: "Hi" },
      ]);
    });
  });

  describe("tools and options", () => {
    it("maps tools to OpenAI functions; Required mode to tool_choice 'required'", () => {
      const tools = [
        { name: "get_weather", description: "Weather for a city", inputSchema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } },
        { name: "now", description: "The time" },
      ];
      assert.deepEqual(toOpenAiTools(tools, REQUIRED), {
        tools: [
          { type: "function", function: { name: "get_weather", description: "Weather for a city", parameters: tools[0]!.inputSchema } },
          { type: "function", function: { name: "now", description: "The time", parameters: { type: "object", properties: {} } } },
        ],
        tool_choice: "required",
      });
      assert.equal(toOpenAiTools(tools, AUTO).tool_choice, "auto");
      assert.deepEqual(toOpenAiTools([], AUTO), {});
      assert.deepEqual(toOpenAiTools(undefined, undefined), {});
    });

    it("passes the sampling options every engine understands and drops the rest", () => {
      assert.deepEqual(samplingOptions({ temperature: 0.2, topP: 0.9, maxTokens: 64.7, seed: 3, stop: ["\n\n"], junk: 1, max_tokens_str: "9" }), { temperature: 0.2, top_p: 0.9, max_tokens: 64, seed: 3, stop: ["\n\n"] });
      assert.deepEqual(samplingOptions({ temperature: "hot", max_tokens: 0, stop: [1] }), {});
      assert.deepEqual(samplingOptions(undefined), {});
    });
  });

  describe("streamed answers", () => {
    it("yields text, then each tool call whole (arguments in pieces, two calls by index), the finish reason and usage", async () => {
      const out = await events([
        chunk({ role: "assistant", content: "" }),
        chunk({ content: "Checking" }),
        chunk({ tool_calls: [{ index: 0, id: "call_a", type: "function", function: { name: "get_weather", arguments: "" } }] }),
        chunk({ tool_calls: [{ index: 0, function: { arguments: '{"ci' } }] }),
        chunk({ tool_calls: [{ index: 1, id: "call_b", type: "function", function: { name: "get_time", arguments: "{}" } }] }),
        chunk({ tool_calls: [{ index: 0, function: { arguments: 'ty":"Paris"}' } }] }),
        chunk({}, "tool_calls"),
        JSON.stringify({ id: "c", object: "chat.completion.chunk", choices: [], usage: { prompt_tokens: 12, completion_tokens: 9, total_tokens: 21 } }),
        "[DONE]",
      ]);
      assert.deepEqual(out, [
        { type: "text", text: "Checking" },
        { type: "toolCall", id: "call_a", name: "get_weather", arguments: '{"city":"Paris"}' },
        { type: "toolCall", id: "call_b", name: "get_time", arguments: "{}" },
        { type: "finish", reason: "tool_calls" },
        { type: "usage", promptTokens: 12, completionTokens: 9 },
      ]);
    });

    it("copes with servers that send no index or no id, and with a stream that ends without finish_reason", async () => {
      const out = await events([
        chunk({ tool_calls: [{ id: "x1", function: { name: "a", arguments: '{"n":' } }] }),
        chunk({ tool_calls: [{ function: { arguments: "1}" } }] }),
        chunk({ tool_calls: [{ id: "x2", function: { name: "b", arguments: "{}" } }] }),
        chunk({ tool_calls: [{ function: { name: "c", arguments: "{}" } }] }),
      ]);
      assert.deepEqual(out, [
        { type: "toolCall", id: "x1", name: "a", arguments: '{"n":1}' },
        { type: "toolCall", id: "x2", name: "b", arguments: "{}" },
        { type: "toolCall", id: "call_1", name: "c", arguments: "{}" },
      ]);
    });

    it("reports an error chunk as an error event, and usage on the finish chunk (mlx-openai-server's shape)", async () => {
      assert.deepEqual(await events([chunk({ content: "a" }), JSON.stringify({ error: { message: "model crashed" } }), chunk({ content: "never" })]), [
        { type: "text", text: "a" },
        { type: "error", message: "model crashed" },
      ]);
      const last = JSON.stringify({ choices: [{ index: 0, delta: {}, finish_reason: "stop" }], usage: { prompt_tokens: 3, completion_tokens: 2 } });
      assert.deepEqual(await events([chunk({ content: "ok" }), last, "[DONE]"]), [
        { type: "text", text: "ok" },
        { type: "finish", reason: "stop" },
        { type: "usage", promptTokens: 3, completionTokens: 2 },
      ]);
    });
  });

  describe("token estimate", () => {
    it("is 0 for nothing, grows with the text, and counts CJK characters and punctuation one by one", () => {
      assert.equal(estimateTokens(""), 0);
      assert.equal(estimateTokens("   "), 0);
      assert.equal(estimateTokens("Hello, world!"), 4);
      assert.equal(estimateTokens("你好世界"), 4);
      assert.equal(estimateTokens("2024"), 2);
      const line = "The quick brown fox jumps over the lazy dog. ";
      assert.equal(estimateTokens(line.repeat(10)), 10 * estimateTokens(line));
    });

    it("stays near the chars/4 rule of thumb for English prose and above it for code", () => {
      const prose = "Local models run on your own machine, so nothing you type leaves it. This extension keeps them in the Hugging Face cache, starts them as OpenAI-compatible servers and offers them to VS Code's chat.";
      const ratio = estimateTokens(prose) / (prose.length / 4);
      assert.ok(ratio > 0.75 && ratio < 1.5, `prose: ${estimateTokens(prose)} tokens for ${prose.length} chars`);
      const code = "if (a[i] !== b.get(k)) { return { ok: false, at: i }; }";
      assert.ok(estimateTokens(code) > code.length / 4, `code: ${estimateTokens(code)} tokens for ${code.length} chars`);
    });

    it("counts a message's text, tool calls and results plus the template's markers", () => {
      const text = estimateMessageTokens(msg(USER, new TextPart("Hello, world!")));
      assert.equal(text, 4 + 4);
      const withCall = estimateMessageTokens(msg(ASSISTANT, new TextPart("Hello, world!"), new ToolCallPart("c", "get_weather", { city: "Paris" })));
      assert.ok(withCall > text);
      assert.ok(estimateMessageTokens(msg(USER, new ToolResultPart("c", [new TextPart("18 degrees")]))) > 4);
    });
  });
});
