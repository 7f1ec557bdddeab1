import readline from "node:readline/promises";
import { Writable } from "node:stream";
import { InvalidArgumentError, type Command } from "commander";
import { ManagerClient, ManagerRequestError } from "../client/ManagerClient";
import { peerCertificate, type TlsPin } from "../client/pinnedTls";
import type { SharedStart, SharedStatus } from "../shared/auth";
import { ContextStore, contextName } from "./contexts";

const out = (text: string): void => void process.stdout.write(text.endsWith("\n") ? text : `${text}\n`);

/** Reads a line from the terminal without echoing it, or the first line of stdin when it is not a terminal. */
export async function readSecret(prompt: string): Promise<string> {
  if (!process.stdin.isTTY) {
    let text = "";
    for await (const chunk of process.stdin) {
      text += String(chunk);
      if (text.includes("\n")) break;
    }
    return text.split(/\r?\n/)[0] ?? "";
  }
  let muted = false;
  const output = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      if (!muted) process.stdout.write(chunk);
      callback();
    },
  });
  const rl = readline.createInterface({ input: process.stdin, output, terminal: true });
  try {
    process.stdout.write(prompt);
    muted = true;
    const answer = await rl.question("");
    process.stdout.write("\n");
    return answer;
  } finally {
    rl.close();
  }
}

async function ask(question: string): Promise<string> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stdout });
  try {
    return (await rl.question(question)).trim();
  } finally {
    rl.close();
  }
}

export function describeShared(status: SharedStatus): string {
  if (!status.enabled) return "Shared mode is off.";
  const lines = [`Team server: ${status.url ?? ""} (listening on ${status.host ?? ""}:${status.port ?? ""})`];
  const others = (status.urls ?? []).filter((u) => u !== status.url);
  if (others.length > 0) lines.push(`Also: ${others.join(", ")}`);
  if (status.tls) {
    lines.push(`TLS: on${status.selfSigned === true ? " (self-signed certificate)" : ""}`);
    if (status.fingerprint) lines.push(`SHA-256 fingerprint: ${status.fingerprint}`, "Teammates should check this fingerprint when they first connect.");
  } else {
    lines.push("WARNING: TLS is off. Passwords, tokens and prompts cross the network in clear text; use --tls-self-signed or --tls-cert/--tls-key.");
  }
  if (status.pendingUsers > 0) lines.push(`${status.pendingUsers} account(s) waiting for approval.`);
  return lines.join("\n");
}

interface ShareOptions {
  port?: number;
  host?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsSelfSigned?: boolean;
  adminEmail?: string;
  stop?: boolean;
  status?: boolean;
  json?: boolean;
}

/** `share`, `login`, `logout`, `config use-context` / `get-contexts`, `users`, `keys`. */
export function addShareCommands(program: Command, connectLocal: () => Promise<ManagerClient>, dataDir: () => string, connect: () => Promise<ManagerClient>): void {
  program
    .command("share")
    .description("open the shared (team) listener of the local manager; asks for the first admin account if there is none")
    .option("--port <port>", "port of the shared listener", (v) => Number(v))
    .option("--host <host>", "interface to listen on (default 0.0.0.0: every interface)")
    .option("--tls-cert <file>", "PEM certificate")
    .option("--tls-key <file>", "PEM private key")
    .option("--tls-self-signed", "generate (once) and use a self-signed certificate")
    .option("--admin-email <email>", "email of the first admin account, when none exists (its password is read from the terminal or stdin)")
    .option("--stop", "close the shared listener")
    .option("--status", "show the shared listener")
    .option("--json", "print JSON")
    .action(async (opts: ShareOptions) => {
      const client = await connectLocal();
      const print = (status: SharedStatus): void => {
        out(opts.json === true ? JSON.stringify(status, null, 2) : describeShared(status));
      };
      if (opts.stop === true) { print(await client.stopShared()); return; }
      if (opts.status === true) { print(await client.sharedStatus()); return; }
      if (opts.port === undefined || !Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) throw new InvalidArgumentError("share needs --port <port> (0 to 65535)");
      if ((opts.tlsCert === undefined) !== (opts.tlsKey === undefined)) throw new InvalidArgumentError("--tls-cert and --tls-key go together");
      if (opts.tlsCert !== undefined && opts.tlsSelfSigned === true) throw new InvalidArgumentError("choose --tls-cert/--tls-key or --tls-self-signed, not both");
      const current = await client.sharedStatus();
      if (!current.hasAdmin) {
        const email = opts.adminEmail ?? (process.stdin.isTTY ? await ask("No accounts yet. Email of the first admin (you): ") : "");
        if (email === "") throw new InvalidArgumentError("no admin account exists yet: pass --admin-email EMAIL (the password is read from stdin)");
        const password = await readSecret("Password (10+ characters): ");
        const admin = await client.createFirstAdmin(email, password);
        out(`Created the first admin account ${admin.email}.`);
      }
      const options: SharedStart = { port: opts.port };
      if (opts.host !== undefined) options.host = opts.host;
      if (opts.tlsCert !== undefined && opts.tlsKey !== undefined) options.tls = { certFile: opts.tlsCert, keyFile: opts.tlsKey };
      else if (opts.tlsSelfSigned === true) options.tls = { selfSigned: true };
      print(await client.startShared(options));
    });

  program
    .command("login <url>")
    .description("sign in to a team server and keep the token in a context (used by --context or after config use-context)")
    .option("--email <email>", "account email (asked when omitted)")
    .option("--fingerprint <sha256>", "the SHA-256 fingerprint `share` printed, for a self-signed certificate (asked when omitted)")
    .option("--context <name>", "context name (default: host:port of the URL)")
    .option("--no-use", "do not make it the current context")
    .action(async (url: string, opts: { email?: string; context?: string; use: boolean; fingerprint?: string }) => {
      const base = url.replace(/\/+$/, "");
      let tlsPin: TlsPin | undefined;
      if (base.startsWith("https:")) {
        const peer = await peerCertificate(base);
        if (!peer.trusted) {
          tlsPin = peer.pin;
          const shown = `The certificate of ${base} is not signed by an authority this machine trusts (self-signed?).\nSHA-256 fingerprint: ${peer.pin.fingerprint}`;
          if (opts.fingerprint !== undefined) {
            if (opts.fingerprint.trim().toUpperCase() !== peer.pin.fingerprint) throw new ManagerRequestError(0, "certificate_mismatch", `${shown}\ndoes NOT match --fingerprint ${opts.fingerprint}. Not signing in.`);
          } else if (!process.stdin.isTTY || !/^y(es)?$/i.test(await ask(`${shown}\nIs this the fingerprint the server's owner gave you? [y/N] `))) {
            throw new ManagerRequestError(0, "certificate_unconfirmed", `${shown}\nNot confirmed: pass --fingerprint with the value \`mlx-manager share\` printed on the server.`);
          }
        }
      }
      const email = opts.email ?? (await ask("Email: "));
      const password = await readSecret("Password: ");
      const result = await new ManagerClient({ url: base, token: "", ...(tlsPin ? { tlsPin } : {}) }).login(email, password);
      // --context may land on the program (it is a global option too).
      const name = opts.context ?? program.opts<{ context?: string }>().context ?? contextName(base);
      new ContextStore(dataDir()).save(name, { url: base, email: result.user.email, token: result.token, expiresAt: result.expiresAt, ...(tlsPin ? { tlsPin } : {}) }, opts.use);
      if (tlsPin) out(`Pinned the certificate ${tlsPin.fingerprint}: a different one will be refused.`);
      out(`Signed in to ${base} as ${result.user.email} (${result.user.role}${result.user.status === "approved" ? "" : `, ${result.user.status}`}); context "${name}"${opts.use ? " is now current" : ""}.`);
      if (result.user.status === "pending") out("Your account is waiting for an admin's approval: models can be used once it is approved.");
    });

  program
    .command("logout [context]")
    .description("forget the token of a context (default: the current one)")
    .action(async (name: string | undefined) => {
      const store = new ContextStore(dataDir());
      const chosen = name ?? program.opts<{ context?: string }>().context ?? store.read().current;
      if (chosen === undefined || chosen === "local") throw new InvalidArgumentError("not signed in to a team server (the local manager needs no sign-in)");
      if (!store.remove(chosen)) throw new ManagerRequestError(404, "not_found", `No context "${chosen}".`);
      out(`Signed out of "${chosen}".`);
    });

  const config = program.command("config").description("CLI settings: contexts");
  config
    .command("use-context <name>")
    .description('talk to this context from now on ("local": the local manager)')
    .action(async (name: string) => {
      new ContextStore(dataDir()).use(name);
      out(`Current context: ${name}.`);
    });
  config
    .command("get-contexts")
    .description("list contexts")
    .action(async () => {
      const data = new ContextStore(dataDir()).read();
      out(`${data.current === undefined ? "*" : " "} local (this machine's manager)`);
      for (const [name, c] of Object.entries(data.contexts)) {
        out(`${data.current === name ? "*" : " "} ${name}  ${c.url}  ${c.email}${c.expiresAt < Date.now() ? "  (expired: login again)" : ""}`);
      }
    });

  const users = program.command("users").description("accounts of the team server (admins; the owner over loopback)");
  users
    .command("list", { isDefault: true })
    .option("--json", "print JSON")
    .action(async (opts: { json?: boolean }) => {
      const list = await (await connect()).users();
      if (opts.json === true) { out(JSON.stringify(list, null, 2)); return; }
      for (const u of list.users) out(`${u.id}  ${u.email}  ${u.role}  ${u.status}`);
      out(`${list.users.length} account(s), ${list.pending} pending.`);
    });
  const verbs: Record<string, { status?: "approved" | "disabled"; role?: "admin" | "user" }> = {
    approve: { status: "approved" },
    disable: { status: "disabled" },
    enable: { status: "approved" },
    promote: { role: "admin" },
    demote: { role: "user" },
  };
  for (const [verb, patch] of Object.entries(verbs)) {
    users
      .command(`${verb} <email-or-id>`)
      .description(`${verb} an account`)
      .action(async (who: string) => {
        const client = await connect();
        const user = await findUser(client, who);
        const updated = await client.updateUser(user.id, patch);
        out(`${updated.email}: ${updated.status}, ${updated.role}.`);
      });
  }
  users
    .command("rm <email-or-id>")
    .description("delete an account (or reject a pending one)")
    .action(async (who: string) => {
      const client = await connect();
      const removed = await client.deleteUser((await findUser(client, who)).id);
      out(`Deleted ${removed.email}.`);
    });

  const keys = program.command("keys").description("your API keys on the team server (for OpenAI clients)");
  keys
    .command("list", { isDefault: true })
    .action(async () => {
      for (const k of (await (await connect()).apiKeys()).keys) out(`${k.id}  ${k.name}  ${k.prefix}…${k.revokedAt === undefined ? "" : "  revoked"}`);
    });
  keys
    .command("create <name>")
    .description("make a key; it is printed once")
    .action(async (name: string) => {
      const key = await (await connect()).createApiKey(name);
      out(key.key);
      process.stderr.write(`Key "${key.name}" (${key.id}): copy it now, it is not shown again.\n`);
    });
  keys
    .command("revoke <id>")
    .action(async (id: string) => {
      const key = await (await connect()).revokeApiKey(id);
      out(`Revoked "${key.name}".`);
    });
}

async function findUser(client: ManagerClient, who: string): Promise<{ id: string; email: string }> {
  const { users } = await client.users();
  const wanted = who.trim().toLowerCase();
  const found = users.find((u) => u.id === who || u.email === wanted);
  if (found === undefined) throw new ManagerRequestError(404, "not_found", `No account "${who}". See \`mlx-manager users\`.`);
  return found;
}
