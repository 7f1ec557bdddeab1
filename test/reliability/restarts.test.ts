// The first request after a server restart (issue 26): the gateway keeps upstream connections
// alive, and a restarted server listens on the same port, so a connection pooled to the previous
// process must never carry the next request. Real manager process, real engine processes (the
// fake llama-server), real HTTP.
import assert from "node:assert/strict";
import http from "node:http";
import fs from "node:fs";
import path from "node:path";
import { ManagerApp } from "../../src/services/manager/ManagerApp";
import type { ServerInfo } from "../../src/shared/servers";
import { removeTempDir } from "../helpers/hfCache";
import { startManager, type RunningManager } from "../helpers/manager";
import { killGroups, pidsWithCommandLine, waitFor } from "../helpers/servers";
import { call } from "../helpers/shared";
import { fakeProfile, makeFixture, type ReliabilityFixture } from "./helpers";

/** A chat through the gateway on a connection of its own; resolves with status and body. */
function chat(manager: Pick<RunningManager, "url" | "token">, stream: boolean): Promise<{ status: number; text: string }> {
  const body = JSON.stringify({ model: "restarts", messages: [{ role: "user", content: "hi" }], max_tokens: 4, stream });
  return new Promise((resolve, reject) => {
    const req = http.request(`${manager.url}/v1/chat/completions`, {
      method: "POST",
      agent: false,
      headers: { authorization: `Bearer ${manager.token}`, "content-type": "application/json", "content-length": Buffer.byteLength(body) },
    }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (text += d));
      res.on("end", () => { resolve({ status: res.statusCode ?? 0, text }); });
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** A 200 whose answer is complete: a JSON completion, or a stream that ended with [DONE] and no error event. */
function failureOf(result: { status: number; text: string }, stream: boolean): string | undefined {
  if (result.status !== 200) return `${result.status} ${result.text.slice(0, 300)}`;
  if (stream && (!result.text.includes("data: [DONE]") || result.text.includes('"error"'))) return `stream broken: ${result.text.slice(-300)}`;
  return undefined;
}

describe("reliability: the first request after a server restart", function () {
  this.timeout(240_000);
  let fixture: ReliabilityFixture;
  let manager: RunningManager;

  beforeEach(async () => {
    fixture = await makeFixture("mlx-rel-restart-");
    manager = await startManager({ dataDir: fixture.dataDir, hfCache: fixture.hfCache, env: fixture.env });
    assert.equal((await manager.api("POST", "/api/profiles", fakeProfile("restarts", { FAKE_LLAMA_INTERVAL_MS: "1" }))).status, 201);
    assert.equal((await manager.api("POST", "/api/servers/restarts/start")).status, 200);
  });
  afterEach(async () => {
    await manager.api("POST", "/api/servers/stop-all").catch(() => undefined);
    await manager.stop();
    killGroups(pidsWithCommandLine(fixture.root));
    removeTempDir(fixture.root);
  });

  it("100 restarts, each followed at once by requests: every one answered (0 failures)", async () => {
    const failures: string[] = [];
    const pids = new Set<number>();
    let requests = 0;
    for (let round = 0; round < 100; round++) {
      // Four at once, so the gateway's pool holds several kept-alive connections to this process.
      const warm = await Promise.all([chat(manager, false), chat(manager, true), chat(manager, false), chat(manager, true)]);
      warm.forEach((result, i) => { const f = failureOf(result, i % 2 === 1); if (f) failures.push(`round ${round} before: ${f}`); });
      const restarted = await manager.api("POST", "/api/servers/restarts/restart");
      assert.equal(restarted.status, 200, restarted.text);
      pids.add((restarted.json as { pid: number }).pid);
      // The moment the restart answers: a plain and a streamed request together.
      const after = await Promise.all([chat(manager, false), chat(manager, true)]);
      after.forEach((result, i) => { const f = failureOf(result, i === 1); if (f) failures.push(`round ${round} after: ${f}`); });
      requests += warm.length + after.length;
    }
    process.stdout.write(`      figures: 100 restarts (${pids.size} distinct pids), ${requests} requests, ${failures.length} failed\n`);
    assert.equal(pids.size, 100, "every restart made a new process");
    assert.deepEqual(failures, []);
  });
});

describe("reliability: a server killed and replaced under kept-alive connections", function () {
  this.timeout(240_000);
  let fixture: ReliabilityFixture;
  let app: ManagerApp;
  let token: string;

  beforeEach(async () => {
    fixture = await makeFixture("mlx-rel-replace-");
    // In this process, so that crash restarts come at once and are not capped.
    app = new ManagerApp({
      dataDir: fixture.dataDir,
      port: 0,
      hfCache: fixture.hfCache,
      version: "0.0.0-test",
      watchCache: false,
      engineExecutables: { "llama-server": path.join(fixture.binDir, "llama-server") },
      supervisorSettings: { restartBackoffMs: 20, restartBackoffMaxMs: 20, maxRestarts: 1000 },
    });
    await app.start();
    token = fs.readFileSync(path.join(fixture.dataDir, "token"), "utf8").trim();
  });
  afterEach(async () => {
    await call(app.url, "POST", "/api/servers/stop-all", { auth: token }).catch(() => undefined);
    await app.stop();
    killGroups(pidsWithCommandLine(fixture.root));
    removeTempDir(fixture.root);
  });

  it("SIGKILL of the engine 20 times; the supervisor's replacement on the same port answers the next requests: 0 failures", async () => {
    assert.equal((await call(app.url, "POST", "/api/profiles", { auth: token, body: fakeProfile("restarts", { FAKE_LLAMA_INTERVAL_MS: "1" }, { restartOnCrash: true }) })).status, 201);
    const server = async (): Promise<ServerInfo> => (await call(app.url, "GET", "/api/servers/restarts", { auth: token })).json as ServerInfo;
    assert.equal((await call(app.url, "POST", "/api/servers/restarts/start", { auth: token })).status, 200);
    const target = { url: app.url, token };
    const failures: string[] = [];
    const port = (await server()).port;
    for (let round = 0; round < 20; round++) {
      const warm = await Promise.all([chat(target, false), chat(target, true), chat(target, false), chat(target, true)]);
      warm.forEach((result, i) => { const f = failureOf(result, i % 2 === 1); if (f) failures.push(`round ${round} before: ${f}`); });
      const before = await server();
      process.kill(before.pid ?? 0, "SIGKILL");
      await waitFor(async () => { const now = await server(); return now.state === "running" && now.pid !== before.pid; }, 20_000, "the crash restart");
      const after = await Promise.all([chat(target, false), chat(target, true)]);
      after.forEach((result, i) => { const f = failureOf(result, i === 1); if (f) failures.push(`round ${round} after: ${f}`); });
    }
    assert.equal((await server()).port, port, "every replacement listened on the same port");
    assert.deepEqual(failures, []);
  });
});
