// How the manager runs a command on another Mac: OpenSSH with an argument array (never a shell
// string here), non-interactive and refusing unknown host keys, and the remote command quoted for
// the remote shell (ssh joins its arguments with spaces and hands them to the login shell).

/** A POSIX shell word that stands for `value` exactly (single quotes; a quote inside as '\''). */
export function shellQuote(value: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

export interface SshTarget {
  /** user@host or host (validated: never starting with "-"). */
  host: string;
  port?: number;
  /** A private key file (tests make one); default: the user's own ssh setup. */
  identityFile?: string;
  /** A known_hosts file instead of the user's (tests); strict checking either way. */
  knownHostsFile?: string;
}

/**
 * `ssh` arguments that run `command` (an argument array) on `target`: BatchMode (no password or
 * passphrase prompt: a check fails instead of hanging), StrictHostKeyChecking=yes (an unknown or
 * changed host key is refused, never accepted silently), a connect timeout, `--` before the host.
 */
export function sshArgs(target: SshTarget, command: readonly string[], options: { connectTimeoutSec?: number } = {}): string[] {
  if (target.host.startsWith("-") || /\s/.test(target.host) || target.host === "") throw new Error(`"${target.host}" is not a host name ssh may take.`);
  const args = ["-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-o", `ConnectTimeout=${options.connectTimeoutSec ?? 10}`, "-o", "LogLevel=ERROR"];
  if (target.port !== undefined) args.push("-p", String(target.port));
  if (target.identityFile !== undefined) args.push("-i", target.identityFile, "-o", "IdentitiesOnly=yes");
  if (target.knownHostsFile !== undefined) args.push("-o", `UserKnownHostsFile=${target.knownHostsFile}`);
  args.push("--", target.host, command.map(shellQuote).join(" "));
  return args;
}
