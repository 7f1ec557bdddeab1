import * as vscode from "vscode";
import type { ManagerState } from "../host/ManagerState";
import { ServerItem } from "./ServerItem";

/** Servers view: starting, running, unhealthy and failed servers, refreshed from events. */
export class ServersTreeProvider implements vscode.TreeDataProvider<ServerItem>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<ServerItem | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly subscription: vscode.Disposable;

  constructor(private readonly state: ManagerState) {
    this.subscription = state.onDidChange((kind) => {
      if (kind === "servers" || kind === "metrics") this.changed.fire(undefined);
    });
  }

  getTreeItem(node: ServerItem): vscode.TreeItem {
    return node;
  }

  getChildren(node?: ServerItem): ServerItem[] {
    if (node !== undefined || !this.state.loaded) return [];
    const now = Date.now();
    return this.state.visibleServers.map((s) => new ServerItem(s, this.state.metrics.get(s.profileId), now));
  }

  dispose(): void {
    this.subscription.dispose();
    this.changed.dispose();
  }
}
