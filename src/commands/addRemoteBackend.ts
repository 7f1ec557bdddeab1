import * as vscode from "vscode";
import type { RemoteBackendInput } from "../shared/remotes";
import type { CommandDefinition } from "./CommandContext";
import { optionsArg } from "./commandArgs";

/** What a caller (or a test) may hand over instead of being asked. */
interface AddRemoteArgs {
  url: string;
  name: string;
  /** The key the backend wants; "" for none. */
  apiKey: string;
  /** The fingerprint its owner gave, for a certificate this machine does not trust: checked, not asked. */
  fingerprint: string;
  /** Plain http to another machine accepted (tests): the warning is not shown. */
  acceptPlainHttp: boolean;
}

/**
 * "MLX: Add Remote Backend": URL → (its certificate confirmed, or the plain-http warning) → key →
 * name. The manager keeps the key in a 0600 file of its data folder; the backend's models then show
 * in the Models view, to be added as profiles or as replicas of one.
 */
export const addRemoteBackend: CommandDefinition = {
  id: "mlx.addRemoteBackend",
  async run(ctx, ...args) {
    const given = optionsArg<AddRemoteArgs>(args[0]);
    const url =
      given.url ??
      (await vscode.window.showInputBox({
        title: vscode.l10n.t("Add Remote Backend (1/3): address"),
        prompt: vscode.l10n.t("The base URL of an OpenAI-compatible server: another MLX manager's team server, LM Studio, Ollama, vLLM, LiteLLM (e.g. https://studio.local:1234/v1)"),
        value: "https://",
        ignoreFocusOut: true,
        validateInput: (value) => (/^https?:\/\/[^/\s]+/.test(value.trim()) ? undefined : vscode.l10n.t("An http:// or https:// address")),
      }));
    if (url === undefined) return undefined;
    const client = await ctx.connection.client();
    const probe = await client.probeRemote(url.trim());
    const input: RemoteBackendInput = { name: "", url: probe.url };
    if (probe.tls !== null && (!probe.tls.trusted || given.fingerprint !== undefined)) {
      if (given.fingerprint !== undefined) input.fingerprint = given.fingerprint;
      else {
        const pin = vscode.l10n.t("Trust and Pin");
        const choice = await vscode.window.showWarningMessage(
          vscode.l10n.t("{0} presents a certificate this machine does not trust.", probe.url),
          {
            modal: true,
            detail: vscode.l10n.t("SHA-256 fingerprint:\n{0}\n\nCompare it with the one the server's owner sees (MLX: Start Shared Server shows it). If they match, it is pinned: a different certificate is refused from now on.", probe.tls.fingerprint),
          },
          pin,
        );
        if (choice !== pin) return undefined;
        input.fingerprint = probe.tls.fingerprint;
      }
    }
    if (probe.plainHttpWarning !== undefined) {
      if (given.acceptPlainHttp !== true) {
        const anyway = vscode.l10n.t("Use Plain http");
        const choice = await vscode.window.showWarningMessage(probe.plainHttpWarning, { modal: true, detail: vscode.l10n.t("Use https where the server offers it. Go on only on a network you trust.") }, anyway);
        if (choice !== anyway) return undefined;
      }
      input.acceptPlainHttp = true;
    }
    const apiKey =
      given.apiKey ??
      (await vscode.window.showInputBox({
        title: vscode.l10n.t("Add Remote Backend (2/3): key"),
        prompt: vscode.l10n.t("The API key it wants (a team server: an API key of your account there, made on its Account page). Leave empty for none. It is kept by the manager in a file only you can read, and never shown again."),
        password: true,
        ignoreFocusOut: true,
      }));
    if (apiKey === undefined) return undefined;
    if (apiKey.trim() !== "") input.apiKey = apiKey.trim();
    const host = new URL(probe.url).hostname;
    const name =
      given.name ??
      (await vscode.window.showInputBox({
        title: vscode.l10n.t("Add Remote Backend (3/3): name"),
        prompt: vscode.l10n.t("How it is called in the Models and Servers views"),
        value: host.split(".")[0] ?? host,
        ignoreFocusOut: true,
        validateInput: (value) => (/^[\p{L}\p{N}][\p{L}\p{N} ._-]{0,63}$/u.test(value.trim()) ? undefined : vscode.l10n.t("Letters, digits, spaces, '.', '_' and '-', starting with a letter or digit")),
      }));
    if (name === undefined) return undefined;
    input.name = name.trim();
    const added = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: vscode.l10n.t("Adding {0}…", input.name) }, () => client.addRemote(input));
    ctx.state.remotes.set(added.id, added);
    if (added.health.state === "healthy") {
      void vscode.window.showInformationMessage(vscode.l10n.t("{0} lists {1} models: add them as profiles from the Models view.", added.name, added.health.models.length));
    } else {
      void vscode.window.showWarningMessage(vscode.l10n.t("{0} was added, but {1}", added.name, added.health.error ?? vscode.l10n.t("it does not answer yet.")));
    }
    return added;
  },
};
