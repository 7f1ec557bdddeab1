// Re-adoption against real processes and a real store: which records are trusted, and what the first check decides.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { ENGINES } from "../../../../src/services/engines/registry";
import { MemoryLogger } from "../../../../src/services/logging/Logger";
import { processStartTime } from "../../../../src/services/process/processInfo";
import { adoptedEntry, adoptedStillRunning, ServerAdoption } from "../../../../src/services/servers/adoption";
import type { ServerEntry } from "../../../../src/services/servers/ServerEntry";
import { ServerLogFiles } from "../../../../src/services/servers/ServerLogFiles";
import { ServerRecords, type ServerRecord } from "../../../../src/services/servers/ServerRecords";
import { DEFAULT_SETTINGS } from "../../../../src/services/servers/SupervisorSettings";
import { Store } from "../../../../src/services/store/Store";
import type { Profile } from "../../../../src/shared/profiles";
import { makeTempDir, removeTempDir } from "../../../helpers/hfCache";
import { killGroups } from "../../../helpers/servers";

const SCRIPT = "setInterval(() => {}, 1000)";

describe("ServerAdoption (real processes, real store)", function () {
  this.timeout(20_000);
  let root: string;
  let store: Store;
  let records: ServerRecords;
  let logger: MemoryLogger;
  let logs: ServerLogFiles;
  const children: ChildProcess[] = [];
  /** What the first checks led to, in order. */
  let outcomes: string[];

  beforeEach(async () => {
    root = makeTempDir("adoption-");
    store = (await Store.open({ dir: path.join(root, "data"), logger: new MemoryLogger() })).store;
    records = new ServerRecords(store);
    logger = new MemoryLogger();
    logs = new ServerLogFiles({
      dir: path.join(root, "logs"),
      settings: DEFAULT_SETTINGS,
      logger,
      now: Date.now,
    });
    outcomes = [];
  });

  afterEach(() => {
    killGroups(children.map((c) => c.pid!));
    children.length = 0;
    store.close();
    removeTempDir(root);
  });

  async function running(): Promise<ChildProcess> {
    const child = spawn(process.execPath, ["-e", SCRIPT], { detached: true, stdio: "ignore" });
    await new Promise((resolve) => child.once("spawn", resolve));
    children.push(child);
    return child;
  }

  function record(profileId: string, pid: number, extra: Partial<ServerRecord> = {}): ServerRecord {
    const r: ServerRecord = {
      profileId,
      profileName: profileId,
      engine: "llama",
      model: "/models/tiny.gguf",
      upstreamModel: profileId,
      pid,
      processStart: processStartTime(pid),
      port: 40_000,
      command: [process.execPath, "-e", SCRIPT],
      logFile: path.join(root, "logs", `${profileId}.log`),
      startedAt: 1000,
      readyAt: 2000,
      startedBy: "user",
      ...extra,
    };
    records.put(r);
    return r;
  }

  function adoption(known: string[]): ServerAdoption {
    return new ServerAdoption({
      records,
      profiles: { find: (id) => (known.includes(id) ? ({ id } as Profile) : undefined) },
      engines: ENGINES,
      states: {
        ready: (entry) => {
          outcomes.push(`running ${entry.info.profileId}`);
          return entry.info;
        },
        adoptedUnhealthy: (entry, reason) => {
          outcomes.push(`unhealthy ${entry.info.profileId}: ${reason}`);
        },
      },
      starts: {
        waitForAdopted: (entry) => {
          outcomes.push(`still starting ${entry.info.profileId}`);
          return Promise.resolve(entry.info);
        },
      },
      logs,
      logger,
      checkTimeoutMs: 2000,
    });
  }

  it("trusts a record only while its pid is still the process launched, and flags servers of deleted profiles", async () => {
    const kept = await running();
    const orphan = await running();
    const reused = await running();
    const dead = await running();
    record("kept", kept.pid!);
    record("orphan", orphan.pid!);
    record("reused", reused.pid!, { processStart: "12345" });
    const deadRecord = record("dead", dead.pid!);
    process.kill(dead.pid!, "SIGKILL");
    await new Promise((resolve) => dead.once("exit", resolve));
    store.run(
      "INSERT INTO servers (profile_id, profile_name, engine, model, upstream_model, pid, process_start, port, command, log_file, started_at, ready_at) VALUES ('bad', 'bad', 'no-such-engine', 'm', 'm', 1, NULL, 1, '[]', 'x.log', 1, NULL)",
    );

    const survey = adoption(["kept", "reused", "dead"]).survey(new AbortController().signal);
    assert.deepEqual(
      survey.alive.map((a) => [a.record.profileId, a.orphan]),
      [
        ["kept", false],
        ["orphan", true],
      ],
    );
    assert.deepEqual([...survey.cleaned].sort(), ["bad", "dead", "reused"]);
    assert.deepEqual(
      records
        .all()
        .records.map((r) => r.profileId)
        .sort(),
      ["kept", "orphan"],
      "the records of gone servers are removed",
    );
    assert.ok(process.kill(reused.pid!, 0), "a record that does not match is dropped, its pid left alone");
    assert.match(
      fs.readFileSync(deadRecord.logFile, "utf8"),
      new RegExp(`mlx-manager: pid ${dead.pid} was no longer running when the manager started\\n$`),
    );
    // The records share a start time, so the store's order among them is not defined: compare sorted.
    assert.deepEqual(logger.lines.map((l) => `${l.level} ${l.message}`).sort(), [
      "info server of an earlier run is gone; removed its record",
      "info server of an earlier run is gone; removed its record",
      "warn removed an unreadable server record",
      "warn server of a deleted profile was still running; stopping it",
    ]);
  });

  it("watches an adopted pid: still running while it is the same process", async () => {
    const child = await running();
    const start = processStartTime(child.pid!);
    assert.equal(adoptedStillRunning(child.pid!, start), true);
    assert.equal(adoptedStillRunning(child.pid!, "12345"), false, "a reused pid is not our server");
    process.kill(child.pid!, "SIGKILL");
    await new Promise((resolve) => child.once("exit", resolve));
    assert.equal(adoptedStillRunning(child.pid!, start), false);
  });

  it("judges an adopted server by its first check: running, unhealthy, or still starting", async () => {
    let status = 200;
    const engine = http.createServer((_request, response) => {
      response.writeHead(status).end();
    });
    await new Promise<void>((resolve) => engine.listen(0, "127.0.0.1", resolve));
    const port = (engine.address() as AddressInfo).port;
    try {
      const a = adoption([]);
      const entry = (profileId: string, readyAt: number | undefined): ServerEntry =>
        adoptedEntry(record(profileId, process.pid, { port, readyAt }), 1, 5000);
      const ready = entry("ready-before", 2000);
      assert.deepEqual(
        [
          ready.info.state,
          ready.info.adopted,
          ready.info.readyAt,
          ready.upstreamModel,
          ready.info.upstreamUrl,
        ],
        ["starting", true, 2000, "ready-before", `http://127.0.0.1:${port}`],
      );
      await a.confirm(ready);
      status = 503;
      await a.confirm(entry("was-ready", 2000));
      await a.confirm(entry("never-ready", undefined));
      assert.deepEqual(outcomes, [
        "running ready-before",
        "unhealthy was-ready: answered HTTP 503",
        "still starting never-ready",
      ]);
    } finally {
      engine.close();
    }
  });
});
