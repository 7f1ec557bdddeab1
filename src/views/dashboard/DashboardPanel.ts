import { createHash } from "node:crypto";
import * as vscode from "vscode";
import type { ManagerClient } from "../../client/ManagerClient";
import type { HostMessage } from "../../shared/dashboard";
import { DashboardHost, type TeamChatSource } from "./DashboardHost";
import { dashboardHtml } from "./dashboardHtml";

type ShowMessage = Extract<HostMessage, { type: "show" }>;

export const DASHBOARD_VIEW_TYPE = "mlx.dashboard";

export interface DashboardDeps {
  /** The connected manager client (connects, or starts the manager, on first use). */
  client: () => Promise<ManagerClient>;
  log: vscode.LogOutputChannel;
  /** The team server's models as extra chat targets. */
  team?: TeamChatSource;
}

/** Opens (or reveals) the one dashboard panel, optionally on a tab and for a profile. */
export interface DashboardOpener {
  open(tab?: unknown, profileId?: unknown): void;
}

/**
 * Registers the serializer that brings the panel back after a reload and returns the opener that
 * "MLX: Open Dashboard" (`mlx.openDashboard`, src/commands/openDashboard.ts) calls. One panel at a time.
 */
export function registerDashboard(context: vscode.ExtensionContext, deps: DashboardDeps): DashboardOpener & { dispose(): void } {
  let current: DashboardPanel | undefined;
  const adopt = (panel: vscode.WebviewPanel): DashboardPanel => {
    const dashboard = new DashboardPanel(panel, context, deps);
    current = dashboard;
    panel.onDidDispose(() => {
      if (current === dashboard) current = undefined;
    });
    return dashboard;
  };
  const open = (tab?: unknown, profileId?: unknown): void => {
    const show: ShowMessage | undefined = tab === "chat" || tab === "servers" || tab === "jobs" || tab === "bench" ? { type: "show", tab, ...(typeof profileId === "string" ? { profileId } : {}) } : undefined;
    if (current) {
      current.reveal(show);
      return;
    }
    const panel = vscode.window.createWebviewPanel(DASHBOARD_VIEW_TYPE, vscode.l10n.t("MLX Dashboard"), vscode.ViewColumn.Active, webviewOptions(context.extensionUri));
    adopt(panel).reveal(show);
  };
  const registrations = vscode.Disposable.from(
    vscode.window.registerWebviewPanelSerializer(DASHBOARD_VIEW_TYPE, {
      async deserializeWebviewPanel(panel: vscode.WebviewPanel): Promise<void> {
        panel.webview.options = webviewOptions(context.extensionUri);
        adopt(panel);
      },
    }),
    { dispose: () => current?.dispose() },
  );
  return {
    open,
    dispose: () => {
      registrations.dispose();
    },
  };
}

function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewPanelOptions & vscode.WebviewOptions {
  // No retainContextWhenHidden: the webview keeps its state with setState and the host replays
  // running streams when it comes back.
  return {
    enableScripts: true,
    localResourceRoots: [vscode.Uri.joinPath(extensionUri, "dist", "webview"), vscode.Uri.joinPath(extensionUri, "media")],
  };
}

/** One dashboard panel: the webview, its HTML with a fresh nonce, and the host behind it. */
class DashboardPanel {
  private readonly host: DashboardHost;
  private readonly disposables: vscode.Disposable[] = [];
  private pendingShow: HostMessage | undefined;

  constructor(private readonly panel: vscode.WebviewPanel, context: vscode.ExtensionContext, deps: DashboardDeps) {
    const webview = panel.webview;
    const dist = vscode.Uri.joinPath(context.extensionUri, "dist", "webview");
    panel.iconPath = vscode.Uri.joinPath(context.extensionUri, "media", "mlx.svg");
    this.host = new DashboardHost({
      client: deps.client,
      logger: deps.log,
      workspace: workspaceKey(),
      post: (message) => webview.postMessage(message),
      ...(deps.team ? { team: deps.team } : {}),
      platform: {
        async saveFile(fileName, content) {
          const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
          const target = await vscode.window.showSaveDialog({
            ...(folder ? { defaultUri: vscode.Uri.joinPath(folder, fileName) } : {}),
            filters: fileName.endsWith(".json") ? { JSON: ["json"] } : fileName.endsWith(".csv") ? { CSV: ["csv"] } : { Markdown: ["md"] },
          });
          if (!target) return false;
          await vscode.workspace.fs.writeFile(target, new TextEncoder().encode(content));
          return true;
        },
        writeClipboard: async (text) => {
          await vscode.env.clipboard.writeText(text);
        },
        runCommand: async (command, ...args) => {
          await vscode.commands.executeCommand(command, ...args);
        },
      },
    });
    webview.html = dashboardHtml({
      cspSource: webview.cspSource,
      scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(dist, "main.js")).toString(),
      styleUri: webview.asWebviewUri(vscode.Uri.joinPath(dist, "main.css")).toString(),
    });
    this.disposables.push(
      webview.onDidReceiveMessage((message: unknown) => {
        this.host.receive(message);
        if (isReady(message) && this.pendingShow) {
          void webview.postMessage(this.pendingShow);
          this.pendingShow = undefined;
        }
      }),
      panel.onDidChangeViewState((event) => { this.host.setVisible(event.webviewPanel.visible); }),
      panel.onDidDispose(() => { this.dispose(); }),
    );
  }

  reveal(show?: ShowMessage): void {
    this.panel.reveal();
    if (show) {
      // The webview may not be listening yet: the message goes out with its `ready`.
      this.pendingShow = show;
      void this.panel.webview.postMessage(show).then((sent) => {
        if (sent) this.pendingShow = undefined;
      });
    }
  }

  dispose(): void {
    this.host.dispose();
    for (const d of this.disposables.splice(0)) d.dispose();
    this.panel.dispose();
  }
}

function isReady(message: unknown): boolean {
  return typeof message === "object" && message !== null && (message as { type?: unknown }).type === "ready";
}

/** Conversations belong to the set of folders open (or to "no folder"). */
function workspaceKey(): string {
  const folders = vscode.workspace.workspaceFolders?.map((f) => f.uri.toString()) ?? [];
  if (folders.length === 0) return "no-workspace";
  return createHash("sha256").update(folders.sort().join("\n")).digest("hex").slice(0, 32);
}
