import fs from "node:fs";
import http from "node:http";
import https from "node:https";
import path from "node:path";
import type { Writable } from "node:stream";
import type { Logger } from "../logging/Logger";
import { HubError, hubHttpError, unreachableError } from "./HubError";
import { hashFor, type StreamHash } from "./streamHash";

/** Where bytes go; tests inject one that fails like a full disk. */
export type SinkFactory = (file: string) => Writable;

// A small write buffer: what a killed process still buffers is lost, and must be fetched again.
export const fileSink: SinkFactory = (file) => fs.createWriteStream(file, { flags: "a", highWaterMark: 256 * 1024 });

export interface BlobFetcherOptions {
  logger: Logger;
  userAgent?: string;
  createSink?: SinkFactory;
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
  /** Bytes of this file on disk so far (absolute), as they land. */
  onProgress(bytesOnDisk: number): void;
}

export interface FetchBlobResult {
  etag: string;
  blobPath: string;
  size: number;
  /** Bytes received over the network (a resumed file fetches only the rest). */
  fetchedBytes: number;
  resumedFrom: number;
}

interface HubHeaders {
  etag: string | undefined;
  size: number | undefined;
  commit: string | undefined;
}

class IntegrityError extends Error {}

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
  private readonly createSink: SinkFactory;
  private readonly log: Logger;

  constructor(private readonly options: BlobFetcherOptions) {
    this.createSink = options.createSink ?? fileSink;
    this.log = options.logger.child({ part: "fetch" });
  }

  /** Downloads and verifies one blob; partial bytes stay on disk when it fails or is aborted. */
  async fetch(request: FetchBlobRequest): Promise<FetchBlobResult> {
    const maxAttempts = this.options.maxAttempts ?? 5;
    let etag = request.etag;
    let failures = 0;
    let integrityFailures = 0;
    let fetchedBytes = 0;
    let resumedFrom: number | undefined;
    for (;;) {
      request.signal.throwIfAborted();
      const blobPath = path.join(request.blobsDir, etag);
      if (fileSize(blobPath) === request.size) return { etag, blobPath, size: request.size, fetchedBytes, resumedFrom: resumedFrom ?? request.size };
      const partial = `${blobPath}.incomplete`;
      let have = fileSize(partial) ?? 0;
      if (have > request.size) {
        fs.rmSync(partial, { force: true });
        have = 0;
      }
      resumedFrom ??= have;
      const attemptState = { progressed: false };
      try {
        const outcome = await this.attempt(request, etag, partial, have, (n) => {
          fetchedBytes += n;
          attemptState.progressed = true;
        });
        if (outcome.kind === "etag") {
          this.log.info("etag differs from the tree; using the Hub's", { repo: request.repo, file: request.filePath, tree: etag, hub: outcome.etag });
          etag = outcome.etag;
          continue;
        }
        fs.renameSync(partial, blobPath);
        return { etag, blobPath, size: request.size, fetchedBytes, resumedFrom };
      } catch (error) {
        if (request.signal.aborted) throw request.signal.reason instanceof Error ? request.signal.reason : new Error("aborted");
        if (error instanceof IntegrityError) {
          fs.rmSync(partial, { force: true });
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

  /** One request (following redirects) and one streamed write; resolves when the partial holds every byte and its hash matches. */
  private async attempt(request: FetchBlobRequest, etag: string, partial: string, have: number, onBytes: (n: number) => void): Promise<{ kind: "done" } | { kind: "etag"; etag: string }> {
    const { response, hub } = await this.open(request, have);
    try {
      const hubEtag = hub.etag;
      if (hubEtag && hubEtag !== etag) return { kind: "etag", etag: hubEtag };
      if (hub.size !== undefined && hub.size !== request.size) {
        throw new HubError("hub_error", `${request.filePath}: the Hub says ${hub.size} bytes, its file list said ${request.size}; the repo changed while downloading, start again.`, 502);
      }
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
        // Not pipeline(): on a dropped connection or an abort it would destroy the sink and lose
        // what it still buffers; here the sink is always ended, so every received byte lands.
        const sink = this.createSink(partial);
        let sinkError: Error | undefined;
        sink.on("error", (error) => (sinkError ??= error));
        try {
          for await (const chunk of response as AsyncIterable<Buffer>) {
            if (sinkError) throw sinkError;
            hash?.update(chunk);
            written += chunk.length;
            onBytes(chunk.length);
            request.onProgress(written);
            if (!sink.write(chunk)) await drained(sink);
          }
        } finally {
          await endSink(sink);
        }
        if (sinkError) throw sinkError;
      }
      if (written !== request.size) truncatedError(request, written);
      request.onProgress(written);
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
   * Asks the Hub for the file. An LFS file answers 302 to a CDN: the Hub's response carries the
   * metadata (X-Linked-Etag, X-Linked-Size, X-Repo-Commit); the CDN gets no Authorization header.
   * Every attempt starts at the Hub, so a resume gets a fresh signed URL.
   */
  private async open(request: FetchBlobRequest, have: number): Promise<{ response: http.IncomingMessage; hub: HubHeaders }> {
    let url = new URL(request.url);
    const hubOrigin = url.origin;
    let hub: HubHeaders | undefined;
    for (let hop = 0; hop < 6; hop++) {
      const sendToken = request.token !== undefined && url.origin === hubOrigin;
      const headers: http.OutgoingHttpHeaders = {
        "user-agent": this.options.userAgent ?? "mlx-model-manager",
        "accept-encoding": "identity",
        ...(sendToken ? { authorization: `Bearer ${request.token}` } : {}),
        ...(have > 0 ? { range: `bytes=${have}-` } : {}),
      };
      const response = await get(url, headers, request.signal, this.options.idleTimeoutMs ?? 30_000);
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
      if (status === 200 || status === 206 || (status === 416 && have > 0)) return { response, hub: hub ?? { etag: undefined, size: undefined, commit: undefined } };
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

/** Resolves when the sink can take more, or has failed (the caller checks the error). */
function drained(sink: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      sink.off("drain", done);
      sink.off("error", done);
      sink.off("close", done);
      resolve();
    };
    sink.on("drain", done);
    sink.on("error", done);
    sink.on("close", done);
  });
}

/** Flushes and closes the sink; never throws (its error was recorded by the caller). */
function endSink(sink: Writable): Promise<void> {
  return new Promise((resolve) => {
    if (sink.destroyed || sink.writableFinished) {
      resolve();
      return;
    }
    sink.once("close", () => { resolve(); });
    sink.once("error", () => { resolve(); });
    sink.end();
  });
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
