import { setMaxListeners } from "node:events";
import fs from "node:fs";
import http from "node:http";
import https from "node:https";
import path from "node:path";
import type { Logger } from "../logging/Logger";
import { CoalescingWriter, openBlobFile, type BlobFile, type FileOpener } from "./blobWriter";
import { HubError, hubHttpError, unreachableError } from "./HubError";
import { contiguousEnd, doneBytes, splitParts, validParts, type PartState, type PartsLedger } from "./PartsLedger";
import { hashFor, type StreamHash } from "./streamHash";

/**
 * Bytes a connection may have received but not yet written before it stops reading: small, as
 * what a killed process still holds is lost and fetched again, and each of up to 32 connections
 * (4 files × 8 parts) holds this much.
 */
const WRITE_BACKLOG = 1024 * 1024;
/** How often a file fetched in parts records its parts' progress in the ledger. */
const LEDGER_INTERVAL_MS = 1000;
/** huggingface_hub's partial of one stream, resumed from its size; ours of a file in parts, the file's size with holes. */
const STREAM_PARTIAL = ".incomplete";
const PARTS_PARTIAL = ".parts.incomplete";

export interface BlobFetcherOptions {
  logger: Logger;
  userAgent?: string;
  /** How files are opened for writing; tests inject one that fails like a full disk. */
  openFile?: FileOpener;
  /**
   * Large files in parallel ranged parts, each part's progress kept in the ledger. Without it every
   * file is one stream.
   */
  parts?: {
    ledger: PartsLedger;
    /** Parts per file (default 8). */
    count?: number;
    /** A file is split only into parts of at least this many bytes (default 32 MiB). */
    minPartBytes?: number;
  };
  /** Attempts per file for transient failures that made no progress (default 5). */
  maxAttempts?: number;
  /** First back-off delay; doubles per attempt (default 500 ms). */
  backoffMs?: number;
  /** Longest wait a 429 Retry-After is honoured for before failing (default 120 s). */
  maxRetryAfterSec?: number;
  /** A socket silent this long is dropped and retried (default 30 s). */
  idleTimeoutMs?: number;
}

export interface FetchBlobRequest {
  /** `{endpoint}/{repo}/resolve/{commit}/{path}` */
  url: string;
  token: string | undefined;
  blobsDir: string;
  /** The etag the tree announced; the response's X-Linked-Etag/ETag wins if it differs. */
  etag: string;
  size: number;
  repo: string;
  filePath: string;
  signal: AbortSignal;
  /** Bytes of this file on disk so far (all parts), as they land. */
  onProgress(bytesOnDisk: number): void;
}

export interface FetchBlobResult {
  etag: string;
  blobPath: string;
  size: number;
  /** Bytes received over the network (a resumed file fetches only the rest). */
  fetchedBytes: number;
  resumedFrom: number;
  /** Parallel ranged parts the file came in (1: one stream). */
  parts: number;
}

interface HubHeaders {
  etag: string | undefined;
  size: number | undefined;
  commit: string | undefined;
}

class IntegrityError extends Error {}

/** A server that answered a ranged request with the whole file: it cannot serve parts. */
class NoRangesError extends Error {}

const agents = { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) };

/** huggingface_hub's etag normalisation: drop the weak prefix and quotes. */
export function normalizeEtag(value: string | string[] | undefined): string | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (!raw) return undefined;
  return raw.replace(/^W\//, "").replace(/^"+|"+$/g, "");
}

/**
 * Fetches one file of a repo into `blobs/<etag>` the way huggingface_hub does, plus what it lacks:
 * resume from `blobs/<etag>.incomplete` with Range, inline hashing, retries with back-off,
 * Retry-After, and a cross-host redirect (the CDN) followed without the Hub token.
 */
export class BlobFetcher {
  private readonly openFile: FileOpener;
  private readonly log: Logger;

  constructor(private readonly options: BlobFetcherOptions) {
    this.openFile = options.openFile ?? openBlobFile;
    this.log = options.logger.child({ part: "fetch" });
  }

  /** The partial files a blob may have: one stream's (huggingface_hub's name) and parts' (ours). */
  static partialNames(etag: string): string[] {
    return [etag + STREAM_PARTIAL, etag + PARTS_PARTIAL];
  }

  /** Bytes of a blob already downloaded (a finished blob, one stream's partial, or parts recorded in the ledger). */
  bytesOnDisk(blobsDir: string, repo: string, etag: string, size: number): number {
    const blobPath = path.join(blobsDir, etag);
    if (fileSize(blobPath) === size) return size;
    const parts = this.options.parts?.ledger.load(repo, etag);
    if (fileSize(blobPath + PARTS_PARTIAL) === size && validParts(parts, size)) return doneBytes(parts);
    return Math.min(fileSize(blobPath + STREAM_PARTIAL) ?? 0, size);
  }

  /** Deletes a blob's partial files and its parts' progress. */
  discardPartial(blobsDir: string, repo: string, etag: string): void {
    for (const name of BlobFetcher.partialNames(etag)) fs.rmSync(path.join(blobsDir, name), { force: true });
    this.options.parts?.ledger.clear(repo, etag);
  }

  /** Forgets the parts' progress of files that are no longer on disk (removed by hand or by `rm`). */
  pruneLedger(blobsDirOf: (repo: string) => string): void {
    const ledger = this.options.parts?.ledger;
    if (!ledger) return;
    for (const { repo, etag } of ledger.blobs()) {
      if (!fs.existsSync(path.join(blobsDirOf(repo), etag + PARTS_PARTIAL))) ledger.clear(repo, etag);
    }
  }

  /** Whether a file is fetched in parts; else in one stream into huggingface_hub's `.incomplete`. */
  private inParts(request: FetchBlobRequest, etag: string): boolean {
    if (!this.options.parts) return false;
    // A partial of one stream (ours, or huggingface_hub's) is continued as it was started.
    if ((fileSize(path.join(request.blobsDir, etag + STREAM_PARTIAL)) ?? 0) > 0) return false;
    return this.split(request.size).length > 1;
  }

  /** A file's parts with the configured count and smallest part. */
  private split(size: number): PartState[] {
    return splitParts(size, this.options.parts?.count ?? 8, this.options.parts?.minPartBytes ?? 32 * 1024 * 1024);
  }

  /** Downloads and verifies one blob; partial bytes stay on disk when it fails or is aborted. */
  async fetch(request: FetchBlobRequest): Promise<FetchBlobResult> {
    const maxAttempts = this.options.maxAttempts ?? 5;
    let etag = request.etag;
    let failures = 0;
    let integrityFailures = 0;
    let fetchedBytes = 0;
    let resumedFrom: number | undefined;
    // Cleared when the server answers a ranged request with the whole file.
    let ranges = true;
    for (;;) {
      request.signal.throwIfAborted();
      const blobPath = path.join(request.blobsDir, etag);
      if (fileSize(blobPath) === request.size) return { etag, blobPath, size: request.size, fetchedBytes, resumedFrom: resumedFrom ?? request.size, parts: 1 };
      const ledger = this.options.parts?.ledger;
      const parted = ranges && ledger !== undefined && this.inParts(request, etag);
      const partial = blobPath + (parted ? PARTS_PARTIAL : STREAM_PARTIAL);
      let parts: PartState[] = [];
      let have: number;
      if (parted) {
        parts = this.prepareParts(request, etag, partial, ledger);
        have = doneBytes(parts);
      } else {
        have = fileSize(partial) ?? 0;
        if (have > request.size) {
          fs.rmSync(partial, { force: true });
          have = 0;
        }
      }
      resumedFrom ??= have;
      const attemptState = { progressed: false };
      const onBytes = (n: number): void => {
        fetchedBytes += n;
        attemptState.progressed = true;
      };
      try {
        const outcome = parted ? await this.attemptParts(request, etag, partial, parts, ledger, onBytes) : await this.attempt(request, etag, partial, have, onBytes);
        if (outcome.kind === "etag") {
          this.log.info("etag differs from the tree; using the Hub's", { repo: request.repo, file: request.filePath, tree: etag, hub: outcome.etag });
          etag = outcome.etag;
          continue;
        }
        fs.renameSync(partial, blobPath);
        if (parted) ledger.clear(request.repo, etag);
        return { etag, blobPath, size: request.size, fetchedBytes, resumedFrom, parts: parted ? parts.length : 1 };
      } catch (error) {
        if (request.signal.aborted) throw request.signal.reason instanceof Error ? request.signal.reason : new Error("aborted");
        if (error instanceof NoRangesError) {
          this.log.info("the server does not serve ranges; fetching the file in one stream", { repo: request.repo, file: request.filePath });
          this.discardPartial(request.blobsDir, request.repo, etag);
          ranges = false;
          continue;
        }
        if (error instanceof IntegrityError) {
          this.discardPartial(request.blobsDir, request.repo, etag);
          integrityFailures++;
          this.log.warn("downloaded file failed its checksum", { repo: request.repo, file: request.filePath, attempt: integrityFailures });
          if (integrityFailures >= 2) {
            throw new HubError("integrity_failed", `${request.filePath} of ${request.repo} failed its checksum twice (${error.message}); the bad copy was deleted. Try again later; if it persists, the file on the Hub or a proxy in between is damaged.`, 502);
          }
          continue;
        }
        const failure = this.classify(error, request);
        if (!failure.transient) throw failure;
        failures = attemptState.progressed ? 1 : failures + 1;
        if (failures >= maxAttempts) throw failure;
        const wait = failure.retryAfterSec !== undefined ? failure.retryAfterSec * 1000 : (this.options.backoffMs ?? 500) * 2 ** (failures - 1) * (0.75 + Math.random() * 0.5);
        if (failure.retryAfterSec !== undefined && failure.retryAfterSec > (this.options.maxRetryAfterSec ?? 120)) throw failure;
        this.log.info("retrying a download", { repo: request.repo, file: request.filePath, attempt: failures, waitMs: Math.round(wait), reason: failure.message });
        await sleep(wait, request.signal);
      }
    }
  }

  /** The parts of a file from the ledger when its partial matches them; else a new, empty partial of the file's size and fresh parts. */
  private prepareParts(request: FetchBlobRequest, etag: string, partial: string, ledger: PartsLedger): PartState[] {
    const recorded = ledger.load(request.repo, etag);
    if (validParts(recorded, request.size) && fileSize(partial) === request.size) return recorded;
    const parts = this.split(request.size);
    fs.mkdirSync(path.dirname(partial), { recursive: true });
    // A sparse file of the final size: each part writes its range in place, no copy at the end.
    fs.writeFileSync(partial, "");
    fs.truncateSync(partial, request.size);
    ledger.save(request.repo, etag, parts);
    return parts;
  }

  private classify(error: unknown, request: FetchBlobRequest): HubError {
    if (error instanceof HubError) return error;
    const code = (error as { code?: string }).code;
    if (code === "ENOSPC" || code === "EDQUOT") {
      return new HubError("disk_full", `The disk is full: ${request.filePath} of ${request.repo} stopped; what was written is kept in the cache and resumes when you retry after freeing space.`, 507);
    }
    if (code === "EACCES" || code === "EROFS" || code === "EIO" || code === "EPERM") {
      return new HubError("download_failed", `Could not write to the cache (${code}) while fetching ${request.filePath}; check the cache folder's permissions and disk.`, 500);
    }
    return unreachableError(new URL(request.url).origin, error);
  }

  /** Checks what the Hub says of the file against what the download expects; returns the Hub's etag when it differs. */
  private checkHub(request: FetchBlobRequest, etag: string, hub: HubHeaders): string | undefined {
    if (hub.etag && hub.etag !== etag) return hub.etag;
    if (hub.size !== undefined && hub.size !== request.size) {
      throw new HubError("hub_error", `${request.filePath}: the Hub says ${hub.size} bytes, its file list said ${request.size}; the repo changed while downloading, start again.`, 502);
    }
    return undefined;
  }

  /** One request (following redirects) and one stream appended to the partial; resolves when the partial holds every byte and its hash matches. */
  private async attempt(request: FetchBlobRequest, etag: string, partial: string, have: number, onBytes: (n: number) => void): Promise<{ kind: "done" } | { kind: "etag"; etag: string }> {
    const { response, hub } = await this.open(request, have > 0 ? { start: have } : undefined, request.signal);
    try {
      const hubEtag = this.checkHub(request, etag, hub);
      if (hubEtag) return { kind: "etag", etag: hubEtag };
      let start = 0;
      if (response.statusCode === 206) {
        const match = /^bytes (\d+)-/.exec(response.headers["content-range"] ?? "");
        start = match ? Number(match[1]) : -1;
        if (start !== have) throw new HubError("hub_error", `The server resumed ${request.filePath} at ${start}, not at ${have}.`, 502, true);
      } else if (response.statusCode === 416) {
        // Everything is on disk already (a kill between the last byte and the rename).
        response.resume();
        start = have;
      } else if (have > 0) {
        // The server ignored Range: start over.
        fs.truncateSync(partial, 0);
      }
      const hash = hashFor(etag, request.size);
      if (hash && start > 0) await hashFile(partial, start, hash, request.signal);
      let written = start;
      request.onProgress(written);
      if (response.statusCode !== 416) {
        fs.mkdirSync(path.dirname(partial), { recursive: true });
        const out = await this.openFile(partial);
        const writer = new CoalescingWriter(out, start, (end) => {
          written = end;
          request.onProgress(end);
        });
        await receive(response, writer, (chunk) => {
          hash?.update(chunk);
          onBytes(chunk.length);
        }).finally(() => out.close().catch(() => undefined));
      }
      if (written !== request.size) truncatedError(request, written);
      if (hash) {
        const digest = hash.digest();
        if (digest !== etag) throw new IntegrityError(`expected ${etag.slice(0, 12)}…, got ${digest.slice(0, 12)}…`);
      }
      return { kind: "done" };
    } finally {
      if (!response.complete) response.destroy();
    }
  }

  /**
   * The unfinished parts of a file at once, each its own ranged request written in place; the
   * hash follows the bytes on disk from the start as parts fill in. One part failing stops the
   * others; each keeps what it wrote, and the ledger records it for the next attempt.
   */
  private async attemptParts(request: FetchBlobRequest, etag: string, partial: string, parts: PartState[], ledger: PartsLedger, onBytes: (n: number) => void): Promise<{ kind: "done" } | { kind: "etag"; etag: string }> {
    const batch = new AbortController();
    // Each part's requests (the Hub's redirect, then the CDN) listen to it: more than Node's default 10.
    setMaxListeners(4 * parts.length, batch.signal);
    const onAbort = (): void => { batch.abort(request.signal.reason); };
    request.signal.addEventListener("abort", onAbort, { once: true });
    const hasher = new FrontierHasher(partial, hashFor(etag, request.size), parts);
    const out = await this.openFile(partial);
    let lastSave = Date.now();
    const save = (): void => {
      lastSave = Date.now();
      ledger.save(request.repo, etag, parts);
    };
    const progress = (): void => {
      request.onProgress(doneBytes(parts));
      hasher.advance();
      if (Date.now() - lastSave >= LEDGER_INTERVAL_MS) save();
    };
    let firstError: Error | undefined;
    let hubEtag: string | undefined;
    try {
      progress();
      await Promise.all(
        parts
          .filter((p) => p.done < p.end - p.start)
          .map((part) =>
            this.fetchPart(request, etag, part, out, batch.signal, onBytes, progress).then(
              (changed) => {
                if (changed !== undefined && hubEtag === undefined) {
                  hubEtag = changed;
                  batch.abort(new Error("etag changed"));
                }
              },
              (error: unknown) => {
                firstError ??= asError(error);
                batch.abort(error);
              },
            ),
          ),
      );
    } finally {
      request.signal.removeEventListener("abort", onAbort);
      await out.close().catch(() => undefined);
      try {
        save();
      } catch (error) {
        // The store failed too (a full disk): the parts are fetched again from the last record.
        this.log.warn("could not record the parts' progress", { repo: request.repo, file: request.filePath, error: error instanceof Error ? error.message : String(error) });
      }
    }
    if (hubEtag !== undefined) {
      hasher.stop();
      return { kind: "etag", etag: hubEtag };
    }
    if (firstError !== undefined) {
      hasher.stop();
      throw firstError;
    }
    const digest = await hasher.finish(request.size, request.signal);
    if (digest !== undefined && digest !== etag) throw new IntegrityError(`expected ${etag.slice(0, 12)}…, got ${digest.slice(0, 12)}…`);
    return { kind: "done" };
  }

  /** Fetches the rest of one part into its range of the file; returns the Hub's etag when it differs from the one expected. */
  private async fetchPart(request: FetchBlobRequest, etag: string, part: PartState, out: BlobFile, signal: AbortSignal, onBytes: (n: number) => void, onWritten: () => void): Promise<string | undefined> {
    const start = part.start + part.done;
    const { response, hub } = await this.open(request, { start, end: part.end - 1 }, signal);
    try {
      const hubEtag = this.checkHub(request, etag, hub);
      if (hubEtag) return hubEtag;
      if (response.statusCode !== 206) throw new NoRangesError(`status ${response.statusCode}`);
      const match = /^bytes (\d+)-(\d+)\//.exec(response.headers["content-range"] ?? "");
      if (Number(match?.[1]) !== start || Number(match?.[2]) !== part.end - 1) {
        throw new HubError("hub_error", `The server sent bytes ${match ? `${match[1]}-${match[2]}` : "(no Content-Range)"} of ${request.filePath} for the range ${start}-${part.end - 1}.`, 502, true);
      }
      const writer = new CoalescingWriter(out, start, (end) => {
        part.done = end - part.start;
        onWritten();
      });
      await receive(response, writer, (chunk) => { onBytes(chunk.length); });
      if (part.start + part.done !== part.end) truncatedError(request, part.start + part.done);
      return undefined;
    } finally {
      if (!response.complete) response.destroy();
    }
  }

  /**
   * Asks the Hub for the file. An LFS file answers 302 to a CDN: the Hub's response carries the
   * metadata (X-Linked-Etag, X-Linked-Size, X-Repo-Commit); the CDN gets no Authorization header.
   * Every attempt starts at the Hub, so a resume gets a fresh signed URL.
   */
  private async open(request: FetchBlobRequest, range: { start: number; end?: number } | undefined, signal: AbortSignal): Promise<{ response: http.IncomingMessage; hub: HubHeaders }> {
    let url = new URL(request.url);
    const hubOrigin = url.origin;
    let hub: HubHeaders | undefined;
    for (let hop = 0; hop < 6; hop++) {
      const sendToken = request.token !== undefined && url.origin === hubOrigin;
      const headers: http.OutgoingHttpHeaders = {
        "user-agent": this.options.userAgent ?? "mlx-model-manager",
        "accept-encoding": "identity",
        ...(sendToken ? { authorization: `Bearer ${request.token}` } : {}),
        ...(range ? { range: `bytes=${range.start}-${range.end ?? ""}` } : {}),
      };
      const response = await get(url, headers, signal, this.options.idleTimeoutMs ?? 30_000);
      const status = response.statusCode ?? 0;
      if (url.origin === hubOrigin) {
        const linkedSize = response.headers["x-linked-size"];
        const contentLength = status === 200 ? response.headers["content-length"] : undefined;
        const sizeText = typeof linkedSize === "string" ? linkedSize : contentLength;
        hub = {
          etag: normalizeEtag(response.headers["x-linked-etag"]) ?? normalizeEtag(response.headers["etag"]),
          size: sizeText === undefined ? totalFromContentRange(response.headers["content-range"]) : Number(sizeText),
          commit: typeof response.headers["x-repo-commit"] === "string" ? response.headers["x-repo-commit"] : undefined,
        };
      }
      if (status >= 300 && status < 400 && response.headers.location) {
        response.resume();
        url = new URL(response.headers.location, url);
        continue;
      }
      if (status === 200 || status === 206 || (status === 416 && range !== undefined && range.end === undefined)) return { response, hub: hub ?? { etag: undefined, size: undefined, commit: undefined } };
      response.resume();
      const errorCode = response.headers["x-error-code"];
      if (url.origin !== hubOrigin && (status === 403 || status === 401 || status === 410)) {
        // A signed CDN URL that expired or was refused: a fresh one from the Hub fixes it.
        throw new HubError("hub_error", `The download host refused a signed URL (${status}); asking the Hub for a fresh one.`, 502, true);
      }
      throw hubHttpError({
        status,
        errorCode: typeof errorCode === "string" ? errorCode : undefined,
        retryAfter: typeof response.headers["retry-after"] === "string" ? response.headers["retry-after"] : undefined,
        repo: request.repo,
        path: request.filePath,
        endpoint: hubOrigin,
        hasToken: request.token !== undefined,
      });
    }
    throw new HubError("hub_error", `Too many redirects fetching ${request.filePath}.`, 502);
  }
}

/**
 * Streams a response into a writer with backpressure; every byte received is written (even when
 * the connection drops or the download is aborted) before it resolves or rejects.
 */
async function receive(response: http.IncomingMessage, writer: CoalescingWriter, onChunk: (chunk: Buffer) => void): Promise<void> {
  let failure: Error | undefined;
  try {
    for await (const chunk of response as AsyncIterable<Buffer>) {
      onChunk(chunk);
      writer.push(chunk);
      await writer.room(WRITE_BACKLOG);
    }
  } catch (error) {
    failure = asError(error);
  }
  try {
    await writer.settle();
  } catch (error) {
    // A write error (a full disk) is the cause of whatever the stream reported after it.
    failure = asError(error);
  }
  if (failure !== undefined) throw failure;
}

/**
 * Hashes a file fetched in parts in order, reading what is on disk from the start as far as the
 * parts are contiguous, while the later parts are still arriving.
 */
class FrontierHasher {
  private hashed = 0;
  private running: Promise<void> | undefined;
  private stopped = false;
  private failure: Error | undefined;
  private readonly buffer = Buffer.allocUnsafe(1024 * 1024);

  constructor(
    private readonly file: string,
    private readonly hash: StreamHash | undefined,
    private readonly parts: readonly PartState[],
  ) {}

  /** Reads on if more of the file is contiguous than is hashed. */
  advance(): void {
    if (!this.hash || this.running || this.stopped || this.failure !== undefined) return;
    if (contiguousEnd(this.parts) <= this.hashed) return;
    this.running = this.readOn().finally(() => {
      this.running = undefined;
    });
  }

  stop(): void {
    this.stopped = true;
  }

  /** Hashes the rest of the file and returns the digest (undefined for a file with no hash to check). */
  async finish(size: number, signal: AbortSignal): Promise<string | undefined> {
    if (!this.hash) return undefined;
    for (;;) {
      signal.throwIfAborted();
      if (this.failure !== undefined) throw this.failure;
      if (this.running) await this.running;
      else if (this.hashed < size) this.advance();
      else return this.hash.digest();
      if (!this.running && this.hashed < size && contiguousEnd(this.parts) <= this.hashed) throw new Error(`the parts of ${this.file} left a gap at byte ${this.hashed}`);
    }
  }

  private async readOn(): Promise<void> {
    const handle = await fs.promises.open(this.file, "r");
    try {
      for (let end = contiguousEnd(this.parts); this.hashed < end && !this.stopped; end = contiguousEnd(this.parts)) {
        const { bytesRead } = await handle.read(this.buffer, 0, Math.min(this.buffer.length, end - this.hashed), this.hashed);
        if (bytesRead === 0) throw new Error(`${this.file} ended at byte ${this.hashed}`);
        this.hash?.update(this.buffer.subarray(0, bytesRead));
        this.hashed += bytesRead;
      }
    } catch (error) {
      this.failure = asError(error);
    } finally {
      await handle.close();
    }
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

function truncatedError(request: FetchBlobRequest, written: number): never {
  const error = new Error(`the connection ended after ${written} of ${request.size} bytes`) as Error & { code: string };
  error.code = "ECONNRESET";
  throw error;
}

function totalFromContentRange(value: string | undefined): number | undefined {
  const match = /\/(\d+)$/.exec(value ?? "");
  return match ? Number(match[1]) : undefined;
}

function fileSize(file: string): number | undefined {
  try {
    return fs.statSync(file).size;
  } catch {
    return undefined;
  }
}

/** Feeds the first `length` bytes already on disk to the hash, so a resumed file is verified whole. */
async function hashFile(file: string, length: number, hash: StreamHash, signal: AbortSignal): Promise<void> {
  const stream = fs.createReadStream(file, { start: 0, end: length - 1, highWaterMark: 1024 * 1024, signal });
  for await (const chunk of stream) hash.update(chunk as Buffer);
}

function get(url: URL, headers: http.OutgoingHttpHeaders, signal: AbortSignal, idleTimeoutMs: number): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const secure = url.protocol === "https:";
    const request = (secure ? https : http).get(url, { headers, agent: secure ? agents.https : agents.http, signal }, resolve);
    request.setTimeout(idleTimeoutMs, () => request.destroy(Object.assign(new Error(`no data for ${idleTimeoutMs} ms`), { code: "ETIMEDOUT" })));
    request.on("error", reject);
  });
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason instanceof Error ? signal.reason : new Error("aborted"));
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
