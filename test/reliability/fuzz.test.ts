// Hostile input: every route of the manager's API and of the shared listener (found through
// Fastify's own route registration, so a new route is fuzzed without editing this file), the /v1
// gateway, the web pages and the CLI's arguments get malformed JSON, wrong types, huge bodies,
// deep nesting, path traversal, unicode, NUL bytes and shell metacharacters. Nothing may answer
// 500, crash, read or touch a file outside the cache and the data dir, or run a shell.
import assert from "node:assert/strict";
import diagnostics from "node:diagnostics_channel";
import fs from "node:fs";
import path from "node:path";
import type { FastifyInstance, RouteOptions } from "fastify";
import { ManagerApp } from "../../src/services/manager/ManagerApp";
import type { ServerInfo } from "../../src/shared/servers";
import { removeTempDir } from "../helpers/hfCache";
import { ROOT, runCli } from "../helpers/manager";
import { killGroups, pidsWithCommandLine } from "../helpers/servers";
import { ADMIN, call, login } from "../helpers/shared";
import { GGUF_REPO, fakeProfile, makeFixture, type ReliabilityFixture } from "./helpers";

interface Route {
  method: string;
  url: string;
}

/** Values for path parameters and model ids: traversal, absolute paths, NUL, unicode, shell, size. */
const HOSTILE = [
  "../../../../etc/passwd",
  "..%2F..%2F..%2Fetc%2Fpasswd",
  "%2Fetc%2Fpasswd",
  "models--evil--escape",
  "evil/escape",
  "a%00b",
  "%00",
  "日本語-🙂-\u202e",
  "$(touch CANARY)",
  "`touch CANARY`; rm -rf /tmp/x | cat",
  "x".repeat(5000),
];

/** Bodies: malformed JSON, wrong types, deep nesting, a huge one, prototype pollution. */
const BODIES: { name: string; raw: string | Buffer; type?: string }[] = [
  { name: "truncated JSON", raw: '{"name": "x", ' },
  { name: "null", raw: "null" },
  { name: "array", raw: "[]" },
  { name: "number", raw: "123" },
  { name: "string", raw: '"text"' },
  { name: "empty object", raw: "{}" },
  { name: "wrong types", raw: JSON.stringify({ name: 123, engine: ["llama"], model: "x", port: "eighty", options: "none", version: "1", status: 7, role: {}, email: [], password: null, repo: 5, include: "*", messages: "hi", stream: "yes", max_tokens: -1 }) },
  { name: "traversal in ids", raw: JSON.stringify({ name: "../../x", engine: "llama", model: { source: "cache", repoId: "../../../etc", file: "../../../../etc/passwd" }, repo: "../../etc/passwd", revision: "../../../x", include: ["../../**"], model_id: "/etc/passwd" }) },
  { name: "absolute path model", raw: JSON.stringify({ name: "abs", engine: "llama-server", model: { source: "path", path: "/etc/passwd" } }) },
  { name: "NUL and unicode", raw: JSON.stringify({ name: "a\u0000b\u202e🙂", email: "x\u0000@y.z", password: "p\u0000".repeat(20), title: "\u0000" }) },
  { name: "shell metacharacters", raw: JSON.stringify({ name: "$(touch CANARY)", engine: "llama-server", model: { source: "cache", repoId: GGUF_REPO }, options: { extraArgs: ["; touch CANARY", "$(touch CANARY)", "`touch CANARY`"], env: { X: "$(touch CANARY)" }, chatTemplate: "| touch CANARY" } }) },
  { name: "prototype pollution", raw: '{"__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted": true}}, "name": "proto"}' },
  { name: "deep nesting", raw: "[".repeat(100_000) + "]".repeat(100_000) },
  { name: "deep object", raw: '{"a":'.repeat(20_000) + "1" + "}".repeat(20_000) },
  { name: "huge body (3 MiB)", raw: JSON.stringify({ name: "h", messages: [{ role: "user", content: "x".repeat(3 * 1024 * 1024) }] }) },
  { name: "form garbage", raw: "email=%00&password=%ZZ&_csrf=../../&name[]=1&name[__proto__]=2", type: "application/x-www-form-urlencoded" },
  { name: "wrong content type", raw: "<xml/>", type: "application/xml" },
];

/** Routes that would end the test's manager or block on purpose. */
const SKIP = new Set(["POST /api/shutdown"]);

describe("reliability: hostile input on every route, the gateway, the web pages and the CLI", function () {
  this.timeout(240_000);
  let fixture: ReliabilityFixture;
  let app: ManagerApp;
  let token: string;
  let sharedUrl: string;
  let adminToken: string;
  const apps = new Map<FastifyInstance, Route[]>();
  const outside = { dir: "", canaries: new Map<string, string>() };

  const onInit = (message: unknown): void => {
    const { fastify } = message as { fastify: FastifyInstance };
    const routes: Route[] = [];
    apps.set(fastify, routes);
    fastify.addHook("onRoute", (route: RouteOptions) => {
      for (const method of [route.method].flat()) if (method !== "HEAD") routes.push({ method, url: route.url });
    });
  };

  before(async () => {
    fixture = await makeFixture("mlx-rel-fuzz-");
    // Files outside the cache and the data dir that nothing may read, change or delete; a repo in
    // the cache that is a symlink to them, and a snapshot file that links out.
    outside.dir = path.join(fixture.root, "outside");
    fs.mkdirSync(path.join(outside.dir, "snapshots", "c0ffee"), { recursive: true });
    for (const name of ["secret.txt", path.join("snapshots", "c0ffee", "config.json")]) {
      const content = `CANARY-CONTENT-${name}`;
      fs.writeFileSync(path.join(outside.dir, name), content);
      outside.canaries.set(path.join(outside.dir, name), content);
    }
    fs.symlinkSync(outside.dir, path.join(fixture.hfCache, "models--evil--escape"));
    const snapshot = fs.readdirSync(path.join(fixture.hfCache, "models--test--tiny-gguf", "snapshots"))[0]!;
    fs.symlinkSync(path.join(outside.dir, "secret.txt"), path.join(fixture.hfCache, "models--test--tiny-gguf", "snapshots", snapshot, "escape.txt"));

    diagnostics.subscribe("fastify.initialization", onInit);
    app = new ManagerApp({
      dataDir: fixture.dataDir,
      port: 0,
      hfCache: fixture.hfCache,
      version: "0.0.0-test",
      watchCache: false,
      engineExecutables: { "llama-server": path.join(fixture.binDir, "llama-server") },
    });
    await app.start();
    token = fs.readFileSync(path.join(fixture.dataDir, "token"), "utf8").trim();
    assert.equal((await call(app.url, "POST", "/api/users/first-admin", { auth: token, body: ADMIN })).status, 201);
    const started = await call(app.url, "POST", "/api/shared/start", { auth: token, body: { port: 0, host: "127.0.0.1" } });
    assert.equal(started.status, 200, started.text);
    sharedUrl = (started.json as { url: string }).url;
    adminToken = await login(sharedUrl, ADMIN.email, ADMIN.password);
    diagnostics.unsubscribe("fastify.initialization", onInit);
    assert.equal((await call(app.url, "POST", "/api/profiles", { auth: token, body: fakeProfile("fuzzed") })).status, 201);
  });

  after(async () => {
    diagnostics.unsubscribe("fastify.initialization", onInit);
    await call(app.url, "POST", "/api/servers/stop-all", { auth: token }).catch(() => undefined);
    await app.stop();
    killGroups(pidsWithCommandLine(fixture.root));
    removeTempDir(fixture.root);
  });

  /** Nothing outside was read, changed or removed, and no canary file was made by a shell. */
  function assertNothingEscaped(texts: string[]): void {
    for (const [file, content] of outside.canaries) assert.equal(fs.readFileSync(file, "utf8"), content, `${file} untouched`);
    for (const text of texts) {
      assert.doesNotMatch(text, /CANARY-CONTENT|root:x:0:0/, "no answer carries a file from outside");
    }
    for (const dir of [ROOT, fixture.root, fixture.dataDir, fixture.binDir, process.cwd(), "/tmp"]) {
      assert.equal(fs.existsSync(path.join(dir, "CANARY")), false, `no shell ran "touch CANARY" in ${dir}`);
    }
  }

  /** Sends one request; streams are cut after their headers. A 500 or a dropped connection fails. */
  async function probe(base: string, method: string, url: string, auth: string | undefined, body?: { raw: string | Buffer; type?: string }): Promise<{ status: number; text: string }> {
    const headers: Record<string, string> = {};
    if (auth !== undefined) headers["authorization"] = `Bearer ${auth}`;
    if (body !== undefined) headers["content-type"] = body.type ?? "application/json";
    const controller = new AbortController();
    const timer = setTimeout(() => { controller.abort(); }, 15_000);
    try {
      const response = await fetch(base + url, { method, headers, redirect: "manual", signal: controller.signal, ...(body !== undefined && method !== "GET" ? { body: body.raw } : {}) });
      let text = "";
      if ((response.headers.get("content-type") ?? "").startsWith("text/event-stream")) await response.body?.cancel();
      else text = await response.text();
      return { status: response.status, text };
    } catch (error) {
      // An over-limit body may be refused before it is all sent; the server must still be up.
      if (body !== undefined && body.raw.length > 1024 * 1024) return { status: 413, text: "" };
      throw new Error(`${method} ${url}: ${String(error)}`);
    } finally {
      clearTimeout(timer);
    }
  }

  function fill(url: string, value: string): string {
    return url.replace(/:[A-Za-z]+/g, value).replace(/\*$/, value);
  }

  async function fuzzRoutes(base: string, routes: Route[], auth: string | undefined): Promise<{ requests: number; statuses: Map<number, number> }> {
    const statuses = new Map<number, number>();
    const texts: string[] = [];
    let requests = 0;
    const failures: string[] = [];
    const record = (what: string, result: { status: number; text: string }): void => {
      requests++;
      statuses.set(result.status, (statuses.get(result.status) ?? 0) + 1);
      texts.push(result.text);
      if (result.status === 500 || (result.status > 500 && !/"(message|error)"/.test(result.text))) failures.push(`${what} → ${result.status} ${result.text.slice(0, 200)}`);
    };
    for (const route of routes) {
      if (SKIP.has(`${route.method} ${route.url}`)) continue;
      const hasParams = /[:*]/.test(route.url);
      // Every hostile path value, with a plain body.
      for (const value of hasParams ? HOSTILE : ["x"]) {
        const url = fill(route.url, hasParams ? value : "");
        record(`${route.method} ${url.slice(0, 80)}`, await probe(base, route.method, url + "?lines=-1&follow=maybe&limit=1e99&x=%00", auth, route.method === "GET" || route.method === "DELETE" ? undefined : { raw: "{}" }));
      }
      if (route.method === "GET" || route.method === "DELETE") continue;
      // Every hostile body, on a plausible path.
      for (const body of BODIES) {
        const url = fill(route.url, "fuzzed");
        record(`${route.method} ${url} [${body.name}]`, await probe(base, route.method, url, auth, body));
      }
    }
    assert.deepEqual(failures, [], "no 500 and no bare 5xx");
    assertNothingEscaped(texts);
    return { requests, statuses };
  }

  it("finds the routes through Fastify's registration: the API, /v1 and the shared listener's pages", () => {
    const all = [...apps.values()].flat().map((r) => `${r.method} ${r.url}`);
    for (const expected of ["POST /api/profiles", "DELETE /api/models/*", "POST /v1/chat/completions", "GET /api/servers/:id/logs", "POST /login", "POST /register", "POST /admin/users/:id/:action"]) {
      assert.ok(all.includes(expected), `${expected} is among the ${all.length} routes found`);
    }
  });

  it("the loopback API and the /v1 gateway, with the local token and without: no 500, nothing escapes, no crash", async () => {
    const routes = [...apps.entries()].find(([, r]) => r.some((x) => x.url === "/api/profiles"))?.[1] ?? [];
    const withToken = await fuzzRoutes(app.url, routes, token);
    const without = await fuzzRoutes(app.url, routes, undefined);
    assert.ok([...without.statuses.keys()].every((s) => s === 401 || s === 404 || s === 414), `unauthenticated: ${JSON.stringify([...without.statuses])}`);
    assert.equal((await call(app.url, "GET", "/api/status", { auth: token })).status, 200, "the manager is still up");
    assert.ok(fs.existsSync(path.join(fixture.hfCache, "models--test--tiny-gguf")), "the cached model is still there");
    process.stdout.write(`      figures: ${routes.length} routes, ${withToken.requests + without.requests} requests, statuses ${JSON.stringify(Object.fromEntries(withToken.statuses))}, 0 × 500\n`);
  });

  it("the shared listener (API, /v1, web pages), as an admin and anonymous: no 500, nothing escapes, no crash", async () => {
    const routes = [...apps.entries()].find(([, r]) => r.some((x) => x.url === "/login"))?.[1] ?? [];
    assert.ok(routes.length > 10);
    // The loopback fuzz also sent /api/shared/stop and rotate-secret: open it again and sign in again.
    const reopened = await call(app.url, "POST", "/api/shared/start", { auth: token, body: { port: 0, host: "127.0.0.1" } });
    if (reopened.status === 200) sharedUrl = (reopened.json as { url: string }).url;
    adminToken = await login(sharedUrl, ADMIN.email, ADMIN.password);
    const asAdmin = await fuzzRoutes(sharedUrl, routes, adminToken);
    const anonymous = await fuzzRoutes(sharedUrl, routes, undefined);
    // The admin is rate-limited by now (429 is the right answer to this much traffic); the pages still answer.
    assert.equal((await call(sharedUrl, "GET", "/login")).status, 200, "the listener is still up");
    process.stdout.write(`      figures: ${routes.length} routes, ${asAdmin.requests + anonymous.requests} requests, 0 × 500\n`);
  });

  it("shell metacharacters in profile fields reach the engine as plain arguments: no shell runs", async () => {
    const hostile = ["; touch CANARY", "$(touch CANARY)", "`touch CANARY`", "| touch CANARY", "&& touch CANARY"];
    // Names are letters, digits, spaces, '.', '_' and '-' (validated); the free-form fields are extraArgs and env.
    const created = await call(app.url, "POST", "/api/profiles", { auth: token, body: fakeProfile("rel-shell", {}, { options: { env: { X: "$(touch CANARY)", Y: "`touch CANARY`" }, extraArgs: hostile } }) });
    assert.equal(created.status, 201, created.text);
    const started = await call(app.url, "POST", "/api/servers/rel-shell/start", { auth: token });
    assert.equal(started.status, 200, started.text);
    const info = started.json as ServerInfo;
    const argv = fs.readFileSync(`/proc/${info.pid}/cmdline`, "utf8").split("\0");
    for (const arg of hostile) assert.ok(argv.includes(arg), `"${arg}" arrived as one argument`);
    const environ = fs.readFileSync(`/proc/${info.pid}/environ`, "utf8").split("\0");
    assert.ok(environ.includes("X=$(touch CANARY)") && environ.includes("Y=`touch CANARY`"), "env values arrive as they are");
    const comm = fs.readFileSync(`/proc/${info.pid}/comm`, "utf8").trim();
    assert.doesNotMatch(comm, /^(sh|bash|dash|zsh)$/, "the engine is not a shell");
    assertNothingEscaped([]);
    assert.equal((await call(app.url, "POST", `/api/servers/${info.profileId}/stop`, { auth: token })).status, 200);
  });

  it("no child process in src/ is spawned through a shell: only spawn/execFile with argument arrays, never shell: true", () => {
    const offenders: string[] = [];
    let calls = 0;
    const walk = (dir: string): void => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(full);
        else if (/\.tsx?$/.test(entry.name)) {
          const text = fs.readFileSync(full, "utf8");
          const imported = /import\s*\{([^}]*)\}\s*from\s*"node:child_process"/.exec(text)?.[1] ?? "";
          // A type (`type ChildProcessWithoutNullStreams`) runs nothing.
          for (const name of imported.split(",").map((n) => n.trim()).filter((n) => n !== "" && !n.startsWith("type "))) {
            if (!["spawn", "execFile", "execFileSync", "spawnSync", "ChildProcess"].includes(name)) offenders.push(`${full}: imports ${name} (runs a shell)`);
          }
          if (/from\s*"(node:)?child_process"/.test(text) && !imported) offenders.push(`${full}: imports child_process as a whole`);
          calls += (text.match(/\b(spawn|execFile|execFileSync|spawnSync)\(/g) ?? []).length;
          if (/shell\s*:\s*(true|[^,}\s]*[A-Za-z])/.test(text) && /child_process/.test(text)) offenders.push(`${full}: passes a shell option`);
          if (/require\(\s*["'](node:)?child_process["']\s*\)/.test(text)) offenders.push(`${full}: requires child_process`);
        }
      }
    };
    walk(path.join(ROOT, "src"));
    assert.deepEqual(offenders, []);
    assert.ok(calls >= 5, `the check saw the spawn calls (${calls})`);
  });

  it("the CLI with hostile arguments: a message and exit 1 or 2, no stack trace, nothing escapes", async () => {
    const env = { ...fixture.env, MLX_MANAGER_URL: app.url, MLX_MANAGER_TOKEN: token };
    const cases: string[][] = [
      ["profiles", "create", "--name", "$(touch CANARY)", "--engine", "llama", "--model", "../../../etc/passwd"],
      ["profiles", "create", "--name", "x", "--engine", "; rm -rf /", "--model", "/etc/passwd"],
      ["profiles", "create", "--name", "x", "--engine", "llama", "--model", GGUF_REPO, "--port", "eighty"],
      ["profiles", "create", "--name", "x", "--engine", "llama", "--model", GGUF_REPO, "--set", "extraArgs=[not json"],
      ["profiles", "show", "../../etc/passwd"],
      ["profiles", "import", "/etc/passwd"],
      ["profiles", "import", path.join(fixture.root, "missing.json")],
      ["rm", "../../../etc", "--yes"],
      ["rm", "evil/escape", "--yes"],
      ["logs", "../../../../etc/passwd", "-n", "5"],
      ["logs", "fuzzed", "-n", "-5"],
      ["start", "x".repeat(5000)],
      ["info", "../../etc/passwd"],
      ["pull", "../../../etc@../../x", "--include", "../../**"],
      ["downloads", "cancel", "$(touch CANARY)"],
      ["users", "approve", "`touch CANARY`"],
      ["search", "--limit", "-1"],
      ["--no-such-flag"],
      ["日本語", "🙂"],
    ];
    const texts: string[] = [];
    for (const args of cases) {
      const result = await runCli(args, env);
      // `profiles import FILE` quotes the start of the file the user named when it is not JSON: their own file, not an escape.
      if (args[1] !== "import") texts.push(result.stdout, result.stderr);
      assert.ok(result.code === 1 || result.code === 2, `${args.join(" ").slice(0, 80)} → exit ${result.code}: ${result.stderr.slice(0, 300)}`);
      assert.ok(result.stderr.trim().length > 0, `${args.join(" ").slice(0, 80)} says why`);
      assert.doesNotMatch(result.stderr, /^\s+at .+:\d+:\d+\)?$/m, `${args.join(" ").slice(0, 80)}: a message, not a stack trace`);
    }
    assertNothingEscaped(texts);
    assert.ok(fs.existsSync(path.join(outside.dir, "secret.txt")));
    process.stdout.write(`      figures: ${cases.length} hostile command lines, each exit 1 or 2 with a message\n`);
  });
});
