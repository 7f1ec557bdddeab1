import * as vscode from "vscode";
import type { CommandDefinition } from "./CommandContext";
import { changeUsers } from "./userTargets";

/** Disables accounts: their tokens and API keys stop working at once. */
export const disableUser: CommandDefinition = {
  id: "mlx.disableUser",
  run(ctx, ...args) {
    return changeUsers(ctx, args, vscode.l10n.t("Disable which account?"), (u) => u.status === "approved", { status: "disabled" });
  },
};
