// The watcher on a real folder with real file-system events.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { CacheScanner } from "../../../../src/services/cache/CacheScanner";
import { type CacheChange, CacheWatcher } from "../../../../src/services/cache/CacheWatcher";
import { silentLogger } from "../../../../src/services/logging/Logger";
import {
  commitFor,
  makeLargeCache,
  makeTempDir,
  removeTempDir,
  writeHfRepo,
  writeMlxRepo,
} from "../../../helpers/hfCache";

/** Resolves with the first recorded change that matches, or fails after `ms`. */
function waitForChange(
  changes: CacheChange[],
  match: (c: CacheChange) => boolean,
  ms = 5000,
): Promise<CacheChange> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = (): void => {
      const found = changes.find(match);
      if (found) resolve(found);
      else if (Date.now() - started > ms)
        reject(
          new Error(
            `no matching change within ${ms} ms; saw ${JSON.stringify(changes.map((c) => [c.type, c.id]))}`,
          ),
        );
      else setTimeout(poll, 20);
    };
    poll();
  });
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe("CacheWatcher", function () {
  this.timeout(20_000);
  let dir: string;
  let watcher: CacheWatcher | undefined;
  let scanner: CacheScanner;
  let changes: CacheChange[];

  beforeEach(() => {
    dir = makeTempDir("watch-");
    changes = [];
    scanner = new CacheScanner({ cacheDir: dir, logger: silentLogger });
  });
  afterEach(async () => {
    await watcher?.close();
    watcher = undefined;
    removeTempDir(dir);
  });

  async function startWatching(
    options: { debounceMs?: number; mode?: "recursive" | "folders" } = {},
  ): Promise<CacheWatcher> {
    await scanner.scan();
    watcher = new CacheWatcher({
      cacheDir: dir,
      scanner,
      logger: silentLogger,
      onChange: (c) => changes.push(c),
      ...options,
    });
    await watcher.start();
    return watcher;
  }

  it("reports a repo downloaded after it started, once the download settles", async () => {
    writeMlxRepo(dir, { repoId: "mlx-community/existing" });
    await startWatching();
    writeMlxRepo(dir, { repoId: "mlx-community/new-4bit", quantization: { bits: 4, groupSize: 64 } });
    const added = await waitForChange(changes, (c) => c.id === "mlx-community/new-4bit");
    assert.equal(added.type, "added");
    assert.equal(added.model?.format, "mlx");
    assert.equal(added.model.revisions[0]?.fileCount, 6);
    assert.ok(
      scanner.list().some((m) => m.id === "mlx-community/new-4bit"),
      "the scanner's list is current too",
    );
    await sleep(400);
    assert.equal(
      changes.filter((c) => c.id === "mlx-community/new-4bit").length,
      1,
      "one event for the whole download",
    );
  });

  it("reports a file added to a repo as a change, and a deleted repo as removed", async () => {
    const repo = writeMlxRepo(dir, { repoId: "mlx-community/grows" });
    await startWatching();
    writeHfRepo(dir, {
      repoId: "mlx-community/grows",
      revisions: [{ commit: commitFor("mlx-community/grows", 0), files: { "generation_config.json": "{}" } }],
    });
    const changed = await waitForChange(changes, (c) => c.type === "changed");
    assert.equal(changed.id, "mlx-community/grows");
    assert.equal(changed.model?.revisions[0]?.fileCount, 7);

    fs.rmSync(repo.path, { recursive: true });
    const removed = await waitForChange(changes, (c) => c.type === "removed");
    assert.deepEqual(removed, { type: "removed", id: "mlx-community/grows" });
    assert.deepEqual(scanner.list(), []);
  });

  it("sees a new revision, and files linked into it, in a repo it already watches", async () => {
    const repo = writeMlxRepo(dir, { repoId: "mlx-community/revs" });
    await startWatching({ debounceMs: 100 });
    const commit = commitFor("mlx-community/revs", 1);
    writeHfRepo(dir, {
      repoId: "mlx-community/revs",
      revisions: [{ commit, refs: ["refs/pr/1"], files: { "config.json": '{"model_type":"llama"}' } }],
    });
    await waitForChange(changes, (c) => c.model?.revisions.length === 2);
    // A second file whose blob already exists: only a symlink appears in the new snapshot.
    const etag = repo.etags[0]?.get("tokenizer.json") ?? "";
    fs.symlinkSync(`../../blobs/${etag}`, path.join(repo.path, "snapshots", commit, "tokenizer.json"));
    const linked = await waitForChange(
      changes,
      (c) => c.model?.revisions.find((r) => r.commit === commit)?.fileCount === 2,
    );
    assert.deepEqual(linked.model?.revisions.find((r) => r.commit === commit)?.refs, ["refs/pr/1"]);
  });

  it("works with one recursive watcher too (the macOS and Windows way)", async () => {
    const repo = writeMlxRepo(dir, { repoId: "mlx-community/old" });
    const w = await startWatching({ mode: "recursive", debounceMs: 100 });
    assert.equal(w.watcherCount, 1);
    writeMlxRepo(dir, { repoId: "mlx-community/fresh" });
    assert.equal((await waitForChange(changes, (c) => c.id === "mlx-community/fresh")).type, "added");
    fs.rmSync(repo.path, { recursive: true });
    assert.equal((await waitForChange(changes, (c) => c.id === "mlx-community/old")).type, "removed");
  });

  it("stops reporting after close()", async () => {
    await startWatching({ debounceMs: 50 });
    await watcher?.close();
    writeMlxRepo(dir, { repoId: "mlx-community/late" });
    await sleep(300);
    assert.deepEqual(changes, []);
  });

  it("watches folders, not files: a handful of watchers per repo", async () => {
    makeLargeCache(dir, 40, 20);
    const w = await startWatching();
    if (process.platform === "linux") {
      // root + per repo: its folder, blobs/, refs/, snapshots/, one snapshot (+ original/ in 1 of 10)
      assert.ok(w.watcherCount <= 1 + 40 * 6, `${w.watcherCount} watchers`);
      assert.ok(w.watcherCount < 40 * 20, "fewer watchers than files");
    } else {
      assert.equal(w.watcherCount, 1);
    }
  });
});
