import * as vscode from "vscode";
import type { CommandDefinition } from "./CommandContext";

/** Closes the shared listener; accounts are kept for the next start. */
export const stopSharedServer: CommandDefinition = {
  id: "mlx.stopSharedServer",
  async run(ctx) {
    const client = await ctx.connection.client();
    const status = await client.stopShared();
    await ctx.state.refreshUsers(client);
    vscode.window.setStatusBarMessage(vscode.l10n.t("Shared server stopped"), 3000);
    return status;
  },
};
