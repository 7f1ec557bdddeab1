// The sampler against real processes: an idle and a busy `node` child stand in for model servers.
// The macOS branch runs with the tools' published outputs (sources in macos.test.ts and in each
// fixture's header) injected as the command runner, since no Mac is at hand.
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import os from "node:os";
import { MemoryLogger } from "../../../../src/services/logging/Logger";
import {
  MetricsService,
  type CommandRunner,
  type MetricsServiceDeps,
  type RequestStatsSource,
} from "../../../../src/services/metrics/MetricsService";
import { MetricsSnapshotSchema } from "../../../../src/shared/metrics";
import type { ServerInfo } from "../../../../src/shared/servers";
import { macosFixture } from "./fixtures";
import { BUSY_SCRIPT, IDLE_SCRIPT, serverInfo, sleep, startNode, stopNode, waitFor } from "./processes";

const noRequests: RequestStatsSource = { stats: () => undefined };

/** The macOS tools as recorded on real Macs, keyed by command; calls are recorded for assertions. */
function macosRunner(
  overrides: Partial<Record<string, () => string>> = {},
): CommandRunner & { calls: string[][] } {
  const outputs: Record<string, () => string> = {
    sysctl: () => macosFixture("sysctl-hw-memsize.txt"),
    vm_stat: () => macosFixture("vm_stat.txt"),
    memory_pressure: () => macosFixture("memory_pressure.txt"),
    ioreg: () => macosFixture("ioreg-accelerator-m4pro.txt"),
    footprint: () => macosFixture("footprint-webkit.txt"),
    vmmap: () => macosFixture("vmmap-summary-flutter.txt"),
    ...overrides,
  };
  const calls: string[][] = [];
  const run = async (cmd: string, args: string[], signal: AbortSignal): Promise<string> => {
    calls.push([cmd, ...args]);
    signal.throwIfAborted();
    const output = outputs[cmd];
    if (!output) throw new Error(`unexpected command ${cmd}`);
    return output();
  };
  return Object.assign(run, { calls });
}

describe("MetricsService", function () {
  this.timeout(20_000);
  const children: ChildProcess[] = [];
  const services: MetricsService[] = [];
  let idle: ChildProcess & { pid: number };
  let busy: ChildProcess & { pid: number };

  before(async () => {
    idle = await startNode(IDLE_SCRIPT);
    busy = await startNode(BUSY_SCRIPT);
    children.push(idle, busy);
  });

  after(async () => {
    await Promise.all(children.map(stopNode));
  });

  afterEach(() => {
    for (const service of services.splice(0)) service.close();
  });

  function service(deps: Partial<MetricsServiceDeps> & { servers: () => ServerInfo[] }): MetricsService {
    const created = new MetricsService({ requests: noRequests, logger: new MemoryLogger(), ...deps });
    services.push(created);
    return created;
  }

  it("measures real processes: memory of each, and more CPU for the busy one than the idle one", async () => {
    const metrics = service({
      servers: () => [serverInfo("idle", idle.pid), serverInfo("busy", busy.pid)],
      platform: "linux",
      intervalMs: 250,
    });
    const unwatch = metrics.watch();
    try {
      await waitFor(() => metrics.sampleCount >= 3, 5_000, "three samples");
      const snapshot = await metrics.snapshot();
      MetricsSnapshotSchema.parse(snapshot);
      const byId = new Map(snapshot.servers.map((s) => [s.profileId, s]));
      const idleMetrics = byId.get("idle");
      const busyMetrics = byId.get("busy");
      assert.ok(idleMetrics && busyMetrics);
      for (const m of [idleMetrics, busyMetrics]) {
        assert.ok((m.memoryBytes ?? 0) > 1024 * 1024, `${m.profileId} has its RSS: ${m.memoryBytes}`);
        assert.equal(m.memorySource, "rss");
        assert.ok(m.cpuPercent !== null, `${m.profileId} has a CPU figure`);
        assert.ok((m.uptimeSeconds ?? 0) >= 5);
      }
      // The spinning process gets whatever share of a core this (possibly busy) machine leaves it;
      // the idle one, booted before sampling began, has next to nothing.
      assert.ok(
        (busyMetrics.cpuPercent ?? 0) > (idleMetrics.cpuPercent ?? 0) + 20,
        `busy ${busyMetrics.cpuPercent} % vs idle ${idleMetrics.cpuPercent} %`,
      );
      assert.ok((idleMetrics.cpuPercent ?? 100) < 10, `idle ${idleMetrics.cpuPercent} %`);
      assert.ok(busyMetrics.history.cpuPercent.length >= 2);
      assert.ok(busyMetrics.history.memoryBytes.length >= 3);
    } finally {
      unwatch();
    }
  });

  it("runs no sampling when nobody watches; watching starts it and unwatching stops it", async () => {
    const metrics = service({
      servers: () => [serverInfo("idle", idle.pid)],
      platform: "linux",
      intervalMs: 40,
    });
    await sleep(300);
    assert.equal(metrics.sampleCount, 0, "no sample without a watcher");

    const unwatchA = metrics.watch();
    const unwatchB = metrics.watch();
    await waitFor(() => metrics.sampleCount >= 4, 3_000, "periodic samples");
    assert.equal(metrics.watcherCount, 2);
    unwatchA();
    unwatchA(); // releasing twice does not release the other watcher
    const whileOneWatches = metrics.sampleCount;
    await waitFor(() => metrics.sampleCount >= whileOneWatches + 3, 3_000, "samples while one still watches");

    unwatchB();
    assert.equal(metrics.watcherCount, 0);
    await sleep(60); // a sample already running may still finish
    const stoppedAt = metrics.sampleCount;
    await sleep(400);
    assert.equal(metrics.sampleCount, stoppedAt, "no sample after the last watcher left");
  });

  it("samples once on demand when nobody watches, at most once per interval", async () => {
    const metrics = service({
      servers: () => [serverInfo("idle", idle.pid)],
      platform: "linux",
      intervalMs: 500,
    });
    const first = await metrics.snapshot();
    assert.equal(metrics.sampleCount, 1);
    const [again, concurrent] = await Promise.all([metrics.snapshot(), metrics.snapshot()]);
    assert.equal(metrics.sampleCount, 1, "a burst of requests reuses the fresh sample");
    assert.equal(again, first);
    assert.equal(concurrent, first);
    // The first sample of a process has no interval to compute CPU over: unavailable, not 0.
    assert.equal(first.servers[0]?.cpuPercent, null);
    await sleep(550);
    const later = await metrics.snapshot();
    assert.equal(metrics.sampleCount, 2);
    assert.ok(later.servers[0]?.cpuPercent !== null);
  });

  it("samples only running or unhealthy servers with a pid", async () => {
    const metrics = service({
      servers: () => [
        serverInfo("running", idle.pid),
        serverInfo("unhealthy", busy.pid, { state: "unhealthy" }),
        serverInfo("starting", idle.pid, { state: "starting" }),
        serverInfo("stopped", undefined, { state: "stopped" }),
        serverInfo("no-pid", undefined),
      ],
      platform: "linux",
    });
    const snapshot = await metrics.snapshot();
    assert.deepEqual(snapshot.servers.map((s) => s.profileId).sort(), ["running", "unhealthy"]);
  });

  it("reports a server whose process is gone without figures, not with zeros", async () => {
    const gone = await startNode(IDLE_SCRIPT);
    const pid = gone.pid;
    await stopNode(gone);
    const metrics = service({ servers: () => [serverInfo("gone", pid)], platform: "linux" });
    const reported = (await metrics.snapshot()).servers[0];
    assert.ok(reported);
    assert.equal(reported.memoryBytes, null);
    assert.equal(reported.memorySource, null);
    assert.equal(reported.cpuPercent, null);
  });

  it("passes the gateway's request figures through and keeps a tokens/s sparkline", async () => {
    let minute = 30;
    const requests: RequestStatsSource = {
      stats: (profileId) =>
        profileId === "idle"
          ? { requests: 5, tokensPerSecLast: 42.5, tokensPerSecMinute: minute, ttftP50Ms: 120 }
          : undefined,
    };
    const metrics = service({
      servers: () => [serverInfo("idle", idle.pid), serverInfo("quiet", busy.pid)],
      requests,
      platform: "linux",
      intervalMs: 30,
    });
    const first = await metrics.snapshot();
    await sleep(40);
    minute = 35;
    const second = await metrics.snapshot();
    const served = second.servers.find((s) => s.profileId === "idle");
    const quiet = second.servers.find((s) => s.profileId === "quiet");
    assert.ok(served && quiet && first.servers.length === 2);
    assert.equal(served.requests, 5);
    assert.equal(served.tokensPerSecLast, 42.5);
    assert.equal(served.tokensPerSecMinute, 35);
    assert.equal(served.ttftP50Ms, 120);
    assert.deepEqual(
      served.history.tokensPerSec.map(([, v]) => v),
      [30, 35],
    );
    assert.equal(quiet.requests, 0);
    assert.equal(quiet.tokensPerSecLast, null);
    assert.equal(quiet.tokensPerSecMinute, null);
    assert.equal(quiet.ttftP50Ms, null);
    assert.deepEqual(quiet.history.tokensPerSec, []);
  });

  it("computes uptime from the server's start time", async () => {
    const startedAt = 1_700_000_000_000;
    const metrics = service({
      servers: () => [serverInfo("idle", idle.pid, { startedAt })],
      platform: "linux",
      now: () => startedAt + 90_500,
    });
    const snapshot = await metrics.snapshot();
    assert.equal(snapshot.servers[0]?.uptimeSeconds, 90.5);
    assert.equal(snapshot.sampledAt, startedAt + 90_500);
  });

  it("bounds every history and forgets servers that stopped", async () => {
    let servers = [serverInfo("idle", idle.pid), serverInfo("busy", busy.pid)];
    const metrics = service({ servers: () => servers, platform: "linux", intervalMs: 20, historyPoints: 3 });
    const unwatch = metrics.watch();
    try {
      await waitFor(() => metrics.sampleCount >= 6, 3_000, "six samples");
      let snapshot = await metrics.snapshot();
      assert.equal(snapshot.system.history.memoryUsedBytes.length, 3);
      for (const s of snapshot.servers) {
        assert.ok(s.history.memoryBytes.length <= 3);
        assert.ok(s.history.cpuPercent.length <= 3);
      }
      servers = [serverInfo("idle", idle.pid)];
      const count = metrics.sampleCount;
      await waitFor(() => metrics.sampleCount > count + 1, 3_000, "a sample without the busy server");
      const without = await metrics.snapshot();
      assert.equal(without.servers.some((s) => s.profileId === "busy"), false, "a stopped server is forgotten");
      servers = [serverInfo("idle", idle.pid), serverInfo("busy", busy.pid)];
      const again = metrics.sampleCount;
      await waitFor(() => metrics.sampleCount > again + 1, 3_000, "a sample with it back");
      snapshot = await metrics.snapshot();
      const busyMetrics = snapshot.servers.find((s) => s.profileId === "busy");
      assert.ok(busyMetrics);
      // Afresh: no point from before it was forgotten (counting points would race the sampler).
      assert.ok(busyMetrics.history.memoryBytes.length > 0);
      assert.ok(busyMetrics.history.memoryBytes.every(([t]) => t > without.sampledAt), "history started afresh");
    } finally {
      unwatch();
    }
  });

  it("calls onSample listeners with each sample until they unsubscribe", async () => {
    const metrics = service({ servers: () => [], platform: "linux", intervalMs: 20 });
    const seen: number[] = [];
    const unsubscribe = metrics.onSample((s) => seen.push(s.sampler.samples));
    metrics.onSample(() => {
      throw new Error("a broken listener does not stop the others");
    });
    const unwatch = metrics.watch();
    await waitFor(() => seen.length >= 3, 3_000, "three notifications");
    unsubscribe();
    const count = seen.length;
    await sleep(100);
    unwatch();
    assert.equal(seen.length, count);
    assert.deepEqual(seen.slice(0, 3), [1, 2, 3]);
  });

  it("measures its own CPU cost", async () => {
    const metrics = service({
      servers: () => [serverInfo("idle", idle.pid)],
      platform: "linux",
      intervalMs: 2_000,
    });
    const snapshot = await metrics.snapshot();
    assert.equal(snapshot.sampler.samples, 1);
    assert.equal(snapshot.sampler.intervalMs, 2_000);
    assert.ok(snapshot.sampler.lastCpuMs >= 0);
    assert.ok(snapshot.sampler.cpuPercentOfInterval >= 0 && snapshot.sampler.cpuPercentOfInterval < 50);
  });

  describe("system strip", () => {
    it("on Linux: total and used memory from the OS; GPU and pressure unavailable (null), never 0", async () => {
      const metrics = service({ servers: () => [], platform: "linux" });
      const { system } = await metrics.snapshot();
      assert.equal(system.platform, "linux");
      assert.equal(system.memoryTotalBytes, os.totalmem());
      assert.ok(system.memoryUsedBytes > 0 && system.memoryUsedBytes < system.memoryTotalBytes);
      assert.equal(system.memorySource, "os");
      assert.equal(system.gpuUtilizationPercent, null);
      assert.equal(system.memoryFreePercent, null);
      assert.deepEqual(system.history.gpuUtilizationPercent, []);
    });

    it("on macOS: memory from sysctl + vm_stat, pressure from memory_pressure, GPU from ioreg, server memory from footprint", async () => {
      const run = macosRunner();
      const metrics = service({
        servers: () => [serverInfo("idle", idle.pid)],
        platform: "darwin",
        run,
        intervalMs: 30,
      });
      await metrics.snapshot();
      await sleep(40);
      const snapshot = await metrics.snapshot();
      MetricsSnapshotSchema.parse(snapshot);
      const { system } = snapshot;
      assert.equal(system.platform, "darwin");
      assert.equal(system.memoryTotalBytes, 68719476736);
      assert.equal(system.memoryUsedBytes, (850962 + 268246 + 44642) * 16384);
      assert.equal(system.memorySource, "vm_stat");
      assert.equal(system.memoryFreePercent, 70);
      assert.equal(system.gpuUtilizationPercent, 100);
      assert.deepEqual(
        system.history.gpuUtilizationPercent.map(([, v]) => v),
        [100, 100],
      );

      const server = snapshot.servers[0];
      assert.ok(server);
      assert.equal(server.memoryBytes, 142 * 1024 * 1024, "phys_footprint, not the RSS pidusage reports");
      assert.equal(server.memorySource, "phys_footprint");

      // Argument arrays, and the machine's memory size read once.
      assert.deepEqual(
        run.calls.filter(([cmd]) => cmd === "sysctl"),
        [["sysctl", "-n", "hw.memsize"]],
      );
      assert.deepEqual(
        run.calls.find(([cmd]) => cmd === "ioreg"),
        ["ioreg", "-r", "-d", "1", "-w", "0", "-c", "IOAccelerator"],
      );
      assert.deepEqual(
        run.calls.find(([cmd]) => cmd === "footprint"),
        ["footprint", "-p", String(idle.pid)],
      );
      assert.equal(run.calls.filter(([cmd]) => cmd === "vmmap").length, 0);
    });

    it("on macOS: falls back to vmmap when footprint fails, then to RSS when both do", async () => {
      const failing = (): string => {
        throw new Error("footprint: permission denied");
      };
      const vmmap = service({
        servers: () => [serverInfo("idle", idle.pid)],
        platform: "darwin",
        run: macosRunner({ footprint: failing }),
      });
      const viaVmmap = (await vmmap.snapshot()).servers[0];
      assert.ok(viaVmmap);
      assert.equal(viaVmmap.memoryBytes, Math.round(244.5 * 1024 * 1024));
      assert.equal(viaVmmap.memorySource, "phys_footprint");

      const rss = service({
        servers: () => [serverInfo("idle", idle.pid)],
        platform: "darwin",
        run: macosRunner({ footprint: failing, vmmap: failing }),
      });
      const viaRss = (await rss.snapshot()).servers[0];
      assert.ok(viaRss);
      assert.equal(viaRss.memorySource, "rss");
      assert.ok((viaRss.memoryBytes ?? 0) > 0);
    });

    it("on macOS: a tool that fails makes its figure unavailable, never 0", async () => {
      const failing = (): string => {
        throw new Error("not found");
      };
      const metrics = service({
        servers: () => [],
        platform: "darwin",
        run: macosRunner({ ioreg: failing, memory_pressure: failing, vm_stat: failing, sysctl: failing }),
      });
      const { system } = await metrics.snapshot();
      assert.equal(system.gpuUtilizationPercent, null);
      assert.equal(system.memoryFreePercent, null);
      assert.equal(system.memorySource, "os");
      assert.equal(system.memoryTotalBytes, os.totalmem());
    });
  });
});
