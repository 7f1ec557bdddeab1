import * as vscode from "vscode";
import { ManagerRequestError } from "../client/ManagerClient";
import { peerCertificate, type TlsPin } from "../client/pinnedTls";
import type { CommandDefinition } from "./CommandContext";
import { optionsArg, validateEmail } from "./commandArgs";

/** What a caller (or a test) may hand over instead of being asked. */
interface ConnectArgs {
  url?: string;
  email?: string;
  password?: string;
  /** The SHA-256 fingerprint the server's owner gave, for a self-signed certificate: checked, not asked. */
  fingerprint?: string;
}


/** `http://host:port` or `https://…`, without a path or a trailing slash; undefined when not one. */
export function teamBaseUrl(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    return undefined;
  }
  if ((url.protocol !== "http:" && url.protocol !== "https:") || url.username !== "" || url.password !== "") return undefined;
  return `${url.protocol}//${url.host}`;
}

function isLoopback(url: string): boolean {
  const host = new URL(url).hostname;
  return host === "localhost" || host === "[::1]" || /^127\./.test(host);
}

/**
 * "MLX: Connect to Team Server": URL → (certificate check) → email → password. The token goes to
 * SecretStorage; the Team Server view then shows the server's models and running servers, and the
 * dashboard's chat can use them.
 */
export const connectTeamServer: CommandDefinition = {
  id: "mlx.connectTeamServer",
  async run(ctx, ...args) {
    const given = optionsArg<ConnectArgs>(args[0]);
    const previous = ctx.team.snapshot;
    const typed =
      given.url ??
      (await vscode.window.showInputBox({
        title: vscode.l10n.t("Connect to Team Server (1/3): address"),
        prompt: vscode.l10n.t("The URL the server's owner gave you (MLX: Start Shared Server shows it), e.g. https://192.168.1.20:8472"),
        value: previous?.url ?? "https://",
        ignoreFocusOut: true,
        validateInput: (value) => (teamBaseUrl(value) === undefined ? vscode.l10n.t("An http:// or https:// address with a host and port") : undefined),
      }));
    if (typed === undefined) return undefined;
    const url = teamBaseUrl(typed);
    if (url === undefined) throw new ManagerRequestError(0, "validation_failed", vscode.l10n.t("{0} is not an http:// or https:// address.", typed));

    let tlsPin: TlsPin | undefined;
    if (url.startsWith("https:")) {
      const confirmed = await confirmCertificate(url, given.fingerprint);
      if (confirmed === null) return undefined;
      tlsPin = confirmed;
    } else if (!isLoopback(url) && given.password === undefined) {
      const anyway = vscode.l10n.t("Connect Without TLS");
      const choice = await vscode.window.showWarningMessage(
        vscode.l10n.t("{0} does not use TLS: your password, your token and every prompt cross the network in clear text. Ask the server's owner to start it with a certificate unless this network is trusted.", url),
        { modal: true },
        anyway,
      );
      if (choice !== anyway) return undefined;
    }

    const email =
      given.email ??
      (await vscode.window.showInputBox({
        title: vscode.l10n.t("Connect to Team Server (2/3): email"),
        prompt: vscode.l10n.t("The email of your account on {0} (register on {0}/register if you have none).", url),
        value: previous?.url === url ? previous.email : "",
        ignoreFocusOut: true,
        validateInput: validateEmail,
      }));
    if (email === undefined) return undefined;
    const password =
      given.password ??
      (await vscode.window.showInputBox({
        title: vscode.l10n.t("Connect to Team Server (3/3): password"),
        prompt: vscode.l10n.t("The password of {0} on {1}.", email.trim(), url),
        password: true,
        ignoreFocusOut: true,
      }));
    if (password === undefined) return undefined;

    let result;
    try {
      result = await ctx.team.signIn(url, email.trim(), password, tlsPin);
    } catch (error) {
      if (error instanceof ManagerRequestError && error.status === 401) {
        throw new ManagerRequestError(401, error.code, vscode.l10n.t("{0} did not accept that email and password. Check them, or register on {1}/register.", url, url));
      }
      throw error;
    }
    if (result.user.status === "pending") {
      void vscode.window.showInformationMessage(vscode.l10n.t("Signed in to {0} as {1}. Your account waits for an admin's approval: its models appear once it is approved.", url, result.user.email));
    } else {
      void vscode.window.showInformationMessage(vscode.l10n.t("Signed in to {0} as {1} ({2}). Its models are in the Team Server view.", url, result.user.email, result.user.role));
    }
    await vscode.commands.executeCommand("mlx.team.focus").then(undefined, () => undefined);
    return { url, user: result.user, ...(tlsPin ? { fingerprint: tlsPin.fingerprint } : {}) };
  },
};

/**
 * A certificate the system trusts needs nothing; a self-signed one is shown with its fingerprint and
 * pinned once the user confirms it (or it matches `fingerprint`). null: the user declined.
 */
async function confirmCertificate(url: string, fingerprint: string | undefined): Promise<TlsPin | undefined | null> {
  let peer;
  try {
    peer = await peerCertificate(url, AbortSignal.timeout(10_000));
  } catch (error) {
    throw new ManagerRequestError(0, "unreachable", vscode.l10n.t("No TLS answer from {0} ({1}). Check the address and that the shared server runs with TLS.", url, error instanceof Error ? error.message : String(error)));
  }
  if (peer.trusted) return undefined;
  if (fingerprint !== undefined) {
    if (fingerprint.trim().toUpperCase() !== peer.pin.fingerprint) {
      throw new ManagerRequestError(0, "certificate_mismatch", vscode.l10n.t("The certificate of {0} has the fingerprint {1}, NOT the expected {2}. Not connecting: ask the server's owner.", url, peer.pin.fingerprint, fingerprint));
    }
    return peer.pin;
  }
  const trust = vscode.l10n.t("Trust and Pin");
  const choice = await vscode.window.showWarningMessage(
    vscode.l10n.t("The certificate of {0} is self-signed.", url),
    {
      modal: true,
      detail: vscode.l10n.t(
        "SHA-256 fingerprint:\n{0}\n\nCompare it with the one the server's owner sees (MLX: Start Shared Server shows it). If they match, it is pinned: a different certificate is refused from now on.",
        peer.pin.fingerprint,
      ),
    },
    trust,
  );
  return choice === trust ? peer.pin : null;
}
