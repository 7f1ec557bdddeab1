// mlx-openai-server's click command line (app/cli.py: a group with --version and the `launch`
// command), parsed and refused as click 8.2/8.3 does it: exact option names only (no
// abbreviations; "No such option: --x" with difflib's "Did you mean" / "Possible options"), a value
// option takes the next argument whatever it looks like, `--flag=value`, values converted after
// parsing in the order the options appeared (int(), float(), Choice, Path, a callback), extra
// arguments refused last. Usage errors exit 2 with the usage line and the --help hint.
import fs from "node:fs";
import type { FlagSpec } from "./flagTables";
import { getCloseMatches, pyFloat, pyInt, pyRepr } from "./pythonText";

export type ClickOutcome =
  | { kind: "ok"; values: Map<string, unknown> }
  | { kind: "exit"; code: number; stdout: string; stderr: string };

export interface ClickContext {
  /** The program name (click: basename of sys.argv[0]). */
  prog: string;
  version: string;
}

const GROUP_USAGE = (prog: string): string => `Usage: ${prog} [OPTIONS] COMMAND [ARGS]...`;
const LAUNCH_USAGE = (prog: string): string => `Usage: ${prog} launch [OPTIONS]`;

/** app/cli.py's @click.version_option message (the same banner from v1.5.0 to v1.8.1 and HEAD). */
export function versionBanner(prog: string, version: string): string {
  return `\n✨ ${prog} - OpenAI Compatible API Server for MLX models ✨\n${"━".repeat(42)}\n🚀 Version: ${version}\n\n`;
}

function groupHelp(prog: string): string {
  return [
    GROUP_USAGE(prog),
    "",
    "  Top-level Click command group for the MLX server CLI.",
    "",
    "  Subcommands (such as ``launch``) are registered on this group and invoked by",
    "  the console entry point.",
    "",
    "Options:",
    "  --version  Show the version and exit.",
    "  --help     Show this message and exit.",
    "",
    "Commands:",
    "  launch  Start the FastAPI/Uvicorn server with the supplied flags.",
    "",
  ].join("\n");
}

function launchHelp(prog: string, flags: readonly FlagSpec[]): string {
  const rows = flags.map((f) => {
    const name = f.names.join(", ");
    if (!f.takesValue) return `  ${name}`;
    const kind = f.choices
      ? `[${f.choices.join("|")}]`
      : f.type === "int"
        ? "INTEGER"
        : f.type === "float"
          ? "FLOAT"
          : f.type === "path"
            ? f.path?.fileOkay === false
              ? "DIRECTORY"
              : "PATH"
            : "TEXT";
    return `  ${name} ${kind}`;
  });
  return `${LAUNCH_USAGE(prog)}\n\n  Start the FastAPI/Uvicorn server with the supplied flags.\n\nOptions:\n${rows.join("\n")}\n`;
}

/** A UsageError; `usage` undefined for click's BadOptionUsage, which the parser raises without a context (no usage lines). */
class UsageError extends Error {
  constructor(
    message: string,
    readonly usage: string | undefined,
    readonly hint: string,
  ) {
    super(message);
  }
}

function usageText(error: UsageError): string {
  return `${error.usage === undefined ? "" : `${error.usage}\n${error.hint}\n\n`}Error: ${error.message}\n`;
}

/** A long option name as click splits "--name=value" and "-x". */
function isOptionLike(arg: string): boolean {
  return arg.startsWith("-") && arg.length > 1;
}

function noSuchOption(opt: string, longNames: readonly string[]): string {
  const possibilities = opt.startsWith("--") ? getCloseMatches(opt, longNames) : [];
  const base = `No such option: ${opt}`;
  if (possibilities.length === 0) return base;
  const sorted = [...possibilities].sort().join(", ");
  return possibilities.length === 1
    ? `${base} Did you mean ${sorted}?`
    : `${base} (Possible options: ${sorted})`;
}

/**
 * The group: `--version` / `--help` before the command, then the command name. Returns the
 * arguments of `launch`, or how the process ends.
 */
function parseGroup(argv: readonly string[], ctx: ClickContext): { launchArgs: string[] } | ClickOutcome {
  const usage = GROUP_USAGE(ctx.prog);
  const hint = `Try '${ctx.prog} --help' for help.`;
  const fail = (message: string): ClickOutcome => ({
    kind: "exit",
    code: 2,
    stdout: "",
    stderr: `${usage}\n${hint}\n\nError: ${message}\n`,
  });
  // No arguments: the group's help on stderr, exit 2 (click 8.2: NoArgsIsHelpError).
  if (argv.length === 0) return { kind: "exit", code: 2, stdout: "", stderr: groupHelp(ctx.prog) };
  const seen: string[] = [];
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    if (arg === "--") {
      i++;
      break;
    }
    if (!isOptionLike(arg)) break;
    const eq = arg.indexOf("=");
    const opt = eq >= 0 ? arg.slice(0, eq) : arg;
    if (opt === "--version" || opt === "--help") {
      if (eq >= 0)
        return {
          kind: "exit",
          code: 2,
          stdout: "",
          stderr: `Error: Option ${pyRepr(opt)} does not take a value.\n`,
        };
      seen.push(opt);
      continue;
    }
    return fail(
      arg.startsWith("--")
        ? noSuchOption(opt, ["--version", "--help"])
        : `No such option: ${arg.slice(0, 2)}`,
    );
  }
  // Eager options in the order given.
  for (const opt of seen) {
    if (opt === "--help") return { kind: "exit", code: 0, stdout: groupHelp(ctx.prog), stderr: "" };
    return { kind: "exit", code: 0, stdout: versionBanner(ctx.prog, ctx.version), stderr: "" };
  }
  const rest = argv.slice(i);
  const command = rest[0];
  if (command === undefined) return fail("Missing command.");
  if (command !== "launch") return fail(`No such command ${pyRepr(command)}.`);
  return { launchArgs: rest.slice(1) };
}

/** Parses `mlx-openai-server <argv>` with `flags` as the options of `launch`. */
export function parseClick(
  flags: readonly FlagSpec[],
  argv: readonly string[],
  ctx: ClickContext,
): ClickOutcome {
  const group = parseGroup(argv, ctx);
  if ("kind" in group) return group;
  const usage = LAUNCH_USAGE(ctx.prog);
  const hint = `Try '${ctx.prog} launch --help' for help.`;
  try {
    return parseLaunch(flags, group.launchArgs, ctx, usage, hint);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    return { kind: "exit", code: 2, stdout: "", stderr: usageText(error) };
  }
}

function parseLaunch(
  flags: readonly FlagSpec[],
  argv: readonly string[],
  ctx: ClickContext,
  usage: string,
  hint: string,
): ClickOutcome {
  const fail = (message: string): never => {
    throw new UsageError(message, usage, hint);
  };
  const badOptionUsage = (message: string): never => {
    throw new UsageError(message, undefined, hint);
  };
  const byName = new Map<string, FlagSpec>();
  for (const f of flags) for (const n of f.names) byName.set(n, f);
  const longNames = flags.flatMap((f) => f.names.filter((n) => n.startsWith("--")));

  // 1. Parse: options (exact names) and their raw values; everything else is an extra argument.
  const raw = new Map<FlagSpec, string | true>();
  const order: FlagSpec[] = [];
  const extras: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    if (arg === "--") {
      extras.push(...argv.slice(i + 1));
      break;
    }
    if (!isOptionLike(arg)) {
      extras.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const opt = eq >= 0 ? arg.slice(0, eq) : arg;
    const explicit = eq >= 0 ? arg.slice(eq + 1) : undefined;
    const flag = byName.get(opt);
    if (flag === undefined) {
      // "-x..." that is no long option is tried as short options: its first letter is unknown.
      fail(arg.startsWith("--") ? noSuchOption(opt, longNames) : `No such option: ${arg.slice(0, 2)}`);
      continue;
    }
    if (!flag.takesValue) {
      if (explicit !== undefined) badOptionUsage(`Option ${pyRepr(opt)} does not take a value.`);
      raw.set(flag, true);
    } else if (explicit !== undefined) {
      raw.set(flag, explicit);
    } else {
      const next = argv[i + 1];
      if (next === undefined) badOptionUsage(`Option ${pyRepr(opt)} requires an argument.`);
      raw.set(flag, next ?? "");
      i++;
    }
    order.push(flag);
  }

  // 2. Process: --help (eager) first, then the options in the order they first appeared.
  const values = new Map<string, unknown>();
  const invoked = [...new Set(order)];
  if (invoked.some((f) => f.implicit === true))
    return { kind: "exit", code: 0, stdout: launchHelp(ctx.prog, flags), stderr: "" };
  for (const flag of invoked) {
    const name = flag.names[0] ?? "";
    const value = raw.get(flag);
    if (value === true) {
      values.set(name, true);
      continue;
    }
    if (value === undefined) continue;
    const bad = (message: string): never => fail(`Invalid value for ${pyRepr(name)}: ${message}`);
    switch (flag.type) {
      case "int": {
        const n = pyInt(value);
        if (n === undefined) bad(`${pyRepr(value)} is not a valid integer.`);
        values.set(name, n);
        break;
      }
      case "float": {
        const n = pyFloat(value);
        if (n === undefined) bad(`${pyRepr(value)} is not a valid float.`);
        values.set(name, n);
        break;
      }
      case "choice": {
        const choices = flag.choices ?? [];
        const match = flag.caseInsensitive
          ? choices.find((c) => c.toUpperCase() === value.toUpperCase())
          : choices.find((c) => c === value);
        if (match === undefined) {
          // UpperChoice (--log-level) raises its own BadParameter; click.Choice says "is not one of".
          bad(
            flag.caseInsensitive
              ? `invalid choice: ${pyRepr(value)}. (choose from ${choices.map((c) => pyRepr(c)).join(", ")})`
              : choices.length === 1
                ? `${pyRepr(value)} is not ${pyRepr(choices[0] ?? "")}.`
                : `${pyRepr(value)} is not one of ${choices.map((c) => pyRepr(c)).join(", ")}.`,
          );
        }
        values.set(name, flag.caseInsensitive ? value.toUpperCase() : match);
        break;
      }
      case "path": {
        const kind =
          flag.path?.fileOkay === false ? "Directory" : flag.path?.dirOkay === false ? "File" : "Path";
        let stat: fs.Stats | undefined;
        try {
          stat = fs.statSync(value);
        } catch {
          stat = undefined;
        }
        if (stat === undefined && flag.path?.exists === true) bad(`${kind} ${pyRepr(value)} does not exist.`);
        if (stat?.isFile() === true && flag.path?.fileOkay === false)
          bad(`${kind} ${pyRepr(value)} is a file.`);
        if (stat?.isDirectory() === true && flag.path?.dirOkay === false)
          bad(`${kind} ${pyRepr(value)} is a directory.`);
        values.set(name, value);
        break;
      }
      default:
        if (flag.validValues && !flag.validValues.includes(value))
          bad(`invalid choice: ${pyRepr(value)}. (choose from ${[...flag.validValues].sort().join(", ")})`);
        values.set(name, value);
    }
  }
  if (extras.length > 0)
    fail(`Got unexpected extra argument${extras.length === 1 ? "" : "s"} (${extras.join(" ")})`);
  // The command body: one of --config and --model-path (app/cli.py, v1.8.1).
  if (!values.has("--config") && !values.has("--model-path"))
    fail("Either --config (multi-handler YAML) or --model-path (single model) is required.");
  return { kind: "ok", values };
}
