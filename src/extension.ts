import * as vscode from "vscode";

/**
 * The extension host side. The sidebar, commands and status bar arrive with the extension
 * issue; activation stays cheap: it only creates the log channel.
 */
export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel("MLX Model Manager", { log: true });
  context.subscriptions.push(log);
  log.info(`MLX Model Manager ${(context.extension.packageJSON as { version?: string }).version ?? ""} activated`);
}

export function deactivate(): void {
  // Everything is disposed through context.subscriptions.
}
