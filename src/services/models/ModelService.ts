import fs from "node:fs";
import path from "node:path";
import type { DeleteModelResult, ModelList } from "../../shared/api";
import type { CachedModel } from "../../shared/models";
import { ApiError } from "../api/ApiError";
import type { ModelsApi } from "../api/server";
import { CacheScanner } from "../cache/CacheScanner";
import { modelFolderName } from "../cache/cacheDir";
import { CacheWatcher } from "../cache/CacheWatcher";
import { deleteModel, CacheDeleteError } from "../cache/deleteModel";
import type { EventBus } from "../events/EventBus";
import { writeFileAtomicSync } from "../fs/atomicWrite";
import type { Logger } from "../logging/Logger";

export interface ModelServiceOptions {
  cacheDir: string;
  /** File where parsed metadata is kept between runs (keyed by blob etag). */
  metaCacheFile: string;
  events: EventBus;
  logger: Logger;
  /** Watch the cache for changes made by other tools (default true). */
  watch?: boolean;
}

/** The cached models: scanned at start, kept current by a watcher, announced as events. */
export class ModelService implements ModelsApi {
  private readonly scanner: CacheScanner;
  private watcher: CacheWatcher | undefined;
  private scannedAt = 0;
  private cachedJson: Buffer | undefined;
  private readonly log: Logger;

  constructor(private readonly options: ModelServiceOptions) {
    this.log = options.logger.child({ part: "models" });
    this.scanner = new CacheScanner({ cacheDir: options.cacheDir, logger: this.log });
  }

  /** First scan (with metadata remembered from the last run), then watching. */
  async start(signal?: AbortSignal): Promise<void> {
    this.loadMetaCache();
    await this.scanner.scan(signal);
    this.scannedAt = Date.now();
    this.cachedJson = undefined;
    this.saveMetaCache();
    if (this.options.watch !== false && fs.existsSync(this.options.cacheDir)) {
      this.watcher = new CacheWatcher({
        cacheDir: this.options.cacheDir,
        scanner: this.scanner,
        logger: this.log,
        onChange: (change) => {
          this.scannedAt = Date.now();
          this.cachedJson = undefined;
          if (change.type === "removed") this.options.events.publish({ type: "model.removed", data: { id: change.id } });
          else if (change.model) this.options.events.publish({ type: change.type === "added" ? "model.added" : "model.changed", data: change.model });
        },
      });
      await this.watcher.start();
    }
  }

  async stop(): Promise<void> {
    await this.watcher?.close();
    this.saveMetaCache();
  }

  listJson(): Buffer {
    this.cachedJson ??= Buffer.from(JSON.stringify(this.list()));
    return this.cachedJson;
  }

  list(): ModelList {
    return { models: this.scanner.list(), scannedAt: this.scannedAt, cacheDir: this.options.cacheDir };
  }

  /** Used by profiles: the models as last scanned. */
  models(): CachedModel[] {
    return this.scanner.list();
  }

  /** A full rescan; announces what appeared, changed or went away since the last one. */
  async rescan(signal?: AbortSignal): Promise<ModelList> {
    const before = new Map(this.scanner.list().map((m) => [m.id, m]));
    const after = await this.scanner.scan(signal);
    this.scannedAt = Date.now();
    this.cachedJson = undefined;
    for (const model of after) {
      const old = before.get(model.id);
      before.delete(model.id);
      if (!old) this.options.events.publish({ type: "model.added", data: model });
      else if (JSON.stringify(old) !== JSON.stringify(model)) this.options.events.publish({ type: "model.changed", data: model });
    }
    for (const id of before.keys()) this.options.events.publish({ type: "model.removed", data: { id } });
    this.saveMetaCache();
    return this.list();
  }

  async delete(id: string, revision: string | undefined): Promise<DeleteModelResult> {
    try {
      const { freedBytes } = await deleteModel({ cacheDir: this.options.cacheDir, repoId: id, ...(revision === undefined ? {} : { revision }), logger: this.log });
      this.log.info("model deleted", { id, revision, freedBytes });
      const model = await this.scanner.rescanRepo(modelFolderName(id));
      this.cachedJson = undefined;
      if (model) this.options.events.publish({ type: "model.changed", data: model });
      else this.options.events.publish({ type: "model.removed", data: { id } });
      return { id, ...(revision === undefined ? {} : { revision }), freedBytes };
    } catch (error) {
      if (error instanceof CacheDeleteError) {
        throw new ApiError(error.code === "path_outside_cache" ? 400 : 404, error.code, error.message);
      }
      throw error;
    }
  }

  private loadMetaCache(): void {
    try {
      this.scanner.importMetaCache(JSON.parse(fs.readFileSync(this.options.metaCacheFile, "utf8")));
    } catch {
      // No cache yet, or unreadable: the scan reads the files instead.
    }
  }

  private saveMetaCache(): void {
    try {
      fs.mkdirSync(path.dirname(this.options.metaCacheFile), { recursive: true });
      writeFileAtomicSync(this.options.metaCacheFile, JSON.stringify(this.scanner.exportMetaCache()));
    } catch (error) {
      this.log.warn("could not save the scan cache", { error: String(error) });
    }
  }
}
