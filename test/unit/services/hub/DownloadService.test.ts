// The download queue with a real store, real files and the fake Hub over real HTTP.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { CacheScanner } from "../../../../src/services/cache/CacheScanner";
import { EventBus } from "../../../../src/services/events/EventBus";
import { StorePartsLedger } from "../../../../src/services/hub/PartsLedger";
import { BlobFetcher } from "../../../../src/services/hub/BlobFetcher";
import { DownloadService, selectFiles } from "../../../../src/services/hub/DownloadService";
import { HubClient } from "../../../../src/services/hub/HubClient";
import { silentLogger } from "../../../../src/services/logging/Logger";
import { Store } from "../../../../src/services/store/Store";
import type { Download } from "../../../../src/shared/hub";
import { DownloadRequest } from "../../../../src/shared/hub";
import { type FakeHub, mlxRepoFiles, seededBytes, startFakeHub } from "../../../helpers/fakeHub";
import { makeTempDir, removeTempDir } from "../../../helpers/hfCache";

const REPO = "mlx-community/Tiny-4bit";

async function until<T>(what: string, probe: () => T | undefined, ms = 15_000): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() - started > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("DownloadService", function () {
  let hub: FakeHub;
  let root: string;
  let cacheDir: string;
  let store: Store;
  let events: EventBus;
  let services: DownloadService[];

  beforeEach(async () => {
    hub = await startFakeHub({ repos: [{ id: REPO, files: { ...mlxRepoFiles(1024 * 1024), "sub/dir/extra.gguf": seededBytes(2 * 1024 * 1024, "x") } }] });
    root = makeTempDir("downloads-");
    cacheDir = path.join(root, "hub");
    fs.mkdirSync(cacheDir);
    store = (await Store.open({ dir: path.join(root, "data"), logger: silentLogger })).store;
    events = new EventBus();
    services = [];
  });
  afterEach(async () => {
    for (const s of services) await s.close();
    store.close();
    await hub.close();
    removeTempDir(root);
  });

  function service(extra: Partial<ConstructorParameters<typeof DownloadService>[0]> = {}): DownloadService {
    const client = new HubClient({ endpoint: hub.url, offline: false, token: () => undefined, cacheDir, logger: silentLogger });
    const s = new DownloadService({ store, hub: client, fetcher: new BlobFetcher({ logger: silentLogger, backoffMs: 10, parts: { ledger: new StorePartsLedger(store), count: 4, minPartBytes: 256 * 1024 } }), cacheDir, events, logger: silentLogger, progressIntervalMs: 50, ...extra });
    s.start();
    services.push(s);
    return s;
  }
  const finished = (s: DownloadService, id: string): Promise<Download> => until("the download to finish", () => {
    const d = s.get(id);
    return d.state === "completed" || d.state === "failed" || d.state === "cancelled" ? d : undefined;
  });

  it("downloads a repo into the exact huggingface_hub layout, with progress events, and our scanner reads it", async () => {
    const s = service();
    const seen: string[] = [];
    events.subscribe((e) => seen.push(e.type));
    const { download, joined } = s.request(DownloadRequest.parse({ repo: REPO }));
    assert.equal(joined, false);
    const done = await finished(s, download.id);
    assert.equal(done.state, "completed", JSON.stringify(done.error));
    const fake = hub.repo(REPO);
    const repoDir = path.join(cacheDir, "models--mlx-community--Tiny-4bit");
    assert.equal(fs.readFileSync(path.join(repoDir, "refs", "main"), "utf8"), fake.commit, "bare sha, no newline");
    assert.deepEqual(fs.readdirSync(path.join(repoDir, "blobs")).sort(), fake.files.map((f) => f.etag).sort());
    for (const f of fake.files) {
      const link = path.join(repoDir, "snapshots", fake.commit, f.path);
      const depth = f.path.split("/").length - 1;
      assert.equal(fs.readlinkSync(link), `${"../".repeat(depth + 2)}blobs/${f.etag}`);
      assert.equal(fs.statSync(link).size, f.size);
    }
    assert.equal(done.doneBytes, done.totalBytes);
    assert.equal(done.filesDone, fake.files.length);
    assert.ok(seen.includes("download.changed"));
    const scanned = await new CacheScanner({ cacheDir, logger: silentLogger }).scan();
    const model = scanned.find((m) => m.id === REPO);
    assert.equal(model?.format, "mlx");
    assert.equal(model.quantization?.bits, 4);
    assert.equal(model.revisions[0]?.commit, fake.commit);
    assert.deepEqual(model.revisions[0].refs, ["main"]);
    assert.deepEqual(model.incomplete, []);
  });

  it("lets a second request join the running one, and filters with include/exclude", async () => {
    hub.switches.bytesPerSecond = 2 * 1024 * 1024;
    const s = service();
    const first = s.request(DownloadRequest.parse({ repo: REPO, exclude: ["*.gguf", "sub/**"] }));
    const second = s.request(DownloadRequest.parse({ repo: REPO }));
    assert.equal(second.joined, true);
    assert.equal(second.download.id, first.download.id);
    const done = await finished(s, first.download.id);
    assert.equal(done.state, "completed");
    assert.equal(done.filesTotal, hub.repo(REPO).files.length - 1);
    const files = hub.repo(REPO).files;
    assert.deepEqual(selectFiles(files, ["*.json"], ["tokenizer*"]).map((f) => f.path).sort(), ["config.json", "model.safetensors.index.json"]);
  });

  it("cancels (keeping partials), resumes from them, and cancel-and-discard removes them", async () => {
    hub.switches.bytesPerSecond = 1024 * 1024;
    const s = service();
    const { download } = s.request(DownloadRequest.parse({ repo: REPO }));
    await until("some bytes", () => (s.get(download.id).active.some((a) => a.doneBytes > 100_000) ? true : undefined));
    const cancelled = await s.cancel(download.id);
    assert.equal(cancelled.state, "cancelled");
    const blobs = path.join(cacheDir, "models--mlx-community--Tiny-4bit", "blobs");
    const partials = fs.readdirSync(blobs).filter((n) => n.endsWith(".incomplete"));
    assert.ok(partials.length > 0, "partials kept for resume");
    // The files of 1 MiB and more came in 4 parts each, written in place; the ledger holds their progress.
    assert.ok(partials.every((n) => n.endsWith(".parts.incomplete")), partials.join());
    const rows = store.all<{ etag: string; done_bytes: number }>("SELECT etag, done_bytes FROM download_parts");
    assert.ok(rows.length >= 4 && rows.some((r) => r.done_bytes > 0), JSON.stringify(rows));
    assert.equal(store.get<{ state: string }>("SELECT state FROM downloads WHERE id = ?", [download.id])?.state, "cancelled");
    delete hub.switches.bytesPerSecond;
    const servedBefore = [...hub.served.values()].reduce((a, b) => a + b, 0);
    s.resume(download.id);
    const done = await finished(s, download.id);
    assert.equal(done.state, "completed");
    const servedAfter = [...hub.served.values()].reduce((a, b) => a + b, 0);
    assert.ok(servedAfter - servedBefore < done.totalBytes, "resumed, not restarted");
    assert.deepEqual(store.all("SELECT * FROM download_parts"), [], "a finished file's parts are forgotten");

    const again = s.request(DownloadRequest.parse({ repo: "mlx-community/Tiny-4bit", revision: hub.repo(REPO).commit }));
    assert.equal((await finished(s, again.download.id)).state, "completed", "a commit revision writes no ref and is already there");
    fs.rmSync(path.join(cacheDir, "models--mlx-community--Tiny-4bit"), { recursive: true });
    hub.switches.bytesPerSecond = 1024 * 1024;
    const third = s.request(DownloadRequest.parse({ repo: REPO }));
    await until("some bytes", () => (s.get(third.download.id).active.some((a) => a.doneBytes > 100_000) ? true : undefined));
    assert.ok(store.all("SELECT * FROM download_parts").length > 0);
    await s.cancel(third.download.id, true);
    assert.deepEqual(fs.readdirSync(blobs).filter((n) => n.endsWith(".incomplete")), []);
    assert.deepEqual(store.all("SELECT * FROM download_parts"), [], "discard forgets the parts too");
    assert.throws(() => s.get(third.download.id), /No download/);
  });

  it("refuses to start without the disk space, saying how much is missing", async () => {
    const s = service({ freeSpace: () => Promise.resolve(10 * 1024 * 1024) });
    const { download } = s.request(DownloadRequest.parse({ repo: REPO }));
    const done = await finished(s, download.id);
    assert.equal(done.state, "failed");
    assert.equal(done.error?.code, "insufficient_space");
    assert.match(done.error.message, /Not enough disk space.*free/);
  });

  it("resumes the queue a previous instance left in the store", async () => {
    hub.switches.bytesPerSecond = 2 * 1024 * 1024;
    const first = service();
    const { download } = first.request(DownloadRequest.parse({ repo: REPO }));
    await until("some bytes", () => (first.get(download.id).doneBytes > 200_000 ? true : undefined));
    await first.close();
    assert.equal(store.get<{ state: string }>("SELECT state FROM downloads WHERE id = ?", [download.id])?.state, "running");
    delete hub.switches.bytesPerSecond;
    const second = service();
    const done = await finished(second, download.id);
    assert.equal(done.state, "completed");
  });
});
