// Migration 7 (manager settings, who started a server) applied to a store made by the previous
// schema: its rows survive, a server recorded before it reads as started by the user.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { EventBus } from "../../../../src/services/events/EventBus";
import { MemoryLogger } from "../../../../src/services/logging/Logger";
import { ServerRecords } from "../../../../src/services/servers/ServerRecords";
import { SettingsService } from "../../../../src/services/settings/SettingsService";
import { MIGRATIONS } from "../../../../src/services/store/migrations";
import { Store } from "../../../../src/services/store/Store";
import { DEFAULT_MANAGER_SETTINGS } from "../../../../src/shared/settings";

describe("migration 7: settings and servers.started_by", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "mlx-migration7-"));
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("upgrades a schema-6 store: a server recorded before reads as started by the user; settings start at their defaults and persist", async () => {
    const logger = new MemoryLogger();
    const six = MIGRATIONS.filter((m) => m.version <= 6);
    const old = (await Store.open({ dir, logger, migrations: six })).store;
    assert.equal(old.schemaVersion, 6);
    old.run(
      "INSERT INTO servers (profile_id, profile_name, engine, model, upstream_model, pid, process_start, port, command, log_file, started_at, ready_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      ["p1", "Qwen", "llama", "/m.gguf", "Qwen", 4242, null, 8080, JSON.stringify(["node", "x"]), "/tmp/q.log", 1000, 2000],
    );
    old.close();

    const { store } = await Store.open({ dir, logger, migrations: MIGRATIONS });
    assert.equal(store.schemaVersion, MIGRATIONS.at(-1)?.version);
    const records = new ServerRecords(store);
    assert.deepEqual(records.all().records.map((r) => [r.profileName, r.startedBy, r.readyAt]), [["Qwen", "user", 2000]]);
    records.put({ ...records.all().records[0]!, profileId: "p2", startedBy: "request" });
    assert.deepEqual(records.all().records.map((r) => r.startedBy).sort(), ["request", "user"]);

    const events = new EventBus();
    const seen: string[] = [];
    events.subscribe((event) => void seen.push(event.type));
    const settings = new SettingsService({ store, events, logger });
    assert.deepEqual(settings.get(), DEFAULT_MANAGER_SETTINGS);
    settings.update({ memoryBudgetBytes: 24e9, queueTimeoutSec: 60 });
    assert.deepEqual(seen, ["settings.changed"]);
    assert.throws(() => settings.update({ queueTimeoutSec: 0 }), /queueTimeoutSec/);
    assert.throws(() => settings.update({ nonsense: 1 }), /unknown field "nonsense"/);
    store.close();

    const again = (await Store.open({ dir, logger, migrations: MIGRATIONS })).store;
    assert.deepEqual(new SettingsService({ store: again, events, logger }).get(), { ...DEFAULT_MANAGER_SETTINGS, memoryBudgetBytes: 24e9, queueTimeoutSec: 60 });
    again.close();
  });
});
