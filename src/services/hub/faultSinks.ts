import fs from "node:fs";
import type { BlobFile, FileOpener } from "./blobWriter";

/** ENOSPC as the kernel reports it. */
export function enospcError(): NodeJS.ErrnoException {
  return Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC", errno: -28, syscall: "write" });
}

/**
 * A file opener whose writes fail with ENOSPC once `fits(bytes)` says fewer than all of a buffer's
 * bytes fit; those that fit land first, like a disk that fills up mid-write.
 */
export function faultyOpener(fits: (bytes: number) => number): FileOpener {
  return async (file) => {
    const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT, 0o644);
    const blob: BlobFile = {
      write(buffers, position) {
        let at = position;
        for (const buffer of buffers) {
          const allowed = Math.max(0, Math.min(fits(buffer.length), buffer.length));
          if (allowed > 0) fs.writeSync(fd, buffer, 0, allowed, at);
          at += allowed;
          if (allowed < buffer.length) return Promise.reject(enospcError());
        }
        return Promise.resolve();
      },
      close() {
        fs.closeSync(fd);
        return Promise.resolve();
      },
    };
    return blob;
  };
}

/**
 * Files that together accept `budget` bytes, then fail every write with ENOSPC, like a disk that
 * fills up mid-download. For tests (unit, and the manager through
 * MLX_MANAGER_FAULT_ENOSPC_AFTER_BYTES); never used otherwise.
 */
export function enospcAfter(budget: number): FileOpener {
  let left = budget;
  return faultyOpener((bytes) => {
    const allowed = Math.max(0, Math.min(left, bytes));
    left -= allowed;
    return allowed;
  });
}
