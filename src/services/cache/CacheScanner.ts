import fs from "node:fs";
import path from "node:path";
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import type { CachedModel, CachedRevision, GgufFile, ModelFormat, Quantization } from "../../shared/models";
import type { Logger } from "../logging/Logger";
import { repoIdFromFolder } from "./cacheDir";
import {
  GgufError,
  ggufFileTypeQuantization,
  ggufNameQuantization,
  ggufSplitGroup,
  readGgufSummary,
} from "./gguf";
import { MetaCache, type MetaEntry, type MetaKind, type MetaOf } from "./metaCache";
import { parseModelCard, readModelCardHead } from "./modelCard";
import { ModelConfigError, parseModelConfig } from "./modelConfig";
import { type BlobLocation, type MetaFileRef, type RawRepo, locate, readRepo } from "./repoReader";
import {
  SafetensorsError,
  type SafetensorsSummary,
  countParameters,
  readSafetensorsHeader,
  summarizeSafetensorsHeader,
} from "./safetensors";

export interface CacheScannerOptions {
  cacheDir: string;
  logger: Logger;
}

/** Hand the event loop back at least this often during a full scan (ms). */
const YIELD_EVERY_MS = 16;
const MAX_CONFIG_BYTES = 8 * 1024 * 1024;
const MAX_INDEX_BYTES = 64 * 1024 * 1024;

/** Errors that say something about the file's content: cached with the etag, never retried. */
function isContentError(error: unknown): boolean {
  return error instanceof ModelConfigError || error instanceof SafetensorsError || error instanceof GgufError;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Reads a whole small file whose size is known: open, one read, close (readFileSync makes more calls). */
function readText(file: string, size: number, max: number): string {
  if (size > max) throw new ModelConfigError(`file is ${size} bytes, larger than the ${max} bytes accepted`);
  const fd = fs.openSync(file, "r");
  try {
    const buf = Buffer.allocUnsafe(size);
    let got = 0;
    while (got < size) {
      const n = fs.readSync(fd, buf, got, size - got, got);
      if (n === 0) break;
      got += n;
    }
    return buf.toString("utf8", 0, got);
  } finally {
    fs.closeSync(fd);
  }
}

function parseIndex(text: string): string[] {
  let index: unknown;
  try {
    index = JSON.parse(text);
  } catch (error) {
    throw new ModelConfigError(`not valid JSON (${message(error)})`);
  }
  const weightMap =
    typeof index === "object" && index !== null && "weight_map" in index ? index.weight_map : undefined;
  if (typeof weightMap !== "object" || weightMap === null) throw new ModelConfigError("no weight_map");
  const shards = new Set<string>();
  for (const value of Object.values(weightMap)) if (typeof value === "string") shards.add(value);
  return [...shards];
}

/** One repo being described: its layout, the warnings so far, and the files already located. */
interface RepoContext {
  raw: RawRepo;
  warnings: string[];
  located: Map<string, BlobLocation | undefined>;
}

/** Reads and classifies the models in a Hugging Face cache folder, remembering what it parsed. */
export class CacheScanner {
  readonly cacheDir: string;
  private readonly logger: Logger;
  private readonly meta = new MetaCache();
  /** Last results by repo folder name. */
  private repos = new Map<string, CachedModel>();
  private sorted: CachedModel[] | undefined;
  private inFlight: Promise<CachedModel[]> | undefined;
  /** Folders rescanned while a full scan runs: their newer result wins over the scan's. */
  private touchedDuringScan: Set<string> | undefined;

  constructor({ cacheDir, logger }: CacheScannerOptions) {
    this.cacheDir = path.resolve(cacheDir);
    this.logger = logger;
  }

  /** Scans every model repo of the cache. A call during a running scan shares that scan. */
  scan(signal?: AbortSignal): Promise<CachedModel[]> {
    this.inFlight ??= this.fullScan(signal).finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  /** The results of the last scan and rescans, without touching the disk. */
  list(): CachedModel[] {
    this.sorted ??= [...this.repos.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return this.sorted;
  }

  /** Re-reads one repo folder (`models--org--name`); undefined when it is gone or not a model repo. */
  rescanRepo(repoFolderName: string): Promise<CachedModel | undefined> {
    return Promise.resolve(this.rescanRepoSync(repoFolderName));
  }

  /** The metadata cache in a JSON-safe shape, for the manager to persist. */
  exportMetaCache(): unknown {
    return this.meta.export();
  }

  /** Loads a persisted metadata cache; malformed data or entries are ignored. */
  importMetaCache(data: unknown): void {
    const loaded = this.meta.import(data);
    this.logger.debug("metadata cache imported", { entries: loaded });
  }

  private rescanRepoSync(folder: string): CachedModel | undefined {
    this.touchedDuringScan?.add(folder);
    this.sorted = undefined;
    if (repoIdFromFolder(folder) === undefined || folder.includes("/") || folder.includes(path.sep)) {
      this.repos.delete(folder);
      return undefined;
    }
    const st = fs.statSync(this.cacheDir + path.sep + folder, { throwIfNoEntry: false });
    const model = st?.isDirectory() ? this.scanFolder(folder) : undefined;
    if (model) this.repos.set(folder, model);
    else this.repos.delete(folder);
    return model;
  }

  private async fullScan(signal: AbortSignal | undefined): Promise<CachedModel[]> {
    signal?.throwIfAborted();
    const started = performance.now();
    const folders = this.listRepoFolders();
    const next = new Map<string, CachedModel>();
    this.touchedDuringScan = new Set();
    this.meta.beginSweep();
    let completed = false;
    try {
      let slice = performance.now();
      for (const folder of folders) {
        const model = this.scanFolder(folder);
        if (model) next.set(folder, model);
        if (performance.now() - slice > YIELD_EVERY_MS) {
          await yieldToEventLoop();
          signal?.throwIfAborted();
          slice = performance.now();
        }
      }
      completed = true;
    } finally {
      this.meta.endSweep(completed);
      const touched = this.touchedDuringScan;
      this.touchedDuringScan = undefined;
      if (completed) {
        // A rescan that ran while this scan was under way saw the newer state.
        for (const folder of touched) {
          const current = this.repos.get(folder);
          if (current) next.set(folder, current);
          else next.delete(folder);
        }
        this.repos = next;
        this.sorted = undefined;
      }
    }
    this.logger.debug("cache scanned", { repos: next.size, ms: Math.round(performance.now() - started) });
    return this.list();
  }

  /** The `models--*` folders of the cache (a symlinked repo folder counts, like in huggingface_hub). */
  private listRepoFolders(): string[] {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(this.cacheDir, { withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      this.logger.debug("cache folder does not exist yet", { cacheDir: this.cacheDir });
      return [];
    }
    const folders: string[] = [];
    for (const entry of entries) {
      if (repoIdFromFolder(entry.name) === undefined) continue;
      if (entry.isDirectory()) folders.push(entry.name);
      else if (
        entry.isSymbolicLink() &&
        fs.statSync(this.cacheDir + path.sep + entry.name, { throwIfNoEntry: false })?.isDirectory()
      ) {
        folders.push(entry.name);
      }
    }
    return folders;
  }

  /** One repo folder → a model, or undefined (logged) when it is not a usable repo. */
  private scanFolder(folder: string): CachedModel | undefined {
    let raw: RawRepo;
    try {
      raw = readRepo(this.cacheDir, folder);
    } catch (error) {
      this.logger.warn("could not read repo folder", { folder, error: message(error) });
      return undefined;
    }
    return this.fromRaw(raw);
  }

  private fromRaw(raw: RawRepo): CachedModel | undefined {
    const id = repoIdFromFolder(raw.folder);
    if (id === undefined) return undefined;
    if (raw.skipped !== undefined) {
      // Like huggingface_hub's scan_cache_dir: such a folder is reported, not listed.
      this.logger.warn("skipping repo folder", { folder: raw.folder, reason: raw.skipped });
      return undefined;
    }
    return this.describe(id, raw);
  }

  private describe(id: string, raw: RawRepo): CachedModel {
    const warnings = [...raw.warnings];
    const ctx: RepoContext = { raw, warnings, located: new Map() };
    const refsByCommit = new Map<string, string[]>();
    for (const ref of raw.refs) {
      const list = refsByCommit.get(ref.commit);
      if (list) list.push(ref.name);
      else refsByCommit.set(ref.commit, [ref.name]);
    }
    const revisions: CachedRevision[] = raw.revisions
      .map((r) => ({ ...r, refs: (refsByCommit.get(r.commit) ?? []).sort(compareRefs) }))
      .sort((a, b) => b.lastModified - a.lastModified);

    const files = new Map<string, MetaFileRef>();
    for (const f of raw.metaFiles) files.set(f.rel, f);
    const rootSafetensors = raw.metaFiles.filter(
      (f) => !f.rel.includes("/") && f.rel.endsWith(".safetensors"),
    );
    const ggufRefs = raw.metaFiles.filter((f) => f.rel.endsWith(".gguf"));
    const configRef = files.get("config.json");
    const config = configRef ? this.load(ctx, configRef, "config") : undefined;

    const hasWeights = configRef !== undefined && rootSafetensors.length > 0;
    const isMlx =
      hasWeights &&
      (id.startsWith("mlx-community/") ||
        config?.mlxQuantization === true ||
        this.cardSaysMlx(ctx, files.get("README.md")));
    const format: ModelFormat = isMlx
      ? "mlx"
      : ggufRefs.length > 0
        ? "gguf"
        : hasWeights
          ? "safetensors"
          : "unknown";

    const model: CachedModel = {
      id,
      path: raw.path,
      format,
      revisions,
      size: raw.size,
      lastModified: raw.lastModified,
      lastAccessed: raw.lastAccessed,
      incomplete: raw.incomplete,
      warnings,
    };
    if (config?.modelType !== undefined) model.architecture = config.modelType;
    if (config?.quantization !== undefined) model.quantization = config.quantization;

    if (format === "mlx" || format === "safetensors") {
      const parameters = this.safetensorsParameters(ctx, files, rootSafetensors, config);
      if (parameters !== undefined) model.parameters = parameters;
    }
    if (ggufRefs.length > 0) this.describeGguf(ctx, model, ggufRefs);
    return model;
  }

  private describeGguf(ctx: RepoContext, model: CachedModel, refs: MetaFileRef[]): void {
    const ggufFiles: GgufFile[] = [];
    const groups = new Map<string, { parameters: number; complete: boolean }>();
    let architecture: string | undefined;
    for (const ref of refs) {
      const header = this.load(ctx, ref, "gguf");
      const quantization: Quantization | undefined =
        (header?.fileType !== undefined ? ggufFileTypeQuantization(header.fileType) : undefined) ??
        ggufNameQuantization(ref.rel);
      const size = this.locate(ctx, ref)?.size ?? 0;
      ggufFiles.push({ path: ref.rel, size, ...(quantization ? { quantization } : {}) });
      architecture ??= header?.architecture;
      const key = ggufSplitGroup(ref.rel);
      const group = groups.get(key) ?? { parameters: 0, complete: true };
      if (header?.parameters === undefined) group.complete = false;
      else group.parameters += header.parameters;
      groups.set(key, group);
    }
    ggufFiles.sort((a, b) => (a.path < b.path ? -1 : 1));
    model.ggufFiles = ggufFiles;
    if (model.format !== "gguf") return;
    if (architecture !== undefined) model.architecture = architecture;
    const labels = new Set(ggufFiles.map((f) => f.quantization?.label));
    const first = ggufFiles[0]?.quantization;
    if (labels.size === 1 && first) model.quantization = first;
    else delete model.quantization;
    // Quantizations of one model share their tensors' element counts.
    const counts = new Set([...groups.values()].map((g) => (g.complete ? g.parameters : -1)));
    const [only] = counts;
    if (counts.size === 1 && only !== undefined && only > 0) model.parameters = only;
  }

  private safetensorsParameters(
    ctx: RepoContext,
    files: Map<string, MetaFileRef>,
    rootSafetensors: MetaFileRef[],
    config: MetaOf<"config"> | undefined,
  ): number | undefined {
    let shards = rootSafetensors;
    const indexRef = files.get("model.safetensors.index.json");
    const index = indexRef ? this.load(ctx, indexRef, "index") : undefined;
    if (index?.shards) {
      shards = [];
      for (const name of index.shards) {
        const ref = files.get(name);
        if (ref) shards.push(ref);
        else ctx.warnings.push(`${name}, listed in model.safetensors.index.json, is missing`);
      }
      if (shards.length < index.shards.length) return undefined;
    }
    const summaries: SafetensorsSummary[] = [];
    for (const ref of shards) {
      const summary = this.load(ctx, ref, "safetensors");
      if (summary?.plain === undefined) return undefined;
      summaries.push({
        plain: summary.plain,
        scalesBiases: summary.scalesBiases ?? 0,
        packed: summary.packed ?? [],
      });
    }
    const bits = config?.quantization?.bits;
    return countParameters(
      summaries,
      bits === undefined
        ? undefined
        : { bits, ...(config?.moduleBits ? { moduleBits: config.moduleBits } : {}) },
    );
  }

  private cardSaysMlx(ctx: RepoContext, ref: MetaFileRef | undefined): boolean {
    const card = ref ? this.load(ctx, ref, "readme") : undefined;
    if (!card) return false;
    return (
      card.libraryName?.toLowerCase() === "mlx" || (card.tags ?? []).some((t) => t.toLowerCase() === "mlx")
    );
  }

  /** Where a metadata file's bytes are (located once per repo and scan). */
  private locate(ctx: RepoContext, ref: MetaFileRef): BlobLocation | undefined {
    if (ref.location) return ref.location;
    if (ctx.located.has(ref.rel)) return ctx.located.get(ref.rel);
    const location = locate(ctx.raw.path, ref.rel, ref.link);
    ctx.located.set(ref.rel, location);
    return location;
  }

  /**
   * Parsed metadata of one file, from the etag cache or read now. Content errors become a
   * warning and are cached with the etag; I/O errors become a warning only.
   */
  private load<K extends MetaKind>(ctx: RepoContext, ref: MetaFileRef, kind: K): MetaOf<K> | undefined {
    const blob = this.locate(ctx, ref);
    if (!blob) return undefined; // a dangling link, already reported by the reader
    let entry: MetaEntry | undefined =
      blob.etag === undefined ? undefined : this.meta.get(blob.etag, kind, blob.size, blob.mtimeMs);
    if (!entry) {
      entry = this.read(ctx, ref, blob, kind);
      if (!entry) return undefined;
      if (blob.etag !== undefined) this.meta.set(blob.etag, entry);
    }
    if (entry.error !== undefined) {
      ctx.warnings.push(`${ref.rel}: ${entry.error}`);
      return undefined;
    }
    return entry as MetaOf<K>;
  }

  /** Parses a file now; a content error becomes an entry (cached), an I/O error only a warning. */
  private read(
    ctx: RepoContext,
    ref: MetaFileRef,
    blob: BlobLocation,
    kind: MetaKind,
  ): MetaEntry | undefined {
    const base = { size: blob.size, mtimeMs: blob.mtimeMs };
    try {
      return this.parse(blob.file, blob.size, kind, base);
    } catch (error) {
      if (isContentError(error)) return { kind, ...base, error: message(error) };
      ctx.warnings.push(`${ref.rel} could not be read (${message(error)})`);
      return undefined;
    }
  }

  private parse(
    file: string,
    size: number,
    kind: MetaKind,
    base: { size: number; mtimeMs: number },
  ): MetaEntry {
    switch (kind) {
      case "config": {
        const info = parseModelConfig(readText(file, size, MAX_CONFIG_BYTES));
        return { kind, ...base, ...info };
      }
      case "index":
        return { kind, ...base, shards: parseIndex(readText(file, size, MAX_INDEX_BYTES)) };
      case "safetensors":
        return { kind, ...base, ...summarizeSafetensorsHeader(readSafetensorsHeader(file, size)) };
      case "gguf":
        return { kind, ...base, ...readGgufSummary(file, size) };
      case "readme": {
        const card = parseModelCard(readModelCardHead(file, size));
        return {
          kind,
          ...base,
          tags: card.tags,
          ...(card.libraryName !== undefined ? { libraryName: card.libraryName } : {}),
        };
      }
    }
  }
}

/** "main" first, then other branches, then PR refs. */
function compareRefs(a: string, b: string): number {
  const rank = (r: string): number => (r === "main" ? 0 : r.startsWith("refs/") ? 2 : 1);
  return rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0);
}
