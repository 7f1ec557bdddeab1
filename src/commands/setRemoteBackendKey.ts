import * as vscode from "vscode";
import type { CommandDefinition } from "./CommandContext";
import { optionsArg } from "./commandArgs";
import { remoteFrom } from "./remoteTargets";

/** Replaces (or removes) the key kept for a remote backend, e.g. after its owner revoked the old one. */
export const setRemoteBackendKey: CommandDefinition = {
  id: "mlx.setRemoteBackendKey",
  async run(ctx, ...args) {
    const given = optionsArg<{ backend: string; apiKey: string }>(args[0]);
    const backend = await remoteFrom(ctx, given.backend ?? args[0], vscode.l10n.t("Set the key of which remote backend?"));
    if (backend === undefined) return undefined;
    const key =
      given.apiKey ??
      (await vscode.window.showInputBox({
        title: vscode.l10n.t("Key of {0}", backend.name),
        prompt: vscode.l10n.t("The API key {0} wants; leave empty to remove the kept one.", backend.url),
        password: true,
        ignoreFocusOut: true,
      }));
    if (key === undefined) return undefined;
    const client = await ctx.connection.client();
    return client.updateRemote(backend.id, { apiKey: key.trim() === "" ? null : key.trim() });
  },
};
