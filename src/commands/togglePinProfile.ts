import * as vscode from "vscode";
import type { Profile } from "../shared/profiles";
import type { CommandDefinition } from "./CommandContext";
import { profilesFrom } from "./targets";

/** Pins a profile (its server is never stopped to make room, nor for idleness) or unpins it. */
export const togglePinProfile: CommandDefinition = {
  id: "mlx.togglePinProfile",
  async run(ctx, ...args) {
    const profiles = await profilesFrom(ctx, args, { title: vscode.l10n.t("Pin or unpin which profile?") });
    const changed: Profile[] = [];
    for (const profile of profiles) {
      try {
        const client = await ctx.connection.client();
        const current = await client.profile(profile.id);
        // A pinned profile keeps running: its own idle stop goes back to the manager's default (which pinned ignores).
        const patch = current.pinned ? { version: current.version, pinned: false } : { version: current.version, pinned: true, ...(current.idleTimeoutSec !== null && current.idleTimeoutSec > 0 ? { idleTimeoutSec: null } : {}) };
        const updated = await client.updateProfile(current.id, patch);
        changed.push(updated);
        void vscode.window.setStatusBarMessage(updated.pinned ? vscode.l10n.t("{0} is pinned: it stays running when other models need memory.", updated.name) : vscode.l10n.t("{0} is no longer pinned.", updated.name), 5000);
      } catch (error) {
        ctx.errors.report(vscode.l10n.t("Could not pin or unpin {0}", profile.name), error);
      }
    }
    return changed;
  },
};
