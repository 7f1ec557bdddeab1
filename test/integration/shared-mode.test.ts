// Shared mode end to end, through the real manager process over real HTTP: the first admin over
// loopback, registration and approval, JWT checks (tampering, alg none, HS512, wrong secret,
// expiry with a moved clock), revocation by token version (and cut streams), last-admin
// protection, API keys with the official `openai` client, usage per user, the audit log, and
// that nothing but loopback listens until shared mode is switched on.
/* eslint-disable @typescript-eslint/no-deprecated -- the engines read max_tokens; clients still send it */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { TLSSocket } from "node:tls";
import { SignJWT, UnsecuredJWT } from "jose";
import OpenAI from "openai";
import type { ApiKeyCreated, AuditList, UserInfo, UserUsageList } from "../../src/shared/auth";
import { removeTempDir } from "../helpers/hfCache";
import { startManager, type RunningManager } from "../helpers/manager";
import { EventRecorder, GGUF_REPO, killGroups, makeServerFixture, waitFor, type ServerFixture } from "../helpers/servers";
import { ADMIN, approvedUser, call, listeningAddresses, login, openShared } from "../helpers/shared";

const DAY = 24 * 60 * 60 * 1000;

describe("shared mode through the real manager", function () {
  this.timeout(120_000);
  let fixture: ServerFixture;
  let manager: RunningManager;
  let shared: string;
  let adminToken: string;
  const spawned = new Set<number>();
  /** Every secret the test used: none may appear in the audit log or the manager's log. */
  const secrets: string[] = [ADMIN.password];

  const restart = async (env: Record<string, string> = {}): Promise<void> => {
    await manager.stop();
    manager = await startManager({ dataDir: fixture.dataDir, hfCache: fixture.hfCache, env: { ...fixture.env, ...env } });
    shared = await openShared(manager);
  };

  before(async () => {
    fixture = await makeServerFixture("mlx-shared-");
    manager = await startManager({ dataDir: fixture.dataDir, hfCache: fixture.hfCache, env: fixture.env });
  });

  after(async () => {
    await manager.api("POST", "/api/servers/stop-all").catch(() => undefined);
    await manager.stop();
    killGroups(spawned);
    removeTempDir(fixture.root);
  });

  it("listens on loopback only until shared mode is on, refuses to share before a first admin exists, and makes that admin only over loopback", async () => {
    const before = listeningAddresses(manager.child.pid!);
    assert.ok(before.length >= 1);
    assert.ok(before.every((a) => a.startsWith("127.0.0.1:")), `listening: ${before.join(", ")}`);
    assert.equal(fs.existsSync(path.join(fixture.dataDir, "jwt-secret")), false, "the JWT secret is made at first use");

    const refused = await manager.api("POST", "/api/shared/start", { port: 0 });
    assert.equal(refused.status, 409);
    assert.match(refused.text, /first admin/);

    const made = await manager.api("POST", "/api/users/first-admin", ADMIN);
    assert.equal(made.status, 201, made.text);
    const admin = made.json as UserInfo;
    assert.deepEqual([admin.email, admin.role, admin.status], ["admin@example.com", "admin", "approved"], "email normalised; first user is an approved admin");
    assert.equal((await manager.api("POST", "/api/users/first-admin", { email: "b@example.com", password: "another long password" })).status, 409, "only once");

    const started = await manager.api("POST", "/api/shared/start", { port: 0, host: "0.0.0.0" });
    assert.equal(started.status, 200, started.text);
    const status = started.json as { url: string; urls: string[]; tls: boolean; port: number };
    assert.equal(status.tls, false);
    const lan = Object.values(os.networkInterfaces()).flat().find((i) => i?.family === "IPv4" && !i.internal);
    if (lan) assert.equal(status.url, `http://${lan.address}:${status.port}`, "the URL to give teammates is a LAN address");
    assert.ok(status.urls.includes(`http://127.0.0.1:${status.port}`));
    const during = listeningAddresses(manager.child.pid!);
    assert.ok(during.includes(`0.0.0.0:${status.port}`), during.join(", "));
    assert.equal(during.filter((a) => !a.startsWith("127.0.0.1:")).length, 1, "exactly one non-loopback listener");
    assert.equal((await call(status.url, "POST", "/api/users/first-admin", { body: { email: "x@example.com", password: "long enough password" } })).status, 401, "anonymous: sign in first");
    const token = await login(status.url, ADMIN.email, ADMIN.password);
    assert.equal((await call(status.url, "POST", "/api/users/first-admin", { auth: token, body: { email: "x@example.com", password: "long enough password" } })).status, 404, "no first-admin route on the shared listener");
    assert.equal((await call(status.url, "GET", "/api/profiles", { auth: token })).status, 404, "profiles (engines, env, args) are the owner's, over loopback only");

    await manager.api("POST", "/api/shared/stop");
    assert.deepEqual(listeningAddresses(manager.child.pid!), before);
    shared = await openShared(manager);
    adminToken = await login(shared, ADMIN.email, ADMIN.password);
    const secretFile = path.join(fixture.dataDir, "jwt-secret");
    assert.equal(fs.statSync(secretFile).mode & 0o777, 0o600);
    assert.ok(Buffer.from(fs.readFileSync(secretFile, "utf8"), "base64url").length >= 32);
  });

  it("registers teammates as pending: they sign in but cannot use models until an admin approves", async () => {
    const weak = await call(shared, "POST", "/api/auth/register", { body: { email: "bob@example.com", password: "password123" } });
    assert.equal(weak.status, 400);
    assert.match(weak.text, /common password/);
    assert.equal((await call(shared, "POST", "/api/auth/register", { body: { email: "bob@example.com", password: "short" } })).status, 400);
    assert.equal((await call(shared, "POST", "/api/auth/register", { body: { email: "bob@example.com", password: "bob@example.com" } })).status, 400);
    const password = "bobs own long passphrase";
    secrets.push(password);
    const recorder = await EventRecorder.start(manager.url, manager.token);
    const registered = await call(shared, "POST", "/api/auth/register", { body: { email: "  Bob@Example.COM ", password } });
    assert.equal(registered.status, 201, registered.text);
    const bob = (registered.json as { user: UserInfo }).user;
    assert.deepEqual([bob.email, bob.role, bob.status], ["bob@example.com", "user", "pending"]);
    assert.equal((await call(shared, "POST", "/api/auth/register", { body: { email: "bob@example.com", password } })).status, 409);

    const token = await login(shared, "BOB@example.com", password);
    secrets.push(token);
    assert.equal((await call(shared, "GET", "/api/auth/me", { auth: token })).status, 200);
    const models = await call(shared, "GET", "/v1/models", { auth: token });
    assert.equal(models.status, 403);
    assert.equal((models.json as { error: { code: string } }).error.code, "pending_approval");
    assert.equal((await call(shared, "POST", "/api/keys", { auth: token, body: { name: "k" } })).status, 403, "no keys while pending");

    const list = await call(shared, "GET", "/api/users", { auth: adminToken });
    assert.equal((list.json as { pending: number }).pending, 1, "admins see the pending count");
    await waitFor(() => recorder.events.some((e) => e.type === "shared.changed" && e.data.pendingUsers === 1), 5000, "a shared.changed event with the pending count");
    recorder.stop();
    const approved = await call(shared, "PATCH", `/api/users/${bob.id}`, { auth: adminToken, body: { status: "approved" } });
    assert.equal(approved.status, 200, approved.text);
    assert.equal((await call(shared, "GET", "/v1/models", { auth: token })).status, 200, "approval takes effect on the same token");
  });

  it("rejects tampered, unsigned, HS512, wrongly signed and expired tokens with 401", async () => {
    const [header, payload, signature] = adminToken.split(".") as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString()) as Record<string, unknown>;
    const tampered = `${header}.${Buffer.from(JSON.stringify({ ...claims, sub: "someone-else" })).toString("base64url")}.${signature}`;
    const none = new UnsecuredJWT(claims).encode();
    const secret = Buffer.from(fs.readFileSync(path.join(fixture.dataDir, "jwt-secret"), "utf8"), "base64url");
    const hs512 = await new SignJWT(claims).setProtectedHeader({ alg: "HS512" }).sign(secret);
    const wrongSecret = await new SignJWT(claims).setProtectedHeader({ alg: "HS256" }).sign(Buffer.alloc(32, 7));
    const expired = await new SignJWT({ ...claims, iat: Math.floor(Date.now() / 1000) - 8 * 86400, exp: Math.floor(Date.now() / 1000) - 86400 }).setProtectedHeader({ alg: "HS256" }).sign(secret);
    const resigned = await new SignJWT(claims).setProtectedHeader({ alg: "HS256" }).sign(secret);
    for (const [what, token] of Object.entries({ tampered, none, hs512, wrongSecret, expired, garbage: "not.a.token", empty: "" })) {
      assert.equal((await call(shared, "GET", "/api/users", { auth: token })).status, 401, what);
      assert.equal((await call(shared, "GET", "/v1/models", { auth: token })).status, 401, `${what} on /v1`);
    }
    assert.equal((await call(shared, "GET", "/api/users", { auth: resigned })).status, 200, "control: the same claims signed properly pass");
  });

  it("expires tokens after 7 days (manager clock moved forward)", async () => {
    const token = await login(shared, ADMIN.email, ADMIN.password);
    await restart({ MLX_MANAGER_TEST_CLOCK_OFFSET_MS: String(7 * DAY - 60_000) });
    assert.equal((await call(shared, "GET", "/api/users", { auth: token })).status, 200, "valid a minute before 7 days");
    await restart({ MLX_MANAGER_TEST_CLOCK_OFFSET_MS: String(7 * DAY + 60_000) });
    assert.equal((await call(shared, "GET", "/api/users", { auth: token })).status, 401, "expired a minute after");
    await restart();
    adminToken = await login(shared, ADMIN.email, ADMIN.password);
  });

  it("signs a user out at once when disabled, demoted, given a new password or deleted", async () => {
    const carol = await approvedUser(manager, shared, "carol@example.com", "carols long passphrase", "admin");
    secrets.push("carols long passphrase", carol.token);
    assert.equal((await call(shared, "GET", "/api/users", { auth: carol.token })).status, 200);

    assert.equal((await call(shared, "PATCH", `/api/users/${carol.id}`, { auth: adminToken, body: { role: "user" } })).status, 200);
    assert.equal((await call(shared, "GET", "/api/users", { auth: carol.token })).status, 401, "demoted: old admin token is dead");
    const asUser = await login(shared, "carol@example.com", "carols long passphrase");
    assert.equal((await call(shared, "GET", "/api/users", { auth: asUser })).status, 403, "a user's token is not an admin's");
    assert.equal((await call(shared, "GET", "/v1/models", { auth: asUser })).status, 200);

    assert.equal((await manager.api("PATCH", `/api/users/${carol.id}`, { status: "disabled" })).status, 200);
    assert.equal((await call(shared, "GET", "/v1/models", { auth: asUser })).status, 401, "disabled");
    assert.equal((await call(shared, "POST", "/api/auth/login", { body: { email: "carol@example.com", password: "carols long passphrase" } })).status, 403, "disabled cannot sign in");
    assert.equal((await manager.api("PATCH", `/api/users/${carol.id}`, { status: "approved" })).status, 200);
    assert.equal((await call(shared, "GET", "/v1/models", { auth: asUser })).status, 401, "enabling again does not revive old tokens");

    const fresh = await login(shared, "carol@example.com", "carols long passphrase");
    assert.equal((await manager.api("POST", `/api/users/${carol.id}/password`, { password: "a brand new passphrase" })).status, 200);
    secrets.push("a brand new passphrase");
    assert.equal((await call(shared, "GET", "/v1/models", { auth: fresh })).status, 401, "password reset");
    const again = await login(shared, "carol@example.com", "a brand new passphrase");
    assert.equal((await call(shared, "DELETE", `/api/users/${carol.id}`, { auth: adminToken })).status, 200);
    assert.equal((await call(shared, "GET", "/v1/models", { auth: again })).status, 401, "deleted");
  });

  it("protects the last admin from demoting, disabling or deleting themself", async () => {
    const list = (await call(shared, "GET", "/api/users", { auth: adminToken })).json as { users: UserInfo[] };
    const admin = list.users.find((u) => u.email === "admin@example.com")!;
    for (const [method, route, body] of [
      ["PATCH", `/api/users/${admin.id}`, { role: "user" }],
      ["PATCH", `/api/users/${admin.id}`, { status: "disabled" }],
      ["PATCH", `/api/users/${admin.id}`, { status: "pending" }],
      ["DELETE", `/api/users/${admin.id}`, undefined],
    ] as const) {
      const res = await call(shared, method, route, { auth: adminToken, ...(body ? { body } : {}) });
      assert.equal(res.status, 409, `${method} ${JSON.stringify(body)}: ${res.text}`);
      assert.match(res.text, /last admin/);
      assert.equal((await manager.api(method, route, body)).status, 409, "the owner cannot either");
    }
    assert.equal((await call(shared, "GET", "/api/users", { auth: adminToken })).status, 200, "still an admin");
  });

  it("lets an approved user use a model with an API key through the official openai client, until the key is revoked; usage is counted per user; streams are cut when the user is disabled", async () => {
    const created = await manager.api("POST", "/api/profiles", { name: "Story", engine: "llama", model: { source: "cache", repoId: GGUF_REPO }, options: { threads: 1, contextLength: 512 } });
    assert.equal(created.status, 201, created.text);
    const dave = await approvedUser(manager, shared, "dave@example.com", "daves long passphrase");
    secrets.push("daves long passphrase", dave.token);
    const keyAnswer = await call(shared, "POST", "/api/keys", { auth: dave.token, body: { name: "laptop" } });
    assert.equal(keyAnswer.status, 201, keyAnswer.text);
    const key = keyAnswer.json as ApiKeyCreated;
    secrets.push(key.key);
    assert.ok(key.key.length >= 40 && key.key.startsWith("mlxk_"));
    const listed = (await call(shared, "GET", "/api/keys", { auth: dave.token })).json as { keys: Record<string, unknown>[] };
    assert.equal(listed.keys.length, 1);
    assert.equal(JSON.stringify(listed).includes(key.key), false, "the key is shown once");

    const openai = new OpenAI({ baseURL: `${shared}/v1`, apiKey: key.key, maxRetries: 0 });
    assert.deepEqual((await openai.models.list()).data.map((m) => m.id), ["Story"]);
    const answer = await openai.chat.completions.create({ model: "Story", messages: [{ role: "user", content: "Once upon a time" }], max_tokens: 8, seed: 1 });
    assert.equal(answer.usage?.completion_tokens, 8);
    const server = ((await manager.api("GET", "/api/servers")).json as { servers: { pid?: number }[] }).servers[0];
    if (server?.pid !== undefined) spawned.add(server.pid);

    const viaJwt = new OpenAI({ baseURL: `${shared}/v1`, apiKey: adminToken, maxRetries: 0 });
    await viaJwt.chat.completions.create({ model: "Story", messages: [{ role: "user", content: "Hi" }], max_tokens: 4, seed: 2 });

    const usage = (await call(shared, "GET", "/api/usage/users", { auth: adminToken })).json as UserUsageList;
    const daves = usage.rows.find((r) => r.email === "dave@example.com");
    const admins = usage.rows.find((r) => r.email === "admin@example.com");
    assert.deepEqual([daves?.requests, daves?.completionTokens, daves?.profileName], [1, 8, "Story"], JSON.stringify(usage));
    assert.deepEqual([admins?.requests, admins?.completionTokens], [1, 4]);
    const csv = await call(shared, "GET", "/api/usage/users.csv", { auth: adminToken });
    assert.match(csv.headers.get("content-type") ?? "", /^text\/csv/);
    assert.match(csv.text, /^day,user_id,email,model,requests,errors,prompt_tokens,completion_tokens\r\n/);
    assert.match(csv.text, /,dave@example\.com,Story,1,0,\d+,8\r\n/);
    assert.equal((await call(shared, "GET", "/api/usage/users", { auth: dave.token })).status, 403, "usage reports are for admins");

    assert.equal((await call(shared, "DELETE", `/api/keys/${key.id}`, { auth: dave.token })).status, 200);
    const denied = await openai.models.list().then(() => undefined, (error: unknown) => error);
    assert.ok(denied instanceof OpenAI.AuthenticationError, String(denied));

    // A long stream is cut the moment its user is disabled.
    const stream = await new OpenAI({ baseURL: `${shared}/v1`, apiKey: dave.token, maxRetries: 0 }).chat.completions.create({
      model: "Story",
      messages: [{ role: "user", content: "Tell me a very long story." }],
      max_tokens: 400,
      stream: true,
    });
    let chunks = 0;
    let disabledAt = 0;
    let ended = 0;
    let failure: unknown;
    try {
      for await (const chunk of stream) {
        if (chunk.choices.length > 0) chunks++;
        if (chunks === 3) {
          disabledAt = Date.now();
          const res = await manager.api("PATCH", `/api/users/${dave.id}`, { status: "disabled" });
          assert.equal(res.status, 200);
        }
      }
    } catch (error) {
      failure = error;
    }
    ended = Date.now();
    assert.ok(disabledAt > 0, "the stream started");
    assert.ok(failure !== undefined, `the stream was cut, not finished (${chunks} chunks)`);
    assert.ok(chunks < 400, `cut before the end (${chunks} chunks)`);
    assert.ok(ended - disabledAt < 2000, `cut within 2 s (took ${ended - disabledAt} ms)`);
  });

  it("records each security event in the audit log without passwords, tokens or keys", async () => {
    assert.equal((await call(shared, "POST", "/api/auth/login", { body: { email: "admin@example.com", password: "wrong password here" } })).status, 401);
    const audit = await call(shared, "GET", "/api/audit?limit=1000", { auth: adminToken });
    assert.equal(audit.status, 200);
    const types = new Set((audit.json as AuditList).events.map((e) => e.type));
    for (const type of ["profile_change", "first_admin", "shared_start", "shared_stop", "register", "login", "login_failed", "approve", "role_change", "status_change", "password_reset", "user_delete", "key_create", "key_revoke"]) {
      assert.ok(types.has(type as never), `audit has ${type}: ${[...types].join(", ")}`);
    }
    const failed = (audit.json as AuditList).events.find((e) => e.type === "login_failed");
    assert.equal(failed?.ip, "127.0.0.1");
    const fromLoopback = await manager.api("GET", "/api/audit");
    assert.equal(fromLoopback.status, 200);
    await manager.stop();
    const log = fs.readFileSync(path.join(fixture.dataDir, "logs", "manager.log"), "utf8");
    const store = fs.readdirSync(fixture.dataDir).filter((f) => f.startsWith("store")).map((f) => fs.readFileSync(path.join(fixture.dataDir, f)).toString("latin1")).join("\n");
    for (const secret of [...secrets, "wrong password here"]) {
      assert.equal(audit.text.includes(secret), false, "audit log holds no secret");
      assert.equal(log.includes(secret), false, "manager log holds no secret");
      assert.equal(store.includes(secret), false, "the database holds no password, token or key in clear");
    }
    manager = await startManager({ dataDir: fixture.dataDir, hfCache: fixture.hfCache, env: fixture.env });
  });

  it("serves TLS with a generated self-signed certificate and reports its SHA-256 fingerprint", async () => {
    const started = await manager.api("POST", "/api/shared/start", { port: 0, host: "127.0.0.1", tls: { selfSigned: true } });
    assert.equal(started.status, 200, started.text);
    const status = started.json as { url: string; tls: boolean; fingerprint: string; selfSigned: boolean };
    assert.equal(status.tls, true);
    assert.match(status.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.match(status.fingerprint, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    const keyFile = path.join(fixture.dataDir, "tls", "self-signed.key");
    assert.equal(fs.statSync(keyFile).mode & 0o777, 0o600);
    const { X509Certificate } = await import("node:crypto");
    const certPem = fs.readFileSync(path.join(fixture.dataDir, "tls", "self-signed.crt"), "utf8");
    assert.equal(new X509Certificate(certPem).fingerprint256, status.fingerprint);
    const https = await import("node:https");
    const peer = await new Promise<{ status: number; fingerprint: string }>((resolve, reject) => {
      const req = https.request(`${status.url}/login`, { ca: certPem }, (res) => {
        const socket = res.socket;
        assert.ok(socket instanceof TLSSocket);
        resolve({ status: res.statusCode ?? 0, fingerprint: socket.getPeerCertificate().fingerprint256 });
        res.resume();
      });
      req.on("error", reject);
      req.end();
    });
    assert.deepEqual(peer, { status: 200, fingerprint: status.fingerprint });
    const again = (await manager.api("POST", "/api/shared/start", { port: 0, host: "127.0.0.1", tls: { selfSigned: true } })).json as { fingerprint: string };
    assert.equal(again.fingerprint, status.fingerprint, "the certificate is kept, so pinned fingerprints stay valid");
    await manager.api("POST", "/api/shared/stop");
  });

  it("rotating the secret signs everyone out", async () => {
    shared = await openShared(manager);
    const token = await login(shared, ADMIN.email, ADMIN.password);
    assert.equal((await call(shared, "GET", "/api/users", { auth: token })).status, 200);
    assert.equal((await manager.api("POST", "/api/shared/rotate-secret")).status, 200);
    assert.equal((await call(shared, "GET", "/api/users", { auth: token })).status, 401);
    await waitFor(async () => (await call(shared, "POST", "/api/auth/login", { body: ADMIN })).status === 200, 5000, "login after rotation");
  });
});
