import * as vscode from "vscode";
import type { HostCheck, HostCheckReport } from "../shared/distributed";
import type { Profile } from "../shared/profiles";
import type { ManagerClient } from "../client/ManagerClient";
import type { CommandDefinition } from "./CommandContext";
import { profilesFrom } from "./targets";

/** A distributed profile's hosts as a readable report (a Markdown document). */
export function hostReport(profile: Profile, report: HostCheckReport): string {
  const gb = (bytes: number | undefined): string => (bytes === undefined ? "?" : `${(bytes / 1e9).toFixed(1)} GB`);
  const row = (h: HostCheck): string =>
    `| ${h.rank} | ${h.host} | ${h.reachable ? vscode.l10n.t("yes") : vscode.l10n.t("no")} | ${h.python ?? "?"} | ${h.mlxLm ?? "?"} | ${h.model} | ${gb(h.needBytes)} / ${gb(h.memoryBytes)} | ${h.problems.length === 0 ? "✓" : h.problems.join(" ").replace(/\|/g, "\\|")} |`;
  return [
    `# ${vscode.l10n.t("Hosts of {0}", profile.name)}`,
    "",
    report.ok ? vscode.l10n.t("Every host is ready: the profile can start.") : vscode.l10n.t("Some hosts are not ready: the profile cannot start until they are."),
    "",
    `${vscode.l10n.t("Model")}: ${report.model.repoId ?? "?"}${report.model.revision === undefined ? "" : ` @ ${report.model.revision.slice(0, 12)}`} (${vscode.l10n.t("{0} files", report.model.files)})`,
    "",
    ...report.problems.map((p) => `- ${p}`),
    ...(report.problems.length > 0 ? [""] : []),
    `| ${vscode.l10n.t("Rank")} | ${vscode.l10n.t("Host")} | ssh | Python | mlx-lm | ${vscode.l10n.t("Model")} | ${vscode.l10n.t("Share / memory")} | ${vscode.l10n.t("Problems")} |`,
    "|---|---|---|---|---|---|---|---|",
    ...report.hosts.map(row),
    "",
  ].join("\n");
}

/** Runs `work` under a cancellable progress notification; Cancel aborts its signal. */
export async function withCancel<T>(title: string, work: (client: ManagerClient, signal: AbortSignal) => Promise<T>, client: ManagerClient): Promise<T> {
  return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, async (_progress, token) => {
    const abort = new AbortController();
    const listener = token.onCancellationRequested(() => {
      abort.abort();
    });
    try {
      return await work(client, abort.signal);
    } finally {
      listener.dispose();
    }
  });
}

/**
 * Check Hosts: a distributed profile's hosts checked as a start would (ssh without a prompt, a known
 * host key, the same Python and mlx-lm, the model in each cache, memory for each share). A host
 * without the model is offered a copy from this Mac; the full report opens as a document.
 */
export const checkHosts: CommandDefinition = {
  id: "mlx.checkHosts",
  async run(ctx, ...args) {
    const [profile] = await profilesFrom(ctx, args, { title: vscode.l10n.t("Check the hosts of which distributed profile?"), filter: (p) => p.options.distributed !== undefined });
    if (profile === undefined) return undefined;
    const client = await ctx.connection.client();
    const check = (): Promise<HostCheckReport> => withCancel(vscode.l10n.t("Checking the hosts of {0}…", profile.name), (c, signal) => c.checkHosts(profile.id, signal), client);
    let report = await check();
    for (;;) {
      // The report opens every time (the user asked for it); a host without the model is offered a copy.
      await ctx.reports.show(vscode.l10n.t("Hosts of {0}", profile.name), hostReport(profile, report));
      if (report.ok) {
        void vscode.window.setStatusBarMessage(vscode.l10n.t("All {0} hosts of {1} are ready (Python {2}, mlx-lm {3}).", report.hosts.length, profile.name, report.hosts[0]?.python ?? "?", report.hosts[0]?.mlxLm ?? "?"), 8000);
        return report;
      }
      const lacking = report.hosts.filter((h) => h.rank > 0 && h.reachable && h.model !== "present");
      if (lacking.length === 0) return report;
      const copy = vscode.l10n.t("Copy Model to {0}", lacking.map((h) => h.host).join(", "));
      const choice = await vscode.window.showWarningMessage(vscode.l10n.t("The model of {0} is missing or another revision on {1}. Copy it there from this Mac over ssh?", profile.name, lacking.map((h) => h.host).join(", ")), copy);
      if (choice !== copy) return report;
      for (const host of lacking) {
        const copied = await withCancel(vscode.l10n.t("Copying the model of {0} to {1}…", profile.name, host.host), (c, signal) => c.copyModelToHost(profile.id, host.host, signal), client);
        void vscode.window.setStatusBarMessage(vscode.l10n.t("Copied {0} GB to {1} in {2} s", (copied.bytes / 1e9).toFixed(2), copied.host, Math.round(copied.ms / 1000)), 5000);
      }
      report = await check();
    }
  },
};
