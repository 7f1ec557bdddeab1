import * as vscode from "vscode";
import type { ManagerState } from "../host/ManagerState";
import { ProfileItem } from "./ProfileItem";

/** Profiles view: every profile, with inline actions matching its server's state. */
export class ProfilesTreeProvider implements vscode.TreeDataProvider<ProfileItem>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<ProfileItem | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly subscription: vscode.Disposable;

  constructor(private readonly state: ManagerState) {
    this.subscription = state.onDidChange((kind) => {
      if (kind === "profiles") this.changed.fire(undefined);
    });
  }

  getTreeItem(node: ProfileItem): vscode.TreeItem {
    return node;
  }

  getChildren(node?: ProfileItem): ProfileItem[] {
    if (node !== undefined || !this.state.loaded) return [];
    return [...this.state.profiles].sort((a, b) => a.name.localeCompare(b.name)).map((p) => new ProfileItem(p, this.state.serverOf(p.id)));
  }

  dispose(): void {
    this.subscription.dispose();
    this.changed.dispose();
  }
}
