import * as vscode from "vscode";
import { registerCommands } from "./commands";
import type { CommandContext } from "./commands/CommandContext";
import { pushHfToken } from "./commands/setHfToken";
import { watchWorkspaceProfiles } from "./commands/workspaceProfiles";
import { registerDashboard } from "./views/dashboard/DashboardPanel";
import { DownloadTracker } from "./views/host/DownloadTracker";
import { ErrorReporter } from "./views/host/errors";
import { readSettings } from "./views/host/settings";
import { ManagerConnection } from "./views/host/ManagerConnection";
import { ManagerState } from "./views/host/ManagerState";
import { ServerLogChannels } from "./views/host/ServerLogChannels";
import { StatusBar } from "./views/host/StatusBar";
import { TerminalEnvironment } from "./views/host/TerminalEnvironment";
import { ModelsTreeProvider } from "./views/models/ModelsTreeProvider";
import { PROFILE_SCHEME, ProfileDocuments } from "./views/profiles/ProfileDocuments";
import { REPORT_SCHEME, ReportDocuments } from "./views/host/ReportDocuments";
import { ProfileMemoryLens } from "./views/profiles/ProfileMemoryLens";
import { ProfilesTreeProvider } from "./views/profiles/ProfilesTreeProvider";
import { ServersTreeProvider } from "./views/servers/ServersTreeProvider";
import { JobsTreeProvider } from "./views/jobs/JobsTreeProvider";
import { TeamConnection } from "./views/team/TeamConnection";
import { TeamTreeProvider, teamMessage, type TeamNode } from "./views/team/TeamTreeProvider";
import type { UserItem } from "./views/users/UserItem";
import { UsersTreeProvider } from "./views/users/UsersTreeProvider";
import { registerChatModels } from "./views/lm/MlxChatModelProvider";

/** What activate() hands to tests (and to other extensions): the live objects, read-only use. */
export interface MlxExtensionApi {
  connection: ManagerConnection;
  state: ManagerState;
  models: ModelsTreeProvider;
  profiles: ProfilesTreeProvider;
  servers: ServersTreeProvider;
  users: UsersTreeProvider;
  /** The Users view (its badge counts accounts waiting for approval). */
  usersView: vscode.TreeView<UserItem>;
  statusBar: StatusBar;
  /** OPENAI_BASE_URL / OPENAI_API_KEY for new terminals while a server runs (opt-in setting). */
  terminalEnvironment: TerminalEnvironment;
  /** The team server this teammate signed in to, and its view. */
  team: TeamConnection;
  teamTree: TeamTreeProvider;
  teamView: vscode.TreeView<TeamNode>;
  profileDocuments: ProfileDocuments;
  errors: ErrorReporter;
  /** Milliseconds activate() took. */
  activationMs: number;
  /** Milliseconds from activation to the first connection to the manager (once connected). */
  readonly connectedAfterMs: number | undefined;
}

/**
 * Activation is cheap: it creates the views, commands and status bar and returns; finding (or
 * starting) the manager happens right after, off the activation path.
 */
export function activate(context: vscode.ExtensionContext): MlxExtensionApi {
  const started = performance.now();
  const version = (context.extension.packageJSON as { version?: string }).version ?? "0.0.0";
  const log = vscode.window.createOutputChannel("MLX Model Manager", { log: true });
  const connection = new ManagerConnection({ extensionPath: context.extensionPath, extensionVersion: version, log });
  const state = new ManagerState(connection, log);
  const errors = new ErrorReporter(log);
  const serverLogs = new ServerLogChannels(connection, log);
  const downloads = new DownloadTracker(connection, state, errors);
  const profileDocuments = new ProfileDocuments(connection, vscode.Uri.joinPath(context.extensionUri, "media", "schemas", "mlx-profile.schema.json"));
  const profileMemory = new ProfileMemoryLens(connection);
  const reports = new ReportDocuments();
  const models = new ModelsTreeProvider(state);
  const profiles = new ProfilesTreeProvider(state);
  const servers = new ServersTreeProvider(state);
  const jobs = new JobsTreeProvider(state);
  const users = new UsersTreeProvider(state);
  const statusBar = new StatusBar(state, () => connection.state.kind);
  const modelsView = vscode.window.createTreeView("mlx.models", { treeDataProvider: models, showCollapseAll: true });
  const profilesView = vscode.window.createTreeView("mlx.profiles", { treeDataProvider: profiles, canSelectMany: true });
  const serversView = vscode.window.createTreeView("mlx.servers", { treeDataProvider: servers, canSelectMany: true });
  const jobsView = vscode.window.createTreeView("mlx.jobs", { treeDataProvider: jobs });
  const usersView = vscode.window.createTreeView("mlx.users", { treeDataProvider: users, canSelectMany: true });
  const team = new TeamConnection(context.globalState, context.secrets, log);
  const teamTree = new TeamTreeProvider(team);
  const teamView = vscode.window.createTreeView("mlx.team", { treeDataProvider: teamTree });
  const dashboard = registerDashboard(context, { client: () => connection.client(), log, team: team.chatSource() });
  const ctx: CommandContext = { connection, state, log, errors, serverLogs, profileDocuments, reports, secrets: context.secrets, workspaceState: context.workspaceState, globalState: context.globalState, dashboard, team };

  const terminalEnvironment = new TerminalEnvironment(context.environmentVariableCollection, connection, state, log);

  const updateBadge = (): void => {
    const running = state.runningServers.length;
    serversView.badge = running > 0 ? { value: running, tooltip: vscode.l10n.t("{0} running server(s)", running) } : undefined;
  };
  let sharedContext: string | undefined;
  const updateUsers = (): void => {
    const pending = users.pendingCount;
    usersView.badge = pending > 0 ? { value: pending, tooltip: vscode.l10n.t("{0} account(s) waiting for approval", pending) } : undefined;
    // The local owner administers shared mode over loopback; "off" shows the welcome with Start Shared Server.
    const shared = state.shared === undefined ? "unknown" : state.shared === null ? "unavailable" : state.shared.enabled ? "on" : "off";
    if (shared !== sharedContext) {
      sharedContext = shared;
      void vscode.commands.executeCommand("setContext", "mlx.shared", shared);
    }
  };
  let versionChecked = false;
  let connectedAfterMs: number | undefined;
  /** Hands the manager the settings the user set in VS Code; a refused value is said once, in the log and a message. */
  const pushManagerSettings = async (): Promise<void> => {
    const patch = readSettings().manager;
    if (Object.keys(patch).length === 0) return;
    try {
      await (await connection.client()).updateSettings(patch);
    } catch (error) {
      log.warn(`could not hand the manager its settings: ${String(error)}`);
      void vscode.window.showWarningMessage(vscode.l10n.t("The manager refused a setting (mlx.memory, mlx.servers or mlx.gateway): {0}", error instanceof Error ? error.message : String(error)));
    }
  };
  context.subscriptions.push(
    // Disposed when VS Code quits (or the window closes): servers keep running unless asked.
    new vscode.Disposable(() => {
      const current = connection.state;
      if (readSettings().stopServersOnQuit && current.kind === "connected") void current.client.stopAllServers(AbortSignal.timeout(3000)).catch(() => undefined);
    }),
    log,
    connection,
    state,
    serverLogs,
    downloads,
    profileDocuments,
    models,
    profiles,
    servers,
    statusBar,
    modelsView,
    profilesView,
    serversView,
    jobs,
    jobsView,
    users,
    usersView,
    team,
    teamTree,
    teamView,
    team.onDidChange((snapshot) => {
      teamView.message = teamMessage(snapshot) ?? "";
      teamView.description = snapshot === undefined ? "" : new URL(snapshot.url).host;
    }),
    dashboard,
    registerChatModels({ client: () => connection.client(), state, log }),
    vscode.workspace.registerFileSystemProvider(PROFILE_SCHEME, profileDocuments, { isCaseSensitive: true }),
    vscode.workspace.registerTextDocumentContentProvider(REPORT_SCHEME, reports),
    reports,
    profileMemory,
    vscode.languages.registerCodeLensProvider({ scheme: PROFILE_SCHEME }, profileMemory),
    ...registerCommands(ctx),
    terminalEnvironment,
    watchWorkspaceProfiles(ctx),
    state.onDidChange((kind) => {
      if (kind === "servers") updateBadge();
      if (kind === "users") updateUsers();
    }),
    connection.onDidChange((current) => {
      statusBar.update();
      if (current.kind !== "connected") return;
      connectedAfterMs ??= performance.now() - started;
      void pushHfToken(ctx);
      void pushManagerSettings();
      if (!versionChecked && current.status.version !== version) {
        versionChecked = true;
        void offerManagerRestart(current.status.version, version);
      }
    }),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration("mlx.manager") || event.affectsConfiguration("mlx.huggingFace")) void connection.retry().catch(() => undefined);
      else if (["mlx.memory.budgetGB", "mlx.servers.idleStopMinutes", "mlx.gateway"].some((key) => event.affectsConfiguration(key))) void pushManagerSettings();
    }),
  );
  void vscode.commands.executeCommand("setContext", "mlx.connection", "connecting");
  void vscode.commands.executeCommand("setContext", "mlx.team", "none");
  void team.restore().catch((error: unknown) => { log.warn(`team: could not restore the session (${String(error)})`); });
  // Off the activation path: find or start the manager; failures show in the views (Retry).
  setTimeout(() => void connection.client().catch(() => undefined), 0);
  const activationMs = performance.now() - started;
  log.info(`MLX Model Manager ${version} activated in ${activationMs.toFixed(1)} ms`);
  return {
    connection,
    state,
    models,
    profiles,
    servers,
    users,
    usersView,
    statusBar,
    team,
    teamTree,
    teamView,
    profileDocuments,
    errors,
    terminalEnvironment,
    activationMs,
    get connectedAfterMs() {
      return connectedAfterMs;
    },
  };
}

async function offerManagerRestart(managerVersion: string, extensionVersion: string): Promise<void> {
  const restart = vscode.l10n.t("Restart Manager");
  const choice = await vscode.window.showInformationMessage(
    vscode.l10n.t("The MLX manager runs version {0}, the extension is {1}. Restart the manager? Running servers keep running.", managerVersion, extensionVersion),
    restart,
  );
  if (choice === restart) await vscode.commands.executeCommand("mlx.restartManager");
}

export function deactivate(): void {
  // Everything is disposed through context.subscriptions; the manager and its servers keep running.
}
