// Profile validation and versioning on a real store, with a catalogue of cached models.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ApiError } from "../../../../src/services/api/ApiError";
import { ENGINES } from "../../../../src/services/engines/registry";
import { EventBus } from "../../../../src/services/events/EventBus";
import { silentLogger } from "../../../../src/services/logging/Logger";
import { routeModel } from "../../../../src/services/profiles/modelRoutes";
import { ProfileService } from "../../../../src/services/profiles/ProfileService";
import { Store } from "../../../../src/services/store/Store";
import type { CachedModel } from "../../../../src/shared/models";

function model(id: string, format: CachedModel["format"], extra: Partial<CachedModel> = {}): CachedModel {
  return {
    id,
    path: `/cache/models--${id.replace("/", "--")}`,
    format,
    revisions: [{ commit: "a".repeat(40), refs: ["main"], snapshotPath: `/cache/${id}/snapshots/aaaa`, fileCount: 3, size: 100, lastModified: 0 }],
    size: 100,
    lastModified: 0,
    lastAccessed: 0,
    incomplete: [],
    warnings: [],
    ...extra,
  };
}

function expectApiError(fn: () => unknown, code: string, field?: string): ApiError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ApiError, String(error));
    assert.equal(error.code, code, error.message);
    if (field !== undefined) assert.equal(error.field, field);
    return error;
  }
  assert.fail(`expected ${code}`);
}

describe("ProfileService", () => {
  let dir: string;
  let store: Store;
  let service: ProfileService;
  let events: EventBus;
  const models = [
    model("mlx-community/Llama-4bit", "mlx"),
    model("test/one-gguf", "gguf", { ggufFiles: [{ path: "m-Q4_K_M.gguf", size: 10 }] }),
    model("test/many-gguf", "gguf", { ggufFiles: [{ path: "m-Q4_K_M.gguf", size: 10 }, { path: "m-Q8_0.gguf", size: 20 }] }),
  ];

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "profiles-"));
    store = (await Store.open({ dir, logger: silentLogger })).store;
    events = new EventBus();
    service = new ProfileService({ store, catalog: { list: () => models }, events, engines: ENGINES });
  });
  afterEach(() => {
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const base = { name: "Llama", engine: "mlx-lm", model: { source: "cache", repoId: "mlx-community/Llama-4bit" } };

  it("fills defaults and starts at version 1", () => {
    const p = service.create(base);
    assert.equal(p.version, 1);
    assert.equal(p.port, "auto");
    assert.deepEqual(p.options, {});
    assert.equal(p.restartOnCrash, false);
    assert.equal(p.idleTimeoutSec, null, "the manager's default idle stop");
    assert.equal(p.pinned, false);
    assert.equal(p.group, null);
  });

  it("keeps pinned and group, and refuses a pinned profile that would also stop when idle", () => {
    const p = service.create({ ...base, pinned: true, group: "coders" });
    assert.deepEqual([p.pinned, p.group], [true, "coders"]);
    expectApiError(() => service.update(p.id, { version: p.version, idleTimeoutSec: 600 }), "validation_failed", "idleTimeoutSec");
    const unpinned = service.update(p.id, { version: p.version, pinned: false, idleTimeoutSec: 600, group: null });
    assert.deepEqual([unpinned.pinned, unpinned.idleTimeoutSec, unpinned.group], [false, 600, null]);
    expectApiError(() => service.create({ ...base, name: "g", group: " -x" }), "validation_failed", "group");
  });

  it("names the field of each invalid input", () => {
    expectApiError(() => service.create({ ...base, name: "" }), "validation_failed", "name");
    expectApiError(() => service.create({ ...base, name: "../etc" }), "validation_failed", "name");
    expectApiError(() => service.create({ ...base, port: 1023 }), "validation_failed", "port");
    expectApiError(() => service.create({ ...base, port: 65536 }), "validation_failed", "port");
    expectApiError(() => service.create({ ...base, engine: "ollama" }), "validation_failed", "engine");
    expectApiError(() => service.create({ ...base, options: { maxTokens: -1 } }), "validation_failed", "options.maxTokens");
    expectApiError(() => service.create({ ...base, options: { extraArgs: "--foo --bar" } }), "validation_failed", "options.extraArgs");
    expectApiError(() => service.create({ ...base, options: { env: { "BAD NAME": "x" } } }), "validation_failed", "options.env.BAD NAME");
    expectApiError(() => service.create({ ...base, options: { contextLength: 4096 } }), "validation_failed", "options.contextLength");
  });

  it("refuses a model that is missing or that the engine cannot serve", () => {
    expectApiError(() => service.create({ ...base, model: { source: "cache", repoId: "nobody/nothing" } }), "model_missing", "model.repoId");
    expectApiError(() => service.create({ ...base, model: { source: "cache", repoId: "mlx-community/Llama-4bit", revision: "v9" } }), "model_missing", "model.revision");
    expectApiError(() => service.create({ ...base, engine: "llama" }), "model_format_mismatch", "engine");
    expectApiError(() => service.create({ ...base, engine: "mlx-openai-server", model: { source: "cache", repoId: "test/one-gguf" } }), "model_format_mismatch", "engine");
    expectApiError(() => service.create({ ...base, engine: "llama", model: { source: "cache", repoId: "test/many-gguf" } }), "validation_failed", "model.file");
    expectApiError(() => service.create({ ...base, engine: "llama", model: { source: "cache", repoId: "test/many-gguf", file: "x.gguf" } }), "model_missing", "model.file");
    assert.equal(service.create({ ...base, name: "Q8", engine: "llama", model: { source: "cache", repoId: "test/many-gguf", file: "m-Q8_0.gguf" } }).engine, "llama");
    expectApiError(() => service.create({ ...base, model: { source: "path", path: "relative/dir" } }), "validation_failed", "model.path");
    expectApiError(() => service.create({ ...base, model: { source: "path", path: path.join(dir, "absent") } }), "model_missing", "model.path");
  });

  it("accepts a local GGUF file by path for the llama engines", () => {
    const file = path.join(dir, "local.gguf");
    fs.writeFileSync(file, "GGUF");
    const p = service.create({ name: "Local", engine: "llama-server", model: { source: "path", path: file }, options: { threads: 2, extraArgs: ["--flash-attn", "on"] } });
    assert.deepEqual(p.options.extraArgs, ["--flash-attn", "on"]);
  });

  it("keeps names unique regardless of case", () => {
    service.create(base);
    expectApiError(() => service.create({ ...base, name: "LLAMA" }), "name_taken", "name");
  });

  it("refuses a stale edit with the current version and changes nothing", () => {
    const p = service.create(base);
    service.update(p.id, { version: 1, port: 8100 });
    const conflict = expectApiError(() => service.update(p.id, { version: 1, port: 8200 }), "version_conflict", "version");
    assert.equal((conflict.details?.["current"] as { version: number }).version, 2);
    assert.equal(service.get(p.id).port, 8100);
    expectApiError(() => service.delete(p.id, 1), "version_conflict");
  });

  it("renames, keeps the id, and frees the old name", () => {
    const p = service.create(base);
    const renamed = service.update("llama", { version: 1, name: "Renamed" });
    assert.equal(renamed.id, p.id);
    assert.equal(service.create(base).name, "Llama");
  });

  it("duplicates with a free name and publishes events in order", () => {
    const seen: string[] = [];
    events.subscribe((e) => seen.push(e.type));
    service.create(base);
    assert.equal(service.duplicate("Llama").name, "Llama copy");
    assert.equal(service.duplicate("Llama").name, "Llama copy 2");
    service.delete("Llama copy");
    assert.deepEqual(seen, ["profile.created", "profile.created", "profile.created", "profile.deleted"]);
  });

  it("round-trips export and import, reporting the entries it refuses", () => {
    service.create({ ...base, options: { temperature: 0.2, maxTokens: 64 } });
    const file = service.export();
    service.delete("Llama");
    const result = service.import({ ...file, profiles: [...file.profiles, { ...base, name: "Bad", port: 1 }, 42] });
    assert.equal(result.created.length, 1);
    assert.deepEqual(result.created[0]?.options, { temperature: 0.2, maxTokens: 64 });
    assert.deepEqual(result.skipped.map((s) => s.field), ["port", undefined]);
    expectApiError(() => service.import({ kind: "something-else" }), "validation_failed");
  });

  it("survives a store reopen", async () => {
    service.create(base);
    store.close();
    store = (await Store.open({ dir, logger: silentLogger })).store;
    service = new ProfileService({ store, catalog: { list: () => models }, events, engines: ENGINES });
    assert.deepEqual(service.list().map((p) => p.name), ["Llama"]);
  });

  it("keeps aliases; one shared with another profile (or another's name) makes replicas of that name; routes names to profiles in a fixed order", async () => {
    const claude = service.create({ ...base, name: "Coder", aliases: ["claude-sonnet-4-5", "claude-*"] });
    const small = service.create({ ...base, name: "Small", aliases: ["claude-*haiku*"] });
    const fallback = service.create({ ...base, name: "Any", aliases: ["*"] });
    assert.deepEqual(claude.aliases, ["claude-sonnet-4-5", "claude-*"]);
    expectApiError(() => service.create({ ...base, name: "claude-sonnet-4-5" }), "alias_taken", "name");
    expectApiError(() => service.create({ ...base, name: "Other", aliases: ["has space"] }), "validation_failed");
    const replicas = (model: string): string[] => routeModel(model, service.list(), () => false).map((r) => r.profile.name);
    const twin = service.create({ ...base, name: "Coder twin", aliases: ["CLAUDE-SONNET-4-5", "small"] });
    assert.deepEqual(replicas("claude-sonnet-4-5"), ["Coder", "Coder twin"], "an alias two profiles share: both serve it");
    assert.deepEqual(replicas("Small"), ["Small", "Coder twin"], "a name given as another profile's alias: the named one first");
    assert.deepEqual(replicas("Coder"), ["Coder"], "a name no one else gives is one profile");
    service.delete(twin.id);
    expectApiError(() => service.create({ ...base, name: "Coder2", aliases: ["x", "x"] }), "validation_failed", "aliases.1");
    const route = (model: string): string | undefined => routeModel(model, service.list(), () => false)[0]?.profile.name;
    assert.equal(route("coder"), "Coder", "a name, whatever its case");
    assert.equal(route("claude-sonnet-4-5"), "Coder", "an exact alias");
    assert.equal(route("claude-3-5-haiku-20241022"), "Small", "the most specific pattern wins");
    assert.equal(route("claude-opus-4-1"), "Coder");
    assert.equal(route("gpt-4o"), "Any", "`*` takes every other name");
    assert.equal(route("mlx-community/Llama-4bit"), "Any", "a repo id several profiles share is no route of its own");
    // Kept across a reopen, and out of the edit when cleared.
    store.close();
    store = (await Store.open({ dir, logger: silentLogger })).store;
    service = new ProfileService({ store, catalog: { list: () => models }, events, engines: ENGINES });
    assert.deepEqual(service.get(small.id).aliases, ["claude-*haiku*"]);
    const cleared = service.update(fallback.id, { aliases: [], version: service.get(fallback.id).version });
    assert.deepEqual(cleared.aliases ?? [], []);
    assert.equal(route("gpt-4o"), undefined);
  });
});
