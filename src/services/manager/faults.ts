import fs from "node:fs";
import { Writable } from "node:stream";
import type { SinkFactory } from "../hub/BlobFetcher";
import { nodeJournalIo, type JournalIo } from "../store/journal";

/**
 * Fault injection for the reliability tests (MLX_MANAGER_FAULT_DISK_FULL_FLAG): while the flag
 * file exists, the store's journal and the downloads fail their writes with ENOSPC, as on a full
 * disk; once it is removed, writes succeed again. Never used otherwise.
 */
export function diskFullWhileFlagged(flagFile: string): { io: JournalIo; createSink: SinkFactory } {
  const full = (): boolean => fs.existsSync(flagFile);
  const enospc = (): NodeJS.ErrnoException => Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC", errno: -28, syscall: "write" });
  const io: JournalIo = {
    write(fd, data, position) {
      if (full()) throw enospc();
      nodeJournalIo.write(fd, data, position);
    },
    sync: (fd) => { nodeJournalIo.sync(fd); },
    truncate: (fd, size) => { nodeJournalIo.truncate(fd, size); },
  };
  const createSink: SinkFactory = (file) => {
    const fd = fs.openSync(file, "a");
    return new Writable({
      highWaterMark: 256 * 1024,
      write(chunk: Buffer, _encoding, callback) {
        if (full()) {
          callback(enospc());
          return;
        }
        try {
          fs.writeSync(fd, chunk);
          callback();
        } catch (error) {
          callback(error as Error);
        }
      },
      destroy(error, callback) {
        fs.closeSync(fd);
        callback(error);
      },
    });
  };
  return { io, createSink };
}
