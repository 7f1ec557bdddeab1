import * as vscode from "vscode";
import type { Job } from "../../shared/jobs";

const ICONS: Record<Job["state"], [string, string | undefined]> = {
  queued: ["clock", undefined],
  running: ["loading~spin", undefined],
  completed: ["pass", "testing.iconPassed"],
  failed: ["error", "testing.iconFailed"],
  cancelled: ["circle-slash", undefined],
  interrupted: ["debug-pause", "problemsWarningIcon.foreground"],
};

/** A fine-tuning job: its state, progress and losses; contextValue `job.<state>`. */
export class JobItem extends vscode.TreeItem {
  constructor(readonly job: Job) {
    super(job.name, vscode.TreeItemCollapsibleState.None);
    this.id = `job:${job.id}`;
    const loss = job.trainLoss === undefined ? "" : ` · ${vscode.l10n.t("loss {0}", job.trainLoss.toFixed(3))}${job.valLoss === undefined ? "" : ` / ${job.valLoss.toFixed(3)}`}`;
    const percent = job.iters > 0 ? Math.floor((100 * job.iteration) / job.iters) : 0;
    const progress = job.state === "queued" ? (job.waiting === undefined ? vscode.l10n.t("queued") : vscode.l10n.t("waiting for memory")) : `${job.state} · ${job.iteration}/${job.iters} (${percent} %)`;
    this.description = `${progress}${loss}`;
    this.contextValue = `job.${job.state}`;
    // A click shows the job's live loss chart in the dashboard's Jobs tab.
    this.command = { command: "mlx.openDashboard", title: vscode.l10n.t("Show in Dashboard"), arguments: ["jobs", job.id] };
    const [icon, color] = ICONS[job.state];
    this.iconPath = new vscode.ThemeIcon(icon, color === undefined ? undefined : new vscode.ThemeColor(color));
    this.tooltip = new vscode.MarkdownString(
      [
        `**${job.name}** — ${job.state}`,
        "",
        `${vscode.l10n.t("Fine-tune type")}: ${job.settings.fine_tune_type}, ${vscode.l10n.t("{0} iterations", job.iters)}, batch ${job.settings.batch_size}, lr ${job.settings.learning_rate}  `,
        `${vscode.l10n.t("Adapters")}: \`${job.adapterPath}\`  `,
        ...(job.checkpoint === undefined ? [] : [`${vscode.l10n.t("Last checkpoint")}: ${job.checkpoint.iteration}  `]),
        ...(job.waiting === undefined ? [] : [job.waiting]),
        ...(job.error === undefined ? [] : [job.error]),
      ].join("\n"),
    );
  }
}
