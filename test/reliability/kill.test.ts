// The manager process killed with SIGKILL at bad moments: while API writes are in flight, while a
// server is starting, while a chat streams through the gateway. Real manager processes, real
// engines (the fake llama-server), real HTTP.
/* eslint-disable @typescript-eslint/no-deprecated -- the engines read max_tokens; clients still send it */
import assert from "node:assert/strict";
import fs from "node:fs";
import OpenAI from "openai";
import type { ServerInfo, ServerList } from "../../src/shared/servers";
import { removeTempDir } from "../helpers/hfCache";
import { httpRequest } from "../helpers/llamaEngine";
import { startManager, type RunningManager } from "../helpers/manager";
import { killGroups, pidRunning, pidsWithCommandLine, waitFor } from "../helpers/servers";
import { fakeProfile, makeFixture, type ReliabilityFixture } from "./helpers";

describe("reliability: the manager killed with SIGKILL", function () {
  this.timeout(120_000);
  let fixture: ReliabilityFixture;
  const managers: RunningManager[] = [];
  const spawned = new Set<number>();

  beforeEach(async () => {
    fixture = await makeFixture("mlx-rel-kill-");
  });
  afterEach(async () => {
    for (const m of managers.splice(0)) await m.kill();
    // Every engine of this fixture has its model under fixture.root on its command line.
    for (const pid of pidsWithCommandLine(fixture.root)) spawned.add(pid);
    killGroups(spawned);
    spawned.clear();
    removeTempDir(fixture.root);
  });

  async function manager(): Promise<RunningManager> {
    const m = await startManager({ dataDir: fixture.dataDir, hfCache: fixture.hfCache, env: fixture.env });
    managers.push(m);
    return m;
  }

  it("during database writes: every acknowledged write survives, nothing half-written, the file opens without recovery (3 kills)", async () => {
    // profile name → the ports it may have: the acknowledged one, or also the one of an edit in flight at the kill.
    const acknowledged = new Map<string, number[]>();
    let total = 0;
    for (let round = 0; round < 3; round++) {
      const m = await manager();
      let stop = false;
      // Four writers at once: creates, then edits with versions, as fast as the API answers.
      const writer = async (w: number): Promise<void> => {
        for (let i = 0; !stop; i++) {
          const name = `r${round}-w${w}-${i}`;
          const created = await m.api("POST", "/api/profiles", { ...fakeProfile(name), port: 20_000 + i }).catch(() => undefined);
          if (created?.status !== 201) return;
          acknowledged.set(name, [20_000 + i, 30_000 + i]);
          total++;
          const id = (created.json as { id: string }).id;
          const edited = await m.api("PATCH", `/api/profiles/${id}`, { version: 1, port: 30_000 + i }).catch(() => undefined);
          if (edited?.status !== 200) return;
          acknowledged.set(name, [30_000 + i]);
          total++;
        }
      };
      const writers = [0, 1, 2, 3].map((w) => writer(w));
      // Past the first 2 s snapshot in one round, so a kill can land while a snapshot is written.
      await new Promise((r) => setTimeout(r, [700, 2100, 1300][round]));
      stop = true;
      await m.kill();
      managers.splice(managers.indexOf(m), 1);
      await Promise.all(writers);
    }
    const m = await manager();
    assert.doesNotMatch(m.stderr(), /notice:/, "no recovery was needed: the files were consistent");
    const status = (await m.api("GET", "/api/status")).json as { notices: string[] };
    assert.deepEqual(status.notices, []);
    const { profiles } = (await m.api("GET", "/api/profiles")).json as { profiles: { name: string; port: number | "auto" }[] };
    const ports = new Map(profiles.map((p) => [p.name, p.port]));
    const lost = [...acknowledged].filter(([name, allowed]) => !allowed.includes(ports.get(name) as number));
    assert.deepEqual(lost, [], `acknowledged writes lost (of ${total})`);
    assert.ok(total > 50, `enough writes were acknowledged to mean something (${total})`);
    assert.ok(!fs.readdirSync(fixture.dataDir).some((f) => f.includes("corrupt")), "nothing was moved aside");
    process.stdout.write(`      figures: ${total} acknowledged writes across 3 SIGKILLs, 0 lost, ${profiles.length} profiles\n`);
  });

  it("while a server is starting: the next manager ends with exactly one process for it, and stop-all leaves none", async () => {
    const first = await manager();
    assert.equal((await first.api("POST", "/api/profiles", fakeProfile("rel-slow", { FAKE_LLAMA_LISTEN_DELAY_MS: "1500" }))).status, 201);
    const started = await first.api("POST", "/api/servers/rel-slow/start?wait=0");
    assert.equal(started.status, 202, started.text);
    const info = started.json as ServerInfo;
    assert.equal(info.state, "starting");
    spawned.add(info.pid!);
    await first.kill();
    managers.splice(managers.indexOf(first), 1);
    assert.ok(pidRunning(info.pid!), "the engine outlives the killed manager");

    const second = await manager();
    const again = await second.api("POST", "/api/servers/rel-slow/start");
    assert.equal(again.status, 200, again.text);
    const running = again.json as ServerInfo;
    spawned.add(running.pid!);
    assert.equal(running.state, "running");
    assert.deepEqual(pidsWithCommandLine("--alias rel-slow"), [running.pid], "one process, not two");
    const stopAll = await second.api("POST", "/api/servers/stop-all");
    assert.equal(stopAll.status, 200);
    await waitFor(() => pidsWithCommandLine("--alias rel-slow").length === 0, 10_000, "no orphan of rel-slow");
    assert.equal(pidRunning(info.pid!), false);
  });

  it("while a chat streams: the client gets an error at once, the engine keeps running and the next manager re-adopts it and serves", async () => {
    const first = await manager();
    assert.equal((await first.api("POST", "/api/profiles", fakeProfile("rel-chat", { FAKE_LLAMA_INTERVAL_MS: "20" }))).status, 201);
    const started = (await first.api("POST", "/api/servers/rel-chat/start")).json as ServerInfo;
    spawned.add(started.pid!);
    const openai = new OpenAI({ baseURL: `${first.url}/v1`, apiKey: first.token, maxRetries: 0 });
    const stream = await openai.chat.completions.create({ model: "rel-chat", messages: [{ role: "user", content: "long" }], max_tokens: 1000, stream: true });
    let chunks = 0;
    let killedAt = 0;
    let failure: unknown;
    try {
      for await (const chunk of stream) {
        if (chunk.choices.length > 0) chunks++;
        if (chunks === 5) {
          killedAt = Date.now();
          process.kill(first.child.pid!, "SIGKILL");
        }
      }
    } catch (error) {
      failure = error;
    }
    const detectedMs = Date.now() - killedAt;
    await first.kill();
    managers.splice(managers.indexOf(first), 1);
    assert.ok(killedAt > 0, "the stream started");
    assert.ok(failure instanceof Error, `the client saw an error, not a normal end (${chunks} chunks)`);
    assert.ok(chunks < 1000);
    assert.ok(detectedMs < 5000, `the client learned it within 5 s (${detectedMs} ms)`);

    assert.ok(pidRunning(started.pid!), "the engine keeps running");
    const health = await httpRequest(`${started.upstreamUrl}/health`);
    assert.equal(health.status, 200);

    const second = await manager();
    const { servers } = (await second.api("GET", "/api/servers")).json as ServerList;
    assert.deepEqual(servers.map((s) => [s.profileName, s.state, s.pid, s.adopted]), [["rel-chat", "running", started.pid, true]]);
    const openai2 = new OpenAI({ baseURL: `${second.url}/v1`, apiKey: second.token, maxRetries: 0 });
    const answer = await openai2.chat.completions.create({ model: "rel-chat", messages: [{ role: "user", content: "again" }], max_tokens: 3 });
    assert.equal(answer.usage?.completion_tokens, 3);
    assert.deepEqual(pidsWithCommandLine("--alias rel-chat"), [started.pid], "no duplicate was started");
    process.stdout.write(`      figures: stream cut after ${chunks} chunks, client error after ${detectedMs} ms, engine pid ${started.pid} re-adopted\n`);
    await second.api("POST", "/api/servers/stop-all");
  });
});
