import * as vscode from "vscode";
import type { SharedStart, SharedStatus } from "../shared/auth";
import type { CommandDefinition } from "./CommandContext";
import { optionsArg, validateEmail } from "./commandArgs";

/** What a caller (or a test) may hand over instead of being asked. */
interface StartSharedArgs {
  email?: string;
  password?: string;
  port?: number;
  host?: string;
  tls?: boolean;
}


/** Tells the owner where teammates connect, and warns plainly when traffic is not encrypted. */
export function announceShared(status: SharedStatus): void {
  const url = status.url ?? "";
  if (!status.tls) {
    void vscode.window.showWarningMessage(
      vscode.l10n.t("Shared server at {0}. TLS is OFF: passwords, tokens and prompts cross the network in clear text. Stop it and start it again with a self-signed certificate unless this network is trusted.", url),
    );
    return;
  }
  const fingerprint = status.fingerprint ? vscode.l10n.t(" Teammates should check the certificate's SHA-256 fingerprint {0} when they connect.", status.fingerprint) : "";
  void vscode.window.showInformationMessage(
    vscode.l10n.t("Shared server at {0} with TLS{1}.", url, status.selfSigned === true ? vscode.l10n.t(" (self-signed certificate)") : "") + fingerprint,
  );
}

/** Opens the manager's shared (team) listener; asks for a first admin account when none exists. */
export const startSharedServer: CommandDefinition = {
  id: "mlx.startSharedServer",
  async run(ctx, ...args) {
    const given = optionsArg<StartSharedArgs>(args[0]);
    const client = await ctx.connection.client();
    const current = await client.sharedStatus();
    if (!current.hasAdmin) {
      const email =
        given.email ??
        (await vscode.window.showInputBox({
          title: vscode.l10n.t("Start Shared Server (1/3): first admin"),
          prompt: vscode.l10n.t("No accounts yet. Your email, for the first admin account (it approves teammates)."),
          ignoreFocusOut: true,
          validateInput: validateEmail,
        }));
      if (email === undefined) return undefined;
      const password =
        given.password ??
        (await vscode.window.showInputBox({
          title: vscode.l10n.t("Start Shared Server (2/3): password"),
          prompt: vscode.l10n.t("A password for {0} (10 characters or more).", email.trim()),
          password: true,
          ignoreFocusOut: true,
          validateInput: (value) => (value.length >= 10 ? undefined : vscode.l10n.t("10 characters or more")),
        }));
      if (password === undefined) return undefined;
      // Over loopback only: the owner's own manager, never the shared listener.
      await client.createFirstAdmin(email.trim(), password);
    }
    let port = given.port;
    if (port === undefined) {
      const text = await vscode.window.showInputBox({
        title: vscode.l10n.t("Start Shared Server (3/3): port"),
        prompt: vscode.l10n.t("Port teammates connect to (every network interface)."),
        value: String(current.port ?? 8472),
        ignoreFocusOut: true,
        validateInput: (value) => (/^\d+$/.test(value) && Number(value) <= 65535 ? undefined : vscode.l10n.t("A port from 0 to 65535")),
      });
      if (text === undefined) return undefined;
      port = Number(text);
    }
    let tls = given.tls;
    if (tls === undefined) {
      const on = { label: vscode.l10n.t("Self-signed certificate (TLS)"), detail: vscode.l10n.t("Encrypted. Teammates confirm its fingerprint once."), tls: true };
      const off = { label: vscode.l10n.t("No TLS"), detail: vscode.l10n.t("Passwords, tokens and prompts cross the network in clear text."), tls: false };
      const chosen = await vscode.window.showQuickPick([on, off], { title: vscode.l10n.t("Encrypt the shared server?"), ignoreFocusOut: true });
      if (chosen === undefined) return undefined;
      tls = chosen.tls;
    }
    const options: SharedStart = { port };
    if (given.host !== undefined) options.host = given.host;
    if (tls) options.tls = { selfSigned: true };
    const status = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: vscode.l10n.t("Starting the shared server…") }, () => client.startShared(options));
    await ctx.state.refreshUsers(client);
    announceShared(status);
    return status;
  },
};
