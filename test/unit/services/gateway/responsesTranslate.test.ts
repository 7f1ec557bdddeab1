// The Responses ⇄ Chat Completions translation on its own: requests as Codex and the Agents SDK
// send them, and upstream streams fed in arbitrary pieces, checked against OpenAI's event sequence.
import assert from "node:assert/strict";
import { namedEvents } from "../../../helpers/namedSse";
import { GatewayError } from "../../../../src/services/gateway/openAiError";
import { SseDataReader } from "../../../../src/services/gateway/translate/AnswerTranslator";
import { customInput, ResponsesAnswer, type ResponseEcho, type ResponseObject } from "../../../../src/services/gateway/translate/responsesAnswer";
import { chatRequestFromResponses, ResponsesRequest } from "../../../../src/services/gateway/translate/responsesRequest";

const TEXT_ONLY = { images: false };
const ECHO: ResponseEcho = { instructions: null, max_output_tokens: null, parallel_tool_calls: true, previous_response_id: null, temperature: null, top_p: null, tool_choice: "auto", tools: [], text: { format: { type: "text" } }, reasoning: null, store: true, metadata: {} };

function plan(body: unknown, history: Record<string, unknown>[] = []): ReturnType<typeof chatRequestFromResponses> {
  return chatRequestFromResponses(ResponsesRequest.parse(body), history, TEXT_ONLY);
}

const events = namedEvents;

const chunk = (delta: object, finish: string | null = null): string => JSON.stringify({ id: "c", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta, finish_reason: finish }] });
const usage = (prompt: number, completion: number): string => JSON.stringify({ id: "c", object: "chat.completion.chunk", created: 1, model: "m", choices: [], usage: { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion } });

/** Feeds upstream SSE payloads through the translator in 3-byte pieces, as a slow network would. */
function translateStream(answer: ResponsesAnswer, payloads: string[]): string {
  const sse = payloads.map((p) => `data: ${p}\n\n`).join("");
  const reader = new SseDataReader();
  let out = "";
  const bytes = Buffer.from(sse);
  for (let at = 0; at < bytes.length; at += 3) for (const payload of reader.push(bytes.subarray(at, at + 3))) out += answer.streamEvent(payload);
  for (const payload of reader.end()) out += answer.streamEvent(payload);
  return out + answer.streamEnd();
}

describe("OpenAI Responses ⇄ Chat Completions", () => {
  describe("requests", () => {
    it("a string input is one user message; instructions, system and developer messages become the one leading system message", () => {
      assert.deepEqual(plan({ model: "m", input: "hi" }).chat.messages, [{ role: "user", content: "hi" }]);
      const chat = plan({
        model: "m",
        instructions: "Be brief.",
        input: [
          { type: "message", role: "developer", content: [{ type: "input_text", text: "You are Codex." }] },
          { role: "user", content: [{ type: "input_text", text: "<environment_context/>" }] },
          { role: "system", content: "A reminder." },
          { role: "user", content: "Fix the bug." },
        ],
        reasoning: { effort: "medium" },
        include: ["reasoning.encrypted_content"],
        prompt_cache_key: "thread",
        client_metadata: { turn_id: "t" },
        max_output_tokens: 100,
        temperature: 0.3,
        top_p: 0.9,
      }).chat;
      assert.deepEqual(chat.messages, [
        { role: "system", content: "Be brief.\n\nYou are Codex.\n\nA reminder." },
        { role: "user", content: "<environment_context/>" },
        { role: "user", content: "Fix the bug." },
      ]);
      assert.deepEqual([chat.max_tokens, chat.temperature, chat.top_p], [100, 0.3, 0.9]);
    });

    it("function and custom calls join the assistant's message as tool_calls; their outputs are tool messages; reasoning items are skipped", () => {
      const chat = plan({
        model: "m",
        input: [
          { role: "user", content: "go" },
          { type: "reasoning", id: "rs_1", summary: [], content: null, encrypted_content: "x" },
          { type: "message", role: "assistant", id: "msg_1", status: "completed", content: [{ type: "output_text", text: "Looking.", annotations: [] }] },
          { type: "function_call", id: "fc_1", call_id: "c1", name: "exec_command", arguments: '{"cmd":"ls"}', status: "completed" },
          { type: "custom_tool_call", id: "ctc_1", call_id: "c2", name: "apply_patch", input: "*** Begin Patch" },
          { type: "function_call_output", call_id: "c1", output: "a.txt" },
          { type: "custom_tool_call_output", call_id: "c2", output: [{ type: "input_text", text: "Done" }] },
        ],
      }).chat;
      assert.deepEqual(chat.messages, [
        { role: "user", content: "go" },
        {
          role: "assistant",
          content: "Looking.",
          tool_calls: [
            { id: "c1", type: "function", function: { name: "exec_command", arguments: '{"cmd":"ls"}' } },
            { id: "c2", type: "function", function: { name: "apply_patch", arguments: '{"input":"*** Begin Patch"}' } },
          ],
        },
        { role: "tool", tool_call_id: "c1", content: "a.txt" },
        { role: "tool", tool_call_id: "c2", content: "Done" },
      ]);
    });

    it("a previous response's input and output come first", () => {
      const history = [{ role: "user", content: "weather?" }, { type: "function_call", id: "fc_1", call_id: "c1", name: "w", arguments: "{}", status: "completed" }];
      const chat = plan({ model: "m", previous_response_id: "resp_1", input: [{ type: "function_call_output", call_id: "c1", output: "sunny" }] }, history).chat;
      assert.deepEqual(chat.messages.map((m) => m.role), ["user", "assistant", "tool"]);
    });

    it("function tools pass; custom tools become functions taking {input} with the grammar told; hosted tools are dropped and named", () => {
      const p = plan({
        model: "m",
        input: "x",
        tools: [
          { type: "function", name: "exec_command", description: "Run", parameters: { type: "object", properties: { cmd: { type: "string" } }, required: ["cmd"] }, strict: false },
          { type: "custom", name: "apply_patch", description: "Patch", format: { type: "grammar", syntax: "lark", definition: "start: x" } },
          { type: "web_search", external_web_access: false },
          { type: "namespace", name: "multi_agent_v1", tools: [] },
        ],
        tool_choice: "auto",
        parallel_tool_calls: false,
      });
      assert.deepEqual(p.droppedTools, ["web_search", "namespace"]);
      assert.deepEqual([...p.customTools], ["apply_patch"]);
      assert.deepEqual(p.chat.tools?.map((t) => t.function.name), ["exec_command", "apply_patch"]);
      const patch = p.chat.tools[1]?.function.parameters as { properties: { input: { type: string; description: string } }; required: string[] };
      assert.deepEqual(patch.required, ["input"]);
      assert.match(patch.properties.input.description, /lark grammar:\nstart: x/);
      assert.equal(p.chat.tool_choice, "auto");
      assert.equal(p.chat.parallel_tool_calls, false);
    });

    it("tool_choice: named function or custom tool, allowed_tools, none; a forced hosted tool or an unknown name is a 400", () => {
      const tools = [{ type: "function", name: "a", parameters: { type: "object" } }, { type: "custom", name: "b" }];
      assert.deepEqual(plan({ model: "m", input: "x", tools, tool_choice: { type: "custom", name: "b" } }).chat.tool_choice, { type: "function", function: { name: "b" } });
      const allowed = plan({ model: "m", input: "x", tools, tool_choice: { type: "allowed_tools", mode: "required", tools: [{ type: "function", name: "a" }] } }).chat;
      assert.deepEqual([allowed.tools?.map((t) => t.function.name), allowed.tool_choice], [["a"], "required"]);
      assert.equal(plan({ model: "m", input: "x", tools, tool_choice: "none" }).chat.tools, undefined);
      assert.throws(() => plan({ model: "m", input: "x", tools, tool_choice: { type: "web_search_preview" } }), (e: unknown) => e instanceof GatewayError && e.param === "tool_choice");
      assert.throws(() => plan({ model: "m", input: "x", tools, tool_choice: { type: "function", name: "zz" } }), (e: unknown) => e instanceof GatewayError && /not among the tools/.test(e.message));
    });

    it("text.format: json_schema and json_object become response_format; text is nothing", () => {
      const schema = { type: "object", properties: { answer: { type: "string" } }, required: ["answer"] };
      const p = plan({ model: "m", input: "x", text: { format: { type: "json_schema", name: "out", schema, strict: true }, verbosity: "low" } });
      assert.deepEqual(p.chat.response_format, { type: "json_schema", json_schema: { name: "out", schema, strict: true } });
      assert.equal(p.structured, "json_schema");
      assert.equal(plan({ model: "m", input: "x", text: { format: { type: "json_object" } } }).structured, "json_object");
      const plain = plan({ model: "m", input: "x", text: { format: { type: "text" } } });
      assert.equal(plain.chat.response_format, undefined);
      assert.equal(plain.structured, undefined);
    });

    it("refuses what no engine here can take, naming the item", () => {
      const refuses = (input: unknown, param: RegExp): void => {
        assert.throws(() => plan({ model: "m", input }), (e: unknown) => e instanceof GatewayError && e.status === 400 && param.test(e.param ?? ""));
      };
      refuses([{ type: "teleport" }], /^input\.0\.type$/);
      refuses([{ type: "item_reference", id: "msg_1" }], /^input\.0$/);
      refuses([{ role: "user", content: [{ type: "input_file", file_id: "f" }] }], /^input\.0\.content\.0$/);
      refuses([{ role: "user", content: [{ type: "input_image", image_url: "data:image/png;base64,AA" }] }], /^input\.0\.content\.0$/);
      refuses([{ role: "wizard", content: "x" }], /^input\.0\.role$/);
      refuses([{ type: "function_call", call_id: "c", name: "f" }], /^input\.0\.arguments$/);
      refuses([], /^input$/);
    });
  });

  describe("answers", () => {
    it("a stream: created, in_progress, the message item with its part, deltas, the done events, then completed with usage; numbered from 0", () => {
      let kept: ResponseObject | undefined;
      const answer = new ResponsesAnswer("tiny", ECHO, new Set(), (r) => { kept = r; });
      const out = events(translateStream(answer, [chunk({ role: "assistant", content: "" }), chunk({ content: "Once" }), chunk({ content: " upon" }), chunk({}, "stop"), usage(12, 2), "[DONE]"]));
      assert.deepEqual(out.map((e) => e.event), [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
      ]);
      assert.deepEqual(out.map((e) => e.data["sequence_number"]), out.map((_, i) => i));
      assert.ok(out.every((e) => e.data["type"] === e.event));
      const completed = out.at(-1)?.data["response"] as ResponseObject;
      assert.equal(completed.status, "completed");
      assert.deepEqual(completed.usage, { input_tokens: 12, input_tokens_details: { cached_tokens: 0 }, output_tokens: 2, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 14 });
      assert.deepEqual(completed.output, [{ id: (completed.output[0] as { id: string }).id, type: "message", status: "completed", role: "assistant", content: [{ type: "output_text", text: "Once upon", annotations: [], logprobs: [] }] }]);
      assert.equal(kept?.id, completed.id);
      const created = out[0]?.data["response"] as ResponseObject;
      assert.deepEqual([created.status, created.output, created.usage], ["in_progress", [], null]);
    });

    it("tool calls: function calls stream their arguments; custom calls arrive whole with their input unwrapped", () => {
      const answer = new ResponsesAnswer("m", ECHO, new Set(["apply_patch"]));
      const out = events(
        translateStream(answer, [
          chunk({ content: "Let me look." }),
          chunk({ tool_calls: [{ index: 0, id: "call_a", type: "function", function: { name: "exec_command", arguments: "" } }] }),
          chunk({ tool_calls: [{ index: 0, function: { arguments: '{"cmd":' } }] }),
          chunk({ tool_calls: [{ index: 0, function: { arguments: '"ls"}' } }] }),
          chunk({ tool_calls: [{ index: 1, id: "call_b", type: "function", function: { name: "apply_patch", arguments: '{"input":' } }] }),
          chunk({ tool_calls: [{ index: 1, function: { arguments: '"*** Begin Patch"}' } }] }),
          chunk({}, "tool_calls"),
        ]),
      );
      const types = out.map((e) => e.event);
      assert.deepEqual(types.slice(2), [
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.custom_tool_call_input.delta",
        "response.custom_tool_call_input.done",
        "response.output_item.done",
        "response.completed",
      ]);
      const final = out.at(-1)?.data["response"] as ResponseObject;
      assert.deepEqual(final.output.map((i) => i.type), ["message", "function_call", "custom_tool_call"]);
      assert.deepEqual(final.output.map((i) => ("call_id" in i ? i.call_id : undefined)), [undefined, "call_a", "call_b"]);
      assert.equal((final.output[1] as { arguments: string }).arguments, '{"cmd":"ls"}');
      assert.equal((final.output[2] as { input: string }).input, "*** Begin Patch");
      const indexes = out.filter((e) => e.event === "response.output_item.done").map((e) => e.data["output_index"]);
      assert.deepEqual(indexes, [0, 1, 2]);
    });

    it("length → response.incomplete with max_output_tokens; reasoning_content → a reasoning item before the message", () => {
      const answer = new ResponsesAnswer("m", ECHO, new Set());
      const out = events(translateStream(answer, [chunk({ reasoning_content: "Hmm." }), chunk({ content: "A" }), chunk({}, "length")]));
      assert.equal(out.at(-1)?.event, "response.incomplete");
      const final = out.at(-1)?.data["response"] as ResponseObject;
      assert.deepEqual(final.incomplete_details, { reason: "max_output_tokens" });
      assert.deepEqual(final.output.map((i) => [i.type, i.status]), [["reasoning", "completed"], ["message", "incomplete"]], "the reasoning ended before the answer was cut");
      assert.ok(out.some((e) => e.event === "response.reasoning_text.delta"));
    });

    it("an upstream error mid-stream ends with response.failed carrying the message", () => {
      const answer = new ResponsesAnswer("m", ECHO, new Set());
      const out = events(answer.streamEvent(chunk({ content: "A" })) + answer.streamError("the model server broke off") + answer.streamEnd());
      assert.equal(out.at(-1)?.event, "response.failed");
      const failed = out.at(-1)?.data["response"] as ResponseObject;
      assert.deepEqual([failed.status, failed.error], ["failed", { code: "server_error", message: "the model server broke off" }]);
      assert.equal(out.filter((e) => e.event === "response.failed").length, 1);
    });

    it("a JSON answer becomes the Response, echoing the request's settings", () => {
      const answer = new ResponsesAnswer("m", { ...ECHO, instructions: "Be brief.", temperature: 0.5 }, new Set(["apply_patch"]));
      const body = answer.body({
        choices: [{ message: { content: "Done.", tool_calls: [{ id: "c9", function: { name: "apply_patch", arguments: "not json" } }] }, finish_reason: "tool_calls" }],
        usage: { prompt_tokens: 5, completion_tokens: 3, prompt_tokens_details: { cached_tokens: 4 } },
      }) as ResponseObject;
      assert.equal(body.status, "completed");
      assert.equal(body.instructions, "Be brief.");
      assert.equal(body.temperature, 0.5);
      assert.deepEqual(body.output.map((i) => i.type), ["message", "custom_tool_call"]);
      assert.equal((body.output[1] as { input: string }).input, "not json", "a model's raw text is the input when it is not {input}");
      assert.equal(body.usage?.input_tokens_details.cached_tokens, 4);
    });

    it("customInput unwraps {input} and passes anything else through", () => {
      assert.equal(customInput('{"input":"a\\nb"}'), "a\nb");
      assert.equal(customInput('{"other":1}'), '{"other":1}');
      assert.equal(customInput("plain"), "plain");
    });
  });
});
