import * as vscode from "vscode";
import type { CommandDefinition } from "./CommandContext";
import { changeUsers } from "./userTargets";

/** Makes admins plain users (the manager keeps at least one admin). */
export const demoteUser: CommandDefinition = {
  id: "mlx.demoteUser",
  run(ctx, ...args) {
    return changeUsers(ctx, args, vscode.l10n.t("Make which admin a plain user?"), (u) => u.role === "admin", { role: "user" });
  },
};
