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
      if (kind === "profiles" || kind === "remotes") this.changed.fire(undefined);
    });
  }

  getTreeItem(node: ProfileItem): vscode.TreeItem {
    return node;
  }

  getChildren(node?: ProfileItem): ProfileItem[] {
    if (node !== undefined || !this.state.loaded) return [];
    const byName = new Map(this.state.profiles.map((p) => [p.name.toLowerCase(), p.name]));
    const backendName = (id: string): string | undefined => this.state.remotes.get(id)?.name;
    return [...this.state.profiles]
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((p) => {
        const replicaOf = (p.aliases ?? []).map((a) => byName.get(a.toLowerCase())).filter((n): n is string => n !== undefined && n !== p.name);
        return new ProfileItem(p, this.state.serverOf(p.id), { backendName, replicaOf });
      });
  }

  dispose(): void {
    this.subscription.dispose();
    this.changed.dispose();
  }
}
