import * as vscode from "vscode";
import type { UserInfo } from "../../shared/auth";
import type { ManagerState } from "../host/ManagerState";
import { UserItem } from "./UserItem";

const ORDER: Record<UserInfo["status"], number> = { pending: 0, approved: 1, disabled: 2 };

/** Users view (admins): the accounts of shared mode, pending ones first; empty while shared mode is off. */
export class UsersTreeProvider implements vscode.TreeDataProvider<UserItem>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<UserItem | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly subscription: vscode.Disposable;

  constructor(private readonly state: ManagerState) {
    this.subscription = state.onDidChange((kind) => {
      if (kind === "users") this.changed.fire(undefined);
    });
  }

  /** Accounts waiting for approval (the view's badge). */
  get pendingCount(): number {
    return this.state.shared?.enabled === true ? this.state.shared.pendingUsers : 0;
  }

  getTreeItem(node: UserItem): vscode.TreeItem {
    return node;
  }

  getChildren(node?: UserItem): UserItem[] {
    if (node !== undefined || this.state.shared?.enabled !== true) return [];
    return [...this.state.users].sort((a, b) => ORDER[a.status] - ORDER[b.status] || a.email.localeCompare(b.email)).map((u) => new UserItem(u));
  }

  dispose(): void {
    this.subscription.dispose();
    this.changed.dispose();
  }
}
