// Hub search, details and downloads through the real manager process and the real CLI, against
// the fake Hub (and its CDN) over real HTTP: resume after SIGKILL, cancel, corruption, full disk,
// gated repos, offline mode, and a cache laid out exactly like huggingface_hub's.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { ManagerClient } from "../../src/client/ManagerClient";
import { CacheScanner } from "../../src/services/cache/CacheScanner";
import { silentLogger } from "../../src/services/logging/Logger";
import type { ModelList } from "../../src/shared/api";
import type { SequencedEvent } from "../../src/shared/events";
import type { Download, DownloadStarted, HubModelInfo, HubSearchList } from "../../src/shared/hub";
import { type FakeHub, mlxRepoFiles, seededBytes, startFakeHub } from "../helpers/fakeHub";
import { makeTempDir, removeTempDir, sha256Hex } from "../helpers/hfCache";
import { runCli, startManager, type RunningManager } from "../helpers/manager";

const MLX = "mlx-community/Tiny-Llama-4bit";
const BIG = "mlx-community/Big-Llama-4bit";
const GATED = "meta-llama/Gated-Model";
const SHARD_BYTES = 6 * 1024 * 1024;
const MiB = 1024 * 1024;

interface ErrorBody {
  error: { code: string; message: string };
}

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, ms = 30_000): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() - started > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("Hub and downloads (real manager, fake Hub over HTTP)", function () {
  this.timeout(120_000);
  let hub: FakeHub;
  let root: string;
  let hfCache: string;
  let dataDir: string;
  let env: NodeJS.ProcessEnv;
  let manager: RunningManager;

  before(async () => {
    hub = await startFakeHub({
      pageSize: 2,
      repos: [
        { id: MLX, downloads: 1000, likes: 10, tags: ["mlx", "safetensors"], libraryName: "mlx", cardData: { library_name: "mlx", tags: ["mlx"] }, files: mlxRepoFiles(512 * 1024, "tiny") },
        { id: BIG, downloads: 500, tags: ["mlx"], files: mlxRepoFiles(SHARD_BYTES, "big") },
        { id: "someone/llama-mlx-8bit", downloads: 20, tags: ["mlx"], files: mlxRepoFiles(1024, "s") },
        { id: "bartowski/Llama-GGUF", downloads: 800, tags: ["gguf"], files: { "llama.Q4_K_M.gguf": seededBytes(4096, "q4"), "llama.Q8_0.gguf": seededBytes(8192, "q8") } },
        { id: GATED, gated: "manual", tags: ["mlx"], files: { "config.json": Buffer.from("{}"), "model.safetensors": seededBytes(100_000, "gated") } },
      ],
    });
    root = makeTempDir("mlx-hub-");
    hfCache = path.join(root, "hub");
    dataDir = path.join(root, "data");
    fs.mkdirSync(hfCache);
    // HF_HOME points at an empty folder, so no token of the machine's user is picked up.
    env = { HF_ENDPOINT: hub.url, HF_HOME: path.join(root, "hf-home"), HF_TOKEN: "", HF_HUB_OFFLINE: "" };
    manager = await startManager({ dataDir, hfCache, env });
  });

  after(async () => {
    await manager.stop();
    await hub.close();
    removeTempDir(root);
  });

  const client = (): ManagerClient => new ManagerClient({ url: manager.url, token: manager.token });
  const download = async (id: string): Promise<Download> => ((await manager.api("GET", `/api/downloads/${id}`)).json as Download);
  const finished = (id: string): Promise<Download> =>
    until(`download ${id} to finish`, async () => {
      const d = await download(id);
      return d.state === "completed" || d.state === "failed" || d.state === "cancelled" ? d : undefined;
    }, 90_000);

  it("searches MLX models (every repo tagged mlx), GGUF, and by text, through the API and the CLI", async () => {
    const res = await manager.api("GET", "/api/hub/search?q=llama&sort=downloads&limit=10");
    assert.equal(res.status, 200);
    const list = res.json as HubSearchList;
    assert.deepEqual(list.results.map((r) => r.id), [MLX, BIG, "someone/llama-mlx-8bit", GATED]);
    assert.equal(list.results[0]?.downloads, 1000);
    const gguf = await client().hubSearch({ format: "gguf" });
    assert.deepEqual(gguf.results.map((r) => r.id), ["bartowski/Llama-GGUF"]);
    const cli = await runCli(["--data-dir", dataDir, "search", "llama"], env);
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, /MODEL\s+DOWNLOADS/);
    assert.match(cli.stdout, new RegExp(MLX));
    const cliGguf = await runCli(["--data-dir", dataDir, "search", "--gguf", "--json"], env);
    assert.deepEqual((JSON.parse(cliGguf.stdout) as HubSearchList).results.map((r) => r.id), ["bartowski/Llama-GGUF"]);
  });

  it("shows a model's details: files, download size vs repo size, quantization, cache state", async () => {
    const res = await manager.api("GET", `/api/hub/models/${MLX}`);
    assert.equal(res.status, 200, res.text);
    const info = res.json as HubModelInfo;
    assert.equal(info.commit, hub.repo(MLX).commit);
    assert.equal(info.files.length, 7);
    assert.deepEqual(info.quantization, { bits: 4, groupSize: 64 });
    assert.equal(info.modelType, "llama");
    assert.equal(info.cardData?.["library_name"], "mlx");
    assert.equal(info.repoSize, info.downloadSize * 2);
    assert.equal(info.cached.present, false);
    const cli = await runCli(["--data-dir", dataDir, "info", MLX], env);
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, /quantization: 4-bit, group size 64/);
    assert.match(cli.stdout, /download size: .*repo size \(all revisions\)/);
    assert.match(cli.stdout, /model-00001-of-00002\.safetensors/);
    const missing = await manager.api("GET", "/api/hub/models/org/does-not-exist");
    assert.equal(missing.status, 404);
    assert.equal((missing.json as ErrorBody).error.code, "hub_not_found");
  });

  it("pulls an MLX repo with the CLI: progress on stderr, huggingface_hub's exact layout, our scanner and the manager see it", async () => {
    const cli = await runCli(["--data-dir", dataDir, "pull", MLX], env);
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, /Downloaded mlx-community\/Tiny-Llama-4bit@main/);
    assert.match(cli.stderr, /Downloading mlx-community\/Tiny-Llama-4bit@main/);
    const fake = hub.repo(MLX);
    const repoDir = path.join(hfCache, "models--mlx-community--Tiny-Llama-4bit");
    assert.equal(fs.readFileSync(path.join(repoDir, "refs", "main"), "utf8"), fake.commit);
    assert.deepEqual(fs.readdirSync(path.join(repoDir, "blobs")).sort(), fake.files.map((f) => f.etag).sort());
    for (const f of fake.files) {
      const link = path.join(repoDir, "snapshots", fake.commit, f.path);
      assert.equal(fs.readlinkSync(link), `../../blobs/${f.etag}`);
      if (f.lfs) assert.equal(sha256Hex(fs.readFileSync(link)), f.etag);
    }
    assert.equal(hub.requests.filter((r) => r.host === "cdn" && r.authorization !== undefined).length, 0, "the Hub token never reaches the CDN");
    const scanned = await new CacheScanner({ cacheDir: hfCache, logger: silentLogger }).scan();
    const model = scanned.find((m) => m.id === MLX);
    assert.equal(model?.format, "mlx");
    assert.equal(model.quantization?.bits, 4);
    const models = await until("the manager to list the model", async () => ((await manager.api("GET", "/api/models")).json as ModelList).models.find((m) => m.id === MLX));
    assert.equal(models.revisions[0]?.commit, fake.commit);
    const info = (await manager.api("GET", `/api/hub/models/${MLX}`)).json as HubModelInfo;
    assert.deepEqual(info.cached, { present: true, commits: [fake.commit], complete: true });
  });

  it("shows a progress bar with bytes, speed, ETA and the file while the CLI pulls", async () => {
    hub.switches.bytesPerSecond = 2 * MiB;
    const shard = "model-00001-of-00002.safetensors";
    const cli = await runCli(["--data-dir", dataDir, "pull", `${BIG}@main`, "--include", shard], env);
    delete hub.switches.bytesPerSecond;
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stderr, /\[#*\.*\]\s+\d+%\s+[\d.]+ MB\/[\d.]+ MB\s+[\d.]+ (KB|MB)\/s\s+ETA \S+\s+files 0\/1\s+model-00001-of-00002\.safetensors/);
    assert.match(cli.stdout, /Downloaded mlx-community\/Big-Llama-4bit@main \(6\.0 MB, 1 files/);
    fs.rmSync(path.join(hfCache, "models--mlx-community--Big-Llama-4bit"), { recursive: true, force: true });
    const list = (await manager.api("GET", "/api/downloads")).json as { downloads: Download[] };
    for (const d of list.downloads.filter((x) => x.repo === BIG)) await manager.api("DELETE", `/api/downloads/${d.id}`);
  });

  it("resumes by itself after the manager is SIGKILLed mid-file, fetching less than 1 MiB twice", async () => {
    // Slow enough that what sits in socket buffers at the kill stays small even on a busy machine.
    hub.switches.bytesPerSecond = MiB;
    const servedBefore = hub.repo(BIG).files.reduce((sum, f) => sum + (hub.served.get(`${BIG}/${f.path}`) ?? 0), 0);
    const events: SequencedEvent[] = [];
    const stopEvents = new AbortController();
    void client().followEvents((e) => events.push(e), stopEvents.signal);
    const started = (await manager.api("POST", "/api/downloads", { repo: BIG })).json as DownloadStarted;
    assert.equal(started.joined, false);
    const joined = (await manager.api("POST", "/api/downloads", { repo: BIG })).json as DownloadStarted;
    assert.equal(joined.joined, true, "a second request joins the first");
    assert.equal(joined.download.id, started.download.id);
    const blobs = path.join(hfCache, "models--mlx-community--Big-Llama-4bit", "blobs");
    await until("a partial shard of 2 MiB", () => {
      const partial = fs.existsSync(blobs) ? fs.readdirSync(blobs).find((n) => n.endsWith(".incomplete") && fs.statSync(path.join(blobs, n)).size > 2 * MiB) : undefined;
      return partial;
    });
    stopEvents.abort();
    const progress = events.filter((e) => e.type === "download.progress").map((e) => e.data);
    assert.ok(progress.length > 0, "progress events while downloading");
    const lastProgress = progress.at(-1);
    assert.ok(lastProgress && lastProgress.speed > 0 && lastProgress.totalBytes > 0 && lastProgress.active.length > 0, JSON.stringify(lastProgress));
    await manager.kill();
    const cdnBefore = hub.requests.filter((r) => r.host === "cdn").length;
    delete hub.switches.bytesPerSecond;
    manager = await startManager({ dataDir, hfCache, env });
    const done = await finished(started.download.id);
    assert.equal(done.state, "completed", JSON.stringify(done.error));
    const fake = hub.repo(BIG);
    const total = fake.files.reduce((s, f) => s + f.size, 0);
    const served = fake.files.reduce((s, f) => s + (hub.served.get(`${BIG}/${f.path}`) ?? 0), 0) - servedBefore;
    assert.ok(served - total < MiB, `fetched ${served - total} bytes twice`);
    const resumed = hub.requests.slice(cdnBefore).filter((r) => r.host === "cdn" && r.range !== undefined);
    assert.ok(resumed.length > 0, "resumed with a Range request on a fresh signed URL");
    for (const f of fake.files) assert.equal(fs.statSync(path.join(blobs, f.etag)).size, f.size);
    assert.deepEqual(fs.readdirSync(blobs).filter((n) => n.endsWith(".incomplete")), []);
  });

  it("cancels keeping the partial, resumes, and cancel-and-discard removes the partials", async () => {
    fs.rmSync(path.join(hfCache, "models--mlx-community--Big-Llama-4bit"), { recursive: true, force: true });
    hub.switches.bytesPerSecond = 2 * MiB;
    const { download: d } = (await manager.api("POST", "/api/downloads", { repo: BIG, include: ["*.safetensors", "*.json"] })).json as DownloadStarted;
    await until("some bytes", async () => ((await download(d.id)).doneBytes > MiB ? true : undefined));
    const cancelled = (await manager.api("POST", `/api/downloads/${d.id}/cancel`)).json as Download;
    assert.equal(cancelled.state, "cancelled");
    const blobs = path.join(hfCache, "models--mlx-community--Big-Llama-4bit", "blobs");
    assert.ok(fs.readdirSync(blobs).some((n) => n.endsWith(".incomplete")));
    const resumed = await manager.api("POST", `/api/downloads/${d.id}/resume`);
    assert.equal(resumed.status, 200);
    await until("more bytes", async () => ((await download(d.id)).doneBytes > 2 * MiB ? true : undefined));
    const discarded = await manager.api("POST", `/api/downloads/${d.id}/cancel?discard=1`);
    assert.equal(discarded.status, 200);
    delete hub.switches.bytesPerSecond;
    assert.deepEqual(fs.readdirSync(blobs).filter((n) => n.endsWith(".incomplete")), []);
    assert.equal((await manager.api("GET", `/api/downloads/${d.id}`)).status, 404);
  });

  it("rejects a file that arrives corrupted twice, loudly, and keeps no bad blob", async () => {
    fs.rmSync(path.join(hfCache, "models--mlx-community--Big-Llama-4bit"), { recursive: true, force: true });
    const shard = "model-00002-of-00002.safetensors";
    hub.switches.corrupt = { path: shard, times: 2 };
    const { download: d } = (await manager.api("POST", "/api/downloads", { repo: BIG, include: [shard] })).json as DownloadStarted;
    const done = await finished(d.id);
    assert.equal(done.state, "failed");
    assert.equal(done.error?.code, "integrity_failed");
    assert.match(done.error.message, /failed its checksum twice/);
    const etag = hub.repo(BIG).files.find((f) => f.path === shard)?.etag ?? "";
    assert.equal(fs.existsSync(path.join(hfCache, "models--mlx-community--Big-Llama-4bit", "blobs", etag)), false);
  });

  it("downloads a gated repo only with the token handed over by the extension, and never logs it", async () => {
    const { download: d } = (await manager.api("POST", "/api/downloads", { repo: GATED })).json as DownloadStarted;
    const failed = await finished(d.id);
    assert.equal(failed.state, "failed");
    assert.equal(failed.error?.code, "hub_gated");
    assert.match(failed.error.message, /accept its conditions/);
    assert.equal((await manager.api("PUT", "/api/hub/token", { token: hub.token })).status, 204);
    assert.equal(((await manager.api("GET", "/api/hub/status")).json as { tokenSource: string }).tokenSource, "api");
    await manager.api("POST", `/api/downloads/${d.id}/resume`);
    const done = await finished(d.id);
    assert.equal(done.state, "completed", JSON.stringify(done.error));
    const log = fs.readFileSync(path.join(dataDir, "logs", "manager.log"), "utf8");
    assert.equal(log.includes(hub.token), false, "the token is not in the log");
    const db = fs.readdirSync(dataDir).filter((n) => n.startsWith("store")).map((n) => fs.readFileSync(path.join(dataDir, n)).toString("latin1")).join("");
    assert.equal(db.includes(hub.token), false, "the token is not in the store");
    assert.equal((await manager.api("DELETE", "/api/hub/token")).status, 204);
  });

  it("fails a download on a full disk with a clear message, keeps the partial, and resumes once there is room", async () => {
    await manager.stop();
    fs.rmSync(path.join(hfCache, "models--mlx-community--Big-Llama-4bit"), { recursive: true, force: true });
    manager = await startManager({ dataDir, hfCache, env: { ...env, MLX_MANAGER_FAULT_ENOSPC_AFTER_BYTES: String(2 * MiB) } });
    const shard = "model-00001-of-00002.safetensors";
    const { download: d } = (await manager.api("POST", "/api/downloads", { repo: BIG, include: [shard] })).json as DownloadStarted;
    const failed = await finished(d.id);
    assert.equal(failed.state, "failed");
    assert.equal(failed.error?.code, "disk_full");
    assert.match(failed.error.message, /disk is full/);
    const etag = hub.repo(BIG).files.find((f) => f.path === shard)?.etag ?? "";
    const partial = path.join(hfCache, "models--mlx-community--Big-Llama-4bit", "blobs", `${etag}.incomplete`);
    assert.equal(fs.statSync(partial).size, 2 * MiB, "what was written is kept");
    await manager.stop();
    manager = await startManager({ dataDir, hfCache, env });
    const servedBefore = hub.served.get(`${BIG}/${shard}`) ?? 0;
    await manager.api("POST", `/api/downloads/${d.id}/resume`);
    const done = await finished(d.id);
    assert.equal(done.state, "completed", JSON.stringify(done.error));
    const size = hub.repo(BIG).files.find((f) => f.path === shard)?.size ?? 0;
    assert.equal((hub.served.get(`${BIG}/${shard}`) ?? 0) - servedBefore, size - 2 * MiB, "resumed from the kept bytes");
  });

  it("with HF_HUB_OFFLINE=1 makes no network call and says so", async () => {
    await manager.stop();
    manager = await startManager({ dataDir, hfCache, env: { ...env, HF_HUB_OFFLINE: "1" } });
    const before = hub.requests.length;
    const res = await manager.api("GET", "/api/hub/search?q=llama");
    assert.equal(res.status, 503);
    assert.equal((res.json as ErrorBody).error.code, "hub_offline");
    assert.match((res.json as ErrorBody).error.message, /HF_HUB_OFFLINE=1.*Cached models still work/);
    const pull = await manager.api("POST", "/api/downloads", { repo: MLX });
    assert.equal(pull.status, 503);
    const cli = await runCli(["--data-dir", dataDir, "search", "llama"], { ...env, HF_HUB_OFFLINE: "1" });
    assert.equal(cli.code, 1);
    assert.match(cli.stderr, /HF_HUB_OFFLINE/);
    assert.equal(hub.requests.length, before, "no request reached the Hub");
    assert.ok(((await manager.api("GET", "/api/models")).json as ModelList).models.some((m) => m.id === MLX), "cached models still work");
  });
});
