// An argparse.ArgumentParser over a flag table, as CPython 3.11's argparse parses, converts and
// refuses a command line: `--flag value` and `--flag=value`, unambiguous prefixes of long flags
// (allow_abbrev), "ambiguous option" (found before anything is converted), values converted in
// command-line order (int, float, json.loads, mlx_lm's _parse_size, choices), unknown arguments
// collected and refused at the end, the usage line wrapped like HelpFormatter wraps it.
import { pyFloat, pyInt, pyJsonLoads, pyRepr, type PyFrame, pyTraceback } from "./pythonText";
import type { FlagSpec } from "./flagTables";

export type ParsedValues = Map<string, unknown>;

export type ArgparseOutcome =
  | { kind: "ok"; values: ParsedValues; /** With knownArgs: what parse_known_args leaves (unknown options and positionals, in order). */ extras: string[] }
  | { kind: "exit"; code: number; stdout: string; stderr: string };

/** Where the traceback of an exception that argparse does not catch points (the engine's files). */
export interface ArgparseContext {
  prog: string;
  description: string;
  /** Terminal width as shutil.get_terminal_size() reports it (COLUMNS, else 80). */
  columns: number;
  /** Frames above parse_args() in a traceback (the console script and main()). */
  callerFrames: readonly PyFrame[];
  /** site-packages, for the frames of argparse and the engine below parse_args(). */
  pythonLib: string;
  sitePackages: string;
}

/** The key a parsed value is stored under: the flag's first long name. */
export function flagKey(flag: FlagSpec): string {
  return flag.names.find((n) => n.startsWith("--")) ?? flag.names[0] ?? "";
}

function dest(flag: FlagSpec): string {
  return flagKey(flag).replace(/^-+/, "").replaceAll("-", "_");
}

function metavar(flag: FlagSpec): string {
  return flag.choices ? `{${flag.choices.join(",")}}` : dest(flag).toUpperCase();
}

/** HelpFormatter._format_usage for a parser with optionals only. */
export function formatUsage(
  table: readonly FlagSpec[],
  ctx: Pick<ArgparseContext, "prog" | "columns">,
): string {
  const flags = [...table.filter((f) => f.implicit === true), ...table.filter((f) => f.implicit !== true)];
  const parts = flags.map(
    (f) => `[${f.takesValue ? `${f.names[0] ?? ""} ${metavar(f)}` : (f.names[0] ?? "")}]`,
  );
  const prefix = "usage: ";
  const textWidth = Math.max(ctx.columns - 2, 11);
  const oneLine = [ctx.prog, ...parts].join(" ");
  if (prefix.length + oneLine.length <= textWidth) return `${prefix}${oneLine}\n`;
  const lines: string[] = [];
  if (prefix.length + ctx.prog.length <= 0.75 * textWidth) {
    const indent = " ".repeat(prefix.length + ctx.prog.length + 1);
    let line: string[] = [];
    let lineLen = prefix.length - 1;
    for (const part of [ctx.prog, ...parts]) {
      if (lineLen + 1 + part.length > textWidth && line.length > 0) {
        lines.push(indent + line.join(" "));
        line = [];
        lineLen = indent.length - 1;
      }
      line.push(part);
      lineLen += part.length + 1;
    }
    if (line.length > 0) lines.push(indent + line.join(" "));
    lines[0] = (lines[0] ?? "").slice(indent.length);
  } else {
    // A long prog: it stands alone, the options follow on their own lines.
    const indent = " ".repeat(prefix.length);
    lines.push(ctx.prog);
    let line: string[] = [];
    let lineLen = indent.length - 1;
    for (const part of parts) {
      if (lineLen + 1 + part.length > textWidth && line.length > 0) {
        lines.push(indent + line.join(" "));
        line = [];
        lineLen = indent.length - 1;
      }
      line.push(part);
      lineLen += part.length + 1;
    }
    if (line.length > 0) lines.push(indent + line.join(" "));
  }
  return `${prefix}${lines.join("\n")}\n`;
}

function formatHelp(flags: readonly FlagSpec[], ctx: ArgparseContext): string {
  const rows = flags.map((f) =>
    f.takesValue ? f.names.map((n) => `${n} ${metavar(f)}`).join(", ") : f.names.join(", "),
  );
  const body = rows.map((r, i) =>
    flags[i]?.implicit ? `  ${r.padEnd(22)}show this help message and exit` : `  ${r}`,
  );
  return `${formatUsage(flags, ctx)}\n${ctx.description}\n\noptions:\n${body.join("\n")}\n`;
}

class ArgumentError extends Error {}

/** Parses `argv` the way `parser.parse_args()` would (with knownArgs: `parse_known_args()`), with `flags` added in order. */
export function parseArgparse(
  table: readonly FlagSpec[],
  argv: readonly string[],
  ctx: ArgparseContext,
  options: { knownArgs?: boolean } = {},
): ArgparseOutcome {
  // argparse adds -h/--help before the engine's own flags.
  const flags = [...table.filter((f) => f.implicit === true), ...table.filter((f) => f.implicit !== true)];
  const byName = new Map<string, FlagSpec>();
  for (const f of flags) for (const n of f.names) byName.set(n, f);
  const names = flags.flatMap((f) => f.names);
  const fail = (message: string): ArgparseOutcome => ({
    kind: "exit",
    code: 2,
    stdout: "",
    stderr: `${formatUsage(flags, ctx)}${ctx.prog}: error: ${message}\n`,
  });
  const argName = (f: FlagSpec): string => `argument ${f.names.join("/")}`;

  // 1. Classify every argument (an ambiguous prefix is refused here, before any conversion).
  type Optional = { flag: FlagSpec | undefined; optionString: string; explicit: string | undefined };
  const classified: (Optional | "A" | "-")[] = [];
  let afterSeparator = false;
  for (const arg of argv) {
    if (afterSeparator) {
      classified.push("A");
      continue;
    }
    if (arg === "--") {
      afterSeparator = true;
      classified.push("-");
      continue;
    }
    if (!arg.startsWith("-") || arg.length === 1) {
      classified.push("A");
      continue;
    }
    const exact = byName.get(arg);
    if (exact) {
      classified.push({ flag: exact, optionString: arg, explicit: undefined });
      continue;
    }
    const eq = arg.indexOf("=");
    if (eq >= 0 && byName.has(arg.slice(0, eq))) {
      classified.push({
        flag: byName.get(arg.slice(0, eq)),
        optionString: arg.slice(0, eq),
        explicit: arg.slice(eq + 1),
      });
      continue;
    }
    const matches: Optional[] = [];
    if (arg.startsWith("--")) {
      const prefix = eq >= 0 ? arg.slice(0, eq) : arg;
      const explicit = eq >= 0 ? arg.slice(eq + 1) : undefined;
      for (const n of names)
        if (n.startsWith(prefix)) matches.push({ flag: byName.get(n), optionString: n, explicit });
    } else {
      for (const n of names) {
        if (n === arg.slice(0, 2))
          matches.push({ flag: byName.get(n), optionString: n, explicit: arg.slice(2) });
        else if (n.startsWith(arg))
          matches.push({ flag: byName.get(n), optionString: n, explicit: undefined });
      }
    }
    if (matches.length > 1)
      return fail(`ambiguous option: ${arg} could match ${matches.map((m) => m.optionString).join(", ")}`);
    const only = matches[0];
    if (only) {
      classified.push(only);
      continue;
    }
    // A negative number or a text with a space is a value, not an option.
    if (/^-\d+$|^-\d*\.\d+$/.test(arg) || arg.includes(" ")) {
      classified.push("A");
      continue;
    }
    classified.push({ flag: undefined, optionString: arg, explicit: undefined });
  }

  // 2. Consume them in order, converting each value as it comes.
  const values: ParsedValues = new Map();
  const extras: string[] = [];
  let i = 0;
  try {
    while (i < argv.length) {
      const c = classified[i];
      if (c === "A" || c === "-" || c === undefined) {
        extras.push(argv[i] ?? "");
        i++;
        continue;
      }
      const flag = c.flag;
      if (flag === undefined) {
        extras.push(argv[i] ?? "");
        i++;
        continue;
      }
      if (!flag.takesValue) {
        if (c.explicit !== undefined) {
          // "-hx": a short flag followed by more short flags; none of ours combine, so refused.
          throw new ArgumentError(`${argName(flag)}: ignored explicit argument ${pyRepr(c.explicit)}`);
        }
        if (flag.implicit) return { kind: "exit", code: 0, stdout: formatHelp(flags, ctx), stderr: "" };
        values.set(flagKey(flag), true);
        i++;
        continue;
      }
      let raw: string;
      if (c.explicit !== undefined) {
        raw = c.explicit;
        i++;
      } else {
        // An optional's one value is the next argument, if that is no option and no "--".
        if (classified[i + 1] !== "A") throw new ArgumentError(`${argName(flag)}: expected one argument`);
        raw = argv[i + 1] ?? "";
        i += 2;
      }
      const value = convert(flag, raw);
      if (flag.append === true) values.set(flagKey(flag), [...((values.get(flagKey(flag)) as unknown[] | undefined) ?? []), value]);
      else values.set(flagKey(flag), value);
    }
  } catch (error) {
    if (error instanceof ArgumentError) return fail(error.message);
    if (error instanceof UncaughtPythonError)
      return { kind: "exit", code: 1, stdout: "", stderr: uncaughtTraceback(error, ctx) };
    throw error;
  }
  if (extras.length > 0 && options.knownArgs !== true) return fail(`unrecognized arguments: ${extras.join(" ")}`);
  return { kind: "ok", values, extras };

  function convert(flag: FlagSpec, raw: string): unknown {
    const invalid = (typeName: string): ArgumentError =>
      new ArgumentError(`${argName(flag)}: invalid ${typeName} value: ${pyRepr(raw)}`);
    let value: unknown;
    switch (flag.type) {
      case "int":
        value = pyInt(raw);
        if (value === undefined) throw invalid("int");
        break;
      case "float":
        value = pyFloat(raw);
        if (value === undefined) throw invalid("float");
        break;
      case "json": {
        const parsed = pyJsonLoads(raw);
        if (!parsed.ok) throw invalid("loads");
        value = parsed.value;
        break;
      }
      case "size":
        value = parseSize(raw, () => invalid("_parse_size"));
        break;
      case "csv-list":
        value = raw.split(",");
        break;
      default:
        value = raw;
    }
    if (flag.choices && !flag.choices.includes(String(value)))
      throw new ArgumentError(
        `${argName(flag)}: invalid choice: ${pyRepr(raw)} (choose from ${flag.choices.map((c) => pyRepr(c)).join(", ")})`,
      );
    return value;
  }
}

/** An exception argparse lets through (it catches only ArgumentTypeError, TypeError and ValueError). */
class UncaughtPythonError extends Error {
  constructor(
    readonly frames: readonly PyFrame[],
    readonly exception: string,
  ) {
    super(exception);
  }
}

/**
 * mlx_lm.utils._parse_size: leading digits and dots as a float, then a suffix of "", M, G, MB or
 * GB (any case, spaces around). float('') raises ValueError (argparse's "invalid _parse_size
 * value"); an unknown suffix raises KeyError, which argparse does not catch: a traceback, exit 1.
 */
function parseSize(raw: string, invalid: () => Error): number {
  const digits = /^[\d.]*/.exec(raw)?.[0] ?? "";
  const number = pyFloat(digits);
  if (number === undefined || digits.trim() !== digits || digits === "") throw invalid();
  const suffix = raw.slice(digits.length).trim().toUpperCase();
  const sizes: Record<string, number> = { M: 1e6, G: 1e9, MB: 1e6, GB: 1e9, "": 1 };
  const factor = sizes[suffix];
  if (factor === undefined)
    throw new UncaughtPythonError(
      [{ file: "mlx_lm/utils.py", line: 69, func: "_parse_size", code: "return int(digits * sizes[size])" }],
      `KeyError: ${pyRepr(suffix)}`,
    );
  return Math.trunc(number * factor);
}

function uncaughtTraceback(error: UncaughtPythonError, ctx: ArgparseContext): string {
  const argparse = `${ctx.pythonLib}/argparse.py`;
  const frames: PyFrame[] = [
    ...ctx.callerFrames,
    {
      file: argparse,
      line: 1869,
      func: "parse_args",
      code: "args, argv = self.parse_known_args(args, namespace)",
    },
    {
      file: argparse,
      line: 1902,
      func: "parse_known_args",
      code: "namespace, args = self._parse_known_args(args, namespace)",
    },
    {
      file: argparse,
      line: 2114,
      func: "_parse_known_args",
      code: "start_index = consume_optional(start_index)",
    },
    {
      file: argparse,
      line: 2054,
      func: "consume_optional",
      code: "take_action(action, args, option_string)",
    },
    {
      file: argparse,
      line: 1962,
      func: "take_action",
      code: "argument_values = self._get_values(action, argument_strings)",
    },
    { file: argparse, line: 2496, func: "_get_values", code: "value = self._get_value(action, arg_string)" },
    { file: argparse, line: 2529, func: "_get_value", code: "result = type_func(arg_string)" },
    ...error.frames.map((f) => ({ ...f, file: `${ctx.sitePackages}/${f.file}` })),
  ];
  return pyTraceback(frames, error.exception);
}
