// Engines that misbehave: one that hangs without answering health, one that writes 100 MB of logs.
// The manager runs in this process (ManagerApp, the same code `serve` runs) so the supervisor's
// timings can be shortened; the engines are real processes (the fake llama-server) on real ports.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { ManagerApp } from "../../src/services/manager/ManagerApp";
import type { ServerInfo } from "../../src/shared/servers";
import { removeTempDir } from "../helpers/hfCache";
import { EventRecorder, killGroups, pidRunning, pidsWithCommandLine, waitFor } from "../helpers/servers";
import { call } from "../helpers/shared";
import { MiB, diskUse, fakeProfile, makeFixture, type ReliabilityFixture } from "./helpers";

describe("reliability: engines that hang or flood their log", function () {
  this.timeout(120_000);
  let fixture: ReliabilityFixture;
  let app: ManagerApp;
  let token: string;
  const LOG_MAX = 2 * MiB;
  const LOG_KEEP = 2;

  beforeEach(async () => {
    fixture = await makeFixture("mlx-rel-eng-");
    app = new ManagerApp({
      dataDir: fixture.dataDir,
      port: 0,
      hfCache: fixture.hfCache,
      version: "0.0.0-test",
      watchCache: false,
      engineExecutables: { "llama-server": path.join(fixture.binDir, "llama-server") },
      supervisorSettings: {
        startTimeoutMs: 3000,
        stopGraceMs: 500,
        healthIntervalMs: 250,
        healthTimeoutMs: 300,
        unhealthyAfterFailures: 2,
        unhealthyRestartMs: 1500,
        restartBackoffMs: 100,
        logMaxBytes: LOG_MAX,
        logKeep: LOG_KEEP,
      },
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

  it("an engine that listens but never answers /health: the start times out, the process group is killed (SIGKILL, it ignores SIGTERM anyway) and the reason is reported", async () => {
    assert.equal((await call(app.url, "POST", "/api/profiles", { auth: token, body: fakeProfile("hung", { FAKE_LLAMA_MODE: "hang" }) })).status, 201);
    const events = await EventRecorder.start(app.url, token);
    const began = Date.now();
    const res = await call(app.url, "POST", "/api/servers/hung/start", { auth: token });
    const tookMs = Date.now() - began;
    assert.equal(res.status, 504, res.text);
    assert.match(res.text, /did not answer \/health within 3 seconds; it was stopped/);
    const info = (await call(app.url, "GET", "/api/servers/hung", { auth: token })).json as ServerInfo;
    assert.equal(info.state, "failed");
    assert.ok(info.failure?.logTail.some((l) => l.includes("server is listening")), JSON.stringify(info.failure));
    assert.ok(info.pid === undefined || !pidRunning(info.pid), "the hung process is gone");
    assert.deepEqual(pidsWithCommandLine("--alias hung"), [], "nothing of it is left");
    const failedEvent = await events.waitForState(info.profileId, "failed", 2000).finally(() => { events.stop(); });
    assert.match(failedEvent.info.failure?.message ?? "", /did not answer \/health/);
    assert.ok(tookMs < 10_000, `answered within 10 s (${tookMs} ms)`);
    process.stdout.write(`      figures: hang detected and the engine killed in ${tookMs} ms (start timeout 3 s; the group is SIGKILLed)\n`);
  });

  it("an engine that crashes at start: the start fails at once with the exit code and the engine's own error, no restart storm", async () => {
    assert.equal((await call(app.url, "POST", "/api/profiles", { auth: token, body: fakeProfile("broken", { FAKE_LLAMA_MODE: "crash" }, { restartOnCrash: true }) })).status, 201);
    const began = Date.now();
    const res = await call(app.url, "POST", "/api/servers/broken/start", { auth: token });
    const tookMs = Date.now() - began;
    assert.ok(res.status >= 400 && res.status !== 500, `${res.status} ${res.text}`);
    assert.match(res.text, /exit(ed)? .*(code|status) 1|exit code 1/i);
    const info = (await call(app.url, "GET", "/api/servers/broken", { auth: token })).json as ServerInfo;
    assert.equal(info.state, "failed");
    assert.ok(info.failure?.logTail.some((l) => l.includes("error loading model")), JSON.stringify(info.failure));
    await new Promise((r) => setTimeout(r, 1500));
    const later = (await call(app.url, "GET", "/api/servers/broken", { auth: token })).json as ServerInfo;
    assert.equal(later.state, "failed", "a start that fails is not retried in a loop");
    assert.equal(later.restarts, 0);
    assert.ok(tookMs < 5000, `reported in ${tookMs} ms`);
    process.stdout.write(`      figures: crash at start reported in ${tookMs} ms with the engine's error, 0 restarts\n`);
  });

  it("an engine that freezes while running: unhealthy within a few health checks, then killed and restarted", async () => {
    assert.equal((await call(app.url, "POST", "/api/profiles", { auth: token, body: fakeProfile("frozen", {}, { restartOnCrash: true }) })).status, 201);
    const first = (await call(app.url, "POST", "/api/servers/frozen/start", { auth: token })).json as ServerInfo;
    const events = await EventRecorder.start(app.url, token);
    const frozenAt = Date.now();
    process.kill(first.pid!, "SIGSTOP");
    let unhealthy: Awaited<ReturnType<EventRecorder["waitForState"]>>;
    let restarted: ServerInfo;
    try {
      unhealthy = await events.waitForState(first.profileId, "unhealthy", 5000);
      restarted = await waitFor(async () => {
        const now = (await call(app.url, "GET", "/api/servers/frozen", { auth: token })).json as ServerInfo;
        return now.state === "running" && now.pid !== first.pid ? now : undefined;
      }, 15_000, "the frozen server to be replaced");
    } finally {
      events.stop();
    }
    assert.equal(pidRunning(first.pid!), false, "the frozen process was killed");
    assert.deepEqual(pidsWithCommandLine("--alias frozen"), [restarted.pid]);
    assert.match(unhealthy.info.failure?.message ?? "", /Health check failed/);
    process.stdout.write(`      figures: frozen engine reported unhealthy after ${unhealthy.at - frozenAt} ms, replaced after ${Date.now() - frozenAt} ms\n`);
  });

  it("an engine writing 100 MB of logs: rotation keeps the log folder within a few times the limit, and the server keeps answering", async function () {
    const done = path.join(fixture.root, "flood-done");
    const body = fakeProfile("chatty", { FAKE_LLAMA_MODE: "flood", FAKE_LLAMA_FLOOD_MB: "100", FAKE_LLAMA_FLOOD_MB_PER_S: "25", FAKE_LLAMA_FLOOD_DONE_FILE: done });
    assert.equal((await call(app.url, "POST", "/api/profiles", { auth: token, body })).status, 201);
    const logDir = path.join(fixture.dataDir, "logs", "servers");
    const started = await call(app.url, "POST", "/api/servers/chatty/start", { auth: token });
    assert.equal(started.status, 200, started.text);
    let peak = 0;
    let largestCopy = 0;
    const sample = (): void => {
      peak = Math.max(peak, diskUse(logDir));
      for (const name of fs.readdirSync(logDir).filter((n) => /\.log\.\d+$/.test(n))) {
        try {
          largestCopy = Math.max(largestCopy, fs.statSync(path.join(logDir, name)).size);
        } catch {
          // Renamed while we looked.
        }
      }
    };
    while (!fs.existsSync(done)) {
      sample();
      await new Promise((r) => setTimeout(r, 25));
    }
    await new Promise((r) => setTimeout(r, 600)); // one more rotation
    const final = diskUse(logDir);
    peak = Math.max(peak, final);
    const written = Number(fs.readFileSync(done, "utf8"));
    assert.ok(written >= 100 * MiB);
    const health = await call(app.url, "GET", "/api/servers/chatty", { auth: token });
    assert.equal((health.json as ServerInfo).state, "running");
    // Rotated copies each hold at most the limit, whatever the flood; the live file grows by the
    // flood's rate between two checks (250 ms here; a generous second of it is allowed for a loaded machine).
    assert.ok(largestCopy <= LOG_MAX, `every rotated copy held at most ${LOG_MAX} bytes (largest ${largestCopy})`);
    const bound = LOG_KEEP * LOG_MAX + LOG_MAX + 25 * MiB;
    assert.ok(peak <= bound, `peak disk use ${(peak / MiB).toFixed(1)} MiB ≤ ${(bound / MiB).toFixed(1)} MiB for ${written / MiB} MiB written`);
    assert.ok(final <= bound, `settled at ${(final / MiB).toFixed(1)} MiB`);
    process.stdout.write(`      figures: ${written / MiB} MiB logged, peak disk use ${(peak / MiB).toFixed(1)} MiB, settled ${(final / MiB).toFixed(1)} MiB (limit ${LOG_MAX / MiB} MiB × ${LOG_KEEP + 1} files)\n`);
  });
});
