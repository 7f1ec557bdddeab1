import fs from "node:fs";
import path from "node:path";
import * as z from "zod";
import { writeFileAtomicSync } from "../fs/atomicWrite";
import type { Logger } from "../logging/Logger";
import type { ResponseObject } from "./translate/responsesAnswer";
import type { ResponsesInputItem } from "./translate/responsesRequest";

// The Responses API's stored responses (`store`, `previous_response_id`, GET/DELETE by id). Each is
// a file of its own under `<data dir>/responses/` (0600, written atomically), not a row of store.db:
// the store rewrites its whole database on every snapshot, and conversations of agents grow fast.
// A file's name carries its owner, so the index is built from a directory listing at start.

export interface ResponseStoreLimits {
  /** Responses kept at most; the oldest go first. Default 1,000. */
  maxCount: number;
  /** Bytes of all kept responses at most. Default 256 MiB. */
  maxBytes: number;
  /** A response older than this is gone. Default 30 days (as OpenAI keeps them). */
  maxAgeMs: number;
}

const DEFAULT_LIMITS: ResponseStoreLimits = { maxCount: 1000, maxBytes: 256 * 1024 * 1024, maxAgeMs: 30 * 24 * 60 * 60 * 1000 };

/** Whose a response is: a shared-mode user's id, or `local` for the owner over loopback. */
export type ResponseOwner = string;
export const LOCAL_OWNER: ResponseOwner = "local";

/** What is kept of one response: it, and the whole input that led to it (what a follow-up continues). */
export interface StoredResponse {
  response: ResponseObject;
  /** Every input item of the conversation so far, the earlier responses' included (not this one's output). */
  input: ResponsesInputItem[];
}

const StoredFile = z.object({ response: z.looseObject({ id: z.string(), created_at: z.number(), output: z.array(z.unknown()) }), input: z.array(z.looseObject({})) });

interface Entry {
  owner: ResponseOwner;
  file: string;
  bytes: number;
  createdAt: number;
}

const ID = /^resp_[A-Za-z0-9]{1,128}$/;
const OWNER = /^[A-Za-z0-9-]{1,64}$/;

/** The kept responses, by id, each visible to its owner only. */
export class ResponseStore {
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;
  private readonly limits: ResponseStoreLimits;

  constructor(
    private readonly dir: string,
    private readonly logger: Logger,
    limits: Partial<ResponseStoreLimits> = {},
    private readonly now: () => number = Date.now,
  ) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
  }

  /** Reads the directory (names and sizes only) and drops what is past the limits. */
  open(): void {
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const found: [string, Entry][] = [];
    for (const name of fs.readdirSync(this.dir)) {
      const file = path.join(this.dir, name);
      const match = /^([A-Za-z0-9-]+)\.(resp_[A-Za-z0-9]+)\.json$/.exec(name);
      if (match?.[1] === undefined || match[2] === undefined) {
        // A write cut short by a crash leaves its temporary file.
        if (name.includes(".tmp-")) fs.rmSync(file, { force: true });
        continue;
      }
      const stat = fs.statSync(file);
      found.push([match[2], { owner: match[1], file, bytes: stat.size, createdAt: stat.mtimeMs }]);
    }
    found.sort((a, b) => a[1].createdAt - b[1].createdAt);
    for (const [id, entry] of found) this.add(id, entry);
    this.prune();
  }

  /** Keeps a finished response for its owner. A write that fails (a full disk) is logged, not thrown: the answer has gone out. */
  save(owner: ResponseOwner, stored: StoredResponse): void {
    if (!OWNER.test(owner) || !ID.test(stored.response.id)) throw new Error(`not a storable response: ${owner}/${stored.response.id}`);
    const file = path.join(this.dir, `${owner}.${stored.response.id}.json`);
    const text = JSON.stringify(stored);
    try {
      writeFileAtomicSync(file, text, 0o600);
    } catch (error) {
      this.logger.warn("could not keep a response", { id: stored.response.id, error: String(error) });
      return;
    }
    this.add(stored.response.id, { owner, file, bytes: Buffer.byteLength(text), createdAt: this.now() });
    this.prune();
  }

  /** The response if it exists, is not expired and belongs to `owner`; anyone else's is as missing. */
  get(owner: ResponseOwner, id: string): StoredResponse | undefined {
    const entry = this.entries.get(id);
    if (entry === undefined || entry.owner !== owner) return undefined;
    if (this.now() - entry.createdAt > this.limits.maxAgeMs) {
      this.remove(id);
      return undefined;
    }
    try {
      const parsed = StoredFile.safeParse(JSON.parse(fs.readFileSync(entry.file, "utf8")));
      if (parsed.success) return parsed.data as unknown as StoredResponse;
      this.logger.warn("a kept response is unreadable; dropped", { id });
    } catch (error) {
      this.logger.warn("a kept response could not be read; dropped", { id, error: String(error) });
    }
    this.remove(id);
    return undefined;
  }

  /** Deletes `owner`'s response; false when there is none of theirs by that id. */
  delete(owner: ResponseOwner, id: string): boolean {
    const entry = this.entries.get(id);
    if (entry === undefined || entry.owner !== owner) return false;
    this.remove(id);
    return true;
  }

  /** Deletes every response of `owner` (a deleted user's). */
  purgeOwner(owner: ResponseOwner): number {
    let removed = 0;
    for (const [id, entry] of [...this.entries]) {
      if (entry.owner !== owner) continue;
      this.remove(id);
      removed++;
    }
    return removed;
  }

  /** How many are kept and their bytes (for tests and the status). */
  get size(): { count: number; bytes: number } {
    return { count: this.entries.size, bytes: this.bytes };
  }

  private add(id: string, entry: Entry): void {
    const old = this.entries.get(id);
    if (old !== undefined) this.bytes -= old.bytes;
    // Re-inserted at the end: the map's order is the order of age.
    this.entries.delete(id);
    this.entries.set(id, entry);
    this.bytes += entry.bytes;
  }

  private remove(id: string): void {
    const entry = this.entries.get(id);
    if (entry === undefined) return;
    this.entries.delete(id);
    this.bytes -= entry.bytes;
    fs.rmSync(entry.file, { force: true });
  }

  /** Oldest first: what is too old, then what is over the count or the bytes. */
  private prune(): void {
    const oldest = this.now() - this.limits.maxAgeMs;
    for (const [id, entry] of this.entries) {
      const over = entry.createdAt < oldest || this.entries.size > this.limits.maxCount || this.bytes > this.limits.maxBytes;
      if (!over) break;
      this.remove(id);
    }
  }
}
