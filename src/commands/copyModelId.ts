import * as vscode from "vscode";
import type { CommandDefinition } from "./CommandContext";
import { modelFrom } from "./targets";

export const copyModelId: CommandDefinition = {
  id: "mlx.copyModelId",
  async run(ctx, ...args) {
    const model = await modelFrom(ctx, args[0], vscode.l10n.t("Copy the id of which model?"));
    if (!model) return undefined;
    await vscode.env.clipboard.writeText(model.id);
    vscode.window.setStatusBarMessage(vscode.l10n.t("Copied {0}", model.id), 3000);
    return model.id;
  },
};
