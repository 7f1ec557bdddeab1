import { estimateTokens, MESSAGE_OVERHEAD } from "../../shared/tokenEstimate";

// The JSONL datasets mlx_lm.lora reads (mlx-lm d78bf58, mlx_lm/tuner/datasets.py): one JSON object
// per line (`json.loads` of every line: a blank line is an error too), the format taken from the
// FIRST line — `prompt` and `completion` → completions, else `messages` → chat (with `tools` on a
// line: tools), else `text` → text, else "Unsupported data format" — and every later line read with
// that format's keys (a line without them is a KeyError in the middle of training). Prompt masking
// is refused for text. Checked here line by line before a job runs, with what is wrong and where.

export type DatasetFormat = "chat" | "tools" | "completions" | "text";

/** mlx_lm.lora's names for the keys (its prompt_feature, completion_feature, chat_feature, text_feature). */
export interface DatasetKeys {
  prompt: string;
  completion: string;
  chat: string;
  text: string;
}

export const DEFAULT_KEYS: DatasetKeys = { prompt: "prompt", completion: "completion", chat: "messages", text: "text" };

export interface DatasetIssue {
  /** 1-based line number. */
  line: number;
  message: string;
}

export interface DatasetReport {
  format?: DatasetFormat;
  /** Examples (lines that parsed). */
  examples: number;
  /** The first problems found (at most `maxIssues`), each with its line. */
  issues: DatasetIssue[];
  /** Problems in all (issues may hold fewer). */
  issueCount: number;
  /** Tokens in all and in the longest example: estimates (no tokenizer here), leaning high. */
  tokens: number;
  longest?: { line: number; tokens: number };
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The format mlx_lm.lora would take from this line (its first), or undefined. */
function formatOf(line: Json, keys: DatasetKeys): DatasetFormat | undefined {
  if (keys.prompt in line && keys.completion in line) return "completions";
  if (keys.chat in line) return "tools" in line ? "tools" : "chat";
  if (keys.text in line) return "text";
  return undefined;
}

const ROLES = new Set(["system", "user", "assistant", "tool"]);

/** What is wrong with one example of `format` (undefined: fine), and its token estimate. */
function checkExample(line: Json, format: DatasetFormat, keys: DatasetKeys, maskPrompt: boolean): { problem?: string; tokens: number } {
  const text = (value: unknown, what: string): string | { problem: string } => (typeof value === "string" ? value : { problem: `${what} must be a string` });
  if (format === "text") {
    const t = text(line[keys.text], `"${keys.text}"`);
    if (typeof t !== "string") return { problem: keys.text in line ? t.problem : `no "${keys.text}" (the first line made this a text dataset)`, tokens: 0 };
    return t.trim() === "" ? { problem: `"${keys.text}" is empty`, tokens: 0 } : { tokens: estimateTokens(t) };
  }
  if (format === "completions") {
    for (const key of [keys.prompt, keys.completion]) if (!(key in line)) return { problem: `no "${key}" (the first line made this a completions dataset: "${keys.prompt}" and "${keys.completion}")`, tokens: 0 };
    const p = text(line[keys.prompt], `"${keys.prompt}"`);
    const c = text(line[keys.completion], `"${keys.completion}"`);
    if (typeof p !== "string") return { problem: p.problem, tokens: 0 };
    if (typeof c !== "string") return { problem: c.problem, tokens: 0 };
    return { tokens: estimateTokens(p) + estimateTokens(c) + 2 * MESSAGE_OVERHEAD };
  }
  const messages = line[keys.chat];
  if (!(keys.chat in line)) return { problem: `no "${keys.chat}" (the first line made this a chat dataset)`, tokens: 0 };
  if (!Array.isArray(messages) || messages.length === 0) return { problem: `"${keys.chat}" must be a non-empty list of messages`, tokens: 0 };
  let tokens = 0;
  for (const [i, m] of messages.entries()) {
    if (!isObject(m)) return { problem: `message ${i + 1} is not an object`, tokens: 0 };
    if (typeof m["role"] !== "string" || !ROLES.has(m["role"])) return { problem: `message ${i + 1} has role ${JSON.stringify(m["role"])}: use system, user, assistant or tool`, tokens: 0 };
    const content = m["content"];
    const calls = m["tool_calls"];
    if (typeof content !== "string" && !(m["role"] === "assistant" && Array.isArray(calls))) return { problem: `message ${i + 1} (${m["role"]}) has no text "content"`, tokens: 0 };
    tokens += (typeof content === "string" ? estimateTokens(content) : 0) + (Array.isArray(calls) ? estimateTokens(JSON.stringify(calls)) : 0) + MESSAGE_OVERHEAD;
  }
  if ("tools" in line) {
    if (!Array.isArray(line["tools"])) return { problem: `"tools" must be a list of tool definitions`, tokens: 0 };
    tokens += estimateTokens(JSON.stringify(line["tools"]));
  }
  if (!messages.some((m) => isObject(m) && m["role"] === "assistant")) return { problem: "no assistant message: nothing to learn from", tokens };
  if (maskPrompt && isObject(messages[messages.length - 1]) && (messages[messages.length - 1] as Json)["role"] !== "assistant") return { problem: "with mask_prompt the last message must be the assistant's (only it is trained on)", tokens };
  return { tokens };
}

/** Checks a JSONL dataset as mlx_lm.lora will read it; every problem with its line. */
export function validateJsonl(content: string, options: { keys?: Partial<DatasetKeys>; maskPrompt?: boolean; maxIssues?: number } = {}): DatasetReport {
  const keys = { ...DEFAULT_KEYS, ...options.keys };
  const maskPrompt = options.maskPrompt === true;
  const maxIssues = options.maxIssues ?? 50;
  const report: DatasetReport = { examples: 0, issues: [], issueCount: 0, tokens: 0 };
  const issue = (line: number, message: string): void => {
    report.issueCount++;
    if (report.issues.length < maxIssues) report.issues.push({ line, message });
  };
  // Python iterates lines ending in "\n": the file's final newline ends the last line, it adds none.
  const lines = content.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  if (lines.length === 0) {
    issue(1, "the file is empty: mlx_lm.lora needs at least one example");
    return report;
  }
  for (const [index, raw] of lines.entries()) {
    const n = index + 1;
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch (error) {
      issue(n, raw.trim() === "" ? "an empty line (mlx_lm.lora reads every line as JSON): remove it" : `not JSON: ${error instanceof Error ? error.message : String(error)}`);
      continue;
    }
    if (!isObject(parsed)) {
      issue(n, "not a JSON object");
      continue;
    }
    if (report.format === undefined) {
      const format = formatOf(parsed, keys);
      if (format === undefined) {
        issue(n, `the first line decides the format and has none of its keys: "${keys.chat}" (chat, with "tools" for tools), "${keys.prompt}" and "${keys.completion}" (completions), or "${keys.text}" (text)`);
        return report;
      }
      report.format = format;
      if (report.format === "text" && maskPrompt) issue(n, "mask_prompt does not work with a text dataset (mlx_lm.lora refuses it): turn it off or use chat or completions");
    }
    const checked = checkExample(parsed, report.format, keys, maskPrompt);
    if (checked.problem !== undefined) {
      issue(n, checked.problem);
      continue;
    }
    report.examples++;
    report.tokens += checked.tokens;
    if (report.longest === undefined || checked.tokens > report.longest.tokens) report.longest = { line: n, tokens: checked.tokens };
  }
  return report;
}

/**
 * Splits the lines of a dataset into train and valid (the user has no valid.jsonl): a share of the
 * lines (a tenth) after a seeded shuffle goes to valid, at least `minValid` and never all.
 */
export function splitTrainValid(content: string, options: { validShare?: number; seed?: number; minValid?: number } = {}): { train: string; valid: string } {
  const lines = content.split("\n").filter((l) => l.trim() !== "");
  const share = options.validShare ?? 0.1;
  // At least minValid (mlx_lm evaluates whole batches: a batch_size of them), never all.
  const count = lines.length < 2 ? 0 : Math.min(lines.length - 1, Math.max(1, options.minValid ?? 1, Math.round(lines.length * share)));
  // A small deterministic shuffle (mulberry32) so the split is the same every time for one seed.
  let state = (options.seed ?? 0) >>> 0;
  const random = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const order = lines.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j] ?? 0, order[i] ?? 0];
  }
  const valid = new Set(order.slice(0, count));
  const join = (keep: (i: number) => boolean): string => {
    const out = lines.filter((_, i) => keep(i));
    return out.length === 0 ? "" : `${out.join("\n")}\n`;
  };
  return { train: join((i) => !valid.has(i)), valid: join((i) => valid.has(i)) };
}
