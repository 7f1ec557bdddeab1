import * as vscode from "vscode";
import type { CommandDefinition } from "./CommandContext";
import { applyWorkspaceProfiles, type WorkspaceProfileAnswer, type WorkspaceProfileMode, type WorkspaceProfileOutcome } from "./workspaceProfiles";

const ANSWERS: readonly WorkspaceProfileAnswer[] = ["always", "once", "never"];

/**
 * Start Workspace Profile: starts the profile each folder's `.vscode/mlx-manager.json` names.
 * Scripts and tests pass `{ answer: "always" | "once" | "never" }` (as if the question was
 * answered), `{ open: true }` (what happens when the folder opens: the remembered answer, else the
 * question), `importMissing: true` (import a missing profile from the file's profilesFile) and
 * `folder` (a folder URI, to apply only that one).
 */
export const applyWorkspaceProfile: CommandDefinition = {
  id: "mlx.applyWorkspaceProfile",
  async run(ctx, ...args): Promise<WorkspaceProfileOutcome[]> {
    const arg = (typeof args[0] === "object" && args[0] !== null ? args[0] : {}) as { answer?: unknown; open?: unknown; importMissing?: unknown; folder?: unknown };
    const answer = ANSWERS.find((a) => a === arg.answer);
    if (arg.answer !== undefined && answer === undefined) throw new Error(vscode.l10n.t("Unknown answer: use one of {0}.", ANSWERS.join(", ")));
    const mode: WorkspaceProfileMode = answer !== undefined ? { kind: "answer", answer } : arg.open === true ? { kind: "open" } : { kind: "start" };
    const folders = typeof arg.folder === "string" ? (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.toString() === arg.folder) : undefined;
    const outcomes = await applyWorkspaceProfiles(ctx, mode, { importMissing: arg.importMissing === true || mode.kind === "start", ...(folders ? { folders } : {}) });
    if (outcomes.length === 0 && mode.kind === "start") {
      void vscode.window.showInformationMessage(vscode.l10n.t("No workspace folder names an MLX profile. Add .vscode/mlx-manager.json with {0}.", '{ "profile": "<name>" }'));
    }
    return outcomes;
  },
};
