import * as vscode from "vscode";
import type { CommandDefinition } from "./CommandContext";
import { changeUsers } from "./userTargets";

/** Approves accounts waiting for approval. */
export const approveUser: CommandDefinition = {
  id: "mlx.approveUser",
  run(ctx, ...args) {
    return changeUsers(ctx, args, vscode.l10n.t("Approve which account?"), (u) => u.status === "pending", { status: "approved" });
  },
};
