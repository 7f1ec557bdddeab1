import * as vscode from "vscode";
import type { CommandDefinition } from "./CommandContext";
import { changeUsers } from "./userTargets";

/** Enables disabled accounts again. */
export const enableUser: CommandDefinition = {
  id: "mlx.enableUser",
  run(ctx, ...args) {
    return changeUsers(ctx, args, vscode.l10n.t("Enable which account?"), (u) => u.status === "disabled", { status: "approved" });
  },
};
