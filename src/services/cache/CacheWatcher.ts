// Keeps the scanner's results current while other tools (huggingface-cli, mlx_lm, our own
// downloader) write to the cache.
//
// Why node's fs.watch and not chokidar: chokidar 4 opens one fs.watch per *file* as well as
// per folder, so a 1,000-repo / 20,000-file cache costs 20,000+ handles. A repo only changes
// through its folders' entries (a blob appears or is renamed from .incomplete, a symlink is
// added to a snapshot, a ref is rewritten), so watching folders is enough:
//   - macOS and Windows: one recursive watcher on the root (FSEvents / ReadDirectoryChangesW);
//   - Linux (inotify has no recursive mode): the root, and per repo its folder, blobs/, refs/,
//     snapshots/ and each snapshot's folders: about 5 watchers per repo, whatever its size.
import fs from "node:fs";
import path from "node:path";
import type { CachedModel } from "../../shared/models";
import type { Logger } from "../logging/Logger";
import type { CacheScanner } from "./CacheScanner";
import { repoIdFromFolder } from "./cacheDir";

/** A repo that appeared, changed or went away. */
export interface CacheChange {
  type: "added" | "changed" | "removed";
  /** Repo id, e.g. "mlx-community/Llama-3.2-1B-Instruct-4bit". */
  id: string;
  /** The repo as rescanned (absent for "removed"). */
  model?: CachedModel;
}

export interface CacheWatcherOptions {
  cacheDir: string;
  scanner: CacheScanner;
  logger: Logger;
  onChange: (change: CacheChange) => void;
  /** Quiet time before a changed repo is rescanned (default 200 ms). */
  debounceMs?: number;
  /** Longest a busy repo (a download writing its blob) waits for a rescan (default 2 s). */
  maxWaitMs?: number;
  /** "auto": recursive where the OS has it (macOS, Windows), per folder elsewhere. */
  mode?: "auto" | "recursive" | "folders";
}

interface Watched {
  watcher: fs.FSWatcher;
  /** Device and inode when watched: a folder deleted and made again needs a new watcher. */
  identity: string;
}

interface Pending {
  timer: NodeJS.Timeout;
  firstAt: number;
}

/** Watches the Hugging Face cache and reports added, changed and removed repos. */
export class CacheWatcher {
  private readonly cacheDir: string;
  private readonly debounceMs: number;
  private readonly maxWaitMs: number;
  private readonly recursive: boolean;
  /** Folder watchers by path, grouped by repo folder ("" for the root). */
  private readonly watchers = new Map<string, Map<string, Watched>>();
  private readonly pending = new Map<string, Pending>();
  private closed = false;

  constructor(private readonly options: CacheWatcherOptions) {
    this.cacheDir = path.resolve(options.cacheDir);
    this.debounceMs = options.debounceMs ?? 200;
    this.maxWaitMs = options.maxWaitMs ?? 2000;
    const mode = options.mode ?? "auto";
    this.recursive =
      mode === "recursive" ||
      (mode === "auto" && (process.platform === "darwin" || process.platform === "win32"));
  }

  /** Number of open fs.watch handles (a handful per repo, never one per file). */
  get watcherCount(): number {
    let n = 0;
    for (const group of this.watchers.values()) n += group.size;
    return n;
  }

  /** Starts watching; resolves once every watcher is in place. */
  start(): Promise<void> {
    if (this.recursive) {
      this.watch(
        "",
        this.cacheDir,
        (filename) => {
          const folder = filename?.split(/[\\/]/)[0];
          if (folder !== undefined && folder !== "") this.onEvent(folder);
          else this.reconcileRoot();
        },
        { recursive: true },
      );
    } else {
      this.watch("", this.cacheDir, (filename) => {
        if (filename) this.onEvent(filename);
        else this.reconcileRoot();
      });
      for (const folder of this.listRepoFolders()) this.watchRepo(folder);
    }
    this.options.logger.debug("watching the cache", {
      cacheDir: this.cacheDir,
      watchers: this.watcherCount,
      recursive: this.recursive,
    });
    return Promise.resolve();
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const p of this.pending.values()) clearTimeout(p.timer);
    this.pending.clear();
    for (const group of this.watchers.values()) for (const w of group.values()) w.watcher.close();
    this.watchers.clear();
    await Promise.resolve();
  }

  private listRepoFolders(): string[] {
    try {
      return fs.readdirSync(this.cacheDir).filter((name) => repoIdFromFolder(name) !== undefined);
    } catch {
      return [];
    }
  }

  private onEvent(folder: string): void {
    if (this.closed || repoIdFromFolder(folder) === undefined) return;
    const now = Date.now();
    const existing = this.pending.get(folder);
    if (existing) clearTimeout(existing.timer);
    const firstAt = existing?.firstAt ?? now;
    const delay = Math.max(0, Math.min(this.debounceMs, firstAt + this.maxWaitMs - now));
    const timer = setTimeout(() => {
      this.pending.delete(folder);
      this.rescan(folder);
    }, delay);
    this.pending.set(folder, { timer, firstAt });
  }

  /** The scanner's current result for a repo folder: what the last change reported. */
  private known(folder: string): CachedModel | undefined {
    return this.options.scanner.list().find((m) => path.basename(m.path) === folder);
  }

  /** The root reported a change without a name: compare its listing with the scanner's. */
  private reconcileRoot(): void {
    const present = new Set(this.listRepoFolders());
    const known = new Set(this.options.scanner.list().map((m) => path.basename(m.path)));
    for (const folder of present) if (!known.has(folder)) this.onEvent(folder);
    for (const folder of known) if (!present.has(folder)) this.onEvent(folder);
  }

  private rescan(folder: string): void {
    if (this.closed) return;
    // Watch new folders before reading, so nothing written after the read goes unseen.
    if (!this.recursive) this.watchRepo(folder);
    const before = this.known(folder);
    this.options.scanner.rescanRepo(folder).then(
      (model) => {
        if (!this.closed) this.report(before, model);
      },
      (error: unknown) => {
        this.options.logger.warn("rescan failed", {
          folder,
          error: error instanceof Error ? error.message : String(error),
        });
      },
    );
  }

  private report(before: CachedModel | undefined, model: CachedModel | undefined): void {
    let change: CacheChange | undefined;
    if (!model) {
      if (before) change = { type: "removed", id: before.id };
    } else if (!before) {
      change = { type: "added", id: model.id, model };
    } else if (JSON.stringify(before) !== JSON.stringify(model)) {
      change = { type: "changed", id: model.id, model };
    }
    if (!change) return;
    try {
      this.options.onChange(change);
    } catch (error) {
      this.options.logger.error("cache change handler failed", {
        id: change.id,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }

  /** Brings one repo's folder watchers in line with the folders that exist now. */
  private watchRepo(folder: string): void {
    const repoPath = this.cacheDir + path.sep + folder;
    const wanted = new Map<string, string>();
    const addDir = (dir: string): boolean => {
      const st = fs.statSync(dir, { throwIfNoEntry: false });
      if (!st?.isDirectory()) return false;
      wanted.set(dir, `${st.dev}:${st.ino}`);
      return true;
    };
    const addTree = (dir: string): void => {
      if (!addDir(dir)) return;
      let entries: fs.Dirent[];
      try {
        entries = fs.readdirSync(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) if (e.isDirectory()) addTree(dir + path.sep + e.name);
    };
    // The repo folder itself is only watched through a real folder, never a symlink's target
    // outside the cache; its sub-folders are where downloads happen.
    if (addDir(repoPath)) {
      addDir(repoPath + path.sep + "blobs");
      addTree(repoPath + path.sep + "refs");
      addTree(repoPath + path.sep + "snapshots");
    }
    const group = this.watchers.get(folder) ?? new Map<string, Watched>();
    for (const [dir, w] of group) {
      if (wanted.get(dir) === w.identity) continue;
      w.watcher.close();
      group.delete(dir);
    }
    for (const [dir, identity] of wanted) {
      if (group.has(dir)) continue;
      const watcher = this.openWatcher(dir, () => {
        this.onEvent(folder);
      });
      if (watcher) group.set(dir, { watcher, identity });
    }
    if (group.size > 0) this.watchers.set(folder, group);
    else this.watchers.delete(folder);
  }

  private watch(
    group: string,
    dir: string,
    listener: (filename: string | null) => void,
    options: { recursive?: boolean } = {},
  ): void {
    const watcher = this.openWatcher(dir, listener, options);
    if (!watcher) return;
    const map = this.watchers.get(group) ?? new Map<string, Watched>();
    map.set(dir, { watcher, identity: "" });
    this.watchers.set(group, map);
  }

  private openWatcher(
    dir: string,
    listener: (filename: string | null) => void,
    options: { recursive?: boolean } = {},
  ): fs.FSWatcher | undefined {
    try {
      const watcher = fs.watch(dir, { persistent: false, ...options }, (_event, filename) => {
        listener(filename);
      });
      watcher.on("error", (error) => {
        // The folder went away under the watcher: the next rescan drops or replaces it.
        this.options.logger.debug("folder watcher error", { dir, error: error.message });
      });
      return watcher;
    } catch (error) {
      this.options.logger.debug("could not watch folder", {
        dir,
        error: error instanceof Error ? error.message : String(error),
      });
      return undefined;
    }
  }
}
