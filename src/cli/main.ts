import { formatMemory } from "../shared/memory";
import type { ManagerSettingsPatch } from "../shared/settings";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline/promises";
import { Command, InvalidArgumentError, Option } from "commander";
import { ensureManager, resolveDataDir } from "../client/discovery";
import { fetchGatewayKey, rotateGatewayKey } from "../client/gatewayKey";
import { ManagerClient, ManagerRequestError } from "../client/ManagerClient";
import { DEFAULT_MANAGER_PORT } from "../shared/api";
import { modelRefLabel, type Profile, type ProfileInput, type ProfilePatch } from "../shared/profiles";
import { formatBytes, formatCount, table } from "./format";
import { addHubCommands } from "./hubCommands";
import { ContextStore } from "./contexts";
import { addRemoteCommands } from "./remoteCommands";
import { addHostCommands } from "./hostCommands";
import { addBenchCommands } from "./benchCommands";
import { addJobCommands } from "./jobCommands";
import { addServerCommands } from "./serverCommands";
import { addShareCommands } from "./shareCommands";

declare const __MANAGER_VERSION__: string;
const VERSION = typeof __MANAGER_VERSION__ === "string" ? __MANAGER_VERSION__ : "0.0.0-dev";

const out = (text: string): void => void process.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
const json = (value: unknown): void => { out(JSON.stringify(value, null, 2)); };

interface GlobalOptions {
  dataDir?: string;
  url?: string;
  token?: string;
  context?: string;
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError("a port is a whole number from 0 to 65535");
  return port;
}

/** The manager to talk to: MLX_MANAGER_URL (+ token), else the local one, started if none runs. */
async function connect(program: Command): Promise<ManagerClient> {
  const global = program.opts<GlobalOptions>();
  const url = global.url ?? process.env["MLX_MANAGER_URL"];
  if (url) {
    const token = global.token ?? process.env["MLX_MANAGER_TOKEN"];
    if (!token) throw new ManagerRequestError(0, "unauthorized", "A remote manager needs a token: pass --token or set MLX_MANAGER_TOKEN.");
    return new ManagerClient({ url: url.replace(/\/+$/, ""), token });
  }
  const context = new ContextStore(resolveDataDir(global.dataDir)).resolve(global.context);
  if (context !== undefined) {
    if (context.expiresAt < Date.now()) throw new ManagerRequestError(401, "unauthorized", `The token of context "${context.name}" expired: run \`mlx-manager login ${context.url}\` again.`);
    return new ManagerClient({ url: context.url, token: context.token, ...(context.tlsPin ? { tlsPin: context.tlsPin } : {}) });
  }
  return ensureManager({ dataDir: resolveDataDir(global.dataDir), managerScript: __filename });
}

/** `--set key=value` → a profile option; numbers, booleans, JSON arrays and env.NAME=value understood. */
function parseSetting(entry: string, options: Record<string, unknown>): Record<string, unknown> {
  const eq = entry.indexOf("=");
  if (eq <= 0) throw new InvalidArgumentError(`"${entry}" is not key=value`);
  const key = entry.slice(0, eq);
  const raw = entry.slice(eq + 1);
  if (key.startsWith("env.")) {
    const env = { ...((options["env"] as Record<string, string> | undefined) ?? {}), [key.slice(4)]: raw };
    return { ...options, env };
  }
  let value: unknown = raw;
  if (raw === "true" || raw === "false") value = raw === "true";
  else if (raw !== "" && !Number.isNaN(Number(raw))) value = Number(raw);
  else if (raw.startsWith("[") || raw.startsWith("{")) {
    try {
      value = JSON.parse(raw);
    } catch {
      throw new InvalidArgumentError(`${key}: "${raw}" is not valid JSON`);
    }
  } else if (PATH_SETTINGS.has(key)) value = localPath(key, raw);
  return { ...options, [key]: value };
}

/** Options that name a file or folder: a relative one means the user's current folder (the manager keeps only absolute paths). */
const PATH_SETTINGS = new Set(["adapterPath", "draftModel", "chatTemplateFile", "mmproj"]);

function localPath(key: string, raw: string): string {
  if (raw.startsWith("~") || path.isAbsolute(raw)) return raw;
  const resolved = path.resolve(raw);
  // A draft model may be a repo id ("org/name") the MLX engines take from the cache.
  if (key === "draftModel" && !fs.existsSync(resolved) && /^[\w.-]+\/[\w.-]+$/.test(raw)) return raw;
  return resolved;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** `org/name[@revision][:file.gguf]`, or an absolute path. */
function parseModel(spec: string): ProfileInput["model"] {
  if (spec.startsWith("/") || /^[A-Za-z]:[\\/]/.test(spec) || spec.startsWith("~")) {
    return { source: "path", path: spec.startsWith("~") ? os.homedir() + spec.slice(1) : spec };
  }
  const [repoAndRev = "", file] = spec.split(":");
  const [repoId = "", revision] = repoAndRev.split("@");
  return { source: "cache", repoId, ...(revision ? { revision } : {}), ...(file ? { file } : {}) };
}

function describeModel(profile: Profile, backends: readonly { id: string; name: string }[] = []): string {
  return modelRefLabel(profile.model, (id) => backends.find((b) => b.id === id)?.name);
}

/** The remote backends, to name them in profile listings (none from a manager without them). */
async function backendsOf(client: ManagerClient): Promise<{ id: string; name: string }[]> {
  return client.remotes().then((r) => r.remotes, () => []);
}

async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) return false;
  const rl = readline.createInterface({ input: process.stdin, output: process.stdout });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}

export function buildProgram(): Command {
  const program = new Command("mlx-manager")
    .description("Run and manage local MLX and GGUF model servers.")
    .version(VERSION)
    .option("--data-dir <dir>", "manager data directory (default: MLX_MANAGER_HOME or ~/.mlx-manager)")
    .option("--url <url>", "talk to the manager at this URL (default: MLX_MANAGER_URL, else the local one)")
    .option("--token <token>", "token for --url (default: MLX_MANAGER_TOKEN)")
    .option("--context <name>", "talk to a team server signed in with `login` (default: the current context, else the local manager)")
    .showHelpAfterError();

  program
    .command("serve")
    .description("run the manager in the foreground")
    .addOption(new Option("--port <port>", "API port on 127.0.0.1 (0: any free port)").argParser(parsePort).default(Number(process.env["MLX_MANAGER_PORT"] ?? DEFAULT_MANAGER_PORT)))
    .option("--hf-cache <dir>", "Hugging Face cache (default: HF_HUB_CACHE, HF_HOME/hub, ~/.cache/huggingface/hub)")
    .option("--no-watch", "do not watch the cache for changes")
    .option("--stop-servers-on-exit", "stop every model server when the manager exits (default: they keep running and the next manager re-adopts them)")
    .action(async (opts: { port: number; hfCache?: string; watch: boolean; stopServersOnExit?: boolean }) => {
      const global = program.opts<GlobalOptions>();
      // Loaded only for `serve`: client commands start in a fraction of the time without it.
      const { ManagerApp, ManagerAlreadyRunningError, resolveHfCacheDir } = await import("../services/manager/serveEntry");
      const app = new ManagerApp({
        dataDir: resolveDataDir(global.dataDir),
        port: opts.port,
        hfCache: resolveHfCacheDir({ flag: opts.hfCache, env: process.env, home: os.homedir() }),
        version: VERSION,
        watchCache: opts.watch,
        stopServersOnExit: opts.stopServersOnExit === true,
        // Tests move shared mode's clock (token expiry) without waiting a week.
        ...(process.env["MLX_MANAGER_TEST_CLOCK_OFFSET_MS"] ? { clockOffsetMs: Number(process.env["MLX_MANAGER_TEST_CLOCK_OFFSET_MS"]) } : {}),
      });
      try {
        await app.start();
      } catch (error) {
        if (error instanceof ManagerAlreadyRunningError) {
          process.stderr.write(`${error.message}\n`);
          process.exit(3);
        }
        const code = (error as { code?: string }).code;
        if (code === "EADDRINUSE") {
          process.stderr.write(`Port ${opts.port} is already in use. Start with --port <another> (or --port 0 for any free port).\n`);
          process.exit(4);
        }
        throw error;
      }
      for (const notice of app.startupNotices) process.stderr.write(`notice: ${notice}\n`);
      out(`MLX manager ${VERSION} listening on ${app.url}`);
      const stop = (): void => void app.stop().then(() => process.exit(0));
      process.once("SIGTERM", stop);
      process.once("SIGINT", stop);
    });

  program
    .command("status")
    .description("show the running manager")
    .option("--json", "print JSON")
    .action(async (opts: { json?: boolean }) => {
      const status = await (await connect(program)).status();
      if (opts.json) { json(status); return; }
      out(`manager ${status.version} (pid ${status.pid}) at ${status.url}\ndata dir: ${status.dataDir}\nHF cache: ${status.hfCache}\nmodels: ${status.models}, profiles: ${status.profiles}`);
      for (const notice of status.notices) out(`notice: ${notice}`);
    });

  program
    .command("settings")
    .description("show or change the manager's settings: memory budget, default idle stop, request queue")
    .option("--memory-budget <size>", "memory the running models may hold together, e.g. 24GB, 800MB, or auto (all this machine can give models)")
    .option("--idle-stop <minutes>", "stop servers of profiles without their own idle stop after this many idle minutes (0: never)")
    .option("--queue-max <n>", "requests that may wait per server before the next is refused")
    .option("--queue-timeout <seconds>", "how long a request may wait for its turn")
    .option("--json", "print JSON")
    .action(async (opts: { memoryBudget?: string; idleStop?: string; queueMax?: string; queueTimeout?: string; json?: boolean }) => {
      const client = await connect(program);
      const patch: ManagerSettingsPatch = {};
      if (opts.memoryBudget !== undefined) patch.memoryBudgetBytes = parseSize(opts.memoryBudget);
      if (opts.idleStop !== undefined) patch.defaultIdleTimeoutSec = Math.round(wholeNumber(opts.idleStop, "--idle-stop") * 60);
      if (opts.queueMax !== undefined) patch.queueMaxLength = wholeNumber(opts.queueMax, "--queue-max");
      if (opts.queueTimeout !== undefined) patch.queueTimeoutSec = wholeNumber(opts.queueTimeout, "--queue-timeout");
      const settings = Object.keys(patch).length > 0 ? await client.updateSettings(patch) : await client.settings();
      if (opts.json) { json(settings); return; }
      const budget = await client.memoryBudget();
      out(`memory budget: ${settings.memoryBudgetBytes === null ? `auto (${formatMemory(budget.budgetBytes)}, all this machine can give models)` : formatMemory(settings.memoryBudgetBytes)}; ${formatMemory(budget.heldBytes)} held now`);
      out(`default idle stop: ${settings.defaultIdleTimeoutSec === 0 ? "never" : `${Math.round(settings.defaultIdleTimeoutSec / 60)} min`}`);
      out(`request queue: ${settings.queueMaxLength} waiting per server at most, ${settings.queueTimeoutSec} s at most`);
    });

  program
    .command("shutdown")
    .description("stop the running manager")
    .action(async () => {
      await (await connect(program)).shutdown();
      out("The manager is stopping.");
    });

  program
    .command("gateway-key")
    .description("print the gateway key: it opens /v1 only, never /api (made at first use)")
    .option("--rotate", "make a new key first (the old one stops working)")
    .option("--env", "print export lines for a shell: eval \"$(mlx-manager gateway-key --env)\"")
    .action(async (opts: { rotate?: boolean; env?: boolean }) => {
      const client = await connect(program);
      const info = opts.rotate ? await rotateGatewayKey(client) : await fetchGatewayKey(client);
      if (!opts.env) { out(info.key); return; }
      const quote = (value: string): string => `'${value.replace(/'/g, "'\\''")}'`;
      out(`export OPENAI_BASE_URL=${quote(`${client.url}/v1`)}\nexport OPENAI_API_KEY=${quote(info.key)}`);
    });

  program
    .command("models")
    .description("list the models in the Hugging Face cache")
    .option("--json", "print JSON")
    .action(async (opts: { json?: boolean }) => {
      const { models } = await (await connect(program)).models();
      if (opts.json) { json(models); return; }
      if (models.length === 0) { out("No models in the cache. Download one with `mlx-manager pull REPO` or the extension's Search."); return; }
      out(
        table(
          ["MODEL", "FORMAT", "ARCH", "QUANT", "PARAMS", "SIZE", "NOTES"],
          models.map((m) => [
            m.id,
            m.format,
            m.architecture ?? "",
            m.quantization?.label ?? "",
            m.parameters === undefined ? "" : formatCount(m.parameters),
            formatBytes(m.size),
            [m.incomplete.length > 0 ? `${m.incomplete.length} incomplete` : "", m.revisions.length > 1 ? `${m.revisions.length} revisions` : ""].filter(Boolean).join(", "),
          ]),
        ),
      );
    });

  program
    .command("rm <model>")
    .description("delete a model (or one revision) from the Hugging Face cache")
    .option("--revision <rev>", "delete only this revision")
    .option("-y, --yes", "do not ask for confirmation")
    .action(async (model: string, opts: { revision?: string; yes?: boolean }) => {
      const client = await connect(program);
      const found = (await client.models()).models.find((m) => m.id === model);
      if (!found) throw new ManagerRequestError(404, "model_missing", `"${model}" is not in the cache. See \`mlx-manager models\`.`);
      if (!opts.yes && !(await confirm(`Delete ${model}${opts.revision ? `@${opts.revision}` : ""} (${formatBytes(found.size)} on disk)?`))) {
        process.stderr.write("Not deleted (pass --yes to delete without asking).\n");
        process.exitCode = 1;
        return;
      }
      const result = await client.deleteModel(model, opts.revision);
      out(`Deleted ${result.id}${result.revision ? `@${result.revision}` : ""}: ${formatBytes(result.freedBytes)} freed.`);
    });

  const profiles = program.command("profiles").description("manage server profiles");

  profiles
    .command("list", { isDefault: true })
    .description("list profiles")
    .option("--json", "print JSON")
    .action(async (opts: { json?: boolean }) => {
      const client = await connect(program);
      const list = (await client.profiles()).profiles;
      if (opts.json) { json(list); return; }
      if (list.length === 0) { out("No profiles. Create one with `mlx-manager profiles create --name NAME --engine ENGINE --model REPO`."); return; }
      const backends = await backendsOf(client);
      out(table(["NAME", "ENGINE", "MODEL", "PORT", "VERSION"], list.map((p) => [p.name, p.engine, describeModel(p, backends), p.engine === "remote" ? "" : String(p.port), String(p.version)])));
    });

  profiles
    .command("show <profile>")
    .description("show one profile")
    .option("--json", "print JSON")
    .action(async (name: string, opts: { json?: boolean }) => {
      const client = await connect(program);
      const p = await client.profile(name);
      if (opts.json) { json(p); return; }
      out(`${p.name}\n  engine: ${p.engine}\n  model: ${describeModel(p, await backendsOf(client))}\n  port: ${p.port}\n  options: ${JSON.stringify(p.options)}\n  restart on crash: ${p.restartOnCrash}\n  aliases: ${(p.aliases ?? []).join(", ") || "none"}\n  idle stop: ${p.idleTimeoutSec === null ? "the manager's default" : p.idleTimeoutSec ? `${p.idleTimeoutSec} s` : "never"}\n  pinned: ${p.pinned}\n  group: ${p.group ?? "none"}\n  version: ${p.version}\n  id: ${p.id}`);
    });

  profiles
    .command("create")
    .description("create a profile (or --from a JSON file)")
    .option("--name <name>", "profile name")
    .option("--engine <engine>", "mlx-lm | mlx-openai-server | llama-server | llama | mlx-distributed (its hosts: --from a JSON file, or --set distributed='{…}')")
    .option("--model <model>", "org/name[@revision][:file.gguf] from the cache, or an absolute path")
    .option("--port <port>", "port, or auto", "auto")
    .option("--set <key=value>", "engine option (repeatable), e.g. maxTokens=512, env.FOO=bar", collect, [])
    .option("--restart-on-crash", "restart the server after a crash")
    .option("--idle-timeout <seconds>", "stop when idle this long (0: never; default: the manager's defaultIdleTimeoutSec)")
    .option("--pinned", "keep it running: never stopped to make room, nor for idleness")
    .option("--group <name>", "profiles of one group make room only for each other")
    .option("--alias <name>", "another model name clients may ask for, `*` as a wildcard (repeatable), e.g. 'claude-*'", collect, [])
    .option("--from <file>", "read the profile from a JSON file")
    .option("--json", "print JSON")
    .action(async (opts: { name?: string; engine?: string; model?: string; port: string; set: string[]; restartOnCrash?: boolean; idleTimeout?: string; pinned?: boolean; group?: string; alias: string[]; from?: string; json?: boolean }) => {
      let input: ProfileInput;
      if (opts.from) {
        input = JSON.parse(fs.readFileSync(opts.from, "utf8")) as ProfileInput;
      } else {
        if (!opts.name || !opts.engine || !opts.model) throw new InvalidArgumentError("create needs --name, --engine and --model (or --from FILE)");
        const options = opts.set.reduce<Record<string, unknown>>((acc, entry) => parseSetting(entry, acc), {});
        input = {
          name: opts.name,
          engine: opts.engine as ProfileInput["engine"],
          model: parseModel(opts.model),
          port: opts.port === "auto" ? "auto" : Number(opts.port),
          options: options,
          ...(opts.restartOnCrash ? { restartOnCrash: true } : {}),
          ...(opts.idleTimeout ? { idleTimeoutSec: Number(opts.idleTimeout) } : {}),
          ...(opts.pinned ? { pinned: true } : {}),
          ...(opts.group ? { group: opts.group } : {}),
          ...(opts.alias.length > 0 ? { aliases: opts.alias } : {}),
        };
      }
      const created = await (await connect(program)).createProfile(input);
      if (opts.json) { json(created); return; }
      out(`Created profile "${created.name}" (${created.engine}, ${describeModel(created)}).`);
    });

  profiles
    .command("edit <profile>")
    .description("change a profile")
    .option("--name <name>", "new name")
    .option("--engine <engine>", "engine")
    .option("--model <model>", "org/name[@revision][:file.gguf], or an absolute path")
    .option("--port <port>", "port, or auto")
    .option("--set <key=value>", "set an engine option (repeatable)", collect, [])
    .option("--unset <key>", "remove an engine option (repeatable)", collect, [])
    .option("--restart-on-crash <bool>", "true or false")
    .option("--idle-timeout <seconds>", "stop when idle this long (0: never; default: the manager's default)")
    .option("--pinned <bool>", "true: never stopped to make room, nor for idleness")
    .option("--group <name>", "profiles of one group make room only for each other (none: no group)")
    .option("--alias <name>", "add a model name clients may ask for (repeatable)", collect, [])
    .option("--unalias <name>", "remove an alias (repeatable)", collect, [])
    .option("--json", "print JSON")
    .action(async (name: string, opts: { name?: string; engine?: string; model?: string; port?: string; set: string[]; unset: string[]; restartOnCrash?: string; idleTimeout?: string; pinned?: string; group?: string; alias: string[]; unalias: string[]; json?: boolean }) => {
      const client = await connect(program);
      const current = await client.profile(name);
      const patch: ProfilePatch = { version: current.version };
      if (opts.name) patch.name = opts.name;
      if (opts.engine) patch.engine = opts.engine as ProfilePatch["engine"] & string;
      if (opts.model) patch.model = parseModel(opts.model);
      if (opts.port) patch.port = opts.port === "auto" ? "auto" : Number(opts.port);
      if (opts.restartOnCrash) patch.restartOnCrash = opts.restartOnCrash === "true";
      if (opts.idleTimeout) patch.idleTimeoutSec = opts.idleTimeout === "default" ? null : Number(opts.idleTimeout);
      if (opts.pinned) patch.pinned = opts.pinned === "true";
      if (opts.group) patch.group = opts.group === "none" ? null : opts.group;
      if (opts.alias.length > 0 || opts.unalias.length > 0) {
        const removed = new Set(opts.unalias.map((a) => a.toLowerCase()));
        patch.aliases = [...(current.aliases ?? []), ...opts.alias].filter((a) => !removed.has(a.toLowerCase()));
      }
      if (opts.set.length > 0 || opts.unset.length > 0) {
        const set = opts.set.reduce<Record<string, unknown>>((acc, entry) => parseSetting(entry, acc), { ...current.options });
        const unsetEnv = new Set(opts.unset.filter((k) => k.startsWith("env.")).map((k) => k.slice(4)));
        const env = set["env"] as Record<string, string> | undefined;
        const options = Object.fromEntries(Object.entries(set).filter(([key]) => !opts.unset.includes(key)));
        if (env && unsetEnv.size > 0) options["env"] = Object.fromEntries(Object.entries(env).filter(([name]) => !unsetEnv.has(name)));
        patch.options = options;
      }
      const updated = await client.updateProfile(current.id, patch);
      if (opts.json) { json(updated); return; }
      out(`Updated profile "${updated.name}" (version ${updated.version}).`);
    });

  profiles
    .command("rm <profile>")
    .description("delete a profile")
    .action(async (name: string) => {
      const removed = await (await connect(program)).deleteProfile(name);
      out(`Deleted profile "${removed.name}".`);
    });

  profiles
    .command("export [profiles...]")
    .description("export profiles as JSON (all when none named)")
    .option("-o, --output <file>", "write to a file instead of stdout")
    .action(async (names: string[], opts: { output?: string }) => {
      const data = await (await connect(program)).exportProfiles(names);
      const text = `${JSON.stringify(data, null, 2)}\n`;
      if (opts.output) {
        fs.writeFileSync(opts.output, text);
        out(`Exported ${data.profiles.length} profile(s) to ${opts.output}.`);
      } else out(text);
    });

  profiles
    .command("import <file>")
    .description("import profiles from an export file")
    .option("--json", "print JSON")
    .action(async (file: string, opts: { json?: boolean }) => {
      let data: unknown;
      try {
        data = JSON.parse(fs.readFileSync(file, "utf8"));
      } catch (error) {
        throw new InvalidArgumentError(`${file} is not a readable JSON file (${(error as Error).message})`);
      }
      const result = await (await connect(program)).importProfiles(data);
      if (opts.json) { json(result); return; }
      out(`Imported ${result.created.length} profile(s).`);
      for (const s of result.skipped) out(`skipped "${s.name}": ${s.message}`);
      if (result.skipped.length > 0) process.exitCode = 1;
    });

  addServerCommands(program, () => connect(program));
  addShareCommands(
    program,
    () => ensureManager({ dataDir: resolveDataDir(program.opts<GlobalOptions>().dataDir), managerScript: __filename }),
    () => resolveDataDir(program.opts<GlobalOptions>().dataDir),
    () => connect(program),
  );
  addHubCommands(program, () => connect(program));
  addRemoteCommands(program, () => connect(program));
  addHostCommands(program, () => connect(program));
  addJobCommands(program, () => connect(program), parseModel, confirm);
  addBenchCommands(program, () => connect(program));
  return program;
}

async function main(): Promise<void> {
  try {
    await buildProgram().parseAsync(process.argv);
  } catch (error) {
    if (error instanceof ManagerRequestError) {
      process.stderr.write(`error: ${error.message}${error.field ? ` (field: ${error.field})` : ""}\n`);
      process.exit(1);
    }
    if (error instanceof InvalidArgumentError) {
      process.stderr.write(`error: ${error.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}

if (require.main === module) void main();

/** "24GB", "800 MB", "1.5GiB", "auto" → bytes (null for auto). */
export function parseSize(text: string): number | null {
  const value = text.trim().toLowerCase();
  if (value === "auto") return null;
  const match = /^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|tb|kib|mib|gib|tib)?$/.exec(value);
  if (!match) throw new InvalidArgumentError(`"${text}" is not a size: write it like 24GB, 800MB or 1.5GiB, or auto`);
  const units: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12, kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30, tib: 2 ** 40 };
  return Math.round(Number(match[1]) * (units[match[2] ?? "b"] ?? 1));
}

function wholeNumber(text: string, flag: string): number {
  const n = Number(text);
  if (!/^\d+(?:\.\d+)?$/.test(text.trim()) || !Number.isFinite(n)) throw new InvalidArgumentError(`${flag} takes a number, got "${text}"`);
  return n;
}
