// What the Python engines print, the way CPython prints it: repr() of a string, int()/float() of
// a command-line value, json.loads (with its JSONDecodeError messages) and json.dumps, difflib's
// get_close_matches (click's "Did you mean"), and tracebacks. The stand-ins use these so that their
// messages read exactly like the engines'. Checked against CPython 3.11's own functions.

/** repr() of a str: single quotes unless the text has a ' and no ", escapes as CPython writes them. */
export function pyRepr(text: string): string {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of text) {
    const code = ch.codePointAt(0) ?? 0;
    if (ch === "\\") out += "\\\\";
    else if (ch === quote) out += `\\${quote}`;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (code < 0x20 || (code >= 0x7f && code <= 0xa0) || code === 0xad)
      out += `\\x${code.toString(16).padStart(2, "0")}`;
    else out += ch;
  }
  return out + quote;
}

const DIGITS = String.raw`\d(?:_?\d)*`;
const INT_TEXT = new RegExp(String.raw`^\s*[+-]?${DIGITS}\s*$`);
const FLOAT_TEXT = new RegExp(
  String.raw`^\s*[+-]?(?:(?:${DIGITS}(?:\.(?:${DIGITS})?)?|\.${DIGITS})(?:[eE][+-]?${DIGITS})?|inf(?:inity)?|nan)\s*$`,
  "i",
);

/** int(text) for a str (base 10, underscores between digits, surrounding whitespace); undefined where it raises ValueError. */
export function pyInt(text: string): number | undefined {
  return INT_TEXT.test(text) ? Number(text.trim().replaceAll("_", "")) : undefined;
}

/** float(text) for a str; undefined where it raises ValueError. */
export function pyFloat(text: string): number | undefined {
  if (!FLOAT_TEXT.test(text)) return undefined;
  const t = text.trim().toLowerCase().replaceAll("_", "");
  const sign = t.startsWith("-") ? -1 : 1;
  const bare = t.replace(/^[+-]/, "");
  if (bare.startsWith("inf")) return sign * Infinity;
  if (bare === "nan") return NaN;
  return Number(t);
}

// ------------------------------------------------------------------ json.dumps / json.loads

/** json.dumps(value) with its defaults: ", " and ": " separators, ensure_ascii. */
export function pyJsonDumps(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (value === true) return "true";
  if (value === false) return "false";
  if (typeof value === "number") {
    if (Number.isNaN(value)) return "NaN";
    if (!Number.isFinite(value)) return value > 0 ? "Infinity" : "-Infinity";
    return String(value);
  }
  if (typeof value === "string") {
    let out = '"';
    for (let i = 0; i < value.length; i++) {
      const ch = value.charAt(i);
      const code = value.charCodeAt(i);
      if (ch === '"') out += '\\"';
      else if (ch === "\\") out += "\\\\";
      else if (ch === "\n") out += "\\n";
      else if (ch === "\r") out += "\\r";
      else if (ch === "\t") out += "\\t";
      else if (ch === "\b") out += "\\b";
      else if (ch === "\f") out += "\\f";
      else if (code < 0x20 || code > 0x7e) out += `\\u${code.toString(16).padStart(4, "0")}`;
      else out += ch;
    }
    return out + '"';
  }
  if (Array.isArray(value)) return `[${value.map((v) => pyJsonDumps(v)).join(", ")}]`;
  if (typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    return `{${entries.map(([k, v]) => `${pyJsonDumps(k)}: ${pyJsonDumps(v)}`).join(", ")}}`;
  }
  return pyJsonDumps(typeof value === "bigint" ? value.toString() : "");
}

export type PyJsonResult =
  | {
      ok: true;
      value: unknown;
      /** Top-level object members whose value was written as a float (1.0, 1e3): Python's `float`, not `int`. */
      floatKeys: Set<string>;
    }
  | { ok: false; /** e.msg */ msg: string; /** e.pos */ pos: number; /** str(e) */ message: string };

class DecodeError extends Error {
  constructor(
    readonly msg: string,
    readonly pos: number,
  ) {
    super(msg);
  }
}

const WS = /[ \t\n\r]*/y;
const NUMBER = /(-?(?:0|[1-9]\d*))(\.\d+)?([eE][-+]?\d+)?/y;

/** json.loads(text) as CPython's decoder (C scanner) does it, NaN and Infinity included. */
export function pyJsonLoads(text: string): PyJsonResult {
  const floatKeys = new Set<string>();
  const skip = (i: number): number => {
    WS.lastIndex = i;
    WS.exec(text);
    return WS.lastIndex;
  };
  const isWs = (ch: string): boolean => ch === " " || ch === "\t" || ch === "\n" || ch === "\r";

  const scanString = (start: number): [string, number] => {
    // `start` is just after the opening quote.
    let out = "";
    let i = start;
    for (;;) {
      if (i >= text.length) throw new DecodeError("Unterminated string starting at", start - 1);
      const ch = text.charAt(i);
      if (ch === '"') return [out, i + 1];
      if (ch === "\\") {
        if (i + 1 >= text.length) throw new DecodeError("Unterminated string starting at", start - 1);
        const esc = text.charAt(i + 1);
        const simple: Record<string, string> = {
          '"': '"',
          "\\": "\\",
          "/": "/",
          b: "\b",
          f: "\f",
          n: "\n",
          r: "\r",
          t: "\t",
        };
        const replacement = simple[esc];
        if (replacement !== undefined) {
          out += replacement;
          i += 2;
          continue;
        }
        if (esc !== "u") throw new DecodeError("Invalid \\escape", i);
        const hex = text.slice(i + 2, i + 6);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw new DecodeError("Invalid \\uXXXX escape", i + 1);
        out += String.fromCharCode(parseInt(hex, 16));
        i += 6;
        continue;
      }
      if (ch.charCodeAt(0) < 0x20) throw new DecodeError("Invalid control character at", i);
      out += ch;
      i++;
    }
  };

  const scanValue = (i: number, topKey?: string): [unknown, number] => {
    const ch = text.charAt(i);
    if (ch === '"') return scanString(i + 1);
    if (ch === "{") return scanObject(i + 1, topKey === undefined && i === firstValue);
    if (ch === "[") return scanArray(i + 1);
    if (ch === "n" && text.startsWith("null", i)) return [null, i + 4];
    if (ch === "t" && text.startsWith("true", i)) return [true, i + 4];
    if (ch === "f" && text.startsWith("false", i)) return [false, i + 5];
    NUMBER.lastIndex = i;
    const m = NUMBER.exec(text);
    if (m !== null && m.index === i) {
      if (topKey !== undefined && (m[2] !== undefined || m[3] !== undefined)) floatKeys.add(topKey);
      return [Number(m[0]), i + m[0].length];
    }
    if (ch === "N" && text.startsWith("NaN", i)) return [NaN, i + 3];
    if (ch === "I" && text.startsWith("Infinity", i)) return [Infinity, i + 8];
    if (ch === "-" && text.startsWith("-Infinity", i)) return [-Infinity, i + 9];
    throw new DecodeError("Expecting value", i);
  };

  const scanObject = (start: number, top: boolean): [Record<string, unknown>, number] => {
    const out: Record<string, unknown> = {};
    let i = start;
    let next = text.charAt(i);
    if (next !== '"') {
      if (isWs(next)) {
        i = skip(i);
        next = text.charAt(i);
      }
      if (next === "}") return [out, i + 1];
      if (next !== '"') throw new DecodeError("Expecting property name enclosed in double quotes", i);
    }
    i++;
    for (;;) {
      const [key, afterKey] = scanString(i);
      i = afterKey;
      if (text.charAt(i) !== ":") {
        i = skip(i);
        if (text.charAt(i) !== ":") throw new DecodeError("Expecting ':' delimiter", i);
      }
      i = skip(i + 1);
      const [value, afterValue] = scanValue(i, top ? key : undefined);
      out[key] = value;
      i = skip(afterValue);
      next = text.charAt(i);
      i++;
      if (next === "}") return [out, i];
      if (next !== ",") throw new DecodeError("Expecting ',' delimiter", i - 1);
      i = skip(i);
      next = text.charAt(i);
      i++;
      if (next !== '"') throw new DecodeError("Expecting property name enclosed in double quotes", i - 1);
    }
  };

  const scanArray = (start: number): [unknown[], number] => {
    const out: unknown[] = [];
    let i = skip(start);
    if (text.charAt(i) === "]") return [out, i + 1];
    for (;;) {
      const [value, afterValue] = scanValue(i);
      out.push(value);
      i = skip(afterValue);
      const next = text.charAt(i);
      i++;
      if (next === "]") return [out, i];
      if (next !== ",") throw new DecodeError("Expecting ',' delimiter", i - 1);
      i = skip(i);
    }
  };

  const firstValue = skip(0);
  try {
    if (text.startsWith("\ufeff")) throw new DecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", 0);
    const [value, end] = scanValue(firstValue);
    const rest = skip(end);
    if (rest !== text.length) throw new DecodeError("Extra data", rest);
    return { ok: true, value, floatKeys };
  } catch (error) {
    if (!(error instanceof DecodeError)) throw error;
    const before = text.slice(0, error.pos);
    const lineno = before.split("\n").length;
    const colno = error.pos - before.lastIndexOf("\n");
    return {
      ok: false,
      msg: error.msg,
      pos: error.pos,
      message: `${error.msg}: line ${lineno} column ${colno} (char ${error.pos})`,
    };
  }
}

/** The Python type name of a decoded JSON value (`floatKey`: it was written as a float). */
export function pyTypeName(value: unknown, writtenAsFloat = false): string {
  if (value === null || value === undefined) return "NoneType";
  if (typeof value === "boolean") return "bool";
  if (typeof value === "number") return writtenAsFloat || !Number.isInteger(value) ? "float" : "int";
  if (typeof value === "string") return "str";
  if (Array.isArray(value)) return "list";
  return "dict";
}

// ------------------------------------------------------------------ difflib

/** Matching characters of SequenceMatcher(None, a, b) (the sum of get_matching_blocks sizes). */
function matchingCharacters(a: string, b: string): number {
  const b2j = new Map<string, number[]>();
  for (let j = 0; j < b.length; j++) {
    const list = b2j.get(b.charAt(j)) ?? [];
    list.push(j);
    b2j.set(b.charAt(j), list);
  }
  const longest = (alo: number, ahi: number, blo: number, bhi: number): [number, number, number] => {
    let [besti, bestj, bestsize] = [alo, blo, 0];
    let j2len = new Map<number, number>();
    for (let i = alo; i < ahi; i++) {
      const next = new Map<number, number>();
      for (const j of b2j.get(a.charAt(i)) ?? []) {
        if (j < blo) continue;
        if (j >= bhi) break;
        const k = (j2len.get(j - 1) ?? 0) + 1;
        next.set(j, k);
        if (k > bestsize) [besti, bestj, bestsize] = [i - k + 1, j - k + 1, k];
      }
      j2len = next;
    }
    return [besti, bestj, bestsize];
  };
  let total = 0;
  const queue: [number, number, number, number][] = [[0, a.length, 0, b.length]];
  for (let item = queue.pop(); item !== undefined; item = queue.pop()) {
    const [alo, ahi, blo, bhi] = item;
    const [i, j, k] = longest(alo, ahi, blo, bhi);
    if (k === 0) continue;
    total += k;
    if (alo < i && blo < j) queue.push([alo, i, blo, j]);
    if (i + k < ahi && j + k < bhi) queue.push([i + k, ahi, j + k, bhi]);
  }
  return total;
}

/** difflib.get_close_matches(word, possibilities, n=3, cutoff=0.6), best first. */
export function getCloseMatches(
  word: string,
  possibilities: readonly string[],
  n = 3,
  cutoff = 0.6,
): string[] {
  const scored: [number, string][] = [];
  for (const x of possibilities) {
    const total = x.length + word.length;
    const ratio = total === 0 ? 1 : (2 * matchingCharacters(x, word)) / total;
    if (ratio >= cutoff) scored.push([ratio, x]);
  }
  // heapq.nlargest over (score, x): ties go to the greater string.
  scored.sort((p, q) => q[0] - p[0] || (q[1] > p[1] ? 1 : q[1] < p[1] ? -1 : 0));
  return scored.slice(0, n).map(([, x]) => x);
}

// ------------------------------------------------------------------ tracebacks

export interface PyFrame {
  file: string;
  line: number;
  func: string;
  code: string;
}

/** A traceback as CPython prints it (without 3.11's caret lines), ending with the exception line. */
export function pyTraceback(frames: readonly PyFrame[], exception: string): string {
  const lines = ["Traceback (most recent call last):"];
  for (const f of frames) lines.push(`  File "${f.file}", line ${f.line}, in ${f.func}`, `    ${f.code}`);
  lines.push(exception);
  return `${lines.join("\n")}\n`;
}
