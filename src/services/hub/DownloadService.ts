import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import picomatch from "picomatch";
import * as z from "zod";
import type { Download, DownloadStarted, DownloadState, HubFile } from "../../shared/hub";
import type { DownloadRequest as DownloadRequestSchema } from "../../shared/hub";
import { modelFolderName } from "../cache/cacheDir";
import type { EventBus } from "../events/EventBus";
import { writeFileAtomicSync } from "../fs/atomicWrite";
import type { Logger } from "../logging/Logger";
import type { Store } from "../store/Store";
import type { BlobFetcher } from "./BlobFetcher";
import type { HubClient } from "./HubClient";
import { HubError } from "./HubError";

export interface DownloadServiceOptions {
  store: Store;
  hub: HubClient;
  fetcher: BlobFetcher;
  cacheDir: string;
  events: EventBus;
  logger: Logger;
  /** Files fetched at once, over every download (default 4). */
  concurrency?: number;
  /** How often progress events go out per download (default 250 ms). */
  progressIntervalMs?: number;
  /** Free bytes on the cache's disk (tests inject a small disk). */
  freeSpace?: (dir: string) => Promise<number>;
  /** Called when a download completes, e.g. to rescan the cache. */
  onCompleted?: (download: Download) => void;
}

interface DownloadRow extends Record<string, unknown> {
  id: string;
  repo: string;
  revision: string;
  commit_sha: string | null;
  include: string | null;
  exclude: string | null;
  state: string;
  error: string | null;
  done_bytes: number;
  total_bytes: number;
  files_done: number;
  files_total: number;
  created_at: number;
  updated_at: number;
}

const Globs = z.array(z.string());
const StoredError = z.object({ code: z.string(), message: z.string() });
const ACTIVE: ReadonlySet<DownloadState> = new Set(["queued", "running"]);
const COMMIT = /^[0-9a-f]{40}$/;
/** Kept free beyond what a download needs: 1 % of it, at least 256 MiB. */
const marginFor = (bytes: number): number => Math.max(256 * 1024 * 1024, Math.ceil(bytes * 0.01));

interface Job {
  record: Download;
  controller: AbortController;
  token: string | undefined;
  /** What the user asked for: "cancel" keeps partial files, "discard" removes them. */
  stopReason?: "cancel" | "discard";
  files: HubFile[];
  fileBytes: Map<string, number>;
  samples: { at: number; bytes: number }[];
  lastPublishedBytes: number;
  done: Promise<void>;
}

/**
 * The download queue: one job per repo and revision, files fetched a few at a time into the
 * huggingface_hub cache layout, state kept in the store so a restarted manager resumes its jobs.
 */
export class DownloadService {
  private readonly records = new Map<string, Download>();
  private readonly jobs = new Map<string, Job>();
  private readonly slots: Semaphore;
  private readonly log: Logger;
  private timer: NodeJS.Timeout | undefined;
  private closing = false;

  constructor(private readonly options: DownloadServiceOptions) {
    this.slots = new Semaphore(options.concurrency ?? 4);
    this.log = options.logger.child({ part: "downloads" });
  }

  /** Loads the queue from the store and resumes what was queued or running when the manager stopped. */
  start(): void {
    this.options.fetcher.pruneLedger((repo) => this.blobsDir(repo));
    for (const row of this.options.store.all<DownloadRow>("SELECT * FROM downloads ORDER BY created_at")) {
      const record = fromRow(row);
      this.records.set(record.id, record);
      if (ACTIVE.has(record.state) && !this.options.hub.offline) {
        this.log.info("resuming a download of the last run", { id: record.id, repo: record.repo, revision: record.revision });
        this.launch(record, undefined);
      }
    }
    this.timer = setInterval(() => { this.publishProgress(); }, this.options.progressIntervalMs ?? 250);
    this.timer.unref();
  }

  list(): Download[] {
    return [...this.records.values()].map((r) => this.snapshot(r));
  }

  get(id: string): Download {
    const record = this.records.get(id);
    if (!record) throw new HubError("not_found", `No download ${id}. See GET /api/downloads.`, 404);
    return this.snapshot(record);
  }

  /** Starts a download, or joins the one already running for the same repo and revision. */
  request(request: z.output<typeof DownloadRequestSchema>, token?: string): DownloadStarted {
    if (this.options.hub.offline) throw new HubError("hub_offline", "HF_HUB_OFFLINE=1 is set, so downloads are off. Unset it to download.", 503);
    for (const record of this.records.values()) {
      if (record.repo === request.repo && record.revision === request.revision && ACTIVE.has(record.state)) {
        return { download: this.snapshot(record), joined: true };
      }
    }
    for (const record of [...this.records.values()]) {
      if (record.repo === request.repo && record.revision === request.revision) this.forget(record.id);
    }
    const now = Date.now();
    const record: Download = {
      id: crypto.randomUUID(),
      repo: request.repo,
      revision: request.revision,
      ...(request.include ? { include: request.include } : {}),
      ...(request.exclude ? { exclude: request.exclude } : {}),
      state: "queued",
      doneBytes: 0,
      totalBytes: 0,
      filesDone: 0,
      filesTotal: 0,
      speed: 0,
      active: [],
      createdAt: now,
      updatedAt: now,
    };
    // Saved first: a download the store could not record (a full disk) is refused, not left queued forever.
    this.persist(record);
    this.records.set(record.id, record);
    this.publishChanged(record);
    this.launch(record, token);
    return { download: this.snapshot(record), joined: false };
  }

  /** Stops a download; `discard` also deletes its partial files and forgets it. */
  async cancel(id: string, discard = false): Promise<Download> {
    const record = this.records.get(id);
    if (!record) throw new HubError("not_found", `No download ${id}. See GET /api/downloads.`, 404);
    const job = this.jobs.get(id);
    if (job) {
      job.stopReason = discard ? "discard" : "cancel";
      job.controller.abort(new Error("cancelled"));
      await job.done;
    } else if (ACTIVE.has(record.state)) {
      this.setState(record, "cancelled");
    }
    if (discard) {
      this.removePartials(record, job?.files);
      this.forget(id);
    }
    return this.snapshot(record);
  }

  /** Starts a cancelled or failed download again; it continues from the bytes on disk. */
  resume(id: string, token?: string): Download {
    const record = this.records.get(id);
    if (!record) throw new HubError("not_found", `No download ${id}. See GET /api/downloads.`, 404);
    if (this.options.hub.offline) throw new HubError("hub_offline", "HF_HUB_OFFLINE=1 is set, so downloads are off. Unset it to download.", 503);
    if (!ACTIVE.has(record.state) && record.state !== "completed") {
      delete record.error;
      this.setState(record, "queued");
      this.launch(record, token);
    }
    return this.snapshot(record);
  }

  /** Forgets a finished, failed or cancelled download (its files stay). */
  remove(id: string): void {
    const record = this.records.get(id);
    if (!record) throw new HubError("not_found", `No download ${id}. See GET /api/downloads.`, 404);
    if (ACTIVE.has(record.state)) throw new HubError("conflict", `Download ${id} is ${record.state}; cancel it first.`, 409);
    this.forget(id);
  }

  /** Stops every transfer, leaving the queue in the store as it is so the next start resumes it. */
  async close(): Promise<void> {
    this.closing = true;
    if (this.timer) clearInterval(this.timer);
    const running = [...this.jobs.values()];
    for (const job of running) job.controller.abort(new Error("manager stopping"));
    await Promise.all(running.map((job) => job.done));
  }

  private launch(record: Download, token: string | undefined): void {
    const job: Job = {
      record,
      controller: new AbortController(),
      token,
      files: [],
      fileBytes: new Map(),
      samples: [],
      lastPublishedBytes: -1,
      done: Promise.resolve(),
    };
    this.jobs.set(record.id, job);
    job.done = this.run(job).finally(() => this.jobs.delete(record.id));
  }

  private async run(job: Job): Promise<void> {
    const { record } = job;
    const signal = job.controller.signal;
    const { hub } = this.options;
    try {
      this.setState(record, "running");
      const resolved = await hub.resolveRevision(record.repo, record.revision, { signal, token: job.token });
      const files = selectFiles(resolved.files, record.include, record.exclude);
      if (files.length === 0) {
        throw new HubError("not_found", `No file of ${record.repo}@${record.revision} matches the include/exclude patterns (${resolved.files.length} files in the repo).`, 404);
      }
      job.files = files;
      record.commit = resolved.commit;
      const repoDir = path.join(this.options.cacheDir, modelFolderName(record.repo));
      const blobsDir = path.join(repoDir, "blobs");
      const snapshotDir = path.join(repoDir, "snapshots", resolved.commit);
      fs.mkdirSync(blobsDir, { recursive: true });
      fs.mkdirSync(snapshotDir, { recursive: true });
      // Like huggingface_hub: a branch or tag gets refs/<name> holding the bare sha, no newline.
      if (record.revision !== resolved.commit) {
        const refFile = path.join(repoDir, "refs", ...record.revision.split("/"));
        fs.mkdirSync(path.dirname(refFile), { recursive: true });
        writeFileAtomicSync(refFile, resolved.commit);
      }

      const pending: HubFile[] = [];
      let remaining = 0;
      for (const file of files) {
        job.fileBytes.set(file.path, 0);
        const blob = path.join(blobsDir, file.etag);
        if (sizeOf(blob) === file.size) {
          job.fileBytes.set(file.path, file.size);
          linkSnapshot(snapshotDir, file.path, blob);
          continue;
        }
        const have = this.options.fetcher.bytesOnDisk(blobsDir, record.repo, file.etag, file.size);
        job.fileBytes.set(file.path, have);
        remaining += file.size - have;
        pending.push(file);
      }
      record.totalBytes = files.reduce((sum, f) => sum + f.size, 0);
      record.filesTotal = files.length;
      record.filesDone = files.length - pending.length;
      record.doneBytes = this.bytesDone(job);
      this.persistOrWarn(record);

      const free = await (this.options.freeSpace ?? freeBytes)(this.options.cacheDir);
      if (remaining + marginFor(remaining) > free) {
        throw new HubError("insufficient_space", `Not enough disk space for ${record.repo}: ${gib(remaining)} still to download (plus ${gib(marginFor(remaining))} kept free) but ${gib(free)} free at ${this.options.cacheDir}. Free some space (mlx-manager rm MODEL) or download fewer files with include/exclude.`, 507);
      }

      // One file failing stops its siblings; the first error is the one reported.
      const batch = new AbortController();
      const onAbort = (): void => { batch.abort(signal.reason); };
      signal.addEventListener("abort", onAbort, { once: true });
      let firstError: unknown;
      try {
        await Promise.all(
          pending.map(async (file) => {
            try {
              const release = await this.slots.acquire(batch.signal);
              try {
                const result = await this.options.fetcher.fetch({
                  url: hub.resolveUrl(record.repo, resolved.commit, file.path),
                  token: hub.tokenFor({ token: job.token }),
                  blobsDir,
                  etag: file.etag,
                  size: file.size,
                  repo: record.repo,
                  filePath: file.path,
                  signal: batch.signal,
                  onProgress: (bytes) => job.fileBytes.set(file.path, bytes),
                });
                linkSnapshot(snapshotDir, file.path, result.blobPath);
                job.fileBytes.set(file.path, file.size);
                record.filesDone++;
              } finally {
                release();
              }
            } catch (error) {
              firstError ??= error;
              batch.abort(error);
            }
          }),
        );
      } finally {
        signal.removeEventListener("abort", onAbort);
      }
      if (firstError !== undefined) throw signal.aborted ? signal.reason : firstError;
      record.doneBytes = record.totalBytes;
      record.speed = 0;
      delete record.etaSeconds;
      this.setState(record, "completed");
      this.log.info("download completed", { id: record.id, repo: record.repo, commit: record.commit, bytes: record.totalBytes });
      this.options.onCompleted?.(this.snapshot(record));
    } catch (error) {
      record.doneBytes = this.bytesDone(job);
      record.speed = 0;
      if (signal.aborted && job.stopReason === undefined && this.closing) {
        // Manager stopping: the row stays queued/running, so the next start resumes it.
        return;
      }
      if (signal.aborted && job.stopReason !== undefined) {
        this.setState(record, "cancelled");
        this.log.info("download cancelled", { id: record.id, repo: record.repo, discard: job.stopReason === "discard" });
        return;
      }
      const failure = error instanceof HubError ? error : new HubError("download_failed", `The download of ${record.repo} failed: ${error instanceof Error ? error.message : String(error)}`, 500);
      record.error = { code: failure.code, message: failure.message };
      this.setState(record, "failed");
      this.log.warn("download failed", { id: record.id, repo: record.repo, code: failure.code, message: failure.message });
    }
  }

  private bytesDone(job: Job): number {
    let sum = 0;
    for (const bytes of job.fileBytes.values()) sum += bytes;
    return sum;
  }

  private snapshot(record: Download): Download {
    const job = this.jobs.get(record.id);
    if (!job || record.state !== "running") return { ...record, active: [] };
    const active = job.files
      .filter((f) => {
        const bytes = job.fileBytes.get(f.path) ?? 0;
        return bytes > 0 && bytes < f.size;
      })
      .map((f) => ({ path: f.path, doneBytes: job.fileBytes.get(f.path) ?? 0, totalBytes: f.size }));
    return { ...record, active };
  }

  /** Throttled progress: one event per running download per interval, only when bytes moved. */
  private publishProgress(): void {
    const now = Date.now();
    for (const job of this.jobs.values()) {
      const { record } = job;
      if (record.state !== "running" || record.totalBytes === 0) continue;
      const done = this.bytesDone(job);
      job.samples.push({ at: now, bytes: done });
      while (job.samples.length > 2 && now - (job.samples[0]?.at ?? now) > 5000) job.samples.shift();
      const first = job.samples[0];
      const seconds = first ? (now - first.at) / 1000 : 0;
      record.speed = first && seconds > 0 ? Math.max(0, (done - first.bytes) / seconds) : 0;
      record.doneBytes = done;
      if (record.speed > 0) record.etaSeconds = Math.round((record.totalBytes - done) / record.speed);
      else delete record.etaSeconds;
      if (done === job.lastPublishedBytes) continue;
      job.lastPublishedBytes = done;
      this.options.events.publish({ type: "download.progress", data: this.snapshot(record) });
    }
  }

  private setState(record: Download, state: DownloadState): void {
    record.state = state;
    record.updatedAt = Date.now();
    this.persistOrWarn(record);
    this.publishChanged(record);
  }

  /** Saves a running download's state; when the store cannot (a full disk), the state still changes in memory. */
  private persistOrWarn(record: Download): void {
    try {
      this.persist(record);
    } catch (error) {
      this.log.warn("could not save a download's state", { id: record.id, state: record.state, error: String(error) });
    }
  }

  private publishChanged(record: Download): void {
    this.options.events.publish({ type: "download.changed", data: this.snapshot(record) });
  }

  private persist(record: Download): void {
    this.options.store.run(
      `INSERT OR REPLACE INTO downloads (id, repo, revision, commit_sha, include, exclude, state, error, done_bytes, total_bytes, files_done, files_total, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        record.id,
        record.repo,
        record.revision,
        record.commit ?? null,
        record.include ? JSON.stringify(record.include) : null,
        record.exclude ? JSON.stringify(record.exclude) : null,
        record.state,
        record.error ? JSON.stringify(record.error) : null,
        record.doneBytes,
        record.totalBytes,
        record.filesDone,
        record.filesTotal,
        record.createdAt,
        record.updatedAt,
      ],
    );
  }

  private forget(id: string): void {
    this.records.delete(id);
    this.options.store.run("DELETE FROM downloads WHERE id = ?", [id]);
    this.options.events.publish({ type: "download.removed", data: { id } });
  }

  /** Deletes the `.incomplete` blobs of a download (all of the repo's when its file list is unknown). */
  private removePartials(record: Download, files: HubFile[] | undefined): void {
    const blobsDir = this.blobsDir(record.repo);
    if (files && files.length > 0) {
      for (const f of files) this.options.fetcher.discardPartial(blobsDir, record.repo, f.etag);
      return;
    }
    for (const name of safeReaddir(blobsDir).filter((n) => n.endsWith(".incomplete"))) fs.rmSync(path.join(blobsDir, name), { force: true });
    this.options.fetcher.pruneLedger((repo) => this.blobsDir(repo));
  }

  private blobsDir(repo: string): string {
    return path.join(this.options.cacheDir, modelFolderName(repo), "blobs");
  }
}

/** The files a download fetches: include globs (any) minus exclude globs, like huggingface_hub's allow/ignore patterns. */
export function selectFiles(files: HubFile[], include: string[] | undefined, exclude: string[] | undefined): HubFile[] {
  const isIncluded = include && include.length > 0 ? picomatch(include, { dot: true }) : () => true;
  const isExcluded = exclude && exclude.length > 0 ? picomatch(exclude, { dot: true }) : () => false;
  return files.filter((f) => isIncluded(f.path) && !isExcluded(f.path));
}

/** `snapshots/<commit>/<path>` → relative symlink to `blobs/<etag>` (one more `../` per sub-folder). */
function linkSnapshot(snapshotDir: string, filePath: string, blobPath: string): void {
  const link = path.join(snapshotDir, ...filePath.split("/"));
  fs.mkdirSync(path.dirname(link), { recursive: true });
  const target = path.relative(path.dirname(link), blobPath);
  try {
    if (fs.readlinkSync(link) === target) return;
    fs.rmSync(link, { force: true });
  } catch {
    // No link yet.
  }
  fs.symlinkSync(target, link);
}

async function freeBytes(dir: string): Promise<number> {
  const stats = await fs.promises.statfs(dir);
  return stats.bavail * stats.bsize;
}

function sizeOf(file: string): number | undefined {
  try {
    return fs.statSync(file).size;
  } catch {
    return undefined;
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

function gib(bytes: number): string {
  return bytes >= 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(1)} GiB` : `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
}

function fromRow(row: DownloadRow): Download {
  const include = row.include ? Globs.safeParse(JSON.parse(row.include)) : undefined;
  const exclude = row.exclude ? Globs.safeParse(JSON.parse(row.exclude)) : undefined;
  const error = row.error ? StoredError.safeParse(JSON.parse(row.error)) : undefined;
  const state = z.enum(["queued", "running", "cancelled", "failed", "completed"]).safeParse(row.state);
  return {
    id: row.id,
    repo: row.repo,
    revision: row.revision,
    ...(row.commit_sha && COMMIT.test(row.commit_sha) ? { commit: row.commit_sha } : {}),
    ...(include?.success ? { include: include.data } : {}),
    ...(exclude?.success ? { exclude: exclude.data } : {}),
    state: state.success ? state.data : "failed",
    ...(error?.success ? { error: error.data } : {}),
    doneBytes: row.done_bytes,
    totalBytes: row.total_bytes,
    filesDone: row.files_done,
    filesTotal: row.files_total,
    speed: 0,
    active: [],
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** Counts free slots; waiters leave the line when their signal aborts. */
class Semaphore {
  private readonly waiters: (() => void)[] = [];
  constructor(private free: number) {}

  acquire(signal: AbortSignal): Promise<() => void> {
    signal.throwIfAborted();
    const release = (): void => {
      const next = this.waiters.shift();
      if (next) next();
      else this.free++;
    };
    if (this.free > 0) {
      this.free--;
      return Promise.resolve(once(release));
    }
    return new Promise((resolve, reject) => {
      const grant = (): void => {
        signal.removeEventListener("abort", onAbort);
        resolve(once(release));
      };
      const onAbort = (): void => {
        const index = this.waiters.indexOf(grant);
        if (index >= 0) this.waiters.splice(index, 1);
        reject(signal.reason instanceof Error ? signal.reason : new Error("aborted"));
      };
      this.waiters.push(grant);
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }
}

function once(fn: () => void): () => void {
  let called = false;
  return () => {
    if (called) return;
    called = true;
    fn();
  };
}
