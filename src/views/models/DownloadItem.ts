import * as vscode from "vscode";
import type { Download } from "../../shared/hub";
import { formatBytes, formatDuration } from "../host/format";

/** A download in progress: the only kind of node that shows progress. */
export class DownloadItem extends vscode.TreeItem {
  constructor(readonly download: Download) {
    super(download.repo, vscode.TreeItemCollapsibleState.None);
    this.id = `download:${download.id}`;
    const percent = download.totalBytes > 0 ? Math.floor((download.doneBytes / download.totalBytes) * 100) : 0;
    const parts =
      download.state === "running"
        ? [`${percent}%`, `${formatBytes(download.speed)}/s`, download.etaSeconds === undefined ? undefined : vscode.l10n.t("{0} left", formatDuration(download.etaSeconds))]
        : [download.state === "queued" ? vscode.l10n.t("queued") : download.state === "failed" ? vscode.l10n.t("failed") : download.state];
    this.description = parts.filter((p) => p !== undefined).join(" · ");
    this.iconPath = new vscode.ThemeIcon(download.state === "failed" ? "error" : download.state === "running" ? "sync~spin" : "clock");
    this.tooltip = download.error?.message ?? `${download.repo}@${download.revision}: ${formatBytes(download.doneBytes)} / ${formatBytes(download.totalBytes)}, ${download.filesDone}/${download.filesTotal}`;
    this.contextValue = `download.${download.state}`;
  }
}
