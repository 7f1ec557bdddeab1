// Deleting from the cache is the one place where a bug costs a user files outside it, so every
// path is checked before anything is removed:
//   - the repo id must look like one ("org/name" or "name": no "..", no absolute path, no NUL,
//     no backslash), so the folder it maps to is a single entry of the cache folder;
//   - the real path of each target's parent must be the cache folder's real path or inside it;
//   - symlinks are never followed: the walk uses lstat and unlinks links themselves, and a
//     repo folder (or blobs/, snapshots/) that is itself a symlink is refused.
import fs from "node:fs";
import path from "node:path";
import type { ErrorCode } from "../../shared/errors";
import type { Logger } from "../logging/Logger";
import { modelFolderName } from "./cacheDir";

export type CacheDeleteErrorCode = Extract<ErrorCode, "path_outside_cache" | "model_missing">;

/** Why a delete was refused: `path_outside_cache` (unsafe id or path) or `model_missing`. */
export class CacheDeleteError extends Error {
  override readonly name = "CacheDeleteError";
  constructor(
    readonly code: CacheDeleteErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface DeleteModelOptions {
  cacheDir: string;
  /** "org/name" or "name". */
  repoId: string;
  /** A commit sha or a ref name ("main", "refs/pr/1"); the whole repo when absent. */
  revision?: string;
  logger: Logger;
}

const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;

function assertRepoId(repoId: string): void {
  const unsafe = (reason: string): CacheDeleteError =>
    new CacheDeleteError("path_outside_cache", `Refusing repo id ${JSON.stringify(repoId)}: ${reason}`);
  if (repoId.includes("\0")) throw unsafe("it contains a NUL byte");
  if (repoId.includes("\\")) throw unsafe("it contains a backslash");
  if (repoId.startsWith("/") || path.isAbsolute(repoId) || /^[A-Za-z]:/.test(repoId))
    throw unsafe("it is an absolute path");
  const parts = repoId.split("/");
  if (parts.length > 2) throw unsafe('a repo id is "org/name" or "name"');
  for (const part of parts) {
    if (part === "." || part === ".." || part.includes("..")) throw unsafe('it contains ".."');
    if (!SEGMENT.test(part) || part.includes("--")) throw unsafe("it is not a valid repo id");
  }
}

function assertRevisionName(revision: string): void {
  const unsafe = (): CacheDeleteError =>
    new CacheDeleteError("path_outside_cache", `Refusing revision ${JSON.stringify(revision)}`);
  if (revision.includes("\0") || revision.includes("\\") || path.isAbsolute(revision)) throw unsafe();
  for (const part of revision.split("/"))
    if (part === "" || part === "." || part === ".." || !SEGMENT.test(part)) throw unsafe();
}

function isInside(root: string, candidate: string): boolean {
  return candidate === root || candidate.startsWith(root.endsWith(path.sep) ? root : root + path.sep);
}

/** Refuses `target` unless its parent's real path is the cache or inside it. */
function assertInCache(cacheReal: string, target: string): void {
  let parentReal: string;
  try {
    parentReal = fs.realpathSync(path.dirname(target));
  } catch {
    throw new CacheDeleteError("model_missing", `${target} does not exist`);
  }
  const base = path.basename(target);
  if (!isInside(cacheReal, parentReal) || base === "" || base === "." || base === "..") {
    throw new CacheDeleteError(
      "path_outside_cache",
      `Refusing to delete ${target}: it is not inside the cache ${cacheReal}`,
    );
  }
}

/** A real folder (not a symlink to one), or undefined when absent. */
function lstatDir(target: string, what: string): fs.Stats | undefined {
  const st = fs.lstatSync(target, { throwIfNoEntry: false });
  if (!st) return undefined;
  if (st.isSymbolicLink())
    throw new CacheDeleteError("path_outside_cache", `Refusing to delete through ${what}: it is a symlink`);
  if (!st.isDirectory()) throw new CacheDeleteError("model_missing", `${what} is not a folder`);
  return st;
}

/** Removes a folder tree without following symlinks; returns the bytes of regular files removed. */
function removeTree(dir: string): number {
  let freed = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const file = dir + path.sep + entry.name;
    if (entry.isDirectory()) {
      freed += removeTree(file);
      continue;
    }
    // A symlink is unlinked itself (its target is left alone); a file's bytes are counted.
    const st = fs.lstatSync(file, { throwIfNoEntry: false });
    if (!st) continue;
    if (st.isFile()) freed += st.size;
    fs.unlinkSync(file);
  }
  fs.rmdirSync(dir);
  return freed;
}

/** The blob names a snapshot folder links to, without following the links. */
function linkedBlobs(snapshotDir: string, blobsReal: string, out: Set<string>): void {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(snapshotDir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries) {
    const file = snapshotDir + path.sep + entry.name;
    if (entry.isDirectory()) {
      linkedBlobs(file, blobsReal, out);
      continue;
    }
    if (!entry.isSymbolicLink()) continue;
    const target = path.resolve(snapshotDir, fs.readlinkSync(file));
    if (path.dirname(target) === blobsReal) out.add(path.basename(target));
  }
}

/** Ref files (relative names) whose content is `commit`. */
function refsTo(refsDir: string, prefix: string, commit: string, out: string[]): void {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(refsDir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries) {
    const file = refsDir + path.sep + entry.name;
    if (entry.isDirectory()) refsTo(file, `${prefix}${entry.name}/`, commit, out);
    else if (entry.isFile() && fs.readFileSync(file, "latin1").trim() === commit)
      out.push(prefix + entry.name);
  }
}

/** Deletes a cached repo, or one revision of it (its snapshot, its refs, blobs no other revision uses). */
export function deleteModel(options: DeleteModelOptions): Promise<{ freedBytes: number }> {
  try {
    return Promise.resolve(deleteModelSync(options));
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
}

function deleteModelSync({ cacheDir, repoId, revision, logger }: DeleteModelOptions): { freedBytes: number } {
  assertRepoId(repoId);
  let cacheReal: string;
  try {
    cacheReal = fs.realpathSync(cacheDir);
  } catch {
    throw new CacheDeleteError("model_missing", `The cache folder ${cacheDir} does not exist`);
  }
  const repoPath = path.join(cacheReal, modelFolderName(repoId));
  assertInCache(cacheReal, repoPath);
  if (!lstatDir(repoPath, `the folder of ${repoId}`))
    throw new CacheDeleteError("model_missing", `${repoId} is not in the cache`);

  if (revision === undefined) {
    const freedBytes = removeTree(repoPath);
    logger.info("deleted cached repo", { repoId, freedBytes });
    return { freedBytes };
  }

  assertRevisionName(revision);
  const snapshotsDir = path.join(repoPath, "snapshots");
  const refsDir = path.join(repoPath, "refs");
  const blobsDir = path.join(repoPath, "blobs");
  if (!lstatDir(snapshotsDir, "snapshots/"))
    throw new CacheDeleteError("model_missing", `${repoId} has no snapshots`);
  const hasRefs = lstatDir(refsDir, "refs/") !== undefined;
  const hasBlobs = lstatDir(blobsDir, "blobs/") !== undefined;

  // A commit sha names its snapshot folder; anything else is a ref to resolve.
  let commit = revision;
  if (!fs.existsSync(path.join(snapshotsDir, revision)) || revision.includes("/")) {
    const refFile = path.join(refsDir, revision);
    const st = hasRefs ? fs.lstatSync(refFile, { throwIfNoEntry: false }) : undefined;
    if (!st?.isFile()) throw new CacheDeleteError("model_missing", `${repoId} has no revision ${revision}`);
    commit = fs.readFileSync(refFile, "latin1").trim();
    assertRevisionName(commit);
    if (commit.includes("/"))
      throw new CacheDeleteError("model_missing", `refs/${revision} does not name a commit`);
  }
  const snapshotDir = path.join(snapshotsDir, commit);
  assertInCache(cacheReal, snapshotDir);
  if (!lstatDir(snapshotDir, `snapshots/${commit}`))
    throw new CacheDeleteError("model_missing", `${repoId} has no revision ${revision}`);

  // Blobs this revision links to that no other revision does.
  const blobsReal = hasBlobs ? fs.realpathSync(blobsDir) : blobsDir;
  if (hasBlobs) assertInCache(cacheReal, path.join(blobsReal, "x"));
  const mine = new Set<string>();
  linkedBlobs(snapshotDir, blobsReal, mine);
  const others = new Set<string>();
  for (const entry of fs.readdirSync(snapshotsDir, { withFileTypes: true })) {
    if (entry.name !== commit && entry.isDirectory())
      linkedBlobs(path.join(snapshotsDir, entry.name), blobsReal, others);
  }

  const remaining = fs.readdirSync(snapshotsDir).filter((name) => name !== commit);
  if (remaining.length === 0) {
    // The last revision: like huggingface_hub, nothing of the repo is worth keeping.
    const freedBytes = removeTree(repoPath);
    logger.info("deleted cached repo (its last revision)", { repoId, revision: commit, freedBytes });
    return { freedBytes };
  }

  let freedBytes = 0;
  for (const etag of mine) {
    if (others.has(etag)) continue;
    const blob = path.join(blobsDir, etag);
    assertInCache(cacheReal, blob);
    const st = fs.lstatSync(blob, { throwIfNoEntry: false });
    if (!st || st.isDirectory()) continue;
    if (st.isFile()) freedBytes += st.size;
    fs.unlinkSync(blob);
  }
  freedBytes += removeTree(snapshotDir);
  const refs: string[] = [];
  if (hasRefs) refsTo(refsDir, "", commit, refs);
  for (const ref of refs) fs.unlinkSync(path.join(refsDir, ref));
  const noExist = path.join(repoPath, ".no_exist", commit);
  if (lstatDir(noExist, `.no_exist/${commit}`)) freedBytes += removeTree(noExist);
  logger.info("deleted cached revision", { repoId, revision: commit, refs, freedBytes });
  return { freedBytes };
}
