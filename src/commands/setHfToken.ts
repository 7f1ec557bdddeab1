import * as vscode from "vscode";
import { ManagerRequestError } from "../client/ManagerClient";
import type { CommandContext, CommandDefinition } from "./CommandContext";

export const HF_TOKEN_SECRET = "mlx.huggingFaceToken";

/** Hands the stored token to the manager (kept in its memory only); managers without the route are skipped. */
export async function pushHfToken(ctx: CommandContext): Promise<void> {
  const token = await ctx.secrets.get(HF_TOKEN_SECRET);
  if (!token) return;
  try {
    await (await ctx.connection.client()).setHubToken(token);
  } catch (error) {
    if (!(error instanceof ManagerRequestError && error.status === 404)) ctx.log.warn(`could not pass the Hugging Face token to the manager: ${String(error)}`);
  }
}

/** Stores a Hugging Face token in SecretStorage (empty input removes it). */
export const setHfToken: CommandDefinition = {
  id: "mlx.setHuggingFaceToken",
  async run(ctx, ...args) {
    const given = typeof args[0] === "string" ? args[0] : undefined;
    const token =
      given ??
      (await vscode.window.showInputBox({
        title: vscode.l10n.t("Hugging Face Token"),
        prompt: vscode.l10n.t("A read token from huggingface.co/settings/tokens, for gated and private models. Leave empty to remove the stored one."),
        password: true,
        ignoreFocusOut: true,
        validateInput: (value) => (value === "" || /^hf_[A-Za-z0-9]{10,}$/.test(value.trim()) ? undefined : vscode.l10n.t("Hugging Face tokens start with hf_")),
      }));
    if (token === undefined) return undefined;
    if (token.trim() === "") {
      await ctx.secrets.delete(HF_TOKEN_SECRET);
      await (await ctx.connection.client()).clearHubToken().catch(() => undefined);
      vscode.window.setStatusBarMessage(vscode.l10n.t("Hugging Face token removed"), 3000);
      return false;
    }
    await ctx.secrets.store(HF_TOKEN_SECRET, token.trim());
    await pushHfToken(ctx);
    vscode.window.setStatusBarMessage(vscode.l10n.t("Hugging Face token stored"), 3000);
    return true;
  },
};
