import * as vscode from "vscode";
import type { ServerInfo } from "../shared/servers";
import type { CommandDefinition } from "./CommandContext";
import { profilesFrom } from "./targets";

export const restartServer: CommandDefinition = {
  id: "mlx.restartServer",
  async run(ctx, ...args) {
    const profiles = await profilesFrom(ctx, args, { title: vscode.l10n.t("Restart which server?"), filter: (_p, s) => s !== undefined && s.state !== "stopped" });
    const restarted: ServerInfo[] = [];
    for (const profile of profiles) {
      await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: vscode.l10n.t("Restarting {0}…", profile.name), cancellable: true },
        async (_progress, token) => {
          const abort = new AbortController();
          const listener = token.onCancellationRequested(() => { abort.abort(); });
          try {
            restarted.push(await (await ctx.connection.client()).restartServer(profile.id, { signal: abort.signal }));
          } catch (error) {
            ctx.errors.report(vscode.l10n.t("Could not restart {0}", profile.name), error);
          } finally {
            listener.dispose();
          }
        },
      );
    }
    return restarted;
  },
};
