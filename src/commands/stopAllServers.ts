import * as vscode from "vscode";
import type { CommandDefinition } from "./CommandContext";

export const stopAllServers: CommandDefinition = {
  id: "mlx.stopAllServers",
  async run(ctx) {
    try {
      return await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: vscode.l10n.t("Stopping all servers…") }, async () =>
        (await ctx.connection.client()).stopAllServers(),
      );
    } catch (error) {
      ctx.errors.report(vscode.l10n.t("Could not stop all servers"), error);
      return undefined;
    }
  },
};
