import * as vscode from "vscode";
import type { UserInfo } from "../shared/auth";
import type { CommandDefinition } from "./CommandContext";
import { usersFrom } from "./userTargets";

/** Deletes accounts waiting for approval, after a confirmation (they may register again). */
export const rejectUser: CommandDefinition = {
  id: "mlx.rejectUser",
  async run(ctx, ...args) {
    const users = await usersFrom(ctx, args, vscode.l10n.t("Reject which account?"), (u) => u.status === "pending");
    if (users.length === 0) return [];
    const reject = vscode.l10n.t("Reject");
    const choice = await vscode.window.showWarningMessage(
      users.length === 1 ? vscode.l10n.t("Reject and delete the account {0}?", users[0]?.email ?? "") : vscode.l10n.t("Reject and delete {0} accounts?", users.length),
      { modal: true, detail: vscode.l10n.t("They can register again; disable an account instead to keep it out.") },
      reject,
    );
    if (choice !== reject) return [];
    const client = await ctx.connection.client();
    const removed: UserInfo[] = [];
    for (const user of users) {
      try {
        removed.push(await client.deleteUser(user.id));
      } catch (error) {
        ctx.errors.report(vscode.l10n.t("Could not reject {0}", user.email), error);
      }
    }
    await ctx.state.refreshUsers(client);
    return removed;
  },
};
