// The Messages ⇄ Chat Completions translation on its own: requests as Claude Code sends them,
// and upstream streams fed in arbitrary pieces, checked against Anthropic's event sequence.
import assert from "node:assert/strict";
import { namedEvents } from "../../../helpers/namedSse";
import { GatewayError } from "../../../../src/services/gateway/openAiError";
import { SseDataReader } from "../../../../src/services/gateway/translate/AnswerTranslator";
import { AnthropicAnswer, anthropicErrorType } from "../../../../src/services/gateway/translate/anthropicAnswer";
import { chatRequestFromMessages, droppedServerTools, MessagesRequest } from "../../../../src/services/gateway/translate/anthropicRequest";

const TEXT_ONLY = { images: false };

function parse(body: unknown): MessagesRequest {
  return MessagesRequest.parse(body);
}

const events = namedEvents;

const chunk = (delta: object, finish: string | null = null, extra: object = {}): string =>
  JSON.stringify({ id: "c", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta, finish_reason: finish, ...extra }] });

describe("Anthropic Messages ⇄ Chat Completions", () => {
  describe("requests", () => {
    it("puts system text (string, blocks and in-conversation system entries) first, and keeps turn order", () => {
      const chat = chatRequestFromMessages(
        parse({
          model: "claude-sonnet-4-5",
          max_tokens: 100,
          system: [{ type: "text", text: "You are Claude Code.", cache_control: { type: "ephemeral" } }, { type: "text", text: "Be brief." }],
          thinking: { type: "enabled", budget_tokens: 1024 },
          metadata: { user_id: "u" },
          messages: [
            { role: "user", content: [{ type: "text", text: "hi", cache_control: { type: "ephemeral" } }] },
            { role: "system", content: "A reminder." },
            { role: "assistant", content: "hello" },
            { role: "user", content: "more" },
          ],
          stop_sequences: ["END"],
          temperature: 0.2,
          top_k: 5,
        }),
        TEXT_ONLY,
      );
      assert.deepEqual(chat.messages, [
        { role: "system", content: "You are Claude Code.Be brief.\n\nA reminder." },
        { role: "user", content: "hi" },
        { role: "assistant", content: "hello" },
        { role: "user", content: "more" },
      ]);
      assert.deepEqual([chat.max_tokens, chat.stop, chat.temperature, chat.top_k], [100, ["END"], 0.2, 5]);
    });

    it("turns tool_use into tool_calls and each tool_result (string or blocks, is_error) into a tool message right after", () => {
      const chat = chatRequestFromMessages(
        parse({
          model: "m",
          max_tokens: 10,
          tools: [
            { name: "Read", description: "Read a file", input_schema: { type: "object", properties: { path: { type: "string" } } } },
            { type: "web_search_20250305", name: "web_search" },
          ],
          tool_choice: { type: "any", disable_parallel_tool_use: true },
          messages: [
            { role: "user", content: "read a and b" },
            { role: "assistant", content: [{ type: "text", text: "Reading." }, { type: "tool_use", id: "toolu_1", name: "Read", input: { path: "a" } }, { type: "tool_use", id: "toolu_2", name: "Read", input: { path: "b" } }] },
            { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_1", content: "A" }, { type: "tool_result", tool_use_id: "toolu_2", is_error: true, content: [{ type: "text", text: "no such file" }] }, { type: "text", text: "and?" }] },
          ],
        }),
        TEXT_ONLY,
      );
      assert.deepEqual(chat.messages.slice(1), [
        { role: "assistant", content: "Reading.", tool_calls: [{ id: "toolu_1", type: "function", function: { name: "Read", arguments: '{"path":"a"}' } }, { id: "toolu_2", type: "function", function: { name: "Read", arguments: '{"path":"b"}' } }] },
        { role: "tool", tool_call_id: "toolu_1", content: "A" },
        { role: "tool", tool_call_id: "toolu_2", content: "Error: no such file" },
        { role: "user", content: "and?" },
      ]);
      assert.deepEqual(chat.tools?.map((t) => t.function.name), ["Read"], "the hosted web_search tool is dropped");
      assert.deepEqual([chat.tool_choice, chat.parallel_tool_calls], ["required", false]);
      assert.deepEqual(droppedServerTools(parse({ model: "m", max_tokens: 1, messages: [], tools: [{ type: "web_search_20250305", name: "web_search" }] })), ["web_search_20250305"]);
    });

    it("maps tool_choice tool and none; sends no tools for none", () => {
      const base = { model: "m", max_tokens: 1, messages: [{ role: "user", content: "x" }], tools: [{ name: "t", input_schema: { type: "object" } }] };
      assert.deepEqual(chatRequestFromMessages(parse({ ...base, tool_choice: { type: "tool", name: "t" } }), TEXT_ONLY).tool_choice, { type: "function", function: { name: "t" } });
      const none = chatRequestFromMessages(parse({ ...base, tool_choice: { type: "none" } }), TEXT_ONLY);
      assert.equal(none.tools, undefined);
    });

    it("passes images (base64 and URL) to a model that takes them, and refuses them with a 400 naming the block otherwise", () => {
      const request = parse({
        model: "m",
        max_tokens: 1,
        messages: [{ role: "user", content: [{ type: "image", source: { type: "base64", media_type: "image/png", data: "AAAA" } }, { type: "image", source: { type: "url", url: "https://example.test/a.png" } }, { type: "text", text: "what?" }] }],
      });
      assert.deepEqual(chatRequestFromMessages(request, { images: true }).messages[0], {
        role: "user",
        content: [{ type: "image_url", image_url: { url: "data:image/png;base64,AAAA" } }, { type: "image_url", image_url: { url: "https://example.test/a.png" } }, { type: "text", text: "what?" }],
      });
      assert.throws(() => chatRequestFromMessages(request, TEXT_ONLY), (error: unknown) => error instanceof GatewayError && error.status === 400 && /messages\.0\.content\.0 holds an image, but this model takes text only/.test(error.message));
    });

    it("requires max_tokens and a known role", () => {
      assert.equal(MessagesRequest.safeParse({ model: "m", messages: [] }).success, false);
      assert.equal(MessagesRequest.safeParse({ model: "m", max_tokens: 1, messages: [{ role: "tool", content: "x" }] }).success, false);
    });
  });

  describe("answers", () => {
    it("streams text and a tool call as Anthropic's events, whatever the upstream's chunking", () => {
      const upstream = [
        chunk({ role: "assistant", content: "" }),
        chunk({ content: "Let me " }),
        chunk({ content: "look." }),
        chunk({ tool_calls: [{ index: 0, id: "call_a", type: "function", function: { name: "Read", arguments: "" } }] }),
        chunk({ tool_calls: [{ index: 0, function: { arguments: '{"pa' } }] }),
        chunk({ tool_calls: [{ index: 0, function: { arguments: 'th":"a"}' } }] }),
        chunk({}, "tool_calls"),
        JSON.stringify({ id: "c", object: "chat.completion.chunk", choices: [], usage: { prompt_tokens: 11, completion_tokens: 7 } }),
        "[DONE]",
      ];
      const sse = upstream.map((data) => `data: ${data}\n\n`).join("");
      // Fed to the reader three bytes at a time: events split anywhere still come out whole.
      const reader = new SseDataReader();
      const answer = new AnthropicAnswer("claude-sonnet-4-5", 9);
      let out = "";
      const bytes = Buffer.from(sse);
      for (let i = 0; i < bytes.length; i += 3) for (const data of reader.push(bytes.subarray(i, i + 3))) out += answer.streamEvent(data);
      for (const data of reader.end()) out += answer.streamEvent(data);
      out += answer.streamEnd();
      const seen = events(out);
      assert.deepEqual(
        seen.map((e) => e.event),
        ["message_start", "ping", "content_block_start", "content_block_delta", "content_block_delta", "content_block_stop", "content_block_start", "content_block_delta", "content_block_delta", "content_block_stop", "message_delta", "message_stop"],
      );
      const start = seen[0]?.data["message"] as { model: string; usage: { input_tokens: number } };
      assert.equal(start.model, "claude-sonnet-4-5");
      assert.equal(start.usage.input_tokens, 9, "the prompt count known before the answer");
      assert.deepEqual(seen[6]?.data, { type: "content_block_start", index: 1, content_block: { type: "tool_use", id: "call_a", name: "Read", input: {} } });
      const json = seen.filter((e) => (e.data["delta"] as { type?: string } | undefined)?.type === "input_json_delta").map((e) => (e.data["delta"] as { partial_json: string }).partial_json).join("");
      assert.deepEqual(JSON.parse(json), { path: "a" });
      assert.deepEqual(seen[10]?.data, { type: "message_delta", delta: { stop_reason: "tool_use", stop_sequence: null }, usage: { output_tokens: 7, input_tokens: 11 } });
    });

    it("maps finish reasons: length → max_tokens, a named stop sequence → stop_sequence, else end_turn", () => {
      const stopOf = (finish: string, extra: object = {}): unknown => {
        const answer = new AnthropicAnswer("m");
        answer.streamEvent(chunk({ content: "x" }));
        answer.streamEvent(chunk({}, finish, extra));
        return events(answer.streamEnd()).find((e) => e.event === "message_delta")?.data["delta"];
      };
      assert.deepEqual(stopOf("length"), { stop_reason: "max_tokens", stop_sequence: null });
      assert.deepEqual(stopOf("stop", { stop_sequence: "END" }), { stop_reason: "stop_sequence", stop_sequence: "END" });
      assert.deepEqual(stopOf("stop", { stopping_word: "###" }), { stop_reason: "stop_sequence", stop_sequence: "###" });
      assert.deepEqual(stopOf("stop"), { stop_reason: "end_turn", stop_sequence: null });
    });

    it("turns a whole answer into a message, and an upstream error mid-stream into an error event", () => {
      const answer = new AnthropicAnswer("m");
      const body = answer.body({
        choices: [{ index: 0, finish_reason: "tool_calls", message: { role: "assistant", content: "ok", tool_calls: [{ id: "call_b", type: "function", function: { name: "Bash", arguments: '{"command":"ls"}' } }] } }],
        usage: { prompt_tokens: 3, completion_tokens: 4 },
      }) as { id: string; content: unknown[]; stop_reason: string; usage: unknown };
      assert.match(body.id, /^msg_01/);
      assert.deepEqual(body.content, [{ type: "text", text: "ok" }, { type: "tool_use", id: "call_b", name: "Bash", input: { command: "ls" } }]);
      assert.equal(body.stop_reason, "tool_use");
      assert.deepEqual(body.usage, { input_tokens: 3, output_tokens: 4 });
      const broken = new AnthropicAnswer("m");
      const out = broken.streamEvent(JSON.stringify({ error: { message: "engine died" } }));
      assert.deepEqual(events(out).at(-1), { event: "error", data: { type: "error", error: { type: "api_error", message: "engine died" } } });
      assert.equal(broken.streamEnd(), "", "nothing after the error");
    });

    it("names Anthropic's error type for each status", () => {
      assert.deepEqual(
        [400, 401, 403, 404, 413, 429, 500, 502, 503, 529].map(anthropicErrorType),
        ["invalid_request_error", "authentication_error", "permission_error", "not_found_error", "request_too_large", "rate_limit_error", "api_error", "api_error", "overloaded_error", "overloaded_error"],
      );
    });
  });
});
