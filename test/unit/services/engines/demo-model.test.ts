// The model `npm start` makes for the demo writes readable English: of 20 replies through the
// real `llama` engine (the chat's default temperature 0.7), most sentences are made of word pairs
// that occur in the fables it was made from. The tests' random tiny model, the demo's model
// before, fails the same check: it is what makes the check mean something.
/* eslint-disable @typescript-eslint/no-deprecated -- OpenAI's types deprecate max_tokens and seed; the dashboard's chat still sends them */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import OpenAI from "openai";
import { demoModelBytes } from "../../../helpers/demoModel";
import { DEMO_TEXT, sentences, sentenceWords, wordPairs } from "../../../helpers/demoText";
import { ensureLlamaEngineBuilt, ensureLlamaModuleInstalled, LlamaEngineProcess } from "../../../helpers/llamaEngine";
import { tinyGgufBytes } from "../../../helpers/tinyGguf";

const PROMPTS = ["Tell me a story.", "Once upon a time", "What did the fox do?", "Who lives by the river?", "Tell me about the owl.", "Hello!", "What happened in the winter?", "A story about a bear, please.", "Where is the rabbit?", "Sing me a song."];

/** Sentences of the replies, and how many have every word pair in the text. */
function readability(replies: string[]): { sentences: number; readable: number } {
  const known = wordPairs(DEMO_TEXT);
  let count = 0;
  let readable = 0;
  for (const reply of replies) {
    for (const sentence of sentences(reply)) {
      const words = sentenceWords(sentence);
      if (words.filter((w) => w !== ",").length < 2) continue;
      count++;
      if (words.slice(1).every((w, i) => known.has(`${words[i]} ${w}`))) readable++;
    }
  }
  return { sentences: count, readable };
}

async function twentyReplies(model: string): Promise<string[]> {
  const engine = await LlamaEngineProcess.start(["--model", model, "--threads", "1", "--alias", "demo", "--ctx-size", "1024"]);
  try {
    await engine.waitUntilReady();
    const client = new OpenAI({ baseURL: `${engine.url}/v1`, apiKey: "x", maxRetries: 0 });
    const replies: string[] = [];
    for (let i = 0; i < 20; i++) {
      const answer = await client.chat.completions.create({ model: "demo", messages: [{ role: "user", content: PROMPTS[i % PROMPTS.length] ?? "" }], temperature: 0.7, max_tokens: 60, seed: i + 1 });
      replies.push(answer.choices[0]?.message.content ?? "");
    }
    return replies;
  } finally {
    await engine.stop();
  }
}

describe("the demo model (npm start)", function () {
  this.timeout(120_000);
  let workDir: string;

  before(async function () {
    this.timeout(180_000);
    await ensureLlamaModuleInstalled();
    await ensureLlamaEngineBuilt();
    workDir = await mkdtemp(path.join(tmpdir(), "demo-model-"));
  });
  after(async () => {
    await rm(workDir, { recursive: true, force: true });
  });

  it("writes readable English: of 20 replies, most sentences are word pairs of the fables it was made from; the random tiny model's are not", async () => {
    const demo = path.join(workDir, "demo.gguf");
    const random = path.join(workDir, "random.gguf");
    await writeFile(demo, demoModelBytes());
    await writeFile(random, tinyGgufBytes(1));
    const replies = await twentyReplies(demo);
    assert.ok(replies.every((r) => r.trim().length > 0), "every reply has text");
    const ours = readability(replies);
    const before = readability(await twentyReplies(random));
    const share = ours.readable / ours.sentences;
    const unreadable = replies.flatMap((r) => sentences(r)).filter((x) => { const w = sentenceWords(x); return w.length >= 2 && !w.slice(1).every((v, i) => wordPairs(DEMO_TEXT).has(`${w[i]} ${v}`)); });
    assert.ok(ours.sentences >= 20 && share >= 0.8, `${ours.readable} of ${ours.sentences} sentences made of the text's word pairs; not: ${JSON.stringify(unreadable.slice(0, 6))}`);
    assert.ok(before.readable / Math.max(1, before.sentences) < 0.2, `the random model: ${before.readable} of ${before.sentences}`);
  });
});
