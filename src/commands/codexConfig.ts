// Codex's configuration (`~/.codex/config.toml`, or a profile file `~/.codex/<name>.config.toml`
// that `codex --profile <name>` reads) with what points Codex at the manager's Responses API: the
// top-level `model` and `model_provider`, and a `[model_providers.mlx-manager]` table. Pure (no
// vscode import). The file is edited as text, line by line, so comments and the user's own
// settings stay as written; smol-toml reads it before and after, and an edit whose result does not
// read back exactly as intended is refused. The command is in useInCodex.ts.
import { parse, TomlError } from "smol-toml";

export const CODEX_PROVIDER_ID = "mlx-manager";
/** The profile file we offer: `codex --profile mlx` reads `~/.codex/mlx.config.toml`. */
export const CODEX_PROFILE = "mlx";

export interface CodexConfigInput {
  /** The manager's /v1 base URL (Codex adds `/responses`). */
  baseUrl: string;
  /** The gateway key: it opens `/v1` only, never the manager's admin token. */
  gatewayKey: string;
  /** The profile Codex's model is. */
  model: string;
}

/** The provider table's settings, in the order they are written. */
export function codexProvider(input: CodexConfigInput): Record<string, string> {
  return {
    name: "MLX Model Manager",
    base_url: input.baseUrl.replace(/\/+$/, ""),
    // Codex sends it as `Authorization: Bearer`; a config file needs no environment variable set.
    experimental_bearer_token: input.gatewayKey,
    wire_api: "responses",
  };
}

/** What one application changed: the lines set, and what they were before (null: absent). */
export interface AppliedCodex {
  set: { model: string; modelProvider: string; provider: string };
  previous: { model: string | null; modelProvider: string | null; provider: string | null };
}

/** The config file could not be read as TOML, or not edited safely. */
export class CodexConfigError extends Error {}

const HEADER = /^\s*\[/;
const PROVIDER_HEADER = new RegExp(`^\\s*\\[\\s*model_providers\\s*\\.\\s*(?:"${CODEX_PROVIDER_ID}"|'${CODEX_PROVIDER_ID}'|${CODEX_PROVIDER_ID})\\s*\\]\\s*(?:#.*)?$`);

function readToml(text: string, file: string): Record<string, unknown> {
  try {
    return parse(text);
  } catch (error) {
    const where = error instanceof TomlError ? ` (line ${error.line}: ${error.message.split("\n")[0] ?? ""})` : "";
    throw new CodexConfigError(`${file} is not valid TOML${where}. Fix it (or move it aside) and try again; nothing was changed.`);
  }
}

const keyLine = (key: string, value: string): string => `${key} = ${JSON.stringify(value)}`;

function providerBlock(input: CodexConfigInput): string {
  return [`[model_providers.${CODEX_PROVIDER_ID}]`, ...Object.entries(codexProvider(input)).map(([k, v]) => keyLine(k, v))].join("\n");
}

/** The file as lines, with where its first table starts. */
class Lines {
  readonly lines: string[];
  readonly eol: string;

  constructor(text: string) {
    this.eol = text.includes("\r\n") ? "\r\n" : "\n";
    this.lines = text === "" ? [] : text.replace(/\r?\n$/, "").split(/\r?\n/);
  }

  get firstHeader(): number {
    const at = this.lines.findIndex((l) => HEADER.test(l));
    return at < 0 ? this.lines.length : at;
  }

  /** The line of a top-level key (before the first table). */
  topLevel(key: string): number {
    const pattern = new RegExp(`^\\s*${key}\\s*=`);
    const at = this.lines.slice(0, this.firstHeader).findIndex((l) => pattern.test(l));
    return at;
  }

  /** The provider table: its first line and the line after its last (trailing blank lines left out). */
  providerRange(): { start: number; end: number } | undefined {
    const start = this.lines.findIndex((l) => PROVIDER_HEADER.test(l));
    if (start < 0) return undefined;
    let end = this.lines.findIndex((l, i) => i > start && HEADER.test(l));
    if (end < 0) end = this.lines.length;
    while (end > start + 1 && (this.lines[end - 1] ?? "").trim() === "") end--;
    return { start, end };
  }

  text(): string {
    return this.lines.length === 0 ? "" : this.lines.join(this.eol) + this.eol;
  }
}

/** Sets a top-level key's line (replaced where it is, else added before the first table); returns the line it had. */
function setTopLevel(doc: Lines, key: string, line: string): string | null {
  const at = doc.topLevel(key);
  if (at >= 0) {
    const old = doc.lines[at] ?? null;
    doc.lines[at] = line;
    return old;
  }
  let insertAt = doc.firstHeader;
  // Before the blank line that separates the top-level keys from the first table.
  while (insertAt > 0 && (doc.lines[insertAt - 1] ?? "").trim() === "") insertAt--;
  doc.lines.splice(insertAt, 0, line);
  return null;
}

function blockOf(doc: Lines): string | null {
  const range = doc.providerRange();
  return range === undefined ? null : doc.lines.slice(range.start, range.end).join("\n");
}

function setBlock(doc: Lines, block: string | null): void {
  const range = doc.providerRange();
  const replacement = block === null ? [] : block.split("\n");
  if (range !== undefined) {
    doc.lines.splice(range.start, range.end - range.start, ...replacement);
    // A table taken out takes one of the blank lines around it along.
    const blank = (i: number): boolean => (doc.lines[i] ?? "").trim() === "";
    if (block === null && range.start > 0 && blank(range.start - 1) && (range.start >= doc.lines.length || blank(range.start))) doc.lines.splice(range.start - 1, 1);
    return;
  }
  if (block === null) return;
  if (doc.lines.length > 0 && (doc.lines.at(-1) ?? "").trim() !== "") doc.lines.push("");
  doc.lines.push(...replacement);
}

/** The values that matter, compared after an edit. */
function summary(config: Record<string, unknown>): string {
  const { model: _model, model_provider: _provider, model_providers: providers, ...rest } = config;
  const others = typeof providers === "object" && providers !== null ? Object.fromEntries(Object.entries(providers).filter(([k]) => k !== CODEX_PROVIDER_ID)) : (providers ?? {});
  return JSON.stringify({ rest, others });
}

/** `text` with Codex pointed at the manager, everything else kept as written; and what the lines held before. */
export function applyCodexConfig(text: string, input: CodexConfigInput, file: string): { text: string; applied: AppliedCodex } {
  const before = readToml(text, file);
  const doc = new Lines(text);
  const set = { model: keyLine("model", input.model), modelProvider: keyLine("model_provider", CODEX_PROVIDER_ID), provider: providerBlock(input) };
  const previous = {
    model: setTopLevel(doc, "model", set.model),
    modelProvider: setTopLevel(doc, "model_provider", set.modelProvider),
    provider: blockOf(doc),
  };
  setBlock(doc, set.provider);
  const out = doc.text();
  // The edit must read back as exactly this: our three settings, and everything else unchanged.
  let after: Record<string, unknown> | undefined;
  try {
    after = parse(out);
  } catch {
    after = undefined;
  }
  const ours = (after?.["model_providers"] as Record<string, unknown> | undefined)?.[CODEX_PROVIDER_ID];
  if (after === undefined || after["model"] !== input.model || after["model_provider"] !== CODEX_PROVIDER_ID || JSON.stringify(ours) !== JSON.stringify(codexProvider(input)) || summary(after) !== summary(before)) {
    throw new CodexConfigError(
      `${file} sets model, model_provider or model_providers.${CODEX_PROVIDER_ID} in a form this command does not edit (a dotted key or an inline table). Remove those settings and try again; nothing was changed.`,
    );
  }
  return { text: out, applied: { set, previous } };
}

/**
 * `text` with an application undone: each setting that still holds what we set gets back what it
 * held before (or goes, when it was absent). One the user changed since is left alone.
 */
export function undoCodexConfig(text: string, applied: AppliedCodex, file: string): { text: string; restored: string[]; changedSince: string[] } {
  readToml(text, file);
  const doc = new Lines(text);
  const restored: string[] = [];
  const changedSince: string[] = [];
  for (const [key, name] of [["model", "model"], ["model_provider", "modelProvider"]] as const) {
    const at = doc.topLevel(key);
    if (at < 0) continue;
    if (doc.lines[at] !== applied.set[name]) {
      changedSince.push(key);
      continue;
    }
    const previous = applied.previous[name];
    if (previous === null) doc.lines.splice(at, 1);
    else doc.lines[at] = previous;
    restored.push(key);
  }
  const block = blockOf(doc);
  if (block !== null) {
    if (block === applied.set.provider) {
      setBlock(doc, applied.previous.provider);
      restored.push(`model_providers.${CODEX_PROVIDER_ID}`);
    } else changedSince.push(`model_providers.${CODEX_PROVIDER_ID}`);
  }
  return { text: doc.text(), restored, changedSince };
}

/** What would be set, for people, with the key shown only by its end. */
export function describeCodexConfig(input: CodexConfigInput): string {
  const provider = codexProvider(input);
  return [
    keyLine("model", input.model),
    keyLine("model_provider", CODEX_PROVIDER_ID),
    `[model_providers.${CODEX_PROVIDER_ID}]`,
    ...Object.entries(provider).map(([k, v]) => (k === "experimental_bearer_token" ? `${k} = "…${v.slice(-4)}" (the gateway key)` : keyLine(k, v))),
  ].join("\n");
}
