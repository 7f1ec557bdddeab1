/**
 * One step of the schema. `up` holds fixed SQL text only: no parameters, and nothing that differs
 * between runs (no `random()`, no `CURRENT_TIMESTAMP`), because a migration is journaled and may
 * be replayed after a crash. Never edit a released migration; append a new one.
 */
export interface Migration {
  version: number;
  name: string;
  up: string[];
}

/** The project's schema, oldest first. Later issues append to this list. */
export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: "meta and profiles",
    up: [
      // The store itself creates `meta` before any migration runs (it keeps `journal_seq` there),
      // hence IF NOT EXISTS.
      `CREATE TABLE IF NOT EXISTS meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
      )`,
      // name_key is the lowercased name, so names are unique regardless of case.
      `CREATE TABLE profiles (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        name_key TEXT NOT NULL UNIQUE,
        version INTEGER NOT NULL,
        data TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      )`,
    ],
  },
];
