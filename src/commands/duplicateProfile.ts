import * as vscode from "vscode";
import type { Profile } from "../shared/profiles";
import type { CommandDefinition } from "./CommandContext";
import { profilesFrom } from "./targets";

export const duplicateProfile: CommandDefinition = {
  id: "mlx.duplicateProfile",
  async run(ctx, ...args) {
    const profiles = await profilesFrom(ctx, args, { title: vscode.l10n.t("Duplicate which profile?") });
    const copies: Profile[] = [];
    for (const profile of profiles) {
      try {
        copies.push(await (await ctx.connection.client()).duplicateProfile(profile.id));
      } catch (error) {
        ctx.errors.report(vscode.l10n.t("Could not duplicate {0}", profile.name), error);
      }
    }
    return copies;
  },
};
