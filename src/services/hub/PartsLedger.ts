import type { Store } from "../store/Store";

/** One ranged part of a file: bytes [start, end) of it, `done` of them on disk from `start` on. */
export interface PartState {
  start: number;
  end: number;
  done: number;
}

/** Where a file fetched in parts keeps its parts' progress, so a stopped download resumes each part. */
export interface PartsLedger {
  load(repo: string, etag: string): PartState[] | undefined;
  save(repo: string, etag: string, parts: readonly PartState[]): void;
  clear(repo: string, etag: string): void;
  /** Every blob with parts recorded (to drop the rows of files no longer on disk). */
  blobs(): { repo: string; etag: string }[];
}

interface PartRow extends Record<string, unknown> {
  repo: string;
  etag: string;
  part: number;
  first_byte: number;
  end_byte: number;
  done_bytes: number;
}

/** The parts' progress in the store's `download_parts` table (migration 11). */
export class StorePartsLedger implements PartsLedger {
  constructor(private readonly store: Store) {}

  load(repo: string, etag: string): PartState[] | undefined {
    const rows = this.store.all<PartRow>("SELECT * FROM download_parts WHERE repo = ? AND etag = ? ORDER BY part", [repo, etag]);
    return rows.length === 0 ? undefined : rows.map((r) => ({ start: r.first_byte, end: r.end_byte, done: r.done_bytes }));
  }

  save(repo: string, etag: string, parts: readonly PartState[]): void {
    this.store.batch([
      { sql: "DELETE FROM download_parts WHERE repo = ? AND etag = ?", params: [repo, etag] },
      ...parts.map((p, part) => ({
        sql: "INSERT INTO download_parts (repo, etag, part, first_byte, end_byte, done_bytes) VALUES (?, ?, ?, ?, ?, ?)",
        params: [repo, etag, part, p.start, p.end, p.done],
      })),
    ]);
  }

  clear(repo: string, etag: string): void {
    this.store.run("DELETE FROM download_parts WHERE repo = ? AND etag = ?", [repo, etag]);
  }

  blobs(): { repo: string; etag: string }[] {
    return this.store.all<{ repo: string; etag: string }>("SELECT DISTINCT repo, etag FROM download_parts");
  }
}

/** Splits `size` bytes into at most `count` parts of at least `minPartBytes` (one part when it is smaller). */
export function splitParts(size: number, count: number, minPartBytes: number): PartState[] {
  const n = Math.max(1, Math.min(count, Math.floor(size / minPartBytes)));
  const length = Math.ceil(size / n);
  const parts: PartState[] = [];
  for (let start = 0; start < size; start += length) parts.push({ start, end: Math.min(size, start + length), done: 0 });
  return parts;
}

/** Parts that cover [0, size) in order with no gap and sane progress; anything else is started over. */
export function validParts(parts: readonly PartState[] | undefined, size: number): parts is PartState[] {
  if (!parts || parts.length === 0) return false;
  let at = 0;
  for (const p of parts) {
    if (p.start !== at || p.end <= p.start || p.done < 0 || p.done > p.end - p.start) return false;
    at = p.end;
  }
  return at === size;
}

/** Bytes on disk over all the parts. */
export function doneBytes(parts: readonly PartState[]): number {
  return parts.reduce((sum, p) => sum + p.done, 0);
}

/** End of the bytes on disk from the file's start with no gap: what can be hashed so far. */
export function contiguousEnd(parts: readonly PartState[]): number {
  let end = 0;
  for (const p of parts) {
    end = p.start + p.done;
    if (p.start + p.done < p.end) break;
  }
  return end;
}
