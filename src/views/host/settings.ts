import * as vscode from "vscode";
import type { ManagerSettingsPatch } from "../../shared/settings";

/** The `mlx.*` settings, read fresh each time (they can change while VS Code runs). */
export interface ExtensionSettings {
  /** 0 = the manager's default (MLX_MANAGER_PORT, else 8471). */
  managerPort: number;
  dataDir: string;
  hfCache: string;
  defaultEngine: string;
  stopServersOnQuit: boolean;
  downloadConcurrency: number;
  /** The context the Hub details' memory estimate uses besides 8k and 32k. */
  memoryContext: number;
  executables: Record<string, string>;
  /** The manager's settings this window hands over (the manager keeps them for every client). */
  manager: ManagerSettingsPatch;
}

export function readSettings(): ExtensionSettings {
  const config = vscode.workspace.getConfiguration("mlx");
  return {
    managerPort: config.get<number>("manager.port", 0),
    dataDir: config.get<string>("manager.dataDir", ""),
    hfCache: config.get<string>("huggingFace.cachePath", ""),
    defaultEngine: config.get<string>("profiles.defaultEngine", "auto"),
    stopServersOnQuit: config.get<boolean>("servers.stopOnQuit", false),
    downloadConcurrency: config.get<number>("downloads.concurrency", 2),
    memoryContext: config.get<number>("memory.contextLength", 16384),
    manager: managerSettings(config),
    executables: {
      "mlx-lm": config.get<string>("engines.mlxLm.executable", ""),
      "mlx-openai-server": config.get<string>("engines.mlxOpenAiServer.executable", ""),
      "llama-server": config.get<string>("engines.llamaServer.executable", ""),
      "mlx-distributed": config.get<string>("engines.mlxLaunch.executable", ""),
    },
  };
}

/**
 * The manager's settings a user set in VS Code (user, workspace or folder level): only those are
 * handed over, so a value set with `mlx-manager settings` stays until one is set here.
 */
function managerSettings(config: vscode.WorkspaceConfiguration): ManagerSettingsPatch {
  const set = (key: string): number | undefined => {
    const seen = config.inspect<number>(key);
    return seen?.workspaceFolderValue ?? seen?.workspaceValue ?? seen?.globalValue;
  };
  const patch: ManagerSettingsPatch = {};
  const budget = set("memory.budgetGB");
  if (budget !== undefined) patch.memoryBudgetBytes = budget > 0 ? Math.round(budget * 1e9) : null;
  const idle = set("servers.idleStopMinutes");
  if (idle !== undefined) patch.defaultIdleTimeoutSec = Math.round(idle * 60);
  const queueMax = set("gateway.queueMaxLength");
  if (queueMax !== undefined) patch.queueMaxLength = queueMax;
  const queueTimeout = set("gateway.queueTimeoutSec");
  if (queueTimeout !== undefined) patch.queueTimeoutSec = queueTimeout;
  return patch;
}
