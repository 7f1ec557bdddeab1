import * as vscode from "vscode";
import { modelRefLabel, type Profile } from "../../shared/profiles";
import type { ServerInfo } from "../../shared/servers";

/** What a profile's inline actions match on: `profile.running`, `profile.stopped`, ... */
export type ProfileRunState = "running" | "starting" | "stopped" | "failed";

export function describeModelRef(profile: Profile, backendName?: (id: string) => string | undefined): string {
  return modelRefLabel(profile.model, backendName);
}

/** What a profile's item shows of the others: remote backends' names, and the profiles it is a replica of. */
export interface ProfileItemContext {
  backendName?: (id: string) => string | undefined;
  /** Profiles whose name this profile has as an alias: requests for that name go to either. */
  replicaOf?: readonly string[];
}

/** A profile with its engine, model and port; its contextValue carries its server's state. */
export class ProfileItem extends vscode.TreeItem {
  readonly runState: ProfileRunState;

  constructor(
    readonly profile: Profile,
    readonly server: ServerInfo | undefined,
    context: ProfileItemContext = {},
  ) {
    super(profile.name, vscode.TreeItemCollapsibleState.None);
    this.id = `profile:${profile.id}`;
    const state = server?.state;
    this.runState =
      state === "running" || state === "unhealthy" ? "running" : state === "starting" || state === "stopping" ? "starting" : state === "failed" ? "failed" : "stopped";
    const remote = profile.model.source === "remote";
    const port = remote ? vscode.l10n.t("remote") : server && this.runState !== "stopped" ? String(server.port) : profile.port === "auto" ? vscode.l10n.t("auto port") : String(profile.port);
    const model = describeModelRef(profile, context.backendName);
    const keeps = [
      profile.pinned ? vscode.l10n.t("pinned") : undefined,
      profile.group === null ? undefined : vscode.l10n.t("group {0}", profile.group),
      context.replicaOf === undefined || context.replicaOf.length === 0 ? undefined : vscode.l10n.t("replica of {0}", context.replicaOf.join(", ")),
    ].filter((part): part is string => part !== undefined);
    // A distributed profile says how many Macs its model runs across (this one and its hosts).
    const hosts = profile.options.distributed?.hosts ?? [];
    const where = hosts.length > 0 ? vscode.l10n.t("across {0} Macs", hosts.length + 1) : undefined;
    this.description = [remote ? model : `${profile.engine} · ${model} · ${port}`, ...(where === undefined ? [] : [where]), ...keeps].join(" · ");
    this.contextValue = `profile.${this.runState}${hosts.length > 0 ? ".distributed" : ""}`;
    this.iconPath = new vscode.ThemeIcon(
      this.runState === "running" ? "vm-running" : this.runState === "starting" ? "loading~spin" : this.runState === "failed" ? "error" : "vm-outline",
      this.runState === "running" ? new vscode.ThemeColor("testing.iconPassed") : this.runState === "failed" ? new vscode.ThemeColor("testing.iconFailed") : undefined,
    );
    this.tooltip = new vscode.MarkdownString(
      [
        `**${profile.name}**`,
        "",
        `${vscode.l10n.t("Engine")}: ${profile.engine}  `,
        `${vscode.l10n.t("Model")}: ${model}  `,
        `${vscode.l10n.t("Port")}: ${port}  `,
        ...(hosts.length > 0 ? [`${vscode.l10n.t("Hosts")}: ${vscode.l10n.t("this Mac (rank 0)")}, ${hosts.map((h) => h.ssh).join(", ")} (${profile.options.distributed?.backend ?? "ring"}${profile.options.distributed?.pipeline === true ? ", pipeline" : ""})  `] : []),
        `${vscode.l10n.t("State")}: ${state ?? "stopped"}  `,
        profile.pinned ? vscode.l10n.t("Pinned: never stopped to make room for another model, nor when idle.") : vscode.l10n.t("Stopped to make room for another model when it is idle and memory is short."),
      ].join("\n"),
    );
  }
}
