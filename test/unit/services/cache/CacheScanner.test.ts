// The scanner against real cache trees, written the way huggingface_hub writes them.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { CacheScanner } from "../../../../src/services/cache/CacheScanner";
import { MemoryLogger, silentLogger } from "../../../../src/services/logging/Logger";
import type { CachedModel } from "../../../../src/shared/models";
import {
  TINY_DIMS,
  commitFor,
  llamaParameterCount,
  makeLargeCache,
  makeTempDir,
  mlxRepoFiles,
  removeTempDir,
  safetensorsBytes,
  writeGgufRepo,
  writeHfRepo,
  writeMlxRepo,
  writeRef,
} from "../../../helpers/hfCache";

function sum(values: Iterable<number>): number {
  let total = 0;
  for (const v of values) total += v;
  return total;
}

function byId(models: CachedModel[], id: string): CachedModel {
  const model = models.find((m) => m.id === id);
  assert.ok(model, `${id} is listed`);
  return model;
}

describe("CacheScanner", () => {
  let dir: string;
  beforeEach(() => {
    dir = makeTempDir("scan-");
  });
  afterEach(() => {
    removeTempDir(dir);
  });

  const scan = (logger = silentLogger): Promise<CachedModel[]> =>
    new CacheScanner({ cacheDir: dir, logger }).scan();

  describe("MLX models", () => {
    it("describes a quantized MLX repo: format, architecture, quantization, unpacked parameters, sizes", async () => {
      const written = writeMlxRepo(dir, {
        repoId: "mlx-community/Tiny-4bit",
        quantization: { bits: 4, groupSize: 64 },
      });
      const [model] = await scan();
      assert.ok(model);
      assert.equal(model.id, "mlx-community/Tiny-4bit");
      assert.equal(model.path, path.join(dir, "models--mlx-community--Tiny-4bit"));
      assert.equal(model.format, "mlx");
      assert.equal(model.architecture, "llama");
      assert.deepEqual(model.quantization, { label: "4-bit", bits: 4, groupSize: 64 });
      // hidden 64, 2 layers, vocab 128, intermediate 128, computed from the unquantized shapes:
      //   embed 128x64 = 8,192; per layer q,k,v,o 4x64x64 = 16,384, gate/up/down 3x128x64 = 24,576,
      //   two norms 128 → 41,088 per layer, 82,176 for two; final norm 64; lm_head 8,192.
      // Stored 4-bit, each weight is U32 [rows, cols/8]: unpacked x8, scales and biases left out.
      assert.equal(model.parameters, 8192 + 82176 + 64 + 8192);
      assert.equal(model.parameters, llamaParameterCount(TINY_DIMS));
      const blobBytes = sum(written.blobs.values());
      assert.equal(model.size, blobBytes);
      assert.equal(model.revisions.length, 1);
      const [revision] = model.revisions;
      assert.deepEqual(revision?.refs, ["main"]);
      assert.equal(revision.commit, written.commits[0]);
      assert.equal(revision.fileCount, written.etags[0]?.size);
      assert.equal(revision.size, blobBytes);
      assert.equal(revision.snapshotPath, path.join(model.path, "snapshots", written.commits[0] ?? ""));
      assert.ok(model.lastModified > 0 && model.lastAccessed > 0);
      assert.deepEqual(model.incomplete, []);
      assert.deepEqual(model.warnings, []);
    });

    it("recognises MLX from the model card, its tags, or MLX's quantization object", async () => {
      writeMlxRepo(dir, { repoId: "someone/card-says-mlx", readme: { libraryName: "mlx" } });
      writeMlxRepo(dir, {
        repoId: "someone/tag-says-mlx",
        readme: { libraryName: "transformers", tags: ["text-generation", "mlx"] },
      });
      writeMlxRepo(dir, {
        repoId: "someone/quantized",
        quantization: { bits: 8, groupSize: 32 },
        readme: false,
      });
      writeMlxRepo(dir, {
        repoId: "someone/plain-transformers",
        readme: { libraryName: "transformers", tags: ["llama"] },
      });
      const models = await scan();
      assert.equal(byId(models, "someone/card-says-mlx").format, "mlx");
      assert.equal(byId(models, "someone/tag-says-mlx").format, "mlx");
      assert.equal(byId(models, "someone/quantized").format, "mlx");
      const plain = byId(models, "someone/plain-transformers");
      assert.equal(plain.format, "safetensors");
      assert.equal(plain.parameters, llamaParameterCount(TINY_DIMS));
      assert.equal(plain.quantization, undefined);
    });

    it("reads every shard of a sharded model", async () => {
      writeMlxRepo(dir, {
        repoId: "mlx-community/Sharded-4bit",
        shards: 3,
        quantization: { bits: 4, groupSize: 64 },
      });
      const [model] = await scan();
      assert.equal(model?.parameters, llamaParameterCount(TINY_DIMS));
      assert.equal(model.revisions[0]?.fileCount, 9); // 3 shards, index, config, 2 tokenizer files, special tokens, README
      assert.deepEqual(model.warnings, []);
    });

    it("unpacks mixed-precision layers with their own bits", async () => {
      // One 8-bit layer among 4-bit ones, as mlx_lm's mixed quantization writes it.
      const tensors = safetensorsBytes([
        { name: "a.weight", dtype: "U32", shape: [64, 8] }, // 4-bit: 64 x 64
        { name: "a.scales", dtype: "F16", shape: [64, 1] },
        { name: "a.biases", dtype: "F16", shape: [64, 1] },
        { name: "b.weight", dtype: "U32", shape: [64, 16] }, // 8-bit: 64 x 64
        { name: "b.scales", dtype: "F16", shape: [64, 1] },
        { name: "b.biases", dtype: "F16", shape: [64, 1] },
        { name: "norm.weight", dtype: "F16", shape: [64] },
      ]);
      const config = {
        model_type: "qwen3",
        quantization: { group_size: 64, bits: 4, b: { group_size: 64, bits: 8 } },
      };
      writeHfRepo(dir, {
        repoId: "mlx-community/mixed",
        revisions: [
          { refs: ["main"], files: { "config.json": JSON.stringify(config), "model.safetensors": tensors } },
        ],
      });
      const [model] = await scan();
      assert.equal(model?.parameters, 64 * 64 + 64 * 64 + 64);
    });
  });

  describe("GGUF models", () => {
    it("lists each .gguf with its quantization and reads the architecture from the header", async () => {
      const tensors = [
        { name: "token_embd.weight", shape: [32, 16] },
        { name: "output_norm.weight", shape: [16] },
      ];
      writeGgufRepo(dir, {
        repoId: "bartowski/Tiny-GGUF",
        files: [
          { path: "Tiny-Q4_K_M.gguf", spec: { architecture: "qwen2", fileType: 15, tensors } },
          { path: "Tiny-Q8_0.gguf", spec: { architecture: "qwen2", fileType: 7, tensors } },
          { path: "extra/Tiny-IQ4_XS.gguf", spec: { architecture: "qwen2", tensors } },
        ],
      });
      const [model] = await scan();
      assert.ok(model);
      assert.equal(model.format, "gguf");
      assert.equal(model.architecture, "qwen2");
      assert.equal(model.parameters, 32 * 16 + 16);
      assert.equal(model.quantization, undefined, "several quantizations: none for the repo");
      assert.deepEqual(
        model.ggufFiles?.map((f) => [f.path, f.quantization?.label, f.quantization?.bits]),
        [
          ["Tiny-Q4_K_M.gguf", "Q4_K_M", 4],
          ["Tiny-Q8_0.gguf", "Q8_0", 8],
          ["extra/Tiny-IQ4_XS.gguf", "IQ4_XS", 4], // no general.file_type: from the name
        ],
      );
      for (const f of model.ggufFiles ?? []) assert.ok(f.size > 0);
    });

    it("gives a single-file repo that file's quantization", async () => {
      writeGgufRepo(dir, {
        repoId: "org/one-GGUF",
        files: [{ path: "one.Q4_K_M.gguf", spec: { architecture: "llama", fileType: 15 } }],
      });
      const [model] = await scan();
      assert.deepEqual(model?.quantization, { label: "Q4_K_M", bits: 4 });
      assert.equal(model.architecture, "llama");
    });
  });

  describe("cache layout", () => {
    it("lists partial downloads and leaves them out of the size", async () => {
      const written = writeHfRepo(dir, {
        repoId: "org/downloading",
        revisions: [{ refs: ["main"], files: { "config.json": "{}" } }],
        incomplete: [{ size: 1234 }, { size: 99, tagged: true }],
      });
      const [model] = await scan();
      assert.equal(model?.size, sum(written.blobs.values()));
      assert.deepEqual(
        [...model.incomplete].sort((a, b) => a.size - b.size),
        [
          { blob: written.incomplete[1], size: 99 },
          { blob: written.incomplete[0], size: 1234 },
        ],
      );
      assert.match(written.incomplete[1] ?? "", /^[0-9a-f]{64}\.[0-9a-f]{8}\.incomplete$/);
    });

    it("reports several revisions, refs/pr refs, and counts shared blobs once", async () => {
      const shared = "shared tokenizer";
      const written = writeHfRepo(dir, {
        repoId: "org/multi",
        revisions: [
          {
            refs: ["main"],
            files: {
              "config.json": JSON.stringify({ model_type: "llama" }),
              "tok.json": shared,
              "a.txt": "only in main",
            },
          },
          {
            refs: ["refs/pr/1", "dev"],
            files: { "config.json": JSON.stringify({ model_type: "mistral" }), "tok.json": shared },
          },
        ],
        locks: true,
      });
      const [model] = await scan();
      assert.ok(model);
      assert.equal(model.revisions.length, 2);
      const main = model.revisions.find((r) => r.commit === written.commits[0]);
      const pr = model.revisions.find((r) => r.commit === written.commits[1]);
      assert.deepEqual(main?.refs, ["main"]);
      assert.deepEqual(pr?.refs, ["dev", "refs/pr/1"]);
      const size = (etags: Map<string, string> | undefined): number =>
        sum([...new Set(etags?.values())].map((e) => written.blobs.get(e) ?? 0));
      assert.equal(main.fileCount, 3);
      assert.equal(main.size, size(written.etags[0]));
      assert.equal(pr.fileCount, 2);
      assert.equal(pr.size, size(written.etags[1]));
      assert.equal(model.size, sum(written.blobs.values()), "each blob once");
      assert.ok(model.size < main.size + pr.size);
      assert.equal(model.architecture, "llama", "metadata comes from the revision main points at");
      assert.deepEqual(model.warnings, []);
    });

    it("counts a blob that two files link to once", async () => {
      writeHfRepo(dir, {
        repoId: "org/dupes",
        revisions: [{ refs: ["main"], files: { "a.txt": "same", "b.txt": "same", "c.txt": "other" } }],
      });
      const [model] = await scan();
      assert.equal(model?.revisions[0]?.fileCount, 3);
      assert.equal(model.revisions[0].size, 4 + 5);
      assert.equal(model.size, 4 + 5);
    });

    it("counts a blob no revision links in the repo's size only", async () => {
      const written = writeHfRepo(dir, {
        repoId: "org/orphan",
        revisions: [{ refs: ["main"], files: { "a.txt": "linked" } }],
      });
      fs.writeFileSync(path.join(written.path, "blobs", "0".repeat(40)), "orphan!");
      const [model] = await scan();
      assert.equal(model?.revisions[0]?.fileCount, 1);
      assert.equal(model.revisions[0].size, 6);
      assert.equal(model.size, 6 + 7);
    });

    it("uses the newest revision when no ref points at one, and warns about refs to missing commits", async () => {
      const written = writeHfRepo(dir, {
        repoId: "org/no-main",
        revisions: [{ files: { "config.json": JSON.stringify({ model_type: "old" }) } }],
      });
      await new Promise((resolve) => setTimeout(resolve, 20));
      writeHfRepo(dir, {
        repoId: "org/no-main",
        revisions: [
          { commit: commitFor("x", 9), files: { "config.json": JSON.stringify({ model_type: "new" }) } },
        ],
      });
      writeRef(written.path, "main", "f".repeat(40));
      const [model] = await scan();
      assert.equal(model?.architecture, "new");
      assert.deepEqual(model.warnings, [`refs/main points at ${"f".repeat(40)}, which is not in snapshots/`]);
    });

    it("ignores datasets, spaces, dot-folders, .locks, .no_exist and stray files", async () => {
      writeHfRepo(dir, {
        repoId: "x/y",
        type: "dataset",
        revisions: [{ refs: ["main"], files: { "data.csv": "a,b" } }],
      });
      writeHfRepo(dir, {
        repoId: "x/s",
        type: "space",
        revisions: [{ refs: ["main"], files: { "app.py": "print(1)" } }],
      });
      writeHfRepo(dir, {
        repoId: "org/model",
        revisions: [
          { refs: ["main"], files: { "config.json": "{}" }, noExist: ["model.safetensors", "sub/x.bin"] },
        ],
        locks: true,
      });
      fs.mkdirSync(path.join(dir, ".hidden"));
      fs.writeFileSync(path.join(dir, "models--stray-file"), "");
      fs.writeFileSync(path.join(dir, "CACHEDIR.TAG"), "Signature: 8a477f597d28d172789f06886806bc55");
      const models = await scan();
      assert.deepEqual(
        models.map((m) => m.id),
        ["org/model"],
      );
      assert.equal(models[0]?.revisions[0]?.fileCount, 1);
    });

    it("skips a repo folder without snapshots/ and logs a warning", async () => {
      fs.mkdirSync(path.join(dir, "models--org--broken", "blobs"), { recursive: true });
      writeMlxRepo(dir, { repoId: "mlx-community/ok" });
      const logger = new MemoryLogger();
      const models = await scan(logger);
      assert.deepEqual(
        models.map((m) => m.id),
        ["mlx-community/ok"],
      );
      assert.ok(logger.lines.some((l) => l.level === "warn" && l.fields["folder"] === "models--org--broken"));
    });

    it("scans a repo folder that is a symlink into the cache, like huggingface_hub", async () => {
      const elsewhere = makeTempDir("elsewhere-");
      try {
        const written = writeMlxRepo(elsewhere, { repoId: "mlx-community/linked" });
        fs.symlinkSync(written.path, path.join(dir, written.folder));
        const [model] = await scan();
        assert.equal(model?.id, "mlx-community/linked");
        assert.equal(model.format, "mlx");
      } finally {
        removeTempDir(elsewhere);
      }
    });

    it("returns nothing for a cache folder that does not exist yet", async () => {
      const scanner = new CacheScanner({ cacheDir: path.join(dir, "nope"), logger: silentLogger });
      assert.deepEqual(await scanner.scan(), []);
    });
  });

  describe("broken repos", () => {
    it("turns what it cannot parse into warnings and keeps scanning", async () => {
      const files = mlxRepoFiles({ repoId: "org/broken-config", readme: { libraryName: "mlx" } });
      files["config.json"] = "{ this is not json";
      writeHfRepo(dir, { repoId: "org/broken-config", revisions: [{ refs: ["main"], files }] });

      const cut = mlxRepoFiles({ repoId: "mlx-community/truncated" });
      const weights = cut["model.safetensors"];
      assert.ok(weights instanceof Uint8Array);
      cut["model.safetensors"] = weights.subarray(0, 40);
      writeHfRepo(dir, { repoId: "mlx-community/truncated", revisions: [{ refs: ["main"], files: cut }] });

      const dangling = writeMlxRepo(dir, { repoId: "mlx-community/dangling" });
      const configEtag = dangling.etags[0]?.get("config.json") ?? "";
      fs.rmSync(path.join(dangling.path, "blobs", configEtag));

      writeGgufRepo(dir, {
        repoId: "org/bad-gguf",
        files: [{ path: "x.Q4_0.gguf", spec: { architecture: "llama" } }],
      });
      const ggufBlob = path.join(dir, "models--org--bad-gguf", "blobs");
      for (const blob of fs.readdirSync(ggufBlob))
        if (blob.length === 64) fs.writeFileSync(path.join(ggufBlob, blob), "GGUF?");

      writeMlxRepo(dir, { repoId: "mlx-community/fine" });
      const models = await scan();
      assert.equal(models.length, 5);

      const broken = byId(models, "org/broken-config");
      assert.equal(broken.architecture, undefined);
      assert.ok(
        broken.warnings.some((w) => w.startsWith("config.json: not valid JSON")),
        broken.warnings.join("; "),
      );

      const truncated = byId(models, "mlx-community/truncated");
      assert.equal(truncated.parameters, undefined);
      assert.ok(
        truncated.warnings.some((w) => w.startsWith("model.safetensors: truncated header")),
        truncated.warnings.join("; "),
      );

      const dang = byId(models, "mlx-community/dangling");
      assert.ok(
        dang.warnings.some((w) => w.includes("config.json is a dangling symlink")),
        dang.warnings.join("; "),
      );
      assert.equal(dang.revisions[0]?.fileCount, (dangling.etags[0]?.size ?? 0) - 1);

      const gguf = byId(models, "org/bad-gguf");
      assert.ok(
        gguf.warnings.some((w) => w.includes("x.Q4_0.gguf")),
        gguf.warnings.join("; "),
      );
      assert.deepEqual(gguf.ggufFiles?.[0]?.quantization, { label: "Q4_0", bits: 4 }, "the name still tells");

      assert.deepEqual(byId(models, "mlx-community/fine").warnings, []);
    });

    it("warns about a shard the index lists but the snapshot lacks", async () => {
      const written = writeMlxRepo(dir, { repoId: "mlx-community/missing-shard", shards: 2 });
      fs.rmSync(
        path.join(written.path, "snapshots", written.commits[0] ?? "", "model-00002-of-00002.safetensors"),
      );
      const [model] = await scan();
      assert.equal(model?.parameters, undefined);
      assert.ok(
        model?.warnings.some((w) =>
          w.includes("model-00002-of-00002.safetensors, listed in model.safetensors.index.json, is missing"),
        ),
      );
    });
  });

  describe("a large cache", function () {
    this.timeout(120_000);
    let large: string;
    let built: ReturnType<typeof makeLargeCache>;
    before(() => {
      large = makeTempDir("scan-large-");
      built = makeLargeCache(large, 1000, 20);
    });
    after(() => {
      removeTempDir(large);
    });

    it("scans 1,000 repos / 20,000 files and counts them right", async () => {
      const scanner = new CacheScanner({ cacheDir: large, logger: silentLogger });
      const models = await scanner.scan();
      assert.equal(models.length, 1000);
      assert.equal(sum(models.map((m) => m.revisions[0]?.fileCount ?? 0)), built.files);
      assert.equal(sum(models.map((m) => m.size)), built.bytes);
      assert.equal(models.filter((m) => m.format === "mlx").length, built.mlx);
      assert.equal(models.filter((m) => m.format === "gguf").length, built.gguf);
      assert.ok(models.every((m) => m.parameters !== undefined && m.warnings.length === 0));
      assert.deepEqual(
        models.map((m) => m.id),
        [...built.repoIds].sort(),
      );
    });

    // How fast: `npm run bench` (cache scan). Here: that only the changed repo is read again.
    it("rescans one changed repo without touching the others", async () => {
      const scanner = new CacheScanner({ cacheDir: large, logger: silentLogger });
      await scanner.scan();
      const before = scanner.list();
      const repoId = built.repoIds[10] ?? "";
      const folder = `models--${repoId.split("/").join("--")}`;
      for (let i = 0; i < 5; i++) {
        writeHfRepo(large, {
          repoId,
          revisions: [{ commit: commitFor(repoId, 0), files: { [`new-${i}.txt`]: `new ${i}` } }],
        });
        const model = await scanner.rescanRepo(folder);
        assert.equal(model?.revisions[0]?.fileCount, 21 + i);
      }
      const after = scanner.list();
      assert.equal(after.length, 1000);
      assert.equal(after.find((m) => m.id === repoId)?.revisions[0]?.fileCount, 25);
      for (const [i, m] of after.entries())
        if (m.id !== repoId) assert.equal(m, before[i], "other repos are the same objects");
    });
  });

  describe("rescanRepo and list", () => {
    it("adds, updates and drops one repo; list() reads no disk", async () => {
      const scanner = new CacheScanner({ cacheDir: dir, logger: silentLogger });
      writeMlxRepo(dir, { repoId: "mlx-community/a" });
      await scanner.scan();
      assert.deepEqual(
        scanner.list().map((m) => m.id),
        ["mlx-community/a"],
      );

      const b = writeGgufRepo(dir, {
        repoId: "org/b-GGUF",
        files: [{ path: "b.Q8_0.gguf", spec: { architecture: "llama", fileType: 7 } }],
      });
      assert.equal(scanner.list().length, 1, "list() does not look at the disk");
      const added = await scanner.rescanRepo(b.folder);
      assert.equal(added?.format, "gguf");
      assert.deepEqual(
        scanner.list().map((m) => m.id),
        ["mlx-community/a", "org/b-GGUF"],
      );

      fs.rmSync(b.path, { recursive: true });
      assert.equal(await scanner.rescanRepo(b.folder), undefined);
      assert.deepEqual(
        scanner.list().map((m) => m.id),
        ["mlx-community/a"],
      );
      assert.equal(await scanner.rescanRepo("../outside"), undefined);
      assert.equal(await scanner.rescanRepo("datasets--x--y"), undefined);
    });

    it("stops a scan when its signal aborts", async () => {
      writeMlxRepo(dir, { repoId: "mlx-community/a" });
      const scanner = new CacheScanner({ cacheDir: dir, logger: silentLogger });
      await assert.rejects(scanner.scan(AbortSignal.abort()), { name: "AbortError" });
      assert.deepEqual(scanner.list(), []);
    });
  });

  describe("metadata cache", () => {
    it("exports what it parsed by etag and uses it after import instead of reading", async () => {
      const written = writeMlxRepo(dir, {
        repoId: "mlx-community/cached",
        quantization: { bits: 4, groupSize: 64 },
      });
      const first = new CacheScanner({ cacheDir: dir, logger: silentLogger });
      const [model] = await first.scan();
      const exported = JSON.parse(JSON.stringify(first.exportMetaCache())) as {
        version: number;
        entries: Record<string, Record<string, unknown>>;
      };
      assert.equal(exported.version, 1);
      const configEtag = written.etags[0]?.get("config.json") ?? "";
      const weightsEtag = written.etags[0]?.get("model.safetensors") ?? "";
      assert.equal(exported.entries[configEtag]?.["kind"], "config");
      assert.equal(exported.entries[weightsEtag]?.["kind"], "safetensors");

      // Doctor the cached entries: a scanner that shows them did not read the files.
      const config = exported.entries[configEtag];
      assert.ok(config);
      config["modelType"] = "from-the-cache";
      const second = new CacheScanner({ cacheDir: dir, logger: silentLogger });
      second.importMetaCache(exported);
      const [again] = await second.scan();
      assert.equal(again?.architecture, "from-the-cache");
      assert.equal(again.parameters, model?.parameters);
    });

    it("ignores garbage on import", async () => {
      writeMlxRepo(dir, { repoId: "mlx-community/g" });
      const scanner = new CacheScanner({ cacheDir: dir, logger: silentLogger });
      for (const garbage of [null, "x", 42, [], { version: 2, entries: {} }, { version: 1, entries: "no" }])
        scanner.importMetaCache(garbage);
      scanner.importMetaCache({
        version: 1,
        entries: {
          "not-an-etag": { kind: "config", size: 1, mtimeMs: 1 },
          ["a".repeat(40)]: { kind: "config", size: "big" },
          ["b".repeat(40)]: { kind: "nonsense", size: 1, mtimeMs: 1 },
        },
      });
      const [model] = await scanner.scan();
      assert.equal(model?.architecture, "llama");
      const exported = scanner.exportMetaCache() as { entries: Record<string, unknown> };
      assert.equal(Object.keys(exported.entries).length, 2, "config and weights; none of the garbage");
    });

    it("is keyed by content, so a changed blob is parsed again", async () => {
      const written = writeMlxRepo(dir, { repoId: "someone/changes", readme: { libraryName: "mlx" } });
      const scanner = new CacheScanner({ cacheDir: dir, logger: silentLogger });
      assert.equal((await scanner.scan())[0]?.architecture, "llama");
      // A new commit with a new config.json (a new blob) moves main.
      const files = mlxRepoFiles({
        repoId: "someone/changes",
        modelType: "qwen3",
        readme: { libraryName: "mlx" },
      });
      const next = writeHfRepo(dir, {
        repoId: "someone/changes",
        revisions: [{ commit: commitFor("someone/changes", 1), refs: ["main"], files }],
      });
      assert.equal(next.path, written.path);
      const model = await scanner.rescanRepo(written.folder);
      assert.equal(model?.architecture, "qwen3");
      assert.equal(model.revisions.length, 2);
    });
  });
});
