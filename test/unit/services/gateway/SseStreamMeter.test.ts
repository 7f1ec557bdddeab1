// The gateway's stream meter on byte streams split every way a socket may split them.
import assert from "node:assert/strict";
import { SseStreamMeter } from "../../../../src/services/gateway/SseStreamMeter";

const head = { id: "chatcmpl-1", object: "chat.completion.chunk", created: 1, model: "m" };
const event = (payload: object, eol = "\n"): string => `data: ${JSON.stringify(payload)}${eol}${eol}`;
const content = (text: string): object => ({ ...head, choices: [{ index: 0, delta: { content: text }, finish_reason: null }] });
const roleChunk = { ...head, choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }] };
const finishChunk = { ...head, choices: [{ index: 0, delta: {}, finish_reason: "stop" }] };
const usage = { prompt_tokens: 11, completion_tokens: 4, total_tokens: 15 };
const usageOnly = { ...head, choices: [], usage };

/** A stream in mlx_lm / llama engine shape: role, 4 content chunks, finish, usage-only, [DONE]. */
const separateEvents = [event(roleChunk), ...["A", "b", "c", "d"].map((t) => event(content(t))), event(finishChunk), event(usageOnly), "data: [DONE]\n\n"];
const separate = separateEvents.join("");
const withoutUsage = separateEvents.filter((e) => !e.includes('"choices":[]')).join("");

interface Run {
  out: string;
  meter: SseStreamMeter;
}

/** Feeds `pieces` one by one; piece i "arrives" at time i. */
function run(pieces: readonly Buffer[], drop: boolean): Run {
  const meter = new SseStreamMeter(drop);
  const out: Buffer[] = [];
  pieces.forEach((piece, i) => {
    if (drop) meter.push(piece, i, (b) => out.push(Buffer.from(b)));
    else {
      out.push(piece);
      meter.push(piece, i);
    }
  });
  meter.end(pieces.length, (b) => out.push(Buffer.from(b)));
  return { out: Buffer.concat(out).toString("utf8"), meter };
}

function splitAt(text: string, ...cuts: number[]): Buffer[] {
  const bytes = Buffer.from(text);
  const points = [0, ...cuts, bytes.length];
  return points.slice(1).map((end, i) => bytes.subarray(points[i], end));
}

/** Each event as its own socket read (the paced case). */
function perEvent(events: readonly string[]): Buffer[] {
  return events.map((e) => Buffer.from(e));
}

describe("SseStreamMeter", () => {
  it("times the first and last generated text (not the role or finish chunk) and reads the separate usage chunk", () => {
    const { meter, out } = run(perEvent(separateEvents), false);
    assert.equal(out, separate);
    assert.equal(meter.firstTokenAt, 1, "the role chunk (empty content) is not a token");
    assert.equal(meter.lastTokenAt, 4, "the finish chunk is not a token");
    assert.equal(meter.tokenEvents, 4);
    assert.deepEqual(meter.usage, { promptTokens: 11, completionTokens: 4 });
    assert.equal(meter.done, true);
    assert.equal(meter.error, undefined);
  });

  it("drops exactly the usage-only event when asked to, and nothing else", () => {
    const { meter, out } = run(perEvent(separateEvents), true);
    assert.equal(out, withoutUsage);
    assert.deepEqual(meter.usage, { promptTokens: 11, completionTokens: 4 }, "the meter still read it");
  });

  it("gives the same bytes and the same figures however the stream is split (every 2-way split, and byte by byte)", () => {
    const bytes = Buffer.byteLength(separate);
    for (const drop of [false, true]) {
      for (let cut = 1; cut < bytes; cut++) {
        const { meter, out } = run(splitAt(separate, cut), drop);
        assert.equal(out, drop ? withoutUsage : separate, `cut at ${cut}, drop ${drop}`);
        assert.equal(meter.tokenEvents, 4, `cut at ${cut}`);
        assert.deepEqual(meter.usage, { promptTokens: 11, completionTokens: 4 }, `cut at ${cut}`);
        assert.equal(meter.done, true);
      }
      const single = [...Buffer.from(separate)].map((b) => Buffer.from([b]));
      const { meter, out } = run(single, drop);
      assert.equal(out, drop ? withoutUsage : separate);
      assert.equal(meter.tokenEvents, 4);
      assert.deepEqual(meter.usage, { promptTokens: 11, completionTokens: 4 });
    }
  });

  it("reads usage on the last chunk (mlx-openai-server) and never drops a chunk that has choices", () => {
    const final = { ...head, choices: [{ index: 0, delta: { content: "" }, finish_reason: "stop" }], usage };
    const events = [event(content("x")), event(content("y")), event(final), "data: [DONE]\n\n"];
    const { meter, out } = run(perEvent(events), true);
    assert.equal(out, events.join(""));
    assert.deepEqual(meter.usage, { promptTokens: 11, completionTokens: 4 });
    assert.equal(meter.lastTokenAt, 1);
  });

  it("handles CRLF line endings and Python's spacing (json.dumps)", () => {
    const py = (o: object): string => `data: ${JSON.stringify(o).replaceAll('":', '": ').replaceAll(',"', ', "')}\r\n\r\n`;
    const events = [py(roleChunk), py(content("a")), py(content("b")), py(finishChunk), py(usageOnly), "data: [DONE]\r\n\r\n"];
    assert.match(events[1]!, /"content": "a"/);
    const { meter, out } = run(perEvent(events), true);
    assert.equal(out, events.filter((e) => !e.includes('"choices": []')).join(""));
    assert.equal(meter.tokenEvents, 2);
    assert.deepEqual(meter.usage, { promptTokens: 11, completionTokens: 4 });
  });

  it("is not fooled by text that looks like a key, and skips `usage: null` on every chunk", () => {
    const tricky = content('he said "usage": {"x": 1} and "content": "" ');
    const nullUsage = (text: string): object => ({ ...content(text), usage: null });
    const events = [event(content("first")), event(tricky), event(nullUsage("z")), event(nullUsage("")), event(usageOnly), "data: [DONE]\n\n"];
    const { meter, out } = run(perEvent(events), true);
    assert.equal(meter.tokenEvents, 3, "first, tricky and z carry text; the empty last one is taken back");
    assert.equal(meter.lastTokenAt, 2);
    assert.deepEqual(meter.usage, { promptTokens: 11, completionTokens: 4 });
    assert.equal(out, events.filter((e) => !e.includes('"choices":[]')).join(""));
  });

  it("counts reasoning and tool-call deltas as generated text, and legacy completions' text", () => {
    const reasoning = { ...head, choices: [{ index: 0, delta: { reasoning_content: "hmm" }, finish_reason: null }] };
    const tool = { ...head, choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: '{"a":' } }] }, finish_reason: null }] };
    const text = { id: "cmpl", object: "text_completion", choices: [{ index: 0, text: "once", finish_reason: null }] };
    const { meter } = run(perEvent([event(reasoning), event(tool), event(text), event(reasoning)]), false);
    assert.equal(meter.firstTokenAt, 0);
    assert.equal(meter.tokenEvents, 4);
    assert.equal(meter.lastTokenAt, 3);
  });

  it("notes an error event the upstream sends mid-stream", () => {
    const error = { error: { message: "Generation failed: out of memory", type: "server_error", param: null, code: "generation_failed" } };
    const { meter } = run(perEvent([event(content("a")), event(content("b")), event(error), "data: [DONE]\n\n"]), true);
    assert.equal(meter.error, "Generation failed: out of memory");
  });

  it("relays an unfinished last line, and comments and other fields untouched", () => {
    const text = ": keep-alive\n\nevent: message\nid: 3\n" + event(content("a")) + 'data: {"partial": tr';
    const { out, meter } = run(splitAt(text, 5, 30), true);
    assert.equal(out, text);
    assert.equal(meter.tokenEvents, 1);
  });

  it("relays a line over 1 MiB without holding it back", () => {
    const big = `data: ${JSON.stringify(content("x".repeat(1_100_000)))}\n\n`;
    const pieces = splitAt(big, 65_536, 600_000, 1_050_000, 1_100_000);
    const out: Buffer[] = [];
    const meter = new SseStreamMeter(true);
    pieces.forEach((piece, i) => {
      meter.push(piece, i, (b) => out.push(Buffer.from(b)));
    });
    meter.end(9, (b) => out.push(Buffer.from(b)));
    assert.equal(Buffer.concat(out).toString("utf8"), big);
  });

  it("meters a burst at a small fraction of the cost of parsing every event", () => {
    const events = Array.from({ length: 2000 }, (_, i) => event(content(`w${i}`)));
    const bytes = Buffer.from(events.join("") + event(finishChunk) + event(usageOnly) + "data: [DONE]\n\n");
    const reads = Array.from({ length: Math.ceil(bytes.length / 65_536) }, (_, i) => bytes.subarray(i * 65_536, (i + 1) * 65_536));
    const meterOnce = (): void => {
      const meter = new SseStreamMeter(true);
      for (const read of reads) meter.push(read, 0, () => undefined);
      meter.end(0);
      assert.equal(meter.tokenEvents, 2000);
    };
    const parseOnce = (): void => {
      for (const e of events) JSON.parse(e.slice(6));
    };
    // Interleaved rounds, best of each: this machine is shared, so absolute times vary.
    let meterBest = Number.POSITIVE_INFINITY;
    let parseBest = Number.POSITIVE_INFINITY;
    for (let round = 0; round < 15; round++) {
      let t = performance.now();
      meterOnce();
      meterBest = Math.min(meterBest, performance.now() - t);
      t = performance.now();
      parseOnce();
      parseBest = Math.min(parseBest, performance.now() - t);
    }
    // ~80 ns vs ~1,000 ns per event here.
    const ratio = meterBest / parseBest;
    assert.ok(ratio < 0.33, `metering costs ${(ratio * 100).toFixed(0)} % of parsing every event (${((meterBest * 1e6) / 2000).toFixed(0)} ns per event)`);
  });
});
