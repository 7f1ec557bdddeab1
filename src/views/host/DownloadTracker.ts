import * as vscode from "vscode";
import type { Download } from "../../shared/hub";
import type { ErrorReporter } from "./errors";
import { formatBytes, formatDuration } from "./format";
import type { ManagerConnection } from "./ManagerConnection";
import type { ManagerState } from "./ManagerState";

const ACTIVE = new Set<Download["state"]>(["queued", "running"]);

/**
 * One cancellable progress notification per download, fed by the manager's download events.
 * Downloads run in the manager, so after a window reload the notification comes back for
 * every download still in progress.
 */
export class DownloadTracker implements vscode.Disposable {
  private readonly tracked = new Map<string, (download: Download) => void>();
  private readonly subscription: vscode.Disposable;

  constructor(
    private readonly connection: ManagerConnection,
    private readonly state: ManagerState,
    private readonly errors: ErrorReporter,
  ) {
    this.subscription = state.onDidChange((kind) => {
      if (kind !== "downloads") return;
      for (const download of state.downloads.values()) {
        const update = this.tracked.get(download.id);
        if (update) update(download);
        else if (ACTIVE.has(download.state)) this.track(download);
      }
    });
  }

  /** Shows progress for `download` until it completes, fails or is cancelled. */
  track(download: Download): void {
    if (this.tracked.has(download.id)) return;
    let update: (d: Download) => void = () => undefined;
    this.tracked.set(download.id, (d) => {
      update(d);
    });
    void vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: vscode.l10n.t("Downloading {0}", download.repo), cancellable: true },
      (progress, token) =>
        new Promise<void>((resolve) => {
          let reported = 0;
          const cancel = token.onCancellationRequested(() => {
            void this.connection
              .client()
              .then((client) => client.cancelDownload(download.id))
              .catch((error: unknown) => {
                this.errors.report(vscode.l10n.t("Could not cancel the download of {0}", download.repo), error);
              });
          });
          update = (d) => {
            const percent = d.totalBytes > 0 ? Math.floor((d.doneBytes / d.totalBytes) * 100) : 0;
            const eta = d.etaSeconds === undefined ? "" : ` · ${vscode.l10n.t("{0} left", formatDuration(d.etaSeconds))}`;
            progress.report({ increment: Math.max(0, percent - reported), message: `${percent}% · ${formatBytes(d.doneBytes)} / ${formatBytes(d.totalBytes)} · ${formatBytes(d.speed)}/s${eta}` });
            reported = Math.max(reported, percent);
            if (ACTIVE.has(d.state)) return;
            cancel.dispose();
            this.tracked.delete(d.id);
            resolve();
            this.finished(d);
          };
          update(this.state.downloads.get(download.id) ?? download);
        }),
    );
  }

  private finished(download: Download): void {
    if (download.state === "failed") {
      this.errors.report(vscode.l10n.t("The download of {0} failed", download.repo), new Error(download.error?.message ?? download.state));
      return;
    }
    if (download.state !== "completed") return;
    const start = vscode.l10n.t("Start Server");
    const create = vscode.l10n.t("Create Profile");
    void vscode.window.showInformationMessage(vscode.l10n.t("Downloaded {0} ({1}).", download.repo, formatBytes(download.totalBytes)), start, create).then((choice) => {
      if (choice === start) void vscode.commands.executeCommand("mlx.startModel", download.repo);
      else if (choice === create) void vscode.commands.executeCommand("mlx.createProfile", download.repo);
    });
  }

  dispose(): void {
    this.subscription.dispose();
    for (const update of this.tracked.values()) update({ state: "cancelled" } as Download);
    this.tracked.clear();
  }
}
