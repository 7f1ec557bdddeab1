import fs from "node:fs";
import path from "node:path";
import { diskFailure, isMissingFile } from "./StoreError";

/** The files of a store in its data directory. */
export interface StoreFiles {
  dir: string;
  /** The latest snapshot. */
  db: string;
  /** The snapshot before it: the last good copy if `db` is damaged. */
  bak: string;
  /** Changes acknowledged since `db` was written. */
  journal: string;
  /** Changes between `bak` and `db`, so `bak` plus both journals is as complete as `db` plus `journal`. */
  journalBak: string;
}

export function storeFiles(dir: string): StoreFiles {
  return {
    dir,
    db: path.join(dir, "store.db"),
    bak: path.join(dir, "store.db.bak"),
    journal: path.join(dir, "store.journal"),
    journalBak: path.join(dir, "store.journal.bak"),
  };
}

/** Names of temporary files a crash may leave behind. */
export function isLeftoverTemporary(name: string): boolean {
  return ["store.db.tmp-", "store.db.bak.tmp-", "store.journal.bak.tmp-"].some((prefix) =>
    name.startsWith(prefix),
  );
}

/** An ISO timestamp usable in a file name on every OS (no colons). */
export function fileStamp(ms: number): string {
  return new Date(ms).toISOString().replaceAll(":", "");
}

function freeName(base: string): string {
  let candidate = base;
  for (let n = 2; fs.existsSync(candidate); n++) candidate = `${base}-${n}`;
  return candidate;
}

/** Renames a damaged file to `<file>.corrupt-<stamp>` and returns the new path. */
export function moveAside(file: string, stamp: string): string {
  const target = freeName(`${file}.corrupt-${stamp}`);
  try {
    fs.renameSync(file, target);
  } catch (error) {
    throw diskFailure(error, file, "move aside");
  }
  return target;
}

/** Copies a file to `<file>.corrupt-<stamp>`; returns the copy's path, or undefined if there was no file. */
export function copyAside(file: string, stamp: string): string | undefined {
  const target = freeName(`${file}.corrupt-${stamp}`);
  try {
    fs.copyFileSync(file, target);
  } catch (error) {
    if (isMissingFile(error)) return undefined;
    throw diskFailure(error, file, "copy");
  }
  return target;
}

/** Writes a new file and flushes it to disk before returning. */
export function writeFileDurably(file: string, data: Uint8Array): void {
  const fd = fs.openSync(file, "w", 0o600);
  try {
    fs.writeFileSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Cuts an existing file to `size` bytes and flushes it; a missing file is left missing. */
export function truncateDurably(file: string, size: number): void {
  let fd: number;
  try {
    fd = fs.openSync(file, "r+");
  } catch (error) {
    if (isMissingFile(error)) return;
    throw diskFailure(error, file, "repair");
  }
  try {
    fs.ftruncateSync(fd, size);
    fs.fsyncSync(fd);
  } catch (error) {
    throw diskFailure(error, file, "repair");
  } finally {
    fs.closeSync(fd);
  }
}

/** Makes renames and new files in `dir` durable. */
export { fsyncDirSync as fsyncDirectory } from "../fs/atomicWrite";
