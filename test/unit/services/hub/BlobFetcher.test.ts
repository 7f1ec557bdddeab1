// The transfer against the fake Hub and its CDN over real HTTP: redirects, resume, checksums, failures.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { BlobFetcher, type FetchBlobRequest } from "../../../../src/services/hub/BlobFetcher";
import { enospcAfter } from "../../../../src/services/hub/faultSinks";
import { HubError } from "../../../../src/services/hub/HubError";
import { MemoryLogger } from "../../../../src/services/logging/Logger";
import { type FakeHub, mlxRepoFiles, seededBytes, startFakeHub } from "../../../helpers/fakeHub";
import { makeTempDir, removeTempDir, sha256Hex } from "../../../helpers/hfCache";

const REPO = "mlx-community/Tiny-4bit";
const SHARD = "model-00001-of-00002.safetensors";

describe("BlobFetcher", function () {
  let hub: FakeHub;
  let dir: string;
  let logger: MemoryLogger;

  beforeEach(async () => {
    hub = await startFakeHub({
      repos: [
        { id: REPO, files: { ...mlxRepoFiles(2 * 1024 * 1024), "big.bin": seededBytes(3 * 1024 * 1024, "big") } },
        { id: "org/gated", gated: "manual", files: { "model.safetensors": seededBytes(1000, "g") } },
      ],
      urlTtlMs: 60_000,
    });
    dir = makeTempDir("blobfetch-");
    logger = new MemoryLogger();
  });
  afterEach(async () => {
    await hub.close();
    removeTempDir(dir);
  });

  function requestFor(filePath: string, extra: Partial<FetchBlobRequest> = {}, repo = REPO): FetchBlobRequest {
    const { commit, files } = hub.repo(repo);
    const file = files.find((f) => f.path === filePath);
    if (!file) throw new Error(filePath);
    return {
      url: `${hub.url}/${repo}/resolve/${commit}/${filePath}`,
      token: hub.token,
      blobsDir: dir,
      etag: file.etag,
      size: file.size,
      repo,
      filePath,
      signal: new AbortController().signal,
      onProgress: () => undefined,
      ...extra,
    };
  }

  it("follows the Hub's 302 to the CDN without the token and names the blob by X-Linked-Etag", async () => {
    const fetcher = new BlobFetcher({ logger });
    const request = requestFor(SHARD);
    const result = await fetcher.fetch(request);
    const file = hub.repo(REPO).files.find((f) => f.path === SHARD);
    assert.equal(result.etag, file?.etag);
    assert.equal(result.blobPath, path.join(dir, file?.etag ?? ""));
    assert.equal(sha256Hex(fs.readFileSync(result.blobPath)), file?.etag);
    assert.notEqual(file?.pointerOid, file?.etag, "the fake's ETag differs from X-Linked-Etag");
    const hubHit = hub.requests.find((r) => r.host === "hub" && r.url.includes("/resolve/"));
    const cdnHit = hub.requests.find((r) => r.host === "cdn");
    assert.equal(hubHit?.authorization, `Bearer ${hub.token}`);
    assert.ok(cdnHit, "the file came from the CDN");
    assert.equal(cdnHit.authorization, undefined, "the Hub token never goes to the CDN");
    assert.deepEqual(fs.readdirSync(dir), [file?.etag]);
  });

  it("fetches a small git file straight from the Hub, named by its git blob sha1", async () => {
    const result = await new BlobFetcher({ logger }).fetch(requestFor("config.json"));
    assert.match(result.etag, /^[0-9a-f]{40}$/);
    assert.equal(hub.requests.filter((r) => r.host === "cdn").length, 0);
  });

  it("resumes a dropped transfer with Range from the partial, through a fresh redirect, fetching each byte once", async () => {
    hub.switches.drop = { path: "big.bin", afterBytes: 1024 * 1024 + 123, times: 1 };
    const progress: number[] = [];
    const result = await new BlobFetcher({ logger, backoffMs: 10 }).fetch(requestFor("big.bin", { onProgress: (n) => progress.push(n) }));
    const size = 3 * 1024 * 1024;
    assert.equal(fs.statSync(result.blobPath).size, size);
    assert.equal(sha256Hex(fs.readFileSync(result.blobPath)), result.etag);
    assert.equal(hub.served.get(`${REPO}/big.bin`), size, `no byte fetched twice: ${JSON.stringify(hub.requests)}`);
    const cdnHits = hub.requests.filter((r) => r.host === "cdn");
    assert.equal(cdnHits.length, 2);
    assert.equal(cdnHits[1]?.range, `bytes=${1024 * 1024 + 123}-`);
    assert.notEqual(cdnHits[0]?.url, cdnHits[1].url, "the resume asked the Hub for a fresh signed URL");
    assert.equal(hub.requests.filter((r) => r.host === "hub" && r.url.includes("/resolve/")).length, 2);
    assert.equal(progress.at(-1), size);
  });

  it("keeps the partial when aborted and continues from it next time", async () => {
    hub.switches.bytesPerSecond = 4 * 1024 * 1024;
    const controller = new AbortController();
    const request = requestFor("big.bin", { signal: controller.signal, onProgress: (n) => { if (n > 512 * 1024) controller.abort(new Error("cancelled")); } });
    await assert.rejects(new BlobFetcher({ logger }).fetch(request), /cancelled/);
    const partial = path.join(dir, `${request.etag}.incomplete`);
    const kept = fs.statSync(partial).size;
    assert.ok(kept > 0 && kept < request.size, `partial holds ${kept}`);
    delete hub.switches.bytesPerSecond;
    const result = await new BlobFetcher({ logger }).fetch(requestFor("big.bin"));
    assert.equal(result.resumedFrom, kept);
    assert.equal(result.fetchedBytes, request.size - kept);
    assert.equal(sha256Hex(fs.readFileSync(result.blobPath)), request.etag);
    assert.equal(fs.existsSync(partial), false);
  });

  it("rejects a corrupted file, deletes it and succeeds on the one retry", async () => {
    hub.switches.corrupt = { path: SHARD, times: 1 };
    const result = await new BlobFetcher({ logger }).fetch(requestFor(SHARD));
    assert.equal(sha256Hex(fs.readFileSync(result.blobPath)), result.etag);
    assert.ok(logger.lines.some((l) => l.message === "downloaded file failed its checksum"));
  });

  it("fails loudly when the file is corrupted twice, leaving no blob", async () => {
    hub.switches.corrupt = { path: SHARD, times: 5 };
    const error = await new BlobFetcher({ logger }).fetch(requestFor(SHARD)).catch((e: unknown) => e);
    assert.ok(error instanceof HubError);
    assert.equal(error.code, "integrity_failed");
    assert.match(error.message, /failed its checksum twice/);
    assert.deepEqual(fs.readdirSync(dir), []);
  });

  it("waits out a 429 with Retry-After, then downloads", async () => {
    hub.switches.rateLimit = { times: 1, retryAfterSec: 1 };
    const started = Date.now();
    await new BlobFetcher({ logger }).fetch(requestFor(SHARD));
    assert.ok(Date.now() - started >= 950, "waited for Retry-After");
  });

  it("fails a disk-full write cleanly and keeps what was written for resume", async () => {
    const request = requestFor("big.bin");
    const error = await new BlobFetcher({ logger, openFile: enospcAfter(1024 * 1024) }).fetch(request).catch((e: unknown) => e);
    assert.ok(error instanceof HubError);
    assert.equal(error.code, "disk_full");
    assert.match(error.message, /disk is full.*kept/);
    assert.equal(fs.statSync(path.join(dir, `${request.etag}.incomplete`)).size, 1024 * 1024);
    const result = await new BlobFetcher({ logger }).fetch(requestFor("big.bin"));
    assert.equal(result.resumedFrom, 1024 * 1024);
    assert.equal(sha256Hex(fs.readFileSync(result.blobPath)), request.etag);
  });

  it("says what to do for a gated repo, a missing file and a missing token", async () => {
    const gated = await new BlobFetcher({ logger }).fetch(requestFor("model.safetensors", { token: undefined }, "org/gated")).catch((e: unknown) => e);
    assert.ok(gated instanceof HubError);
    assert.equal(gated.code, "hub_gated");
    assert.match(gated.message, /accept its conditions/);
    assert.match(gated.message, /HF_TOKEN/);
    const missing = await new BlobFetcher({ logger }).fetch({ ...requestFor(SHARD), url: `${hub.url}/${REPO}/resolve/main/nope.bin`, filePath: "nope.bin" }).catch((e: unknown) => e);
    assert.ok(missing instanceof HubError);
    assert.equal(missing.code, "hub_not_found");
    const ok = await new BlobFetcher({ logger }).fetch(requestFor("model.safetensors", {}, "org/gated"));
    assert.equal(ok.size, 1000);
  });
});
