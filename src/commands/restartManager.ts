import * as vscode from "vscode";
import type { CommandDefinition } from "./CommandContext";

/** Stops the manager and starts a fresh one; running servers are re-adopted by the new one. */
export const restartManager: CommandDefinition = {
  id: "mlx.restartManager",
  async run(ctx) {
    try {
      return await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: vscode.l10n.t("Restarting the MLX manager…"), cancellable: true }, async (_p, token) => {
        const abort = new AbortController();
        const listener = token.onCancellationRequested(() => { abort.abort(); });
        try {
          const client = await ctx.connection.restartManager(abort.signal);
          return (await client.status()).pid;
        } finally {
          listener.dispose();
        }
      });
    } catch (error) {
      ctx.errors.report(vscode.l10n.t("Could not restart the manager"), error);
      return undefined;
    }
  },
};
