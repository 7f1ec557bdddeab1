// Ending real process groups: SIGTERM, SIGKILL after the grace period, children too, and adopted pids checked first.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import net from "node:net";
import { MemoryLogger } from "../../../../src/services/logging/Logger";
import { processStartTime } from "../../../../src/services/process/processInfo";
import { groupAlive } from "../../../../src/services/servers/processes";
import { GroupTerminator } from "../../../../src/services/servers/termination";
import { killGroups, pidRunning } from "../../../helpers/servers";

interface Group {
  leader: ChildProcess;
  pid: number;
  /** A child the leader started: same process group. */
  childPid: number;
  command: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** A detached leader (its own process group) with one child; `stubborn` ones ignore SIGTERM. */
async function startGroup(stubborn: boolean): Promise<Group> {
  const ignore = stubborn ? "process.on('SIGTERM', () => {});" : "";
  const script = `${ignore} const c = require('node:child_process').spawn(process.execPath, ['-e', ${JSON.stringify(`${ignore} setInterval(() => {}, 1000)`)}], { stdio: 'ignore' }); console.log(c.pid); setInterval(() => {}, 1000);`;
  const command = [process.execPath, "-e", script];
  const leader = spawn(process.execPath, ["-e", script], {
    detached: true,
    stdio: ["ignore", "pipe", "ignore"],
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    leader.once("exit", (code, signal) => {
      resolve({ code, signal });
    });
  });
  const childPid = await new Promise<number>((resolve, reject) => {
    leader.stdout.once("data", (data: Buffer) => {
      resolve(Number(data.toString().trim()));
    });
    leader.once("error", reject);
  });
  return { leader, pid: leader.pid!, childPid, command, exited };
}

describe("GroupTerminator (real process groups)", function () {
  this.timeout(20_000);
  let logger: MemoryLogger;
  let terminator: GroupTerminator;
  const started: number[] = [];

  beforeEach(() => {
    logger = new MemoryLogger();
    terminator = new GroupTerminator({ logger, now: Date.now });
  });

  afterEach(() => {
    killGroups(started);
    started.length = 0;
  });

  async function group(stubborn: boolean): Promise<Group> {
    const g = await startGroup(stubborn);
    started.push(g.pid);
    return g;
  }

  it("sends SIGKILL to a group that ignores SIGTERM once the grace period is over, children included", async () => {
    const g = await group(true);
    const begun = Date.now();
    await terminator.terminate(
      { pgid: g.pid, profileName: "stubborn", exited: g.exited.then(() => undefined) },
      300,
    );
    assert.ok(Date.now() - begun >= 300, "waited for the grace period");
    assert.equal(groupAlive(g.pid), false);
    assert.equal(pidRunning(g.childPid), false, "the engine's child went with it");
    assert.deepEqual(await g.exited, { code: null, signal: "SIGKILL" });
    assert.deepEqual(
      logger.lines.filter((l) => l.level === "warn").map((l) => [l.message, l.fields["graceMs"]]),
      [["server ignored SIGTERM; sending SIGKILL", 300]],
    );
  });

  it("lets a server that obeys SIGTERM end by itself, without SIGKILL", async () => {
    const g = await group(false);
    const begun = Date.now();
    await terminator.terminate(
      { pgid: g.pid, profileName: "polite", exited: g.exited.then(() => undefined) },
      5000,
    );
    assert.ok(Date.now() - begun < 4000, "did not sit out the grace period");
    assert.deepEqual(await g.exited, { code: null, signal: "SIGTERM" });
    assert.equal(pidRunning(g.childPid), false);
    assert.equal(logger.lines.length, 0);
  });

  it("kills at once with no grace period (a start that timed out)", async () => {
    const g = await group(true);
    await terminator.terminate(
      { pgid: g.pid, profileName: "late", exited: g.exited.then(() => undefined) },
      0,
    );
    assert.deepEqual(await g.exited, { code: null, signal: "SIGKILL" });
    assert.equal(groupAlive(g.pid), false);
    assert.equal(logger.lines.length, 0, "no warning: SIGKILL was asked for");
  });

  it("never signals an adopted pid that is now another process, and ends it while it is still ours", async () => {
    const g = await group(false);
    const processStart = processStartTime(g.pid);
    await terminator.terminate(
      {
        pgid: g.pid,
        profileName: "reused",
        adopted: { pid: g.pid, processStart: "12345", command: g.command },
      },
      200,
    );
    assert.ok(pidRunning(g.pid) && pidRunning(g.childPid), "another start time: not ours, left alone");
    await terminator.terminate(
      { pgid: g.pid, profileName: "adopted", adopted: { pid: g.pid, processStart, command: g.command } },
      2000,
    );
    assert.equal(groupAlive(g.pid), false);
    assert.deepEqual(await g.exited, { code: null, signal: "SIGTERM" });
  });

  it("waits for a server's port to be free, and gives up (with a warning) when it stays taken", async () => {
    const listener = net.createServer();
    await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
    const port = (listener.address() as net.AddressInfo).port;
    setTimeout(() => {
      listener.close();
    }, 200);
    const begun = Date.now();
    await terminator.waitForPortFree(port, 3000);
    const took = Date.now() - begun;
    assert.ok(took >= 150 && took < 2500, `took ${took} ms`);
    assert.equal(logger.lines.length, 0);

    const stays = net.createServer();
    await new Promise<void>((resolve) => stays.listen(0, "127.0.0.1", resolve));
    try {
      const taken = (stays.address() as net.AddressInfo).port;
      await terminator.waitForPortFree(taken, 300);
      assert.deepEqual(
        logger.lines.map((l) => [l.message, l.fields["port"]]),
        [["port still in use after the server stopped", taken]],
      );
    } finally {
      stays.close();
    }
  });
});
