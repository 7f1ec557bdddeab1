import * as vscode from "vscode";
import type { UserInfo } from "../../shared/auth";

/** An account of shared mode: email, role and status; `user.<status>.<role>` drives its actions. */
export class UserItem extends vscode.TreeItem {
  constructor(readonly user: UserInfo) {
    super(user.email, vscode.TreeItemCollapsibleState.None);
    this.id = `user:${user.id}`;
    this.contextValue = `user.${user.status}.${user.role}`;
    const status = user.status === "pending" ? vscode.l10n.t("pending approval") : user.status === "disabled" ? vscode.l10n.t("disabled") : vscode.l10n.t("approved");
    const role = user.role === "admin" ? vscode.l10n.t("admin") : vscode.l10n.t("user");
    this.description = `${role} · ${status}`;
    this.iconPath =
      user.status === "pending"
        ? new vscode.ThemeIcon("clock", new vscode.ThemeColor("list.warningForeground"))
        : user.status === "disabled"
          ? new vscode.ThemeIcon("circle-slash")
          : new vscode.ThemeIcon(user.role === "admin" ? "shield" : "person");
    const tooltip = new vscode.MarkdownString();
    tooltip.appendText(`${user.email}\n${role} · ${status}\n`);
    tooltip.appendText(vscode.l10n.t("Registered {0}", new Date(user.createdAt).toLocaleString()));
    if (user.lastLoginAt !== undefined) tooltip.appendText(`\n${vscode.l10n.t("Last sign-in {0}", new Date(user.lastLoginAt).toLocaleString())}`);
    this.tooltip = tooltip;
  }
}
