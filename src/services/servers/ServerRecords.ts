import * as z from "zod";
import { EngineId } from "../../shared/engines";
import type { ServerStartedBy } from "../../shared/servers";
import type { Store } from "../store/Store";

/** What the store keeps of a launched server so a restarted manager can re-adopt it. */
export interface ServerRecord {
  profileId: string;
  profileName: string;
  engine: EngineId;
  model: string;
  upstreamModel: string;
  pid: number;
  /** processStartTime() of the pid at launch; with the command line it proves identity. */
  processStart: string | undefined;
  port: number;
  command: string[];
  logFile: string;
  startedAt: number;
  readyAt: number | undefined;
  /** Who started it: Start (`user`) or a request just in time (`request`). */
  startedBy: ServerStartedBy;
}

interface ServerRow extends Record<string, unknown> {
  profile_id: string;
  profile_name: string;
  engine: string;
  model: string;
  upstream_model: string;
  pid: number;
  process_start: string | null;
  port: number;
  command: string;
  log_file: string;
  started_at: number;
  ready_at: number | null;
  started_by: string | null;
}

const Command = z.array(z.string()).min(1);

/** The `servers` table (migrations 2 and 7): one row per server that may still be running. */
export class ServerRecords {
  constructor(private readonly store: Store) {}

  /** Every record; rows that cannot be read (a hand-edited database) are skipped and returned apart. */
  all(): { records: ServerRecord[]; unreadable: string[] } {
    const records: ServerRecord[] = [];
    const unreadable: string[] = [];
    for (const row of this.store.all<ServerRow>("SELECT * FROM servers ORDER BY started_at")) {
      const engine = EngineId.safeParse(row.engine);
      let command: z.infer<typeof Command> | undefined;
      try {
        const parsed = Command.safeParse(JSON.parse(row.command));
        command = parsed.success ? parsed.data : undefined;
      } catch {
        command = undefined;
      }
      if (!engine.success || command === undefined) {
        unreadable.push(row.profile_id);
        continue;
      }
      records.push({
        profileId: row.profile_id,
        profileName: row.profile_name,
        engine: engine.data,
        model: row.model,
        upstreamModel: row.upstream_model,
        pid: row.pid,
        processStart: row.process_start ?? undefined,
        port: row.port,
        command,
        logFile: row.log_file,
        startedAt: row.started_at,
        readyAt: row.ready_at ?? undefined,
        startedBy: row.started_by === "request" ? "request" : "user",
      });
    }
    return { records, unreadable };
  }

  /** Records (or replaces) the server of a profile. */
  put(record: ServerRecord): void {
    this.store.run(
      `INSERT OR REPLACE INTO servers (profile_id, profile_name, engine, model, upstream_model, pid, process_start, port, command, log_file, started_at, ready_at, started_by)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        record.profileId,
        record.profileName,
        record.engine,
        record.model,
        record.upstreamModel,
        record.pid,
        record.processStart ?? null,
        record.port,
        JSON.stringify(record.command),
        record.logFile,
        record.startedAt,
        record.readyAt ?? null,
        record.startedBy,
      ],
    );
  }

  markReady(profileId: string, readyAt: number): void {
    this.store.run("UPDATE servers SET ready_at = ? WHERE profile_id = ?", [readyAt, profileId]);
  }

  remove(profileId: string): void {
    this.store.run("DELETE FROM servers WHERE profile_id = ?", [profileId]);
  }
}
