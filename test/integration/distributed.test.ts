// Distributed mlx_lm (issue 22): a profile whose model runs across three "Macs" — this machine
// (rank 0) and two hosts reached over real ssh (Debian's OpenSSH on loopback ports, a key made for
// the test, each host with its own Hugging Face cache). mlx.launch and `python -m mlx_lm server`
// are the stand-ins written from upstream (test/helpers/standins/mlxLaunch.ts, mlxDistributed.ts):
// the ranks join a real TCP ring and rank 0 serves HTTP. What is checked: the checks before a start
// fail for the right reasons (an unknown host key, mlx-lm versions that differ, a model missing
// from a host's cache) and pass once fixed; the server answers through the gateway; a stop, a
// rank killed on another host, and a stop after a manager restart (re-adopted) leave no process
// of it on any host. (Each ssh login costs about 0.7 s here, most of it the login shell: the test
// keeps their number low.)
/* eslint-disable @typescript-eslint/no-deprecated -- mlx_lm's server reads max_tokens; clients still send it */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import OpenAI from "openai";
import type { HostCheckReport } from "../../src/shared/distributed";
import type { ServerInfo } from "../../src/shared/servers";
import { removeTempDir } from "../helpers/hfCache";
import { runCli, startManager, type RunningManager } from "../helpers/manager";
import { MLX_REPO, makeServerFixture, portClosed, waitFor, type ServerFixture } from "../helpers/servers";
import { startSshd, type TestSshd } from "../helpers/sshd";

/** Processes whose command line carries `needle` (read from /proc; none of this test's own). */
function processesWith(needle: string): { pid: number; argv: string[] }[] {
  const out: { pid: number; argv: string[] }[] = [];
  for (const name of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const argv = fs.readFileSync(`/proc/${name}/cmdline`, "utf8").split("\0").filter((a) => a !== "");
      if (argv.some((a) => a.includes(needle))) out.push({ pid: Number(name), argv });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** The ranks: the python stand-in running `-m mlx_lm server` with the profile's marker. */
function ranks(marker: string): { pid: number; argv: string[] }[] {
  return processesWith(marker).filter((p) => path.basename(p.argv[1] ?? "") === "python" && p.argv.includes("server"));
}

describe("distributed mlx_lm across hosts over ssh", function () {
  this.timeout(90_000);
  let fixture: ServerFixture;
  let sshd: TestSshd;
  let manager: RunningManager;
  let openai: OpenAI;
  let profileId = "";
  const marker = (): string => `mlx_manager_profile=${profileId}`;
  const cacheOf = (host: string): string => path.join(fixture.root, `hub-${host}`);
  const copyModel = (host: string): void => { fs.cpSync(path.join(fixture.hfCache, `models--${MLX_REPO.replace("/", "--")}`), path.join(cacheOf(host), `models--${MLX_REPO.replace("/", "--")}`), { recursive: true, verbatimSymlinks: true }); };
  const start = async (): Promise<RunningManager> => {
    const m = await startManager({ dataDir: fixture.dataDir, hfCache: fixture.hfCache, env: { ...fixture.env, PATH: `${sshd.binDir}:${fixture.env["PATH"] ?? ""}` } });
    const key = ((await m.api("GET", "/api/gateway-key")).json as { key: string }).key;
    openai = new OpenAI({ baseURL: `${m.url}/v1`, apiKey: key, maxRetries: 0 });
    return m;
  };

  before(async () => {
    fixture = await makeServerFixture("distributed-");
    fs.mkdirSync(cacheOf("b"), { recursive: true });
    fs.mkdirSync(cacheOf("c"), { recursive: true });
    copyModel("b");
    // mac-b plays an older mlx-lm than this Mac; mac-c's host key is unknown and its cache empty.
    sshd = await startSshd(path.join(fixture.root, "ssh"), [
      { name: "mac-b", env: { HF_HUB_CACHE: cacheOf("b"), STANDIN_MLX_LM_VERSION: "0.30.6", STANDIN_GGUF: fixture.gguf } },
      { name: "mac-c", env: { HF_HUB_CACHE: cacheOf("c"), STANDIN_GGUF: fixture.gguf }, known: false },
    ]);
    manager = await start();
  });

  after(async () => {
    if (process.env["KEEP_DISTRIBUTED"] === "1") process.stderr.write(`${fixture.root}\n${manager.stderr()}\n`);
    await manager.stop().catch(() => undefined);
    for (const p of profileId === "" ? [] : processesWith(marker())) process.kill(p.pid, "SIGKILL");
    await sshd.close();
    if (process.env["KEEP_DISTRIBUTED"] !== "1") removeTempDir(fixture.root);
  });

  it("checks every host before a start: an unknown host key, mlx-lm versions that differ, a model missing there; then starts, answers and stops on all of them", async () => {
    const created = await manager.api("POST", "/api/profiles", {
      name: "big-model",
      engine: "mlx-distributed",
      model: { source: "cache", repoId: MLX_REPO },
      options: { distributed: { python: fixture.standins.python, local: { ips: ["127.0.0.1"] }, hosts: [{ ssh: "mac-b", ips: ["127.0.0.1"] }, { ssh: "mac-c", ips: ["127.0.0.1"] }], startingPort: 33000 + (process.pid % 1000) * 3 } },
    });
    assert.equal(created.status, 201, created.text);
    profileId = (created.json as { id: string }).id;

    let report = (await manager.api("POST", "/api/profiles/big-model/hosts/check")).json as HostCheckReport;
    assert.equal(report.ok, false);
    const [here, b, c] = report.hosts;
    assert.deepEqual([here?.host, here?.problems], ["this Mac", []]);
    assert.equal(here?.model, "present");
    assert.equal(b?.reachable, true);
    assert.equal(b.mlxLm, "0.30.6");
    assert.equal(b.model, "present");
    assert.equal(c?.reachable, false);
    assert.match(c.problems[0] ?? "", /does not know mac-c's host key.*never accepts an unknown host key/);
    assert.match(report.problems.join(" "), /different mlx-lm versions \(this Mac: 0\.31\.3, mac-b: 0\.30\.6/);

    const refused = await manager.api("POST", "/api/servers/big-model/start");
    assert.equal(refused.status, 409, refused.text);
    assert.equal((refused.json as { error: { code: string } }).error.code, "hosts_not_ready");
    assert.deepEqual(ranks(marker()), [], "nothing started anywhere");

    // The user confirms mac-c's key and installs the same mlx-lm on mac-b: now mac-c lacks the model.
    sshd.trust("mac-c");
    sshd.setEnv("mac-b", { STANDIN_MLX_LM_VERSION: "0.31.3" });
    report = (await manager.api("POST", "/api/profiles/big-model/hosts/check")).json as HostCheckReport;
    assert.equal(report.hosts[2]?.reachable, true);
    assert.equal(report.hosts[2].model, "missing");
    assert.match(report.hosts[2].problems.join(" "), /not in mac-c's Hugging Face cache/);
    assert.deepEqual(report.problems, []);
    // Copied from this Mac over ssh (the editor's "Copy Model to mac-c"; here the CLI), then checked again.
    const copied = await runCli(["--data-dir", fixture.dataDir, "hosts", "copy-model", "big-model", "mac-c"]);
    assert.equal(copied.code, 0, copied.stderr);
    assert.match(copied.stdout, /^Copied \S+ \S+ to mac-c in \d+\.\d s\.$/m);
    const cli = await runCli(["--data-dir", fixture.dataDir, "hosts", "check", "big-model"]);
    assert.equal(cli.code, 0, cli.stdout + cli.stderr);
    assert.match(cli.stdout, /^RANK\s+HOST\s+SSH/m);
    assert.match(cli.stdout, /^2\s+mac-c\s+ok\s+3\.12\.8\s+0\.31\.3\s+present/m);
    assert.match(cli.stdout, /Every host is ready\./);

    const started = await manager.api("POST", "/api/servers/big-model/start");
    assert.equal(started.status, 200, started.text);
    const server = started.json as ServerInfo;
    assert.equal(server.state, "running");
    assert.deepEqual(server.command.slice(1, 2), ["--hostfile"]);
    const hostfile = JSON.parse(fs.readFileSync(server.command[2] ?? "", "utf8")) as { backend: string; envs: string[]; hosts: { ssh: string }[] };
    assert.deepEqual([hostfile.backend, hostfile.hosts.map((h) => h.ssh)], ["ring", ["127.0.0.1", "mac-b", "mac-c"]]);
    assert.ok(hostfile.envs.includes("HF_HUB_OFFLINE=1"));
    const running = ranks(marker());
    assert.equal(running.length, 3, "one rank on each host");
    assert.deepEqual(running.map((r) => r.argv.slice(r.argv.indexOf("--model"), r.argv.indexOf("--model") + 2)), [0, 1, 2].map(() => ["--model", MLX_REPO]));

    const answer = await openai.chat.completions.create({ model: "big-model", messages: [{ role: "user", content: "Hello" }], max_tokens: 4 });
    assert.ok((answer.choices[0]?.message.content ?? "").length > 0);
    const log = fs.readFileSync(server.logFile, "utf8");
    assert.match(log, /Starting httpd at 127\.0\.0\.1/);

    // The manager restarts: the ranks run on, and the new manager adopts the server and stops it on every host.
    await manager.stop();
    assert.equal(ranks(marker()).length, 3, "the ranks outlive the manager");
    manager = await start();
    const adopted = await waitFor(async () => {
      const info = (await manager.api("GET", "/api/servers/big-model")).json as ServerInfo;
      return info.state === "running" ? info : undefined;
    }, 20_000, "the re-adopted server to run");
    assert.equal(adopted.adopted, true);
    const again = await openai.chat.completions.create({ model: "big-model", messages: [{ role: "user", content: "Hi" }], max_tokens: 2 });
    assert.ok(again.choices.length > 0);
    const stopped = await manager.api("POST", "/api/servers/big-model/stop");
    assert.equal((stopped.json as ServerInfo).state, "stopped");
    assert.deepEqual(processesWith(marker()), [], "no process of it left on any host");
    assert.ok(await portClosed(server.port));
  });

  it("a rank killed on another host takes the server down, and its ranks end on every host", async () => {
    const started = await manager.api("POST", "/api/servers/big-model/start");
    assert.equal(started.status, 200, started.text);
    const rankOnC = ranks(marker()).find((r) => fs.readFileSync(`/proc/${r.pid}/environ`, "utf8").split("\0").includes("MLX_RANK=2"));
    assert.ok(rankOnC, "rank 2 runs (on mac-c)");
    process.kill(rankOnC.pid, "SIGKILL");
    const failed = await waitFor(async () => {
      const info = (await manager.api("GET", "/api/servers/big-model")).json as ServerInfo;
      return info.state === "failed" ? info : undefined;
    }, 20_000, "the server to fail");
    assert.match(failed.failure?.logTail.join("\n") ?? "", /Lost the connection to rank|Node with rank/);
    await waitFor(() => processesWith(marker()).length === 0, 10_000, "no process of it on any host");
  });
});
