import * as vscode from "vscode";
import type { Profile, ProfileInput } from "../shared/profiles";
import { ModelItem } from "../views/models/ModelItem";
import { readSettings } from "../views/host/settings";
import type { CommandContext, CommandDefinition } from "./CommandContext";
import { profileWizard, type NeedEstimate } from "./profileWizard";

/** Opens an unsaved profile as JSON; saving it creates the profile. */
export async function openProfileDraft(ctx: CommandContext, draft: ProfileInput): Promise<vscode.TextEditor> {
  const document = await vscode.workspace.openTextDocument(ctx.profileDocuments.uriForNew(draft));
  await vscode.languages.setTextDocumentLanguage(document, "json");
  return vscode.window.showTextDocument(document);
}

/**
 * Create Profile: the multi-step input (from a model node it starts at the engine step), or,
 * given a complete profile object, creates it at once (scripts and tests).
 */
export const createProfile: CommandDefinition = {
  id: "mlx.createProfile",
  async run(ctx, ...args): Promise<Profile | vscode.TextEditor | undefined> {
    const [arg] = args;
    const client = await ctx.connection.client();
    if (typeof arg === "object" && arg !== null && !(arg instanceof ModelItem) && "name" in arg) {
      try {
        return await client.createProfile(arg as ProfileInput);
      } catch (error) {
        ctx.errors.report(vscode.l10n.t("Could not create the profile"), error);
        return undefined;
      }
    }
    const preselected = arg instanceof ModelItem ? arg.model : typeof arg === "string" ? ctx.state.models.find((m) => m.id === arg) : undefined;
    const estimate: NeedEstimate = (model, engine, contextLength) =>
      client.memoryEstimate(
        { model: { source: "cache", repoId: model.repoId, ...(model.file === undefined ? {} : { file: model.file }) }, engine: engine.id, ...(contextLength === undefined ? {} : { options: { contextLength } }) },
        AbortSignal.timeout(10_000),
      );
    const result = await profileWizard(ctx.state, readSettings().defaultEngine, preselected, estimate);
    if (!result) return undefined;
    if (result.kind === "json") return openProfileDraft(ctx, result.draft);
    try {
      const profile = await client.createProfile(result.input);
      vscode.window.setStatusBarMessage(vscode.l10n.t("Created profile {0}", profile.name), 3000);
      return profile;
    } catch (error) {
      // Let the user fix what the manager refused, in the JSON editor with the error shown there.
      ctx.errors.report(vscode.l10n.t("Could not create the profile"), error);
      return undefined;
    }
  },
};
