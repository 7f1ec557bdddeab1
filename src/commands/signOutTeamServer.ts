import * as vscode from "vscode";
import type { CommandDefinition } from "./CommandContext";

/** "MLX: Sign Out of Team Server": forgets the token, the server and its pinned certificate. */
export const signOutTeamServer: CommandDefinition = {
  id: "mlx.signOutTeamServer",
  async run(ctx) {
    const url = ctx.team.snapshot?.url;
    const signedOut = await ctx.team.signOut();
    if (signedOut && url !== undefined) void vscode.window.showInformationMessage(vscode.l10n.t("Signed out of {0}.", url));
    return signedOut;
  },
};
