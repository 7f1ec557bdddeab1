import * as vscode from "vscode";
import type { ManagerState } from "../host/ManagerState";
import { JobItem } from "./JobItem";

/** Jobs view: fine-tuning jobs, newest first, with their progress, refreshed from events. */
export class JobsTreeProvider implements vscode.TreeDataProvider<JobItem>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<JobItem | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly subscription: vscode.Disposable;

  constructor(private readonly state: ManagerState) {
    this.subscription = state.onDidChange((kind) => {
      if (kind === "jobs") this.changed.fire(undefined);
    });
  }

  getTreeItem(node: JobItem): vscode.TreeItem {
    return node;
  }

  getChildren(node?: JobItem): JobItem[] {
    if (node !== undefined || !this.state.loaded) return [];
    return this.state.jobList.map((job) => new JobItem(job));
  }

  dispose(): void {
    this.subscription.dispose();
    this.changed.dispose();
  }
}
