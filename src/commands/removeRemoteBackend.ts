import * as vscode from "vscode";
import type { CommandDefinition } from "./CommandContext";
import { remoteFrom } from "./remoteTargets";

/** Removes a remote backend and the key kept for it (refused while profiles use it). */
export const removeRemoteBackend: CommandDefinition = {
  id: "mlx.removeRemoteBackend",
  async run(ctx, ...args) {
    const backend = await remoteFrom(ctx, args[0], vscode.l10n.t("Remove which remote backend?"));
    if (backend === undefined) return undefined;
    const remove = vscode.l10n.t("Remove");
    const choice = await vscode.window.showWarningMessage(vscode.l10n.t("Remove remote backend {0} ({1}) and the key kept for it?", backend.name, backend.url), { modal: true }, remove);
    if (choice !== remove) return undefined;
    const client = await ctx.connection.client();
    return client.removeRemote(backend.id);
  },
};
