import fs from "node:fs";
import path from "node:path";

/** Writes a file so that readers see the old or the new content, never a torn one. */
export function writeFileAtomicSync(file: string, data: string | Uint8Array, mode = 0o644): void {
  const tmp = `${file}.tmp-${process.pid}-${Date.now().toString(36)}`;
  const fd = fs.openSync(tmp, "w", mode);
  try {
    fs.writeFileSync(fd, data);
    fs.fsyncSync(fd);
  } catch (error) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw error;
  }
  fs.closeSync(fd);
  // The mode given to open() is filtered by umask; make it exact.
  fs.chmodSync(tmp, mode);
  fs.renameSync(tmp, file);
  fsyncDirSync(path.dirname(file));
}

/** Makes a rename or a new file in `dir` durable. */
export function fsyncDirSync(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, "r");
    fs.fsyncSync(fd);
  } catch {
    // Some platforms (Windows) cannot fsync a directory; the rename is still atomic there.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
