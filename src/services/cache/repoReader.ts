// The file-system half of a scan: what the scanner learns about one repo folder through system
// calls. On the machines this was measured on (a VM with page-table isolation) every system call
// costs 3–10 µs, and huggingface_hub's own scan spends ~150 µs per file (a realpath and an
// lstat, each awaited on the thread pool). So the layout is read with as few calls as it allows:
//   - one stat per blob in blobs/ (sizes and times are the blobs'), and none per snapshot file;
//   - a revision's blobs are known without a readlink per file when the repo has one revision
//     linking as many files as there are blobs (the normal case: each file its own blob); any
//     other shape (several revisions, orphaned or missing blobs, copied files) reads every link.
//     The shortcut is wrong only when two files share a blob *and* an orphaned blob makes the
//     counts match again; the revision's size then includes the orphan (the repo's size is
//     always exact);
//   - a readlink (never a realpath) only for the few files whose content the scanner parses.
// Synchronous calls: measured faster here than bounded-concurrency fs.promises (the thread-pool
// hop costs more than the call itself), and than sharing the work with a worker thread (its
// 50–100 ms start and the replies' copying ate the gain on 2 cores; under load it lost).
import fs, { type Dirent } from "node:fs";
import path from "node:path";

export interface RawRevision {
  commit: string;
  snapshotPath: string;
  fileCount: number;
  size: number;
  lastModified: number;
}

/** Where a snapshot file's content is: its blob (with the etag), or the file itself. */
export interface BlobLocation {
  /** The blob's name, a content hash: the key of the metadata cache. */
  etag: string | undefined;
  file: string;
  size: number;
  mtimeMs: number;
}

/** A file of the metadata revision whose content the scanner may parse. */
export interface MetaFileRef {
  /** Path inside the revision, "/"-separated. */
  rel: string;
  /** The entry in snapshots/ (normally a symlink to its blob). */
  link: string;
  /** Resolved by the reader; absent for README.md, which is only read when needed, or a dangling link. */
  location?: BlobLocation;
}

export interface RawRepo {
  folder: string;
  path: string;
  /** Set when the folder is not a usable repo (no snapshots/): the reason. */
  skipped?: string;
  revisions: RawRevision[];
  /** Ref name ("main", "refs/pr/1") → commit. */
  refs: { name: string; commit: string }[];
  size: number;
  lastModified: number;
  lastAccessed: number;
  incomplete: { blob: string; size: number }[];
  /** The revision whose files describe the model: the one `main` points at, else the newest. */
  metaCommit: string | undefined;
  metaFiles: MetaFileRef[];
  warnings: string[];
}

const sep = path.sep;
/** Scratch buffer for ref files (a commit sha is 40 bytes). */
const refBuffer = Buffer.alloc(256);

function errorCode(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null || !("code" in error)) return undefined;
  return typeof error.code === "string" ? error.code : undefined;
}

function isMetaCandidate(rel: string): boolean {
  if (rel.endsWith(".gguf")) return true;
  if (rel.includes("/")) return false;
  return (
    rel === "config.json" ||
    rel === "README.md" ||
    rel === "model.safetensors.index.json" ||
    rel.endsWith(".safetensors")
  );
}

/**
 * The etag a snapshot symlink points at, from the link's text: huggingface_hub writes
 * `../../blobs/<etag>`, one more `../` per sub-folder. Undefined when the link leads anywhere
 * but this repo's blobs/, or the entry is not a link.
 */
function linkedEtag(repoPath: string, rel: string, link: string): string | undefined {
  let target: string;
  try {
    target = fs.readlinkSync(link);
  } catch {
    return undefined;
  }
  let etag: string | undefined;
  const expected = "../".repeat(rel.split("/").length + 1) + "blobs/";
  if (target.startsWith(expected)) etag = target.slice(expected.length);
  else {
    // Absolute links, or Windows separators: compare resolved paths.
    const blobsPrefix = repoPath + sep + "blobs" + sep;
    const resolved = path.resolve(path.dirname(link), target);
    if (resolved.startsWith(blobsPrefix)) etag = resolved.slice(blobsPrefix.length);
  }
  if (
    etag === undefined ||
    etag === "" ||
    etag.includes("/") ||
    etag.includes(sep) ||
    etag.endsWith(".incomplete")
  )
    return undefined;
  return etag;
}

/** Locates a file of a snapshot: its blob (etag, size, mtime) or, for a copied file, itself. */
export function locate(repoPath: string, rel: string, link: string): BlobLocation | undefined {
  const etag = linkedEtag(repoPath, rel, link);
  if (etag !== undefined) {
    const file = repoPath + sep + "blobs" + sep + etag;
    const st = fs.statSync(file, { throwIfNoEntry: false });
    if (st?.isFile()) return { etag, file, size: st.size, mtimeMs: st.mtimeMs };
  }
  // A copied file or a link elsewhere: read it where it is, with nothing to cache it under.
  const st = fs.statSync(link, { throwIfNoEntry: false });
  return st?.isFile() ? { etag: undefined, file: link, size: st.size, mtimeMs: st.mtimeMs } : undefined;
}

/** Reads `refs/` recursively: `refs/main` → "main", `refs/refs/pr/1` → "refs/pr/1". */
function readRefs(
  refsDir: string,
  prefix: string,
  out: { name: string; commit: string }[],
  warnings: string[],
): void {
  let entries: Dirent[];
  try {
    entries = fs.readdirSync(refsDir, { withFileTypes: true });
  } catch (error) {
    const code = errorCode(error);
    if (code !== "ENOENT" && code !== "ENOTDIR") warnings.push(`refs/${prefix} could not be read`);
    return;
  }
  for (const entry of entries) {
    const file = refsDir + sep + entry.name;
    if (entry.isDirectory()) {
      readRefs(file, prefix + entry.name + "/", out, warnings);
      continue;
    }
    try {
      const fd = fs.openSync(file, "r");
      let n: number;
      try {
        n = fs.readSync(fd, refBuffer, 0, refBuffer.byteLength, 0);
      } finally {
        fs.closeSync(fd);
      }
      const commit = refBuffer.toString("latin1", 0, n).trim();
      if (commit !== "") out.push({ name: prefix + entry.name, commit });
    } catch {
      warnings.push(`refs/${prefix}${entry.name} could not be read`);
    }
  }
}

interface SnapshotEntry {
  rel: string;
  file: string;
  symlink: boolean;
}

/** Lists a snapshot's files (recursively) from directory entries alone. */
function listSnapshot(
  dir: string,
  relPrefix: string,
  out: SnapshotEntry[],
  warnings: string[],
  label: string,
): void {
  let entries: Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    warnings.push(`${label}${relPrefix} could not be read`);
    return;
  }
  for (const entry of entries) {
    const file = dir + sep + entry.name;
    if (entry.isDirectory()) listSnapshot(file, relPrefix + entry.name + "/", out, warnings, label);
    else out.push({ rel: relPrefix + entry.name, file, symlink: entry.isSymbolicLink() });
  }
}

/** Reads one `models--org--name` folder's layout (not its file contents). */
export function readRepo(cacheDir: string, folder: string): RawRepo {
  const repoPath = cacheDir + sep + folder;
  const raw: RawRepo = {
    folder,
    path: repoPath,
    revisions: [],
    refs: [],
    size: 0,
    lastModified: 0,
    lastAccessed: 0,
    incomplete: [],
    metaCommit: undefined,
    metaFiles: [],
    warnings: [],
  };
  const snapshotsDir = repoPath + sep + "snapshots";
  let snapshots: Dirent[];
  try {
    snapshots = fs.readdirSync(snapshotsDir, { withFileTypes: true });
  } catch (error) {
    const code = errorCode(error);
    raw.skipped =
      code === "ENOENT" || code === "ENOTDIR"
        ? "no snapshots/ folder"
        : `snapshots/ could not be read (${code ?? "error"})`;
    return raw;
  }

  readRefs(repoPath + sep + "refs", "", raw.refs, raw.warnings);

  const blobsDir = repoPath + sep + "blobs";
  let blobNames: string[] = [];
  try {
    blobNames = fs.readdirSync(blobsDir);
  } catch (error) {
    if (errorCode(error) !== "ENOENT") raw.warnings.push("blobs/ could not be read");
  }
  const blobs = new Map<string, { size: number; mtimeMs: number }>();
  for (const name of blobNames) {
    const st = fs.statSync(blobsDir + sep + name, { throwIfNoEntry: false });
    if (!st?.isFile()) continue;
    if (name.endsWith(".incomplete")) {
      raw.incomplete.push({ blob: name, size: st.size });
      continue;
    }
    blobs.set(name, { size: st.size, mtimeMs: st.mtimeMs });
    raw.size += st.size;
    if (st.mtimeMs > raw.lastModified) raw.lastModified = st.mtimeMs;
    if (st.atimeMs > raw.lastAccessed) raw.lastAccessed = st.atimeMs;
  }
  if (blobs.size === 0) {
    const st = fs.statSync(repoPath, { throwIfNoEntry: false });
    raw.lastModified = st?.mtimeMs ?? 0;
    raw.lastAccessed = st?.atimeMs ?? 0;
  }

  const listings = new Map<string, SnapshotEntry[]>();
  for (const snapshot of snapshots) {
    if (snapshot.isDirectory()) {
      const entries: SnapshotEntry[] = [];
      listSnapshot(
        snapshotsDir + sep + snapshot.name,
        "",
        entries,
        raw.warnings,
        `snapshots/${snapshot.name}/`,
      );
      listings.set(snapshot.name, entries);
    } else {
      raw.warnings.push(`snapshots/${snapshot.name} is not a folder`);
    }
  }

  for (const [commit, entries] of listings) {
    const snapshotPath = snapshotsDir + sep + commit;
    const revision: RawRevision = { commit, snapshotPath, fileCount: 0, size: 0, lastModified: 0 };
    raw.revisions.push(revision);
    if (listings.size === 1 && entries.length === blobs.size && entries.every((e) => e.symlink)) {
      // One revision, one link per blob: the revision is the whole repo.
      revision.fileCount = entries.length;
      revision.size = raw.size;
      revision.lastModified =
        blobs.size > 0
          ? raw.lastModified
          : (fs.statSync(snapshotPath, { throwIfNoEntry: false })?.mtimeMs ?? 0);
      continue;
    }
    const counted = new Set<string>();
    for (const entry of entries) {
      const etag = entry.symlink ? linkedEtag(repoPath, entry.rel, entry.file) : undefined;
      let stat: { size: number; mtimeMs: number } | undefined =
        etag === undefined ? undefined : blobs.get(etag);
      let key = etag;
      if (!stat) {
        // Not a link into blobs/ (a copied file, an absolute link elsewhere) or a missing blob.
        const st = fs.statSync(entry.file, { throwIfNoEntry: false });
        if (!st?.isFile()) {
          raw.warnings.push(`snapshots/${commit}/${entry.rel} is a dangling symlink (its blob is missing)`);
          continue;
        }
        stat = st;
        key = `${st.dev}:${st.ino}`;
      }
      revision.fileCount++;
      if (key !== undefined && counted.has(key)) continue;
      if (key !== undefined) counted.add(key);
      revision.size += stat.size;
      if (stat.mtimeMs > revision.lastModified) revision.lastModified = stat.mtimeMs;
    }
    if (revision.fileCount === 0)
      revision.lastModified = fs.statSync(snapshotPath, { throwIfNoEntry: false })?.mtimeMs ?? 0;
  }

  const commits = new Set(listings.keys());
  for (const ref of raw.refs) {
    if (!commits.has(ref.commit))
      raw.warnings.push(`refs/${ref.name} points at ${ref.commit}, which is not in snapshots/`);
  }
  const main = raw.refs.find((r) => r.name === "main" && commits.has(r.commit))?.commit;
  let newest: RawRevision | undefined;
  for (const r of raw.revisions) if (!newest || r.lastModified > newest.lastModified) newest = r;
  raw.metaCommit = main ?? newest?.commit;

  for (const entry of raw.metaCommit !== undefined ? (listings.get(raw.metaCommit) ?? []) : []) {
    if (!isMetaCandidate(entry.rel)) continue;
    const ref: MetaFileRef = { rel: entry.rel, link: entry.file };
    if (entry.rel !== "README.md") {
      // The blobs' stats are at hand here, so locating costs one readlink.
      const etag = entry.symlink ? linkedEtag(repoPath, entry.rel, entry.file) : undefined;
      const blob = etag === undefined ? undefined : blobs.get(etag);
      const location =
        etag !== undefined && blob
          ? { etag, file: blobsDir + sep + etag, ...blob }
          : locate(repoPath, entry.rel, entry.file);
      if (location) ref.location = location;
    }
    raw.metaFiles.push(ref);
  }
  return raw;
}
