// The watcher's rounds against real processes and a real HTTP server, with a fake of the supervisor's side.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { ENGINES } from "../../../../src/services/engines/registry";
import { MemoryLogger } from "../../../../src/services/logging/Logger";
import { processStartTime } from "../../../../src/services/process/processInfo";
import { adoptedEntry } from "../../../../src/services/servers/adoption";
import type { ServerEntry } from "../../../../src/services/servers/ServerEntry";
import { ServerLogFiles } from "../../../../src/services/servers/ServerLogFiles";
import { ServerWatcher, type WatchedServers } from "../../../../src/services/servers/ServerWatcher";
import { DEFAULT_SETTINGS } from "../../../../src/services/servers/SupervisorSettings";
import type { Profile } from "../../../../src/shared/profiles";
import { makeTempDir, removeTempDir } from "../../../helpers/hfCache";
import { waitFor } from "../../../helpers/servers";

describe("ServerWatcher", function () {
  this.timeout(20_000);
  let root: string;
  let logger: MemoryLogger;
  let calls: string[];
  let entries: ServerEntry[];
  let starting: Set<string>;
  let idleTimeoutSec: number | null;
  let pinned: boolean;
  let busy: Set<string>;
  let defaultIdle: number;
  let now: number;

  beforeEach(() => {
    root = makeTempDir("watcher-");
    logger = new MemoryLogger();
    calls = [];
    entries = [];
    starting = new Set();
    idleTimeoutSec = 0;
    pinned = false;
    busy = new Set();
    defaultIdle = 0;
    now = 100_000;
  });

  afterEach(() => {
    removeTempDir(root);
  });

  /** A running server of profile `id`, as re-adopted (no child): pid and start time decide whether it lives. */
  function server(id: string, pid: number, port = 1): ServerEntry {
    const entry = adoptedEntry(
      {
        profileId: id,
        profileName: id,
        engine: "llama",
        model: "m",
        upstreamModel: id,
        pid,
        processStart: processStartTime(pid),
        port,
        command: ["x"],
        logFile: path.join(root, `${id}.log`),
        startedAt: 0,
        startedBy: "user",
        readyAt: 0,
      },
      1,
      now,
    );
    entry.info.state = "running";
    entries.push(entry);
    return entry;
  }

  function watcher(logMaxBytes = DEFAULT_SETTINGS.logMaxBytes): ServerWatcher {
    const servers: WatchedServers = {
      entries: () => entries,
      starting: (id) => starting.has(id),
      profile: (id) => ({ id, idleTimeoutSec, pinned, restartOnCrash: true }) as Profile,
      engine: (id) => ENGINES[id],
      busy: (id) => busy.has(id),
      defaultIdleTimeoutSec: () => defaultIdle,
      adoptedGone: (entry) => {
        calls.push(`gone ${entry.info.profileId}`);
      },
      idle: (entry) => {
        calls.push(`idle ${entry.info.profileId}`);
      },
      healthChanged: async (entry, change) => {
        calls.push(
          `${change.kind} ${entry.info.profileId}${"message" in change ? `: ${change.message}` : ""}`,
        );
        entry.info.state = change.kind === "unhealthy" ? "unhealthy" : "running";
      },
    };
    const settings = { ...DEFAULT_SETTINGS, logMaxBytes, logKeep: 1 };
    const logs = new ServerLogFiles({ dir: root, settings, logger, now: () => now });
    return new ServerWatcher({ servers, logs, logger, settings, now: () => now });
  }

  it("gives profiles without an idle stop of their own the default, and never stops a pinned one for idleness", () => {
    server("alive", process.pid);
    const w = watcher();
    idleTimeoutSec = null;
    defaultIdle = 120;
    now += 119_000;
    w.livenessRound();
    assert.deepEqual(calls, [], "119 s of the default 120");
    now += 1000;
    pinned = true;
    w.livenessRound();
    assert.deepEqual(calls, [], "pinned");
    pinned = false;
    idleTimeoutSec = 0;
    w.livenessRound();
    assert.deepEqual(calls, [], "the profile's own 0 (never) wins over the default");
    idleTimeoutSec = null;
    w.livenessRound();
    assert.deepEqual(calls, ["idle alive"]);
  });

  it("finds adopted servers that are gone, and idle ones (not while a start is in progress)", async () => {
    const dead = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
    const deadPid = await new Promise<number>((resolve) =>
      dead.once("exit", () => {
        resolve(dead.pid!);
      }),
    );
    server("alive", process.pid);
    server("gone", deadPid);
    const w = watcher();
    w.livenessRound();
    assert.deepEqual(calls, ["gone gone"], "idle stop is off (idleTimeoutSec 0)");

    calls = [];
    entries = entries.filter((e) => e.info.profileId === "alive");
    idleTimeoutSec = 60;
    now += 59_000;
    w.livenessRound();
    assert.equal(calls.length, 0, "59 s without a request");
    now += 1000;
    starting.add("alive");
    w.livenessRound();
    assert.equal(calls.length, 0, "a start in progress is not idle");
    starting.clear();
    entries[0]!.stopping = true;
    w.livenessRound();
    assert.equal(calls.length, 0, "a stopping server is left alone");
    entries[0]!.stopping = false;
    busy.add("alive");
    w.livenessRound();
    assert.equal(calls.length, 0, "a server with a request running or queued is not idle");
    busy.clear();
    w.livenessRound();
    assert.deepEqual(calls, ["idle alive"]);
    assert.deepEqual(logger.lines.at(-1), {
      level: "info",
      message: "stopping idle server",
      fields: { profile: "alive", idleSec: 60 },
    });
  });

  it("health rounds: unhealthy after two failed checks, running again when it answers, its log rotated on the way", async () => {
    let status = 503;
    const engine = http.createServer((_request, response) => {
      response.writeHead(status).end();
    });
    await new Promise<void>((resolve) => engine.listen(0, "127.0.0.1", resolve));
    try {
      const entry = server("tiny", process.pid, (engine.address() as AddressInfo).port);
      fs.writeFileSync(entry.info.logFile, "x".repeat(200) + "\n");
      const w = watcher(100);
      await w.healthRound();
      assert.equal(calls.length, 0);
      assert.equal(entry.health.failures, 1);
      assert.ok(
        fs.existsSync(`${entry.info.logFile}.1`) && fs.statSync(entry.info.logFile).size === 0,
        "rotated",
      );
      await w.healthRound();
      assert.deepEqual(calls, ["unhealthy tiny: Health check failed 2 times in a row: answered HTTP 503."]);
      assert.equal(entry.health.unhealthySince, now);
      status = 200;
      await w.healthRound();
      assert.deepEqual(calls.at(-1), "recovered tiny");
      assert.deepEqual([entry.health.failures, entry.health.unhealthySince], [0, undefined]);
    } finally {
      engine.close();
    }
  });

  it("drops a health result that came back after the server was restarted", async () => {
    let requests = 0;
    const engine = http.createServer((_request, response) => {
      requests++;
      setTimeout(() => response.writeHead(503).end(), 200);
    });
    await new Promise<void>((resolve) => engine.listen(0, "127.0.0.1", resolve));
    try {
      const entry = server("tiny", process.pid, (engine.address() as AddressInfo).port);
      entry.health.failures = 1;
      const w = watcher();
      const round = w.healthRound();
      assert.equal(entry.health.inFlight, true);
      await waitFor(() => requests === 1, 2000, "the first check to arrive");
      await w.healthRound();
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(requests, 1, "a round while a check is out leaves the server alone");
      entry.launch = 2;
      await round;
      assert.equal(calls.length, 0, "stale: no verdict");
      assert.equal(entry.health.failures, 1);
      assert.equal(entry.health.inFlight, false);
    } finally {
      engine.close();
    }
  });
});
