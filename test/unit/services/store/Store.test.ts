import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { MemoryLogger } from "../../../../src/services/logging/Logger";
import { nodeJournalIo } from "../../../../src/services/store/journal";
import { MIGRATIONS } from "../../../../src/services/store/migrations";
import {
  Store,
  StoreError,
  type JournalIo,
  type Migration,
  type OpenReport,
  type StoreOptions,
} from "../../../../src/services/store/Store";

const ITEMS: Migration[] = [
  {
    version: 1,
    name: "items",
    up: ["CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, body BLOB)"],
  },
];
const STAMPED_ASIDE = /\.corrupt-\d{4}-\d\d-\d\dT\d{6}\.\d{3}Z$/;

const dirs: string[] = [];
const stores: Store[] = [];

afterEach(() => {
  for (const store of stores.splice(0)) store.close();
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mlx-store-"));
  dirs.push(dir);
  return dir;
}

async function open(
  dir: string,
  options: Partial<StoreOptions> = {},
): Promise<{ store: Store; report: OpenReport; logger: MemoryLogger }> {
  const logger = new MemoryLogger();
  // Snapshots only when a test asks, unless it says otherwise.
  const result = await Store.open({ dir, logger, migrations: ITEMS, snapshotEveryMs: 600_000, ...options });
  stores.push(result.store);
  return { ...result, logger };
}

/** A copy of the directory as it is on disk now: what a process killed at this moment leaves. */
function crashImage(dir: string): string {
  const copy = tempDir();
  fs.cpSync(dir, copy, { recursive: true });
  return copy;
}

function insert(store: Store, name: string, body: Uint8Array | null = null): void {
  store.run("INSERT INTO items (name, body) VALUES (?, ?)", [name, body]);
}

function names(store: Store): string[] {
  return store.all<{ name: string }>("SELECT name FROM items ORDER BY id").map((row) => row.name);
}

function size(file: string): number {
  return fs.statSync(file).size;
}

function fingerprint(dir: string): Record<string, string> {
  const result: Record<string, string> = {};
  for (const name of fs.readdirSync(dir).sort()) {
    result[name] = crypto
      .createHash("sha256")
      .update(fs.readFileSync(path.join(dir, name)))
      .digest("hex");
  }
  return result;
}

function errno(code: string): Error {
  return Object.assign(new Error(`${code}: simulated failure`), { code });
}

/** The real journal I/O, except that the listed calls fail (a write first writes half its bytes). */
function failingIo(failures: { write?: string[]; sync?: string[]; truncate?: string[] }): JournalIo {
  return {
    write(fd, data, position) {
      const code = failures.write?.shift();
      if (code === undefined) {
        nodeJournalIo.write(fd, data, position);
        return;
      }
      nodeJournalIo.write(fd, data.subarray(0, Math.floor(data.length / 2)), position);
      throw errno(code);
    },
    sync(fd) {
      const code = failures.sync?.shift();
      if (code !== undefined) throw errno(code);
      nodeJournalIo.sync(fd);
    },
    truncate(fd, length) {
      const code = failures.truncate?.shift();
      if (code !== undefined) throw errno(code);
      nodeJournalIo.truncate(fd, length);
    },
  };
}

function storeErrorWith(code: StoreError["code"], message?: string | RegExp): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof StoreError, `expected a StoreError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    if (typeof message === "string") assert.equal(error.message, message);
    else if (message !== undefined) assert.match(error.message, message);
    return true;
  };
}

describe("Store", () => {
  it("keeps writes across close and reopen", async () => {
    const dir = tempDir();
    const first = await open(dir);
    assert.deepEqual(first.report, { replayed: 0 });
    insert(first.store, "alpha");
    first.store.batch([
      { sql: "INSERT INTO items (name) VALUES (?)", params: ["beta"] },
      { sql: "UPDATE items SET name = ? WHERE name = ?", params: ["ALPHA", "alpha"] },
    ]);
    first.store.close();

    const second = await open(dir);
    assert.deepEqual(second.report, { replayed: 0 });
    assert.deepEqual(names(second.store), ["ALPHA", "beta"]);
    assert.deepEqual(second.store.get("SELECT name FROM items WHERE name = ?", ["beta"]), { name: "beta" });
    assert.equal(second.store.get("SELECT name FROM items WHERE name = ?", ["gamma"]), undefined);
  });

  it("has every acknowledged write on disk before run() returns, blobs included", async () => {
    const dir = tempDir();
    const { store } = await open(dir);
    const blob = new Uint8Array([0, 1, 2, 254, 255]);
    insert(store, "with blob", blob);
    for (let i = 0; i < 20; i++) insert(store, `row ${i}`);

    // No snapshot was written since the migration: everything comes back from the journal.
    const reopened = await open(crashImage(dir));
    assert.equal(reopened.report.replayed, 21);
    assert.equal(reopened.report.message, undefined);
    assert.equal(names(reopened.store).length, 21);
    const row = reopened.store.get<{ body: Uint8Array }>("SELECT body FROM items WHERE name = ?", [
      "with blob",
    ]);
    assert.deepEqual(row?.body, blob);
  });

  it("applies a batch completely or not at all", async () => {
    const dir = tempDir();
    const { store } = await open(dir);
    insert(store, "taken");
    const journal = path.join(dir, "store.journal");
    const before = size(journal);

    assert.throws(
      () => {
        store.batch([
          { sql: "INSERT INTO items (name) VALUES (?)", params: ["new one"] },
          { sql: "UPDATE items SET body = ? WHERE name = ?", params: [new Uint8Array([1]), "taken"] },
          { sql: "INSERT INTO items (name) VALUES (?)", params: ["taken"] },
        ]);
      },
      (error: unknown) => {
        assert.ok(error instanceof StoreError);
        assert.equal(error.code, "constraint");
        assert.deepEqual(error.columns, ["items.name"]);
        return true;
      },
    );
    assert.deepEqual(names(store), ["taken"]);
    assert.equal(store.get<{ body: null }>("SELECT body FROM items")?.body, null);
    assert.equal(size(journal), before, "a failed batch must not be journaled");

    store.close();
    const reopened = await open(dir);
    assert.deepEqual(names(reopened.store), ["taken"]);
  });

  it("rolls back a failing statement and reports it as an SQL error", async () => {
    const dir = tempDir();
    const { store } = await open(dir);
    const before = size(path.join(dir, "store.journal"));
    assert.throws(
      () => {
        store.run("INSERT INTO nowhere (x) VALUES (?)", [1]);
      },
      storeErrorWith("sql", /no such table: nowhere/),
    );
    assert.throws(() => {
      store.run("INSERT INTO items (name) VALUES (NULL)");
    }, storeErrorWith("constraint"));
    assert.equal(size(path.join(dir, "store.journal")), before);
    insert(store, "still works");
    assert.deepEqual(names(store), ["still works"]);
  });

  it("refuses statements that would bypass the journal or its transactions", async () => {
    const { store } = await open(tempDir());
    assert.throws(
      () => store.all("INSERT INTO items (name) VALUES ('sneaky')"),
      storeErrorWith("sql", /only read/),
    );
    assert.throws(
      () => {
        store.run("BEGIN");
      },
      storeErrorWith("sql", /manages transactions/),
    );
    assert.throws(
      () => {
        store.run("INSERT INTO items (name) VALUES ('a'); INSERT INTO items (name) VALUES ('b')");
      },
      storeErrorWith("sql", /one SQL statement per call/),
    );
    assert.throws(() => {
      store.run("INSERT INTO items (name, body) VALUES (?, ?)", ["nan", Number.NaN]);
    }, storeErrorWith("sql"));
    // A write disguised as a read is rolled back rather than applied behind the journal's back.
    assert.throws(
      () => store.get("WITH x AS (SELECT 1) INSERT INTO items (name) SELECT 'hidden' FROM x"),
      storeErrorWith("sql", /only read/),
    );
    assert.deepEqual(names(store), []);
  });

  it("applies each migration once, in order, and journals it", async () => {
    const dir = tempDir();
    const first = await open(dir);
    assert.equal(first.store.schemaVersion, 1);
    insert(first.store, "before v2");
    first.store.close();

    const v2: Migration[] = [
      ...ITEMS,
      {
        version: 2,
        name: "item sizes",
        up: ["ALTER TABLE items ADD COLUMN size INTEGER NOT NULL DEFAULT 0", "UPDATE items SET size = 7"],
      },
    ];
    const second = await open(dir, { migrations: v2, now: () => 1_700_000_000_000 });
    assert.equal(second.store.schemaVersion, 2);
    second.store.close();

    // Applying version 2 twice would fail (the column exists), so opening again proves it runs once.
    const again = await open(dir, { migrations: v2 });
    assert.equal(again.store.schemaVersion, 2);
    assert.deepEqual(
      again.store.all("SELECT version, name, applied_at FROM schema_version ORDER BY version").slice(1),
      [{ version: 2, name: "item sizes", applied_at: 1_700_000_000_000 }],
    );
    assert.deepEqual(again.store.all("SELECT name, size FROM items"), [{ name: "before v2", size: 7 }]);
  });

  it("refuses a database written by a newer build and leaves its files untouched", async () => {
    const dir = tempDir();
    const newer: Migration[] = [
      ...ITEMS,
      { version: 7, name: "from the future", up: ["CREATE TABLE future (x)"] },
    ];
    const writer = await open(dir, { migrations: newer });
    insert(writer.store, "kept");
    writer.store.close();
    const before = fingerprint(dir);

    const known: Migration[] = [
      ...ITEMS,
      { version: 2, name: "two", up: ["CREATE TABLE two (x)"] },
      { version: 3, name: "three", up: ["CREATE TABLE three (x)"] },
    ];
    await assert.rejects(
      Store.open({ dir, logger: new MemoryLogger(), migrations: known }),
      storeErrorWith(
        "schema_too_new",
        `The database at ${path.join(dir, "store.db")} was written by a newer MLX Model Manager (schema 7; this build knows up to 3). ` +
          "Update the extension, or move the file aside to start fresh.",
      ),
    );
    assert.deepEqual(fingerprint(dir), before);
  });

  it("creates the project's tables; profile names are unique regardless of case", async () => {
    const { store } = await open(tempDir(), { migrations: MIGRATIONS });
    assert.equal(store.schemaVersion, MIGRATIONS.at(-1)?.version);
    const insertProfile = (id: string, name: string): void => {
      store.run(
        "INSERT INTO profiles (id, name, name_key, version, data, created_at, updated_at) VALUES (?, ?, ?, 1, '{}', ?, ?)",
        [id, name, name.toLowerCase(), 1, 1],
      );
    };
    insertProfile("p1", "Llama 3");
    assert.throws(
      () => {
        insertProfile("p2", "LLAMA 3");
      },
      (error: unknown) =>
        error instanceof StoreError &&
        error.code === "constraint" &&
        error.columns[0] === "profiles.name_key",
    );
    store.run("INSERT INTO meta (key, value) VALUES (?, ?)", ["theme", "dark"]);
    assert.deepEqual(store.all("SELECT id, name FROM profiles"), [{ id: "p1", name: "Llama 3" }]);
  });

  it("writes a snapshot after the debounce delay and when the journal passes its size limit", async () => {
    const dir = tempDir();
    const journal = path.join(dir, "store.journal");
    const timed = await open(dir, { snapshotEveryMs: 20 });
    insert(timed.store, "soon in the snapshot");
    assert.ok(size(journal) > 0);
    await new Promise((resolve) => setTimeout(resolve, 150));
    assert.equal(size(journal), 0, "the debounced snapshot should have emptied the journal");
    timed.store.close();

    const sized = await open(dir, { snapshotAfterJournalBytes: 2000 });
    for (let i = 0; i < 40; i++) insert(sized.store, `row ${i} ${"x".repeat(50)}`);
    assert.ok(size(journal) < 2000, `journal is ${size(journal)} bytes`);
    assert.ok(fs.existsSync(path.join(dir, "store.db.bak")));
  });

  it("snapshot() and close() write the database file; close() twice is fine", async () => {
    const dir = tempDir();
    const { store } = await open(dir);
    insert(store, "one");
    store.snapshot();
    assert.equal(size(path.join(dir, "store.journal")), 0);
    insert(store, "two");
    store.close();
    store.close();
    assert.equal(size(path.join(dir, "store.journal")), 0);
    assert.throws(() => {
      insert(store, "three");
    }, /closed/);
    const reopened = await open(dir);
    assert.deepEqual(names(reopened.store), ["one", "two"]);
    assert.equal(reopened.report.replayed, 0);
  });
});

describe("Store recovery", () => {
  /** A store with two snapshots and changes after each: A in store.db.bak, A+B in store.db, C journaled. */
  async function storeWithHistory(): Promise<{ dir: string; expected: string[] }> {
    const dir = tempDir();
    const { store } = await open(dir);
    const expected: string[] = [];
    for (const phase of ["A", "B", "C"]) {
      for (let i = 0; i < 5; i++) {
        insert(store, `${phase}${i}`);
        expected.push(`${phase}${i}`);
      }
      if (phase !== "C") store.snapshot();
    }
    return { dir: crashImage(dir), expected };
  }

  for (const [damage, spoil] of [
    [
      "cut to half its size",
      (file: string) => {
        fs.truncateSync(file, Math.floor(size(file) / 2));
      },
    ],
    [
      "overwritten with garbage",
      (file: string) => {
        fs.writeFileSync(file, crypto.randomBytes(size(file)));
      },
    ],
  ] as const) {
    it(`restores from store.db.bak and the journal when store.db was ${damage}`, async () => {
      const { dir, expected } = await storeWithHistory();
      const db = path.join(dir, "store.db");
      spoil(db);
      const damaged = fs.readFileSync(db);

      const { store, report } = await open(dir);
      assert.deepEqual(names(store), expected);
      assert.equal(report.recoveredFrom, "backup");
      assert.match(report.movedAside ?? "", STAMPED_ASIDE);
      assert.equal(path.dirname(report.movedAside ?? ""), dir);
      assert.deepEqual(
        fs.readFileSync(report.movedAside ?? ""),
        damaged,
        "the damaged file is kept as it was",
      );
      assert.equal(report.replayed, 10);
      assert.match(
        report.message ?? "",
        /The database file .*store\.db was damaged \(.+\) and was moved to .*store\.db\.corrupt-/,
      );
      assert.match(
        report.message ?? "",
        /restored from the backup .*store\.db\.bak and 10 later changes from the journal\. No saved change was lost\./,
      );

      // The repaired store is a normal one again, and the backup chain still works: damaging the
      // new store.db right away still loses nothing.
      insert(store, "after");
      const image = crashImage(dir);
      spoil(path.join(image, "store.db"));
      const fromBackupAgain = await open(image);
      assert.equal(fromBackupAgain.report.recoveredFrom, "backup");
      assert.deepEqual(names(fromBackupAgain.store), [...expected, "after"]);

      store.close();
      const again = await open(dir);
      assert.deepEqual(again.report, { replayed: 0 });
      assert.deepEqual(names(again.store), [...expected, "after"]);
    });
  }

  it("rebuilds from the journals when store.db is damaged and there is no backup yet", async () => {
    const dir = tempDir();
    const { store } = await open(dir);
    insert(store, "one");
    insert(store, "two");
    // The journals still reach back to the first change (the migration): all of it can be replayed.
    const image = crashImage(dir);
    fs.writeFileSync(path.join(image, "store.db"), "not a database");

    const { store: rebuilt, report } = await open(image);
    assert.equal(report.recoveredFrom, "empty");
    assert.equal(rebuilt.schemaVersion, 1);
    assert.deepEqual(names(rebuilt), ["one", "two"]);
    assert.match(report.message ?? "", /store\.db was damaged \(it is not a SQLite database file\)/);
    assert.match(report.message ?? "", /3 changes were restored from the journal/);
  });

  it("starts empty and says what is missing when nothing usable is left", async () => {
    const { dir } = await storeWithHistory();
    fs.writeFileSync(path.join(dir, "store.db"), "");
    fs.writeFileSync(path.join(dir, "store.db.bak"), crypto.randomBytes(8192));

    const { store, report } = await open(dir);
    assert.equal(report.recoveredFrom, "empty");
    assert.deepEqual(names(store), []);
    assert.match(report.message ?? "", /store\.db was damaged \(the file is empty\)/);
    assert.match(report.message ?? "", /store\.db\.bak was damaged/);
    assert.match(
      report.message ?? "",
      /Changes 1 to \d+ are not in the change journal, so the later changes it holds could not be applied\./,
    );
    insert(store, "fresh start");
    store.close();
    const again = await open(dir);
    assert.deepEqual(again.report, { replayed: 0 });
    assert.deepEqual(names(again.store), ["fresh start"]);
  });

  it("ignores a torn last journal line, then appends cleanly after it", async () => {
    const dir = tempDir();
    const { store } = await open(dir);
    for (const name of ["a", "b", "c"]) insert(store, name);
    const image = crashImage(dir);
    const journal = path.join(image, "store.journal");
    fs.appendFileSync(journal, '3f9a {"seq":5,"stmts":[{"sql":"INSERT INTO items (na');

    const first = await open(image);
    assert.deepEqual(names(first.store), ["a", "b", "c"]);
    assert.equal(first.report.message, undefined);
    insert(first.store, "d");
    const second = await open(crashImage(image));
    assert.deepEqual(names(second.store), ["a", "b", "c", "d"]);
    assert.equal(second.report.message, undefined);
  });

  it("ignores a complete last line whose checksum does not match", async () => {
    const dir = tempDir();
    const { store } = await open(dir);
    insert(store, "a");
    insert(store, "b");
    const image = crashImage(dir);
    const journal = path.join(image, "store.journal");
    const text = fs.readFileSync(journal, "utf8");
    const tampered = text.replace('["b",null]', '["B",null]');
    assert.notEqual(tampered, text);
    fs.writeFileSync(journal, tampered);

    const { store: reopened, report } = await open(image);
    assert.deepEqual(names(reopened), ["a"]);
    assert.equal(report.message, undefined);
  });

  it("stops at a damaged line in the middle of the journal and keeps a copy of it", async () => {
    const dir = tempDir();
    const { store } = await open(dir);
    for (const name of ["a", "b", "c", "d", "e"]) insert(store, name);
    const image = crashImage(dir);
    const journal = path.join(image, "store.journal");
    const original = fs.readFileSync(journal, "utf8");
    const lines = original.split("\n");
    lines[2] = (lines[2] ?? "").replace('"c"', '"C"');
    fs.writeFileSync(journal, lines.join("\n"));
    const damaged = fs.readFileSync(journal);

    const { store: reopened, report } = await open(image);
    assert.deepEqual(names(reopened), ["a", "b"]);
    assert.equal(report.replayed, 2);
    assert.equal(report.recoveredFrom, undefined);
    assert.match(report.movedAside ?? "", /store\.journal\.corrupt-/);
    assert.deepEqual(fs.readFileSync(report.movedAside ?? ""), damaged);
    assert.match(
      report.message ?? "",
      /The change journal is damaged at line 3 of store\.journal \(its checksum does not match\), so changes saved after that point are missing\. A copy of the journal was kept as .*store\.journal\.corrupt-/,
    );

    insert(reopened, "f");
    const again = await open(crashImage(image));
    assert.deepEqual(names(again.store), ["a", "b", "f"]);
    assert.equal(again.report.message, undefined);
  });

  it("skips a damaged journal line whose change is already in the snapshot", async () => {
    const dir = tempDir();
    const { store } = await open(dir);
    for (const name of ["a", "b", "c"]) insert(store, name);
    store.snapshot(); // a, b and c are now in store.db and also in store.journal.bak
    for (const name of ["d", "e"]) insert(store, name);
    const image = crashImage(dir);
    const journalBak = path.join(image, "store.journal.bak");
    const lines = fs.readFileSync(journalBak, "utf8").split("\n");
    assert.equal(lines.length, 4);
    lines[1] = (lines[1] ?? "").replace('"b"', '"B"');
    fs.writeFileSync(journalBak, lines.join("\n"));

    const { store: reopened, report, logger } = await open(image);
    assert.deepEqual(names(reopened), ["a", "b", "c", "d", "e"]);
    assert.deepEqual(report, { replayed: 2 });
    assert.ok(
      logger.lines.some(
        (line) => line.level === "warn" && /skipped a damaged journal line/.test(line.message),
      ),
    );
  });

  it("rolls back a write that hits a full disk; a later write succeeds", async () => {
    const dir = tempDir();
    const failures: { write: string[] } = { write: [] };
    const { store } = await open(dir, { io: failingIo(failures) });
    insert(store, "before");
    const journal = path.join(dir, "store.journal");
    const before = size(journal);
    failures.write.push("ENOSPC");

    assert.throws(
      () => {
        insert(store, "lost");
      },
      storeErrorWith(
        "disk_full",
        `Could not save to ${journal}: the disk is full. Free some space and try again.`,
      ),
    );
    assert.equal(store.get("SELECT name FROM items WHERE name = 'lost'"), undefined);
    assert.equal(size(journal), before, "the half-written record must be cut off");

    insert(store, "after");
    assert.deepEqual(names(store), ["before", "after"]);
    const reopened = await open(crashImage(dir));
    assert.deepEqual(names(reopened.store), ["before", "after"]);
    assert.equal(reopened.report.message, undefined);
  });

  it("reports an I/O error and retries cutting the journal before the next write", async () => {
    const dir = tempDir();
    const failures: { sync: string[]; truncate: string[] } = { sync: [], truncate: [] };
    const { store } = await open(dir, { io: failingIo(failures) });
    const journal = path.join(dir, "store.journal");
    failures.sync.push("EIO");
    failures.truncate.push("EIO");

    assert.throws(
      () => {
        insert(store, "unsure");
      },
      storeErrorWith("io_error", new RegExp(`^Could not save to ${journal}: EIO`)),
    );
    assert.deepEqual(names(store), []);
    assert.ok(size(journal) > 0, "the cut failed, so the unacknowledged record is still there");

    insert(store, "next");
    assert.deepEqual(names(store), ["next"]);
    const reopened = await open(crashImage(dir));
    assert.deepEqual(names(reopened.store), ["next"]);
    assert.equal(reopened.report.message, undefined);
  });
});
