import * as vscode from "vscode";
import { ManagerRequestError } from "../client/ManagerClient";
import type { CommandDefinition } from "./CommandContext";

/**
 * Search Hugging Face. The Hub search and downloads live in the manager (the hub issue); until
 * its routes answer, this says so instead of failing silently.
 */
export const searchHub: CommandDefinition = {
  id: "mlx.searchHub",
  async run(ctx) {
    const client = await ctx.connection.client();
    try {
      await client.request("GET", "/api/hub/status");
    } catch (error) {
      if (error instanceof ManagerRequestError && error.status === 404) {
        void vscode.window.showInformationMessage(vscode.l10n.t("This manager cannot search Hugging Face yet. Update the extension and restart the manager."));
        return undefined;
      }
      ctx.errors.report(vscode.l10n.t("Could not search Hugging Face"), error);
      return undefined;
    }
    void vscode.window.showInformationMessage(vscode.l10n.t("Searching Hugging Face from VS Code arrives with the next update; use `mlx-manager hub search` meanwhile."));
    return undefined;
  },
};
