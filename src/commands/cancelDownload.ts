import * as vscode from "vscode";
import { DownloadItem } from "../views/models/DownloadItem";
import type { CommandDefinition } from "./CommandContext";

/** Cancels a download; what was fetched stays, so starting it again resumes. */
export const cancelDownload: CommandDefinition = {
  id: "mlx.cancelDownload",
  async run(ctx, ...args) {
    const [node] = args;
    const id = node instanceof DownloadItem ? node.download.id : typeof node === "string" ? node : undefined;
    if (!id) return false;
    try {
      await (await ctx.connection.client()).cancelDownload(id);
      return true;
    } catch (error) {
      ctx.errors.report(vscode.l10n.t("Could not cancel the download"), error);
      return false;
    }
  },
};
