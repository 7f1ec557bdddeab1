// Abuse of the shared listener, through the real manager: brute force and floods get 429 with
// Retry-After; a fuzz pass over every auth route (malformed JSON, huge bodies, unicode emails,
// SQL-looking strings, wrong types) never gets a 500 and never brings the manager down.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import type { UserInfo } from "../../src/shared/auth";
import { makeTempDir, removeTempDir } from "../helpers/hfCache";
import { startManager, type RunningManager } from "../helpers/manager";
import { ADMIN, approvedUser, call, login, openShared } from "../helpers/shared";

describe("shared mode under abuse", function () {
  this.timeout(180_000);
  let root: string;
  let manager: RunningManager;
  let shared: string;

  before(async () => {
    root = makeTempDir("mlx-abuse-");
    fs.mkdirSync(path.join(root, "hub"));
    manager = await startManager({ dataDir: path.join(root, "data"), hfCache: path.join(root, "hub"), env: { HOME: root } });
    shared = await openShared(manager, { requestsPerMinute: 30 });
  });

  after(async () => {
    await manager.stop();
    removeTempDir(root);
  });

  it("blocks an account after 5 failed sign-ins with 429 + Retry-After, even for the right password, without slowing other accounts", async () => {
    const user = await approvedUser(manager, shared, "eve@example.com", "eves long passphrase");
    assert.ok(user.token);
    for (let i = 0; i < 5; i++) {
      assert.equal((await call(shared, "POST", "/api/auth/login", { body: { email: "eve@example.com", password: `guess number ${i}` } })).status, 401);
    }
    const blocked = await call(shared, "POST", "/api/auth/login", { body: { email: "EVE@example.com", password: "eves long passphrase" } });
    assert.equal(blocked.status, 429, blocked.text);
    const retry = Number(blocked.headers.get("retry-after"));
    assert.ok(retry >= 1 && retry <= 900, `Retry-After ${retry}`);
    assert.equal((blocked.json as { error: { code: string } }).error.code, "rate_limited");
    assert.ok(await login(shared, ADMIN.email, ADMIN.password), "another account still signs in");
  });

  it("limits /v1 and API requests per user per minute with 429 + Retry-After (OpenAI's shape on /v1)", async () => {
    const token = await login(shared, ADMIN.email, ADMIN.password);
    let limited: Awaited<ReturnType<typeof call>> | undefined;
    for (let i = 0; i < 40 && limited === undefined; i++) {
      const res = await call(shared, "GET", "/v1/models", { auth: token });
      if (res.status === 429) limited = res;
      else assert.equal(res.status, 200);
    }
    assert.ok(limited, "limited within 40 requests at 30/minute");
    assert.ok(Number(limited.headers.get("retry-after")) >= 1);
    assert.equal((limited.json as { error: { code: string; type: string } }).error.code, "rate_limit_exceeded");
    assert.equal((await call(shared, "GET", "/api/users", { auth: token })).status, 429, "the same budget covers /api");
  });

  it("limits registrations per IP and failed sign-ins per IP", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await call(shared, "POST", "/api/auth/register", { body: { email: `flood${i}@example.com`, password: "flood long passphrase" } })).status);
    assert.ok(statuses.includes(429), `registrations: ${statuses.join(",")}`);
    assert.ok(statuses.indexOf(429) <= 5, `at most 5 registrations pass: ${statuses.join(",")}`);

    let ipBlocked: Awaited<ReturnType<typeof call>> | undefined;
    for (let i = 0; i < 30 && ipBlocked === undefined; i++) {
      const res = await call(shared, "POST", "/api/auth/login", { body: { email: `nobody${i}@example.com`, password: "not a real password" } });
      if (res.status === 429) ipBlocked = res;
      else assert.equal(res.status, 401);
    }
    assert.ok(ipBlocked !== undefined, "the IP is blocked after 20 failures across accounts");
    assert.ok(Number(ipBlocked.headers.get("retry-after")) >= 1);
  });

  it("answers malformed, huge, unicode and SQL-looking input on every auth route without a 500 or a crash", async () => {
    // A fresh manager (limits are kept in memory) with generous limits, so the inputs reach validation instead of the rate limits.
    await manager.stop();
    manager = await startManager({ dataDir: path.join(root, "data"), hfCache: path.join(root, "hub"), env: { HOME: root } });
    shared = await openShared(manager, { limits: { loginFailuresPerAccount: 100_000, loginFailuresPerIp: 100_000, registrationsPerIp: 100_000 }, requestsPerMinute: 100_000 });
    const admin = await login(shared, ADMIN.email, ADMIN.password);
    const before = ((await manager.api("GET", "/api/users")).json as { users: UserInfo[] }).users;
    const target = before.find((u) => u.email !== "admin@example.com")!.id;

    const strings = [
      "", " ", "a", "@", "a@b", "a@b.c", "ünïcödé@exämple.com", "用户@例子.公司", "😀@😀.😀", "a@b.c\u0000", "\u202eadmin@example.com", "ADMIN@EXAMPLE.COM ",
      "admin@example.com'--", "' OR '1'='1", "'; DROP TABLE users; --", "\" OR \"\"=\"", "admin@example.com\" OR 1=1 --", "%00", "${jndi:ldap://x}", "<script>alert(1)</script>@x.io",
      "x".repeat(300) + "@example.com", "a@" + "b".repeat(5000) + ".com", "\ud800", "\\", "null", "[]",
    ];
    const values: unknown[] = [...strings, null, 0, -1, 1e308, true, [], {}, ["a@b.c"], { $ne: null }, { __proto__: { role: "admin" } }];
    const bodies: (string | Buffer)[] = [
      "", "{", "}", "[", "null", "true", "123", "\"text\"", "{\"email\":", "{\"email\":\"a@b.c\",}", "{'email':'a'}", "\u0000\u0001\u0002", "[".repeat(5000) + "]".repeat(5000),
      "{\"__proto__\":{\"role\":\"admin\"},\"email\":\"proto@example.com\",\"password\":\"proto long passphrase\"}",
      "{\"constructor\":{\"prototype\":{\"admin\":true}}}",
      JSON.stringify({ email: "big@example.com", password: "p".repeat(2 * 1024 * 1024) }),
      Buffer.alloc(3 * 1024 * 1024, 0x41),
      Buffer.from([0xff, 0xfe, 0xfd, 0x00, 0x7b]),
    ];
    const raw = bodies.length;
    for (const value of values) bodies.push(JSON.stringify({ email: value, password: "a long enough password" }), JSON.stringify({ email: "fuzz@example.com", password: value }));
    for (const value of values) bodies.push(JSON.stringify({ name: value, status: value, role: value, currentPassword: value, newPassword: value }));

    const routes: { base: string; method: string; path: string; auth?: string }[] = [
      { base: shared, method: "POST", path: "/api/auth/login" },
      { base: shared, method: "POST", path: "/api/auth/register" },
      { base: shared, method: "POST", path: "/api/auth/password", auth: admin },
      { base: shared, method: "POST", path: "/api/keys", auth: admin },
      { base: shared, method: "PATCH", path: `/api/users/${target}`, auth: admin },
      { base: shared, method: "POST", path: `/api/users/${target}/password`, auth: admin },
      { base: manager.url, method: "POST", path: "/api/users/first-admin", auth: manager.token },
      { base: manager.url, method: "POST", path: "/api/shared/start", auth: manager.token },
    ];
    const seen = new Map<number, number>();
    let requests = 0;
    for (const route of routes) {
      for (const [index, body] of bodies.entries()) {
        for (const contentType of ["application/json", "text/plain"]) {
          if (contentType === "text/plain" && index >= raw) continue;
          const res = await call(route.base, route.method, route.path, { raw: body, contentType, ...(route.auth ? { auth: route.auth } : {}) }).catch((error: unknown) => ({ status: -1, text: String(error) }));
          requests++;
          // An over-limit body is answered 413 and the connection closed, sometimes before the
          // client finished sending it; then the client sees a reset instead of the 413.
          if (res.status === -1 && Buffer.byteLength(body) > 1024 * 1024) continue;
          seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
          assert.ok(res.status >= 200 && res.status < 500, `${route.method} ${route.path} ${contentType} ${String(body).slice(0, 80)} → ${res.status} ${res.text.slice(0, 200)}`);
        }
      }
    }
    // The web forms too: urlencoded, with the same values (and a CSRF token, so the values are read).
    for (const [path, extra] of [["/login", {}], ["/register", {}]] as const) {
      for (const email of strings) {
        for (const password of ["", "x", "a long enough password", "' OR '1'='1 --long"]) {
          const form = new URLSearchParams({ csrf: "c".repeat(43), email, password, ...extra }).toString();
          const res = await call(shared, "POST", path, { raw: form, contentType: "application/x-www-form-urlencoded", headers: { cookie: `mlx_csrf=${"c".repeat(43)}` } });
          requests++;
          assert.ok(res.status < 500, `${path} ${email} → ${res.status}`);
          assert.ok(!res.text.includes("<script>alert"), "input is escaped in pages");
        }
      }
    }
    const bigJson = await call(shared, "POST", "/api/auth/login", { raw: JSON.stringify({ email: "a@b.co", password: "p".repeat(100_000) }) });
    assert.equal(bigJson.status, 413, "API bodies over 64 KiB");
    const huge = await call(shared, "POST", "/login", { raw: `csrf=x&email=${"a".repeat(100_000)}`, contentType: "application/x-www-form-urlencoded" });
    assert.equal(huge.status, 413);

    const status = await manager.api("GET", "/api/status");
    assert.equal(status.status, 200, "the manager is alive");
    assert.equal(manager.child.exitCode, null);
    const after = ((await manager.api("GET", "/api/users")).json as { users: UserInfo[] }).users;
    assert.ok(after.every((u) => u.role === "user" || u.email === "admin@example.com"), "nobody became admin");
    assert.ok(!after.some((u) => u.email.includes("proto")) || after.find((u) => u.email.includes("proto"))?.role === "user");
    assert.ok(requests > 800, `${requests} requests`);
    assert.ok(!seen.has(500) && !seen.has(-1), JSON.stringify([...seen]));
  });
});
