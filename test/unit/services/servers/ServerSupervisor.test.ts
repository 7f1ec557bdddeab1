// The supervisor class in-process, with real engine processes and short timings: idle stop and
// just-in-time start, shared starts, crash loops, health, start timeouts, deleted profiles.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { ApiError } from "../../../../src/services/api/ApiError";
import { ENGINES } from "../../../../src/services/engines/registry";
import { EventBus } from "../../../../src/services/events/EventBus";
import { MemoryLogger } from "../../../../src/services/logging/Logger";
import { ProfileService } from "../../../../src/services/profiles/ProfileService";
import { ServerRecords } from "../../../../src/services/servers/ServerRecords";
import { ServerSupervisor, type SupervisorSettings } from "../../../../src/services/servers/ServerSupervisor";
import { Store } from "../../../../src/services/store/Store";
import type { SequencedEvent } from "../../../../src/shared/events";
import type { ServerInfo, ServerState } from "../../../../src/shared/servers";
import { makeTempDir, mlxRepoFiles, removeTempDir } from "../../../helpers/hfCache";
import { engineBundle, ensureLlamaEngineBuilt } from "../../../helpers/llamaEngine";
import { killGroups, pidRunning, pidsWithCommandLine, waitFor } from "../../../helpers/servers";
import { installStandins } from "../../../helpers/standins";
import { writeTinyGguf } from "../../../helpers/tinyGguf";

describe("ServerSupervisor (real processes)", function () {
  this.timeout(40_000);
  let root: string;
  let gguf: string;
  let store: Store;
  let events: EventBus;
  let seen: SequencedEvent[];
  let profiles: ProfileService;
  let logger: MemoryLogger;
  let supervisor: ServerSupervisor | undefined;
  const spawned = new Set<number>();

  before(async () => {
    await ensureLlamaEngineBuilt();
  });

  beforeEach(async () => {
    root = makeTempDir("supervisor-");
    gguf = (await writeTinyGguf(path.join(root, "tiny.gguf"))).path;
    store = (await Store.open({ dir: path.join(root, "data"), logger: new MemoryLogger() })).store;
    events = new EventBus();
    seen = [];
    events.subscribe((event) => seen.push(event));
    profiles = new ProfileService({ store, catalog: { list: () => [] }, events, engines: ENGINES });
    logger = new MemoryLogger();
  });

  afterEach(async () => {
    await supervisor?.close({ stopServers: true });
    supervisor = undefined;
    for (const s of seen)
      if (s.type === "server.changed" && s.data.pid !== undefined) spawned.add(s.data.pid);
    killGroups(spawned);
    spawned.clear();
    store.close();
    removeTempDir(root);
  });

  async function makeSupervisor(
    settings: Partial<SupervisorSettings>,
    env: NodeJS.ProcessEnv = process.env,
    freeMemory?: () => number,
  ): Promise<ServerSupervisor> {
    supervisor = new ServerSupervisor({
      profiles,
      catalog: { list: () => [] },
      events,
      logger,
      records: new ServerRecords(store),
      engines: ENGINES,
      logDir: path.join(root, "logs"),
      llamaScript: engineBundle,
      env,
      settings,
      ...(freeMemory ? { freeMemory } : {}),
    });
    await supervisor.init();
    return supervisor;
  }

  function llama(name: string, extra: Record<string, unknown> = {}): string {
    return profiles.create({
      name,
      engine: "llama",
      model: { source: "path", path: gguf },
      options: { threads: 1, contextLength: 256 },
      ...extra,
    }).id;
  }

  function states(profileId: string): ServerState[] {
    return seen.flatMap((e) =>
      e.type === "server.changed" && e.data.profileId === profileId ? [e.data.state] : [],
    );
  }

  function lastInfo(profileId: string): ServerInfo | undefined {
    const hits = seen.flatMap((e) =>
      e.type === "server.changed" && e.data.profileId === profileId ? [e.data] : [],
    );
    return hits.at(-1);
  }

  it("stops an idle server, and ensureRunning starts it again just in time", async () => {
    const s = await makeSupervisor({ livenessIntervalMs: 100 });
    const id = llama("sleepy", { idleTimeoutSec: 1 });
    const first = await s.start(id);
    // Activity keeps it up past its idle timeout.
    for (let i = 0; i < 6; i++) {
      await new Promise((r) => setTimeout(r, 250));
      s.noteActivity(id);
    }
    assert.equal(s.get(id)?.state, "running", "noted activity postpones the idle stop");
    const stopped = await waitFor(
      () => (s.get(id)?.state === "stopped" ? s.get(id) : undefined),
      3000,
      "the idle stop",
    );
    assert.equal(stopped.stopReason, "idle");
    assert.equal(pidRunning(first.pid!), false);

    const again = await s.ensureRunning(id, AbortSignal.timeout(20_000));
    assert.equal(again.state, "running");
    assert.notEqual(again.pid, first.pid);
    assert.deepEqual(states(id), ["starting", "running", "stopping", "stopped", "starting", "running"]);
  });

  it("shares one start among concurrent start and ensureRunning calls (and warns, without refusing, when memory looks short)", async () => {
    const s = await makeSupervisor({}, process.env, () => 1024);
    const id = llama("shared");
    const results = await Promise.all([
      s.ensureRunning(id, AbortSignal.timeout(20_000)),
      s.start("shared"),
      s.ensureRunning(id, AbortSignal.timeout(20_000)),
      s.start(id),
    ]);
    assert.equal(new Set(results.map((r) => r.pid)).size, 1);
    assert.deepEqual(pidsWithCommandLine("--alias shared"), [results[0].pid]);
    assert.equal(states(id).filter((st) => st === "starting").length, 1);
    assert.equal(results[0].state, "running");
    assert.match(results[0].warnings.join("\n"), /The model may not fit in memory: it needs about \d+ MB \(.* engine\) and 1 MB is free/);
  });

  it("leaves an edited profile's server running, and ends a crash loop in failed after N restarts", async () => {
    const s = await makeSupervisor({ restartBackoffMs: 50, maxRestarts: 2, restartWindowMs: 60_000 });
    const id = llama("loopy", { restartOnCrash: true });
    const first = await s.start(id);
    // From now on the engine cannot start: its node-llama-cpp folder is gone.
    const profile = profiles.get(id);
    profiles.update(id, {
      version: profile.version,
      options: { ...profile.options, env: { MLX_LLAMA_MODULE_DIR: path.join(root, "nowhere") } },
    });
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(s.get(id)?.pid, first.pid, "an edit does not restart a running server");
    assert.equal(s.get(id)?.state, "running");

    process.kill(first.pid!, "SIGKILL");
    const final = await waitFor(
      () => {
        const info = lastInfo(id);
        return info?.state === "failed" && /not restarting/.test(info.failure?.message ?? "")
          ? info
          : undefined;
      },
      20_000,
      "the crash loop to end",
    );
    assert.match(
      final.failure!.message,
      /exited with code 2 while starting\. It crashed 3 times in 1 minute; not restarting \(at most 2 restarts in 1 minute\)/,
    );
    assert.ok(
      final.failure!.logTail.some((l) => l.includes("node-llama-cpp is not installed")),
      final.failure!.logTail.join("\n"),
    );
    assert.equal(final.restarts, 2);
    const crashMessages = seen.flatMap((e) =>
      e.type === "server.changed" && e.data.profileId === id && e.data.state === "failed"
        ? [e.data.failure?.message ?? ""]
        : [],
    );
    assert.ok(
      crashMessages.some((m) => /killed by SIGKILL\. Restarting in 50 ms \(restart 1 of at most 2/.test(m)),
      crashMessages.join("\n"),
    );
    assert.ok(
      crashMessages.some((m) => /Restarting in 100 ms \(restart 2 of at most 2/.test(m)),
      "the back-off doubles",
    );
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(lastInfo(id)?.state, "failed", "no restart after giving up");
  });

  it("marks a server that stops answering unhealthy, recovers it, and restarts it when it stays unhealthy (SIGKILL after the grace period)", async () => {
    const s = await makeSupervisor({
      healthIntervalMs: 150,
      healthTimeoutMs: 250,
      unhealthyAfterFailures: 2,
      unhealthyRestartMs: 1000,
      stopGraceMs: 400,
      restartBackoffMs: 100,
    });
    const id = llama("frozen", { restartOnCrash: true });
    const first = await s.start(id);
    process.kill(first.pid!, "SIGSTOP");
    await waitFor(() => s.get(id)?.state === "unhealthy", 3000, "unhealthy");
    assert.match(
      s.get(id)!.failure!.message,
      /Health check failed 2 times in a row: no answer within 250 ms/,
    );
    process.kill(first.pid!, "SIGCONT");
    await waitFor(() => s.get(id)?.state === "running", 3000, "healthy again");

    process.kill(first.pid!, "SIGSTOP");
    const restarted = await waitFor(
      () => {
        const info = s.get(id);
        return info?.state === "running" && info.pid !== first.pid ? info : undefined;
      },
      15_000,
      "the restart of the frozen server",
    );
    assert.equal(pidRunning(first.pid!), false);
    assert.equal(restarted.restarts, 1);
    assert.ok(logger.lines.some((l) => l.message === "server ignored SIGTERM; sending SIGKILL"));
    assert.ok(
      seen.some(
        (e) =>
          e.type === "server.changed" &&
          e.data.profileId === id &&
          e.data.state === "failed" &&
          /was unhealthy for/.test(e.data.failure?.message ?? ""),
      ),
    );
  });

  it("fails a start that never gets healthy, killing the whole process group, and reports the log tail", async () => {
    const bin = path.join(root, "bin");
    const standins = await installStandins(bin, { gguf, loadDelayMs: 60_000 });
    const mlxDir = path.join(root, "mlx-model");
    fs.mkdirSync(mlxDir);
    for (const [file, content] of Object.entries(
      mlxRepoFiles({ repoId: "x/y", quantization: { bits: 4, groupSize: 64 } }),
    ))
      fs.writeFileSync(path.join(mlxDir, file), content);
    const s = await makeSupervisor({ startTimeoutMs: 3000 }, { ...process.env, ...standins.env });
    const id = profiles.create({
      name: "never-ready",
      engine: "mlx-openai-server",
      model: { source: "path", path: mlxDir },
    }).id;
    const error = await s.start(id).then(
      () => assert.fail("the start should fail"),
      (e: unknown) => e,
    );
    assert.ok(error instanceof ApiError);
    assert.equal(error.status, 504);
    assert.match(error.message, /never-ready did not answer \/health within 3 seconds; it was stopped\./);
    const info = s.get(id)!;
    assert.equal(info.state, "failed");
    assert.ok(info.failure!.logTail.length > 0);
    // It does not listen while its model loads: uvicorn waited for startup and never said it runs.
    const log = fs.readFileSync(info.logFile, "utf8");
    assert.ok(log.includes("Waiting for application startup.") && !log.includes("Uvicorn running on"), log);
    assert.deepEqual(pidsWithCommandLine(`--port ${info.port}`), [], "the stand-in is gone");
    assert.equal(s.upstreamModel(id), "never-ready", "mlx-openai-server is sent the --served-model-name it was started with");
    assert.deepEqual(pidsWithCommandLine(standins.env["STANDIN_GGUF"]!), [], "and so is its llama child");
  });

  it("stops the server of a deleted profile and announces its removal", async () => {
    const s = await makeSupervisor({});
    const id = llama("doomed");
    const info = await s.start(id);
    profiles.delete(id);
    await waitFor(
      () => seen.some((e) => e.type === "server.removed" && e.data.profileId === id),
      10_000,
      "server.removed",
    );
    assert.equal(pidRunning(info.pid!), false);
    assert.equal(s.get(id), undefined);
    assert.deepEqual(states(id).slice(-2), ["stopping", "stopped"]);
  });

  it("re-adopts what an earlier supervisor left running, and stops an orphan whose profile is gone", async () => {
    const s = await makeSupervisor({});
    const keep = llama("keep");
    const orphan = llama("orphan");
    const [kept, orphaned] = await Promise.all([s.start(keep), s.start(orphan)]);
    await s.close({ stopServers: false });
    supervisor = undefined;
    assert.ok(pidRunning(kept.pid!) && pidRunning(orphaned.pid!));
    // The profile goes while no supervisor runs (no event reaches anyone).
    store.run("DELETE FROM profiles WHERE id = ?", [orphan]);

    const next = await makeSupervisor({});
    assert.deepEqual(
      next.list().map((i) => [i.profileName, i.state, i.pid, i.adopted]),
      [["keep", "running", kept.pid, true]],
    );
    await waitFor(() => !pidRunning(orphaned.pid!), 8000, "the orphan to be stopped");
    assert.equal(next.upstreamModel(keep), "keep", "the alias, remembered from the record");
    await next.stop("keep");
    assert.equal(pidRunning(kept.pid!), false);
  });
});
