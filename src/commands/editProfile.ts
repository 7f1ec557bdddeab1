import * as vscode from "vscode";
import type { CommandDefinition } from "./CommandContext";
import { profilesFrom } from "./targets";

/** Opens the profile as JSON; saving writes it back (errors show as diagnostics). */
export const editProfile: CommandDefinition = {
  id: "mlx.editProfile",
  async run(ctx, ...args) {
    const [profile] = await profilesFrom(ctx, args, { title: vscode.l10n.t("Edit which profile?") });
    if (!profile) return undefined;
    const full = ctx.state.profiles.find((p) => p.id === profile.id) ?? (await (await ctx.connection.client()).profile(profile.id));
    const document = await vscode.workspace.openTextDocument(ctx.profileDocuments.uriFor(full));
    await vscode.languages.setTextDocumentLanguage(document, "json");
    return vscode.window.showTextDocument(document);
  },
};
