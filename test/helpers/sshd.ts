// A real OpenSSH server (Debian's openssh-server, installed by `npm run pretest:unit` as Chromium
// is) on loopback, for the tests of distributed profiles: each "host" is a port of it with a name
// in an ssh_config of the test's own, its own environment (SetEnv: a Hugging Face cache, the
// versions a stand-in plays) and, unless the test says otherwise, a host key the client knows.
//
//   const sshd = await startSshd(dir, [{ name: "mac-b", env: { HF_HUB_CACHE: "/tmp/b" } }]);
//   // put sshd.binDir first on PATH: its `ssh` is /usr/bin/ssh -F <the test's ssh_config>
//   await sshd.close();
//
// The product and mlx.launch run `ssh` from PATH with their own options; the wrapper only adds the
// config file (HOME cannot point ssh elsewhere: it reads the user's home from the password file).
import { execFileSync, spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { freePort } from "./llamaEngine";

export const SSHD = "/usr/sbin/sshd";
export const SSH = "/usr/bin/ssh";

export interface SshHostSpec {
  /** The name ssh connects to (an alias in the test's ssh_config). */
  name: string;
  /** Set in the session (SetEnv; the server accepts them). */
  env?: Record<string, string>;
  /** false: the client does not know this host's key (strict checking refuses it). Default true. */
  known?: boolean;
}

export interface TestSshd {
  /** Holds `ssh` (the real one with the test's config); put it first on PATH. */
  binDir: string;
  ports: Record<string, number>;
  /** Makes a host's key known (as a user who ran ssh once and confirmed it). */
  trust(name: string): void;
  /** Changes what a host's sessions get in their environment from now on (as if that Mac were set up differently). */
  setEnv(name: string, env: Record<string, string>): void;
  close(): Promise<void>;
}

async function listening(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => { resolve(false); });
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`sshd did not listen on ${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function startSshd(dir: string, hosts: readonly SshHostSpec[]): Promise<TestSshd> {
  if (!fs.existsSync(SSHD) || !fs.existsSync(SSH)) throw new Error(`${SSHD} or ${SSH} is missing: \`npm run pretest:unit\` installs openssh-server and openssh-client (apt-get install -y openssh-server openssh-client).`);
  fs.mkdirSync(dir, { recursive: true });
  const key = (name: string): string => {
    const file = path.join(dir, name);
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", `mlx-manager-test-${name}`, "-f", file]);
    return file;
  };
  const hostKey = key("host_key");
  const clientKey = key("client_key");
  fs.copyFileSync(`${clientKey}.pub`, path.join(dir, "authorized_keys"));
  const ports: Record<string, number> = {};
  for (const host of hosts) ports[host.name] = await freePort();
  const user = os.userInfo().username;
  // sshd refuses to start without its privilege separation folder (root only; no-op otherwise).
  if (process.getuid?.() === 0) fs.mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
  const config = path.join(dir, "sshd_config");
  fs.writeFileSync(
    config,
    [
      ...Object.values(ports).map((p) => `Port ${p}`),
      "ListenAddress 127.0.0.1",
      `HostKey ${hostKey}`,
      `AuthorizedKeysFile ${path.join(dir, "authorized_keys")}`,
      "PubkeyAuthentication yes",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "UsePAM no",
      "StrictModes no",
      `PidFile ${path.join(dir, "sshd.pid")}`,
      "AcceptEnv PATH HF_* STANDIN_*",
      "LogLevel ERROR",
      "",
    ].join("\n"),
  );
  const sshd = spawn(SSHD, ["-D", "-f", config, "-E", path.join(dir, "sshd.log")], { stdio: "ignore" });
  const exited = new Promise<void>((resolve) => sshd.once("exit", () => { resolve(); }));
  for (const p of Object.values(ports)) await listening(p, 10_000);

  const hostKeyLine = fs.readFileSync(`${hostKey}.pub`, "utf8").trim().split(" ").slice(0, 2).join(" ");
  const knownHosts = path.join(dir, "known_hosts");
  const trust = (name: string): void => {
    fs.appendFileSync(knownHosts, `[127.0.0.1]:${ports[name] ?? 0} ${hostKeyLine}\n`);
  };
  fs.writeFileSync(knownHosts, "");
  for (const host of hosts) if (host.known !== false) trust(host.name);
  // The session's PATH finds this Node (the stand-ins' shebang is `env node`).
  const remotePath = [path.dirname(process.execPath), "/usr/local/bin", "/usr/bin", "/bin"].join(":");
  const sshConfig = path.join(dir, "ssh_config");
  const envs = new Map(hosts.map((h) => [h.name, { ...h.env }]));
  const writeConfig = (): void => { fs.writeFileSync(
      sshConfig,
      hosts
        .map((host) =>
          [
            `Host ${host.name}`,
            "  HostName 127.0.0.1",
            `  Port ${ports[host.name] ?? 0}`,
            `  User ${user}`,
            `  IdentityFile ${clientKey}`,
            "  IdentitiesOnly yes",
            `  UserKnownHostsFile ${knownHosts}`,
            "  StrictHostKeyChecking yes",
            `  SetEnv ${Object.entries({ PATH: remotePath, ...envs.get(host.name) })
              .map(([k, v]) => `${k}=${v}`)
              .join(" ")}`,
            "",
          ].join("\n"),
        )
        .join("\n"),
    ); };
  writeConfig();
  const binDir = path.join(dir, "bin");
  fs.mkdirSync(binDir, { recursive: true });
  fs.writeFileSync(path.join(binDir, "ssh"), `#!/bin/sh\nexec ${SSH} -F '${sshConfig}' "$@"\n`, { mode: 0o755 });
  return {
    binDir,
    ports,
    trust,
    setEnv: (name, env) => {
      envs.set(name, { ...envs.get(name), ...env });
      writeConfig();
    },
    close: async () => {
      sshd.kill("SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      // Sessions still open (a rank the test left) end with their sshd children.
      spawnSync("pkill", ["-f", `sshd.*${config}`]);
    },
  };
}
