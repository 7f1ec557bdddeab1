// The CLI's shared-mode commands against a real manager: `share` (first admin from stdin, URL and
// the TLS warning), `login` into a context, `--context`, `config use-context`, `users`, `keys`,
// `logout`, `share --stop`.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { makeTempDir, removeTempDir } from "../helpers/hfCache";
import { runCli, startManager, type RunningManager } from "../helpers/manager";
import { call } from "../helpers/shared";

describe("CLI: share, login, contexts, logout", function () {
  this.timeout(90_000);
  let root: string;
  let manager: RunningManager;
  let cliHome: string;

  before(async () => {
    root = makeTempDir("mlx-cli-shared-");
    fs.mkdirSync(path.join(root, "hub"));
    cliHome = path.join(root, "teammate");
    manager = await startManager({ dataDir: path.join(root, "data"), hfCache: path.join(root, "hub"), env: { HOME: root } });
  });

  after(async () => {
    await manager.stop();
    removeTempDir(root);
  });

  it("shares with a first admin read from stdin, then a teammate signs in, uses contexts and signs out", async () => {
    const data = ["--data-dir", manager.dataDir];
    const shared = await runCli([...data, "share", "--port", "0", "--host", "127.0.0.1", "--admin-email", "Owner@Example.com"], {}, "owners long passphrase\n");
    assert.equal(shared.code, 0, shared.stderr);
    assert.match(shared.stdout, /Created the first admin account owner@example\.com/);
    assert.match(shared.stdout, /WARNING: TLS is off/);
    const url = /Team server: (http:\/\/127\.0\.0\.1:\d+)/.exec(shared.stdout)?.[1];
    assert.ok(url, shared.stdout);
    const status = await runCli([...data, "share", "--status", "--json"]);
    assert.equal((JSON.parse(status.stdout) as { url: string }).url, url);

    const weak = await runCli(["--data-dir", cliHome, "login", url, "--email", "owner@example.com"], {}, "wrong password!\n");
    assert.equal(weak.code, 1);
    assert.match(weak.stderr, /Wrong email or password/);
    const login = await runCli(["--data-dir", cliHome, "login", url, "--email", "owner@example.com", "--context", "team", "--no-use"], {}, "owners long passphrase\n");
    assert.equal(login.code, 0, login.stderr);
    assert.match(login.stdout, /Signed in to .* as owner@example\.com \(admin\); context "team"/);
    const file = path.join(cliHome, "contexts.json");
    assert.equal(fs.statSync(file).mode & 0o777, 0o600, "the contexts file holds tokens");

    const reg = await call(url, "POST", "/api/auth/register", { body: { email: "mate@example.com", password: "mates long passphrase" } });
    assert.equal(reg.status, 201);
    const pending = await runCli(["--data-dir", cliHome, "--context", "team", "users"]);
    assert.equal(pending.code, 0, pending.stderr);
    assert.match(pending.stdout, /mate@example\.com {2}user {2}pending/);
    const approve = await runCli(["--data-dir", cliHome, "--context", "team", "users", "approve", "MATE@example.com"]);
    assert.match(approve.stdout, /mate@example\.com: approved, user/);

    assert.equal((await runCli(["--data-dir", cliHome, "config", "use-context", "team"])).code, 0);
    const contexts = await runCli(["--data-dir", cliHome, "config", "get-contexts"]);
    assert.match(contexts.stdout, /^\* team {2}http:\/\/127\.0\.0\.1:\d+ {2}owner@example\.com$/m);
    const ps = await runCli(["--data-dir", cliHome, "ps"]);
    assert.equal(ps.code, 0, ps.stderr);
    assert.match(ps.stdout, /No servers/);
    const key = await runCli(["--data-dir", cliHome, "keys", "create", "ci"]);
    assert.match(key.stdout.trim(), /^mlxk_[A-Za-z0-9_-]{43}$/);
    assert.equal((await call(url, "GET", "/v1/models", { auth: key.stdout.trim() })).status, 200);

    const out = await runCli(["--data-dir", cliHome, "logout"]);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /Signed out of "team"/);
    assert.doesNotMatch(fs.readFileSync(file, "utf8"), /eyJ/, "the token is gone");
    assert.match((await runCli(["--data-dir", cliHome, "config", "get-contexts"])).stdout, /^\* local/m);

    const stop = await runCli([...data, "share", "--stop"]);
    assert.match(stop.stdout, /Shared mode is off/);
    assert.equal((await call(url, "GET", "/login").catch(() => ({ status: 0 }))).status, 0, "the listener is closed");
  });

  it("pins a self-signed certificate at login (after checking the fingerprint) and refuses a changed one loudly", async () => {
    const data = ["--data-dir", manager.dataDir];
    const shared = await runCli([...data, "share", "--port", "0", "--host", "127.0.0.1", "--tls-self-signed"]);
    assert.equal(shared.code, 0, shared.stderr);
    const url = /Team server: (https:\/\/127\.0\.0\.1:\d+)/.exec(shared.stdout)?.[1];
    const fingerprint = /SHA-256 fingerprint: ([0-9A-F:]{95})/.exec(shared.stdout)?.[1];
    assert.ok(url && fingerprint, shared.stdout);
    assert.doesNotMatch(shared.stdout, /WARNING/);

    const home = path.join(root, "tls-teammate");
    const unconfirmed = await runCli(["--data-dir", home, "login", url, "--email", "owner@example.com"], {}, "owners long passphrase\n");
    assert.equal(unconfirmed.code, 1);
    assert.match(unconfirmed.stderr, /not signed by an authority[\s\S]*Not confirmed/);
    const wrong = await runCli(["--data-dir", home, "login", url, "--email", "owner@example.com", "--fingerprint", "00:".repeat(31) + "00"], {}, "owners long passphrase\n");
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /does NOT match/);
    const ok = await runCli(["--data-dir", home, "login", url, "--email", "owner@example.com", "--fingerprint", fingerprint.toLowerCase()], {}, "owners long passphrase\n");
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /Pinned the certificate/);
    assert.equal((await runCli(["--data-dir", home, "users"])).code, 0, "requests go through the pinned certificate");

    // The owner makes a new certificate (same port): the teammate's CLI refuses it.
    const port = new URL(url).port;
    fs.rmSync(path.join(manager.dataDir, "tls"), { recursive: true, force: true });
    const again = await runCli([...data, "share", "--port", port, "--host", "127.0.0.1", "--tls-self-signed"]);
    assert.equal(again.code, 0, again.stderr);
    assert.doesNotMatch(again.stdout, new RegExp(fingerprint));
    const refused = await runCli(["--data-dir", home, "users"]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /CHANGED: pinned/);
    await runCli([...data, "share", "--stop"]);
  });
});
