// Faults of the machine and of people: the disk fills up, a database from a newer build, two
// clients at once. Real manager processes, real HTTP, the fake Hub for downloads.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import initSqlJs from "sql.js";
import { ManagerClient } from "../../src/client/ManagerClient";
import type { Download, DownloadStarted } from "../../src/shared/hub";
import type { Profile } from "../../src/shared/profiles";
import type { ServerInfo } from "../../src/shared/servers";
import { mlxRepoFiles, startFakeHub, type FakeHub } from "../helpers/fakeHub";
import { removeTempDir } from "../helpers/hfCache";
import { MANAGER_JS, ROOT, runCli, startManager, type RunningManager } from "../helpers/manager";
import { killGroups, pidsWithCommandLine, waitFor } from "../helpers/servers";
import { MiB, fakeProfile, makeFixture, type ReliabilityFixture } from "./helpers";

const REPO = "mlx-community/Full-Disk-4bit";

describe("reliability: full disk, newer database, two clients", function () {
  this.timeout(120_000);
  let fixture: ReliabilityFixture;
  const managers: RunningManager[] = [];

  beforeEach(async () => {
    fixture = await makeFixture("mlx-rel-faults-");
  });
  afterEach(async () => {
    for (const m of managers.splice(0)) {
      await m.api("POST", "/api/servers/stop-all").catch(() => undefined);
      await m.stop();
    }
    killGroups(pidsWithCommandLine(fixture.root));
    removeTempDir(fixture.root);
  });

  async function manager(env: Record<string, string> = {}): Promise<RunningManager> {
    const m = await startManager({ dataDir: fixture.dataDir, hfCache: fixture.hfCache, env: { ...fixture.env, ...env } });
    managers.push(m);
    return m;
  }

  describe("the disk fills up", () => {
    let hub: FakeHub;
    before(async () => {
      hub = await startFakeHub({ repos: [{ id: REPO, tags: ["mlx"], files: mlxRepoFiles(4 * MiB, "full") }] });
    });
    after(async () => {
      await hub.close();
    });

    it("database writes and downloads fail with a clear message, the manager stays up, and both work again once there is room", async () => {
      const flag = path.join(fixture.root, "disk-is-full");
      const m = await manager({ MLX_MANAGER_FAULT_DISK_FULL_FLAG: flag, HF_ENDPOINT: hub.url, HF_HOME: path.join(fixture.root, "hf-home"), HF_TOKEN: "", HF_HUB_OFFLINE: "" });
      assert.equal((await m.api("POST", "/api/profiles", fakeProfile("before"))).status, 201);

      fs.writeFileSync(flag, "");
      const refused = await m.api("POST", "/api/profiles", fakeProfile("while-full"));
      assert.equal(refused.status, 507, refused.text);
      assert.match(refused.text, /disk is full/i);
      assert.match(refused.text, /[Ff]ree some space/);
      // Its record cannot be saved, so the download is refused up front (a full disk in the middle of
      // a transfer is test/integration/hub.test.ts "fails a download on a full disk").
      const refusedDownload = await m.api("POST", "/api/downloads", { repo: REPO });
      assert.equal(refusedDownload.status, 507, refusedDownload.text);
      assert.match(refusedDownload.text, /disk is full/i);
      assert.deepEqual(((await m.api("GET", "/api/downloads")).json as { downloads: Download[] }).downloads, [], "nothing is left queued");
      assert.equal(m.child.exitCode, null, "the manager is still running");
      assert.equal((await m.api("GET", "/api/profiles")).status, 200, "reads still work");

      fs.rmSync(flag);
      assert.equal((await m.api("POST", "/api/profiles", fakeProfile("after"))).status, 201, "writes work again");
      const started = await m.api("POST", "/api/downloads", { repo: REPO });
      assert.ok(started.status < 300, started.text);
      const downloadId = (started.json as DownloadStarted).download.id;
      let last: unknown;
      const done = await waitFor(async () => {
        const d = (await m.api("GET", `/api/downloads/${downloadId}`)).json as Download;
        last = d;
        return d.state === "completed" || d.state === "failed" ? d : undefined;
      }, 60_000, "the download to finish").catch((error: unknown) => {
        throw new Error(`${String(error)}; last: ${JSON.stringify(last)}; log: ${fs.readFileSync(path.join(fixture.dataDir, "logs", "manager.log"), "utf8").slice(-3000)}`);
      });
      assert.equal(done.state, "completed", JSON.stringify(done.error));

      await m.stop();
      managers.splice(managers.indexOf(m), 1);
      const again = await manager();
      assert.doesNotMatch(again.stderr(), /notice:/, "the store needed no recovery");
      const names = ((await again.api("GET", "/api/profiles")).json as { profiles: Profile[] }).profiles.map((p) => p.name).sort();
      assert.deepEqual(names, ["after", "before"], "the refused write is absent, the others kept");
    });
  });

  it("a database from a newer schema: the manager refuses it with a clear message and leaves every file untouched (the backup too)", async () => {
    const first = await manager();
    assert.equal((await first.api("POST", "/api/profiles", fakeProfile("kept"))).status, 201);
    await new Promise((r) => setTimeout(r, 2500)); // a snapshot, so the previous one becomes store.db.bak
    assert.equal((await first.api("POST", "/api/profiles", fakeProfile("kept-too"))).status, 201);
    await first.stop();
    managers.splice(0);
    const db = path.join(fixture.dataDir, "store.db");
    const SQL = await initSqlJs({ locateFile: () => path.join(ROOT, "node_modules", "sql.js", "dist", "sql-wasm.wasm") });
    const database = new SQL.Database(fs.readFileSync(db));
    database.run("INSERT INTO schema_version (version, name, applied_at) VALUES (999, 'from a future build', 0)");
    fs.writeFileSync(db, database.export());
    database.close();
    const hashes = (): Record<string, string> =>
      Object.fromEntries(fs.readdirSync(fixture.dataDir).filter((f) => f.startsWith("store.")).map((f) => [f, createHash("sha256").update(fs.readFileSync(path.join(fixture.dataDir, f))).digest("hex")]));
    const before = hashes();
    assert.ok("store.db.bak" in before, `a backup exists: ${Object.keys(before).join(", ")}`);

    const result = await runCli(["serve", "--data-dir", fixture.dataDir, "--hf-cache", fixture.hfCache, "--port", "0"], fixture.env);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /written by a newer MLX Model Manager \(schema 999; this build knows up to \d+\)/);
    assert.match(result.stderr, /Update the extension, or move the file aside/);
    assert.doesNotMatch(result.stderr, /^\s+at /m, "a message, not a stack trace");
    assert.deepEqual(hashes(), before, "store.db, its journal and the backup are untouched");
    assert.equal(fs.existsSync(path.join(fixture.dataDir, "manager.lock")), false, "the lock is released");
    assert.ok(fs.existsSync(MANAGER_JS));
  });

  it("two clients at once: the extension's client and the CLI start the same server (one process), and race 40 edits of one profile (409s, no lost write)", async () => {
    const m = await manager();
    const client = new ManagerClient({ url: m.url, token: m.token });
    assert.equal((await m.api("POST", "/api/profiles", fakeProfile("rel-twice", { FAKE_LLAMA_LISTEN_DELAY_MS: "500" }))).status, 201);
    const cliEnv = { ...fixture.env, MLX_MANAGER_URL: m.url, MLX_MANAGER_TOKEN: m.token };
    const [viaClient, viaCli] = await Promise.all([client.startServer("rel-twice"), runCli(["start", "rel-twice", "--json"], cliEnv)]);
    assert.equal(viaCli.code, 0, viaCli.stderr);
    const cliInfo = JSON.parse(viaCli.stdout) as ServerInfo;
    assert.equal(cliInfo.pid, viaClient.pid, "both got the same server");
    assert.deepEqual(pidsWithCommandLine("--alias rel-twice"), [viaClient.pid], "one process");

    // Two writers each add their own key to options.env, 20 times, reading the version first and
    // retrying on 409: every key must be there at the end.
    let conflicts = 0;
    const writer = async (who: string): Promise<void> => {
      for (let i = 0; i < 20; i++) {
        for (;;) {
          const current = (await m.api("GET", "/api/profiles/rel-twice")).json as Profile;
          const env = { ...current.options.env, [`${who}_${i}`]: "1" };
          const res = await m.api("PATCH", `/api/profiles/${current.id}`, { version: current.version, options: { ...current.options, env } });
          if (res.status === 200) break;
          assert.equal(res.status, 409, res.text);
          assert.match(res.text, /version_conflict/);
          conflicts++;
        }
      }
    };
    await Promise.all([writer("A"), writer("B")]);
    const final = (await m.api("GET", "/api/profiles/rel-twice")).json as Profile;
    const keys = Object.keys(final.options.env ?? {}).filter((k) => /^[AB]_\d+$/.test(k));
    assert.equal(keys.length, 40, `every edit is there (${keys.length}; ${conflicts} conflicts answered 409)`);
    assert.equal(final.version, 41);
    process.stdout.write(`      figures: one process for two starts; 40 edits, ${conflicts} answered 409 and retried, 0 lost\n`);
  });
});
