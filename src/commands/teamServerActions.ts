import * as vscode from "vscode";
import { TEAM_TARGET_PREFIX } from "../shared/dashboard";
import type { CommandDefinition } from "./CommandContext";
import { teamClient, teamModelFrom } from "./teamTargets";

const UP = new Set(["running", "starting", "unhealthy"]);

/** Admins of the team server: start one of its models (over the shared listener). */
export const teamStartServer: CommandDefinition = {
  id: "mlx.teamStartServer",
  async run(ctx, ...args) {
    const client = teamClient(ctx);
    const name = await teamModelFrom(ctx, args[0], vscode.l10n.t("Start which team model?"), (s) => !UP.has(s));
    if (name === undefined) return undefined;
    const info = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: vscode.l10n.t("Starting {0} on the team server…", name), cancellable: true },
      (_progress, token) => {
        const controller = new AbortController();
        token.onCancellationRequested(() => { controller.abort(); });
        return client.startServer(name, { wait: false, signal: controller.signal });
      },
    );
    await ctx.team.refresh();
    return info;
  },
};

/** Admins of the team server: stop one of its servers. */
export const teamStopServer: CommandDefinition = {
  id: "mlx.teamStopServer",
  async run(ctx, ...args) {
    const client = teamClient(ctx);
    const name = await teamModelFrom(ctx, args[0], vscode.l10n.t("Stop which team server?"), (s) => UP.has(s));
    if (name === undefined) return undefined;
    const info = await client.stopServer(name);
    await ctx.team.refresh();
    return info;
  },
};

/** Opens the dashboard's chat on a team model (it starts on the first message). */
export const chatWithTeamModel: CommandDefinition = {
  id: "mlx.chatWithTeamModel",
  async run(ctx, ...args) {
    teamClient(ctx);
    const name = await teamModelFrom(ctx, args[0], vscode.l10n.t("Chat with which team model?"));
    if (name === undefined) return undefined;
    ctx.dashboard.open("chat", `${TEAM_TARGET_PREFIX}${name}`);
    return name;
  },
};

/** Refreshes the Team Server view now. */
export const refreshTeamServer: CommandDefinition = {
  id: "mlx.refreshTeamServer",
  async run(ctx) {
    await ctx.team.refresh();
    return ctx.team.snapshot;
  },
};
