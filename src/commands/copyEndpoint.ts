import * as vscode from "vscode";
import type { CommandDefinition } from "./CommandContext";
import { profilesFrom } from "./targets";

/** Copies the manager's /v1 URL; the model name to send is the profile's name. */
export const copyEndpoint: CommandDefinition = {
  id: "mlx.copyEndpoint",
  async run(ctx, ...args) {
    const [profile] = await profilesFrom(ctx, args, { title: vscode.l10n.t("Copy the endpoint of which profile?") });
    if (!profile) return undefined;
    const client = await ctx.connection.client();
    const endpoint = `${client.url}/v1`;
    await vscode.env.clipboard.writeText(endpoint);
    vscode.window.setStatusBarMessage(vscode.l10n.t("Copied {0} (model: {1})", endpoint, profile.name), 5000);
    return { endpoint, model: profile.name };
  },
};
