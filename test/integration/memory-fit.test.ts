// The memory estimate through the real manager: a Hub model's family against this machine (the
// fake Hub over real HTTP: sibling MLX quantizations, and a GGUF repo whose header is read by HTTP
// range through the CDN redirect), the estimate of a cached model, a start refused with the
// numbers when the model cannot fit — and the estimate against measured memory: a generated GGUF
// of ~250 MB on the built-in `llama` engine at two contexts, its RSS read from /proc.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import type { MemoryFit, HubFit } from "../../src/shared/memory";
import type { ServerInfo } from "../../src/shared/servers";
import { startFakeHub, type FakeHub } from "../helpers/fakeHub";
import { makeTempDir, removeTempDir, writeHfRepo } from "../helpers/hfCache";
import { runCli, startManager, type RunningManager } from "../helpers/manager";
import { tinyGgufBytes } from "../helpers/tinyGguf";

const QWEN3_8B = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "fixtures", "configs", "qwen3-8b.json"), "utf8")) as Record<string, unknown>;
const config = (bits: number): Buffer => Buffer.from(JSON.stringify({ ...QWEN3_8B, quantization: { bits, group_size: 64 } }));
const GB = 1e9;

describe("memory estimates through the real manager", function () {
  this.timeout(120_000);
  let root: string;
  let hub: FakeHub;
  let manager: RunningManager;

  before(async () => {
    const tiny = tinyGgufBytes(1);
    hub = await startFakeHub({
      repos: [
        { id: "mlx-community/Qwen3-8B-4bit", downloads: 900, tags: ["mlx"], files: { "config.json": config(4), "model.safetensors": { declaredSize: 4.6 * GB }, "tokenizer.json": Buffer.from("{}") } },
        { id: "mlx-community/Qwen3-8B-8bit", downloads: 700, tags: ["mlx"], files: { "config.json": config(8), "model-00001-of-00002.safetensors": { declaredSize: 4.5 * GB }, "model-00002-of-00002.safetensors": { declaredSize: 4.2 * GB } } },
        { id: "mlx-community/Qwen3-8B-bf16", downloads: 500, tags: ["mlx"], files: { "config.json": Buffer.from(JSON.stringify(QWEN3_8B)), "model.safetensors": { declaredSize: 16.4 * GB } } },
        // Not the family: another base model, another author.
        { id: "mlx-community/Qwen3-8B-Base-4bit", downloads: 400, tags: ["mlx"], files: { "config.json": config(4), "model.safetensors": { declaredSize: 4.6 * GB } } },
        { id: "someone/Qwen3-8B-4bit", downloads: 300, tags: ["mlx"], files: { "config.json": config(4), "model.safetensors": { declaredSize: 4.6 * GB } } },
        {
          id: "test/tiny-GGUF",
          tags: ["gguf"],
          files: {
            "tiny-Q4_K_M.gguf": tiny,
            "tiny-Q8_0.gguf": Buffer.concat([tiny, Buffer.alloc(tiny.length)]),
            "tiny-F16-00001-of-00002.gguf": { declaredSize: 3 * GB },
            "tiny-F16-00002-of-00002.gguf": { declaredSize: 2 * GB },
            "mmproj-tiny-F16.gguf": { declaredSize: 0.5 * GB },
          },
        },
      ],
    });
    root = makeTempDir("mlx-memory-");
    const hfCache = path.join(root, "hub");
    fs.mkdirSync(hfCache);
    writeHfRepo(hfCache, { repoId: "test/tiny-gguf", revisions: [{ refs: ["main"], files: { "tiny-F32.gguf": tiny } }] });
    // A model of 30 GB on disk (sparse: the header is real, the rest holes).
    const huge = path.join(root, "huge.gguf");
    fs.writeFileSync(huge, tiny);
    fs.truncateSync(huge, 30 * GB);
    manager = await startManager({
      dataDir: path.join(root, "data"),
      hfCache,
      extraArgs: ["--no-watch"],
      env: { HF_ENDPOINT: hub.url, HF_HOME: path.join(root, "hf-home"), HF_TOKEN: "", HF_HUB_OFFLINE: "", MLX_MANAGER_USABLE_MEMORY: "12GB" },
    });
  });

  after(async () => {
    await manager.stop();
    await hub.close();
    removeTempDir(root);
  });

  const fit = async (query: string): Promise<HubFit> => {
    const answer = await manager.api("GET", `/api/hub/fit?${query}`);
    assert.equal(answer.status, 200, answer.text);
    return answer.json as HubFit;
  };

  it("an MLX model's family: each quantization at 8k, the chosen context and 32k, marked against this machine, the best that fits suggested", async () => {
    const family = await fit("repo=mlx-community/Qwen3-8B-4bit&context=16384");
    assert.deepEqual(family.contexts, [8192, 16_384, 32_768]);
    assert.equal(family.usable.bytes, 12 * GB);
    assert.match(family.usable.basis, /MLX_MANAGER_USABLE_MEMORY/);
    assert.equal(family.engine, "mlx-lm");
    assert.deepEqual(family.variants.map((v) => [v.repo, v.label, v.weightsBytes, v.current]), [
      ["mlx-community/Qwen3-8B-4bit", "4-bit", 4.6 * GB, true],
      ["mlx-community/Qwen3-8B-8bit", "8-bit", 8.7 * GB, false],
      ["mlx-community/Qwen3-8B-bf16", "16-bit", 16.4 * GB, false],
    ]);
    const verdicts = family.variants.map((v) => v.needs.map((n) => n.verdict));
    // 147,456 bytes a token (36 layers, 8 KV heads of 128) + 400 MB for mlx_lm.server.
    assert.deepEqual(verdicts, [
      ["fits", "fits", "fits"],
      ["tight", "tight", "does_not_fit"],
      ["does_not_fit", "does_not_fit", "does_not_fit"],
    ]);
    assert.equal(family.variants[0]?.needs[0]?.totalBytes, 4.6 * GB + 8192 * 147_456 + 400e6);
    assert.equal(family.variants[0].needs[0].kvBytes, 8192 * 147_456);
    assert.deepEqual(family.suggested, { repo: "mlx-community/Qwen3-8B-4bit", label: "4-bit" });
    assert.equal(family.basis, "shape");
    assert.match(family.notes.join("; "), /GQA: 8 KV heads of 32, 128 wide/);
  });

  it("mlx-manager info --fit --context prints the family's table and the suggestion", async () => {
    const cli = await runCli(["--data-dir", path.join(root, "data"), "info", "mlx-community/Qwen3-8B-4bit", "--fit", "--context", "16384"], { HF_ENDPOINT: hub.url, HF_HOME: path.join(root, "hf-home"), HF_TOKEN: "" });
    assert.equal(cli.code, 0, cli.stderr);
    const lines = cli.stdout.trim().split("\n");
    assert.match(lines[0] ?? "", /^mlx-community\/Qwen3-8B-4bit: 3 variants on mlx-lm, against 12\.0 GB usable/);
    assert.match(cli.stdout, /VARIANT\s+QUANT\s+WEIGHTS\s+AT 8K\s+AT 16K\s+AT 32K/);
    assert.match(cli.stdout, /\* mlx-community\/Qwen3-8B-4bit\s+4-bit\s+4\.6 GB\s+6\.2 GB fits\s+7\.4 GB fits\s+9\.8 GB fits/);
    assert.match(cli.stdout, /mlx-community\/Qwen3-8B-bf16\s+16-bit\s+16\.4 GB\s+18\.0 GB does not fit/);
    assert.match(lines.at(-1) ?? "", /^Suggested: mlx-community\/Qwen3-8B-4bit \(4-bit\), the most bits that fit\.$/);
    const bad = await runCli(["--data-dir", path.join(root, "data"), "info", "mlx-community/Qwen3-8B-4bit", "--context", "16384"], {});
    assert.equal(bad.code, 2);
  });

  it("reads config.json for the one repo asked about, once per content (by etag), and never for a search", async () => {
    const configReads = (): string[] => hub.requests.filter((r) => r.url.includes("/resolve/") && r.url.endsWith("/config.json")).map((r) => r.url);
    const before = configReads().length;
    await fit("repo=mlx-community/Qwen3-8B-8bit");
    const after = configReads();
    assert.equal(after.length, before + 1);
    assert.match(after.at(-1) ?? "", /Qwen3-8B-8bit/);
    await fit("repo=mlx-community/Qwen3-8B-8bit&context=4096");
    assert.equal(configReads().length, before + 1, "the second look reads no config.json");
    const search = await manager.api("GET", "/api/hub/search?q=Qwen3&format=mlx");
    assert.equal(search.status, 200);
    assert.equal(configReads().length, before + 1, "search results read no config.json");
  });

  it("a GGUF repo: one variant per quant (split parts summed, the projector left out), the shape from the smallest file's header read by range through the CDN without the token", async () => {
    const family = await fit("repo=test/tiny-GGUF&context=2048");
    assert.deepEqual(family.variants.map((v) => [v.label, v.file, v.bits]), [
      ["Q4_K_M", "tiny-Q4_K_M.gguf", 4],
      ["Q8_0", "tiny-Q8_0.gguf", 8],
      ["F16", "tiny-F16-00001-of-00002.gguf", 16],
    ]);
    assert.equal(family.variants[2]?.weightsBytes, 5 * GB);
    assert.equal(family.basis, "shape");
    assert.equal(family.engine, process.platform === "darwin" ? "llama-server" : "llama");
    const asked = hub.requests.filter((r) => r.host === "hub" && r.url.includes("/resolve/") && r.url.endsWith(".gguf"));
    assert.deepEqual(asked.map((r) => [r.url.replace(/^.*\//, ""), r.range?.startsWith("bytes=0-")]), [["tiny-Q4_K_M.gguf", true]], "only the smallest file's start");
    const cdn = hub.requests.filter((r) => r.host === "cdn");
    assert.ok(cdn.length > 0 && cdn.every((r) => r.range?.startsWith("bytes=0-") && r.authorization === undefined), JSON.stringify(cdn));
    assert.ok(!hub.requests.some((r) => r.url.includes("tiny-F16") && r.url.includes("/resolve/")), "the large files are not read");
    assert.deepEqual(family.suggested?.label, "F16");
  });

  it("the estimate of a cached model for a profile, and a start refused with the numbers when the model cannot fit", async () => {
    const estimate = await manager.api("POST", "/api/memory/estimate", { model: { source: "cache", repoId: "test/tiny-gguf", file: "tiny-F32.gguf" }, engine: "llama", options: { contextLength: 2048 } });
    assert.equal(estimate.status, 200, estimate.text);
    const tiny = estimate.json as MemoryFit;
    assert.equal(tiny.verdict, "fits");
    assert.equal(tiny.need.context, 2048);
    assert.equal(tiny.need.basis, "shape");
    assert.match(tiny.summary, /^\d+ MB \(\d+ MB weights \+ \d+ MB cache at 2,048 tokens \+ 130 MB engine\)$/);
    const bad = await manager.api("POST", "/api/memory/estimate", { model: { source: "cache", repoId: "nobody/nothing" }, engine: "llama" });
    assert.equal(bad.status, 404);

    const created = await manager.api("POST", "/api/profiles", { name: "huge", engine: "llama", model: { source: "path", path: path.join(root, "huge.gguf") }, options: { threads: 1, contextLength: 2048 } });
    assert.equal(created.status, 201, created.text);
    const started = await manager.api("POST", "/api/servers/huge/start", {});
    assert.equal(started.status, 409, started.text);
    const error = (started.json as { error: { code: string; message: string } }).error;
    assert.equal(error.code, "does_not_fit");
    assert.match(error.message, /^"huge" needs about 30\.\d GB \(30\.0 GB weights \+ \d+ MB cache at 2,048 tokens \+ 130 MB engine\), more than the 12\.0 GB this machine can give a model \(set by MLX_MANAGER_USABLE_MEMORY=12GB\)\. Pick a smaller quantization, or a shorter context/);
    const servers = (await manager.api("GET", "/api/servers")).json as { servers: ServerInfo[] };
    assert.ok(!servers.servers.some((s) => s.profileName === "huge" && s.pid !== undefined), "nothing was spawned");
  });
});

describe("the estimate against measured memory (the built-in llama engine, /proc RSS)", function () {
  this.timeout(180_000);
  let root: string;
  let manager: RunningManager;

  before(async () => {
    root = makeTempDir("mlx-memory-measure-");
    const hfCache = path.join(root, "hub");
    fs.mkdirSync(hfCache);
    // ~254 MB of weights (4 blocks of 1024 wide, 8 KV heads of 16), so they outweigh Node's own memory.
    const big = tinyGgufBytes(1, { embedding: 1024, feedForward: 4096, heads: 16, kvHeads: 8, blocks: 4 });
    writeHfRepo(hfCache, { repoId: "test/measure-gguf", revisions: [{ refs: ["main"], files: { "big-F32.gguf": big, "tiny-F32.gguf": tinyGgufBytes(1) } }] });
    manager = await startManager({ dataDir: path.join(root, "data"), hfCache, extraArgs: ["--no-watch"] });
  });

  after(async () => {
    await manager.api("POST", "/api/servers/stop-all", {});
    await manager.stop();
    removeTempDir(root);
  });

  /** RSS of a profile's server after it answered one request, and the manager's estimate for it. */
  async function measure(name: string, file: string, contextLength: number): Promise<{ rss: number; fit: MemoryFit }> {
    const model = { source: "cache", repoId: "test/measure-gguf", file };
    const created = await manager.api("POST", "/api/profiles", { name, engine: "llama", model, options: { threads: 1, contextLength } });
    assert.equal(created.status, 201, created.text);
    const started = await manager.api("POST", `/api/servers/${name}/start`, {});
    assert.equal(started.status, 200, started.text);
    const pid = (started.json as ServerInfo).pid;
    assert.ok(pid !== undefined);
    const reply = await manager.api("POST", "/v1/chat/completions", { model: name, max_tokens: 4, messages: [{ role: "user", content: "Once upon a time" }] });
    assert.equal(reply.status, 200, reply.text);
    const rss = Number(/VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]) * 1024;
    const fit = (await manager.api("POST", "/api/memory/estimate", { model, engine: "llama", options: { contextLength } })).json as MemoryFit;
    await manager.api("POST", `/api/servers/${name}/stop`, {});
    return { rss, fit };
  }

  it("within 10 % of the RSS it measures (Linux's /proc), the whole and the growth over the engine at rest, at 2k and 32k tokens", async () => {
    const base = await measure("rest", "tiny-F32.gguf", 2048);
    const rows: string[] = [];
    for (const context of [2048, 32_768]) {
      const { rss, fit } = await measure(`big-${context}`, "big-F32.gguf", context);
      const estimate = fit.need.totalBytes;
      const growth = rss - base.rss;
      const estimatedGrowth = fit.need.weightsBytes + fit.need.kvBytes - (base.fit.need.weightsBytes + base.fit.need.kvBytes);
      rows.push(`${context} tokens: RSS ${(rss / 1e6).toFixed(1)} MB, estimate ${(estimate / 1e6).toFixed(1)} MB (${(((estimate - rss) / rss) * 100).toFixed(1)} %); growth over the engine at rest ${(growth / 1e6).toFixed(1)} MB, estimated ${(estimatedGrowth / 1e6).toFixed(1)} MB (${(((estimatedGrowth - growth) / growth) * 100).toFixed(1)} %)`);
      assert.ok(Math.abs(estimate - rss) / rss < 0.1, rows.at(-1));
      assert.ok(Math.abs(estimatedGrowth - growth) / growth < 0.1, rows.at(-1));
    }
    process.stdout.write(`      figures: at rest ${(base.rss / 1e6).toFixed(1)} MB (estimate ${(base.fit.need.totalBytes / 1e6).toFixed(1)} MB); ${rows.join("; ")}\n`);
  });
});
