import type { ReportDocuments } from "../views/host/ReportDocuments";
import type * as vscode from "vscode";
import type { DashboardOpener } from "../views/dashboard/DashboardPanel";
import type { ErrorReporter } from "../views/host/errors";
import type { ManagerConnection } from "../views/host/ManagerConnection";
import type { ManagerState } from "../views/host/ManagerState";
import type { ServerLogChannels } from "../views/host/ServerLogChannels";
import type { ProfileDocuments } from "../views/profiles/ProfileDocuments";
import type { TeamConnection } from "../views/team/TeamConnection";

/** What every command gets: handed in once at registration (no module globals). */
export interface CommandContext {
  connection: ManagerConnection;
  state: ManagerState;
  log: vscode.LogOutputChannel;
  errors: ErrorReporter;
  serverLogs: ServerLogChannels;
  profileDocuments: ProfileDocuments;
  /** Read-only Markdown reports (a distributed profile's hosts). */
  reports: ReportDocuments;
  secrets: vscode.SecretStorage;
  /** This workspace's memory (the answer to "start the workspace profile?"). */
  workspaceState: vscode.Memento;
  /** The extension's memory across workspaces (what it changed in Claude Code's settings). */
  globalState: vscode.Memento;
  dashboard: DashboardOpener;
  /** The team server this teammate signed in to (MLX: Connect to Team Server). */
  team: TeamConnection;
}

/** One command verb: its id (as contributed in package.json) and what it does. */
export interface CommandDefinition {
  id: string;
  run(ctx: CommandContext, ...args: unknown[]): unknown;
}
