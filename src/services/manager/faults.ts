import fs from "node:fs";
import type { FileOpener } from "../hub/blobWriter";
import { enospcError, faultyOpener } from "../hub/faultSinks";
import { nodeJournalIo, type JournalIo } from "../store/journal";

/**
 * Fault injection for the reliability tests (MLX_MANAGER_FAULT_DISK_FULL_FLAG): while the flag
 * file exists, the store's journal and the downloads fail their writes with ENOSPC, as on a full
 * disk; once it is removed, writes succeed again. Never used otherwise.
 */
export function diskFullWhileFlagged(flagFile: string): { io: JournalIo; openFile: FileOpener } {
  const full = (): boolean => fs.existsSync(flagFile);
  const io: JournalIo = {
    write(fd, data, position) {
      if (full()) throw enospcError();
      nodeJournalIo.write(fd, data, position);
    },
    sync: (fd) => { nodeJournalIo.sync(fd); },
    truncate: (fd, size) => { nodeJournalIo.truncate(fd, size); },
  };
  const openFile = faultyOpener((bytes) => (full() ? 0 : bytes));
  return { io, openFile };
}
