import fs from "node:fs";
import path from "node:path";
import initSqlJs, { type Database, type ParamsObject, type SqlJsStatic } from "sql.js";
import type { SqlParam, Statement } from "./journal";
import { StoreError, describeError, diskFailure, isMissingFile, sqlFailure } from "./StoreError";

/** Where sql-wasm.wasm is: next to the running bundle (the build copies it to dist/), else in node_modules. */
export function defaultWasmPath(): string {
  const bundled = path.join(__dirname, "sql-wasm.wasm");
  if (fs.existsSync(bundled)) return bundled;
  return require.resolve("sql.js/dist/sql-wasm.wasm");
}

/** Loads the SQLite engine (WebAssembly). */
export async function loadSqlJs(wasmPath: string | undefined): Promise<SqlJsStatic> {
  let file: string;
  try {
    file = wasmPath ?? defaultWasmPath();
    fs.accessSync(file, fs.constants.R_OK);
  } catch (error) {
    throw new StoreError(
      "io_error",
      `The SQLite engine (sql-wasm.wasm) was not found${wasmPath === undefined ? "" : ` at ${wasmPath}`}: ${describeError(error)}. Reinstall the extension.`,
      { cause: error },
    );
  }
  return initSqlJs({ locateFile: () => file });
}

const TRANSACTION_CONTROL = /^\s*(begin|commit|end|rollback|savepoint|release|attach|detach|vacuum)\b/i;
const READ_ONLY = /^\s*(select|with|values|pragma|explain)\b/i;

/** Refuses statements that would break the store's own transaction around each change. */
export function assertWritable(sql: string): void {
  if (TRANSACTION_CONTROL.test(sql)) {
    throw new StoreError(
      "sql",
      `The store manages transactions itself; use batch() for several statements. Refused: ${sql.trim().slice(0, 80)}`,
    );
  }
}

/** Refuses statements that change data in a read (they would bypass the journal). */
export function assertReadOnly(sql: string): void {
  if (!READ_ONLY.test(sql)) {
    throw new StoreError(
      "sql",
      `all() and get() only read; use run() or batch() for changes. Refused: ${sql.trim().slice(0, 80)}`,
    );
  }
}

/**
 * Runs exactly one SQL statement, calling `onRow` for each result row until it returns false.
 * A string holding several statements is refused: sql.js would silently run only the first.
 */
export function execute(
  db: Database,
  sql: string,
  params: readonly SqlParam[] | undefined,
  onRow?: (row: ParamsObject) => boolean,
): void {
  const statements = db.iterateStatements(sql);
  try {
    const first = statements.next();
    if (first.done) throw new StoreError("sql", "The SQL statement is empty.");
    if (statements.getRemainingSQL().replace(/[\s;]+/g, "") !== "") {
      throw new StoreError(
        "sql",
        `Pass one SQL statement per call (use batch() for several). Statement: ${sql}`,
      );
    }
    const statement = first.value;
    if (params !== undefined && params.length > 0) statement.bind([...params]);
    while (statement.step()) {
      if (onRow !== undefined && !onRow(statement.getAsObject())) break;
    }
  } catch (error) {
    throw sqlFailure(error, sql);
  } finally {
    // Advancing frees the statement and, at the end, the iterator's copy of the SQL text.
    try {
      while (!statements.next().done) {
        // Nothing: only reached for a refused multi-statement string.
      }
    } catch {
      // The iterator has freed itself.
    }
  }
}

/** Applies statements atomically: all of them or, on error, none. */
export function applyInTransaction(db: Database, statements: readonly Statement[]): void {
  db.run("BEGIN");
  try {
    for (const statement of statements) execute(db, statement.sql, statement.params);
    db.run("COMMIT");
  } catch (error) {
    rollback(db);
    throw sqlFailure(error, "COMMIT");
  }
}

/** Rolls back if a transaction is open; SQLite may already have rolled back on its own. */
export function rollback(db: Database): void {
  try {
    db.run("ROLLBACK");
  } catch {
    // "cannot rollback - no transaction is active"
  }
}

/** Reads one value of a single-row query, e.g. `SELECT max(version) FROM schema_version`. */
export function scalar(db: Database, sql: string, params?: SqlParam[]): unknown {
  let value: unknown;
  execute(db, sql, params, (row) => {
    value = Object.values(row)[0];
    return false;
  });
  return value;
}

/** Tables the store itself relies on; created before replay and migrations so both can use them. */
export function ensureStoreTables(db: Database): void {
  db.run(
    "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)",
  );
  db.run("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
}

/** Connection settings that are not stored in the file. */
export function configureConnection(db: Database): void {
  db.run("PRAGMA foreign_keys = ON");
}

const SQLITE_MAGIC = Buffer.from("SQLite format 3\0", "latin1");

/** What is wrong with the header of a database file, or undefined if it looks whole. */
function headerProblem(bytes: Buffer): string | undefined {
  if (bytes.length === 0) return "the file is empty";
  if (bytes.length < 100 || !bytes.subarray(0, 16).equals(SQLITE_MAGIC))
    return "it is not a SQLite database file";
  const rawPageSize = bytes.readUInt16BE(16);
  const pageSize = rawPageSize === 1 ? 65536 : rawPageSize;
  if (pageSize < 512 || (pageSize & (pageSize - 1)) !== 0) return "its header is damaged";
  // The page count in the header is trustworthy when the change counter matches "version valid for".
  const pageCount = bytes.readUInt32BE(28);
  if (
    pageCount > 0 &&
    bytes.readUInt32BE(24) === bytes.readUInt32BE(92) &&
    bytes.length < pageCount * pageSize
  ) {
    return `it has ${bytes.length} of its ${pageCount * pageSize} bytes, probably cut off while being written`;
  }
  if (bytes.length % pageSize !== 0)
    return "its size is not a whole number of pages, probably cut off while being written";
  return undefined;
}

export type LoadedFile =
  { kind: "missing" } | { kind: "damaged"; reason: string } | { kind: "ok"; db: Database };

/** Opens a database file into memory if it is present and passes SQLite's integrity check. */
export function loadDatabaseFile(SQL: SqlJsStatic, file: string): LoadedFile {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (error) {
    if (isMissingFile(error)) return { kind: "missing" };
    // Unreadable is not damaged: moving it aside could hide data the user still has.
    throw diskFailure(error, file, "read");
  }
  const problem = headerProblem(bytes);
  if (problem !== undefined) return { kind: "damaged", reason: problem };
  let db: Database | undefined;
  try {
    db = new SQL.Database(bytes);
    const result = db.exec("PRAGMA integrity_check");
    const lines = result[0]?.values.map((row) => String(row[0])) ?? [];
    if (lines.length !== 1 || lines[0] !== "ok") {
      db.close();
      return { kind: "damaged", reason: `SQLite's integrity check failed (${lines.slice(0, 3).join("; ")})` };
    }
    return { kind: "ok", db };
  } catch (error) {
    db?.close();
    return { kind: "damaged", reason: `SQLite cannot read it (${describeError(error)})` };
  }
}
