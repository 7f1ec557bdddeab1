import * as vscode from "vscode";
import type { Profile } from "../shared/profiles";
import type { CommandDefinition } from "./CommandContext";
import { profilesFrom } from "./targets";

/** Deletes profiles after a modal confirmation (a running server of it is stopped by the manager). */
export const deleteProfile: CommandDefinition = {
  id: "mlx.deleteProfile",
  async run(ctx, ...args) {
    const profiles = await profilesFrom(ctx, args, { title: vscode.l10n.t("Delete which profiles?"), many: true });
    if (profiles.length === 0) return [];
    const confirmed = args.some((a) => typeof a === "object" && a !== null && (a as { confirmed?: unknown }).confirmed === true);
    if (!confirmed) {
      const remove = vscode.l10n.t("Delete");
      const message =
        profiles.length === 1
          ? vscode.l10n.t("Delete the profile \"{0}\"? Its server is stopped if it runs.", profiles[0]?.name ?? "")
          : vscode.l10n.t("Delete {0} profiles? Their servers are stopped if they run.", profiles.length);
      if ((await vscode.window.showWarningMessage(message, { modal: true }, remove)) !== remove) return [];
    }
    const deleted: Profile[] = [];
    for (const profile of profiles) {
      try {
        deleted.push(await (await ctx.connection.client()).deleteProfile(profile.id));
      } catch (error) {
        ctx.errors.report(vscode.l10n.t("Could not delete {0}", profile.name), error);
      }
    }
    return deleted;
  },
};
