// The supervisor through the real manager process and its HTTP API, with real engine processes:
// the built-in llama engine on a tiny GGUF, and the MLX stand-ins on an MLX-shaped cache repo.
import assert from "node:assert/strict";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { ManagerClient } from "../../src/client/ManagerClient";
import type { ModelList } from "../../src/shared/api";
import type { Profile } from "../../src/shared/profiles";
import type { ServerInfo, ServerList, ServerLogTail } from "../../src/shared/servers";
import { removeTempDir } from "../helpers/hfCache";
import { httpRequest } from "../helpers/llamaEngine";
import { postSse } from "../helpers/llamaSse";
import { MANAGER_JS, runCli, startManager, type RunningManager } from "../helpers/manager";
import {
  EventRecorder,
  GGUF_REPO,
  MLX_REPO,
  groupMembers,
  killGroups,
  makeServerFixture,
  pidRunning,
  pidsWithCommandLine,
  portClosed,
  waitFor,
  type ServerFixture,
} from "../helpers/servers";

interface ErrorBody {
  error: { code: string; message: string; field?: string; details?: Record<string, unknown> };
}

describe("servers through the manager (real processes)", function () {
  this.timeout(60_000);
  let fixture: ServerFixture;
  let manager: RunningManager;
  let client: ManagerClient;
  let events: EventRecorder;
  const spawned = new Set<number>();

  const llamaProfile = (name: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    name,
    engine: "llama",
    model: { source: "cache", repoId: GGUF_REPO },
    options: { threads: 1, contextLength: 512 },
    ...extra,
  });

  async function createProfile(input: Record<string, unknown>): Promise<Profile> {
    const res = await manager.api("POST", "/api/profiles", input);
    assert.equal(res.status, 201, res.text);
    return res.json as Profile;
  }

  async function start(name: string): Promise<ServerInfo> {
    const res = await manager.api("POST", `/api/servers/${encodeURIComponent(name)}/start`);
    assert.equal(res.status, 200, res.text);
    const info = res.json as ServerInfo;
    if (info.pid !== undefined) spawned.add(info.pid);
    // The answer may overtake its event on the SSE stream: let later "since" marks start after it.
    await waitFor(
      () => events.serverStates(info.profileId).some((s) => s.pid === info.pid && s.state === "running"),
      2000,
      "the running event",
    );
    return info;
  }

  before(async () => {
    fixture = await makeServerFixture("mlx-servers-");
    manager = await startManager({ dataDir: fixture.dataDir, hfCache: fixture.hfCache, env: fixture.env });
    client = new ManagerClient({ url: manager.url, token: manager.token });
    events = await EventRecorder.start(manager.url, manager.token);
  });

  after(async () => {
    events.stop();
    await manager.api("POST", "/api/servers/stop-all").catch(() => undefined);
    await manager.stop();
    killGroups(spawned);
    removeTempDir(fixture.root);
  });

  it("starts a llama profile (starting → running, as events), serves chat on its port, and stops with the port freed", async () => {
    const profile = await createProfile(llamaProfile("tiny"));
    const since = events.events.length;
    const t0 = performance.now();
    const info = await start("tiny");
    const wallMs = performance.now() - t0;
    assert.equal(info.state, "running");
    assert.equal(info.profileId, profile.id);
    assert.equal(info.adopted, false);
    assert.ok(info.pid !== undefined && pidRunning(info.pid));
    assert.match(info.upstreamUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
    const snapshots = path.join(fixture.hfCache, "models--test--tiny-gguf", "snapshots");
    const gguf = path.join(snapshots, fs.readdirSync(snapshots)[0]!, "tiny-F32.gguf");
    assert.deepEqual(info.command.slice(0, 4), [
      process.execPath,
      path.join(path.dirname(MANAGER_JS), "llama-engine.js"),
      "--model",
      gguf,
    ]);
    assert.ok(
      info.command.includes("--alias") && info.command.includes("tiny"),
      "the alias is the profile name",
    );
    console.log(
      `      llama engine start to ready through the supervisor: ${info.readyAt! - info.startedAt!} ms (API call ${Math.round(wallMs)} ms)`,
    );

    await events.waitForState(profile.id, "running", 2000, since);
    assert.deepEqual(
      events.serverStates(profile.id).map((s) => s.state),
      ["starting", "running"],
    );

    const chat = await httpRequest(`${info.upstreamUrl}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "tiny",
        messages: [{ role: "user", content: "Hello" }],
        max_tokens: 8,
        seed: 1,
      }),
    });
    assert.equal(chat.status, 200, chat.body);
    const completion = JSON.parse(chat.body) as {
      model: string;
      choices: { message: { content: string } }[];
      usage: { completion_tokens: number };
    };
    assert.equal(completion.model, "tiny");
    assert.ok(completion.choices[0]!.message.content.length > 0);

    const list = (await manager.api("GET", "/api/servers")).json as ServerList;
    assert.deepEqual(
      list.servers.map((s) => [s.profileName, s.state]),
      [["tiny", "running"]],
    );
    const tail = (await manager.api("GET", "/api/servers/tiny/logs?lines=50")).json as ServerLogTail;
    assert.equal(tail.file, path.join(fixture.dataDir, "logs", "servers", "tiny.log"));
    assert.ok(
      tail.lines.some((l) => l.includes("mlx-manager: starting")),
      tail.lines.join("\n"),
    );
    assert.ok(
      tail.lines.some((l) => /ready in \d+ms/.test(l)),
      "the engine's own output is in the log",
    );

    const stopSince = events.events.length;
    const stopped = (await manager.api("POST", "/api/servers/tiny/stop")).json as ServerInfo;
    assert.equal(stopped.state, "stopped");
    assert.equal(stopped.stopReason, "user");
    assert.equal(pidRunning(info.pid), false, "the engine process is gone");
    assert.ok(await portClosed(info.port), "the port is free");
    await events.waitForState(profile.id, "stopped", 2000, stopSince);
    assert.deepEqual(
      events
        .serverStates(profile.id)
        .slice(-2)
        .map((s) => s.state),
      ["stopping", "stopped"],
    );
  });

  it("reports a missing engine with the command that installs it, before spawning anything", async () => {
    await createProfile({
      name: "needs-llama-server",
      engine: "llama-server",
      model: { source: "cache", repoId: GGUF_REPO },
    });
    const res = await manager.api("POST", "/api/servers/needs-llama-server/start");
    assert.equal(res.status, 400);
    const body = res.json as ErrorBody;
    assert.equal(body.error.code, "engine_missing");
    assert.match(body.error.message, /not installed.*brew install llama\.cpp/);
    assert.equal(
      body.error.details?.["installHint"],
      "brew install llama.cpp (macOS) or build llama.cpp and put llama-server on PATH",
    );
    assert.equal(
      (await manager.api("GET", "/api/servers/needs-llama-server")).status,
      404,
      "no server was created",
    );
  });

  it("refuses a port in use, names the process holding it and offers the next free port", async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
    const port = (holder.address() as net.AddressInfo).port;
    try {
      await createProfile(llamaProfile("fixed-port", { port }));
      const res = await manager.api("POST", "/api/servers/fixed-port/start");
      assert.equal(res.status, 409, res.text);
      const body = res.json as ErrorBody;
      assert.equal(body.error.code, "port_in_use");
      assert.equal(body.error.field, "port");
      assert.match(body.error.message, new RegExp(`Port ${port} .* in use by pid ${process.pid} \\(`));
      const details = body.error.details as {
        port: number;
        suggestedPort: number;
        holder: { pid: number; command: string };
      };
      assert.equal(details.holder.pid, process.pid, "the test process holds it");
      assert.match(details.holder.command, /node|mocha/);
      assert.ok(details.suggestedPort > port);
      assert.ok(await portClosed(details.suggestedPort), "the suggested port is free");
    } finally {
      holder.close();
    }
  });

  it("explains a bad profile or a model that is gone", async () => {
    const missing = await manager.api("POST", "/api/servers/no-such-profile/start");
    assert.equal(missing.status, 404);
    assert.equal((missing.json as ErrorBody).error.code, "not_found");

    const file = path.join(fixture.root, "loose.gguf");
    fs.copyFileSync(fixture.gguf, file);
    await createProfile({ name: "loose", engine: "llama", model: { source: "path", path: file } });
    fs.rmSync(file);
    const gone = await manager.api("POST", "/api/servers/loose/start");
    assert.equal(gone.status, 404);
    const body = gone.json as ErrorBody;
    assert.equal(body.error.code, "model_missing");
    assert.equal(body.error.field, "model.path");
    assert.match(body.error.message, /Nothing exists at .*loose\.gguf/);

    // An engine that dies while starting: the exit code and its last words come back.
    await createProfile(
      llamaProfile("broken", {
        options: { threads: 1, env: { MLX_LLAMA_MODULE_DIR: path.join(fixture.root, "nowhere") } },
      }),
    );
    const died = await manager.api("POST", "/api/servers/broken/start");
    assert.equal(died.status, 502, died.text);
    const error = (died.json as ErrorBody).error;
    assert.equal(error.code, "unavailable");
    assert.match(error.message, /broken exited with code 2 while starting\. See its log: .*broken\.log/);
    assert.equal(error.details?.["exitCode"], 2);
    assert.ok(
      (error.details["logTail"] as string[]).some((l) => l.includes("node-llama-cpp is not installed")),
    );
    assert.equal(((await manager.api("GET", "/api/servers/broken")).json as ServerInfo).state, "failed");
  });

  it("detects a crash within 2 s and reports the signal and the log tail", async () => {
    const profile = await createProfile(llamaProfile("crashy"));
    const info = await start("crashy");
    const since = events.events.length;
    const killedAt = Date.now();
    process.kill(info.pid!, "SIGKILL");
    const failed = await events.waitForState(profile.id, "failed", 2000, since);
    assert.ok(failed.at - killedAt < 2000, `detected after ${failed.at - killedAt} ms`);
    assert.equal(failed.info.signal, "SIGKILL");
    assert.equal(failed.info.exitCode, null);
    assert.match(failed.info.failure!.message, /crashy was killed by SIGKILL/);
    assert.ok(
      failed.info.failure!.logTail.some((l) => l.includes("ready in")),
      failed.info.failure!.logTail.join("\n"),
    );
    assert.equal(((await manager.api("GET", "/api/servers/crashy")).json as ServerInfo).state, "failed");
  });

  it("restarts a crashed server when the profile says so, after the back-off, on the same port", async () => {
    const profile = await createProfile(llamaProfile("phoenix", { restartOnCrash: true }));
    const first = await start("phoenix");
    const since = events.events.length;
    process.kill(first.pid!, "SIGKILL");
    const crashed = await events.waitForState(profile.id, "failed", 2000, since);
    assert.match(
      crashed.info.failure!.message,
      /phoenix was killed by SIGKILL\. Restarting in 1 second \(restart 1 of at most 5 in 10 minutes\)/,
    );
    const again = await events.waitForState(profile.id, "running", 15_000, since);
    spawned.add(again.info.pid!);
    assert.notEqual(again.info.pid, first.pid);
    assert.ok(pidRunning(again.info.pid!));
    assert.equal(again.info.restarts, 1);
    assert.equal(again.info.port, first.port, "a restart keeps the port");
    assert.ok(again.at - crashed.at >= 900, "waited for the back-off");
    assert.deepEqual(
      events
        .serverStates(profile.id)
        .slice(-3)
        .map((s) => s.state),
      ["failed", "starting", "running"],
    );
  });

  it("shares one start between concurrent requests: one process", async () => {
    await createProfile(llamaProfile("twin"));
    const [a, b] = await Promise.all([
      manager.api("POST", "/api/servers/twin/start"),
      client.startServer("twin"),
    ]);
    assert.equal(a.status, 200, a.text);
    const first = a.json as ServerInfo;
    spawned.add(first.pid!);
    assert.equal(b.pid, first.pid);
    assert.deepEqual(pidsWithCommandLine("--alias twin"), [first.pid]);
  });

  it("runs mlx_lm.server and mlx-openai-server (stand-ins) through the supervisor: strict command lines, readiness as each engine signals it, usage as each reports it", async () => {
    const models = (await manager.api("GET", "/api/models")).json as ModelList;
    const snapshot = models.models.find((m) => m.id === MLX_REPO)!.revisions[0]!.snapshotPath;
    await createProfile({
      name: "lm",
      engine: "mlx-lm",
      model: { source: "cache", repoId: MLX_REPO },
      options: { maxTokens: 64, temperature: 0.7, topP: 0.9 },
    });
    await createProfile({
      name: "oai",
      engine: "mlx-openai-server",
      model: { source: "cache", repoId: MLX_REPO },
      options: { contextLength: 2048, maxTokens: 64, seed: 3 },
    });
    const [lm, oai] = await Promise.all([start("lm"), start("oai")]);
    assert.equal(lm.command[0], fixture.standins.mlxLm, "found on PATH");
    assert.deepEqual(lm.command.slice(1, 7), [
      "--model",
      snapshot,
      "--host",
      "127.0.0.1",
      "--port",
      String(lm.port),
    ]);
    assert.equal(oai.command[0], fixture.standins.mlxOpenAiServer);
    assert.deepEqual(oai.command.slice(1, 9), [
      "launch",
      "--model-path",
      snapshot,
      "--model-type",
      "lm",
      "--served-model-name",
      "oai",
      "--host",
    ]);
    // mlx-openai-server listens only once its model is loaded: the supervisor's checks were refused
    // until then, so the first it logged is a 200, after uvicorn's start.
    const oaiLog = fs.readFileSync(oai.logFile, "utf8");
    assert.ok(!oaiLog.includes('"GET /health HTTP/1.1" 503'), oaiLog);
    assert.ok(oaiLog.indexOf('"GET /health HTTP/1.1" 200') > oaiLog.indexOf("Uvicorn running on"), oaiLog);
    // mlx_lm.server: /health is ok while it loads, so it was judged ready by a 1-token completion.
    assert.match(fs.readFileSync(lm.logFile, "utf8"), /"POST \/v1\/completions HTTP\/1\.1" 200/);

    const question = { messages: [{ role: "user", content: "Hi" }], max_tokens: 6, stream: true };
    // mlx_lm: the upstream model is the path it was started with; usage only when asked, as an extra chunk.
    const asked = await postSse(`${lm.upstreamUrl}/v1/chat/completions`, {
      ...question,
      model: snapshot,
      stream_options: { include_usage: true },
    });
    assert.equal(asked.status, 200);
    const chunks = asked.events
      .filter((e) => e !== "[DONE]")
      .map((e) => JSON.parse(e) as { choices: unknown[]; usage?: { completion_tokens: number } });
    const usageChunk = chunks.at(-1)!;
    assert.deepEqual(usageChunk.choices, []);
    assert.ok(usageChunk.usage!.completion_tokens > 0);
    assert.ok(chunks.slice(0, -1).every((c) => c.usage === undefined && c.choices.length > 0));
    const unasked = await postSse(`${lm.upstreamUrl}/v1/chat/completions`, { ...question, model: snapshot });
    assert.ok(
      unasked.events
        .filter((e) => e !== "[DONE]")
        .every((e) => (JSON.parse(e) as { choices: unknown[]; usage?: unknown }).usage === undefined),
    );
    const wrongModel = await httpRequest(`${lm.upstreamUrl}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ ...question, stream: false, model: "lm" }),
    });
    assert.equal(wrongModel.status, 404, "mlx_lm.server must be sent the model path");

    // mlx-openai-server: usage always on the last chunk, with finish_reason; no separate chunk.
    const oaiStream = await postSse(`${oai.upstreamUrl}/v1/chat/completions`, { ...question, model: "oai" });
    const oaiChunks = oaiStream.events
      .filter((e) => e !== "[DONE]")
      .map(
        (e) =>
          JSON.parse(e) as {
            choices: { finish_reason: string | null }[];
            usage?: { completion_tokens: number };
          },
      );
    const last = oaiChunks.at(-1)!;
    assert.ok(last.choices.length === 1 && last.choices[0]!.finish_reason !== null);
    assert.ok(last.usage!.completion_tokens > 0);
    assert.ok(
      oaiChunks.every((c) => c.choices.length > 0),
      "no choices: [] chunk",
    );
    assert.equal(oaiStream.events.at(-1), "[DONE]");

    const stopped = await Promise.all([client.stopServer("lm"), client.stopServer("oai")]);
    assert.deepEqual(
      stopped.map((s) => s.state),
      ["stopped", "stopped"],
    );
    for (const s of [lm, oai]) {
      assert.equal(pidRunning(s.pid!), false);
      assert.deepEqual(
        pidsWithCommandLine(`--port ${s.port}`),
        [],
        "the stand-in and its llama child are gone",
      );
    }
  });

  it("tails and follows a server's log over the API", async () => {
    await createProfile(llamaProfile("chatty"));
    const info = await start("chatty");
    const seen: string[] = [];
    const controller = new AbortController();
    const following = client.followServerLogs("chatty", (lines) => seen.push(...lines), controller.signal, 3);
    await waitFor(() => seen.length >= 3, 5000, "the initial tail");
    await httpRequest(`${info.upstreamUrl}/v1/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "chatty", prompt: "Once", max_tokens: 4 }),
    });
    await waitFor(() => seen.some((l) => l.includes("POST /v1/completions 200")), 5000, "the new log line");
    controller.abort();
    await following;
  });

  it("drives servers from the CLI, and stop-all leaves no process behind", async () => {
    const env = { MLX_MANAGER_URL: manager.url, MLX_MANAGER_TOKEN: manager.token };
    const started = await runCli(["start", "tiny"], env);
    assert.equal(started.code, 0, started.stderr);
    assert.match(
      started.stdout,
      /Started "tiny" \(llama\) on http:\/\/127\.0\.0\.1:\d+, pid \d+, ready in \d+\.\d s\./,
    );
    const ps = await runCli(["ps"], env);
    assert.match(ps.stdout, /^NAME\s+ENGINE\s+STATE\s+PORT\s+PID\s+UPTIME\s+MEMORY\s+QUEUE\s+WAIT P50\s+TTFT P50\s+MODEL$/m);
    // Started, not yet asked anything: its memory (measured or estimated), no queue or medians yet.
    assert.match(ps.stdout, /^tiny\s+llama\s+running\s+\d+\s+\d+\s+\d+s\s+\d+ MB( est\.)?\s+test\/tiny-gguf$/m);
    assert.match(ps.stdout, /^Memory budget: \d+ MB of [\d.]+ GB held \(all the memory this machine can give models\)\.$/m);
    const psJson = JSON.parse((await runCli(["ps", "--json"], env)).stdout) as ServerInfo[];
    for (const s of psJson) if (s.pid !== undefined) spawned.add(s.pid);
    const logs = await runCli(["logs", "tiny", "-n", "2"], env);
    assert.equal(logs.stdout.trim().split("\n").length, 2);
    const tinyBefore = psJson.find((s) => s.profileName === "tiny")!;
    const restarted = await runCli(["restart", "tiny"], env);
    assert.equal(restarted.code, 0, restarted.stderr);
    assert.match(
      restarted.stdout,
      new RegExp(`Restarted "tiny" \\(llama\\) on ${tinyBefore.upstreamUrl}, pid \\d+`),
      "same port",
    );
    assert.equal(pidRunning(tinyBefore.pid!), false, "the old process is gone");
    const stoppedTiny = await runCli(["stop", "tiny"], env);
    assert.equal(stoppedTiny.stdout.trim(), 'Stopped "tiny".');
    const failed = await runCli(["start", "needs-llama-server"], env);
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /error: .*not installed/);

    const live = ((await manager.api("GET", "/api/servers")).json as ServerList).servers.filter((s) =>
      ["starting", "running", "unhealthy"].includes(s.state),
    );
    assert.ok(live.length >= 3, `several servers run: ${live.map((s) => s.profileName).join(", ")}`);
    for (const s of live) spawned.add(s.pid!);
    const stopAll = await runCli(["stop-all"], env);
    assert.equal(stopAll.code, 0, stopAll.stderr);
    assert.match(stopAll.stdout, /Stopped \d+ server\(s\)/);
    for (const s of live) {
      assert.equal(pidRunning(s.pid!), false, `${s.profileName} (pid ${s.pid}) is gone`);
      assert.deepEqual(groupMembers(s.pid!), [], `nothing of ${s.profileName}'s process group runs`);
    }
    assert.deepEqual(
      pidsWithCommandLine(path.join(fixture.hfCache, "models--")),
      [],
      "no engine of this test runs",
    );
    const after = JSON.parse((await runCli(["ps", "--json"], env)).stdout) as ServerInfo[];
    assert.ok(after.every((s) => s.state === "stopped" || s.state === "failed"));
  });
});
