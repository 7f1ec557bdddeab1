// Servers outlive the manager: a killed (or plainly stopped) manager's servers keep running and the
// next manager re-adopts them; records of dead ones are cleaned; --stop-servers-on-exit stops them.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import type { Profile } from "../../src/shared/profiles";
import type { ServerInfo, ServerList } from "../../src/shared/servers";
import { removeTempDir } from "../helpers/hfCache";
import { httpRequest } from "../helpers/llamaEngine";
import { runCli, startManager, type RunningManager } from "../helpers/manager";
import {
  EventRecorder,
  GGUF_REPO,
  groupMembers,
  killGroups,
  makeServerFixture,
  pidRunning,
  pidsWithCommandLine,
  portClosed,
  waitFor,
  type ServerFixture,
} from "../helpers/servers";

describe("servers across manager restarts (real processes)", function () {
  this.timeout(60_000);
  let fixture: ServerFixture;
  const managers: RunningManager[] = [];
  const spawned = new Set<number>();

  beforeEach(async () => {
    fixture = await makeServerFixture("mlx-servers-life-");
  });

  afterEach(async () => {
    for (const m of managers.splice(0)) await m.kill();
    killGroups(spawned);
    spawned.clear();
    removeTempDir(fixture.root);
  });

  async function manager(extraArgs: string[] = []): Promise<RunningManager> {
    const m = await startManager({
      dataDir: fixture.dataDir,
      hfCache: fixture.hfCache,
      env: fixture.env,
      extraArgs,
    });
    managers.push(m);
    return m;
  }

  async function createAndStart(m: RunningManager, name: string): Promise<ServerInfo> {
    const created = await m.api("POST", "/api/profiles", {
      name,
      engine: "llama",
      model: { source: "cache", repoId: GGUF_REPO },
      options: { threads: 1 },
    });
    assert.equal(created.status, 201, created.text);
    const res = await m.api("POST", `/api/servers/${name}/start`);
    assert.equal(res.status, 200, res.text);
    const info = res.json as ServerInfo;
    spawned.add(info.pid!);
    return info;
  }

  it("re-adopts a live server after the manager is killed (same pid, no second process), cleans the record of a dead one, and watches the adopted one", async () => {
    const first = await manager();
    const [kept, lost] = await Promise.all([createAndStart(first, "kept"), createAndStart(first, "lost")]);
    await first.kill();
    assert.ok(pidRunning(kept.pid!), "a server outlives a killed manager");
    process.kill(lost.pid!, "SIGKILL");
    await waitFor(() => !pidRunning(lost.pid!), 5000, "the other server to die");

    const second = await manager();
    const { servers } = (await second.api("GET", "/api/servers")).json as ServerList;
    assert.deepEqual(
      servers.map((s) => [s.profileName, s.state, s.pid, s.adopted, s.port]),
      [["kept", "running", kept.pid, true, kept.port]],
    );
    assert.deepEqual(pidsWithCommandLine("--alias kept"), [kept.pid], "no duplicate was started");
    assert.match(
      fs.readFileSync(lost.logFile, "utf8"),
      new RegExp(`pid ${lost.pid} was no longer running when the manager started`),
    );

    // Starting it again joins the adopted process.
    const again = (await second.api("POST", "/api/servers/kept/start")).json as ServerInfo;
    assert.equal(again.pid, kept.pid);
    const chat = await httpRequest(`${kept.upstreamUrl}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "kept", messages: [{ role: "user", content: "Hi" }], max_tokens: 4 }),
    });
    assert.equal(chat.status, 200);

    // An adopted server gives no exit event: the liveness check notices it is gone.
    const events = await EventRecorder.start(second.url, second.token);
    const profile = (await second.api("GET", "/api/profiles/kept")).json as Profile;
    const killedAt = Date.now();
    process.kill(kept.pid!, "SIGKILL");
    const failed = await events.waitForState(profile.id, "failed", 2500);
    events.stop();
    assert.ok(failed.at - killedAt < 2000, `detected after ${failed.at - killedAt} ms`);
    assert.equal(failed.info.adopted, true);
    assert.match(failed.info.failure!.message, /stopped running \(exit status unknown: it was re-adopted/);
    assert.ok(failed.info.failure!.logTail.length > 0);

    // Its record is gone too: a third manager finds nothing to adopt.
    await second.stop();
    const third = await manager();
    assert.deepEqual(((await third.api("GET", "/api/servers")).json as ServerList).servers, []);
  });

  it("keeps servers running across a plain manager stop, and stop-all then leaves no orphan", async () => {
    const first = await manager();
    const [a, b] = await Promise.all([createAndStart(first, "alpha"), createAndStart(first, "beta")]);
    assert.equal(await first.stop(), 0);
    assert.ok(pidRunning(a.pid!) && pidRunning(b.pid!), "servers keep running after the manager exits");

    const second = await manager();
    const env = { MLX_MANAGER_URL: second.url, MLX_MANAGER_TOKEN: second.token };
    const ps = await runCli(["ps"], env);
    assert.match(ps.stdout, /^alpha\s+llama\s+running \(adopted\)/m);
    assert.match(ps.stdout, /^beta\s+llama\s+running \(adopted\)/m);
    const stopAll = await runCli(["stop-all"], env);
    // Stopped in parallel: the CLI lists them in the order they finished.
    assert.match(stopAll.stdout, /Stopped 2 server\(s\): (alpha, beta|beta, alpha)\./);
    for (const s of [a, b]) {
      assert.equal(pidRunning(s.pid!), false);
      assert.deepEqual(groupMembers(s.pid!), [], "nothing of its process group runs");
      assert.ok(await portClosed(s.port));
    }
  });

  it("stops every server on exit with --stop-servers-on-exit", async () => {
    const m = await manager(["--stop-servers-on-exit"]);
    const s = await createAndStart(m, "ephemeral");
    assert.equal(await m.stop(), 0);
    assert.equal(pidRunning(s.pid!), false, "the server was stopped with the manager");
    assert.ok(await portClosed(s.port));
    assert.deepEqual(pidsWithCommandLine(path.join(fixture.hfCache, "models--")), []);
    const next = await manager();
    assert.deepEqual(
      ((await next.api("GET", "/api/servers")).json as ServerList).servers,
      [],
      "nothing left to adopt",
    );
  });
});
