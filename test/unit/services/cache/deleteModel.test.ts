import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { CacheScanner } from "../../../../src/services/cache/CacheScanner";
import { CacheDeleteError, deleteModel } from "../../../../src/services/cache/deleteModel";
import { MemoryLogger, silentLogger } from "../../../../src/services/logging/Logger";
import {
  makeTempDir,
  mlxRepoFiles,
  removeTempDir,
  writeHfRepo,
  writeMlxRepo,
} from "../../../helpers/hfCache";

/** Bytes of the regular files under `dir` (symlinks not followed). */
function fileBytes(dir: string): number {
  let total = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) total += fileBytes(file);
    else if (entry.isFile()) total += fs.statSync(file).size;
  }
  return total;
}

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof CacheDeleteError, `a CacheDeleteError, got ${String(error)}`);
    assert.equal(error.code, code);
    return true;
  });
}

describe("deleteModel", () => {
  let root: string;
  let cacheDir: string;
  let outside: string;
  beforeEach(() => {
    root = makeTempDir("delete-");
    cacheDir = path.join(root, "hub");
    outside = path.join(root, "precious");
    fs.mkdirSync(cacheDir);
    fs.mkdirSync(outside);
    fs.writeFileSync(path.join(outside, "keep.txt"), "do not delete me");
  });
  afterEach(() => {
    removeTempDir(root);
  });

  const outsideIntact = (): void => {
    assert.equal(fs.readFileSync(path.join(outside, "keep.txt"), "utf8"), "do not delete me");
  };

  it("deletes a whole repo and reports the bytes freed", async () => {
    const written = writeHfRepo(cacheDir, {
      repoId: "mlx-community/gone",
      revisions: [
        { refs: ["main"], files: mlxRepoFiles({ repoId: "mlx-community/gone" }), noExist: ["x.bin"] },
      ],
      incomplete: [{ size: 500 }],
    });
    writeMlxRepo(cacheDir, { repoId: "mlx-community/stays" });
    const expected = fileBytes(written.path);
    const logger = new MemoryLogger();
    const { freedBytes } = await deleteModel({ cacheDir, repoId: "mlx-community/gone", logger });
    assert.equal(freedBytes, expected);
    assert.ok(freedBytes > 500);
    assert.equal(fs.existsSync(written.path), false);
    const models = await new CacheScanner({ cacheDir, logger: silentLogger }).scan();
    assert.deepEqual(
      models.map((m) => m.id),
      ["mlx-community/stays"],
    );
    assert.ok(logger.lines.some((l) => l.level === "info"));
  });

  it("deletes one revision: its snapshot, its refs, and only blobs no other revision links", async () => {
    const shared = "shared tokenizer contents";
    const written = writeHfRepo(cacheDir, {
      repoId: "org/two",
      revisions: [
        { refs: ["main"], files: { "config.json": '{"model_type":"llama"}', "tok.json": shared } },
        {
          refs: ["refs/pr/1"],
          files: {
            "config.json": '{"model_type":"mistral"}',
            "tok.json": shared,
            "sub/extra.txt": "pr only",
          },
        },
      ],
    });
    const [mainCommit, prCommit] = written.commits;
    assert.ok(mainCommit && prCommit);
    const prOnly = [...(written.etags[1]?.values() ?? [])].filter(
      (e) => ![...(written.etags[0]?.values() ?? [])].includes(e),
    );
    const expected = prOnly.reduce((a, e) => a + (written.blobs.get(e) ?? 0), 0);

    const { freedBytes } = await deleteModel({
      cacheDir,
      repoId: "org/two",
      revision: "refs/pr/1",
      logger: silentLogger,
    });
    assert.equal(freedBytes, expected);
    assert.equal(fs.existsSync(path.join(written.path, "snapshots", prCommit)), false);
    assert.equal(fs.existsSync(path.join(written.path, "refs", "refs", "pr", "1")), false);
    for (const etag of written.etags[0]?.values() ?? [])
      assert.ok(fs.existsSync(path.join(written.path, "blobs", etag)), "main's blobs stay");
    for (const etag of prOnly) assert.equal(fs.existsSync(path.join(written.path, "blobs", etag)), false);

    const [model] = await new CacheScanner({ cacheDir, logger: silentLogger }).scan();
    assert.equal(model?.revisions.length, 1);
    assert.equal(model.revisions[0]?.commit, mainCommit);
    assert.deepEqual(model.warnings, []);
  });

  it("takes a commit sha as the revision, and deletes the repo with its last revision", async () => {
    const written = writeMlxRepo(cacheDir, { repoId: "mlx-community/single" });
    await deleteModel({
      cacheDir,
      repoId: "mlx-community/single",
      revision: written.commits[0] ?? "",
      logger: silentLogger,
    });
    assert.equal(fs.existsSync(written.path), false);
  });

  it("says model_missing for an unknown repo or revision", async () => {
    writeMlxRepo(cacheDir, { repoId: "mlx-community/here" });
    await rejectsWith(
      deleteModel({ cacheDir, repoId: "mlx-community/absent", logger: silentLogger }),
      "model_missing",
    );
    await rejectsWith(
      deleteModel({ cacheDir, repoId: "mlx-community/here", revision: "f".repeat(40), logger: silentLogger }),
      "model_missing",
    );
    await rejectsWith(
      deleteModel({
        cacheDir,
        repoId: "mlx-community/here",
        revision: "no-such-branch",
        logger: silentLogger,
      }),
      "model_missing",
    );
  });

  it("refuses repo ids and revisions that could reach outside the cache", async () => {
    writeMlxRepo(cacheDir, { repoId: "mlx-community/here" });
    for (const repoId of [
      "../precious",
      "mlx-community/../../precious",
      "..",
      "/etc/passwd",
      outside,
      "a/b/c",
      "x\\..\\y",
      "a\0b",
      "C:/x",
      "",
      "org/",
      "a--b/c",
    ]) {
      await rejectsWith(deleteModel({ cacheDir, repoId, logger: silentLogger }), "path_outside_cache");
    }
    for (const revision of ["../../precious", "/etc", "..", "main/../../x"]) {
      await rejectsWith(
        deleteModel({ cacheDir, repoId: "mlx-community/here", revision, logger: silentLogger }),
        "path_outside_cache",
      );
    }
    outsideIntact();
    assert.ok(fs.existsSync(path.join(cacheDir, "models--mlx-community--here")));
  });

  it("unlinks a snapshot symlink that points outside the cache, never its target", async () => {
    const written = writeHfRepo(cacheDir, {
      repoId: "org/sneaky",
      revisions: [
        { refs: ["main"], files: { "config.json": "{}" } },
        { refs: ["dev"], files: { "other.txt": "x" } },
      ],
    });
    const snapshot = path.join(written.path, "snapshots", written.commits[1] ?? "");
    fs.symlinkSync(path.join(outside, "keep.txt"), path.join(snapshot, "escape.txt"));
    fs.symlinkSync(outside, path.join(snapshot, "escape-dir"));
    await deleteModel({ cacheDir, repoId: "org/sneaky", revision: "dev", logger: silentLogger });
    assert.equal(fs.existsSync(snapshot), false);
    outsideIntact();

    fs.symlinkSync(path.join(outside, "keep.txt"), path.join(written.path, "blobs", "a".repeat(40)));
    await deleteModel({ cacheDir, repoId: "org/sneaky", logger: silentLogger });
    assert.equal(fs.existsSync(written.path), false);
    outsideIntact();
  });

  it("refuses a repo folder that is itself a symlink to outside the cache", async () => {
    const real = writeMlxRepo(outside, { repoId: "mlx-community/linked" });
    fs.symlinkSync(real.path, path.join(cacheDir, real.folder));
    await rejectsWith(
      deleteModel({ cacheDir, repoId: "mlx-community/linked", logger: silentLogger }),
      "path_outside_cache",
    );
    await rejectsWith(
      deleteModel({ cacheDir, repoId: "mlx-community/linked", revision: "main", logger: silentLogger }),
      "path_outside_cache",
    );
    assert.ok(fs.existsSync(path.join(real.path, "blobs")));
    outsideIntact();
  });

  it("refuses to delete a revision through a blobs/ or snapshots/ folder that is a symlink", async () => {
    const written = writeHfRepo(cacheDir, {
      repoId: "org/linked-blobs",
      revisions: [
        { refs: ["main"], files: { "a.txt": "a" } },
        { refs: ["dev"], files: { "b.txt": "b" } },
      ],
    });
    const blobs = path.join(written.path, "blobs");
    fs.renameSync(blobs, path.join(outside, "blobs"));
    fs.symlinkSync(path.join(outside, "blobs"), blobs);
    await rejectsWith(
      deleteModel({ cacheDir, repoId: "org/linked-blobs", revision: "dev", logger: silentLogger }),
      "path_outside_cache",
    );
    assert.equal(fs.readdirSync(path.join(outside, "blobs")).length, 2);
    outsideIntact();
  });
});
