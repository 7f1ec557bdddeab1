import * as vscode from "vscode";
import type { GatewayModel, PublicServerInfo, ServerState } from "../../shared/servers";
import type { TeamConnection, TeamSnapshot } from "./TeamConnection";

/** "Models" or "Running servers" of the team server. */
export class TeamGroupItem extends vscode.TreeItem {
  constructor(readonly group: "models" | "servers", count: number) {
    super(group === "models" ? vscode.l10n.t("Models") : vscode.l10n.t("Running servers"), vscode.TreeItemCollapsibleState.Expanded);
    this.id = `team-group:${group}`;
    this.description = String(count);
    this.contextValue = `teamGroup.${group}`;
    this.iconPath = new vscode.ThemeIcon(group === "models" ? "library" : "server-process");
  }
}

/**
 * A model (profile) the team server offers; `teamModel.<running|stopped>[.admin]` drives its
 * actions: everyone may chat (the gateway starts it just in time), admins also start and stop.
 */
export class TeamModelItem extends vscode.TreeItem {
  constructor(readonly model: GatewayModel, admin: boolean) {
    super(model.id, vscode.TreeItemCollapsibleState.None);
    this.id = `team-model:${model.id}`;
    const running = isUp(model.state);
    this.contextValue = `teamModel.${running ? "running" : "stopped"}${admin ? ".admin" : ""}`;
    this.description = `${model.engine} · ${stateLabel(model.state)}`;
    this.iconPath = new vscode.ThemeIcon(running ? "vm-running" : "vm-outline", running ? new vscode.ThemeColor("testing.iconPassed") : undefined);
    this.tooltip = vscode.l10n.t("{0} on the team server ({1}). Chat with it from the dashboard; it starts on the first message.", model.id, model.engine);
    this.command = { command: "mlx.chatWithTeamModel", title: vscode.l10n.t("Chat"), arguments: [this] };
  }
}

/** A server running on the team server. */
export class TeamServerItem extends vscode.TreeItem {
  constructor(readonly server: PublicServerInfo, admin: boolean) {
    super(server.profileName, vscode.TreeItemCollapsibleState.None);
    this.id = `team-server:${server.profileId}`;
    this.contextValue = `teamServer.${isUp(server.state) ? "running" : "stopped"}${admin ? ".admin" : ""}`;
    const uptime = server.readyAt === undefined ? "" : ` · ${vscode.l10n.t("up since {0}", new Date(server.readyAt).toLocaleTimeString())}`;
    this.description = `${stateLabel(server.state)}${uptime}`;
    this.iconPath = new vscode.ThemeIcon(server.state === "failed" ? "error" : server.state === "running" ? "vm-running" : "loading~spin");
    this.tooltip = `${server.profileName} · ${server.engine}\n${server.model}`;
  }
}

export type TeamNode = TeamGroupItem | TeamModelItem | TeamServerItem;

/** Team Server view: the models and running servers of the team server a teammate signed in to. */
export class TeamTreeProvider implements vscode.TreeDataProvider<TeamNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<TeamNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly subscription: vscode.Disposable;
  private shown = "";

  constructor(private readonly team: TeamConnection) {
    this.subscription = team.onDidChange((snapshot) => {
      // Polls every few seconds: redraw only when something visible changed.
      const key = JSON.stringify(snapshot === undefined ? null : [snapshot.status, snapshot.user?.role, snapshot.models.map((m) => [m.id, m.state, m.engine]), snapshot.servers.map((s) => [s.profileId, s.state, s.readyAt])]);
      if (key === this.shown) return;
      this.shown = key;
      this.changed.fire(undefined);
    });
  }

  getTreeItem(node: TeamNode): vscode.TreeItem {
    return node;
  }

  getChildren(node?: TeamNode): TeamNode[] {
    const snapshot = this.team.snapshot;
    if (snapshot === undefined || snapshot.status === "signed-out" || snapshot.status === "pending") return [];
    const admin = snapshot.user?.role === "admin";
    if (node === undefined) return [new TeamGroupItem("models", snapshot.models.length), new TeamGroupItem("servers", snapshot.servers.length)];
    if (node instanceof TeamGroupItem && node.group === "models") return [...snapshot.models].sort((a, b) => a.id.localeCompare(b.id)).map((m) => new TeamModelItem(m, admin));
    if (node instanceof TeamGroupItem) return [...snapshot.servers].sort((a, b) => a.profileName.localeCompare(b.profileName)).map((s) => new TeamServerItem(s, admin));
    return [];
  }

  dispose(): void {
    this.subscription.dispose();
    this.changed.dispose();
  }
}

/** The line under the view's title: who is signed in where, and whether the link is encrypted. */
export function teamMessage(snapshot: TeamSnapshot | undefined): string | undefined {
  if (snapshot === undefined) return undefined;
  const who = snapshot.user ? `${snapshot.user.email} (${snapshot.user.role === "admin" ? vscode.l10n.t("admin") : vscode.l10n.t("user")})` : snapshot.email;
  const link = snapshot.tls
    ? snapshot.fingerprint
      ? vscode.l10n.t("TLS, pinned certificate {0}…", snapshot.fingerprint.slice(0, 23))
      : vscode.l10n.t("TLS")
    : vscode.l10n.t("NOT encrypted: passwords and prompts cross the network in clear");
  const head = vscode.l10n.t("{0} as {1} · {2}", snapshot.url, who, link);
  return snapshot.problem !== undefined && snapshot.status !== "connected" ? `${head}\n${snapshot.problem}` : head;
}

function isUp(state: ServerState): boolean {
  return state === "running" || state === "starting" || state === "unhealthy";
}

function stateLabel(state: ServerState): string {
  switch (state) {
    case "running":
      return vscode.l10n.t("running");
    case "starting":
      return vscode.l10n.t("starting");
    case "unhealthy":
      return vscode.l10n.t("unhealthy");
    case "stopping":
      return vscode.l10n.t("stopping");
    case "failed":
      return vscode.l10n.t("failed");
    case "stopped":
      return vscode.l10n.t("stopped");
  }
}
