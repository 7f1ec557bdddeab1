import * as vscode from "vscode";
import type { ManagerState } from "./ManagerState";

/** The one status bar item: running servers and the busiest one's tokens/s; click shows Servers. */
export class StatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem("mlx.status", vscode.StatusBarAlignment.Left, 50);
  private readonly subscription: vscode.Disposable;

  constructor(
    private readonly state: ManagerState,
    private readonly connectionKind: () => string,
  ) {
    this.item.name = vscode.l10n.t("MLX Model Manager");
    this.item.command = "mlx.openDashboard";
    this.subscription = state.onDidChange((kind) => {
      if (kind === "servers" || kind === "metrics") this.update();
    });
    this.update();
    this.item.show();
  }

  update(): void {
    const running = this.state.runningServers;
    let busiest: { name: string; tps: number } | undefined;
    for (const server of running) {
      const tps = this.state.metrics.get(server.profileId)?.tokensPerSecLast;
      if (tps !== null && tps !== undefined && (!busiest || tps > busiest.tps)) busiest = { name: server.profileName, tps };
    }
    const unreachable = this.connectionKind() === "unreachable";
    const icon = unreachable ? "$(debug-disconnect)" : "$(server-process)";
    this.item.text = busiest ? `${icon} ${running.length} · ${vscode.l10n.t("{0} tok/s", busiest.tps.toFixed(0))}` : `${icon} ${running.length}`;
    this.item.tooltip = unreachable
      ? vscode.l10n.t("MLX: manager not reachable")
      : busiest
        ? vscode.l10n.t("MLX: {0} running server(s); busiest: {1} at {2} tokens/s", running.length, busiest.name, busiest.tps.toFixed(1))
        : vscode.l10n.t("MLX: {0} running server(s)", running.length);
  }

  /** For tests: what the item shows. */
  get text(): string {
    return this.item.text;
  }

  dispose(): void {
    this.subscription.dispose();
    this.item.dispose();
  }
}
