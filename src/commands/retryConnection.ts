import * as vscode from "vscode";
import type { CommandDefinition } from "./CommandContext";

/** The views' "Retry" when the manager is not reachable. */
export const retryConnection: CommandDefinition = {
  id: "mlx.retryConnection",
  async run(ctx) {
    try {
      await ctx.connection.retry();
      return true;
    } catch (error) {
      ctx.errors.report(vscode.l10n.t("The MLX manager is not reachable"), error);
      return false;
    }
  },
};
