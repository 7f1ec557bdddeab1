import * as vscode from "vscode";
import type { ServerMetrics } from "../../shared/metrics";
import type { ServerInfo } from "../../shared/servers";
import { formatBytes, formatDuration } from "../host/format";

/** A server the manager runs: state icon, port, uptime and memory; a failed one says why. */
export class ServerItem extends vscode.TreeItem {
  constructor(
    readonly server: ServerInfo,
    metrics: ServerMetrics | undefined,
    now = Date.now(),
  ) {
    super(server.profileName, vscode.TreeItemCollapsibleState.None);
    this.id = `server:${server.profileId}`;
    const evicted = server.state === "stopped" && server.stopReason === "evicted";
    // Not `server.…`: none of a live server's actions apply to it (a request or Start brings it back).
    this.contextValue = evicted ? "evicted-server" : `server.${server.state}${server.remote === undefined ? "" : ".remote"}`;
    // Where it runs: a port of this machine, or a remote backend.
    const parts: string[] = [server.remote === undefined ? `:${server.port}` : vscode.l10n.t("on {0}", server.remote.backendName)];
    if (server.hosts !== undefined && server.hosts.length > 0) parts.push(vscode.l10n.t("across {0} Macs", server.hosts.length + 1));
    if (server.state === "failed") {
      parts.unshift(vscode.l10n.t("failed"));
      if (server.failure) parts.push(server.failure.message);
    } else if (server.state === "running" || server.state === "unhealthy") {
      if (server.state === "unhealthy") parts.unshift(server.remote === undefined ? vscode.l10n.t("unhealthy") : vscode.l10n.t("not answering"));
      const since = server.readyAt ?? server.startedAt;
      if (since !== undefined) parts.push(formatDuration((now - since) / 1000));
      if (metrics?.memoryBytes !== null && metrics?.memoryBytes !== undefined) parts.push(formatBytes(metrics.memoryBytes));
      if (metrics?.tokensPerSecLast !== null && metrics?.tokensPerSecLast !== undefined) parts.push(vscode.l10n.t("{0} tok/s", metrics.tokensPerSecLast.toFixed(0)));
    } else {
      if (server.state === "starting" && server.loading !== undefined && server.loading.modelBytes > 0) {
        // The model is read from disk now: say how much, and how long the start may take.
        parts.unshift(vscode.l10n.t("loading {0}", formatBytes(server.loading.modelBytes)));
        parts.push(vscode.l10n.t("up to {0}", formatDuration(server.loading.timeoutMs / 1000)));
      } else {
        if (evicted) {
          parts.length = 0;
          parts.push(server.evictedFor === undefined ? vscode.l10n.t("stopped to make room") : vscode.l10n.t("stopped to make room for {0}", server.evictedFor));
        } else parts.unshift(server.state === "starting" ? vscode.l10n.t("starting") : server.state);
      }
    }
    this.description = parts.join(" · ");
    this.iconPath =
      server.state === "running"
        ? new vscode.ThemeIcon("pass-filled", new vscode.ThemeColor("testing.iconPassed"))
        : server.state === "failed"
          ? new vscode.ThemeIcon("error", new vscode.ThemeColor("testing.iconFailed"))
          : server.state === "unhealthy"
            ? new vscode.ThemeIcon("warning", new vscode.ThemeColor("list.warningForeground"))
            : evicted
              ? new vscode.ThemeIcon("arrow-swap")
              : new vscode.ThemeIcon("loading~spin");
    const tooltip = new vscode.MarkdownString();
    tooltip.appendMarkdown(`**${server.profileName}** — ${server.state}\n\n`);
    tooltip.appendText(`${server.engine}${server.engineVersion === undefined ? "" : ` ${server.engineVersion}`} · ${server.model}\n${server.upstreamUrl}${server.pid === undefined ? "" : ` · pid ${server.pid}`}\n`);
    for (const warning of server.warnings) tooltip.appendText(`\n⚠ ${warning}`);
    if (server.failure) {
      tooltip.appendText(`\n${server.failure.message}\n`);
      if (server.failure.logTail.length > 0) tooltip.appendCodeblock(server.failure.logTail.slice(-8).join("\n"), "log");
    }
    this.tooltip = tooltip;
  }
}
