import crypto from "node:crypto";
import fs from "node:fs";
import * as z from "zod";
import { StoreError, diskFailure, isMissingFile } from "./StoreError";

/** A value bound to a `?` placeholder. */
export type SqlParam = string | number | null | Uint8Array;

/** One SQL statement and the values of its placeholders. */
export interface Statement {
  sql: string;
  params?: SqlParam[];
}

/** The file operations of the journal's write path, injectable so tests can simulate a full disk. */
export interface JournalIo {
  /** Writes all of `data` at byte `position` of `fd`, or throws. */
  write(fd: number, data: Uint8Array, position: number): void;
  /** Makes what was written durable (fdatasync). */
  sync(fd: number): void;
  /** Cuts the file to `size` bytes (used to take back a record that was not acknowledged). */
  truncate(fd: number, size: number): void;
}

export const nodeJournalIo: JournalIo = {
  write(fd, data, position) {
    let done = 0;
    while (done < data.length) {
      done += fs.writeSync(fd, data, done, data.length - done, position + done);
    }
  },
  sync(fd) {
    fs.fdatasyncSync(fd);
  },
  truncate(fd, size) {
    fs.ftruncateSync(fd, size);
  },
};

// Blobs travel as base64 inside the JSON line.
const EncodedParam = z.union([z.string(), z.number(), z.null(), z.strictObject({ b64: z.string() })]);
type EncodedParam = z.infer<typeof EncodedParam>;

const JournalRecord = z.strictObject({
  seq: z.number().int().positive(),
  stmts: z.array(z.strictObject({ sql: z.string(), params: z.array(EncodedParam).optional() })).min(1),
});

export interface DecodedRecord {
  seq: number;
  stmts: Statement[];
}

function checksum(json: string): string {
  return crypto.createHash("sha256").update(json).digest("hex");
}

function encodeParam(value: SqlParam, index: number, sql: string): EncodedParam {
  if (value instanceof Uint8Array) {
    return { b64: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64") };
  }
  if (typeof value === "number" && !Number.isFinite(value)) {
    // JSON would turn it into null, so the replayed row would differ from the acknowledged one.
    throw new StoreError(
      "sql",
      `Parameter ${index + 1} is ${value}, which cannot be stored. Statement: ${sql}`,
    );
  }
  return value;
}

/** The journal line of one acknowledged change: `<sha256 of json> <json>\n`. */
export function encodeRecord(seq: number, stmts: readonly Statement[]): Buffer {
  const record = {
    seq,
    stmts: stmts.map((stmt) =>
      stmt.params === undefined || stmt.params.length === 0
        ? { sql: stmt.sql }
        : { sql: stmt.sql, params: stmt.params.map((value, index) => encodeParam(value, index, stmt.sql)) },
    ),
  };
  const json = JSON.stringify(record);
  return Buffer.from(`${checksum(json)} ${json}\n`, "utf8");
}

function decodeRecord(line: string): DecodedRecord | string {
  const space = line.indexOf(" ");
  if (space !== 64) return "it is incomplete or not a journal record";
  const json = line.slice(space + 1);
  if (checksum(json) !== line.slice(0, space)) return "its checksum does not match";
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return "it is not valid JSON";
  }
  const result = JournalRecord.safeParse(parsed);
  if (!result.success) return "it does not have the shape of a journal record";
  return {
    seq: result.data.seq,
    stmts: result.data.stmts.map((stmt) => {
      const decoded: Statement = { sql: stmt.sql };
      if (stmt.params !== undefined) {
        decoded.params = stmt.params.map((value) =>
          value !== null && typeof value === "object"
            ? new Uint8Array(Buffer.from(value.b64, "base64"))
            : value,
        );
      }
      return decoded;
    }),
  };
}

/** One line of a journal file: a record, or the reason it could not be read. */
export interface JournalLine {
  file: string;
  /** 1-based line number within its file. */
  line: number;
  start: number;
  end: number;
  record: DecodedRecord | undefined;
  problem: string | undefined;
}

/** Reads every line of a journal file; a missing file has none. */
export function readJournalFile(file: string): JournalLine[] {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (error) {
    if (isMissingFile(error)) return [];
    throw diskFailure(error, file, "read");
  }
  const lines: JournalLine[] = [];
  let start = 0;
  while (start < bytes.length) {
    const newline = bytes.indexOf(0x0a, start);
    const end = newline === -1 ? bytes.length : newline + 1;
    const text = bytes.toString("utf8", start, newline === -1 ? end : newline);
    const decoded = newline === -1 ? "it was cut off (no line end)" : decodeRecord(text);
    lines.push({
      file,
      line: lines.length + 1,
      start,
      end,
      record: typeof decoded === "string" ? undefined : decoded,
      problem: typeof decoded === "string" ? decoded : undefined,
    });
    start = end;
  }
  return lines;
}
