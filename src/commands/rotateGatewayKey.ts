import * as vscode from "vscode";
import { rotateGatewayKey as rotate } from "../client/gatewayKey";
import type { CommandDefinition } from "./CommandContext";

/** Rotate Gateway Key: a new /v1 key; snippets, scripts and terminals holding the old one stop working. `true` skips the question (scripts, tests). */
export const rotateGatewayKey: CommandDefinition = {
  id: "mlx.rotateGatewayKey",
  async run(ctx, ...args) {
    if (args[0] !== true) {
      const rotateLabel = vscode.l10n.t("Rotate");
      const choice = await vscode.window.showWarningMessage(
        vscode.l10n.t("Make a new gateway key? Snippets, scripts and terminals that use the current key get 401 until they use the new one (new terminals get it by themselves)."),
        { modal: true },
        rotateLabel,
      );
      if (choice !== rotateLabel) return undefined;
    }
    const info = await rotate(await ctx.connection.client(), AbortSignal.timeout(10_000));
    vscode.window.setStatusBarMessage(vscode.l10n.t("The MLX gateway key was rotated"), 5000);
    return { createdAt: info.createdAt };
  },
};
