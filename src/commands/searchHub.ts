import * as vscode from "vscode";
import type { ManagerClient } from "../client/ManagerClient";
import type { Download, HubModelInfo, HubSearchResult } from "../shared/hub";
import { formatMemory, type FitVerdict, type HubFit, type HubFitVariant } from "../shared/memory";
import { formatBytes } from "../views/host/format";
import { readSettings } from "../views/host/settings";
import type { CommandContext, CommandDefinition } from "./CommandContext";
import { HF_TOKEN_SECRET } from "./setHfToken";

type Format = "mlx" | "gguf";
const DEBOUNCE_MS = 250;

/** Hub search as you type: debounced, each new query aborts the previous one; a toggle for MLX/GGUF. */
async function pickRepo(ctx: CommandContext, client: ManagerClient, hfToken: string | undefined): Promise<string | undefined> {
  const pick = vscode.window.createQuickPick<vscode.QuickPickItem & { repo?: string }>();
  let format: Format = "mlx";
  const toggle = (): vscode.QuickInputButton => ({
    iconPath: new vscode.ThemeIcon(format === "mlx" ? "symbol-namespace" : "file-binary"),
    tooltip: format === "mlx" ? vscode.l10n.t("Showing MLX models: switch to GGUF") : vscode.l10n.t("Showing GGUF models: switch to MLX"),
  });
  pick.title = vscode.l10n.t("Search Hugging Face ({0})", format.toUpperCase());
  pick.placeholder = vscode.l10n.t("Model name, e.g. llama 3.2 1b");
  pick.matchOnDescription = true;
  pick.buttons = [toggle()];
  let timer: NodeJS.Timeout | undefined;
  let inflight: AbortController | undefined;
  const search = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      inflight?.abort();
      const abort = new AbortController();
      inflight = abort;
      pick.busy = true;
      client
        .hubSearch({ q: pick.value, format, limit: 30 }, { signal: abort.signal, ...(hfToken ? { hfToken } : {}) })
        .then((list) => {
          if (abort.signal.aborted) return;
          pick.items = list.results.length > 0 ? list.results.map((r) => resultItem(r)) : [{ label: vscode.l10n.t("No {0} models match \"{1}\"", format.toUpperCase(), pick.value), alwaysShow: true }];
        })
        .catch((error: unknown) => {
          if (!abort.signal.aborted) pick.items = [{ label: `$(error) ${error instanceof Error ? error.message : String(error)}`, alwaysShow: true }];
        })
        .finally(() => {
          if (inflight === abort) pick.busy = false;
        });
    }, DEBOUNCE_MS);
  };
  try {
    return await new Promise<string | undefined>((resolve) => {
      pick.onDidChangeValue(search);
      pick.onDidTriggerButton(() => {
        format = format === "mlx" ? "gguf" : "mlx";
        pick.title = vscode.l10n.t("Search Hugging Face ({0})", format.toUpperCase());
        pick.buttons = [toggle()];
        search();
      });
      pick.onDidAccept(() => {
        const repo = pick.selectedItems[0]?.repo;
        if (repo) resolve(repo);
      });
      pick.onDidHide(() => {
        resolve(undefined);
      });
      pick.show();
      search();
    });
  } finally {
    clearTimeout(timer);
    inflight?.abort();
    pick.dispose();
    ctx.log.debug("hub search closed");
  }
}

function resultItem(result: HubSearchResult): vscode.QuickPickItem & { repo: string } {
  const gated = result.gated === false ? "" : ` · $(lock) ${vscode.l10n.t("gated")}`;
  return {
    label: result.id,
    description: `$(cloud-download) ${compact(result.downloads)}  $(heart) ${compact(result.likes)}${gated}`,
    ...(result.pipelineTag ? { detail: result.pipelineTag } : {}),
    repo: result.id,
  };
}

function compact(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}K` : String(n);
}

const VERDICT_ICON: Record<FitVerdict, string> = { fits: "$(pass)", tight: "$(warning)", does_not_fit: "$(error)" };

function verdictText(verdict: FitVerdict): string {
  return verdict === "fits" ? vscode.l10n.t("fits") : verdict === "tight" ? vscode.l10n.t("tight") : vscode.l10n.t("does not fit");
}

function tokens(context: number): string {
  return context % 1024 === 0 ? `${context / 1024}K` : context.toLocaleString();
}

/** "6.2 GB at 8K · 7.4 GB at 16K · 9.8 GB at 32K": a variant's need at each context. */
function needs(variant: HubFitVariant): string {
  return variant.needs.map((n) => vscode.l10n.t("{0} at {1}", formatMemory(n.totalBytes), tokens(n.context))).join(" · ");
}

/** A variant's verdict at the user's context. */
function verdictAt(variant: HubFitVariant, context: number): FitVerdict {
  return variant.needs.find((n) => n.context === context)?.verdict ?? variant.needs[0]?.verdict ?? "fits";
}

type FileChoice = { include?: string[] } | { switchTo: string } | undefined;

/**
 * The repo's files with their sizes and total, and what each variant of the model (its sibling
 * MLX quantizations, or the repo's GGUF quants) needs in memory at 8k, 32k and the chosen context
 * against this machine; GGUF repos let you choose the quants (the best that fits picked), an MLX
 * sibling can be opened instead.
 */
async function pickFiles(info: HubModelInfo, fit: HubFit | undefined, context: number): Promise<FileChoice> {
  const ggufs = info.files.filter((f) => f.path.endsWith(".gguf"));
  const quant = info.quantization ? ` · ${info.quantization.bits}-bit` : "";
  const title = vscode.l10n.t("{0}: {1} files, {2}{3}", info.id, info.files.length, formatBytes(info.downloadSize), quant);
  const usable = fit === undefined ? "" : vscode.l10n.t("{0} usable on this machine", formatMemory(fit.usable.bytes));
  if (ggufs.length > 1) {
    const others = info.files.filter((f) => !f.path.endsWith(".gguf"));
    const variantOf = (file: string): HubFitVariant | undefined => fit?.variants.find((v) => v.file === file);
    const chosen = await vscode.window.showQuickPick(
      ggufs.map((f) => {
        const variant = variantOf(f.path);
        const marks = variant === undefined ? [] : [verdictText(verdictAt(variant, context)), needs(variant), ...(fit?.suggested?.file === f.path ? [vscode.l10n.t("suggested")] : [])];
        return {
          label: variant === undefined ? f.path : `${VERDICT_ICON[verdictAt(variant, context)]} ${f.path}`,
          description: formatBytes(f.size),
          ...(variant === undefined ? {} : { detail: marks.join(" · ") }),
          picked: fit?.suggested?.file === f.path,
          file: f.path,
        };
      }),
      { title, placeHolder: [vscode.l10n.t("Which GGUF files? (the other {0} files are small)", others.length), usable].filter(Boolean).join(" · "), canPickMany: true },
    );
    if (!chosen || chosen.length === 0) return undefined;
    return { include: [...chosen.map((c) => c.file), ...others.map((f) => f.path)] };
  }
  type Item = vscode.QuickPickItem & { go?: true; repo?: string };
  const download = vscode.l10n.t("Download {0}", formatBytes(info.downloadSize));
  const items: Item[] = [{ label: `$(cloud-download) ${download}`, alwaysShow: true, go: true }];
  if (fit !== undefined && fit.variants.length > 0) {
    items.push({ label: vscode.l10n.t("Memory: {0}", usable), kind: vscode.QuickPickItemKind.Separator });
    for (const variant of fit.variants) {
      const marks = [variant.current ? vscode.l10n.t("this repo") : variant.repo, ...(fit.suggested?.repo === variant.repo ? [vscode.l10n.t("suggested")] : [])];
      items.push({ label: `${VERDICT_ICON[verdictAt(variant, context)]} ${variant.label} · ${formatMemory(variant.weightsBytes)}`, description: `${verdictText(verdictAt(variant, context))} · ${needs(variant)}`, detail: marks.join(" · "), ...(variant.current ? { go: true as const } : { repo: variant.repo }) });
    }
    items.push({ label: vscode.l10n.t("Files"), kind: vscode.QuickPickItemKind.Separator });
  }
  items.push(...info.files.map((f): Item => ({ label: f.path, description: formatBytes(f.size), go: true })));
  const chosen = await vscode.window.showQuickPick(items, { title, placeHolder: vscode.l10n.t("Download every file listed, or open another variant") });
  if (!chosen) return undefined;
  return chosen.repo !== undefined ? { switchTo: chosen.repo } : {};
}

/**
 * Search Hugging Face, show the chosen repo's files and size, start the download (progress:
 * DownloadTracker). Given `{repo, include?}` it skips the pickers (scripts and tests).
 */
export const searchHub: CommandDefinition = {
  id: "mlx.searchHub",
  async run(ctx, ...args): Promise<Download | undefined> {
    const client = await ctx.connection.client();
    const hfToken = await ctx.secrets.get(HF_TOKEN_SECRET);
    const given = args[0] as { repo?: unknown; include?: unknown } | undefined;
    let repo = typeof given?.repo === "string" ? given.repo : undefined;
    let include = Array.isArray(given?.include) ? (given.include as string[]) : undefined;
    try {
      if (!repo) {
        repo = await pickRepo(ctx, client, hfToken);
        if (!repo) return undefined;
        const context = readSettings().memoryContext;
        for (;;) {
          const chosenRepo: string = repo;
          const options = hfToken ? { hfToken } : {};
          // The memory fit reads config.json (or a GGUF header) of this repo only; without it the files still show.
          const [info, fit] = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: vscode.l10n.t("Reading {0}…", chosenRepo) }, () =>
            Promise.all([client.hubModel(chosenRepo, options), client.hubFit(chosenRepo, { ...options, context }).catch((error: unknown) => { ctx.log.warn(`memory fit of ${chosenRepo}: ${String(error)}`); return undefined; })]),
          );
          if (info.cached.complete) {
            void vscode.window.showInformationMessage(vscode.l10n.t("{0} is already in the cache.", chosenRepo));
            return undefined;
          }
          const files = await pickFiles(info, fit, context);
          if (!files) return undefined;
          if ("switchTo" in files) {
            repo = files.switchTo;
            continue;
          }
          include = files.include;
          break;
        }
      }
      const started = await client.startDownload({ repo, ...(include ? { include } : {}) }, hfToken);
      ctx.state.apply({ type: "download.changed", data: started.download });
      return started.download;
    } catch (error) {
      ctx.errors.report(vscode.l10n.t("Could not download {0}", repo ?? vscode.l10n.t("the model")), error);
      return undefined;
    }
  },
};
