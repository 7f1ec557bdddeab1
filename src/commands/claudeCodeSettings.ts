// Claude Code's settings file (`~/.claude/settings.json`, or a project's
// `.claude/settings.local.json`) with the `env` block that points Claude Code at the manager's
// gateway. Pure (no vscode import): the edits are made with jsonc-parser, so the user's comments,
// order and formatting survive, and undone the same way. The command is in useInClaudeCode.ts.
import { applyEdits, modify, parse, printParseErrorCode, type ParseError } from "jsonc-parser";

/** The variables we set, in the order they are written. */
export const CLAUDE_ENV_NAMES = [
  "ANTHROPIC_BASE_URL",
  "ANTHROPIC_AUTH_TOKEN",
  "ANTHROPIC_MODEL",
  "ANTHROPIC_DEFAULT_HAIKU_MODEL",
  "ANTHROPIC_SMALL_FAST_MODEL",
] as const;
export type ClaudeEnvName = (typeof CLAUDE_ENV_NAMES)[number];

export interface ClaudeEnvInput {
  /** The manager's base URL, without `/v1` (Claude Code adds `/v1/messages`). */
  managerUrl: string;
  /** The gateway key: it opens `/v1` only, never the manager's admin token. */
  gatewayKey: string;
  /** The profile for Claude Code's main model. */
  model: string;
  /** The profile for its small, fast model (titles, summaries); the main one when absent. */
  smallModel?: string;
}

/** What the settings' `env` gets: the gateway, its key, and the models by profile name. */
export function claudeEnv(input: ClaudeEnvInput): Record<ClaudeEnvName, string> {
  const small = input.smallModel ?? input.model;
  return {
    ANTHROPIC_BASE_URL: input.managerUrl.replace(/\/+$/, ""),
    ANTHROPIC_AUTH_TOKEN: input.gatewayKey,
    ANTHROPIC_MODEL: input.model,
    // Claude Code reads the first in its current releases and the second in older ones.
    ANTHROPIC_DEFAULT_HAIKU_MODEL: small,
    ANTHROPIC_SMALL_FAST_MODEL: small,
  };
}

/** What one application changed: the values set, and what each name held before (null: absent). */
export interface AppliedEnv {
  set: Record<string, string>;
  previous: Record<string, string | null>;
}

/** The settings file could not be read as JSON with comments. */
export class SettingsFileError extends Error {}

const FORMAT = { formattingOptions: { insertSpaces: true, tabSize: 2, eol: "\n" } };

function parseSettings(text: string, file: string): Record<string, unknown> {
  if (text.trim() === "") return {};
  const errors: ParseError[] = [];
  const value: unknown = parse(text, errors, { allowTrailingComma: true, disallowComments: false });
  const first = errors[0];
  if (first !== undefined) {
    const line = text.slice(0, first.offset).split("\n").length;
    throw new SettingsFileError(`${file} is not valid JSON (${printParseErrorCode(first.error)} on line ${line}). Fix it (or move it aside) and try again; nothing was changed.`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new SettingsFileError(`${file} does not hold a JSON object. Fix it (or move it aside) and try again; nothing was changed.`);
  return value as Record<string, unknown>;
}

function envOf(settings: Record<string, unknown>, file: string): Record<string, unknown> {
  const env = settings["env"];
  if (env === undefined) return {};
  if (typeof env !== "object" || env === null || Array.isArray(env))
    throw new SettingsFileError(`"env" in ${file} is not an object. Fix it and try again; nothing was changed.`);
  return env as Record<string, unknown>;
}

/** `text` with `env` set in it, keeping everything else as written; and what the names held before. */
export function applyEnv(text: string, env: Record<string, string>, file: string): { text: string; applied: AppliedEnv } {
  const before = envOf(parseSettings(text, file), file);
  let out = text.trim() === "" ? "{}\n" : text;
  const previous: Record<string, string | null> = {};
  for (const [name, value] of Object.entries(env)) {
    const old = before[name];
    previous[name] = typeof old === "string" ? old : old === undefined ? null : JSON.stringify(old);
    out = applyEdits(out, modify(out, ["env", name], value, FORMAT));
  }
  return { text: out, applied: { set: { ...env }, previous } };
}

/**
 * `text` with an application undone: each name that still holds what we set gets back what it
 * held before (or goes, when it was absent). A name the user changed since is left alone.
 */
export function undoEnv(text: string, applied: AppliedEnv, file: string): { text: string; restored: string[]; changedSince: string[] } {
  const now = envOf(parseSettings(text, file), file);
  let out = text;
  const restored: string[] = [];
  const changedSince: string[] = [];
  for (const [name, value] of Object.entries(applied.set)) {
    if (now[name] !== value) {
      if (now[name] !== undefined) changedSince.push(name);
      continue;
    }
    const previous = applied.previous[name] ?? null;
    out = applyEdits(out, modify(out, ["env", name], previous ?? undefined, FORMAT));
    restored.push(name);
  }
  // An `env` we emptied goes too, when it was not there before.
  const after = envOf(parseSettings(out, file), file);
  if (Object.keys(after).length === 0 && Object.values(applied.previous).every((v) => v === null))
    out = applyEdits(out, modify(out, ["env"], undefined, FORMAT));
  return { text: out, restored, changedSince };
}

/** The variables as `name=value` lines for people, with the key shown only by its end. */
export function describeEnv(env: Record<string, string>): string {
  return Object.entries(env)
    .map(([name, value]) => `${name}=${name === "ANTHROPIC_AUTH_TOKEN" ? `…${value.slice(-4)} (the gateway key)` : value}`)
    .join("\n");
}
