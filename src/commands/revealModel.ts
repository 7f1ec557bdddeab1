import * as vscode from "vscode";
import type { CommandDefinition } from "./CommandContext";
import { modelFrom } from "./targets";

export const revealModel: CommandDefinition = {
  id: "mlx.revealModel",
  async run(ctx, ...args) {
    const model = await modelFrom(ctx, args[0], vscode.l10n.t("Reveal which model?"));
    if (!model) return undefined;
    const snapshot = model.revisions[0]?.snapshotPath ?? model.path;
    await vscode.commands.executeCommand("revealFileInOS", vscode.Uri.file(snapshot));
    return snapshot;
  },
};
