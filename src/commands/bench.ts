import path from "node:path";
import * as vscode from "vscode";
import { withCancel } from "./checkHosts";
import type { CommandDefinition } from "./CommandContext";
import { profilesFrom } from "./targets";

const PERPLEXITY_ENGINES = new Set(["llama", "mlx-lm", "mlx-openai-server", "mlx-distributed"]);

/** Benchmark Profiles…: the profiles picked (or the selected nodes), run with the default settings; the dashboard's Benchmarks tab shows it. */
export const runBenchmark: CommandDefinition = {
  id: "mlx.runBenchmark",
  async run(ctx, ...args) {
    const profiles = await profilesFrom(ctx, args, { title: vscode.l10n.t("Benchmark which profiles? (side by side; running servers are restarted for a cold start)"), many: true });
    if (profiles.length === 0) return undefined;
    const client = await ctx.connection.client();
    const run = await client.startBenchmark({ profiles: profiles.map((p) => p.id) });
    ctx.dashboard.open("bench", run.id);
    return run;
  },
};

/** Measure Perplexity…: a profile's model on a text file the user picks (from the workspace by default). */
export const measurePerplexity: CommandDefinition = {
  id: "mlx.measurePerplexity",
  async run(ctx, ...args) {
    const [profile] = await profilesFrom(ctx, args, { title: vscode.l10n.t("Perplexity of which profile's model?"), filter: (p) => PERPLEXITY_ENGINES.has(p.engine) });
    if (profile === undefined) return undefined;
    const workspace = vscode.workspace.workspaceFolders?.[0]?.uri;
    const files = await vscode.window.showOpenDialog({ title: vscode.l10n.t("A text to score (UTF-8; a few thousand words is enough)"), canSelectMany: false, filters: { Text: ["txt", "md", "jsonl", "json", "py", "ts", "js"], All: ["*"] }, ...(workspace === undefined ? {} : { defaultUri: workspace }) });
    const file = files?.[0]?.fsPath;
    if (file === undefined) return undefined;
    const client = await ctx.connection.client();
    const result = await withCancel(vscode.l10n.t("Measuring the perplexity of {0} on {1}…", profile.name, path.basename(file)), (c, signal) => c.measurePerplexity({ profile: profile.id, file }, signal), client);
    void vscode.window.showInformationMessage(vscode.l10n.t("Perplexity of {0} on {1}: {2} ± {3} ({4} tokens). Lower is better; compare it with other quantizations of the model on the same text.", result.profileName, result.textName, result.perplexity.toFixed(3), result.standardError.toFixed(3), result.scoredTokens));
    return result;
  },
};
