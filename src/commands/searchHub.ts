import * as vscode from "vscode";
import type { ManagerClient } from "../client/ManagerClient";
import type { Download, HubModelInfo, HubSearchResult } from "../shared/hub";
import { formatBytes } from "../views/host/format";
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

/** The repo's files with their sizes and total; GGUF repos let you choose the quantizations. */
async function pickFiles(info: HubModelInfo): Promise<{ include?: string[] } | undefined> {
  const ggufs = info.files.filter((f) => f.path.endsWith(".gguf"));
  const quant = info.quantization ? ` · ${info.quantization.bits}-bit` : "";
  const title = vscode.l10n.t("{0}: {1} files, {2}{3}", info.id, info.files.length, formatBytes(info.downloadSize), quant);
  if (ggufs.length > 1) {
    const others = info.files.filter((f) => !f.path.endsWith(".gguf"));
    const chosen = await vscode.window.showQuickPick(
      ggufs.map((f) => ({ label: f.path, description: formatBytes(f.size), file: f.path })),
      { title, placeHolder: vscode.l10n.t("Which GGUF files? (the other {0} files are small)", others.length), canPickMany: true },
    );
    if (!chosen || chosen.length === 0) return undefined;
    return { include: [...chosen.map((c) => c.file), ...others.map((f) => f.path)] };
  }
  const download = vscode.l10n.t("Download {0}", formatBytes(info.downloadSize));
  const chosen = await vscode.window.showQuickPick(
    [{ label: `$(cloud-download) ${download}`, alwaysShow: true, go: true }, ...info.files.map((f) => ({ label: f.path, description: formatBytes(f.size), go: true }))],
    { title, placeHolder: vscode.l10n.t("Download every file listed") },
  );
  return chosen ? {} : undefined;
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
        const chosenRepo = repo;
        const info = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: vscode.l10n.t("Reading {0}…", repo) }, () =>
          client.hubModel(chosenRepo, hfToken ? { hfToken } : {}),
        );
        if (info.cached.complete) {
          void vscode.window.showInformationMessage(vscode.l10n.t("{0} is already in the cache.", repo));
          return undefined;
        }
        const files = await pickFiles(info);
        if (!files) return undefined;
        include = files.include;
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
