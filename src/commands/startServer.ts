import * as vscode from "vscode";
import type { ServerInfo } from "../shared/servers";
import type { CommandContext, CommandDefinition } from "./CommandContext";
import { isRunning, profilesFrom } from "./targets";

/** Starts profiles' servers with cancellable progress; resolves with the servers once ready. */
export async function startProfiles(ctx: CommandContext, profiles: { id: string; name: string }[]): Promise<ServerInfo[]> {
  const started: ServerInfo[] = [];
  await Promise.all(
    profiles.map((profile) =>
      vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: vscode.l10n.t("Starting {0}…", profile.name), cancellable: true },
        async (_progress, token) => {
          const abort = new AbortController();
          const listener = token.onCancellationRequested(() => { abort.abort(); });
          try {
            const client = await ctx.connection.client();
            started.push(await client.startServer(profile.id, { signal: abort.signal }));
          } catch (error) {
            if (abort.signal.aborted) {
              // Cancelled: stop what was spawned so nothing is left half-started.
              await (await ctx.connection.client()).stopServer(profile.id).catch(() => undefined);
              return;
            }
            ctx.errors.report(vscode.l10n.t("Could not start {0}", profile.name), error);
          } finally {
            listener.dispose();
          }
        },
      ),
    ),
  );
  return started;
}

export const startServer: CommandDefinition = {
  id: "mlx.startServer",
  async run(ctx, ...args) {
    const profiles = await profilesFrom(ctx, args, { title: vscode.l10n.t("Start which profile?"), filter: (_p, s) => !isRunning(s) });
    return startProfiles(ctx, profiles);
  },
};
