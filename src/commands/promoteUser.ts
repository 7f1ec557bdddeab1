import * as vscode from "vscode";
import type { CommandDefinition } from "./CommandContext";
import { changeUsers } from "./userTargets";

/** Makes approved users admins (they manage users and start/stop servers). */
export const promoteUser: CommandDefinition = {
  id: "mlx.promoteUser",
  run(ctx, ...args) {
    return changeUsers(ctx, args, vscode.l10n.t("Make which account an admin?"), (u) => u.role === "user" && u.status === "approved", { role: "admin" });
  },
};
