import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { EngineId } from "../../shared/engines";
import type { Profile } from "../../shared/profiles";
import { ApiError } from "../api/ApiError";
import type { EngineDescription, LaunchContext } from "../engines/registry";
import { writeFileAtomicSync } from "../fs/atomicWrite";
import type { Logger } from "../logging/Logger";
import { processStartTime } from "../process/processInfo";
import type { ProfileOptions } from "../../shared/profiles";
import { resolveModel, type ModelCatalog, type ResolvedModel } from "../profiles/modelResolution";
import { resolvePathOptions } from "../profiles/optionPaths";
import { locateEngine, type EngineLocatorOptions, type LocatedEngine } from "./engineLocator";
import type { MemoryFit } from "../../shared/memory";
import { formatBytes, usableMemory, type UsableMemory } from "../models/memoryFit";
import { doesNotFitMessage, fitFor, localModelFacts } from "../models/MemoryEstimator";
import { describeModelRef, freshEntryState, loopbackUrl, type ServerEntry } from "./ServerEntry";
import { openLogForAppend } from "./serverLogs";
import type { ServerLogFiles } from "./ServerLogFiles";

export interface ServerLauncherOptions {
  catalog: ModelCatalog;
  logs: ServerLogFiles;
  logger: Logger;
  /** The engines' working directory (the log folder: nothing of the user's is in it). */
  cwd: string;
  /** Environment of the engines (plus each profile's options.env) and of the PATH lookup. */
  env: NodeJS.ProcessEnv;
  /** Explicit engine executables (a user setting); they win over PATH. */
  executables?: Partial<Record<EngineId, string>> | undefined;
  /** See EngineLocatorOptions: where the engines are looked for, and what runs the built-in one. */
  home?: string | undefined;
  nodePath?: string | undefined;
  llamaScript?: string | undefined;
  /** Free memory for the fit check (default os.freemem). */
  freeMemory?: (() => number) | undefined;
  /** The memory this machine can give a model (a start that needs more is refused); default: memory less a headroom. */
  usableMemory?: (() => UsableMemory) | undefined;
}

/**
 * The ranks a distributed engine runs on other machines (src/services/distributed): checked before
 * a start, ended after the server's process group here has ended.
 */
export interface RanksElsewhereControl {
  /** Before a start: checks every host and ends what an earlier run left there; throws ApiError (409 hosts_not_ready) saying what is wrong. */
  beforeStart(profile: Profile, prepared: PreparedLaunch, signal: AbortSignal): Promise<void>;
  /** After the process group here ended (a stop, a crash, a failed start): ends the profile's ranks on every host. */
  end(profile: Profile, engine: EngineDescription): Promise<void>;
}

/** What the checks before a launch found: the engine to run and the model to give it. */
export interface PreparedLaunch {
  engine: EngineDescription;
  located: LocatedEngine;
  model: ResolvedModel;
  /** The profile's options with their paths checked and resolved (a draft model's repo id → its snapshot). */
  options: ProfileOptions;
  /** What the model needs against this machine's memory. */
  fit: MemoryFit;
}

export interface SpawnRequest extends PreparedLaunch {
  profile: Profile;
  port: number;
  logFile: string;
}

/** A server process just spawned: detached in its own group, writing to its log itself. */
export interface SpawnedServer {
  child: ChildProcess;
  pid: number;
  processStart: string | undefined;
  /** The command line, argument by argument. */
  command: string[];
  /** What requests must name as `model` (the engine description says). */
  upstreamModel: string;
  warnings: string[];
}

/** Quotes an argument for the log's start banner only; engines always get an argument array. */
function quoteArg(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, "'\\''")}'`;
}

/** Memory less a headroom (on macOS the manager gives the GPU's wired limit, read at start). */
function defaultUsableMemory(): UsableMemory {
  return usableMemory(process.platform === "darwin" ? "linux" : process.platform, os.totalmem());
}

/** Launches engines: the checks before a start, then one detached spawn per server. */
export class ServerLauncher {
  constructor(private readonly options: ServerLauncherOptions) {}

  /** The environment a profile's engine runs in: the manager's plus the profile's `env`. */
  environment(profile: Profile): NodeJS.ProcessEnv {
    return { ...this.options.env, ...profile.options.env };
  }

  /** Finds the profile's engine and model and checks that the engine serves the model's format; throws ApiError saying which check failed. */
  prepare(profile: Profile, engine: EngineDescription): PreparedLaunch {
    const { env, executables, home, nodePath, llamaScript } = this.options;
    const locatorOptions: EngineLocatorOptions = { env };
    if (executables) locatorOptions.executables = executables;
    if (home !== undefined) locatorOptions.home = home;
    if (nodePath !== undefined) locatorOptions.nodePath = nodePath;
    if (llamaScript !== undefined) locatorOptions.llamaScript = llamaScript;
    const located = locateEngine(engine, locatorOptions);
    return { located, ...this.prepareModel(profile, engine) };
  }

  /** The checks of a launch that do not need the engine here: the model, its format, the options' paths, memory. */
  prepareModel(profile: Profile, engine: EngineDescription): Omit<PreparedLaunch, "located"> {
    const model = resolveModel(profile.model, this.options.catalog);
    if (!engine.formats.includes(model.format)) {
      throw new ApiError(
        400,
        "model_format_mismatch",
        `${engine.label} serves ${engine.formats.join(" or ")} models, but the model of "${profile.name}" is ${model.format}. Edit the profile to use an engine that serves ${model.format}.`,
        "engine",
      );
    }
    const options = resolvePathOptions(profile.options, engine.id, this.options.catalog);
    const usable = (this.options.usableMemory ?? defaultUsableMemory)();
    const fit = fitFor(localModelFacts(model), engine, profile.options, usable);
    if (fit.verdict === "does_not_fit") throw new ApiError(409, "does_not_fit", doesNotFitMessage(profile.name, fit), profile.options.contextLength === undefined ? "model" : "options.contextLength");
    return { engine, model, options, fit };
  }

  /**
   * Spawns the engine with an argument array, detached in its own process group so that it
   * outlives the manager and can be ended with everything it starts, its output appended straight
   * to its log file. Resolves once the process runs; throws ApiError `engine_missing` when it cannot.
   */
  async spawn(request: SpawnRequest): Promise<SpawnedServer> {
    const { profile, engine, located, model, options, port, logFile, fit } = request;
    const warnings: string[] = [];
    const free = (this.options.freeMemory ?? os.freemem)();
    if (fit.need.totalBytes > free) {
      warnings.push(`The model may not fit in memory: it needs about ${fit.summary} and ${formatBytes(free)} is free. It may load slowly, swap, or fail; close other apps or pick a smaller quantization or context.`);
    } else if (fit.verdict === "tight") {
      warnings.push(`Memory is tight: the model needs about ${fit.summary} of the ${formatBytes(fit.usable.bytes)} this machine can give a model.`);
    }

    const alias = profile.name;
    const modelRepo = profile.model.source === "cache" ? profile.model.repoId : undefined;
    const launch: LaunchContext = {
      modelPath: model.path,
      port,
      alias,
      options,
      nodePath: located.nodePath,
      llamaScript: located.llamaScript,
      profileId: profile.id,
      filesDir: path.join(this.options.cwd, "run", profile.id),
      ...(modelRepo === undefined ? {} : { modelRepo }),
    };
    const files = engine.launchFiles?.(launch) ?? {};
    if (Object.keys(files).length > 0 && launch.filesDir !== undefined) {
      fs.mkdirSync(launch.filesDir, { recursive: true, mode: 0o700 });
      for (const [name, content] of Object.entries(files)) writeFileAtomicSync(path.join(launch.filesDir, name), content, 0o600);
    }
    const built = engine.buildCommand(launch, located.executable);
    const command = [built.command, ...built.args];
    const upstreamModel = engine.requestModel(launch);
    this.options.logs.rotateBeforeStart(logFile);
    this.options.logs.note(
      logFile,
      `starting "${profile.name}" on port ${port}: ${command.map(quoteArg).join(" ")}`,
    );

    const fd = openLogForAppend(logFile);
    let child: ChildProcess;
    try {
      child = spawn(built.command, built.args, {
        detached: true,
        stdio: ["ignore", fd, fd],
        env: this.environment(profile),
        cwd: this.options.cwd,
        windowsHide: true,
      });
    } finally {
      fs.closeSync(fd);
    }
    await new Promise<void>((resolve, reject) => {
      child.once("spawn", resolve);
      child.once("error", (error: NodeJS.ErrnoException) => {
        reject(
          new ApiError(
            400,
            "engine_missing",
            `Could not run ${built.command} (${error.code ?? error.message}). Check that ${engine.label} is installed and executable: ${engine.installHint}.`,
            "engine",
            {
              engine: engine.id,
              installHint: engine.installHint,
            },
          ),
        );
      });
    });
    const pid = child.pid;
    if (pid === undefined) throw new ApiError(500, "internal", `Spawning ${built.command} gave no pid.`);
    // An 'error' event without a listener would take the manager down with it.
    child.on("error", (error) => {
      this.options.logger.warn("server process error", { profile: profile.name, pid, error: error.message });
    });
    // The manager must be able to exit while its servers run on.
    child.unref();
    return { child, pid, processStart: processStartTime(pid), command, upstreamModel, warnings };
  }
}

/** Where and when a spawned server runs, for its entry. */
export interface SpawnedEntryFields {
  profile: Profile;
  engine: EngineDescription;
  port: number;
  logFile: string;
  launchId: number;
  startedAt: number;
  /** A restart after a crash carries the previous entry's restart count and crash history. */
  carried?: Pick<ServerEntry, "crashes"> & { info: Pick<ServerEntry["info"], "restarts"> };
}

/** The entry of a server just spawned: `starting`, its exit recorded in the entry when it comes. */
export function spawnedEntry(spawned: SpawnedServer, fields: SpawnedEntryFields): ServerEntry {
  const { profile, port, logFile, startedAt, carried } = fields;
  let markExited: () => void = () => undefined;
  const entry: ServerEntry = {
    info: {
      profileId: profile.id,
      profileName: profile.name,
      engine: fields.engine.id,
      model: describeModelRef(profile),
      port,
      pid: spawned.pid,
      state: "starting",
      upstreamUrl: loopbackUrl(port),
      startedAt,
      restarts: carried?.info.restarts ?? 0,
      logFile,
      adopted: false,
      command: spawned.command,
      warnings: spawned.warnings,
      ...(fields.engine.elsewhere === undefined ? {} : { hosts: fields.engine.elsewhere.hosts(profile.options) }),
    },
    launch: fields.launchId,
    processStart: spawned.processStart,
    child: spawned.child,
    exited: new Promise<void>((resolve) => {
      markExited = resolve;
    }),
    upstreamModel: spawned.upstreamModel,
    ...freshEntryState(),
    startAbort: new AbortController(),
    crashes: carried?.crashes ?? [],
  };
  spawned.child.once("exit", (code, signal) => {
    entry.exit = { code, signal };
    markExited();
  });
  return entry;
}
