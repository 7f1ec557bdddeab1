import * as vscode from "vscode";
import type { CachedModel, ModelFormat } from "../../shared/models";
import type { ManagerState } from "../host/ManagerState";
import { DownloadItem } from "./DownloadItem";
import { ModelGroupItem } from "./ModelGroupItem";
import { ModelItem } from "./ModelItem";
import { RemoteBackendItem, RemoteModelItem } from "./RemoteBackendItem";

export type ModelsNode = ModelGroupItem | ModelItem | DownloadItem | RemoteBackendItem | RemoteModelItem;

const FORMAT_ORDER: readonly ModelFormat[] = ["mlx", "gguf", "safetensors", "unknown"];

/** Models view: downloads in progress on top, then cached models grouped by format, then each remote backend with its models. */
export class ModelsTreeProvider implements vscode.TreeDataProvider<ModelsNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<ModelsNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly subscription: vscode.Disposable;

  constructor(private readonly state: ManagerState) {
    this.subscription = state.onDidChange((kind) => {
      if (kind === "models" || kind === "downloads" || kind === "remotes" || kind === "profiles") this.changed.fire(undefined);
    });
  }

  /** Items are kept per model object: an event replaces one model, so only its item is rebuilt. */
  private readonly items = new WeakMap<CachedModel, ModelItem>();

  getTreeItem(node: ModelsNode): vscode.TreeItem {
    return node;
  }

  resolveTreeItem(item: vscode.TreeItem, node: ModelsNode): vscode.TreeItem {
    if (node instanceof ModelItem) item.tooltip ??= node.buildTooltip();
    return item;
  }

  getChildren(node?: ModelsNode): ModelsNode[] {
    if (!this.state.loaded) return [];
    if (node instanceof RemoteBackendItem) {
      const backend = this.state.remotes.get(node.backend.id) ?? node.backend;
      // Models placed on an exo cluster first.
      const placed = new Set((backend.health.instances ?? []).map((i) => i.model));
      const models = [...backend.health.models].sort((a, b) => Number(placed.has(b.id)) - Number(placed.has(a.id)));
      return models.map((m) => new RemoteModelItem(backend, m, this.state.profiles));
    }
    if (node === undefined) {
      const groups: ModelsNode[] = [];
      const active = [...this.state.downloads.values()].filter((d) => d.state === "running" || d.state === "queued" || d.state === "failed");
      if (active.length > 0) groups.push(new ModelGroupItem("downloads", active.length));
      const counts = new Map<ModelFormat, number>();
      for (const model of this.state.models) counts.set(model.format, (counts.get(model.format) ?? 0) + 1);
      for (const format of FORMAT_ORDER) {
        const count = counts.get(format);
        if (count) groups.push(new ModelGroupItem(format, count));
      }
      const remotes = [...this.state.remotes.values()].sort((a, b) => a.name.localeCompare(b.name));
      for (const remote of remotes) groups.push(new RemoteBackendItem(remote));
      return groups;
    }
    if (node instanceof ModelGroupItem) {
      if (node.group === "downloads") {
        return [...this.state.downloads.values()]
          .filter((d) => d.state === "running" || d.state === "queued" || d.state === "failed")
          .sort((a, b) => a.createdAt - b.createdAt)
          .map((d) => new DownloadItem(d));
      }
      const models = this.state.models.filter((m) => m.format === node.group).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      return models.map((m) => {
        let item = this.items.get(m);
        if (!item) {
          item = new ModelItem(m);
          this.items.set(m, item);
        }
        return item;
      });
    }
    return [];
  }

  dispose(): void {
    this.subscription.dispose();
    this.changed.dispose();
  }
}
