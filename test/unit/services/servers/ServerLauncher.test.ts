// Launching a real process from an engine description: the checks, the detached spawn, its log, its entry.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { ApiError } from "../../../../src/services/api/ApiError";
import { ENGINES, type EngineDescription } from "../../../../src/services/engines/registry";
import { MemoryLogger } from "../../../../src/services/logging/Logger";
import { processStartTime } from "../../../../src/services/process/processInfo";
import { groupAlive, signalGroup } from "../../../../src/services/servers/processes";
import { ServerLauncher, spawnedEntry } from "../../../../src/services/servers/ServerLauncher";
import { ServerLogFiles } from "../../../../src/services/servers/ServerLogFiles";
import { DEFAULT_SETTINGS } from "../../../../src/services/servers/SupervisorSettings";
import type { Profile } from "../../../../src/shared/profiles";
import { makeTempDir, mlxRepoFiles, removeTempDir } from "../../../helpers/hfCache";
import { killGroups, waitFor } from "../../../helpers/servers";
import { writeTinyGguf } from "../../../helpers/tinyGguf";

/** A llama-server description whose command is a Node script that prints a line and stays up. */
const printingEngine: EngineDescription = {
  ...ENGINES["llama-server"],
  buildCommand: (ctx, executable) => ({
    command: executable,
    args: [
      "-e",
      "console.log('engine up, ' + process.env.GREETING); setInterval(() => {}, 1000)",
      "--",
      "--port",
      String(ctx.port),
    ],
  }),
};

describe("ServerLauncher (real processes)", function () {
  this.timeout(20_000);
  let root: string;
  let gguf: string;
  let logs: ServerLogFiles;
  let logger: MemoryLogger;
  const pids: number[] = [];

  beforeEach(async () => {
    root = makeTempDir("launcher-");
    gguf = (await writeTinyGguf(path.join(root, "tiny.gguf"))).path;
    logger = new MemoryLogger();
    logs = new ServerLogFiles({
      dir: path.join(root, "logs"),
      settings: DEFAULT_SETTINGS,
      logger,
      now: Date.now,
    });
  });

  afterEach(() => {
    killGroups(pids);
    pids.length = 0;
    removeTempDir(root);
  });

  function launcher(freeMemory?: () => number): ServerLauncher {
    return new ServerLauncher({
      catalog: { list: () => [] },
      logs,
      logger,
      cwd: root,
      env: { ...process.env, GREETING: "from the manager" },
      executables: { "llama-server": process.execPath },
      freeMemory,
    });
  }

  function profile(modelPath: string, env: Record<string, string> = {}): Profile {
    return {
      id: "0f0e0d0c-0000-4000-8000-000000000001",
      name: "tiny",
      engine: "llama-server",
      model: { source: "path", path: modelPath },
      port: "auto",
      options: { env },
      restartOnCrash: false,
      idleTimeoutSec: 0,
    pinned: false,
    group: null,
      createdAt: 0,
      updatedAt: 0,
      version: 1,
    };
  }

  it("spawns the engine in its own process group, its output going straight to the log after the manager's banner", async () => {
    const p = profile(gguf, { GREETING: "from the profile" });
    const l = launcher(() => 1024);
    const prepared = l.prepare(p, printingEngine);
    assert.equal(prepared.located.executable, process.execPath);
    assert.equal(prepared.model.format, "gguf");
    const logFile = logs.fileFor(p, [p]);
    const spawned = await l.spawn({ ...prepared, profile: p, port: 45_678, logFile });
    pids.push(spawned.pid);

    assert.ok(groupAlive(spawned.pid), "the engine leads a process group of its own");
    assert.equal(spawned.child.stdout, null, "its output is not piped through the manager");
    assert.equal(spawned.processStart, processStartTime(spawned.pid));
    assert.equal(
      spawned.upstreamModel,
      "tiny",
      "the description's requestModel: llama-server answers to its alias",
    );
    assert.deepEqual(spawned.command.slice(0, 2), [process.execPath, "-e"]);
    assert.match(spawned.warnings.join("\n"), /The model may not fit in memory/);

    const lines = await waitFor(
      () => {
        const text = fs.existsSync(logFile) ? fs.readFileSync(logFile, "utf8").trim().split("\n") : [];
        return text.length >= 2 ? text : undefined;
      },
      10_000,
      "the engine's line in its log",
    );
    assert.equal(path.basename(logFile), "tiny.log");
    assert.match(
      lines[0]!,
      /^=== \d{4}-\d\d-\d\dT[\d:.]+Z mlx-manager: starting "tiny" on port 45678: \S+ -e 'console\.log\(.*\)' -- --port 45678$/,
    );
    assert.equal(lines[1], "engine up, from the profile", "the profile's env wins over the manager's");

    const entry = spawnedEntry(spawned, {
      profile: p,
      engine: printingEngine,
      port: 45_678,
      logFile,
      launchId: 7,
      startedAt: 1000,
      carried: { crashes: [500], info: { restarts: 1 } },
    });
    assert.equal(entry.info.state, "starting");
    assert.equal(entry.info.upstreamUrl, "http://127.0.0.1:45678");
    assert.deepEqual([entry.info.restarts, entry.crashes, entry.launch], [1, [500], 7]);
    signalGroup(spawned.pid, "SIGKILL");
    await entry.exited;
    assert.deepEqual(
      entry.exit,
      { code: null, signal: "SIGKILL" },
      "the entry records how its process ended",
    );
  });

  it("says the engine is missing when its command cannot be run", async () => {
    const p = profile(gguf);
    const missing: EngineDescription = {
      ...printingEngine,
      buildCommand: () => ({ command: path.join(root, "no-such-engine"), args: [] }),
    };
    const l = launcher();
    const error = await l
      .spawn({ ...l.prepare(p, missing), profile: p, port: 45_679, logFile: logs.fileFor(p, [p]) })
      .then(
        () => assert.fail("the spawn should fail"),
        (e: unknown) => e,
      );
    assert.ok(error instanceof ApiError);
    assert.equal(error.code, "engine_missing");
    assert.match(
      error.message,
      /^Could not run .*no-such-engine \(ENOENT\)\. Check that llama-server \(llama\.cpp\) is installed/,
    );
  });

  it("refuses a model the engine does not serve, before anything runs", () => {
    const mlxDir = path.join(root, "mlx");
    fs.mkdirSync(mlxDir);
    for (const [file, content] of Object.entries(
      mlxRepoFiles({ repoId: "x/y", quantization: { bits: 4, groupSize: 64 } }),
    ))
      fs.writeFileSync(path.join(mlxDir, file), content);
    assert.throws(
      () => launcher().prepare(profile(mlxDir), printingEngine),
      (error: unknown) =>
        error instanceof ApiError &&
        error.code === "model_format_mismatch" &&
        error.field === "engine" &&
        /serves gguf models, but the model of "tiny" is mlx/.test(error.message),
    );
  });
});
