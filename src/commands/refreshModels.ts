import * as vscode from "vscode";
import type { CommandDefinition } from "./CommandContext";

/** Rescans the cache and refetches every list. */
export const refreshModels: CommandDefinition = {
  id: "mlx.refreshModels",
  async run(ctx) {
    try {
      const client = await ctx.connection.client();
      await vscode.window.withProgress({ location: { viewId: "mlx.models" } }, async () => {
        await client.rescanModels();
        await ctx.state.refresh(client);
      });
    } catch (error) {
      ctx.errors.report(vscode.l10n.t("Could not refresh"), error);
    }
  },
};
