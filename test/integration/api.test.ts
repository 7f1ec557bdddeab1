// The manager's HTTP API, against the real manager process over real HTTP.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { ManagerClient } from "../../src/client/ManagerClient";
import type { SequencedEvent } from "../../src/shared/events";
import { makeTempDir, removeTempDir, writeGgufRepo, writeMlxRepo } from "../helpers/hfCache";
import { startManager, type RunningManager } from "../helpers/manager";

interface ErrorBody {
  error: { code: string; message: string; field?: string; details?: { current?: { version: number } } };
}

describe("manager API (real process)", function () {
  this.timeout(60_000);
  let root: string;
  let hfCache: string;
  let manager: RunningManager;

  before(async () => {
    root = makeTempDir("mlx-api-");
    hfCache = path.join(root, "hub");
    fs.mkdirSync(hfCache);
    writeGgufRepo(hfCache, { repoId: "test/tiny-gguf", files: [{ path: "tiny-Q8_0.gguf", spec: { architecture: "llama", fileType: 7 } }] });
    writeMlxRepo(hfCache, { repoId: "mlx-community/tiny-4bit", quantization: { bits: 4, groupSize: 64 } });
    manager = await startManager({ dataDir: path.join(root, "data"), hfCache });
  });

  after(async () => {
    await manager.stop();
    removeTempDir(root);
  });

  it("refuses requests without the local token, or with a wrong one", async () => {
    const none = await fetch(`${manager.url}/api/profiles`);
    assert.equal(none.status, 401);
    assert.equal(((await none.json()) as ErrorBody).error.code, "unauthorized");
    const wrong = await manager.api("GET", "/api/profiles", undefined, { authorization: "Bearer nope" });
    assert.equal(wrong.status, 401);
  });

  it("keeps the token file private (mode 0600) and listens on loopback only", () => {
    assert.equal(fs.statSync(path.join(manager.dataDir, "token")).mode & 0o777, 0o600);
    assert.match(manager.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it("answers bad JSON with 400 and a message", async () => {
    const res = await manager.api("POST", "/api/profiles", "{not json");
    assert.equal(res.status, 400);
    const body = res.json as ErrorBody;
    assert.equal(body.error.code, "invalid_json");
    assert.match(body.error.message, /not valid JSON/);
  });

  it("answers an unknown route with 404 in the one error shape", async () => {
    const res = await manager.api("GET", "/api/nothing-here");
    assert.equal(res.status, 404);
    assert.equal((res.json as ErrorBody).error.code, "not_found");
  });

  it("refuses a body over 1 MiB with 413", async () => {
    const res = await manager.api("POST", "/api/profiles", JSON.stringify({ name: "x".repeat(1_100_000) }));
    assert.equal(res.status, 413);
    assert.equal((res.json as ErrorBody).error.code, "payload_too_large");
  });

  it("lists cached models with their metadata", async () => {
    const res = await manager.api("GET", "/api/models");
    assert.equal(res.status, 200);
    const { models } = res.json as { models: { id: string; format: string; quantization?: { bits?: number } }[] };
    const byId = new Map(models.map((m) => [m.id, m]));
    assert.equal(byId.get("test/tiny-gguf")?.format, "gguf");
    assert.equal(byId.get("mlx-community/tiny-4bit")?.format, "mlx");
    assert.equal(byId.get("mlx-community/tiny-4bit")?.quantization?.bits, 4);
  });

  it("validates profiles and names the field at fault", async () => {
    const cases: [unknown, string, string][] = [
      [{ name: "a", engine: "nope", model: { source: "cache", repoId: "test/tiny-gguf" } }, "validation_failed", "engine"],
      [{ name: "a", engine: "llama", model: { source: "cache", repoId: "test/tiny-gguf" }, port: 80 }, "validation_failed", "port"],
      [{ name: "a", engine: "llama", model: { source: "cache", repoId: "test/absent" } }, "model_missing", "model.repoId"],
      [{ name: "a", engine: "mlx-lm", model: { source: "cache", repoId: "test/tiny-gguf" } }, "model_format_mismatch", "engine"],
      [{ name: "a", engine: "llama", model: { source: "cache", repoId: "test/tiny-gguf" }, options: { contextLength: "big" } }, "validation_failed", "options.contextLength"],
      [{ name: "a", engine: "llama", model: { source: "cache", repoId: "test/tiny-gguf" }, options: { temperature: 0.5 } }, "validation_failed", "options.temperature"],
      [{ name: "a", engine: "llama", model: { source: "cache", repoId: "test/tiny-gguf" }, surprise: 1 }, "validation_failed", ""],
    ];
    for (const [body, code, field] of cases) {
      const res = await manager.api("POST", "/api/profiles", body);
      const error = (res.json as ErrorBody).error;
      assert.equal(error.code, code, `${JSON.stringify(body)} → ${JSON.stringify(error)}`);
      if (field) assert.equal(error.field, field);
      assert.ok(res.status === 400 || res.status === 404, `status ${res.status}`);
      assert.ok(error.message.length > 10);
    }
  });

  it("creates, edits with versions, duplicates, exports, imports and deletes profiles, with events", async () => {
    const client = new ManagerClient({ url: manager.url, token: manager.token });
    const events: SequencedEvent[] = [];
    const abort = new AbortController();
    const following = client.followEvents((e) => events.push(e), abort.signal);
    await new Promise((r) => setTimeout(r, 200));

    const created = await client.createProfile({ name: "Tiny", engine: "llama", model: { source: "cache", repoId: "test/tiny-gguf" }, options: { contextLength: 512 } });
    assert.equal(created.version, 1);
    assert.equal(created.port, "auto");

    const dupName = await manager.api("POST", "/api/profiles", { name: "tiny", engine: "llama", model: { source: "cache", repoId: "test/tiny-gguf" } });
    assert.equal(dupName.status, 409);
    assert.equal((dupName.json as ErrorBody).error.code, "name_taken");

    const edited = await client.updateProfile(created.id, { version: 1, port: 9123 });
    assert.equal(edited.version, 2);
    assert.equal(edited.port, 9123);
    assert.equal(edited.options.contextLength, 512, "fields not in the patch stay");

    const stale = await manager.api("PATCH", `/api/profiles/${created.id}`, { version: 1, port: 9124 });
    assert.equal(stale.status, 409);
    const staleBody = stale.json as ErrorBody;
    assert.equal(staleBody.error.code, "version_conflict");
    assert.equal(staleBody.error.details?.current?.version, 2);
    assert.equal((await client.profile("Tiny")).port, 9123, "the stale edit changed nothing");

    const copy = await client.duplicateProfile("Tiny");
    assert.equal(copy.name, "Tiny copy");

    const exported = await client.exportProfiles();
    assert.equal(exported.profiles.length, 2);
    await client.deleteProfile(copy.id);
    await client.deleteProfile("Tiny");
    assert.equal((await client.profiles()).profiles.length, 0);

    const imported = await client.importProfiles({ ...exported, profiles: [...exported.profiles, { name: "Broken", engine: "llama", model: { source: "cache", repoId: "test/absent" } }] });
    assert.equal(imported.created.length, 2);
    assert.equal(imported.skipped.length, 1);
    assert.equal(imported.skipped[0]?.name, "Broken");

    await new Promise((r) => setTimeout(r, 300));
    abort.abort();
    await following;
    const types = events.map((e) => e.type);
    assert.deepEqual(types.slice(0, 6), ["profile.created", "profile.updated", "profile.created", "profile.deleted", "profile.deleted", "profile.created"]);
    const ids = events.map((e) => e.id);
    assert.deepEqual(ids, [...ids].sort((a, b) => a - b), "ids increase");
  });

  it("replays missed events after Last-Event-ID, and asks a client too far behind to resync", async () => {
    const client = new ManagerClient({ url: manager.url, token: manager.token });
    const p = await client.createProfile({ name: "Replay", engine: "llama", model: { source: "cache", repoId: "test/tiny-gguf" } });
    const first = await fetch(`${manager.url}/api/events`, { headers: { authorization: `Bearer ${manager.token}`, "last-event-id": "1" } });
    const reader = (first.body as ReadableStream<Uint8Array>).getReader();
    const { value } = await reader.read();
    await reader.cancel();
    assert.match(new TextDecoder().decode(value), /"type":"resync"/);

    // Take the id of the creation event, then change things, then reconnect from that id.
    const events: SequencedEvent[] = [];
    const abort = new AbortController();
    const following = client.followEvents((e) => events.push(e), abort.signal);
    await new Promise((r) => setTimeout(r, 200));
    await client.updateProfile(p.id, { version: 1, port: 9200 });
    await new Promise((r) => setTimeout(r, 200));
    abort.abort();
    await following;
    const updateId = events.find((e) => e.type === "profile.updated")?.id;
    assert.ok(updateId);
    await client.deleteProfile(p.id);
    const again = await fetch(`${manager.url}/api/events`, { headers: { authorization: `Bearer ${manager.token}`, "last-event-id": String(updateId) } });
    const r2 = (again.body as ReadableStream<Uint8Array>).getReader();
    let text = "";
    while (!text.includes("profile.deleted")) text += new TextDecoder().decode((await r2.read()).value);
    await r2.cancel();
    assert.match(text, /"type":"profile.deleted"/);
    assert.doesNotMatch(text, /profile.updated/, "only what was missed is replayed");
  });

  it("announces models that appear in the cache", async () => {
    const client = new ManagerClient({ url: manager.url, token: manager.token });
    const events: SequencedEvent[] = [];
    const abort = new AbortController();
    const following = client.followEvents((e) => events.push(e), abort.signal);
    await new Promise((r) => setTimeout(r, 200));
    writeMlxRepo(hfCache, { repoId: "mlx-community/arrives-later" });
    const deadline = Date.now() + 5000;
    while (!events.some((e) => e.type === "model.added" && e.data.id === "mlx-community/arrives-later") && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    abort.abort();
    await following;
    assert.ok(events.some((e) => e.type === "model.added" && e.data.id === "mlx-community/arrives-later"), JSON.stringify(events.map((e) => e.type)));
  });

  it("deletes a model from the cache and refuses paths outside it", async () => {
    const outside = await manager.api("DELETE", "/api/models/..%2F..%2Fetc");
    assert.equal(outside.status, 400);
    assert.equal((outside.json as ErrorBody).error.code, "path_outside_cache");
    const res = await manager.api("DELETE", "/api/models/mlx-community/arrives-later");
    assert.equal(res.status, 200);
    assert.ok((res.json as { freedBytes: number }).freedBytes > 0);
    assert.equal(fs.existsSync(path.join(hfCache, "models--mlx-community--arrives-later")), false);
  });

  it("refuses a second manager on the same data dir, naming the running one", async () => {
    const second = await startManager({ dataDir: manager.dataDir, hfCache }).catch((error: unknown) => error);
    assert.ok(second instanceof Error);
    assert.match(second.message, /already running/);
    assert.match(second.message, new RegExp(`pid ${String(manager.child.pid)}`));
  });
});
