import * as vscode from "vscode";
import type { CommandDefinition } from "./CommandContext";
import { profilesFrom } from "./targets";

/** A LogOutputChannel per server, following its log. */
export const showServerLogs: CommandDefinition = {
  id: "mlx.showServerLogs",
  async run(ctx, ...args) {
    const [profile] = await profilesFrom(ctx, args, { title: vscode.l10n.t("Show the log of which server?"), filter: (_p, s) => s !== undefined });
    if (!profile) return undefined;
    return ctx.serverLogs.show(profile.id, profile.name);
  },
};
