import * as vscode from "vscode";
import type { CommandDefinition } from "./CommandContext";
import { profilesFrom } from "./targets";

/** Writes the chosen profiles (or all) to a JSON file that `Import`/the CLI can read back. */
export const exportProfiles: CommandDefinition = {
  id: "mlx.exportProfiles",
  async run(ctx, ...args) {
    const target = args.find((a): a is vscode.Uri => a instanceof vscode.Uri);
    const profiles = await profilesFrom(ctx, args.filter((a) => !(a instanceof vscode.Uri)), { title: vscode.l10n.t("Export which profiles?"), many: true });
    if (profiles.length === 0) return undefined;
    const uri =
      target ??
      (await vscode.window.showSaveDialog({
        title: vscode.l10n.t("Export Profiles"),
        filters: { JSON: ["json"] },
        defaultUri: vscode.Uri.file(profiles.length === 1 ? `${profiles[0]?.name ?? "profile"}.json` : "mlx-profiles.json"),
      }));
    if (!uri) return undefined;
    try {
      const file = await (await ctx.connection.client()).exportProfiles(profiles.map((p) => p.id));
      await vscode.workspace.fs.writeFile(uri, new TextEncoder().encode(`${JSON.stringify(file, null, 2)}\n`));
      vscode.window.setStatusBarMessage(vscode.l10n.t("Exported {0} profile(s) to {1}", profiles.length, uri.fsPath), 5000);
      return uri;
    } catch (error) {
      ctx.errors.report(vscode.l10n.t("Could not export profiles"), error);
      return undefined;
    }
  },
};
