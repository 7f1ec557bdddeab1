// One request per cell of docs/security.md's "who may do what" table, through the real manager:
// the local owner over loopback with the local token; admin, user, pending and anonymous over the
// shared listener (bearer tokens on /api and /v1, the session cookie + CSRF token on pages).
import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { makeTempDir, removeTempDir } from "../helpers/hfCache";
import { ROOT, startManager, type RunningManager } from "../helpers/manager";
import { ADMIN, approvedUser, call, login, openShared } from "../helpers/shared";

const COLUMNS = ["local owner", "admin", "user", "pending", "anonymous"] as const;
type Column = (typeof COLUMNS)[number];

/** The table of docs/security.md: route → expected outcome per column. */
function readTable(): Map<string, Record<Column, string>> {
  const text = fs.readFileSync(path.join(ROOT, "docs", "security.md"), "utf8");
  const rows = new Map<string, Record<Column, string>>();
  for (const line of text.split("\n")) {
    const match = /^\| `([A-Z]+ \S+)` \|(.*)\|$/.exec(line);
    if (!match?.[1] || match[2] === undefined) continue;
    const cells = match[2].split("|").map((c) => c.trim());
    assert.equal(cells.length, COLUMNS.length, line);
    rows.set(match[1], Object.fromEntries(COLUMNS.map((c, i) => [c, cells[i]])) as Record<Column, string>);
  }
  return rows;
}

interface Request {
  method: string;
  path: string;
  json?: unknown;
  form?: Record<string, string>;
}

describe("docs/security.md: a request per route × principal", function () {
  this.timeout(120_000);
  let root: string;
  let manager: RunningManager;
  let shared: string;
  let sharedPort: number;
  const tokens: Partial<Record<Column, string>> = {};
  const passwords: Record<string, string> = { admin: ADMIN.password, user: "user long passphrase", pending: "pending long passphrase" };
  const emails: Record<string, string> = { admin: ADMIN.email, user: "user@example.com", pending: "pending@example.com" };
  let victims = 0;
  const csrf = crypto.randomBytes(32).toString("base64url");

  const refreshTokens = async (): Promise<void> => {
    for (const who of ["admin", "user", "pending"] as const) tokens[who] = await login(shared, emails[who]!, passwords[who]!);
  };
  const victim = async (): Promise<string> => {
    const res = await call(shared, "POST", "/api/auth/register", { body: { email: `victim${++victims}@example.com`, password: "victim long passphrase" } });
    assert.equal(res.status, 201, res.text);
    return (res.json as { user: { id: string } }).user.id;
  };

  /** How to call each route (paths with real ids; bodies that pass auth and change little). */
  const requests: Record<string, (who: Column) => Request | Promise<Request>> = {
    "POST /api/auth/login": () => ({ method: "POST", path: "/api/auth/login", json: {} }),
    "POST /api/auth/register": () => ({ method: "POST", path: "/api/auth/register", json: {} }),
    "GET /api/auth/me": () => ({ method: "GET", path: "/api/auth/me" }),
    "POST /api/auth/password": () => ({ method: "POST", path: "/api/auth/password", json: {} }),
    "GET /api/keys": () => ({ method: "GET", path: "/api/keys" }),
    "POST /api/keys": () => ({ method: "POST", path: "/api/keys", json: { name: "matrix" } }),
    "DELETE /api/keys/:id": () => ({ method: "DELETE", path: "/api/keys/no-such-key" }),
    "GET /v1/models": () => ({ method: "GET", path: "/v1/models" }),
    "POST /v1/chat/completions": () => ({ method: "POST", path: "/v1/chat/completions", json: { model: "no-such-model", messages: [] } }),
    "POST /v1/messages": () => ({ method: "POST", path: "/v1/messages", json: { model: "no-such-model", max_tokens: 1, messages: [] } }),
    "POST /v1/messages/count_tokens": () => ({ method: "POST", path: "/v1/messages/count_tokens", json: { model: "no-such-model", messages: [] } }),
    "POST /v1/responses": () => ({ method: "POST", path: "/v1/responses", json: { model: "no-such-model", input: "hi" } }),
    "GET /v1/responses/:id": () => ({ method: "GET", path: "/v1/responses/resp_none" }),
    "GET /v1/responses/:id/input_items": () => ({ method: "GET", path: "/v1/responses/resp_none/input_items" }),
    "DELETE /v1/responses/:id": () => ({ method: "DELETE", path: "/v1/responses/resp_none" }),
    "GET /api/servers": () => ({ method: "GET", path: "/api/servers" }),
    "POST /api/servers/:id/start": () => ({ method: "POST", path: "/api/servers/no-such-profile/start" }),
    "POST /api/servers/:id/stop": () => ({ method: "POST", path: "/api/servers/no-such-profile/stop" }),
    "GET /api/servers/:id/logs": () => ({ method: "GET", path: "/api/servers/no-such-profile/logs" }),
    "GET /api/users": () => ({ method: "GET", path: "/api/users" }),
    "PATCH /api/users/:id": async () => ({ method: "PATCH", path: `/api/users/${await victim()}`, json: {} }),
    "DELETE /api/users/:id": async () => ({ method: "DELETE", path: `/api/users/${await victim()}` }),
    "POST /api/users/:id/password": async () => ({ method: "POST", path: `/api/users/${await victim()}/password`, json: {} }),
    "GET /api/audit": () => ({ method: "GET", path: "/api/audit" }),
    "GET /api/usage/users": () => ({ method: "GET", path: "/api/usage/users" }),
    "GET /api/usage/users.csv": () => ({ method: "GET", path: "/api/usage/users.csv" }),
    "POST /api/users/first-admin": () => ({ method: "POST", path: "/api/users/first-admin", json: { email: "late@example.com", password: "late long passphrase" } }),
    "GET /api/shared": () => ({ method: "GET", path: "/api/shared" }),
    "POST /api/shared/start": () => ({ method: "POST", path: "/api/shared/start", json: {} }),
    "POST /api/shared/stop": () => ({ method: "POST", path: "/api/shared/stop" }),
    "POST /api/shared/rotate-secret": () => ({ method: "POST", path: "/api/shared/rotate-secret" }),
    "GET /api/profiles": () => ({ method: "GET", path: "/api/profiles" }),
    "POST /api/profiles": () => ({ method: "POST", path: "/api/profiles", json: {} }),
    "DELETE /api/models/:id": () => ({ method: "DELETE", path: "/api/models/nobody/nothing" }),
    "GET /api/engines": () => ({ method: "GET", path: "/api/engines" }),
    "GET /api/metrics": () => ({ method: "GET", path: "/api/metrics" }),
    "GET /api/events": () => ({ method: "GET", path: "/api/events" }),
    "GET /api/usage": () => ({ method: "GET", path: "/api/usage" }),
    "POST /api/memory/estimate": () => ({ method: "POST", path: "/api/memory/estimate", json: { model: { source: "cache", repoId: "nobody/nothing" }, engine: "llama" } }),
    "GET /api/hub/fit": () => ({ method: "GET", path: "/api/hub/fit?repo=not%20a%20repo" }),
    "GET /api/memory/budget": () => ({ method: "GET", path: "/api/memory/budget" }),
    "GET /api/settings": () => ({ method: "GET", path: "/api/settings" }),
    // An empty patch: the owner's answer is the settings unchanged, so the matrix changes nothing.
    "PATCH /api/settings": () => ({ method: "PATCH", path: "/api/settings", json: {} }),
    "GET /api/remotes": () => ({ method: "GET", path: "/api/remotes" }),
    "POST /api/remotes/probe": () => ({ method: "POST", path: "/api/remotes/probe", json: { url: "http://127.0.0.1:9/v1" } }),
    "POST /api/remotes": () => ({ method: "POST", path: "/api/remotes", json: { name: "matrix", url: "http://127.0.0.1:9/v1" } }),
    "PATCH /api/remotes/:id": () => ({ method: "PATCH", path: "/api/remotes/matrix", json: {} }),
    "DELETE /api/remotes/:id": () => ({ method: "DELETE", path: "/api/remotes/none" }),
    "POST /api/remotes/:id/check": () => ({ method: "POST", path: "/api/remotes/none/check", json: {} }),
    "GET /api/remotes/:id/previews": () => ({ method: "GET", path: "/api/remotes/none/previews?model=x" }),
    "POST /api/profiles/:id/hosts/check": () => ({ method: "POST", path: "/api/profiles/none/hosts/check", json: {} }),
    "POST /api/profiles/:id/hosts/copy-model": () => ({ method: "POST", path: "/api/profiles/none/hosts/copy-model", json: { host: "x" } }),
    "GET /api/jobs": () => ({ method: "GET", path: "/api/jobs" }),
    "POST /api/jobs": () => ({ method: "POST", path: "/api/jobs", json: {} }),
    "POST /api/jobs/plan": () => ({ method: "POST", path: "/api/jobs/plan", json: {} }),
    "POST /api/jobs/check-dataset": () => ({ method: "POST", path: "/api/jobs/check-dataset", json: { file: "/nonexistent.jsonl" } }),
    "GET /api/jobs/:id": () => ({ method: "GET", path: "/api/jobs/none" }),
    "GET /api/jobs/:id/reports": () => ({ method: "GET", path: "/api/jobs/none/reports" }),
    "GET /api/jobs/:id/log": () => ({ method: "GET", path: "/api/jobs/none/log" }),
    "POST /api/jobs/:id/cancel": () => ({ method: "POST", path: "/api/jobs/none/cancel", json: {} }),
    "POST /api/jobs/:id/resume": () => ({ method: "POST", path: "/api/jobs/none/resume", json: {} }),
    "POST /api/jobs/:id/profile": () => ({ method: "POST", path: "/api/jobs/none/profile", json: { name: "x" } }),
    "POST /api/jobs/:id/fuse": () => ({ method: "POST", path: "/api/jobs/none/fuse", json: { name: "x" } }),
    "GET /api/benchmarks": () => ({ method: "GET", path: "/api/benchmarks" }),
    "POST /api/benchmarks": () => ({ method: "POST", path: "/api/benchmarks", json: {} }),
    "GET /api/benchmarks/:id": () => ({ method: "GET", path: "/api/benchmarks/none" }),
    "POST /api/benchmarks/:id/cancel": () => ({ method: "POST", path: "/api/benchmarks/none/cancel", json: {} }),
    "DELETE /api/benchmarks/:id": () => ({ method: "DELETE", path: "/api/benchmarks/none" }),
    "GET /api/benchmarks/:id/export": () => ({ method: "GET", path: "/api/benchmarks/none/export?format=csv" }),
    "GET /api/perplexity": () => ({ method: "GET", path: "/api/perplexity" }),
    "POST /api/perplexity": () => ({ method: "POST", path: "/api/perplexity", json: {} }),
    "GET /login": () => ({ method: "GET", path: "/login" }),
    "POST /login": (who) => {
      const as = who === "anonymous" || who === "local owner" ? "user" : who;
      return { method: "POST", path: "/login", form: { email: emails[as]!, password: passwords[as]! } };
    },
    "GET /register": () => ({ method: "GET", path: "/register" }),
    "POST /register": () => ({ method: "POST", path: "/register", form: { email: `form${++victims}@example.com`, password: "form long passphrase" } }),
    "GET /account": () => ({ method: "GET", path: "/account" }),
    "POST /account/keys": () => ({ method: "POST", path: "/account/keys", form: { name: "from the page" } }),
    "GET /admin/users": () => ({ method: "GET", path: "/admin/users" }),
    "POST /admin/users/:id/:action": async () => ({ method: "POST", path: `/admin/users/${await victim()}/approve`, form: {} }),
    "GET /admin/usage": () => ({ method: "GET", path: "/admin/usage" }),
    "GET /admin/usage.csv": () => ({ method: "GET", path: "/admin/usage.csv" }),
    "GET /admin/audit": () => ({ method: "GET", path: "/admin/audit" }),
    "POST /logout": () => ({ method: "POST", path: "/logout", form: {} }),
  };

  /** After a cell that changes the listener or the secret, put things back. */
  const cleanups: Record<string, () => Promise<void>> = {
    "POST /api/shared/stop": async () => {
      shared = await openShared(manager, { port: sharedPort });
    },
    "POST /api/shared/rotate-secret": refreshTokens,
  };

  async function send(who: Column, request: Request): Promise<{ status: number; location: string | null; body: string }> {
    const isPage = !request.path.startsWith("/api/") && !request.path.startsWith("/v1/");
    const base = who === "local owner" ? manager.url : shared;
    const headers: Record<string, string> = {};
    if (who === "local owner") headers["authorization"] = `Bearer ${manager.token}`;
    else if (who !== "anonymous" && !isPage) headers["authorization"] = `Bearer ${tokens[who]!}`;
    if (isPage) headers["cookie"] = [`mlx_csrf=${csrf}`, ...(who !== "anonymous" && who !== "local owner" ? [`mlx_session=${tokens[who]!}`] : [])].join("; ");
    let body: string | undefined;
    if (request.json !== undefined) {
      body = JSON.stringify(request.json);
      headers["content-type"] = "application/json";
    } else if (request.form !== undefined) {
      body = new URLSearchParams({ csrf, ...request.form }).toString();
      headers["content-type"] = "application/x-www-form-urlencoded";
    }
    const controller = new AbortController();
    const response = await fetch(base + request.path, { method: request.method, headers, redirect: "manual", signal: controller.signal, ...(body === undefined ? {} : { body }) });
    let text = "";
    if ((response.headers.get("content-type") ?? "").startsWith("text/event-stream")) controller.abort();
    else text = await response.text();
    return { status: response.status, location: response.headers.get("location"), body: text };
  }

  function check(expected: string, got: { status: number; location: string | null; body: string }, what: string): void {
    const detail = `${what}: expected "${expected}", got ${got.status} ${got.location ?? ""} ${got.body.slice(0, 200)}`;
    const noRoute = got.status === 404 && /No route|Unknown route/.test(got.body);
    switch (expected) {
      case "yes":
        assert.ok(![401, 403].includes(got.status) && !noRoute && !(got.status === 303 && got.location === "/login" && !what.includes("/logout")) && got.status < 500, detail);
        break;
      case "no route":
        assert.ok(noRoute, detail);
        break;
      case "→ /login":
        assert.ok(got.status === 303 && got.location === "/login", detail);
        break;
      case "→ home":
        assert.ok(got.status === 303 && (got.location === "/account" || got.location === "/admin/users"), detail);
        break;
      default:
        assert.equal(String(got.status), expected, detail);
    }
  }

  before(async () => {
    root = makeTempDir("mlx-matrix-");
    fs.mkdirSync(path.join(root, "hub"));
    manager = await startManager({ dataDir: path.join(root, "data"), hfCache: path.join(root, "hub"), env: { HOME: root } });
    const limits = { loginFailuresPerAccount: 1000, loginFailuresPerIp: 1000, registrationsPerIp: 1000 };
    shared = await openShared(manager, { limits });
    sharedPort = Number(new URL(shared).port);
    const openWith = async (): Promise<void> => {
      shared = await openShared(manager, { port: sharedPort, limits });
    };
    cleanups["POST /api/shared/stop"] = openWith;
    await approvedUser(manager, shared, emails["user"]!, passwords["user"]!);
    const pending = await call(shared, "POST", "/api/auth/register", { body: { email: emails["pending"], password: passwords["pending"] } });
    assert.equal(pending.status, 201);
    await refreshTokens();
  });

  after(async () => {
    await manager.stop();
    removeTempDir(root);
  });

  it("has a request for every row of the table, and a row for every request", () => {
    assert.deepEqual([...readTable().keys()].sort(), Object.keys(requests).sort());
  });

  for (const [route, expected] of readTable()) {
    it(route, async () => {
      for (const who of COLUMNS) {
        const spec = requests[route];
        assert.ok(spec, `no request for ${route}`);
        check(expected[who], await send(who, await spec(who)), `${route} as ${who}`);
        await cleanups[route]?.();
        if (route === "POST /logout" || route === "POST /login") await refreshTokens();
      }
    });
  }
});
