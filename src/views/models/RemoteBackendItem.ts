import * as vscode from "vscode";
import type { Profile } from "../../shared/profiles";
import type { RemoteBackend, RemoteModel } from "../../shared/remotes";
import { formatBytes } from "../host/format";

function stateLabel(backend: RemoteBackend): string {
  switch (backend.health.state) {
    case "healthy":
      return backend.health.models.length === 1 ? vscode.l10n.t("1 model") : vscode.l10n.t("{0} models", backend.health.models.length);
    case "unreachable":
      return vscode.l10n.t("not answering");
    case "key_refused":
      return vscode.l10n.t("key refused");
    case "certificate_changed":
      return vscode.l10n.t("certificate changed");
    case "unknown":
      return vscode.l10n.t("checking…");
  }
}

/** A remote backend in the Models view: another machine's OpenAI-compatible server, its models below. */
export class RemoteBackendItem extends vscode.TreeItem {
  constructor(readonly backend: RemoteBackend) {
    super(backend.name, vscode.TreeItemCollapsibleState.Collapsed);
    this.id = `remote:${backend.id}`;
    const healthy = backend.health.state === "healthy";
    const nodes = backend.health.nodes;
    const cluster = nodes === undefined ? "" : `${vscode.l10n.t("exo, {0} nodes, {1} free", nodes.length, formatBytes(nodes.reduce((sum, n) => sum + n.ramAvailableBytes, 0)))} · `;
    this.description = `${cluster}${stateLabel(backend)} · ${new URL(backend.url).host}`;
    this.contextValue = `remoteBackend.${backend.health.state}`;
    this.iconPath = new vscode.ThemeIcon(healthy ? "remote" : "warning", new vscode.ThemeColor(healthy ? "charts.green" : "problemsWarningIcon.foreground"));
    const lines = [
      vscode.l10n.t("Remote backend {0}", backend.name),
      backend.url,
      backend.fingerprint === null ? (backend.url.startsWith("https:") ? vscode.l10n.t("TLS: trusted by this machine") : vscode.l10n.t("Plain http")) : vscode.l10n.t("TLS certificate pinned: {0}", backend.fingerprint),
      backend.hasKey ? vscode.l10n.t("Key kept in the manager's data folder (never shown)") : vscode.l10n.t("No key"),
    ];
    if (backend.plainHttp) lines.push(vscode.l10n.t("Requests cross the network unencrypted."));
    if (backend.kind === "exo") lines.push(vscode.l10n.t("exo has no authentication: the manager sends it no credentials. A request never places a model there; Start does."));
    for (const node of nodes ?? []) lines.push(vscode.l10n.t("node {0}: {1} of {2} free", node.id.slice(0, 12), formatBytes(node.ramAvailableBytes), formatBytes(node.ramTotalBytes)));
    if (backend.health.error !== undefined) lines.push(backend.health.error);
    if (backend.health.latencyMs !== undefined) lines.push(vscode.l10n.t("Last check: {0} ms", backend.health.latencyMs));
    this.tooltip = lines.join("\n");
  }
}

/** A model a remote backend lists; the profiles that serve it say so. */
export class RemoteModelItem extends vscode.TreeItem {
  constructor(
    readonly backend: RemoteBackend,
    readonly model: RemoteModel,
    profiles: readonly Profile[],
  ) {
    super(model.id, vscode.TreeItemCollapsibleState.None);
    this.id = `remote:${backend.id}:${model.id}`;
    const using = profiles.filter((p) => p.model.source === "remote" && p.model.backend === backend.id && p.model.model === model.id);
    const placed = backend.health.instances?.find((i) => i.model === model.id);
    this.description = [placed === undefined ? "" : vscode.l10n.t("placed, {0}", placed.state), using.length === 0 ? "" : vscode.l10n.t("profile {0}", using.map((p) => p.name).join(", "))].filter((s) => s !== "").join(" · ");
    this.contextValue = `${using.length === 0 ? "remoteModel.free" : "remoteModel.profiled"}${backend.kind === "exo" ? ".exo" : ""}`;
    this.iconPath = new vscode.ThemeIcon("cloud");
    this.tooltip = vscode.l10n.t("{0} on {1} ({2})", model.id, backend.name, backend.url);
  }
}
