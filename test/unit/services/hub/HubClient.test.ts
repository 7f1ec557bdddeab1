// The hub client through @huggingface/hub against the fake Hub over real HTTP.
import assert from "node:assert/strict";
import { HubClient } from "../../../../src/services/hub/HubClient";
import { hubEndpoint, hubOffline, hubTokenFile, readHubToken } from "../../../../src/services/hub/hubConfig";
import { HubError } from "../../../../src/services/hub/HubError";
import { silentLogger } from "../../../../src/services/logging/Logger";
import { HubSearchQuery } from "../../../../src/shared/hub";
import { type FakeHub, mlxRepoFiles, seededBytes, startFakeHub } from "../../../helpers/fakeHub";
import { makeTempDir, removeTempDir, writeHfRepo } from "../../../helpers/hfCache";
import fs from "node:fs";
import path from "node:path";

describe("HubClient", function () {
  let hub: FakeHub;
  let cacheDir: string;

  before(async () => {
    hub = await startFakeHub({
      pageSize: 2,
      repos: [
        { id: "mlx-community/Llama-3.2-1B-Instruct-4bit", downloads: 900, likes: 5, tags: ["mlx", "safetensors"], libraryName: "mlx", lastModified: "2025-03-01T00:00:00.000Z", cardData: { library_name: "mlx", license: "llama3.2" }, files: mlxRepoFiles(4096) },
        { id: "someone/qwen-mlx-8bit", downloads: 50, likes: 40, tags: ["mlx"], lastModified: "2025-05-01T00:00:00.000Z", files: mlxRepoFiles(1024, "q") },
        { id: "mlx-community/Qwen3-0.6B-4bit", downloads: 400, likes: 1, tags: ["mlx"], files: mlxRepoFiles(1024, "q3") },
        { id: "bartowski/Llama-GGUF", downloads: 700, tags: ["gguf"], files: { "a.Q4_K_M.gguf": seededBytes(3000, "a"), "a.Q8_0.gguf": seededBytes(5000, "b") } },
        { id: "org/private", private: true, tags: ["mlx"], files: { "config.json": Buffer.from("{}") } },
      ],
    });
    cacheDir = makeTempDir("hubclient-");
  });
  after(async () => {
    await hub.close();
    removeTempDir(cacheDir);
  });

  const client = (options: { offline?: boolean; token?: string } = {}): HubClient =>
    new HubClient({ endpoint: hub.url, offline: options.offline ?? false, token: () => options.token, cacheDir, logger: silentLogger });

  it("searches MLX repos (filter=mlx, not only mlx-community), sorted, across Link-header pages", async () => {
    const list = await client().search(HubSearchQuery.parse({ q: "", format: "mlx", sort: "downloads", limit: 10 }));
    assert.deepEqual(list.results.map((r) => r.id), ["mlx-community/Llama-3.2-1B-Instruct-4bit", "mlx-community/Qwen3-0.6B-4bit", "someone/qwen-mlx-8bit"]);
    assert.equal(list.hasMore, false);
    const first = list.results[0];
    assert.equal(first?.downloads, 900);
    assert.equal(first.lastModified, "2025-03-01T00:00:00.000Z");
    assert.equal(first.gated, false);
    const search = hub.requests.find((r) => r.url.startsWith("/api/models?"));
    assert.match(search?.url ?? "", /filter=mlx/);
    assert.ok(hub.requests.some((r) => r.url.includes("cursor=2")), "followed the Link header to page 2");
  });

  it("searches by text, GGUF, likes, paged, and answers a repeat from its cache", async () => {
    const c = client();
    const byLikes = await c.search(HubSearchQuery.parse({ q: "qwen", sort: "likes", limit: 1 }));
    assert.deepEqual(byLikes.results.map((r) => r.id), ["someone/qwen-mlx-8bit"]);
    assert.equal(byLikes.hasMore, true);
    const page2 = await c.search(HubSearchQuery.parse({ q: "qwen", sort: "likes", limit: 1, page: 1 }));
    assert.deepEqual(page2.results.map((r) => r.id), ["mlx-community/Qwen3-0.6B-4bit"]);
    const gguf = await c.search(HubSearchQuery.parse({ format: "gguf" }));
    assert.deepEqual(gguf.results.map((r) => r.id), ["bartowski/Llama-GGUF"]);
    const before = hub.requests.length;
    const again = await c.search(HubSearchQuery.parse({ q: "qwen", sort: "likes", limit: 1 }));
    assert.equal(again.cached, true);
    assert.equal(hub.requests.length, before);
  });

  it("gives details: files with LFS sizes, repo size vs download size, card data, config, cache state", async () => {
    const repo = "mlx-community/Llama-3.2-1B-Instruct-4bit";
    const fake = hub.repo(repo);
    const info = await client().info(repo);
    assert.equal(info.commit, fake.commit);
    assert.equal(info.files.length, fake.files.length);
    const shard = info.files.find((f) => f.path === "model-00001-of-00002.safetensors");
    assert.equal(shard?.lfs, true);
    assert.match(shard.etag, /^[0-9a-f]{64}$/);
    assert.equal(info.downloadSize, fake.files.reduce((s, f) => s + f.size, 0));
    assert.equal(info.repoSize, info.downloadSize * 2);
    assert.equal(info.cardData?.["license"], "llama3.2");
    assert.equal(info.modelType, "llama");
    assert.equal(info.architecture, "LlamaForCausalLM");
    assert.deepEqual(info.quantization, { bits: 4, groupSize: 64 });
    assert.deepEqual(info.cached, { present: false, commits: [], complete: false });
    writeHfRepo(cacheDir, { repoId: repo, revisions: [{ commit: fake.commit, refs: ["main"], files: { "config.json": "{}" } }] });
    const again = await client().info(repo);
    assert.deepEqual(again.cached, { present: true, commits: [fake.commit], complete: false });
  });

  it("turns Hub failures into messages that say what to do", async () => {
    const missing = await client().info("org/nope").catch((e: unknown) => e);
    assert.ok(missing instanceof HubError);
    assert.equal(missing.code, "hub_not_found");
    assert.match(missing.message, /Check the repo id/);
    const badRev = await client().info("someone/qwen-mlx-8bit", "v9").catch((e: unknown) => e);
    assert.ok(badRev instanceof HubError);
    assert.match(badRev.message, /revision "v9"/);
    const priv = await client({ token: hub.token }).info("org/private");
    assert.equal(priv.id, "org/private");
  });

  it("makes no network call at all with HF_HUB_OFFLINE", async () => {
    const before = hub.requests.length;
    const error = await client({ offline: true }).search(HubSearchQuery.parse({ q: "x" })).catch((e: unknown) => e);
    assert.ok(error instanceof HubError);
    assert.equal(error.code, "hub_offline");
    assert.match(error.message, /HF_HUB_OFFLINE=1.*Cached models still work/);
    assert.equal(hub.requests.length, before);
  });

  it("cancels a search through its AbortSignal", async () => {
    hub.switches.apiDelayMs = 2000;
    const controller = new AbortController();
    const pending = client().search(HubSearchQuery.parse({ q: "cancel-me" }), { signal: controller.signal });
    setTimeout(() => { controller.abort(new Error("replaced by a newer query")); }, 20);
    await assert.rejects(pending, /replaced by a newer query|aborted/);
    delete hub.switches.apiDelayMs;
  });

  it("reads HF_ENDPOINT, HF_HUB_OFFLINE and the token like huggingface_hub", () => {
    assert.equal(hubEndpoint({ HF_ENDPOINT: "http://mirror.local:8080/" }), "http://mirror.local:8080");
    assert.equal(hubEndpoint({}), "https://huggingface.co");
    assert.equal(hubOffline({ HF_HUB_OFFLINE: "1" }), true);
    assert.equal(hubOffline({ HF_HUB_OFFLINE: "0" }), false);
    const home = makeTempDir("hfhome-");
    try {
      assert.equal(hubTokenFile({ HF_HOME: path.join(home, "hf") }), path.join(home, "hf", "token"));
      assert.equal(hubTokenFile({}, home), path.join(home, ".cache", "huggingface", "token"));
      assert.equal(readHubToken({}, home), undefined);
      fs.mkdirSync(path.join(home, ".cache", "huggingface"), { recursive: true });
      fs.writeFileSync(path.join(home, ".cache", "huggingface", "token"), "hf_from_file\n");
      assert.deepEqual(readHubToken({}, home), { token: "hf_from_file", source: "file" });
      assert.deepEqual(readHubToken({ HF_TOKEN: "hf_env" }, home), { token: "hf_env", source: "env" });
    } finally {
      removeTempDir(home);
    }
  });
});
