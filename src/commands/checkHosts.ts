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

async function withCancel<T>(title: string, work: (client: ManagerClient, signal: AbortSignal) => Promise<T>, client: ManagerClient): Promise<T> {
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
      if (report.ok) {
        void vscode.window.showInformationMessage(vscode.l10n.t("All {0} hosts of {1} are ready (Python {2}, mlx-lm {3}).", report.hosts.length, profile.name, report.hosts[0]?.python ?? "?", report.hosts[0]?.mlxLm ?? "?"));
        return report;
      }
      const problems = [...report.problems, ...report.hosts.flatMap((h) => h.problems)];
      const lacking = report.hosts.filter((h) => h.rank > 0 && h.reachable && h.model !== "present");
      const copy = lacking.length > 0 ? vscode.l10n.t("Copy Model to {0}", lacking.map((h) => h.host).join(", ")) : undefined;
      const show = vscode.l10n.t("Show Report");
      const more = problems.length > 1 ? ` ${vscode.l10n.t("(and {0} more)", problems.length - 1)}` : "";
      const choice = await vscode.window.showWarningMessage(`${problems[0] ?? ""}${more}`, ...(copy === undefined ? [] : [copy]), show);
      if (choice === show) {
        const document = await vscode.workspace.openTextDocument({ language: "markdown", content: hostReport(profile, report) });
        await vscode.window.showTextDocument(document, { preview: true });
        return report;
      }
      if (choice === undefined || choice !== copy) return report;
      for (const host of lacking) {
        const copied = await withCancel(vscode.l10n.t("Copying the model of {0} to {1}…", profile.name, host.host), (c, signal) => c.copyModelToHost(profile.id, host.host, signal), client);
        void vscode.window.setStatusBarMessage(vscode.l10n.t("Copied {0} GB to {1} in {2} s", (copied.bytes / 1e9).toFixed(2), copied.host, Math.round(copied.ms / 1000)), 5000);
      }
      report = await check();
    }
  },
};
