import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { EngineId } from "../../shared/engines";
import { ApiError } from "../api/ApiError";
import type { EngineDescription } from "../engines/registry";
import { defaultModuleDir, moduleDirProblem } from "../engines/llama/nodeLlamaCpp";

/** Where the supervisor looks for engines, beyond PATH. */
export interface EngineLocatorOptions {
  /** Explicit executables chosen by the user (a setting); they win over PATH. */
  executables?: Partial<Record<EngineId, string>>;
  /** Environment whose PATH is searched (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Home folder for the usual places (default os.homedir()). */
  home?: string;
  /** The Node binary that runs the built-in engine (default process.execPath). */
  nodePath?: string;
  /** The bundled built-in engine script (default: llama-engine.js next to the running bundle). */
  llamaScript?: string;
}

/** How to run an engine: the executable, plus what the built-in engine needs. */
export interface LocatedEngine {
  executable: string;
  nodePath: string;
  llamaScript: string;
}

/** The bundled built-in engine script next to the running bundle (dist/manager.js → dist/llama-engine.js). */
export function defaultLlamaScript(): string {
  return path.join(__dirname, "llama-engine.js");
}

/** Folders where pip, pipx, uv and Homebrew put executables, in the order they are searched after PATH. */
export function usualPlaces(home: string): string[] {
  const places = [path.join(home, ".local", "bin")];
  for (const toolsDir of [
    path.join(home, ".local", "pipx", "venvs"),
    path.join(home, ".local", "share", "uv", "tools"),
  ]) {
    let tools: string[] = [];
    try {
      tools = fs.readdirSync(toolsDir).sort();
    } catch {
      // Not installed: nothing to add.
    }
    for (const tool of tools) places.push(path.join(toolsDir, tool, "bin"));
  }
  places.push("/opt/homebrew/bin", "/usr/local/bin");
  return places;
}

function isExecutableFile(file: string): boolean {
  try {
    if (!fs.statSync(file).isFile()) return false;
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The first `name` in PATH then the usual places, or undefined. */
export function findExecutable(name: string, env: NodeJS.ProcessEnv, home: string): string | undefined {
  const pathDirs = (env["PATH"] ?? "").split(path.delimiter).filter((dir) => dir.length > 0);
  for (const dir of [...pathDirs, ...usualPlaces(home)]) {
    const candidate = path.join(dir, name);
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

/**
 * Finds the executable of `engine`: the explicit setting, then PATH, then the usual places.
 * Throws ApiError 400 `engine_missing` with the install hint when it is not there.
 */
export function locateEngine(engine: EngineDescription, options: EngineLocatorOptions = {}): LocatedEngine {
  const env = options.env ?? process.env;
  const home = options.home ?? os.homedir();
  const nodePath = options.nodePath ?? process.execPath;
  const llamaScript = options.llamaScript ?? defaultLlamaScript();
  if (engine.id === "llama") {
    if (!fs.existsSync(llamaScript)) {
      throw new ApiError(
        400,
        "engine_missing",
        `The built-in engine's script ${llamaScript} is missing: rebuild with \`npm run build\`.`,
        "engine",
        {
          engine: engine.id,
          installHint: engine.installHint,
        },
      );
    }
    const moduleDir = env["MLX_LLAMA_MODULE_DIR"] ?? defaultModuleDir(path.dirname(llamaScript));
    if (moduleDirProblem(moduleDir) !== undefined) {
      throw new ApiError(
        400,
        "engine_missing",
        `The built-in llama engine is not installed (no node-llama-cpp in ${moduleDir}). Install it with \`npm run setup:llama\`.`,
        "engine",
        {
          engine: engine.id,
          installHint: engine.installHint,
        },
      );
    }
    return { executable: nodePath, nodePath, llamaScript };
  }
  const explicit = options.executables?.[engine.id];
  if (explicit !== undefined && explicit !== "") {
    if (!isExecutableFile(explicit)) {
      throw new ApiError(
        400,
        "engine_missing",
        `The ${engine.label} executable set for this manager, ${explicit}, does not exist or is not executable. Fix the setting, or install it: ${engine.installHint}.`,
        "engine",
        {
          engine: engine.id,
          installHint: engine.installHint,
          configured: explicit,
        },
      );
    }
    return { executable: explicit, nodePath, llamaScript };
  }
  const found = findExecutable(engine.executable, env, home);
  if (found === undefined) {
    throw new ApiError(
      400,
      "engine_missing",
      `${engine.label} is not installed: no "${engine.executable}" on PATH or in ~/.local/bin, pipx or uv tool folders, /opt/homebrew/bin or /usr/local/bin. Install it with: ${engine.installHint}.`,
      "engine",
      { engine: engine.id, installHint: engine.installHint },
    );
  }
  return { executable: found, nodePath, llamaScript };
}
