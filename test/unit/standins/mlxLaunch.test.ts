// The mlx.launch stand-in (mlx 846d176) with ranks on this machine: its refusals, the environment
// each rank gets (MLX_RANK, the ring's MLX_HOSTFILE), and a failing rank stopping the others.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { installStandins, type InstalledStandins } from "../../helpers/standins";
import { tinyGgufBytes } from "../../helpers/tinyGguf";

describe("mlx.launch stand-in", function () {
  this.timeout(60_000);
  let dir: string;
  let standins: InstalledStandins;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "mlx-launch-"));
    standins = await installStandins(path.join(dir, "bin"), { gguf: path.join(dir, "none.gguf") });
  });
  after(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const launch = (args: string[]): { status: number | null; stdout: string; stderr: string } => {
    const r = spawnSync(standins.mlxLaunch, args, { env: { ...process.env, ...standins.env }, encoding: "utf8", cwd: dir, input: "" });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };

  it("refuses as mlx.launch does: no script, a ring of host names, a bad backend, a missing host file", () => {
    const none = launch(["--hosts", "127.0.0.1"]);
    assert.equal(none.status, 2);
    assert.match(none.stderr, /^usage: mlx\.launch /);
    assert.match(none.stderr, /mlx\.launch: error: No script is provided\n$/);
    assert.match(launch(["--hosts", "studio,mini", "--", "true"]).stderr, /error: The ring backend requires IPs to be provided instead of hostnames/);
    assert.match(launch(["--backend", "tcp", "true"]).stderr, /error: The backend should be one of \{'ring', 'mpi', 'nccl', 'jaccl', 'jaccl-ring'\}/);
    assert.match(launch(["--hostfile", "nope.json", "true"]).stderr, /error: Hostfile nope\.json doesn't exist/);
    fs.writeFileSync(path.join(dir, "bad.json"), JSON.stringify({ backend: "jaccl", hosts: [{ ssh: "127.0.0.1", ips: ["127.0.0.1"], rdma: ["rdma_en2"] }, { ssh: "127.0.0.1", rdma: [null, null] }] }));
    assert.match(launch(["--hostfile", "bad.json", "true"]).stderr, /error: Malformed hostfile for jaccl backend/);
  });

  it("runs each rank with MLX_RANK and the ring's host file, passing its output through without the pidfile line", () => {
    const script = "const fs=require('fs');console.log(`rank ${process.env.MLX_RANK} ring ${fs.readFileSync(process.env.MLX_HOSTFILE,'utf8').trim()}`)";
    const r = launch(["--hosts", "127.0.0.1", "-n", "2", "--env", "X=1", "--", process.execPath, "-e", script]);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split("\n").sort();
    assert.deepEqual(lines, ['rank 0 ring [["127.0.0.1:32323"], ["127.0.0.1:32324"]]', 'rank 1 ring [["127.0.0.1:32323"], ["127.0.0.1:32324"]]']);
  });

  it("stops the other ranks when one fails, says so, and still exits 0", () => {
    // Rank 1 fails once rank 0 has run a moment: mlx.launch kills a rank through the pidfile its first line names, and a rank that has not printed it yet is only "exited with code -15" (upstream's RemoteProcess.terminate with no pidfile; under load, rank 1 failing at once lost that race).
    const script = "if(process.env.MLX_RANK==='1'){setTimeout(()=>process.exit(3),1000)}else{setTimeout(()=>{},20000)}";
    const started = Date.now();
    const r = launch(["--hosts", "127.0.0.1", "-n", "2", "--", process.execPath, "-e", script]);
    assert.equal(r.status, 0);
    assert.ok(Date.now() - started < 10_000, "rank 0 was stopped, not waited for");
    assert.match(r.stderr, /\[WARN\] Node with rank 1 exited with code 3/);
    assert.match(r.stderr, /\[WARN\] Node with rank 0 was killed/);
  });

  it("plays python: -X options kept, --version, `-m mlx_lm` (none before mlx-lm 0.30.6)", () => {
    const run = (args: string[], env: Record<string, string> = {}): { status: number | null; out: string } => {
      const r = spawnSync(standins.python, args, { env: { ...process.env, ...standins.env, ...env }, encoding: "utf8" });
      return { status: r.status, out: `${r.stdout}${r.stderr}` };
    };
    assert.deepEqual(run(["--version"]), { status: 0, out: "Python 3.12.8\n" });
    assert.deepEqual(run(["-X", "mlx_manager_profile=p1", "-m", "mlx_lm", "--version"]), { status: 0, out: "0.31.3\n" });
    const old = run(["-m", "mlx_lm", "--version"], { STANDIN_MLX_LM_VERSION: "0.30.5" });
    assert.equal(old.status, 1);
    assert.match(old.out, /No module named mlx_lm\.__main__; 'mlx_lm' is a package and cannot be directly executed/);
  });

  it("runs `python -m mlx_lm server` as ranks of a ring: a rank without the model offline fails its load, and rank 0 loses it", () => {
    const gguf = path.join(dir, "tiny.gguf");
    fs.writeFileSync(gguf, tinyGgufBytes(1));
    const hub = path.join(dir, "empty-hub");
    fs.mkdirSync(hub, { recursive: true });
    const r = spawnSync(standins.mlxLaunch, ["--hosts", "127.0.0.1", "-n", "2", "-p", String(40000 + (process.pid % 2000)), "--env", `HF_HUB_CACHE=${hub}`, "--env", "HF_HUB_OFFLINE=1", "--", standins.python, "-m", "mlx_lm", "server", "--model", "org/absent", "--port", "0"], { env: { ...process.env, ...standins.env, STANDIN_GGUF: gguf, STANDIN_LOAD_DELAY_MS: "0" }, encoding: "utf8", cwd: dir, input: "", timeout: 30_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /huggingface_hub\.errors\.LocalEntryNotFoundError: Cannot find an appropriate cached snapshot folder/);
    assert.match(r.stderr, /RuntimeError: \[ring\] Lost the connection to rank 1\./);
  });
});
