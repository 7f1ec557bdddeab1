// The dataset check before a fine-tuning job: the formats mlx_lm.lora reads (mlx-lm d78bf58,
// mlx_lm/tuner/datasets.py), each problem with its line, and the train/valid split.
import assert from "node:assert/strict";
import { splitTrainValid, validateJsonl } from "../../../../src/services/jobs/datasets";

const chat = (user: string, assistant: string): string => JSON.stringify({ messages: [{ role: "user", content: user }, { role: "assistant", content: assistant }] });

describe("fine-tuning datasets", () => {
  it("takes the format from the first line, as mlx_lm.lora does: completions, chat, tools, text", () => {
    assert.equal(validateJsonl(`${JSON.stringify({ prompt: "2+2", completion: "4" })}\n`).format, "completions");
    assert.equal(validateJsonl(`${chat("hi", "hello")}\n`).format, "chat");
    assert.equal(validateJsonl(`${JSON.stringify({ messages: [{ role: "user", content: "weather?" }, { role: "assistant", tool_calls: [{ function: { name: "w", arguments: "{}" } }] }], tools: [{ type: "function", function: { name: "w" } }] })}\n`).format, "tools");
    const text = validateJsonl(`${JSON.stringify({ text: "Once upon a time there was a fox." })}\n${JSON.stringify({ text: "The end." })}\n`);
    assert.deepEqual([text.format, text.examples, text.issues], ["text", 2, []]);
    assert.ok(text.tokens > 0 && text.longest?.line === 1);
  });

  it("says what is wrong on which line: bad JSON, an empty line, a line of another format, a bad message", () => {
    const content = [chat("a", "b"), "{not json", "", JSON.stringify({ text: "x" }), JSON.stringify({ messages: [{ role: "robot", content: "x" }] }), JSON.stringify({ messages: [{ role: "user", content: "only a question" }] }), chat("c", "d")].join("\n");
    const report = validateJsonl(`${content}\n`);
    assert.equal(report.format, "chat");
    assert.equal(report.examples, 2);
    assert.deepEqual(report.issues.map((i) => i.line), [2, 3, 4, 5, 6]);
    assert.match(report.issues[0]?.message ?? "", /^not JSON/);
    assert.match(report.issues[1]?.message ?? "", /empty line/);
    assert.match(report.issues[2]?.message ?? "", /no "messages" \(the first line made this a chat dataset\)/);
    assert.match(report.issues[3]?.message ?? "", /role "robot": use system, user, assistant or tool/);
    assert.match(report.issues[4]?.message ?? "", /no assistant message/);
  });

  it("refuses a first line of no known format, an empty file, and prompt masking on text", () => {
    assert.match(validateJsonl(`${JSON.stringify({ question: "q", answer: "a" })}\n`).issues[0]?.message ?? "", /first line decides the format/);
    assert.match(validateJsonl("").issues[0]?.message ?? "", /empty/);
    assert.match(validateJsonl(`${JSON.stringify({ text: "x" })}\n`, { maskPrompt: true }).issues[0]?.message ?? "", /mask_prompt does not work with a text dataset/);
    assert.equal(validateJsonl(`${JSON.stringify({ q: "2+2", a: "4" })}\n`, { keys: { prompt: "q", completion: "a" } }).format, "completions", "mlx_lm.lora's prompt_feature/completion_feature");
  });

  it("splits train and valid the same way every time for a seed, at least one line each", () => {
    const lines = Array.from({ length: 25 }, (_, i) => chat(`q${i}`, `a${i}`)).join("\n");
    const a = splitTrainValid(lines, { seed: 7 });
    const b = splitTrainValid(lines, { seed: 7 });
    assert.deepEqual(a, b);
    assert.equal(a.valid.trim().split("\n").length, 3);
    assert.equal(a.train.trim().split("\n").length, 22);
    assert.deepEqual(splitTrainValid(chat("x", "y")), { train: `${chat("x", "y")}\n`, valid: "" });
    assert.equal(splitTrainValid(lines, { seed: 7, minValid: 8 }).valid.trim().split("\n").length, 8, "at least a batch for mlx_lm's evaluation");
  });
});
