// A large file in parallel ranged parts against the fake Hub and its CDN over real HTTP, the parts'
// progress in a real store (migration 11, tested from schema 10): resume per part, a server that
// ignores Range, checksums, a full disk.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { BlobFetcher, type FetchBlobRequest } from "../../../../src/services/hub/BlobFetcher";
import { enospcAfter } from "../../../../src/services/hub/faultSinks";
import { HubError } from "../../../../src/services/hub/HubError";
import { StorePartsLedger } from "../../../../src/services/hub/PartsLedger";
import { MemoryLogger } from "../../../../src/services/logging/Logger";
import { MIGRATIONS } from "../../../../src/services/store/migrations";
import { Store } from "../../../../src/services/store/Store";
import { type FakeHub, seededBytes, startFakeHub } from "../../../helpers/fakeHub";
import { makeTempDir, removeTempDir, sha256Hex } from "../../../helpers/hfCache";

const REPO = "org/Big-4bit";
const FILE = "model.safetensors";
const SIZE = 4 * 1024 * 1024 + 77;
const PART = Math.ceil(SIZE / 4);

describe("BlobFetcher in parts", function () {
  let hub: FakeHub;
  let dir: string;
  let blobs: string;
  let store: Store;
  let ledger: StorePartsLedger;
  let logger: MemoryLogger;

  beforeEach(async () => {
    hub = await startFakeHub({ repos: [{ id: REPO, files: { [FILE]: seededBytes(SIZE, "big"), "config.json": Buffer.from("{}") } }] });
    dir = makeTempDir("blobparts-");
    blobs = path.join(dir, "blobs");
    logger = new MemoryLogger();
    // A store made by schema 10 first: migration 11 adds download_parts to it.
    const ten = (await Store.open({ dir: path.join(dir, "data"), logger, migrations: MIGRATIONS.filter((m) => m.version <= 10) })).store;
    assert.equal(ten.schemaVersion, 10);
    ten.run("INSERT INTO downloads (id, repo, revision, state, done_bytes, total_bytes, files_done, files_total, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", ["d1", REPO, "main", "cancelled", 5, 10, 0, 1, 1, 2]);
    ten.close();
    store = (await Store.open({ dir: path.join(dir, "data"), logger, migrations: MIGRATIONS.filter((m) => m.version <= 11) })).store;
    ledger = new StorePartsLedger(store);
  });
  afterEach(async () => {
    store.close();
    await hub.close();
    removeTempDir(dir);
  });

  function fetcher(extra: Partial<ConstructorParameters<typeof BlobFetcher>[0]> = {}): BlobFetcher {
    return new BlobFetcher({ logger, backoffMs: 10, parts: { ledger, count: 4, minPartBytes: 1024 * 1024 }, ...extra });
  }
  function requestFor(extra: Partial<FetchBlobRequest> = {}, filePath = FILE): FetchBlobRequest {
    const { commit, files } = hub.repo(REPO);
    const file = files.find((f) => f.path === filePath);
    if (!file) throw new Error(filePath);
    return { url: `${hub.url}/${REPO}/resolve/${commit}/${filePath}`, token: hub.token, blobsDir: blobs, etag: file.etag, size: file.size, repo: REPO, filePath, signal: new AbortController().signal, onProgress: () => undefined, ...extra };
  }
  const partsFile = (etag: string): string => path.join(blobs, `${etag}.parts.incomplete`);
  const rangesAsked = (): string[] => hub.requests.filter((r) => r.host === "cdn").map((r) => r.range ?? "none").sort();

  it("migration 11 keeps the schema-10 rows and adds the parts table", () => {
    assert.equal(store.schemaVersion, 11);
    assert.equal(store.get<{ state: string }>("SELECT state FROM downloads WHERE id = ?", ["d1"])?.state, "cancelled");
    ledger.save(REPO, "e", [{ start: 0, end: 5, done: 5 }, { start: 5, end: 9, done: 1 }]);
    assert.deepEqual(ledger.load(REPO, "e"), [{ start: 0, end: 5, done: 5 }, { start: 5, end: 9, done: 1 }]);
    assert.deepEqual(ledger.blobs(), [{ repo: REPO, etag: "e" }]);
    ledger.clear(REPO, "e");
    assert.equal(ledger.load(REPO, "e"), undefined);
  });

  it("fetches a large file as 4 ranged parts written in place, each byte once, through the Hub's redirect without the token", async () => {
    const progress: number[] = [];
    const result = await fetcher().fetch(requestFor({ onProgress: (n) => progress.push(n) }));
    assert.equal(result.parts, 4);
    assert.equal(sha256Hex(fs.readFileSync(result.blobPath)), result.etag);
    assert.equal(hub.served.get(`${REPO}/${FILE}`), SIZE, "no byte fetched twice");
    assert.deepEqual(rangesAsked(), [0, 1, 2, 3].map((i) => `bytes=${i * PART}-${Math.min(SIZE, (i + 1) * PART) - 1}`).sort());
    assert.ok(hub.requests.filter((r) => r.host === "cdn").every((r) => r.authorization === undefined), "the Hub token never goes to the CDN");
    assert.equal(hub.requests.filter((r) => r.host === "hub" && r.url.includes("/resolve/")).length, 4, "each part asked the Hub for its signed URL");
    assert.deepEqual(fs.readdirSync(blobs), [result.etag], "no partial left");
    assert.deepEqual(ledger.blobs(), [], "the ledger forgets a finished file");
    assert.equal(progress.at(-1), SIZE);
    assert.ok(progress.every((n, i) => i === 0 || n >= (progress[i - 1] ?? 0)), "progress only grows");
    // Small files still come in one stream.
    assert.equal((await fetcher().fetch(requestFor({}, "config.json"))).parts, 1);
  });

  it("keeps every part's progress when stopped, and the next fetch asks only for what each part lacks", async () => {
    hub.switches.bytesPerSecond = 2 * 1024 * 1024;
    const controller = new AbortController();
    const request = requestFor({ signal: controller.signal, onProgress: (n) => { if (n > 1024 * 1024) controller.abort(new Error("cancelled")); } });
    await assert.rejects(fetcher().fetch(request), /cancelled/);
    assert.equal(fs.statSync(partsFile(request.etag)).size, SIZE, "the partial has the file's size; parts fill it in place");
    const kept = ledger.load(REPO, request.etag);
    assert.ok(kept && kept.length === 4 && kept.filter((p) => p.done > 0).length >= 2, JSON.stringify(kept));
    const have = kept.reduce((sum, p) => sum + p.done, 0);
    assert.equal(fetcher().bytesOnDisk(blobs, REPO, request.etag, SIZE), have);

    delete hub.switches.bytesPerSecond;
    hub.requests.length = 0;
    const result = await fetcher().fetch(requestFor());
    assert.equal(result.resumedFrom, have);
    assert.equal(result.fetchedBytes, SIZE - have);
    assert.deepEqual(rangesAsked(), kept.map((p) => `bytes=${p.start + p.done}-${p.end - 1}`).sort());
    assert.equal(sha256Hex(fs.readFileSync(result.blobPath)), request.etag);
    assert.equal(fs.existsSync(partsFile(request.etag)), false);
  });

  it("starts over when the partial and the ledger disagree (a partial with no record, or of another size)", async () => {
    const { etag } = requestFor();
    fs.mkdirSync(blobs, { recursive: true });
    fs.writeFileSync(partsFile(etag), Buffer.alloc(SIZE, 7));
    const result = await fetcher().fetch(requestFor());
    assert.equal(result.resumedFrom, 0);
    assert.equal(sha256Hex(fs.readFileSync(result.blobPath)), etag);
  });

  it("resumes a dropped part after a retry, and fetches from a server that ignores Range in one stream", async () => {
    hub.switches.drop = { path: FILE, afterBytes: 300 * 1024, times: 1 };
    const dropped = await fetcher().fetch(requestFor());
    assert.equal(sha256Hex(fs.readFileSync(dropped.blobPath)), dropped.etag);
    assert.ok(logger.lines.some((l) => l.message === "retrying a download"));
    assert.ok(dropped.fetchedBytes < 2 * SIZE, `parts resumed rather than restarted: ${dropped.fetchedBytes}`);

    fs.rmSync(dropped.blobPath);
    hub.switches.ignoreRange = true;
    hub.requests.length = 0;
    const whole = await fetcher().fetch(requestFor());
    assert.equal(whole.parts, 1);
    assert.equal(sha256Hex(fs.readFileSync(whole.blobPath)), whole.etag);
    assert.ok(logger.lines.some((l) => l.message === "the server does not serve ranges; fetching the file in one stream"));
    assert.deepEqual(fs.readdirSync(blobs), [whole.etag]);
    assert.deepEqual(ledger.blobs(), []);
  });

  it("rejects a corrupted file once, deleting the partial and its parts, and succeeds on the retry", async () => {
    hub.switches.corrupt = { path: FILE, times: 1 };
    const result = await fetcher().fetch(requestFor());
    assert.equal(sha256Hex(fs.readFileSync(result.blobPath)), result.etag);
    assert.ok(logger.lines.some((l) => l.message === "downloaded file failed its checksum"));
    assert.deepEqual(fs.readdirSync(blobs), [result.etag]);

    fs.rmSync(result.blobPath);
    hub.switches.corrupt = { path: FILE, times: 10 };
    const error = await fetcher().fetch(requestFor()).catch((e: unknown) => e);
    assert.ok(error instanceof HubError && error.code === "integrity_failed", String(error));
    assert.deepEqual(fs.readdirSync(blobs), [], "no bad copy left");
    assert.deepEqual(ledger.blobs(), []);
  });

  it("fails a disk-full write with disk_full, keeps what each part wrote, and resumes from it", async () => {
    const request = requestFor();
    const error = await fetcher({ openFile: enospcAfter(1024 * 1024) }).fetch(request).catch((e: unknown) => e);
    assert.ok(error instanceof HubError, String(error));
    assert.equal(error.code, "disk_full");
    assert.match(error.message, /disk is full.*kept/);
    const kept = ledger.load(REPO, request.etag);
    const have = (kept ?? []).reduce((sum, p) => sum + p.done, 0);
    assert.ok(have > 0 && have <= 1024 * 1024, `kept ${have}`);
    const result = await fetcher().fetch(requestFor());
    assert.equal(result.resumedFrom, have);
    assert.equal(sha256Hex(fs.readFileSync(result.blobPath)), request.etag);
  });
});
