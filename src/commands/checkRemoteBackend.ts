import * as vscode from "vscode";
import type { CommandDefinition } from "./CommandContext";
import { remoteFrom } from "./remoteTargets";

/** Checks a remote backend now (its /v1/models with its key), refreshing its models. */
export const checkRemoteBackend: CommandDefinition = {
  id: "mlx.checkRemoteBackend",
  async run(ctx, ...args) {
    const backend = await remoteFrom(ctx, args[0], vscode.l10n.t("Check which remote backend?"));
    if (backend === undefined) return undefined;
    const client = await ctx.connection.client();
    const checked = await client.checkRemote(backend.id);
    if (checked.health.state === "healthy") void vscode.window.setStatusBarMessage(vscode.l10n.t("{0} answers ({1} ms): {2} models", checked.name, checked.health.latencyMs ?? 0, checked.health.models.length), 5000);
    else void vscode.window.showWarningMessage(checked.health.error ?? vscode.l10n.t("{0} does not answer.", checked.name));
    return checked;
  },
};
