import crypto from "node:crypto";

/** A running hash of a file's bytes. */
export interface StreamHash {
  update(chunk: Buffer): void;
  digest(): string;
}

/**
 * The hash that proves a blob: sha256 for LFS etags (64 hex), git's blob sha1 with its
 * `blob <size>\0` prefix for files kept in git (40 hex). Hashed inline on this thread: a worker
 * thread was measured slower here (a copy and a message per chunk cost more than the hash).
 */
export function hashFor(etag: string, size: number): StreamHash | undefined {
  let hash: crypto.Hash;
  if (/^[0-9a-f]{64}$/.test(etag)) hash = crypto.createHash("sha256");
  else if (/^[0-9a-f]{40}$/.test(etag)) hash = crypto.createHash("sha1").update(`blob ${size}\0`);
  else return undefined;
  return {
    update: (chunk) => { hash.update(chunk); },
    digest: () => hash.digest("hex"),
  };
}
