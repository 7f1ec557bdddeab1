import * as vscode from "vscode";
import type { CommandDefinition } from "./CommandContext";
import { formatBytes } from "../views/host/format";
import { modelFrom } from "./targets";

/** Deletes a cached model after a modal confirmation that states how much space it frees. */
export const deleteModel: CommandDefinition = {
  id: "mlx.deleteModel",
  async run(ctx, ...args) {
    const model = await modelFrom(ctx, args[0], vscode.l10n.t("Delete which model?"));
    if (!model) return undefined;
    const confirmed = (args[1] as { confirmed?: unknown } | undefined)?.confirmed === true;
    if (!confirmed) {
      const remove = vscode.l10n.t("Delete");
      const answer = await vscode.window.showWarningMessage(
        vscode.l10n.t("Delete {0} from the Hugging Face cache?", model.id),
        { modal: true, detail: vscode.l10n.t("This frees {0} on disk. Profiles that use it will fail to start until it is downloaded again.", formatBytes(model.size)) },
        remove,
      );
      if (answer !== remove) return undefined;
    }
    try {
      const result = await (await ctx.connection.client()).deleteModel(model.id);
      vscode.window.setStatusBarMessage(vscode.l10n.t("Deleted {0}, freed {1}", model.id, formatBytes(result.freedBytes)), 5000);
      return result;
    } catch (error) {
      ctx.errors.report(vscode.l10n.t("Could not delete {0}", model.id), error);
      return undefined;
    }
  },
};
