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
  {
    version: 2,
    name: "servers",
    up: [
      // One row per model server the manager started and that may still run: what a restarted
      // manager needs to re-adopt it (pid + its start time + command line prove it is the same
      // process, not a reused pid) or to clean up after it.
      `CREATE TABLE servers (
        profile_id TEXT PRIMARY KEY,
        profile_name TEXT NOT NULL,
        engine TEXT NOT NULL,
        model TEXT NOT NULL,
        upstream_model TEXT NOT NULL,
        pid INTEGER NOT NULL,
        process_start TEXT,
        port INTEGER NOT NULL,
        command TEXT NOT NULL,
        log_file TEXT NOT NULL,
        started_at INTEGER NOT NULL,
        ready_at INTEGER
      )`,
    ],
  },
  {
    version: 3,
    name: "usage aggregates",
    up: [
      // What the /v1 gateway relayed, summed per UTC day, profile and user ('' for the local
      // user; shared mode fills it). The gateway adds to a row in batches, never once per request.
      // profile_name is the name at the last write, so a deleted profile's usage still reads well.
      `CREATE TABLE usage_daily (
        day TEXT NOT NULL,
        profile_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        profile_name TEXT NOT NULL,
        requests INTEGER NOT NULL,
        errors INTEGER NOT NULL,
        aborted INTEGER NOT NULL,
        prompt_tokens INTEGER NOT NULL,
        completion_tokens INTEGER NOT NULL,
        duration_ms INTEGER NOT NULL,
        PRIMARY KEY (day, profile_id, user_id)
      )`,
    ],
  },
  {
    version: 4,
    name: "downloads",
    up: [
      // The download queue: a job per repo and revision, so a killed manager resumes its
      // downloads on start. Progress is not stored (it is recomputed from the partial files on
      // disk); only state changes are written. include/exclude/error hold JSON.
      `CREATE TABLE downloads (
        id TEXT PRIMARY KEY,
        repo TEXT NOT NULL,
        revision TEXT NOT NULL,
        commit_sha TEXT,
        include TEXT,
        exclude TEXT,
        state TEXT NOT NULL,
        error TEXT,
        done_bytes INTEGER NOT NULL,
        total_bytes INTEGER NOT NULL,
        files_done INTEGER NOT NULL,
        files_total INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      )`,
    ],
  },
  {
    version: 5,
    name: "users, api keys, audit log",
    up: [
      // Shared mode's accounts. email is stored normalised (lowercased, NFC) and unique.
      // token_version is in every JWT; bumping it signs the user out everywhere at once.
      `CREATE TABLE users (
        id TEXT PRIMARY KEY,
        email TEXT NOT NULL UNIQUE,
        password_hash TEXT NOT NULL,
        role TEXT NOT NULL,
        status TEXT NOT NULL,
        token_version INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        last_login_at INTEGER
      )`,
      // Only the SHA-256 of a key is kept; the key is shown once.
      `CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL,
        name TEXT NOT NULL,
        prefix TEXT NOT NULL,
        key_hash TEXT NOT NULL UNIQUE,
        created_at INTEGER NOT NULL,
        last_used_at INTEGER,
        revoked_at INTEGER
      )`,
      `CREATE INDEX api_keys_user ON api_keys (user_id)`,
      // Security events; details is JSON of plain values, never a secret.
      `CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at INTEGER NOT NULL,
        type TEXT NOT NULL,
        actor TEXT NOT NULL,
        actor_email TEXT,
        target TEXT,
        ip TEXT,
        details TEXT
      )`,
    ],
  },
  {
    version: 6,
    name: "chat conversations",
    up: [
      // The dashboard's chat playground: one row per conversation, the whole document as JSON
      // (messages, settings); workspace is an opaque key the extension derives from its folders.
      `CREATE TABLE conversations (
        id TEXT PRIMARY KEY,
        workspace TEXT NOT NULL,
        title TEXT NOT NULL,
        data TEXT NOT NULL,
        message_count INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      )`,
      `CREATE INDEX conversations_workspace ON conversations (workspace, updated_at)`,
    ],
  },
  {
    version: 7,
    name: "manager settings, who started a server",
    up: [
      // The manager's settings (memory budget, default idle stop, request queue): one row per
      // setting, value as JSON; a setting without a row has its default.
      `CREATE TABLE settings (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        updated_at INTEGER NOT NULL
      )`,
      // 'user' (Start, the CLI) or 'request' (just in time, by the gateway): in shared mode a
      // teammate's request may stop only servers a request started. Rows of older managers: NULL,
      // read as 'user'.
      `ALTER TABLE servers ADD COLUMN started_by TEXT`,
    ],
  },
  {
    version: 8,
    name: "remote backends",
    up: [
      // OpenAI-compatible servers on other machines. Their keys are NOT here: each is a 0600 file
      // of the data dir (remote-keys/<id>), so the database, its backups and exports never hold one.
      // cert_pem/fingerprint: the certificate pinned after the user confirmed it (NULL: the
      // system's CAs decide, or plain http). plain_http: 1 when the user accepted clear text to
      // another machine. kind: 'openai' (any OpenAI-compatible server) or 'exo' (a cluster: no
      // authentication, models placed by an explicit Start).
      `CREATE TABLE remote_backends (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        name_key TEXT NOT NULL UNIQUE,
        url TEXT NOT NULL,
        cert_pem TEXT,
        fingerprint TEXT,
        plain_http INTEGER NOT NULL DEFAULT 0,
        kind TEXT NOT NULL DEFAULT 'openai',
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      )`,
    ],
  },
  {
    version: 9,
    name: "fine-tuning jobs",
    up: [
      // One row per job. settings: mlx_lm.lora's configuration as JSON (its own names); model: the
      // ModelRef; dir: the job's folder (<data dir>/jobs/<id>: config, data, adapters, log,
      // reports.jsonl with every report). state: queued | running | completed | failed | cancelled
      // | interrupted. pid/process_start: the running trainer, re-adopted after a restart while it
      // lives. iteration_offset: where a resumed run starts counting (its checkpoint's iteration).
      `CREATE TABLE jobs (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        kind TEXT NOT NULL DEFAULT 'lora',
        state TEXT NOT NULL,
        model TEXT NOT NULL,
        settings TEXT NOT NULL,
        dir TEXT NOT NULL,
        iters INTEGER NOT NULL,
        iteration INTEGER NOT NULL DEFAULT 0,
        iteration_offset INTEGER NOT NULL DEFAULT 0,
        train_loss REAL,
        val_loss REAL,
        checkpoint TEXT,
        pid INTEGER,
        process_start TEXT,
        error TEXT,
        created_at INTEGER NOT NULL,
        started_at INTEGER,
        ended_at INTEGER
      )`,
      "CREATE INDEX jobs_state ON jobs (state)",
    ],
  },
  {
    version: 10,
    name: "benchmarks and perplexity",
    up: [
      // One row per benchmark run of one or more profiles. settings: BenchSettings as JSON;
      // profiles: the names asked for, in order; results: BenchProfileResult[] as JSON, written as
      // each profile finishes. state: running | completed | failed | cancelled (a run the manager
      // did not finish is marked interrupted at its next start).
      `CREATE TABLE benchmarks (
        id TEXT PRIMARY KEY,
        state TEXT NOT NULL,
        settings TEXT NOT NULL,
        profiles TEXT NOT NULL,
        results TEXT NOT NULL DEFAULT '[]',
        error TEXT,
        created_at INTEGER NOT NULL,
        ended_at INTEGER
      )`,
      "CREATE INDEX benchmarks_created ON benchmarks (created_at)",
      // One row per perplexity measure: a profile's model on a text (its name and sha256, never the text).
      `CREATE TABLE perplexity (
        id TEXT PRIMARY KEY,
        profile_id TEXT NOT NULL,
        profile_name TEXT NOT NULL,
        engine TEXT NOT NULL,
        model TEXT NOT NULL,
        text_name TEXT NOT NULL,
        text_sha256 TEXT NOT NULL,
        tokens INTEGER NOT NULL,
        scored_tokens INTEGER NOT NULL,
        sequence_length INTEGER NOT NULL,
        perplexity REAL NOT NULL,
        standard_error REAL NOT NULL,
        seconds REAL NOT NULL,
        created_at INTEGER NOT NULL
      )`,
      "CREATE INDEX perplexity_profile ON perplexity (profile_id, created_at)",
    ],
  },
  {
    version: 11,
    name: "download parts",
    up: [
      // A large file fetched as parallel ranged parts into blobs/<etag>.parts.incomplete: one row
      // per part, [first_byte, end_byte) of the file, done_bytes of it on disk from first_byte on.
      // Keyed by the blob, not the download, so whichever download fetches the blob next resumes it.
      `CREATE TABLE download_parts (
        repo TEXT NOT NULL,
        etag TEXT NOT NULL,
        part INTEGER NOT NULL,
        first_byte INTEGER NOT NULL,
        end_byte INTEGER NOT NULL,
        done_bytes INTEGER NOT NULL,
        PRIMARY KEY (repo, etag, part)
      )`,
    ],
  },
];
