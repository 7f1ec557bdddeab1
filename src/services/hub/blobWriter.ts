import fs from "node:fs";

/** A file being downloaded, written at positions (so parts of it can land in any order). */
export interface BlobFile {
  /** Writes the buffers one after another from `position`; resolves when all of them are in the file. */
  write(buffers: readonly Buffer[], position: number): Promise<void>;
  close(): Promise<void>;
}

/** Opens a file for positional writes, creating it when missing and never truncating it; tests inject one that fails like a full disk. */
export type FileOpener = (file: string) => Promise<BlobFile>;

export const openBlobFile: FileOpener = async (file) => {
  const handle = await fs.promises.open(file, fs.constants.O_WRONLY | fs.constants.O_CREAT, 0o644);
  return {
    async write(buffers, position) {
      let rest = [...buffers];
      let at = position;
      while (rest.length > 0) {
        const { bytesWritten } = await handle.writev(rest, at);
        at += bytesWritten;
        rest = skipBytes(rest, bytesWritten);
      }
    },
    close: () => handle.close(),
  };
};

/** The buffers after their first `n` bytes (what a short write left). */
function skipBytes(buffers: readonly Buffer[], n: number): Buffer[] {
  const out: Buffer[] = [];
  let skip = n;
  for (const b of buffers) {
    if (skip >= b.length) {
      skip -= b.length;
      continue;
    }
    out.push(skip > 0 ? b.subarray(skip) : b);
    skip = 0;
  }
  return out;
}

/**
 * Writes a stream's chunks to a BlobFile in order from a position: while one write is in the
 * kernel, the chunks that arrive meanwhile are gathered and go out as the next single writev
 * (64 KiB socket reads become ~1 MiB writes). `onWritten` hears the end of the bytes on disk.
 */
export class CoalescingWriter {
  private queue: Buffer[] = [];
  private queued = 0;
  private current: Promise<void> | undefined;
  private failure: Error | undefined;

  constructor(
    private readonly out: BlobFile,
    private position: number,
    private readonly onWritten: (end: number) => void,
  ) {}

  /** Queues a chunk; throws the error of an earlier write. */
  push(chunk: Buffer): void {
    if (this.failure !== undefined) throw this.failure;
    this.queue.push(chunk);
    this.queued += chunk.length;
    if (!this.current) void this.drain();
  }

  /** Resolves once fewer than `limit` bytes wait behind the write in progress (backpressure). */
  async room(limit: number): Promise<void> {
    while (this.queued >= limit && this.current && this.failure === undefined) await this.current.catch(() => undefined);
    if (this.failure !== undefined) throw this.failure;
  }

  /** Resolves when every queued byte is in the file; rejects with the first write error. */
  async settle(): Promise<void> {
    while (this.current && this.failure === undefined) await this.current.catch(() => undefined);
    if (this.failure !== undefined) throw this.failure;
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0 && this.failure === undefined) {
      const buffers = this.queue;
      const bytes = this.queued;
      this.queue = [];
      this.queued = 0;
      const at = this.position;
      this.current = this.out.write(buffers, at);
      try {
        await this.current;
        this.position = at + bytes;
        this.onWritten(this.position);
      } catch (error) {
        this.failure = error instanceof Error ? error : new Error(String(error));
      }
    }
    this.current = undefined;
  }
}
