// Perplexity through the real service: migration 10 from schema 9, a real store, Debian's python3
// running our entry point (python/mlx_manager_perplexity.py) against the mlx and mlx_lm stand-ins
// (eval_ppl as upstream computes it, with the stand-in's losses); what cannot be measured is refused.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ApiError } from "../../../../src/services/api/ApiError";
import { PerplexityService } from "../../../../src/services/bench/PerplexityService";
import { EventBus } from "../../../../src/services/events/EventBus";
import { MemoryLogger } from "../../../../src/services/logging/Logger";
import { MIGRATIONS } from "../../../../src/services/store/migrations";
import { Store } from "../../../../src/services/store/Store";
import type { Profile } from "../../../../src/shared/profiles";
import { mlxRepoFiles } from "../../../helpers/hfCache";

const ROOT = path.resolve(__dirname, "..", "..", "..", "..");

describe("perplexity (PerplexityService, python3 + the mlx_lm stand-in)", function () {
  this.timeout(30_000);
  let dir: string;
  let store: Store;
  let model: string;
  let text: string;
  const events = new EventBus();
  const seen: string[] = [];
  events.subscribe((e) => void seen.push(e.type));
  const profiles = new Map<string, Profile>();
  const profile = (name: string, engine: Profile["engine"], modelPath: string): Profile => {
    const p: Profile = { id: `id-${name}`, name, engine, model: { source: "path", path: modelPath }, port: "auto", options: {}, restartOnCrash: false, idleTimeoutSec: null, pinned: false, group: null, version: 1, createdAt: 0, updatedAt: 0 };
    profiles.set(name, p);
    return p;
  };
  const service = (env: NodeJS.ProcessEnv = { ...process.env, PYTHONPATH: path.join(ROOT, "test", "helpers", "standins", "python") }): PerplexityService =>
    new PerplexityService({
      store,
      events,
      logger: new MemoryLogger(),
      catalog: { list: () => [] },
      profile: (idOrName) => {
        const found = profiles.get(idOrName) ?? [...profiles.values()].find((p) => p.id === idOrName);
        if (found === undefined) throw new ApiError(404, "not_found", `No profile ${idOrName}.`);
        return found;
      },
      ensureRunning: () => Promise.reject(new Error("no server in this test")),
      python: () => "python3",
      entryScript: path.join(ROOT, "python", "mlx_manager_perplexity.py"),
      env,
    });

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "perplexity-"));
    const logger = new MemoryLogger();
    // A schema-9 store first: migration 10 adds the benchmarks and perplexity tables to it.
    (await Store.open({ dir, logger, migrations: MIGRATIONS.filter((m) => m.version <= 9) })).store.close();
    store = (await Store.open({ dir, logger, migrations: MIGRATIONS.filter((m) => m.version <= 10) })).store;
    model = path.join(dir, "model");
    fs.mkdirSync(model);
    for (const [name, content] of Object.entries(mlxRepoFiles({ repoId: "test/tiny" }))) fs.writeFileSync(path.join(model, name), content);
    text = path.join(dir, "fable.txt");
    fs.writeFileSync(text, "Once upon a time a little fox lived near a big green hill. ".repeat(40));
  });
  after(() => {
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("migration 10 adds the benchmarks and perplexity tables to a schema-9 store", () => {
    assert.equal(store.schemaVersion, 10);
    assert.deepEqual(store.all("SELECT * FROM benchmarks"), []);
    assert.deepEqual(store.all("SELECT * FROM perplexity"), []);
  });

  it("measures an MLX model with mlx_lm's eval_ppl through our entry point: rows of the sequence length, the same value every time, kept with the text's name and hash", async () => {
    profile("tiny-mlx", "mlx-lm", model);
    const first = await service().measure({ profile: "tiny-mlx", file: text, sequenceLength: 64 }, AbortSignal.timeout(20_000));
    // 1 BOS + 520 words + EOS = 522 tokens: 8 rows of 64, 63 scored in each.
    assert.deepEqual([first.tokens, first.sequenceLength, first.scoredTokens], [522, 64, 8 * 63]);
    assert.ok(first.perplexity > 1 && first.standardError > 0, JSON.stringify(first));
    assert.equal(first.textName, "fable.txt");
    assert.match(first.textSha256, /^[0-9a-f]{64}$/);
    const again = await service().measure({ profile: "tiny-mlx", file: text, sequenceLength: 64 }, AbortSignal.timeout(20_000));
    assert.equal(again.perplexity, first.perplexity);
    assert.deepEqual(service().list("tiny-mlx").map((r) => r.id), [again.id, first.id]);
    assert.ok(seen.includes("perplexity.added"));
    // Never the text itself in the store.
    assert.ok(!JSON.stringify(store.all("SELECT * FROM perplexity")).includes("little fox"));
  });

  it("says why it cannot measure: another engine, a missing or empty file, a model that is gone, a Python without mlx-lm", async () => {
    profile("gguf-server", "llama-server", path.join(dir, "x.gguf"));
    await assert.rejects(service().measure({ profile: "gguf-server", file: text }, AbortSignal.timeout(5000)), (e: unknown) => e instanceof ApiError && e.status === 400 && /built-in llama engine, or run llama\.cpp's llama-perplexity/.test(e.message));
    await assert.rejects(service().measure({ profile: "tiny-mlx", file: path.join(dir, "nope.txt") }, AbortSignal.timeout(5000)), (e: unknown) => e instanceof ApiError && e.status === 400 && /Cannot read .*nope\.txt \(ENOENT\)/.test(e.message));
    const empty = path.join(dir, "empty.txt");
    fs.writeFileSync(empty, "  \n");
    await assert.rejects(service().measure({ profile: "tiny-mlx", file: empty }, AbortSignal.timeout(5000)), (e: unknown) => e instanceof ApiError && /is empty/.test(e.message));
    profile("gone", "mlx-lm", path.join(dir, "no-model"));
    await assert.rejects(service().measure({ profile: "gone", file: text }, AbortSignal.timeout(5000)), (e: unknown) => e instanceof ApiError && /Nothing exists at .*no-model/.test(e.message));
    // A Python without mlx-lm (no stand-in on its path) says so, and what to do.
    const { PYTHONPATH: _dropped, ...bare } = process.env;
    await assert.rejects(service(bare).measure({ profile: "tiny-mlx", file: text }, AbortSignal.timeout(20_000)), (e: unknown) => e instanceof ApiError && /python3 has no mlx-lm \(No module named 'mlx'\): install it \(pip install mlx-lm\)/.test(e.message));
  });
});
