import * as vscode from "vscode";
import type { CommandDefinition } from "./CommandContext";
import { modelFrom } from "./targets";

export const openModelOnHub: CommandDefinition = {
  id: "mlx.openModelOnHub",
  async run(ctx, ...args) {
    const model = await modelFrom(ctx, args[0], vscode.l10n.t("Open which model on Hugging Face?"));
    if (!model) return undefined;
    const uri = vscode.Uri.parse(`https://huggingface.co/${model.id.split("/").map(encodeURIComponent).join("/")}`);
    await vscode.env.openExternal(uri);
    return uri.toString();
  },
};
