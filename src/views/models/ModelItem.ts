import * as vscode from "vscode";
import type { CachedModel } from "../../shared/models";
import { formatBytes, formatParameters } from "../host/format";

/** A cached model: size, quantization and architecture at a glance, details in the tooltip. */
export class ModelItem extends vscode.TreeItem {
  constructor(readonly model: CachedModel) {
    super(model.id, vscode.TreeItemCollapsibleState.None);
    this.id = `model:${model.id}`;
    this.description = [formatBytes(model.size), model.quantization?.label, model.architecture].filter((p) => p !== undefined && p.length > 0).join(" · ");
    this.iconPath = new vscode.ThemeIcon(model.warnings.length > 0 ? "warning" : model.format === "mlx" ? "circuit-board" : "package");
    this.contextValue = `model.${model.format}`;
  }

  /** Built when the user hovers (resolveTreeItem), not for each of a thousand rows. */
  buildTooltip(): vscode.MarkdownString {
    const model = this.model;
    const tooltip = new vscode.MarkdownString(undefined, true);
    tooltip.appendMarkdown(`**${escape(model.id)}**\n\n`);
    const rows: [string, string | undefined][] = [
      [vscode.l10n.t("Format"), model.format.toUpperCase()],
      [vscode.l10n.t("Size on disk"), formatBytes(model.size)],
      [vscode.l10n.t("Quantization"), model.quantization?.label],
      [vscode.l10n.t("Architecture"), model.architecture],
      [vscode.l10n.t("Parameters"), model.parameters === undefined ? undefined : formatParameters(model.parameters)],
      [vscode.l10n.t("Revisions"), model.revisions.map((r) => (r.refs.length > 0 ? r.refs.join(", ") : r.commit.slice(0, 8))).join("; ")],
      [vscode.l10n.t("GGUF files"), model.ggufFiles?.map((f) => f.path).join(", ")],
      [vscode.l10n.t("Path"), model.path],
    ];
    for (const [label, value] of rows) if (value) tooltip.appendMarkdown(`${label}: ${escape(value)}  \n`);
    for (const warning of model.warnings) tooltip.appendMarkdown(`\n$(warning) ${escape(warning)}`);
    return tooltip;
  }
}

function escape(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, "\\$&");
}
