import fs from "node:fs";
import path from "node:path";

/** A file-system-safe name for a profile's log file: "Llama 3 (8B)" → "llama-3-8b". */
export function logSlug(name: string): string {
  const slug = name
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, "-")
    .replace(/^[-.]+|[-.]+$/g, "")
    .slice(0, 80);
  return slug.length > 0 ? slug : "server";
}

/**
 * Opens a server's log for appending (O_APPEND), creating it private to this user. The engine
 * writes to this descriptor itself, so its output does not pass through (or depend on) the manager,
 * and O_APPEND keeps its writes at the end after a copy-and-truncate rotation.
 */
export function openLogForAppend(file: string): number {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  return fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT, 0o600);
}

/** Appends one line written by the manager (start banners, exits) to a server's log. */
export function appendLogLine(file: string, line: string): void {
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    fs.appendFileSync(file, `${line}\n`, { mode: 0o600 });
  } catch {
    // The log is a convenience; a full disk must not stop a server.
  }
}

/**
 * Copy-and-truncate rotation: the engine keeps its descriptor, so the file is copied to `.1`
 * (older copies shift to `.2` … `.keep`) and then truncated in place. Only the last `maxBytes`
 * are copied (from a line start), so an engine that floods its log between two checks cannot make
 * the copies larger than the limit. Returns true when rotated.
 */
export function rotateIfLarge(file: string, maxBytes: number, keep: number): boolean {
  let size: number;
  try {
    size = fs.statSync(file).size;
  } catch {
    return false;
  }
  if (size <= maxBytes) return false;
  for (let n = keep; n >= 1; n--) {
    const from = n === 1 ? file : `${file}.${n - 1}`;
    const to = `${file}.${n}`;
    try {
      if (n === 1) copyTail(from, to, maxBytes);
      else fs.renameSync(from, to);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
  }
  fs.truncateSync(file, 0);
  pruneRotations(file, keep);
  return true;
}

/** Writes the last `maxBytes` of `from` to `to` (replacing it), starting after the first line break in that tail. */
function copyTail(from: string, to: string, maxBytes: number): void {
  const src = fs.openSync(from, "r");
  try {
    const size = fs.fstatSync(src).size;
    let position = Math.max(0, size - maxBytes);
    const buffer = Buffer.alloc(Math.min(1024 * 1024, Math.max(1, size - position)));
    if (position > 0) {
      // Start at a whole line: skip what precedes the first line break (when there is one near).
      const n = fs.readSync(src, buffer, 0, Math.min(buffer.length, size - position), position);
      const newline = buffer.subarray(0, n).indexOf(0x0a);
      if (newline >= 0 && position + newline + 1 < size) position += newline + 1;
    }
    const dst = fs.openSync(to, "w", 0o600);
    try {
      while (position < size) {
        const n = fs.readSync(src, buffer, 0, Math.min(buffer.length, size - position), position);
        if (n === 0) break;
        fs.writeSync(dst, buffer, 0, n);
        position += n;
      }
    } finally {
      fs.closeSync(dst);
    }
  } finally {
    fs.closeSync(src);
  }
}

/** Removes rotated copies beyond `keep` (left by an earlier, larger setting). */
export function pruneRotations(file: string, keep: number): void {
  const dir = path.dirname(file);
  const base = path.basename(file);
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const match = name.startsWith(`${base}.`) ? /^\d+$/.exec(name.slice(base.length + 1)) : null;
    if (match && Number(match[0]) > keep) fs.rmSync(path.join(dir, name), { force: true });
  }
}

/** Deletes log files in `dir` untouched for `maxAgeMs`, except those in `inUse`. Returns what it removed. */
export function pruneOldLogs(
  dir: string,
  maxAgeMs: number,
  inUse: ReadonlySet<string>,
  now = Date.now(),
): string[] {
  const removed: string[] = [];
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return removed;
  }
  for (const name of names) {
    const file = path.join(dir, name);
    if (inUse.has(file) || !/\.log(\.\d+)?$/.test(name)) continue;
    try {
      if (now - fs.statSync(file).mtimeMs > maxAgeMs) {
        fs.rmSync(file, { force: true });
        removed.push(file);
      }
    } catch {
      // Gone already.
    }
  }
  return removed;
}

/** The last `count` lines of a file (an empty list when it does not exist). */
export function readLogTail(file: string, count: number): string[] {
  if (count <= 0) return [];
  let fd: number;
  try {
    fd = fs.openSync(file, "r");
  } catch {
    return [];
  }
  try {
    const size = fs.fstatSync(fd).size;
    let chunk = Math.min(size, Math.max(8192, count * 256));
    for (;;) {
      const buffer = Buffer.alloc(chunk);
      fs.readSync(fd, buffer, 0, chunk, size - chunk);
      const lines = buffer.toString("utf8").split("\n");
      if (lines.at(-1) === "") lines.pop();
      // The first line may be cut unless the whole file was read.
      if (lines.length > count || chunk === size) return lines.slice(-count);
      chunk = Math.min(size, chunk * 4);
    }
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Calls `onLines` with every complete line appended to `file` after `fromOffset` (default: the
 * current end), polling every `intervalMs`, until `signal` aborts. A truncation (rotation) restarts
 * from the beginning of the file.
 */
export async function followLog(
  file: string,
  onLines: (lines: string[]) => void,
  signal: AbortSignal,
  options: { fromOffset?: number; intervalMs?: number } = {},
): Promise<void> {
  let offset = options.fromOffset ?? fileSize(file);
  let partial = "";
  const interval = options.intervalMs ?? 200;
  while (!signal.aborted) {
    const size = fileSize(file);
    if (size < offset) {
      offset = 0;
      partial = "";
    }
    if (size > offset) {
      // A flood is shown from its last MiB rather than held in memory whole.
      if (size - offset > MAX_FOLLOW_READ) {
        offset = size - MAX_FOLLOW_READ;
        partial = "";
      }
      const text = readRange(file, offset, size);
      offset = size;
      const lines = (partial + text).split("\n");
      partial = lines.pop() ?? "";
      if (lines.length > 0) onLines(lines);
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, interval);
      signal.addEventListener(
        "abort",
        () => {
          clearTimeout(timer);
          resolve();
        },
        { once: true },
      );
    });
  }
}

const MAX_FOLLOW_READ = 1024 * 1024;

/** Size of a file, 0 when it does not exist. */
export function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

function readRange(file: string, start: number, end: number): string {
  const fd = fs.openSync(file, "r");
  try {
    const buffer = Buffer.alloc(end - start);
    const read = fs.readSync(fd, buffer, 0, buffer.length, start);
    return buffer.subarray(0, read).toString("utf8");
  } finally {
    fs.closeSync(fd);
  }
}
