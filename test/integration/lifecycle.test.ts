// The manager process across kills and restarts: the lock, persistence, recovery, the CLI.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { makeTempDir, removeTempDir, writeGgufRepo } from "../helpers/hfCache";
import { runCli, startManager } from "../helpers/manager";

describe("manager lifecycle (real process)", function () {
  this.timeout(90_000);
  let root: string;
  let hfCache: string;
  let dataDir: string;

  beforeEach(() => {
    root = makeTempDir("mlx-life-");
    hfCache = path.join(root, "hub");
    dataDir = path.join(root, "data");
    fs.mkdirSync(hfCache);
    writeGgufRepo(hfCache, { repoId: "test/tiny-gguf", files: [{ path: "tiny-Q8_0.gguf", spec: { architecture: "llama", fileType: 7 } }] });
  });
  afterEach(() => { removeTempDir(root); });

  const profile = { name: "Kept", engine: "llama", model: { source: "cache", repoId: "test/tiny-gguf" } };

  it("keeps an acknowledged profile when killed with SIGKILL, and takes over the stale lock", async () => {
    const first = await startManager({ dataDir, hfCache });
    const created = await first.api("POST", "/api/profiles", profile);
    assert.equal(created.status, 201);
    await first.kill();
    assert.ok(fs.existsSync(path.join(dataDir, "manager.lock")), "a killed manager leaves its lock behind");

    const second = await startManager({ dataDir, hfCache });
    try {
      const list = await second.api("GET", "/api/profiles");
      assert.deepEqual((list.json as { profiles: { name: string }[] }).profiles.map((p) => p.name), ["Kept"]);
    } finally {
      assert.equal(await second.stop(), 0, "SIGTERM exits cleanly");
    }
    assert.equal(fs.existsSync(path.join(dataDir, "manager.lock")), false, "a clean stop releases the lock");
  });

  it("moves a corrupt database aside, keeps what the journal holds, and tells the user", async () => {
    const first = await startManager({ dataDir, hfCache });
    await first.api("POST", "/api/profiles", profile);
    assert.equal(await first.stop(), 0);
    const db = path.join(dataDir, "store.db");
    fs.writeFileSync(db, Buffer.from("this is not a database at all, it is garbage".repeat(100)));

    const second = await startManager({ dataDir, hfCache });
    try {
      assert.match(second.stderr(), /notice: .*corrupt-/i);
      const status = (await second.api("GET", "/api/status")).json as { notices: string[] };
      assert.ok(status.notices.length > 0);
      assert.ok(fs.readdirSync(dataDir).some((f) => f.startsWith("store.db.corrupt-")), "the bad file is kept aside");
      const list = (await second.api("GET", "/api/profiles")).json as { profiles: { name: string }[] };
      assert.deepEqual(list.profiles.map((p) => p.name), ["Kept"], "restored from the backup");
    } finally {
      await second.stop();
    }
  });

  it("says clearly when the port is taken", async () => {
    const first = await startManager({ dataDir, hfCache });
    const port = new URL(first.url).port;
    try {
      const result = await runCli(["serve", "--data-dir", path.join(root, "other"), "--hf-cache", hfCache, "--port", port]);
      assert.equal(result.code, 4);
      assert.match(result.stderr, new RegExp(`Port ${port} is already in use`));
    } finally {
      await first.stop();
    }
  });

  it("drives profiles and models from the CLI, starting a manager in the background when none runs", async () => {
    // Port 0: the background manager takes any free port and clients find it through the lock.
    const env = { MLX_MANAGER_HOME: dataDir, HF_HUB_CACHE: hfCache, MLX_MANAGER_PORT: "0" };
    const port = "9333";
    const status = await runCli(["status", "--json"], env);
    assert.equal(status.code, 0, status.stderr);
    assert.equal((JSON.parse(status.stdout) as { dataDir: string }).dataDir, dataDir);
    try {
      const models = await runCli(["models", "--json"], env);
      assert.equal(models.code, 0, models.stderr);
      assert.deepEqual((JSON.parse(models.stdout) as { id: string }[]).map((m) => m.id), ["test/tiny-gguf"]);

      const table = await runCli(["models"], env);
      assert.match(table.stdout, /^MODEL\s+FORMAT/m);
      assert.match(table.stdout, /test\/tiny-gguf\s+gguf\s+llama\s+Q8_0/);

      const create = await runCli(["profiles", "create", "--name", "cli", "--engine", "llama", "--model", "test/tiny-gguf", "--set", "contextLength=256", "--set", "env.FOO=bar"], env);
      assert.equal(create.code, 0, create.stderr);
      const bad = await runCli(["profiles", "create", "--name", "bad", "--engine", "llama", "--model", "test/tiny-gguf", "--set", "temperature=2"], env);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /does not take the option "temperature".*\(field: options.temperature\)/);

      const edit = await runCli(["profiles", "edit", "cli", "--port", port, "--unset", "env.FOO"], env);
      assert.equal(edit.code, 0, edit.stderr);
      const shown = JSON.parse((await runCli(["profiles", "show", "cli", "--json"], env)).stdout) as { port: number; options: Record<string, unknown>; version: number };
      assert.equal(shown.port, Number(port));
      assert.deepEqual(shown.options, { contextLength: 256, env: {} });
      assert.equal(shown.version, 2);

      const file = path.join(root, "profiles.json");
      assert.equal((await runCli(["profiles", "export", "-o", file], env)).code, 0);
      assert.equal((await runCli(["profiles", "rm", "cli"], env)).code, 0);
      const imported = await runCli(["profiles", "import", file], env);
      assert.match(imported.stdout, /Imported 1 profile/);
      const list = await runCli(["profiles", "list"], env);
      assert.match(list.stdout, /^cli\s+llama\s+test\/tiny-gguf/m);

      const refused = await runCli(["rm", "test/tiny-gguf"], env);
      assert.equal(refused.code, 1, "without a TTY, rm asks for --yes");
      const removed = await runCli(["rm", "test/tiny-gguf", "--yes"], env);
      assert.match(removed.stdout, /Deleted test\/tiny-gguf: .* freed/);
    } finally {
      await runCli(["shutdown"], env);
      // Wait for the background manager to give up its lock.
      const deadline = Date.now() + 5000;
      while (fs.existsSync(path.join(dataDir, "manager.lock")) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(fs.existsSync(path.join(dataDir, "manager.lock")), false);
  });
});
