import fs from "node:fs";
import path from "node:path";
import type { Database, SqlJsStatic } from "sql.js";
import type { Logger } from "../logging/Logger";
import {
  applyInTransaction,
  assertReadOnly,
  assertWritable,
  configureConnection,
  ensureStoreTables,
  execute,
  loadDatabaseFile,
  loadSqlJs,
  rollback,
  scalar,
} from "./database";
import {
  copyAside,
  fileStamp,
  fsyncDirectory,
  isLeftoverTemporary,
  moveAside,
  storeFiles,
  truncateDurably,
  writeFileDurably,
  type StoreFiles,
} from "./files";
import {
  encodeRecord,
  nodeJournalIo,
  readJournalFile,
  type JournalIo,
  type JournalLine,
  type SqlParam,
  type Statement,
} from "./journal";
import { MIGRATIONS, type Migration } from "./migrations";
import { StoreError, describeError, diskFailure, isMissingFile, sqlFailure } from "./StoreError";

export type { JournalIo, SqlParam, Statement } from "./journal";
export type { Migration } from "./migrations";
export { StoreError, type StoreErrorCode } from "./StoreError";

export interface StoreOptions {
  /** Data directory; holds store.db, store.db.bak, store.journal and store.journal.bak. */
  dir: string;
  logger: Logger;
  /** sql-wasm.wasm; by default next to the running bundle, else from node_modules. */
  wasmPath?: string;
  /** A snapshot is written at most this long after the first change it will contain. Default 2000. */
  snapshotEveryMs?: number;
  /** A snapshot is written right away once the journal is this large. Default 4 MiB. */
  snapshotAfterJournalBytes?: number;
  /** Default: the project's MIGRATIONS. */
  migrations?: Migration[];
  now?: () => number;
  /** The journal's write path; tests inject failures here. */
  io?: JournalIo;
}

/** What `open` found and repaired; `message` is for the user when something was. */
export interface OpenReport {
  recoveredFrom?: "backup" | "empty";
  /** Where the first damaged file was moved (or copied, for a journal). */
  movedAside?: string;
  /** Journal records applied on top of the snapshot. */
  replayed: number;
  message?: string;
}

const DEFAULT_SNAPSHOT_EVERY_MS = 2000;
const DEFAULT_SNAPSHOT_AFTER_JOURNAL_BYTES = 4 * 1024 * 1024;

interface Settings {
  snapshotEveryMs: number;
  snapshotAfterJournalBytes: number;
  now: () => number;
}

interface Base {
  db: Database;
  source: "db" | "backup" | "empty";
  /** The file `db` was loaded from. */
  file: string | undefined;
  damaged: { file: string; reason: string }[];
}

interface Replay {
  applied: number;
  lastSeq: number;
  /** A record that could not be used although later ones exist: replay stopped before it. */
  stop?: { line: JournalLine; /** A sentence for the user. */ reason: string };
  /** An unreadable last line: a change that was never acknowledged. */
  torn?: JournalLine;
  /** Unreadable lines that provably held no change we lack. */
  skipped: JournalLine[];
}

/**
 * The manager's durable database: sql.js in memory, an fsync'd journal of every acknowledged change,
 * and periodic snapshots. Synchronous on purpose: when run() or batch() returns, the change is on disk.
 *
 * Statements must give the same result when replayed from the journal after a crash: pass
 * timestamps and ids as parameters, never use random(), randomblob(), CURRENT_TIMESTAMP or
 * date('now') in SQL. The `meta` key `journal_seq` is reserved for the store.
 */
export class Store {
  private journalFd: number | undefined;
  /** Bytes of the journal that hold acknowledged records. */
  private journalSize = 0;
  /** A failed append left bytes past journalSize that must be cut before the next one. */
  private journalNeedsCut = false;
  private timer: NodeJS.Timeout | undefined;
  private lastSnapshotFailure = Number.NEGATIVE_INFINITY;
  private version = 0;
  private closed = false;
  private reading = false;
  private rowsWrittenInRead = 0;

  private constructor(
    private readonly db: Database,
    private readonly files: StoreFiles,
    private readonly logger: Logger,
    private readonly io: JournalIo,
    private readonly settings: Settings,
    /** The seq of the last acknowledged change. */
    private lastSeq: number,
    /** The seq of the last change contained in store.db. */
    private snapshotSeq: number,
  ) {
    this.journal();
    db.updateHook(() => {
      if (this.reading) this.rowsWrittenInRead++;
    });
  }

  /** Opens (or creates) the store in `options.dir`, repairing what a crash or a damaged disk left. */
  static async open(options: StoreOptions): Promise<{ store: Store; report: OpenReport }> {
    const files = storeFiles(path.resolve(options.dir));
    const logger = options.logger.child({ component: "store" });
    const settings: Settings = {
      snapshotEveryMs: options.snapshotEveryMs ?? DEFAULT_SNAPSHOT_EVERY_MS,
      snapshotAfterJournalBytes: options.snapshotAfterJournalBytes ?? DEFAULT_SNAPSHOT_AFTER_JOURNAL_BYTES,
      now: options.now ?? Date.now,
    };
    const migrations = checkedMigrations(options.migrations ?? MIGRATIONS);
    const newestKnown = migrations.at(-1)?.version ?? 0;
    const SQL = await loadSqlJs(options.wasmPath);
    try {
      fs.mkdirSync(files.dir, { recursive: true, mode: 0o700 });
    } catch (error) {
      throw diskFailure(error, files.dir, "create");
    }

    // Phase 1 only reads, so a database from a newer build is refused without touching any file.
    const base = loadBase(SQL, files);
    let replay: Replay;
    let baseSeq: number;
    try {
      configureConnection(base.db);
      ensureStoreTables(base.db);
      const shownFile = base.file ?? files.db;
      assertSchemaKnown(base.db, newestKnown, shownFile);
      baseSeq = readJournalSeq(base.db);
      const lines = [...readJournalFile(files.journalBak), ...readJournalFile(files.journal)];
      replay = replayJournal(base.db, baseSeq, lines);
      assertSchemaKnown(base.db, newestKnown, shownFile);
    } catch (error) {
      base.db.close();
      throw error;
    }

    // Phase 2 repairs the files.
    const stamp = fileStamp(settings.now());
    const movedDamaged: { file: string; reason: string; to: string }[] = [];
    let journalCopies: string[] = [];
    let store: Store;
    try {
      for (const damage of base.damaged) movedDamaged.push({ ...damage, to: moveAside(damage.file, stamp) });
      if (replay.stop !== undefined) {
        // Copy what is about to be cut: the damaged file, and the journal after it.
        const cut =
          replay.stop.line.file === files.journalBak ? [files.journalBak, files.journal] : [files.journal];
        journalCopies = cut.map((file) => copyAside(file, stamp)).filter((copy) => copy !== undefined);
        // Keep what was applied, so store.journal.bak still bridges store.db.bak to store.db.
        truncateDurably(replay.stop.line.file, replay.stop.line.start);
        if (replay.stop.line.file === files.journalBak) truncateDurably(files.journal, 0);
        logger.error("journal damaged; replay stopped", {
          reason: replay.stop.reason,
          copies: journalCopies,
        });
      } else if (replay.torn !== undefined) {
        truncateDurably(replay.torn.file, replay.torn.start);
        logger.info("ignored an incomplete last journal line (a change that was never acknowledged)", {
          file: replay.torn.file,
          line: replay.torn.line,
        });
      }
      for (const line of replay.skipped) {
        logger.warn("skipped a damaged journal line whose change is already in the database", {
          file: line.file,
          line: line.line,
          problem: line.problem,
        });
      }
      for (const damage of movedDamaged) logger.error("database file damaged; moved aside", { ...damage });
      removeLeftovers(files.dir, logger);
      fsyncDirectory(files.dir);
      store = new Store(
        base.db,
        files,
        logger,
        options.io ?? nodeJournalIo,
        settings,
        replay.lastSeq,
        baseSeq,
      );
    } catch (error) {
      base.db.close();
      throw error;
    }

    const recovered = base.damaged.length > 0 || base.source === "backup";
    try {
      const migrated = store.migrate(migrations);
      if (replay.applied > 0 || recovered || replay.stop !== undefined || migrated > 0) {
        try {
          store.writeSnapshot(true);
        } catch (error) {
          // Everything is still in the journal; the next open or snapshot tries again.
          logger.warn("could not write a snapshot after opening", { error: describeError(error) });
        }
      }
    } catch (error) {
      store.close();
      throw error;
    }

    const report: OpenReport = { replayed: replay.applied };
    if (recovered) report.recoveredFrom = base.source === "backup" ? "backup" : "empty";
    const movedAside = movedDamaged[0]?.to ?? journalCopies[0];
    if (movedAside !== undefined) report.movedAside = movedAside;
    const message = describeRecovery(files, base, replay, movedDamaged, journalCopies);
    if (message !== undefined) {
      report.message = message;
      logger.warn(message);
    }
    logger.info("store opened", {
      dir: files.dir,
      schema: store.version,
      replayed: replay.applied,
      seq: store.lastSeq,
    });
    return { store, report };
  }

  /** The highest migration applied to the database. */
  get schemaVersion(): number {
    return this.version;
  }

  /** Applies one write; it is on disk when this returns. */
  run(sql: string, params?: SqlParam[]): void {
    this.commit([params === undefined ? { sql } : { sql, params }]);
  }

  /** Applies several writes atomically, as one journal record. */
  batch(statements: Statement[]): void {
    this.commit(statements);
  }

  /** Every row of a query. */
  all<T extends Record<string, unknown>>(sql: string, params?: SqlParam[]): T[] {
    const rows: T[] = [];
    this.read(sql, params, (row) => {
      rows.push(row as T);
      return true;
    });
    return rows;
  }

  /** The first row of a query, if any. */
  // T names the row shape for the caller, like all<T>; the store does not check it.
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters
  get<T extends Record<string, unknown>>(sql: string, params?: SqlParam[]): T | undefined {
    let first: T | undefined;
    this.read(sql, params, (row) => {
      first = row as T;
      return false;
    });
    return first;
  }

  /** Writes a snapshot now and starts a fresh journal; does nothing if nothing changed since the last one. */
  snapshot(): void {
    this.assertOpen();
    this.writeSnapshot(false);
  }

  /** Writes a final snapshot and closes the files; safe to call twice. */
  close(): void {
    if (this.closed) return;
    try {
      this.writeSnapshot(false);
    } catch (error) {
      this.logger.warn("could not write a snapshot on close; the journal keeps every change", {
        error: describeError(error),
      });
    }
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.closeJournal();
    this.db.close();
  }

  private assertOpen(): void {
    if (this.closed) throw new Error(`The store in ${this.files.dir} is closed.`);
  }

  private read(sql: string, params: SqlParam[] | undefined, onRow: Parameters<typeof execute>[3]): void {
    this.assertOpen();
    assertReadOnly(sql);
    // Always rolled back, so not even a write dressed as a read (WITH … INSERT) can make memory
    // differ from what the journal holds; the update hook tells us to refuse it.
    this.rowsWrittenInRead = 0;
    this.reading = true;
    this.db.run("BEGIN");
    try {
      execute(this.db, sql, params, onRow);
    } finally {
      this.reading = false;
      rollback(this.db);
    }
    if (this.rowsWrittenInRead > 0) {
      throw new StoreError(
        "sql",
        `all() and get() only read; use run() or batch() for changes. Refused: ${sql.trim().slice(0, 80)}`,
      );
    }
  }

  /** Applies, journals, fdatasyncs, then commits; on any failure memory and journal stay as they were. */
  private commit(statements: readonly Statement[]): void {
    this.assertOpen();
    if (statements.length === 0) return;
    for (const statement of statements) assertWritable(statement.sql);
    const seq = this.lastSeq + 1;
    const record = encodeRecord(seq, statements);
    this.cutJournalTail();
    const fd = this.journal();
    this.db.run("BEGIN");
    try {
      for (const statement of statements) execute(this.db, statement.sql, statement.params);
    } catch (error) {
      rollback(this.db);
      throw sqlFailure(error, "");
    }
    try {
      this.io.write(fd, record, this.journalSize);
      this.io.sync(fd);
    } catch (error) {
      rollback(this.db);
      this.takeBackAppend();
      throw diskFailure(error, this.files.journal);
    }
    try {
      this.db.run("COMMIT");
    } catch (error) {
      // Only deferred constraints fail here. The record is on disk: take it back.
      rollback(this.db);
      this.takeBackAppend();
      throw sqlFailure(error, "COMMIT");
    }
    this.journalSize += record.length;
    this.lastSeq = seq;
    this.afterWrite();
  }

  private takeBackAppend(): void {
    this.journalNeedsCut = true;
    try {
      this.cutJournalTail();
    } catch (error) {
      this.logger.error(
        "could not cut an unacknowledged record from the journal; will retry before the next write",
        {
          error: describeError(error),
        },
      );
    }
  }

  /** Removes bytes a failed append left, so the next record starts on a clean line. */
  private cutJournalTail(): void {
    if (!this.journalNeedsCut) return;
    const fd = this.journal();
    try {
      this.io.truncate(fd, this.journalSize);
      this.io.sync(fd);
    } catch (error) {
      throw diskFailure(error, this.files.journal);
    }
    this.journalNeedsCut = false;
  }

  private journal(): number {
    if (this.journalFd === undefined) {
      try {
        const fd = fs.openSync(this.files.journal, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
        this.journalSize = fs.fstatSync(fd).size;
        this.journalFd = fd;
      } catch (error) {
        throw diskFailure(error, this.files.journal, "open");
      }
      fsyncDirectory(this.files.dir);
    }
    return this.journalFd;
  }

  private closeJournal(): void {
    if (this.journalFd === undefined) return;
    try {
      fs.closeSync(this.journalFd);
    } catch {
      // Nothing unflushed: every append was fdatasync'd.
    }
    this.journalFd = undefined;
  }

  private afterWrite(): void {
    const { snapshotAfterJournalBytes, snapshotEveryMs, now } = this.settings;
    if (
      this.journalSize >= snapshotAfterJournalBytes &&
      now() - this.lastSnapshotFailure >= snapshotEveryMs
    ) {
      this.snapshotQuietly();
    } else {
      this.scheduleSnapshot();
    }
  }

  private scheduleSnapshot(): void {
    if (this.timer !== undefined || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.snapshotQuietly();
    }, this.settings.snapshotEveryMs);
    this.timer.unref();
  }

  /** A snapshot nobody waits for: a failure is logged and retried later, the journal keeps the data. */
  private snapshotQuietly(): void {
    if (this.closed) return;
    try {
      this.writeSnapshot(false);
    } catch (error) {
      this.lastSnapshotFailure = this.settings.now();
      this.logger.error("snapshot failed; changes stay in the journal", { error: describeError(error) });
      this.scheduleSnapshot();
    }
  }

  /**
   * Exports the database to store.db.tmp-<pid>, fsyncs it, makes store.db the backup, renames
   * the tmp file to store.db, fsyncs the directory, then starts a fresh journal. The snapshot holds
   * the seq of its last change (meta.journal_seq), so a crash before the journal is reset replays
   * nothing twice.
   */
  private writeSnapshot(force: boolean): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (!force && this.lastSeq === this.snapshotSeq && fs.existsSync(this.files.db)) return;
    this.cutJournalTail();
    const started = performance.now();
    // Not journaled: replay starts from a snapshot that holds its own seq.
    execute(this.db, "INSERT OR REPLACE INTO meta (key, value) VALUES ('journal_seq', ?)", [
      String(this.lastSeq),
    ]);
    let bytes: Uint8Array;
    try {
      bytes = this.db.export();
    } catch (error) {
      throw new StoreError(
        "io_error",
        `Could not copy the database for a snapshot: ${describeError(error)}`,
        {
          cause: error,
        },
      );
    }
    const tmp = `${this.files.db}.tmp-${process.pid}`;
    let replacedBackup: boolean;
    try {
      writeFileDurably(tmp, bytes);
      replacedBackup = keepAsBackup(this.files);
      fs.renameSync(tmp, this.files.db);
      fsyncDirectory(this.files.dir);
    } catch (error) {
      fs.rmSync(tmp, { force: true });
      throw diskFailure(error, this.files.db);
    }
    this.snapshotSeq = this.lastSeq;
    try {
      this.resetJournal(replacedBackup);
    } catch (error) {
      // Harmless: the journal's records are all in the snapshot and are skipped on replay.
      this.logger.warn("could not start a fresh journal after a snapshot", { error: describeError(error) });
    }
    this.logger.debug("snapshot written", {
      seq: this.snapshotSeq,
      bytes: bytes.length,
      ms: Math.round(performance.now() - started),
    });
  }

  /**
   * store.journal.bak must hold every change between store.db.bak and store.db. When store.db
   * became the new backup, that is exactly the current journal. When there was no store.db
   * (after a recovery) the backup did not change, so the journal is added to store.journal.bak.
   */
  private resetJournal(replacedBackup: boolean): void {
    if (replacedBackup) {
      this.closeJournal();
      try {
        fs.renameSync(this.files.journal, this.files.journalBak);
      } finally {
        this.journal();
      }
      return;
    }
    if (this.journalSize === 0) return;
    const fd = this.journal();
    const current = Buffer.alloc(this.journalSize);
    fs.readSync(fd, current, 0, current.length, 0);
    let previous: Buffer;
    try {
      previous = fs.readFileSync(this.files.journalBak);
    } catch (error) {
      if (!isMissingFile(error)) throw error;
      previous = Buffer.alloc(0);
    }
    const tmp = `${this.files.journalBak}.tmp-${process.pid}`;
    try {
      writeFileDurably(tmp, Buffer.concat([previous, current]));
      fs.renameSync(tmp, this.files.journalBak);
    } catch (error) {
      fs.rmSync(tmp, { force: true });
      throw error;
    }
    fsyncDirectory(this.files.dir);
    // Every record is now in store.journal.bak too, so the journal may be emptied; if cutting it
    // fails here it is retried before the next append. A crash leaves duplicates, which replay skips.
    this.journalSize = 0;
    this.journalNeedsCut = true;
    this.cutJournalTail();
  }

  /** Applies the migrations newer than the database, each as one journaled change. */
  private migrate(migrations: readonly Migration[]): number {
    const current = currentSchema(this.db);
    let applied = 0;
    this.version = current;
    for (const migration of migrations) {
      if (migration.version <= current) continue;
      try {
        this.commit([
          ...migration.up.map((sql) => ({ sql })),
          {
            sql: "INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)",
            params: [migration.version, migration.name, this.settings.now()],
          },
        ]);
      } catch (error) {
        const code = error instanceof StoreError ? error.code : "sql";
        throw new StoreError(
          code,
          `Could not upgrade the database to schema ${migration.version} (${migration.name}): ${describeError(error)}`,
          { cause: error },
        );
      }
      this.version = migration.version;
      applied++;
      this.logger.info("migration applied", { version: migration.version, name: migration.name });
    }
    return applied;
  }
}

/**
 * Makes the current store.db the backup. A hard link keeps store.db in place until the new snapshot
 * replaces it, so a crash never leaves the directory without one; where links are not supported
 * it is renamed (a crash right then makes the next open restore from the backup). Returns false
 * when there was no store.db.
 */
function keepAsBackup(files: StoreFiles): boolean {
  const link = `${files.bak}.tmp-${process.pid}`;
  fs.rmSync(link, { force: true });
  try {
    fs.linkSync(files.db, link);
  } catch (error) {
    if (isMissingFile(error)) return false;
    try {
      fs.renameSync(files.db, files.bak);
    } catch (renameError) {
      if (isMissingFile(renameError)) return false;
      throw renameError;
    }
    return true;
  }
  fs.renameSync(link, files.bak);
  // rename() does nothing when both names already link the same file (a crash came between
  // this step and the next one last time); the extra name must still go.
  fs.rmSync(link, { force: true });
  return true;
}

function checkedMigrations(migrations: readonly Migration[]): Migration[] {
  let previous = 0;
  for (const migration of migrations) {
    if (!Number.isInteger(migration.version) || migration.version <= previous) {
      throw new Error(
        `Migrations must have increasing positive integer versions; ${migration.version} follows ${previous}.`,
      );
    }
    previous = migration.version;
  }
  return [...migrations];
}

function currentSchema(db: Database): number {
  return Number(scalar(db, "SELECT coalesce(max(version), 0) FROM schema_version"));
}

function assertSchemaKnown(db: Database, newestKnown: number, file: string): void {
  const found = currentSchema(db);
  if (found > newestKnown) {
    throw new StoreError(
      "schema_too_new",
      `The database at ${file} was written by a newer MLX Model Manager (schema ${found}; this build knows up to ${newestKnown}). ` +
        "Update the extension, or move the file aside to start fresh.",
      { path: file },
    );
  }
}

function readJournalSeq(db: Database): number {
  const value = Number(scalar(db, "SELECT value FROM meta WHERE key = 'journal_seq'") ?? 0);
  return Number.isSafeInteger(value) && value >= 0 ? value : 0;
}

/** store.db if it is sound, else store.db.bak if that is, else an empty database. */
function loadBase(SQL: SqlJsStatic, files: StoreFiles): Base {
  const damaged: Base["damaged"] = [];
  const main = loadDatabaseFile(SQL, files.db);
  if (main.kind === "ok") return { db: main.db, source: "db", file: files.db, damaged };
  if (main.kind === "damaged") damaged.push({ file: files.db, reason: main.reason });
  const backup = loadDatabaseFile(SQL, files.bak);
  if (backup.kind === "ok") return { db: backup.db, source: "backup", file: files.bak, damaged };
  if (backup.kind === "damaged") damaged.push({ file: files.bak, reason: backup.reason });
  return { db: new SQL.Database(), source: "empty", file: undefined, damaged };
}

/**
 * Applies journal records after the snapshot's seq, in order. An unreadable last line is a change
 * that was never acknowledged and is ignored; any other unreadable line, a gap in the seqs or a
 * record that fails stops replay there, unless the records after it prove nothing is missing.
 */
function replayJournal(db: Database, baseSeq: number, lines: readonly JournalLine[]): Replay {
  let lastSeq = baseSeq;
  let applied = 0;
  const skipped: JournalLine[] = [];
  for (const [index, line] of lines.entries()) {
    const record = line.record;
    const where = `line ${line.line} of ${path.basename(line.file)}`;
    if (record === undefined) {
      if (index === lines.length - 1) return { applied, lastSeq, skipped, torn: line };
      // Seqs have no holes, so if the next readable record continues where we are, this line
      // held nothing we lack (a change already in the snapshot, or a duplicate).
      const next = lines.slice(index + 1).find((later) => later.record !== undefined)?.record;
      if (next !== undefined && next.seq <= lastSeq + 1) {
        skipped.push(line);
        continue;
      }
      return {
        applied,
        lastSeq,
        skipped,
        stop: {
          line,
          reason: `The change journal is damaged at ${where} (${line.problem ?? "unreadable"}), so changes saved after that point are missing.`,
        },
      };
    }
    if (record.seq <= lastSeq) continue;
    if (record.seq !== lastSeq + 1) {
      const missing =
        record.seq - 1 === lastSeq + 1
          ? `Change ${lastSeq + 1} is`
          : `Changes ${lastSeq + 1} to ${record.seq - 1} are`;
      const reason = `${missing} not in the change journal, so the later changes it holds could not be applied.`;
      return { applied, lastSeq, skipped, stop: { line, reason } };
    }
    try {
      applyInTransaction(db, record.stmts);
    } catch (error) {
      return {
        applied,
        lastSeq,
        skipped,
        stop: {
          line,
          reason: `Change ${record.seq} (${where}) could not be applied (${describeError(error)}), so it and later changes are missing.`,
        },
      };
    }
    lastSeq = record.seq;
    applied++;
  }
  return { applied, lastSeq, skipped };
}

function removeLeftovers(dir: string, logger: Logger): void {
  for (const name of fs.readdirSync(dir)) {
    if (!isLeftoverTemporary(name)) continue;
    fs.rmSync(path.join(dir, name), { force: true });
    logger.info("removed a temporary file left by an interrupted snapshot", { file: name });
  }
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

/** A message for the user when open had to repair something; undefined when all was well. */
function describeRecovery(
  files: StoreFiles,
  base: Base,
  replay: Replay,
  moved: readonly { file: string; reason: string; to: string }[],
  journalCopies: readonly string[],
): string | undefined {
  const sentences: string[] = [];
  for (const damage of moved) {
    sentences.push(
      `The database file ${damage.file} was damaged (${damage.reason}) and was moved to ${damage.to}.`,
    );
  }
  const fromJournal =
    replay.applied > 0 ? ` and ${plural(replay.applied, "later change")} from the journal` : "";
  if (base.source === "backup") {
    if (!moved.some((damage) => damage.file === files.db)) {
      sentences.push(`The database file ${files.db} was missing.`);
    }
    sentences.push(`Your data was restored from the backup ${files.bak}${fromJournal}.`);
  } else if (base.source === "empty" && moved.length > 0) {
    sentences.push(
      replay.applied > 0
        ? `No usable copy of the database was left; ${plural(replay.applied, "change")} were restored from the journal.`
        : "No usable copy of the database was left, so it starts empty.",
    );
  }
  if (replay.stop !== undefined) {
    sentences.push(
      replay.stop.reason +
        (journalCopies.length > 0
          ? ` A copy of the journal was kept as ${journalCopies.join(" and ")}.`
          : ""),
    );
  } else if (base.source === "backup") {
    sentences.push("No saved change was lost.");
  }
  return sentences.length > 0 ? sentences.join(" ") : undefined;
}
