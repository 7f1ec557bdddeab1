// The built llama engine's tools, embeddings and prompt counting, as a real child process on a
// real tiny model whose chat template has Qwen 2.5's tool syntax (test/helpers/tinyGguf.ts),
// through the official openai client. A random model never calls a tool on its own, so the calls
// here are forced (tool_choice "required" or a named function): node-llama-cpp then generates
// the name and the arguments under the tools' grammar, and the test checks what comes back.
/* eslint-disable @typescript-eslint/no-deprecated -- OpenAI's types deprecate max_tokens; clients and the gateway still send it */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import OpenAI from "openai";
import { toGbnfSchema } from "../../../../src/services/engines/llama/toolSchema";
import { ensureLlamaEngineBuilt, ensureLlamaModuleInstalled, httpRequest, LlamaEngineProcess } from "../../../helpers/llamaEngine";
import { TOOL_CALLING_TINY_GGUF, writeTinyGguf } from "../../../helpers/tinyGguf";

const WEATHER: OpenAI.Chat.Completions.ChatCompletionTool = {
  type: "function",
  function: {
    name: "get_weather",
    description: "The weather in a city",
    parameters: {
      $schema: "http://json-schema.org/draft-07/schema#",
      type: "object",
      properties: { city: { type: "string", enum: ["Paris", "Oslo", "Lima"] }, unit: { enum: ["C", "F"] } },
      required: ["city", "unit"],
      additionalProperties: false,
    },
  },
};
const CLOCK: OpenAI.Chat.Completions.ChatCompletionTool = {
  type: "function",
  function: { name: "get_time", description: "The time now", parameters: { type: "object", properties: {} } },
};

describe("llama engine: tools, embeddings and prompt counts (tool-template tiny model)", function () {
  this.timeout(60_000);
  let workDir: string;
  let tools: LlamaEngineProcess;
  let plain: LlamaEngineProcess;
  let client: OpenAI;

  before(async function () {
    this.timeout(180_000);
    await ensureLlamaModuleInstalled();
    await ensureLlamaEngineBuilt();
    workDir = await mkdtemp(path.join(tmpdir(), "llama-tools-test-"));
    const toolModel = (await writeTinyGguf(path.join(workDir, "tools.gguf"), { seed: 1, ...TOOL_CALLING_TINY_GGUF })).path;
    const plainModel = (await writeTinyGguf(path.join(workDir, "plain.gguf"), { seed: 1 })).path;
    tools = await LlamaEngineProcess.start(["--model", toolModel, "--threads", "1", "--alias", "tools", "--seed", "7", "--embedding"]);
    plain = await LlamaEngineProcess.start(["--model", plainModel, "--threads", "1", "--alias", "plain", "--ctx-size", "2048"]);
    await Promise.all([tools.waitUntilReady(), plain.waitUntilReady()]);
    client = new OpenAI({ baseURL: `${tools.url}/v1`, apiKey: "x", maxRetries: 0 });
  });

  after(async () => {
    await Promise.all([tools.stop(), plain.stop()]);
    await rm(workDir, { recursive: true, force: true });
  });

  it("resolves the template's tool syntax (the Jinja template, not a fallback)", () => {
    assert.match(tools.stdout, /chat_format=JinjaTemplate/);
  });

  it("streams a forced tool call in OpenAI's shape: id, type and name first, then the arguments in pieces", async () => {
    const stream = await client.chat.completions.create({
      model: "tools",
      messages: [{ role: "user", content: "What is the weather in Paris?" }],
      tools: [WEATHER, CLOCK],
      tool_choice: { type: "function", function: { name: "get_weather" } },
      max_tokens: 64,
      stream: true,
      stream_options: { include_usage: true },
    });
    const deltas: OpenAI.Chat.Completions.ChatCompletionChunk.Choice.Delta.ToolCall[] = [];
    let finish: string | null = null;
    let completionTokens = 0;
    for await (const chunk of stream) {
      for (const call of chunk.choices[0]?.delta.tool_calls ?? []) deltas.push(call);
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) completionTokens = chunk.usage.completion_tokens;
    }
    assert.equal(finish, "tool_calls");
    assert.ok(deltas.length > 2, `arguments came in pieces (${deltas.length} deltas)`);
    const [first, ...rest] = deltas;
    assert.ok(first !== undefined);
    assert.match(first.id ?? "", /^call_[0-9a-f]{24}$/);
    assert.equal(first.type, "function");
    assert.equal(first.function?.name, "get_weather");
    for (const delta of rest) {
      assert.equal(delta.index, 0);
      assert.equal(delta.id, undefined, "only the first piece carries the id");
    }
    const args = JSON.parse(deltas.map((d) => d.function?.arguments ?? "").join("")) as { city: string; unit: string };
    assert.ok(["Paris", "Oslo", "Lima"].includes(args.city), JSON.stringify(args));
    assert.ok(["C", "F"].includes(args.unit), JSON.stringify(args));
    assert.ok(completionTokens > 0);
  });

  it("answers a required call whole when not streamed: content null, finish_reason tool_calls, a function taking no parameters called with {}", async () => {
    const answer = await client.chat.completions.create({
      model: "tools",
      messages: [{ role: "user", content: "What time is it?" }],
      tools: [CLOCK],
      tool_choice: "required",
      max_tokens: 64,
    });
    const choice = answer.choices[0];
    assert.equal(choice?.finish_reason, "tool_calls");
    assert.equal(choice.message.content, null);
    const call = choice.message.tool_calls?.[0];
    assert.ok(call?.type === "function");
    assert.equal(call.function.name, "get_time");
    assert.deepEqual(JSON.parse(call.function.arguments), {});
  });

  it("takes the call and its result back in: the template renders both, and the model answers", async () => {
    const question: OpenAI.Chat.Completions.ChatCompletionMessageParam = { role: "user", content: "What is the weather in Paris?" };
    const call = { id: "call_1", type: "function" as const, function: { name: "get_weather", arguments: '{"city":"Paris","unit":"C"}' } };
    const withResult: OpenAI.Chat.Completions.ChatCompletionMessageParam[] = [
      question,
      { role: "assistant", content: null, tool_calls: [call] },
      { role: "tool", tool_call_id: "call_1", content: "sunny and twenty-one degrees, a light wind from the west" },
    ];
    const count = async (messages: unknown[], withTools: boolean): Promise<number> => {
      const answer = await httpRequest(`${tools.url}/tokenize`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ messages, ...(withTools ? { tools: [WEATHER] } : {}) }),
      });
      assert.equal(answer.status, 200, answer.body);
      const body = JSON.parse(answer.body) as { prompt_tokens: number; context_size: number };
      assert.equal(body.context_size, 4096);
      return body.prompt_tokens;
    };
    const bare = await count([question], false);
    const listed = await count([question], true);
    const answered = await count(withResult, true);
    assert.ok(listed > bare + 20, `the tools are in the prompt (${bare} → ${listed})`);
    assert.ok(answered > listed + 20, `the call and its result are in the prompt (${listed} → ${answered})`);
    const reply = await client.chat.completions.create({ model: "tools", messages: withResult, tools: [WEATHER], tool_choice: "none", max_tokens: 8 });
    const choice = reply.choices.at(0);
    assert.ok(choice !== undefined);
    assert.equal(choice.message.tool_calls, undefined);
    // This model ends its answers (often within a few words): a text answer, not a call.
    assert.ok(choice.finish_reason === "stop" || choice.finish_reason === "length", choice.finish_reason);
    assert.equal(typeof choice.message.content, "string");
    assert.equal(reply.usage?.prompt_tokens, await count(withResult, false), "tool_choice none leaves the tools out, and /tokenize counts what is generated from");
  });

  it("refuses a tool_choice that names no tool of the request, with a 400 naming it", async () => {
    await assert.rejects(
      client.chat.completions.create({ model: "tools", messages: [{ role: "user", content: "x" }], tools: [WEATHER], tool_choice: { type: "function", function: { name: "nope" } } }),
      (error: unknown) => error instanceof OpenAI.BadRequestError && /"nope", which is not one of the request's tools/.test(error.message),
    );
  });

  it("calls a tool on a model whose template has no tool syntax too, in node-llama-cpp's generic call syntax", async () => {
    const plainClient = new OpenAI({ baseURL: `${plain.url}/v1`, apiKey: "x", maxRetries: 0 });
    const answer = await plainClient.chat.completions.create({ model: "plain", messages: [{ role: "user", content: "Weather?" }], tools: [WEATHER], tool_choice: "required", max_tokens: 128 });
    assert.match(plain.stdout, /chat_format=(?!JinjaTemplate)/);
    assert.equal(answer.choices[0]?.finish_reason, "tool_calls");
    const call = answer.choices.at(0)?.message.tool_calls?.at(0);
    assert.ok(call?.type === "function" && call.function.name === "get_weather");
    assert.ok(["Paris", "Oslo", "Lima"].includes((JSON.parse(call.function.arguments) as { city: string }).city));
  });

  it("holds an answer to response_format: JSON that follows a json_schema, any JSON for json_object; refused together with tools", async () => {
    const schema = { type: "object", properties: { city: { type: "string", enum: ["Paris", "Oslo", "Lima"] }, warm: { type: "boolean" } }, required: ["city", "warm"], additionalProperties: false };
    for (const stream of [false, true]) {
      const request = { model: "tools", max_tokens: 40, messages: [{ role: "user" as const, content: "Where is it warm?" }], response_format: { type: "json_schema" as const, json_schema: { name: "place", schema, strict: true } } };
      let text = "";
      if (stream) for await (const chunk of await client.chat.completions.create({ ...request, stream: true })) text += chunk.choices[0]?.delta.content ?? "";
      else text = (await client.chat.completions.create(request)).choices[0]?.message.content ?? "";
      const parsed = JSON.parse(text) as { city: string; warm: boolean };
      assert.deepEqual(Object.keys(parsed).sort(), ["city", "warm"], text);
      assert.ok(["Paris", "Oslo", "Lima"].includes(parsed.city) && typeof parsed.warm === "boolean", text);
    }
    const anyJson = await client.chat.completions.create({ model: "tools", max_tokens: 24, messages: [{ role: "user", content: "Say something" }], response_format: { type: "json_object" } });
    const content = anyJson.choices[0]?.message.content ?? "";
    if (anyJson.choices[0]?.finish_reason === "stop") JSON.parse(content);
    else assert.match(content, /^[[{"\d\-tfn ]/, "cut by max_tokens, but JSON as far as it goes");
    await assert.rejects(
      client.chat.completions.create({ model: "tools", max_tokens: 8, messages: [{ role: "user", content: "x" }], tools: [WEATHER], response_format: { type: "json_object" } }),
      (error: unknown) => error instanceof OpenAI.BadRequestError && error.param === "response_format",
    );
  });

  it("serves /v1/embeddings with --embedding (floats and base64), and says how to turn it on without", async () => {
    const result = await client.embeddings.create({ model: "tools", input: ["the dog", "a cat in the park"], encoding_format: "float" });
    assert.equal(result.data.length, 2);
    const [a, b] = [result.data.at(0), result.data.at(1)];
    assert.ok(a !== undefined && b !== undefined);
    assert.equal(a.embedding.length, 64);
    assert.notDeepEqual(a.embedding, b.embedding);
    assert.ok(result.usage.prompt_tokens > 3);
    // The SDK asks for base64 by default and decodes it: the same vector back.
    const decoded = await client.embeddings.create({ model: "tools", input: "the dog" });
    assert.deepEqual(decoded.data[0]?.embedding.map((x) => Math.round(x * 1e4)), a.embedding.map((x) => Math.round(x * 1e4)));
    const without = await httpRequest(`${plain.url}/v1/embeddings`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ input: "x" }) });
    assert.equal(without.status, 501);
    assert.match(without.body, /started without --embedding/);
  });

  describe("toGbnfSchema (a tool's JSON schema → what the grammar follows)", () => {
    it("keeps types, properties, required, enums, unions and $defs; drops what a grammar cannot follow", () => {
      assert.deepEqual(
        toGbnfSchema({
          $schema: "x",
          type: "object",
          title: "T",
          properties: {
            path: { type: "string", description: "a file", pattern: "^/", minLength: 1 },
            lines: { type: "array", items: { type: "integer", minimum: 1 } },
            mode: { anyOf: [{ const: "r" }, { type: "null" }] },
            when: { type: "string", format: "date-time" },
            node: { $ref: "#/definitions/Node" },
            any: {},
          },
          required: ["path", "missing"],
          additionalProperties: false,
          definitions: { Node: { type: ["string", "number"] } },
        }),
        {
          type: "object",
          properties: {
            path: { type: "string", minLength: 1, description: "a file" },
            lines: { type: "array", items: { type: "integer" } },
            mode: { oneOf: [{ const: "r" }, { type: "null" }] },
            when: { type: "string", format: "date-time" },
            node: { $ref: "#/$defs/Node" },
            any: { oneOf: [{ type: ["string", "number", "boolean", "null"] }, { type: "array" }, { type: "object", additionalProperties: true }] },
          },
          required: ["path"],
          additionalProperties: false,
          $defs: { Node: { type: ["string", "number"] } },
        },
      );
    });

    it("gives no parameters for an empty object or none, and a free-form object where properties are open", () => {
      assert.equal(toGbnfSchema(undefined), undefined);
      assert.equal(toGbnfSchema({ type: "object", properties: {} }), undefined);
      assert.deepEqual(toGbnfSchema({ type: "object", additionalProperties: true }), { type: "object", additionalProperties: true });
      assert.deepEqual(toGbnfSchema({ type: "object", additionalProperties: { type: "number" } }), { type: "object", additionalProperties: { type: "number" } });
    });
  });
});
