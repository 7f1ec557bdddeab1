import * as vscode from "vscode";
import type { ServerInfo } from "../shared/servers";
import type { CommandDefinition } from "./CommandContext";
import { isRunning, profilesFrom } from "./targets";

export const stopServer: CommandDefinition = {
  id: "mlx.stopServer",
  async run(ctx, ...args) {
    const profiles = await profilesFrom(ctx, args, { title: vscode.l10n.t("Stop which server?"), filter: (_p, s) => isRunning(s) || s?.state === "failed" });
    const stopped: ServerInfo[] = [];
    await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: vscode.l10n.t("Stopping…") }, async () => {
      const client = await ctx.connection.client();
      await Promise.all(
        profiles.map(async (p) => {
          try {
            stopped.push(await client.stopServer(p.id));
          } catch (error) {
            ctx.errors.report(vscode.l10n.t("Could not stop {0}", p.name), error);
          }
        }),
      );
    });
    return stopped;
  },
};
