import fs from "node:fs";
import { Writable } from "node:stream";
import type { SinkFactory } from "./BlobFetcher";

/**
 * A sink factory whose files together accept `budget` bytes, then fail every write with ENOSPC,
 * like a disk that fills up mid-download. For tests (unit, and the manager through
 * MLX_MANAGER_FAULT_ENOSPC_AFTER_BYTES); never used otherwise.
 */
export function enospcAfter(budget: number): SinkFactory {
  let left = budget;
  return (file) => {
    const fd = fs.openSync(file, "a");
    return new Writable({
      highWaterMark: 1024 * 1024,
      write(chunk: Buffer, _encoding, callback) {
        const allowed = Math.max(0, Math.min(left, chunk.length));
        if (allowed > 0) fs.writeSync(fd, chunk, 0, allowed);
        left -= allowed;
        if (allowed < chunk.length) {
          callback(Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC", errno: -28, syscall: "write" }));
          return;
        }
        callback();
      },
      destroy(error, callback) {
        fs.closeSync(fd);
        callback(error);
      },
      final(callback) {
        callback();
      },
    });
  };
}
