/** Why a store operation failed; stable, so callers can branch on it. */
export type StoreErrorCode = "corrupt" | "schema_too_new" | "disk_full" | "io_error" | "constraint" | "sql";

export interface StoreErrorOptions {
  cause?: unknown;
  /** The file the failure concerns, when there is one. */
  path?: string;
  /** For `constraint`: what SQLite names after "constraint failed:", e.g. ["profiles.name_key"]. */
  columns?: string[];
}

/** The one error type of the store; `message` is written for the person using the extension. */
export class StoreError extends Error {
  readonly path: string | undefined;
  readonly columns: readonly string[];

  constructor(
    readonly code: StoreErrorCode,
    message: string,
    options: StoreErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "StoreError";
    this.path = options.path;
    this.columns = options.columns ?? [];
  }
}

/** The text of whatever sql.js or Node threw (sql.js sometimes throws plain strings). */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

function errnoCode(error: unknown): string | undefined {
  if (error instanceof Error && "code" in error && typeof error.code === "string") return error.code;
  return undefined;
}

/** Maps a failed SQLite call to `constraint` (UNIQUE, NOT NULL, CHECK, FOREIGN KEY), `corrupt` or `sql`. */
export function sqlFailure(error: unknown, sql: string): StoreError {
  if (error instanceof StoreError) return error;
  const text = describeError(error);
  const constraint = /^(\w+(?: \w+)?) constraint failed(?:: (.*))?$/i.exec(text);
  if (constraint) {
    const columns = constraint[2]?.split(",").map((column) => column.trim()) ?? [];
    return new StoreError("constraint", `The change conflicts with existing data (${text}).`, {
      cause: error,
      columns,
    });
  }
  if (/database disk image is malformed|file is not a database/i.test(text)) {
    return new StoreError("corrupt", `The in-memory database is damaged (${text}). Restart the manager.`, {
      cause: error,
    });
  }
  const shown = sql.length > 200 ? `${sql.slice(0, 200)}…` : sql;
  return new StoreError("sql", `A database statement failed: ${text}. Statement: ${shown}`, { cause: error });
}

/** Maps a failed file operation on `file` to `disk_full` or `io_error`. */
export function diskFailure(error: unknown, file: string, verb = "save to"): StoreError {
  if (error instanceof StoreError) return error;
  const code = errnoCode(error);
  if (code === "ENOSPC" || code === "EDQUOT") {
    return new StoreError(
      "disk_full",
      `Could not ${verb} ${file}: the disk is full. Free some space and try again.`,
      {
        cause: error,
        path: file,
      },
    );
  }
  return new StoreError(
    "io_error",
    `Could not ${verb} ${file}: ${describeError(error)}. Check that the disk is connected and writable, then try again.`,
    { cause: error, path: file },
  );
}

/** True when a file operation failed only because the file does not exist. */
export function isMissingFile(error: unknown): boolean {
  return errnoCode(error) === "ENOENT";
}
