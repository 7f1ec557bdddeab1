import * as z from "zod";

// Meters an OpenAI-style SSE stream as its bytes pass through, without buffering it and without
// parsing every event. JSON.parse runs only on:
// - the events before the first generated text (to time it exactly);
// - events with a `"usage":{` key, found by one native byte search per read (the needle starts
//   with a rare byte: `usage"`; a needle starting or ending with `"` is several times slower to
//   search in JSON). Inside a JSON string every `"` is escaped, so this matches a real key only;
// - the last data event before `[DONE]` (or the end): the finish chunk and an error event are
//   always there, so it is checked once, afterwards, instead of searching every event.
// Every other `data:` event after the first token is one token event.

const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const TAB = 0x09;
const QUOTE = 0x22;
const COLON = 0x3a;
const BRACE = 0x7b;
const BRACKET = 0x5b;
const DONE = Buffer.from("[DONE]");
/** A line longer than this is relayed without being metered (a real event is a few hundred bytes). */
const MAX_LINE_BYTES = 1024 * 1024;

/** Token counts an upstream reported. */
export interface TokenUsage {
  promptTokens?: number;
  completionTokens?: number;
}

const Count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const UsageSchema = z.looseObject({ prompt_tokens: Count.nullish(), completion_tokens: Count.nullish() });
const Text = z.string().nullish();
const ChoiceSchema = z.looseObject({
  text: Text,
  delta: z
    .looseObject({
      content: Text,
      reasoning_content: Text,
      reasoning: Text,
      tool_calls: z.array(z.looseObject({ function: z.looseObject({ arguments: Text }).nullish() })).nullish(),
    })
    .nullish(),
});
const ChunkSchema = z.looseObject({
  choices: z.array(ChoiceSchema).nullish(),
  usage: UsageSchema.nullish(),
  error: z.union([z.looseObject({ message: z.string().nullish() }), z.string()]).nullish(),
});

/** The `usage` object of an OpenAI response or chunk, validated; undefined when absent or malformed. */
export function readUsage(value: unknown): TokenUsage | undefined {
  const parsed = UsageSchema.safeParse(value);
  if (!parsed.success) return undefined;
  const usage: TokenUsage = {};
  if (parsed.data.prompt_tokens != null) usage.promptTokens = parsed.data.prompt_tokens;
  if (parsed.data.completion_tokens != null) usage.completionTokens = parsed.data.completion_tokens;
  return usage;
}

const USAGE_NEEDLE = Buffer.from('usage"');

/** The next `usage"` in one buffer, searched lazily and at most once per region. */
class UsageCursor {
  private buf: Buffer = Buffer.alloc(0);
  /** -2: not searched yet; -1: none left in the buffer. */
  private pos = -2;

  reset(buf: Buffer): void {
    this.buf = buf;
    this.pos = -2;
  }

  /** The first occurrence at or after `from` (which never decreases within a buffer), or -1. */
  next(from: number): number {
    if (this.pos !== -1 && this.pos < from) this.pos = this.buf.indexOf(USAGE_NEEDLE, from);
    return this.pos;
  }
}

type Write = (bytes: Buffer) => void;
const ignore: Write = () => undefined;

/**
 * Follows one streamed answer: when the first and the last generated text arrived, how many
 * events carried text, the usage the upstream reported (an extra `choices: []` chunk, or `usage`
 * on the last chunk), `[DONE]`, and an error event. Optionally drops the usage-only chunk.
 */
export class SseStreamMeter {
  /** performance.now() of the chunk holding the first generated text. */
  firstTokenAt: number | undefined;
  /** performance.now() of the chunk holding the last generated text. */
  lastTokenAt: number | undefined;
  /** Events that carried generated text (the token count when the upstream reports none). */
  tokenEvents = 0;
  usage: TokenUsage | undefined;
  done = false;
  /** The message of an error event the upstream sent mid-stream. */
  error: string | undefined;

  /** The start of a line whose end has not arrived yet. */
  private carry: Buffer | undefined;
  /** The rest of an over-long line is relayed unmetered. */
  private skippingLine = false;
  /** The blank line ending a dropped event goes too. */
  private dropNextBlank = false;
  private readonly usageCursor = new UsageCursor();
  /**
   * The latest event counted as a token without being parsed (uncheckedBuf[uncheckedP, uncheckedE)),
   * checked once the stream shows it was the last. Plain fields: no allocation per event.
   */
  private uncheckedBuf: Buffer | undefined;
  private uncheckedP = 0;
  private uncheckedE = 0;
  private uncheckedPreviousTokenAt: number | undefined;

  /** `dropUsageOnly`: remove the `choices: []` usage chunk (the client did not ask for usage). */
  constructor(private readonly dropUsageOnly: boolean) {}

  /**
   * Meters `chunk`, which arrived at `now`, and hands `write` the bytes to relay, in order. With
   * dropUsageOnly an unfinished last line is held back until its end arrives (upstreams write
   * whole events, so in practice nothing waits); otherwise the caller relays `chunk` itself and
   * `write` is not called.
   */
  push(chunk: Buffer, now: number, write: Write = ignore): void {
    const out = this.dropUsageOnly ? write : ignore;
    let start = 0;
    if (this.carry !== undefined || this.skippingLine) {
      const lf = chunk.indexOf(LF);
      if (lf === -1) {
        if (this.skippingLine) out(chunk);
        else this.hold(Buffer.concat([this.carry ?? Buffer.alloc(0), chunk]), out);
        return;
      }
      if (this.skippingLine) {
        this.skippingLine = false;
        out(chunk.subarray(0, lf + 1));
      } else {
        const line = Buffer.concat([this.carry ?? Buffer.alloc(0), chunk.subarray(0, lf + 1)]);
        this.carry = undefined;
        this.scan(line, 0, line.length, now, out);
      }
      start = lf + 1;
    }
    const last = chunk.lastIndexOf(LF);
    if (last >= start) {
      this.scan(chunk, start, last + 1, now, out);
      start = last + 1;
    }
    if (start < chunk.length) this.hold(chunk.subarray(start), out);
  }

  /** The upstream finished: meters and relays an unfinished last line. */
  end(now: number, write: Write = ignore): void {
    const carry = this.carry;
    this.carry = undefined;
    this.skippingLine = false;
    if (carry === undefined) {
      this.checkLast();
      return;
    }
    const line = Buffer.concat([carry, Buffer.from("\n")]);
    this.scan(line, 0, line.length, now, (bytes) => {
      // The newline was ours: relay the bytes as they came.
      if (this.dropUsageOnly) write(bytes.subarray(0, Math.min(bytes.length, carry.length)));
    });
    this.checkLast();
  }

  private hold(bytes: Buffer, out: Write): void {
    if (bytes.length <= MAX_LINE_BYTES) {
      this.carry = bytes;
      return;
    }
    this.carry = undefined;
    this.skippingLine = true;
    out(bytes);
  }

  /** Meters the complete lines in buf[from, to) (to is just past a newline) and relays all but dropped events. */
  private scan(buf: Buffer, from: number, to: number, now: number, out: Write): void {
    this.usageCursor.reset(buf);
    let emitFrom = from;
    let s = from;
    while (s < to) {
      const lf = buf.indexOf(LF, s);
      let e = lf;
      if (e > s && buf[e - 1] === CR) e--;
      if (this.dropNextBlank) {
        this.dropNextBlank = false;
        if (e === s) {
          if (s > emitFrom) out(buf.subarray(emitFrom, s));
          emitFrom = lf + 1;
          s = lf + 1;
          continue;
        }
      }
      if (
        e - s >= 5 &&
        buf[s] === 0x64 && // d
        buf[s + 1] === 0x61 && // a
        buf[s + 2] === 0x74 && // t
        buf[s + 3] === 0x61 && // a
        buf[s + 4] === COLON
      ) {
        const p = buf[s + 5] === SPACE ? s + 6 : s + 5;
        if (this.dataLine(buf, p, e, now)) {
          if (s > emitFrom) out(buf.subarray(emitFrom, s));
          emitFrom = lf + 1;
          this.dropNextBlank = true;
        }
      }
      s = lf + 1;
    }
    if (emitFrom === 0 && to === buf.length) out(buf);
    else if (to > emitFrom) out(buf.subarray(emitFrom, to));
  }

  /** Meters one `data:` payload buf[p, e); true when it is the usage-only chunk to drop. */
  private dataLine(buf: Buffer, p: number, e: number, now: number): boolean {
    if (buf[p] === BRACKET && e - p === DONE.length && buf.compare(DONE, 0, DONE.length, p, e) === 0) {
      this.done = true;
      this.checkLast();
      return false;
    }
    if (this.firstTokenAt === undefined) return this.parsedLine(buf.toString("utf8", p, e), now);
    if (this.hasUsage(buf, p, e)) {
      this.checkLast();
      return this.parsedLine(buf.toString("utf8", p, e), now);
    }
    // Past the first token, any other event carries generated text, unless it turns out to be the
    // last one (the finish chunk, or an error): see checkLast.
    this.uncheckedBuf = buf;
    this.uncheckedP = p;
    this.uncheckedE = e;
    this.uncheckedPreviousTokenAt = this.lastTokenAt;
    this.tokenEvents++;
    this.lastTokenAt = now;
    return false;
  }

  /** Whether the line buf[p, e) has a `"usage"` key with an object value (`"usage":null` does not count). */
  private hasUsage(buf: Buffer, p: number, e: number): boolean {
    for (let k = this.usageCursor.next(p); k !== -1 && k < e; k = this.usageCursor.next(k + 1)) {
      if (k === p || buf[k - 1] !== QUOTE) continue;
      let i = k + USAGE_NEEDLE.length;
      while (i < e && (buf[i] === SPACE || buf[i] === TAB)) i++;
      if (buf[i] !== COLON) continue;
      i++;
      while (i < e && (buf[i] === SPACE || buf[i] === TAB)) i++;
      if (buf[i] === BRACE) return true;
    }
    return false;
  }

  /** Parses the last event counted unparsed: a finish chunk or an error event is taken back as a token. */
  private checkLast(): void {
    const buf = this.uncheckedBuf;
    if (buf === undefined) return;
    this.uncheckedBuf = undefined;
    const tokensBefore = this.tokenEvents;
    const lastTokenAt = this.lastTokenAt ?? 0;
    this.parsedLine(buf.toString("utf8", this.uncheckedP, this.uncheckedE), lastTokenAt);
    if (this.tokenEvents > tokensBefore) {
      // It did carry text: it was counted already.
      this.tokenEvents = tokensBefore;
      this.lastTokenAt = lastTokenAt;
    } else {
      this.tokenEvents--;
      this.lastTokenAt = this.uncheckedPreviousTokenAt;
    }
  }

  private parsedLine(json: string, now: number): boolean {
    let value: unknown;
    try {
      value = JSON.parse(json);
    } catch {
      return false;
    }
    const parsed = ChunkSchema.safeParse(value);
    if (!parsed.success) return false;
    const chunk = parsed.data;
    if (chunk.error != null) {
      this.error = typeof chunk.error === "string" ? chunk.error : (chunk.error.message ?? "the model server reported an error");
    }
    const choices = chunk.choices ?? [];
    if (choices.some(hasGeneratedText)) {
      this.firstTokenAt ??= now;
      this.lastTokenAt = now;
      this.tokenEvents++;
    }
    if (chunk.usage != null) {
      this.usage = readUsage(chunk.usage);
      return this.dropUsageOnly && chunk.choices != null && choices.length === 0;
    }
    return false;
  }
}

function hasGeneratedText(choice: z.infer<typeof ChoiceSchema>): boolean {
  const delta = choice.delta;
  if (choice.text) return true;
  if (delta == null) return false;
  if (delta.content || delta.reasoning_content || delta.reasoning) return true;
  return delta.tool_calls?.some((call) => Boolean(call.function?.arguments)) ?? false;
}
