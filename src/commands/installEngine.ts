import { existsSync } from "node:fs";
import path from "node:path";
import * as vscode from "vscode";
import type { EngineId } from "../shared/engines";
import type { CommandDefinition } from "./CommandContext";

/** The engines that run on this machine (a remote backend is added, not installed). */
type LocalEngineId = Exclude<EngineId, "remote">;

/** How an engine gets onto this machine: a command line (an argument array), a setting, or nothing to do. */
export type InstallPlan =
  | { engine: LocalEngineId; kind: "run"; command: string; args: string[]; cwd?: string; what: string }
  | { engine: LocalEngineId; kind: "bundled"; what: string }
  | { engine: LocalEngineId; kind: "setting"; setting: string; what: string }
  | { engine: LocalEngineId; kind: "unsupported"; what: string };

/** `<os>-<cpu>` as VS Code names package targets (darwin-arm64, linux-x64, win32-x64, ...). */
export type PlatformKey = `${NodeJS.Platform}-${string}`;

const SETTING: Record<LocalEngineId, string> = {
  "mlx-lm": "mlx.engines.mlxLm.executable",
  "mlx-openai-server": "mlx.engines.mlxOpenAiServer.executable",
  "llama-server": "mlx.engines.llamaServer.executable",
  llama: "mlx.profiles.defaultEngine",
  "mlx-distributed": "mlx.engines.mlxLaunch.executable",
};

/** The way to install `engine` on `platform`; `extensionPath` tells whether the llama engine came with the package. */
export function installPlan(engine: LocalEngineId, platform: PlatformKey, extensionPath: string): InstallPlan {
  const mac = platform.startsWith("darwin-");
  const appleSilicon = platform === "darwin-arm64";
  const windows = platform.startsWith("win32-");
  switch (engine) {
    case "mlx-lm":
    case "mlx-openai-server": {
      if (!appleSilicon) {
        return { engine, kind: "unsupported", what: vscode.l10n.t("MLX runs only on a Mac with Apple silicon. Here, run GGUF models with the built-in llama engine or llama.cpp's llama-server.") };
      }
      return {
        engine,
        kind: "run",
        command: "python3",
        args: ["-m", "pip", "install", "--user", "--upgrade", engine],
        what: vscode.l10n.t("Installs {0} from PyPI for your user with pip (Python 3.10 or newer). If the command is then not on PATH, set {1}.", engine, SETTING[engine]),
      };
    }
    case "mlx-distributed":
      if (!appleSilicon) return { engine, kind: "unsupported", what: vscode.l10n.t("MLX runs only on a Mac with Apple silicon. Here, run GGUF models with the built-in llama engine or llama.cpp's llama-server.") };
      return {
        engine,
        kind: "run",
        command: "python3",
        args: ["-m", "pip", "install", "--user", "--upgrade", "mlx", "mlx-lm"],
        what: vscode.l10n.t("Installs mlx (with mlx.launch) and mlx-lm from PyPI for your user with pip. Every other Mac of a distributed profile needs the same versions at the same Python path."),
      };
    case "llama-server":
      if (mac || windows) {
        return {
          engine,
          kind: "run",
          command: mac ? "brew" : "winget",
          args: ["install", "llama.cpp"],
          what: mac ? vscode.l10n.t("Installs llama.cpp (llama-server) with Homebrew.") : vscode.l10n.t("Installs llama.cpp (llama-server) with winget."),
        };
      }
      return { engine, kind: "setting", setting: SETTING[engine], what: vscode.l10n.t("Build llama.cpp or download a release of it, then set {0} to its llama-server (or put llama-server on PATH).", SETTING[engine]) };
    case "llama": {
      if (appleSilicon) {
        return { engine, kind: "unsupported", what: vscode.l10n.t("The package for Apple silicon leaves the built-in llama engine out: use mlx-lm for MLX models, or llama.cpp's llama-server for GGUF models.") };
      }
      if (existsSync(path.join(extensionPath, ".engines", "llama", "node_modules", "node-llama-cpp", "package.json"))) {
        return { engine, kind: "bundled", what: vscode.l10n.t("The built-in llama engine is installed with this extension: profiles of GGUF models can use it now.") };
      }
      // A development checkout: the package script has not put the engine next to the extension.
      return {
        engine,
        kind: "run",
        command: windows ? "npm.cmd" : "npm",
        args: ["run", "setup:llama"],
        cwd: extensionPath,
        what: vscode.l10n.t("Installs node-llama-cpp and this platform's prebuilt llama.cpp binaries (about 85 MB from the npm registry) into the extension's .engines/llama folder."),
      };
    }
  }
}

const EXTENSION_ID = "mlx-model-manager.mlx-model-manager";
const ENGINES: readonly LocalEngineId[] = ["mlx-lm", "mlx-openai-server", "mlx-distributed", "llama", "llama-server"];

function engineLabel(engine: LocalEngineId): string {
  switch (engine) {
    case "mlx-lm":
      return vscode.l10n.t("mlx-lm (MLX models, Apple silicon)");
    case "mlx-openai-server":
      return vscode.l10n.t("mlx-openai-server (MLX models, Apple silicon)");
    case "llama":
      return vscode.l10n.t("Built-in llama engine (GGUF models)");
    case "llama-server":
      return vscode.l10n.t("llama.cpp's llama-server (GGUF models)");
    case "mlx-distributed":
      return vscode.l10n.t("mlx.launch and mlx-lm (one MLX model across several Macs)");
  }
}

/** The command line as a person would type it (for the clipboard and the prompt). */
export function commandLine(plan: Extract<InstallPlan, { kind: "run" }>): string {
  return [plan.command, ...plan.args].map((a) => (/^[\w./:@=-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`)).join(" ");
}

/** What a caller (a walkthrough link, a test) may hand over instead of being asked. */
interface InstallArgs {
  engine?: LocalEngineId;
  /** describe: return the plan; copy: copy the command; terminal: run it in a terminal. */
  action?: "describe" | "copy" | "terminal";
  platform?: PlatformKey;
}

function argsOf(value: unknown): InstallArgs {
  if (typeof value !== "object" || value === null) return {};
  const { engine, action, platform } = value as Record<string, unknown>;
  return {
    ...(ENGINES.includes(engine as LocalEngineId) ? { engine: engine as LocalEngineId } : {}),
    ...(action === "describe" || action === "copy" || action === "terminal" ? { action } : {}),
    ...(typeof platform === "string" && /^[a-z0-9]+-[a-z0-9]+$/.test(platform) ? { platform: platform as PlatformKey } : {}),
  };
}

/** Runs the plan's command in a terminal of its own: the program with an argument array, no shell. */
function runInTerminal(plan: Extract<InstallPlan, { kind: "run" }>): vscode.Terminal {
  const terminal = vscode.window.createTerminal({
    name: vscode.l10n.t("MLX: install {0}", plan.engine),
    shellPath: plan.command,
    shellArgs: plan.args,
    ...(plan.cwd ? { cwd: plan.cwd } : {}),
  });
  terminal.show();
  return terminal;
}

/**
 * Shows how to install an engine on this platform — pip for the MLX engines on Apple silicon,
 * the bundled llama engine, Homebrew or winget for llama-server — says what the command does, then
 * copies it or runs it in a terminal. Returns the plan (for the walkthrough's tests).
 */
export const installEngine: CommandDefinition = {
  id: "mlx.installEngine",
  async run(ctx, ...args) {
    const given = argsOf(args[0]);
    const platform: PlatformKey = given.platform ?? `${process.platform}-${process.arch}`;
    // Where this extension is installed (a .vsix carries the llama engine in .engines/llama).
    const extensionPath = vscode.extensions.getExtension(EXTENSION_ID)?.extensionPath ?? "";
    let engine = given.engine;
    if (!engine) {
      // What this machine can run first; the MLX engines stay listed elsewhere, saying why not.
      const rank = (plan: InstallPlan): number => (plan.kind === "unsupported" ? 1 : 0);
      const plans = ENGINES.map((id) => installPlan(id, platform, extensionPath)).sort((a, b) => rank(a) - rank(b));
      const picked = await vscode.window.showQuickPick(
        plans.map((plan) => {
          const id = plan.engine;
          const description = plan.kind === "bundled" ? vscode.l10n.t("installed") : plan.kind === "unsupported" ? vscode.l10n.t("not for this machine") : plan.kind === "run" ? commandLine(plan) : vscode.l10n.t("set its path");
          return { label: engineLabel(id), description, detail: plan.what, id };
        }),
        { title: vscode.l10n.t("Install an Engine"), placeHolder: vscode.l10n.t("Engines run the models; pick one to see how it is installed here") },
      );
      if (!picked) return undefined;
      engine = picked.id;
    }
    const plan = installPlan(engine, platform, extensionPath);
    if (given.action === "describe") return plan;
    switch (plan.kind) {
      case "bundled":
      case "unsupported":
        void vscode.window.showInformationMessage(plan.what);
        return plan;
      case "setting":
        if (given.action) return plan;
        if ((await vscode.window.showInformationMessage(plan.what, vscode.l10n.t("Open Setting"))) !== undefined) {
          await vscode.commands.executeCommand("workbench.action.openSettings", plan.setting);
        }
        return plan;
      case "run": {
        let action = given.action;
        if (!action) {
          const copy = vscode.l10n.t("Copy Command");
          const run = vscode.l10n.t("Run in Terminal");
          const answer = await vscode.window.showInformationMessage(
            vscode.l10n.t("{0}\n\nCommand: {1}", plan.what, commandLine(plan)),
            { modal: true, detail: vscode.l10n.t("Run in Terminal starts it in a new terminal, where you see its output; nothing runs until you choose.") },
            run,
            copy,
          );
          if (answer === undefined) return undefined;
          action = answer === run ? "terminal" : "copy";
        }
        if (action === "copy") {
          await vscode.env.clipboard.writeText(commandLine(plan));
          void vscode.window.showInformationMessage(vscode.l10n.t("Copied: {0}", commandLine(plan)));
        } else {
          ctx.log.info(`installing ${plan.engine}: ${commandLine(plan)}`);
          runInTerminal(plan);
        }
        return plan;
      }
    }
  },
};
