// The built llama engine (dist/llama-engine.js) as a real child process, on a real model,
// driven over real HTTP — through the official openai client where a user's client would be.
/* eslint-disable @typescript-eslint/no-deprecated -- OpenAI's types deprecate max_tokens and seed; clients and the gateway still send them */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import OpenAI from "openai";
import { defaultThreads, parseEngineArgs } from "../../../../src/services/engines/llama/engineArgs";
import { GenerationQueue } from "../../../../src/services/engines/llama/GenerationQueue";
import { ENGINES } from "../../../../src/services/engines/registry";
import {
  ensureLlamaEngineBuilt,
  ensureLlamaModuleInstalled,
  freePort,
  httpRequest,
  LlamaEngineProcess,
  repoRoot,
  type EngineTimings,
} from "../../../helpers/llamaEngine";
import { postSse, type SseResult } from "../../../helpers/llamaSse";
import { FABLE, shuffledFable } from "../../../helpers/fable";
import { tinyGgufBytes, writeTinyGguf } from "../../../helpers/tinyGguf";

/** Karpathy's 260K-parameter TinyStories model, kept next to the repository on these machines. */
const storiesModel = path.join(repoRoot, "..", "shared", "models", "stories260K.gguf");

interface ChatChunkShape {
  object: string;
  choices: { index: number; delta: { role?: string; content?: string }; finish_reason: string | null }[];
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

function parseChunk(data: string): ChatChunkShape {
  return JSON.parse(data) as ChatChunkShape;
}

/** ms for a bare `node` to start and answer HTTP on this machine now: the floor under any engine. */
async function nodeListenBaselineMs(): Promise<number> {
  const port = await freePort();
  const started = performance.now();
  const child = spawn(
    process.execPath,
    ["-e", `require("http").createServer((q, s) => s.end("ok")).listen(${port}, "127.0.0.1")`],
    { stdio: "ignore" },
  );
  try {
    for (;;) {
      try {
        await httpRequest(`http://127.0.0.1:${port}/`);
        return performance.now() - started;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }
  } finally {
    child.kill("SIGKILL");
  }
}

describe("llama engine (dist/llama-engine.js on node-llama-cpp)", function () {
  this.timeout(60_000);
  let workDir: string;
  let tinyModel: string;

  before(async function () {
    this.timeout(180_000);
    await ensureLlamaModuleInstalled();
    await ensureLlamaEngineBuilt();
    workDir = await mkdtemp(path.join(tmpdir(), "llama-engine-test-"));
    tinyModel = (await writeTinyGguf(path.join(workDir, "tiny-llama.gguf"), { seed: 1 })).path;
  });

  after(async () => {
    await rm(workDir, { recursive: true, force: true });
  });

  describe("serving the tiny model", () => {
    let engine: LlamaEngineProcess;
    let timings: EngineTimings;
    let baselineMs: number;
    let client: OpenAI;

    before(async function () {
      this.timeout(120_000);
      baselineMs = await nodeListenBaselineMs();
      engine = await LlamaEngineProcess.start(["--model", tinyModel, "--threads", "1", "--alias", "tiny"]);
      timings = await engine.waitUntilReady();
      client = new OpenAI({ baseURL: `${engine.url}/v1`, apiKey: "x", maxRetries: 0 });
    });

    after(async function () {
      const tps = [...engine.stdout.matchAll(/tps=([\d.]+)/g)].map((m) => Number(m[1]));
      const rss = await engine.rssMiB();
      console.log(
        `      tiny model: first /health ${Math.round(timings.firstHealthMs)} ms (${timings.firstHealthStatus}; bare node listens in ${Math.round(baselineMs)} ms), ` +
          `ready ${Math.round(timings.readyMs)} ms, decode ${tps.length ? Math.round(Math.max(...tps)) : "?"} tokens/s (best), RSS ${rss?.toFixed(0) ?? "?"} MiB`,
      );
      await engine.stop();
    });

    it("answers /health at once while loading (listen first), then 200", () => {
      // Behaviour, not speed (that is `npm run bench`): the first answer is a 503 from before the model loaded.
      assert.equal(timings.firstHealthStatus, 503, "the first answer comes before the model has loaded");
      assert.ok(timings.readyMs > timings.firstHealthMs);
      assert.match(engine.stdout, /listening on http:\/\/127\.0\.0\.1:\d+/);
      assert.match(engine.stdout, /ready in \d+ms: .*build=prebuilt/);
    });

    it("lists the model under its alias on /v1/models", async () => {
      const models = await client.models.list();
      assert.deepEqual(
        models.data.map((m) => [m.id, m.object, m.owned_by]),
        [["tiny", "model", "llama"]],
      );
      assert.equal(typeof models.data[0]?.created, "number");
    });

    it("answers a chat completion with text, usage and finish_reason", async () => {
      const answer = await client.chat.completions.create({
        model: "anything",
        messages: [
          { role: "system", content: "You tell stories." },
          { role: "user", content: "Tell me about a dog." },
        ],
        max_tokens: 24,
        seed: 3,
      });
      assert.equal(answer.object, "chat.completion");
      assert.equal(answer.model, "tiny");
      const choice = answer.choices[0];
      assert.ok(choice);
      assert.equal(choice.message.role, "assistant");
      assert.ok((choice.message.content ?? "").trim().length > 0);
      assert.ok(choice.finish_reason === "length" || choice.finish_reason === "stop");
      assert.ok(answer.usage);
      assert.ok(answer.usage.prompt_tokens > 5, `prompt_tokens ${answer.usage.prompt_tokens}`);
      assert.ok(answer.usage.completion_tokens > 0 && answer.usage.completion_tokens <= 24);
      assert.equal(answer.usage.total_tokens, answer.usage.prompt_tokens + answer.usage.completion_tokens);
    });

    it("streams a chat completion through the openai client, with usage when include_usage is set", async () => {
      const request = {
        model: "tiny",
        messages: [{ role: "user" as const, content: "Hello" }],
        max_tokens: 30,
        seed: 5,
      };
      const stream = await client.chat.completions.create({
        ...request,
        stream: true,
        stream_options: { include_usage: true },
      });
      const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
      for await (const chunk of stream) chunks.push(chunk);

      assert.ok(chunks.length >= 4, `${chunks.length} chunks`);
      assert.deepEqual(new Set(chunks.map((c) => c.object)), new Set(["chat.completion.chunk"]));
      assert.equal(chunks[0]?.choices[0]?.delta.role, "assistant");
      const usageChunk = chunks.at(-1);
      assert.deepEqual(usageChunk?.choices, []);
      assert.ok(usageChunk.usage && usageChunk.usage.completion_tokens > 0);
      const finishChunk = chunks.at(-2);
      assert.equal(finishChunk?.choices[0]?.finish_reason, "length");
      const text = chunks.map((c) => c.choices[0]?.delta.content ?? "").join("");
      const contentChunks = chunks.filter((c) => (c.choices[0]?.delta.content ?? "") !== "");
      assert.ok(contentChunks.length > 1, "content arrives in several deltas");
      assert.equal(usageChunk.usage.completion_tokens, 30);

      // The same request without streaming gives the same text: streaming changes only delivery.
      const whole = await client.chat.completions.create(request);
      assert.equal(whole.choices[0]?.message.content, text);
    });

    it("sends no usage chunk when include_usage is not set", async () => {
      const result = await postSse(`${engine.url}/v1/chat/completions`, {
        messages: [{ role: "user", content: "Hi" }],
        max_tokens: 8,
        stream: true,
      });
      assert.equal(result.status, 200);
      assert.equal(result.events.at(-1), "[DONE]");
      const chunks = result.events.slice(0, -1).map(parseChunk);
      assert.ok(chunks.every((c) => c.usage === undefined && c.choices.length === 1));
      assert.equal(chunks.at(-1)?.choices[0]?.finish_reason, "length");
    });

    it("honours max_tokens (finish_reason length) and max_completion_tokens", async () => {
      const answer = await client.chat.completions.create({
        model: "tiny",
        messages: [{ role: "user", content: "Go on" }],
        max_tokens: 7,
        seed: 1,
      });
      assert.equal(answer.choices[0]?.finish_reason, "length");
      assert.equal(answer.usage?.completion_tokens, 7);
      const newer = await client.chat.completions.create({
        model: "tiny",
        messages: [{ role: "user", content: "Go on" }],
        max_completion_tokens: 4,
        seed: 1,
      });
      assert.equal(newer.choices[0]?.finish_reason, "length");
      assert.equal(newer.usage?.completion_tokens, 4);
    });

    it("stops before a stop sequence and leaves it out of the text", async () => {
      const request = {
        model: "tiny",
        messages: [{ role: "user" as const, content: "Tell a story" }],
        max_tokens: 60,
        seed: 11,
        temperature: 0.9,
      };
      const free = (await client.chat.completions.create(request)).choices[0]?.message.content ?? "";
      const words = free.split(" ").filter((w) => /^[A-Za-z]+$/.test(w));
      const word = words[Math.min(6, words.length - 1)];
      assert.ok(word, `no word to stop at in ${JSON.stringify(free)}`);
      const stop = ` ${word}`;
      const cut = free.indexOf(stop);
      assert.ok(cut > 0, `"${stop}" should occur after the start of ${JSON.stringify(free)}`);

      const stopped = await client.chat.completions.create({ ...request, stop });
      assert.equal(stopped.choices[0]?.message.content, free.slice(0, cut));
      assert.equal(stopped.choices[0].finish_reason, "stop");
      assert.ok((stopped.usage?.completion_tokens ?? 0) < 60);

      // Also as an array, streamed: the stop text never reaches the client.
      const stream = await client.chat.completions.create({
        ...request,
        stop: ["zzz-never", stop],
        stream: true,
      });
      let streamed = "";
      let finish: string | null | undefined;
      for await (const chunk of stream) {
        streamed += chunk.choices[0]?.delta.content ?? "";
        finish = chunk.choices[0]?.finish_reason ?? finish;
      }
      assert.equal(streamed, free.slice(0, cut));
      assert.equal(finish, "stop");
    });

    it("gives the same text for the same seed and another for another seed; without one, each request draws its own (as llama-server's -1)", async () => {
      const ask = async (seed?: number): Promise<string> =>
        (
          await client.chat.completions.create({
            model: "tiny",
            messages: [{ role: "user", content: "Once" }],
            max_tokens: 30,
            temperature: 1,
            ...(seed === undefined ? {} : { seed }),
          })
        ).choices[0]?.message.content ?? "";
      const first = await ask(1234);
      assert.equal(await ask(1234), first);
      assert.notEqual(await ask(4321), first);
      // Within the same second: node-llama-cpp's own default seed (the current second) gave these alike.
      const unseeded = await Promise.all([ask(), ask(), ask()]);
      assert.equal(new Set(unseeded).size, 3, JSON.stringify(unseeded));
    });

    it("serves /v1/completions, plain and streamed", async () => {
      const answer = await client.completions.create({
        model: "tiny",
        prompt: "Once upon a time",
        max_tokens: 12,
        seed: 2,
      });
      assert.equal(answer.object, "text_completion");
      assert.ok((answer.choices[0]?.text ?? "").length > 0);
      assert.equal(answer.choices[0]?.finish_reason, "length");
      assert.equal(answer.usage?.completion_tokens, 12);
      assert.ok(answer.usage.prompt_tokens > 1);

      const stream = await client.completions.create({
        model: "tiny",
        prompt: ["Once upon a time"],
        max_tokens: 12,
        seed: 2,
        stream: true,
        stream_options: { include_usage: true },
      });
      let text = "";
      let usage: OpenAI.Completions.CompletionUsage | undefined;
      for await (const chunk of stream) {
        assert.equal(chunk.object, "text_completion");
        text += chunk.choices[0]?.text ?? "";
        usage = chunk.usage ?? usage;
      }
      assert.equal(text, answer.choices[0].text);
      assert.equal(usage?.completion_tokens, 12);
    });

    it("aborts the generation when the client hangs up mid-stream", async () => {
      const hungUp = await postSse(
        `${engine.url}/v1/chat/completions`,
        { messages: [{ role: "user", content: "Never stop" }], max_tokens: 100_000, stream: true },
        (_data, count) => (count >= 5 ? "hang-up" : undefined),
      );
      assert.ok(hungUp.hungUp);
      // Were the first generation still running (100 000 tokens), this would wait behind it.
      const started = performance.now();
      const next = await client.chat.completions.create({
        model: "tiny",
        messages: [{ role: "user", content: "Next" }],
        max_tokens: 5,
      });
      const waited = performance.now() - started;
      assert.equal(next.choices[0]?.finish_reason, "length");
      assert.ok(waited < 3000, `the next request waited ${waited.toFixed(0)} ms`);
      await engine.waitForLog(/aborted: client disconnected after \d+ chunks/);
    });

    it("serves concurrent requests one at a time, in arrival order", async () => {
      const finished: string[] = [];
      let aFirstEvent: () => void = () => undefined;
      const aStarted = new Promise<void>((resolve) => (aFirstEvent = resolve));
      const a = postSse(
        `${engine.url}/v1/chat/completions`,
        { messages: [{ role: "user", content: "A" }], max_tokens: 300, stream: true },
        () => {
          aFirstEvent();
          return undefined;
        },
      ).then((r) => {
        finished.push("A");
        return r;
      });
      await aStarted;
      const b = client.chat.completions
        .create({ model: "tiny", messages: [{ role: "user", content: "B" }], max_tokens: 5 })
        .then((r) => {
          finished.push("B");
          return r;
        });
      await new Promise((resolve) => setTimeout(resolve, 50));
      const c = client.completions.create({ model: "tiny", prompt: "C", max_tokens: 5 }).then((r) => {
        finished.push("C");
        return r;
      });
      const [ra, rb, rc] = await Promise.all([a, b, c]);
      assert.equal(ra.status, 200);
      assert.equal(ra.events.at(-1), "[DONE]");
      assert.equal(rb.choices[0]?.finish_reason, "length");
      assert.equal(rc.choices[0]?.finish_reason, "length");
      assert.deepEqual(finished, ["A", "B", "C"]);
      await engine.waitForLog(/POST \/v1\/completions 200 queued=\d+ms/);
    });

    it("drops a queued request whose client hangs up before its turn", async () => {
      let release: () => void = () => undefined;
      const started = new Promise<void>((resolve) => (release = resolve));
      const running = postSse(
        `${engine.url}/v1/chat/completions`,
        { messages: [{ role: "user", content: "Long" }], max_tokens: 100_000, stream: true },
        (_d, count) => {
          if (count === 1) release();
          return count >= 300 ? "hang-up" : undefined;
        },
      );
      await started;
      const controller = new AbortController();
      const queued = client.chat.completions
        .create(
          { model: "tiny", messages: [{ role: "user", content: "Queued" }], max_tokens: 5 },
          { signal: controller.signal },
        )
        .catch((error: unknown) => error);
      await new Promise((resolve) => setTimeout(resolve, 100));
      controller.abort();
      assert.ok((await queued) instanceof Error);
      // Dropped while waiting: no token generated for it, and its line says so.
      await engine.waitForLog(
        /POST \/v1\/chat\/completions 499 .*aborted: client disconnected after 0 chunks/,
      );
      assert.ok((await running).hungUp);
    });

    it("rejects bad requests with OpenAI's error shape", async () => {
      const post = (route: string, body: string): Promise<{ status: number; body: string }> =>
        httpRequest(`${engine.url}${route}`, {
          method: "POST",
          body,
          headers: { "Content-Type": "application/json" },
        });

      const badJson = await post("/v1/chat/completions", '{"messages": [');
      assert.equal(badJson.status, 400);
      const badJsonError = JSON.parse(badJson.body) as { error: Record<string, unknown> };
      assert.deepEqual(Object.keys(badJsonError.error).sort(), ["code", "message", "param", "type"]);
      assert.equal(badJsonError.error["type"], "invalid_request_error");

      const wrongType = await post(
        "/v1/chat/completions",
        JSON.stringify({ messages: [{ role: "user", content: "x" }], max_tokens: "ten" }),
      );
      assert.equal(wrongType.status, 400);
      assert.deepEqual(
        (JSON.parse(wrongType.body) as { error: { param: string; type: string } }).error.param,
        "max_tokens",
      );

      const unknownField = await post("/v1/completions", JSON.stringify({ prompt: "x", logit_bias: {} }));
      assert.equal(unknownField.status, 400);
      const unknownError = (
        JSON.parse(unknownField.body) as { error: { param: string; message: string; type: string } }
      ).error;
      assert.equal(unknownError.param, "logit_bias");
      assert.equal(unknownError.type, "invalid_request_error");

      const badRole = await post(
        "/v1/chat/completions",
        JSON.stringify({ messages: [{ role: "wizard", content: "x" }] }),
      );
      assert.equal(badRole.status, 400);

      await assert.rejects(
        client.chat.completions.create({
          model: "tiny",
          messages: [{ role: "user", content: "x" }],
          temperature: 5,
        }),
        (error: unknown) => error instanceof OpenAI.BadRequestError,
      );

      const unknownRoute = await httpRequest(`${engine.url}/v1/audio/speech`, { method: "POST", body: "{}" });
      assert.equal(unknownRoute.status, 404);
      assert.equal(
        (JSON.parse(unknownRoute.body) as { error: { type: string } }).error.type,
        "invalid_request_error",
      );

      const tooLarge = await post(
        "/v1/completions",
        JSON.stringify({ prompt: "x".repeat(1024 * 1024 + 10) }),
      );
      assert.equal(tooLarge.status, 413);

      // A prompt longer than the context is refused as OpenAI does, never cut to fit.
      const long = "the dog ".repeat(3000);
      for (const [route, body, param] of [["/v1/chat/completions", { messages: [{ role: "user", content: long }] }, "messages"], ["/v1/completions", { prompt: long }, "prompt"]] as const) {
        const over = await post(route, JSON.stringify(body));
        assert.equal(over.status, 400, over.body);
        const error = (JSON.parse(over.body) as { error: { code: string; param: string; message: string } }).error;
        assert.deepEqual([error.code, error.param], ["context_length_exceeded", param]);
        assert.match(error.message, /^This model's maximum context length is 4096 tokens\. However, your (messages|prompt) resulted in \d+ tokens\./);
      }
    });

    it("logs one line per request with tokens and time, never the prompt", async () => {
      const secret = "purple-elephant-secret";
      await client.chat.completions.create({
        model: "tiny",
        messages: [{ role: "user", content: secret }],
        max_tokens: 3,
      });
      const line = await engine.waitForLog(/POST \/v1\/chat\/completions 200 .*completion_tokens=3 /);
      assert.match(line, /prompt_tokens=\d+ completion_tokens=3 finish=length .*\d+ms$/);
      assert.ok(!engine.stdout.includes(secret) && !engine.stderr.includes(secret));
    });
  });

  describe("serving the tiny model with --parallel 2", () => {
    let engine: LlamaEngineProcess;
    let client: OpenAI;

    /** A streaming chat whose content chunks are timed as they arrive; `hangUp()` ends it from the client side. */
    const timedStream = (
      content: string,
      maxTokens: number,
    ): { done: Promise<SseResult>; contentAt: number[]; started: Promise<void>; hangUp: () => void } => {
      const contentAt: number[] = [];
      const flags = { hangUp: false };
      let firstContent: () => void = () => undefined;
      const started = new Promise<void>((resolve) => (firstContent = resolve));
      const done = postSse(
        `${engine.url}/v1/chat/completions`,
        { messages: [{ role: "user", content }], max_tokens: maxTokens, stream: true },
        (data) => {
          if (data !== "[DONE]" && (parseChunk(data).choices[0]?.delta.content ?? "") !== "") {
            contentAt.push(performance.now());
            firstContent();
          }
          return flags.hangUp ? "hang-up" : undefined;
        },
      );
      return { done, contentAt, started, hangUp: () => (flags.hangUp = true) };
    };

    before(async function () {
      this.timeout(120_000);
      engine = await LlamaEngineProcess.start([
        "--model", tinyModel, "--threads", "1", "--alias", "tiny", "--parallel", "2", "--ctx-size", "512", "--embedding",
      ]);
      await engine.waitUntilReady();
      client = new OpenAI({ baseURL: `${engine.url}/v1`, apiKey: "x", maxRetries: 0 });
    });

    after(async () => {
      await engine.stop();
    });

    it("logs parallel=2, and /tokenize reports the context of one sequence", async () => {
      assert.match(engine.stdout, /ready in \d+ms: ctx=512 parallel=2 threads=1 /);
      const answer = await httpRequest(`${engine.url}/tokenize`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ messages: [{ role: "user", content: "Hi" }] }),
      });
      assert.equal(answer.status, 200, answer.body);
      assert.equal((JSON.parse(answer.body) as { context_size: number }).context_size, 512);
    });

    it("generates two streaming chats together, while a third waits for a free sequence and then completes", async () => {
      const a = timedStream("A story", 160);
      await a.started;
      const b = timedStream("B story", 160);
      await b.started;
      const c = client.chat.completions
        .create({ model: "tiny", messages: [{ role: "user", content: "C" }], max_tokens: 5 })
        .then((answer) => ({ answer, endedAt: performance.now() }));
      const [ra, rb, rc] = await Promise.all([a.done, b.done, c]);
      for (const r of [ra, rb]) {
        assert.equal(r.status, 200);
        assert.equal(r.events.at(-1), "[DONE]");
      }
      const [aFirst, aLast, bFirst, bLast] = [a.contentAt[0], a.contentAt.at(-1), b.contentAt[0], b.contentAt.at(-1)];
      assert.ok(aFirst !== undefined && aLast !== undefined && bFirst !== undefined && bLast !== undefined);
      // Together, not one after the other: each had streamed tokens before the other's last one,
      // and A kept streaming while B did.
      assert.ok(bFirst < aLast && aFirst < bLast, `A ${aFirst.toFixed(0)}–${aLast.toFixed(0)} ms, B ${bFirst.toFixed(0)}–${bLast.toFixed(0)} ms`);
      const aWhileB = a.contentAt.filter((t) => t > bFirst && t < bLast).length;
      assert.ok(aWhileB >= 10, `A streamed ${aWhileB} chunks while B streamed`);
      // The third got no sequence until one of them was done.
      assert.equal(rc.answer.choices[0]?.finish_reason, "length");
      assert.ok(rc.endedAt > Math.min(ra.endedAt, rb.endedAt), "the third request ended before a sequence was free");
      await engine.waitForLog(/POST \/v1\/chat\/completions 200 queued=\d+ms prompt_tokens=\d+ completion_tokens=5 /);
    });

    it("counts each request's own usage when they run together", async () => {
      const requests = [
        { messages: [{ role: "user" as const, content: "Tell me about a dog." }], max_tokens: 6, seed: 1 },
        {
          messages: [
            { role: "system" as const, content: "You tell long stories about the sun and the sky." },
            { role: "user" as const, content: "A story, please." },
          ],
          max_tokens: 17,
          seed: 2,
        },
      ];
      const promptTokens = await Promise.all(
        requests.map(async ({ messages }) => {
          const answer = await httpRequest(`${engine.url}/tokenize`, {
            method: "POST",
            headers: { "Content-Type": "application/json" },
            body: JSON.stringify({ messages }),
          });
          return (JSON.parse(answer.body) as { prompt_tokens: number }).prompt_tokens;
        }),
      );
      assert.notEqual(promptTokens[0], promptTokens[1]);
      for (let round = 0; round < 2; round++) {
        const answers = await Promise.all(requests.map((request) => client.chat.completions.create({ model: "tiny", ...request })));
        answers.forEach((answer, i) => {
          assert.deepEqual(
            [answer.usage?.prompt_tokens, answer.usage?.completion_tokens, answer.choices[0]?.finish_reason],
            [promptTokens[i], requests[i]?.max_tokens, "length"],
            `request ${i}, round ${round}`,
          );
        });
      }
    });

    it("answers concurrent embeddings (one at a time, on their own context) while a chat streams", async () => {
      const chat = timedStream("Keep going", 100_000);
      await chat.started;
      const inputs = ["the dog", "a cat in the park", "the dog"];
      const answers = await Promise.all(inputs.map((input) => client.embeddings.create({ model: "tiny", input })));
      const vectors = answers.map((answer) => answer.data[0]?.embedding ?? []);
      assert.ok(vectors.every((vector) => vector.length > 0));
      assert.deepEqual(vectors[2], vectors[0], "the same input gives the same vector");
      assert.notDeepEqual(vectors[1], vectors[0]);
      const streamedMeanwhile = chat.contentAt.length;
      chat.hangUp();
      assert.ok((await chat.done).hungUp && streamedMeanwhile > 0);
    });

    it("frees the sequence of a client that hangs up mid-stream", async () => {
      // B never ends on its own (100 000 tokens); A hangs up after 5 events. Were A's sequence
      // still held, the next request would wait for B for ever.
      const b = timedStream("Long", 100_000);
      await b.started;
      const a = postSse(
        `${engine.url}/v1/chat/completions`,
        { messages: [{ role: "user", content: "Short-lived" }], max_tokens: 100_000, stream: true },
        (_data, count) => (count >= 5 ? "hang-up" : undefined),
      );
      const within5s = async <T,>(promise: Promise<T>): Promise<T | undefined> => {
        let timer: NodeJS.Timeout | undefined;
        try {
          return await Promise.race([promise, new Promise<undefined>((resolve) => (timer = setTimeout(resolve, 5000, undefined)))]);
        } finally {
          clearTimeout(timer);
        }
      };
      assert.ok((await within5s(a))?.hungUp, "A got no second sequence to stream from");
      const started = performance.now();
      const next = await within5s(
        client.chat.completions.create({ model: "tiny", messages: [{ role: "user", content: "Next" }], max_tokens: 5 }),
      );
      const waited = performance.now() - started;
      assert.ok(next !== undefined, "the next request got no sequence within 5 s: the hung-up request still holds one");
      assert.equal(next.choices[0]?.finish_reason, "length");
      assert.equal(next.usage?.completion_tokens, 5);
      const bChunks = b.contentAt.length;
      b.hangUp();
      const rb = await b.done;
      assert.ok(rb.hungUp && bChunks > 0, "B was still streaming throughout");
      assert.ok(waited < 3000, `the next request waited ${waited.toFixed(0)} ms`);
      await engine.waitForLog(/aborted: client disconnected after \d+ chunks/);
    });
  });

  describe("scoring a text (POST /perplexity) with a model made from a text", () => {
    let engine: LlamaEngineProcess;
    const perplexity = async (body: object): Promise<{ status: number; json: Record<string, unknown> }> => {
      const answer = await httpRequest(`${engine.url}/perplexity`, { method: "POST", body: JSON.stringify(body), headers: { "Content-Type": "application/json" } });
      return { status: answer.status, json: JSON.parse(answer.body) as Record<string, unknown> };
    };

    before(async function () {
      this.timeout(120_000);
      const model = (await writeTinyGguf(path.join(workDir, "bigram.gguf"), { bigramText: FABLE })).path;
      engine = await LlamaEngineProcess.start(["--model", model, "--threads", "1", "--alias", "bigram", "--ctx-size", "1024"]);
      await engine.waitUntilReady();
    });

    after(async () => {
      await engine.stop();
    });

    it("is the same every time for a text, and lower for the text the model was made from than for its words shuffled", async () => {
      const first = await perplexity({ text: FABLE, sequence_length: 128 });
      assert.equal(first.status, 200, JSON.stringify(first.json));
      const again = await perplexity({ text: FABLE, sequence_length: 128 });
      assert.deepEqual([again.json["perplexity"], again.json["standard_error"], again.json["scored_tokens"]], [first.json["perplexity"], first.json["standard_error"], first.json["scored_tokens"]]);
      // mlx_lm.perplexity's rows: the tokens in rows of 128, each row's first token given, the rest scored.
      const rows = first.json["rows"] as number;
      assert.equal(first.json["sequence_length"], 128);
      assert.equal(first.json["scored_tokens"], rows * 127);
      assert.ok((first.json["tokens"] as number) >= rows * 128 && (first.json["tokens"] as number) < (rows + 1) * 128);
      const random = await perplexity({ text: shuffledFable(), sequence_length: 128 });
      const [known, unknown] = [first.json["perplexity"] as number, random.json["perplexity"] as number];
      assert.ok(known < 10 && unknown > 4 * known, `perplexity ${known.toFixed(2)} on the model's own text, ${unknown.toFixed(2)} on its words shuffled`);
      assert.ok((first.json["standard_error"] as number) > 0);
    });

    it("refuses a request without text, or with rows of under 2 tokens, with OpenAI's error shape", async () => {
      const empty = await perplexity({ text: "" });
      assert.equal(empty.status, 400);
      assert.equal((empty.json["error"] as { param?: string }).param, "text");
      const bad = await perplexity({ text: "once", sequence_length: 1 });
      assert.equal(bad.status, 400);
      assert.equal((bad.json["error"] as { param?: string }).param, "sequence_length");
    });
  });

  describe("starting and stopping", () => {
    it("exits non-zero with a clear message when the model file is missing", async () => {
      const missing = path.join(workDir, "no-such-model.gguf");
      const engine = await LlamaEngineProcess.start(["--model", missing]);
      const { code } = await engine.exited;
      assert.notEqual(code, 0);
      assert.match(
        engine.stderr,
        new RegExp(`Model file not found: ${missing.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`),
      );
    });

    it("exits non-zero with a clear message when node-llama-cpp is not installed", async () => {
      const engine = await LlamaEngineProcess.start([
        "--model",
        tinyModel,
        "--llama-module-dir",
        path.join(workDir, "nowhere"),
      ]);
      const { code } = await engine.exited;
      assert.notEqual(code, 0);
      assert.match(engine.stderr, /node-llama-cpp is not installed in .*nowhere/);
    });

    it("reports a model that fails to load on /health with 500, then exits non-zero", async () => {
      const broken = path.join(workDir, "broken.gguf");
      await writeFile(broken, Buffer.from("GGUF but not really a model file"));
      const engine = await LlamaEngineProcess.start(["--model", broken]);
      let health = { status: 0, body: "" };
      for (let i = 0; i < 1000 && health.status !== 500; i++) {
        health = await httpRequest(`${engine.url}/health`).catch(() => ({ status: 0, body: "" }));
        if (health.status !== 500) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assert.equal(health.status, 500);
      const body = JSON.parse(health.body) as { status: string; message: string };
      assert.equal(body.status, "error");
      assert.ok(body.message.length > 0);
      const { code } = await engine.exited;
      assert.equal(code, 1);
      assert.match(engine.stderr, /Failed to load model/);
    });

    it("rejects unknown and malformed flags", async () => {
      const engine = await LlamaEngineProcess.start(["--model", tinyModel, "--threads", "many"]);
      assert.equal((await engine.exited).code, 2);
      assert.match(engine.stderr, /--threads must be an integer/);
    });

    it("exits with a clear message for a --parallel outside 1..64 or not a number", async () => {
      const engines = await Promise.all(
        ["0", "65", "x"].map((value) => LlamaEngineProcess.start(["--model", tinyModel, "--parallel", value])),
      );
      for (const [i, value] of ["0", "65", "x"].entries()) {
        const engine = engines[i];
        assert.ok(engine);
        assert.equal((await engine.exited).code, 2, engine.stderr);
        assert.match(engine.stderr, new RegExp(`--parallel must be an integer from 1 to 64, got "${value}"`));
        assert.match(engine.stderr, /--parallel N +requests generated at once/);
      }
    });

    it(`writes readable English on ${existsSync(storiesModel) ? "stories260K.gguf" : "the tiny model (stories260K.gguf is absent)"}, chatting without a template, and exits 0 within a second of SIGTERM mid-stream`, async function () {
      this.timeout(120_000);
      const model = existsSync(storiesModel) ? storiesModel : tinyModel;
      const engine = await LlamaEngineProcess.start(["--model", model, "--threads", "1", "--seed", "1"]);
      try {
        const timings = await engine.waitUntilReady();
        const client = new OpenAI({ baseURL: `${engine.url}/v1`, apiKey: "x", maxRetries: 0 });
        const story = await client.completions.create({
          model: "m",
          prompt: "Once upon a time",
          max_tokens: 80,
          temperature: 0.7,
          seed: 1,
        });
        const text = story.choices[0]?.text ?? "";
        assert.match(text, /\b(the|The|Once|was|she|he|they|and)\b/, JSON.stringify(text));

        const chat = await client.chat.completions.create({
          model: "m",
          messages: [{ role: "user", content: "Tell me a story about a cat." }],
          max_tokens: 40,
          seed: 1,
        });
        assert.ok((chat.choices[0]?.message.content ?? "").trim().length > 0);
        assert.ok((chat.usage?.completion_tokens ?? 0) > 0);
        const format = /chat_format=(\S+)/.exec(engine.stdout)?.[1];
        console.log(
          `      ${path.basename(model)}: ready ${Math.round(timings.readyMs)} ms, chat format ${format ?? "?"}, sample ${JSON.stringify(text.slice(0, 80))}`,
        );

        let signalled = 0;
        // The engine drops the connection as it exits: the stream's rejection is expected.
        const stream = postSse(
          `${engine.url}/v1/completions`,
          { prompt: "Once upon a time", max_tokens: 100_000, stream: true },
          (_d, count) => {
            if (count === 3) {
              signalled = performance.now();
              engine.child.kill("SIGTERM");
            }
            return undefined;
          },
        ).catch(() => undefined);
        const { code } = await engine.exited;
        const exitMs = performance.now() - signalled;
        assert.ok(signalled > 0);
        assert.equal(code, 0);
        assert.ok(exitMs < 1000, `exited ${exitMs.toFixed(0)} ms after SIGTERM`);
        await stream;
        assert.match(engine.stdout, /SIGTERM: shutting down/);
      } finally {
        await engine.stop();
      }
    });
  });
});

describe("llama engine parts", () => {
  describe("GenerationQueue", () => {
    it("runs one task at a time, in arrival order", async () => {
      const queue = new GenerationQueue();
      const events: string[] = [];
      let active = 0;
      const task = (name: string, ms: number) => async (): Promise<string> => {
        active++;
        assert.equal(active, 1, "two tasks ran at once");
        events.push(`start ${name}`);
        await new Promise((resolve) => setTimeout(resolve, ms));
        events.push(`end ${name}`);
        active--;
        return name;
      };
      const signal = new AbortController().signal;
      const results = await Promise.all([
        queue.run(signal, task("a", 30)),
        queue.run(signal, task("b", 1)),
        queue.run(signal, task("c", 10)),
      ]);
      assert.deepEqual(results, ["a", "b", "c"]);
      assert.deepEqual(events, ["start a", "end a", "start b", "end b", "start c", "end c"]);
    });

    it("runs up to its slots at once; the rest start in arrival order as slots free", async () => {
      const queue = new GenerationQueue(2);
      const events: string[] = [];
      let active = 0;
      let most = 0;
      const task = (name: string, ms: number) => async (): Promise<string> => {
        most = Math.max(most, ++active);
        events.push(`start ${name}`);
        await new Promise((resolve) => setTimeout(resolve, ms));
        events.push(`end ${name}`);
        active--;
        return name;
      };
      const signal = new AbortController().signal;
      const runs = [queue.run(signal, task("a", 40)), queue.run(signal, task("b", 10)), queue.run(signal, task("c", 5)), queue.run(signal, task("d", 5))];
      assert.deepEqual([queue.runningCount, queue.waitingCount], [2, 2]);
      assert.deepEqual(await Promise.all(runs), ["a", "b", "c", "d"]);
      assert.equal(most, 2);
      // c takes b's slot, d takes c's, while a still runs.
      assert.deepEqual(events, ["start a", "start b", "end b", "start c", "end c", "start d", "end d", "end a"]);
      assert.deepEqual([queue.runningCount, queue.waitingCount], [0, 0]);
      assert.throws(() => new GenerationQueue(0), RangeError);
    });

    it("drops a waiting task whose signal aborts, and rejects waiting tasks on close", async () => {
      const queue = new GenerationQueue();
      let finishFirst: () => void = () => undefined;
      const first = queue.run(
        new AbortController().signal,
        () => new Promise<void>((resolve) => (finishFirst = resolve)),
      );
      const gone = new AbortController();
      let droppedRan = false;
      const dropped = queue.run(gone.signal, () => {
        droppedRan = true;
        return Promise.resolve();
      });
      const later = queue.run(new AbortController().signal, () => Promise.resolve("later"));
      assert.equal(queue.waitingCount, 2);
      gone.abort(new Error("client went away"));
      await assert.rejects(dropped, /client went away/);
      assert.equal(queue.waitingCount, 1);
      finishFirst();
      await first;
      assert.equal(await later, "later");
      assert.equal(droppedRan, false);

      let finishBlocker: () => void = () => undefined;
      const blocker = queue.run(
        new AbortController().signal,
        () => new Promise<void>((resolve) => (finishBlocker = resolve)),
      );
      const waiting = queue.run(new AbortController().signal, () => Promise.resolve());
      queue.close(new Error("shutting down"));
      await assert.rejects(waiting, /shutting down/);
      await assert.rejects(
        queue.run(new AbortController().signal, () => Promise.resolve()),
        /shutting down/,
      );
      finishBlocker();
      await blocker;
    });
  });

  describe("command line", () => {
    it("uses 1 thread on machines with 2 cores or fewer, else cores - 2", () => {
      assert.deepEqual(
        [1, 2, 3, 4, 8, 16].map((cores) => defaultThreads(cores)),
        [1, 1, 1, 2, 6, 14],
      );
    });

    it("parses the documented flags and the module-dir environment variable", () => {
      const parsed = parseEngineArgs(
        [
          "--model",
          "m.gguf",
          "--host",
          "127.0.0.1",
          "--port",
          "9000",
          "--threads",
          "3",
          "--ctx-size",
          "2048",
          "--parallel",
          "4",
          "--alias",
          "tiny",
          "--seed",
          "7",
          "--embedding",
        ],
        { MLX_LLAMA_MODULE_DIR: "/opt/nlc" },
      );
      assert.equal(parsed.kind, "run");
      assert.deepEqual(parsed.args, {
        model: path.resolve("m.gguf"),
        host: "127.0.0.1",
        port: 9000,
        threads: 3,
        ctxSize: 2048,
        parallel: 4,
        alias: "tiny",
        seed: 7,
        embedding: true,
        llamaModuleDir: "/opt/nlc",
      });
      const flagWins = parseEngineArgs(["--model", "m.gguf", "--llama-module-dir", "/x"], {
        MLX_LLAMA_MODULE_DIR: "/opt/nlc",
      });
      assert.equal(flagWins.kind === "run" ? flagWins.args.llamaModuleDir : undefined, "/x");
    });

    it("parses the command line the manager builds for a profile with parallel and a context", () => {
      const built = ENGINES.llama.buildCommand(
        { modelPath: "/m.gguf", port: 9001, alias: "p", options: { parallel: 3, contextLength: 1024, threads: 2 }, nodePath: "node", llamaScript: "/x/llama-engine.js" },
        "",
      );
      const parsed = parseEngineArgs(built.args.slice(1), {});
      assert.equal(parsed.kind, "run");
      assert.deepEqual([parsed.args.parallel, parsed.args.ctxSize, parsed.args.threads, parsed.args.port], [3, 1024, 2, 9001]);
    });

    it("refuses a missing model, unknown flags and bad numbers", () => {
      assert.deepEqual(parseEngineArgs([], {}), { kind: "error", message: "--model PATH is required" });
      assert.equal(parseEngineArgs(["--model", "m", "--gpu-layers", "9"], {}).kind, "error");
      assert.equal(parseEngineArgs(["--model", "m", "--port", "70000"], {}).kind, "error");
      assert.equal(parseEngineArgs(["--model", "m", "--ctx-size", "1.5"], {}).kind, "error");
      const parallel = (value: string): ReturnType<typeof parseEngineArgs> => parseEngineArgs(["--model", "m", "--parallel", value], {});
      assert.deepEqual(
        ["0", "65", "x", "2.5"].map((value) => parallel(value)),
        ["0", "65", "x", "2.5"].map((value) => ({ kind: "error", message: `--parallel must be an integer from 1 to 64, got "${value}"` })),
      );
      assert.deepEqual([parallel("1"), parallel("64")].map((p) => (p.kind === "run" ? p.args.parallel : p.kind)), [1, 64]);
      const defaults = parseEngineArgs(["--model", "m"], {});
      assert.equal(defaults.kind === "run" ? defaults.args.parallel : undefined, 1, "one sequence unless asked");
      assert.equal(parseEngineArgs(["--help"], {}).kind, "help");
    });
  });

  describe("writeTinyGguf", () => {
    it("writes the same ~0.5 MB GGUF v3 file for the same seed, and another for another seed", async () => {
      const dir = await mkdtemp(path.join(tmpdir(), "tiny-gguf-"));
      try {
        const a = await writeTinyGguf(path.join(dir, "a.gguf"));
        const b = await writeTinyGguf(path.join(dir, "b.gguf"));
        const c = await writeTinyGguf(path.join(dir, "c.gguf"), { seed: 2 });
        assert.equal(a.sha256, b.sha256);
        assert.notEqual(a.sha256, c.sha256);
        assert.ok(a.size > 400_000 && a.size < 700_000, `${a.size} bytes`);
        const bytes = tinyGgufBytes();
        assert.equal(bytes.subarray(0, 4).toString("latin1"), "GGUF");
        assert.equal(bytes.readUInt32LE(4), 3);
        assert.equal(bytes.length % 32, 0);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });
});
