// Migration 8 (remote backends) applied to a schema-7 store, and the service on it: a backend's key
// in a 0600 file of its own, never in the database; a URL kept without credentials or `/v1`.
import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { EventBus } from "../../../../src/services/events/EventBus";
import { MemoryLogger } from "../../../../src/services/logging/Logger";
import { normalizeUrl, RemoteBackends } from "../../../../src/services/remotes/RemoteBackends";
import { MIGRATIONS } from "../../../../src/services/store/migrations";
import { Store } from "../../../../src/services/store/Store";

describe("migration 8: remote backends", () => {
  let dir: string;
  let server: http.Server;
  let url: string;
  const seen: (string | undefined)[] = [];
  before(async () => {
    server = http.createServer((req, res) => {
      seen.push(req.headers.authorization);
      if (req.headers.authorization !== "Bearer sk-test-key-1") {
        res.writeHead(401).end();
        return;
      }
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ object: "list", data: [{ id: "qwen", object: "model", owned_by: "me" }] }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}/v1/`;
  });
  after(() => {
    server.close();
  });
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "mlx-migration8-"));
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("upgrades a schema-7 store; a backend added keeps its key in a 0600 file only, reads its models, and is refused its health when the key is wrong", async () => {
    const logger = new MemoryLogger();
    const old = (await Store.open({ dir, logger, migrations: MIGRATIONS.filter((m) => m.version <= 7) })).store;
    old.run("INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)", ["queueMaxLength", "64", 1]);
    old.close();
    const { store } = await Store.open({ dir, logger, migrations: MIGRATIONS.filter((m) => m.version <= 8) });
    assert.equal(store.schemaVersion, 8);
    assert.deepEqual(store.all("SELECT key FROM settings").map((r) => r["key"]), ["queueMaxLength"]);
    const events = new EventBus();
    const types: string[] = [];
    events.subscribe((e) => void types.push(e.type));
    const keyDir = path.join(dir, "remote-keys");
    const remotes = new RemoteBackends({ store, events, logger, keyDir });
    const added = await remotes.add({ name: "Studio", url, apiKey: "sk-test-key-1" }, AbortSignal.timeout(5000));
    assert.equal(added.url, url.replace(/\/v1\/$/, ""));
    assert.equal(added.health.state, "healthy");
    assert.deepEqual(added.health.models, [{ id: "qwen", ownedBy: "me" }]);
    assert.equal(fs.statSync(path.join(keyDir, added.id)).mode & 0o777, 0o600);
    assert.ok(!JSON.stringify(added).includes("sk-test-key-1"));
    assert.deepEqual(types, ["remote.changed"]);
    store.snapshot();
    for (const file of fs.readdirSync(dir)) if (fs.statSync(path.join(dir, file)).isFile()) assert.ok(!fs.readFileSync(path.join(dir, file)).includes("sk-test-key-1"), file);
    assert.ok(!logger.lines.some((l) => JSON.stringify(l).includes("sk-test-key-1")));

    const refused = await remotes.update("studio", { apiKey: "sk-wrong" }, AbortSignal.timeout(5000));
    assert.equal(refused.health.state, "key_refused");
    assert.match(refused.health.error ?? "", /refused the key/);
    assert.equal(seen.at(-1), "Bearer sk-wrong");
    const none = await remotes.update("studio", { apiKey: null }, AbortSignal.timeout(5000));
    assert.equal(none.hasKey, false);
    assert.equal(seen.at(-1), undefined, "no key, no header");
    assert.equal(fs.existsSync(path.join(keyDir, added.id)), false);
    remotes.remove("Studio", () => []);
    assert.deepEqual(remotes.list(), []);
    remotes.close();
    store.close();
  });

  it("keeps a base URL without /v1 or a trailing slash, and refuses credentials, a query or another scheme", () => {
    assert.equal(normalizeUrl("https://studio.local:1234/v1/").href, "https://studio.local:1234/");
    assert.equal(normalizeUrl("http://10.0.0.2/litellm/v1").href, "http://10.0.0.2/litellm");
    assert.throws(() => normalizeUrl("https://me:secret@host/v1"), /not in the URL/);
    assert.throws(() => normalizeUrl("https://host/v1?key=x"), /no query/);
    assert.throws(() => normalizeUrl("ftp://host"), /http or https/);
    assert.throws(() => normalizeUrl("not a url"), /not a URL/);
  });
});
