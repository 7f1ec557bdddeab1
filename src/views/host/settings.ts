import * as vscode from "vscode";

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
    executables: {
      "mlx-lm": config.get<string>("engines.mlxLm.executable", ""),
      "mlx-openai-server": config.get<string>("engines.mlxOpenAiServer.executable", ""),
      "llama-server": config.get<string>("engines.llamaServer.executable", ""),
    },
  };
}
