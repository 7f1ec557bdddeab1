import * as z from "zod";
import { Quantization } from "../../shared/models";

// What the scanner parsed out of file contents, keyed by blob etag. The etag is the content's
// hash, so an entry never goes stale; size and mtime are checked too, so a blob rewritten in
// place (which huggingface_hub never does) is parsed again instead of trusted.

const Base = { size: z.number(), mtimeMs: z.number(), error: z.string().optional() };

const ConfigMeta = z.object({
  kind: z.literal("config"),
  ...Base,
  modelType: z.string().optional(),
  quantization: Quantization.optional(),
  moduleBits: z.record(z.string(), z.number()).optional(),
  mlxQuantization: z.boolean().optional(),
});
const IndexMeta = z.object({ kind: z.literal("index"), ...Base, shards: z.array(z.string()).optional() });
const SafetensorsMeta = z.object({
  kind: z.literal("safetensors"),
  ...Base,
  plain: z.number().optional(),
  scalesBiases: z.number().optional(),
  packed: z.array(z.tuple([z.string(), z.number()])).optional(),
});
const GgufMeta = z.object({
  kind: z.literal("gguf"),
  ...Base,
  architecture: z.string().optional(),
  fileType: z.number().optional(),
  parameters: z.number().optional(),
});
const ReadmeMeta = z.object({
  kind: z.literal("readme"),
  ...Base,
  libraryName: z.string().optional(),
  tags: z.array(z.string()).optional(),
});

export const MetaEntry = z.discriminatedUnion("kind", [
  ConfigMeta,
  IndexMeta,
  SafetensorsMeta,
  GgufMeta,
  ReadmeMeta,
]);
export type MetaEntry = z.infer<typeof MetaEntry>;
export type MetaKind = MetaEntry["kind"];
export type MetaOf<K extends MetaKind> = Extract<MetaEntry, { kind: K }>;

const FORMAT_VERSION = 1;
const Exported = z.object({ version: z.literal(FORMAT_VERSION), entries: z.record(z.string(), z.unknown()) });
const ETAG = /^[0-9a-f]{40}$|^[0-9a-f]{64}$/;

/** Parsed file metadata by blob etag, with the export/import the manager persists it through. */
export class MetaCache {
  private readonly entries = new Map<string, MetaEntry>();
  /** Etags looked up since the last `beginSweep`, so entries of deleted models can be dropped. */
  private used: Set<string> | undefined;

  get size(): number {
    return this.entries.size;
  }

  get<K extends MetaKind>(etag: string, kind: K, size: number, mtimeMs: number): MetaOf<K> | undefined {
    this.used?.add(etag);
    const entry = this.entries.get(etag);
    if (!entry || entry.kind !== kind || entry.size !== size || entry.mtimeMs !== mtimeMs) return undefined;
    return entry as MetaOf<K>;
  }

  set(etag: string, entry: MetaEntry): void {
    this.used?.add(etag);
    this.entries.set(etag, entry);
  }

  /** Starts recording which entries a full scan uses. */
  beginSweep(): void {
    this.used = new Set();
  }

  /** Drops what the full scan since `beginSweep` did not use (metadata of deleted models). */
  endSweep(completed: boolean): void {
    const used = this.used;
    this.used = undefined;
    if (!completed || !used) return;
    for (const etag of this.entries.keys()) if (!used.has(etag)) this.entries.delete(etag);
  }

  export(): unknown {
    return { version: FORMAT_VERSION, entries: Object.fromEntries(this.entries) };
  }

  /** Loads exported entries; anything malformed is skipped. Returns how many were loaded. */
  import(data: unknown): number {
    const parsed = Exported.safeParse(data);
    if (!parsed.success) return 0;
    let loaded = 0;
    for (const [etag, value] of Object.entries(parsed.data.entries)) {
      if (!ETAG.test(etag)) continue;
      const entry = MetaEntry.safeParse(value);
      if (!entry.success) continue;
      this.entries.set(etag, entry.data);
      loaded++;
    }
    return loaded;
  }
}
