import * as vscode from "vscode";
import type { ModelFormat } from "../../shared/models";

export type ModelGroup = "downloads" | ModelFormat;

const LABELS: Record<ModelGroup, () => string> = {
  downloads: () => vscode.l10n.t("Downloading"),
  mlx: () => vscode.l10n.t("MLX"),
  gguf: () => vscode.l10n.t("GGUF"),
  safetensors: () => vscode.l10n.t("Safetensors"),
  unknown: () => vscode.l10n.t("Other"),
};

/** A group of the Models view: downloads in progress, then one per model format. */
export class ModelGroupItem extends vscode.TreeItem {
  constructor(
    readonly group: ModelGroup,
    count: number,
  ) {
    super(LABELS[group](), vscode.TreeItemCollapsibleState.Expanded);
    this.id = `group:${group}`;
    this.description = String(count);
    this.contextValue = `modelGroup.${group}`;
    this.iconPath = new vscode.ThemeIcon(group === "downloads" ? "cloud-download" : "folder-library");
  }
}
