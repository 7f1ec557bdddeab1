import fs from "node:fs";
import path from "node:path";
import { listFiles, listModels, modelInfo } from "@huggingface/hub";
import * as z from "zod";
import type { HubFile, HubModelInfo, HubSearchList, HubSearchQuery, HubSearchResult } from "../../shared/hub";
import { modelFolderName } from "../cache/cacheDir";
import type { Logger } from "../logging/Logger";
import { HubError, hubHttpError, offlineError, unreachableError } from "./HubError";

export interface HubClientOptions {
  endpoint: string;
  offline: boolean;
  /** The token to use when a call brings none of its own. */
  token: () => string | undefined;
  /** The Hugging Face cache, to tell whether a repo is already there. */
  cacheDir: string;
  logger: Logger;
  searchTtlMs?: number;
}

export interface CallOptions {
  signal?: AbortSignal | undefined;
  /** A token for this call only (e.g. the CLI's HF_TOKEN); else the client's. */
  token?: string | undefined;
}

/** A revision resolved to a commit, with the files it holds. */
export interface ResolvedRevision {
  commit: string;
  files: HubFile[];
}

const UsedStorage = z.object({ usedStorage: z.number().optional() }).loose();
const ConfigJson = z
  .object({
    model_type: z.string().optional(),
    architectures: z.array(z.string()).optional(),
    quantization: z.object({ bits: z.number(), group_size: z.number().optional() }).loose().optional(),
    quantization_config: z.object({ bits: z.number().optional(), group_size: z.number().optional() }).loose().optional(),
  })
  .loose();

const COMMIT = /^[0-9a-f]{40}$/;

/**
 * Search, details and file lists from the Hub through `@huggingface/hub`, pointed at `HF_ENDPOINT`;
 * with HF_HUB_OFFLINE set it refuses every call before touching the network.
 */
export class HubClient {
  private readonly searchCache = new Map<string, { at: number; value: HubSearchList }>();
  /** config.json files and GGUF headers by content etag: the same file never crosses the network twice. */
  private readonly byEtag = new Map<string, unknown>();
  private readonly log: Logger;

  constructor(private readonly options: HubClientOptions) {
    this.log = options.logger.child({ part: "hub" });
  }

  get endpoint(): string {
    return this.options.endpoint;
  }
  get offline(): boolean {
    return this.options.offline;
  }

  /** Searches model repos; answers repeated queries from a short-lived cache. */
  async search(query: HubSearchQuery, call: CallOptions = {}): Promise<HubSearchList> {
    this.assertOnline();
    const key = JSON.stringify(query);
    const hit = this.searchCache.get(key);
    const ttl = this.options.searchTtlMs ?? 60_000;
    if (hit && Date.now() - hit.at < ttl) return { ...hit.value, cached: true };
    const wanted = (query.page + 1) * query.limit;
    const results: HubSearchResult[] = [];
    await this.guard({ repo: "search" }, call, async (token, fetchFn) => {
      // The Hub pages with a cursor (Link header); the library asks for up to 500 in one request,
      // so asking for pages × limit and skipping the earlier pages is one request too.
      const tags = query.format === "all" ? [] : [query.format];
      let index = 0;
      for await (const model of listModels({
        search: { ...(query.q.trim() === "" ? {} : { query: query.q.trim() }), ...(tags.length > 0 ? { tags } : {}) },
        sort: query.sort,
        limit: wanted + 1,
        hubUrl: this.options.endpoint,
        fetch: fetchFn,
        ...(token ? { accessToken: token } : {}),
      })) {
        if (index >= query.page * query.limit) {
          results.push({
            id: model.name,
            downloads: model.downloads,
            likes: model.likes,
            lastModified: Number.isNaN(model.updatedAt.getTime()) ? "" : model.updatedAt.toISOString(),
            ...(model.task ? { pipelineTag: model.task } : {}),
            gated: model.gated,
            private: model.private,
          });
        }
        index++;
      }
    });
    const value: HubSearchList = { results: results.slice(0, query.limit), page: query.page, hasMore: results.length > query.limit, cached: false };
    this.searchCache.set(key, { at: Date.now(), value });
    if (this.searchCache.size > 200) this.searchCache.delete(this.searchCache.keys().next().value ?? "");
    return value;
  }

  /** The commit a revision points to and its files (recursive tree, LFS sizes and oids). */
  async resolveRevision(repo: string, revision: string, call: CallOptions = {}): Promise<ResolvedRevision> {
    this.assertOnline();
    return this.guard({ repo, revision }, call, async (token, fetchFn) => {
      const credentials = token ? { accessToken: token } : {};
      const info = await modelInfo({ name: repo, revision, additionalFields: ["sha"], hubUrl: this.options.endpoint, fetch: fetchFn, ...credentials });
      const commit = info.sha;
      if (typeof commit !== "string" || !COMMIT.test(commit)) throw new HubError("hub_error", `The Hub gave no commit for ${repo}@${revision}.`, 502);
      const files: HubFile[] = [];
      for await (const entry of listFiles({ repo: { type: "model", name: repo }, revision: commit, recursive: true, hubUrl: this.options.endpoint, fetch: fetchFn, ...credentials })) {
        if (entry.type !== "file") continue;
        const etag = entry.lfs?.oid ?? entry.oid;
        if (!etag) continue;
        files.push({ path: entry.path, size: entry.lfs?.size ?? entry.size, etag, lfs: entry.lfs !== undefined });
      }
      return { commit, files };
    });
  }

  /** Details of a repo: card metadata, config, files with sizes, repo size, and what the cache holds. */
  async info(repo: string, revision = "main", call: CallOptions = {}): Promise<HubModelInfo> {
    this.assertOnline();
    return this.guard({ repo, revision }, call, async (token, fetchFn) => {
      const credentials = token ? { accessToken: token } : {};
      const [info, resolved, usedStorage] = await Promise.all([
        modelInfo({ name: repo, revision, additionalFields: ["sha", "cardData", "tags", "library_name"], hubUrl: this.options.endpoint, fetch: fetchFn, ...credentials }),
        this.resolveRevision(repo, revision, call),
        this.usedStorage(repo, token, fetchFn),
      ]);
      const configFile = resolved.files.find((f) => f.path === "config.json");
      const parsedConfig = configFile === undefined ? undefined : ConfigJson.safeParse(await this.rawConfig(repo, resolved.commit, configFile, call));
      const config = parsedConfig?.success === true ? parsedConfig.data : undefined;
      const quant = config?.quantization ?? config?.quantization_config;
      const cardData = info.cardData as Record<string, unknown> | undefined;
      return {
        id: info.name,
        commit: resolved.commit,
        revision,
        downloads: info.downloads,
        likes: info.likes,
        lastModified: Number.isNaN(info.updatedAt.getTime()) ? "" : info.updatedAt.toISOString(),
        ...(info.task ? { pipelineTag: info.task } : {}),
        ...(typeof info.library_name === "string" ? { libraryName: info.library_name } : {}),
        tags: Array.isArray(info.tags) ? info.tags : [],
        gated: info.gated,
        private: info.private,
        ...(usedStorage === undefined ? {} : { repoSize: usedStorage }),
        downloadSize: resolved.files.reduce((sum, f) => sum + f.size, 0),
        files: resolved.files,
        ...(cardData ? { cardData } : {}),
        ...(config?.architectures?.[0] ? { architecture: config.architectures[0] } : {}),
        ...(config?.model_type ? { modelType: config.model_type } : {}),
        ...(quant?.bits === undefined ? {} : { quantization: { bits: quant.bits, ...(quant.group_size === undefined ? {} : { groupSize: quant.group_size }) } }),
        cached: this.cachedState(repo, resolved),
      };
    });
  }

  /** A repo's config.json as JSON, read once per content etag; undefined when it is not JSON. */
  async rawConfig(repo: string, commit: string, file: HubFile, call: CallOptions = {}): Promise<unknown> {
    const key = `config:${file.etag}`;
    if (this.byEtag.has(key)) return this.byEtag.get(key);
    this.assertOnline();
    const value = await this.guard<unknown>({ repo, revision: commit }, call, async (token, fetchFn) => {
      const response = await fetchFn(this.resolveUrl(repo, commit, file.path), { headers: token ? { authorization: `Bearer ${token}` } : {} });
      if (!response.ok) return undefined;
      return response.json().catch(() => undefined);
    });
    this.remember(key, value);
    return value;
  }

  /**
   * Whatever `parse` makes of the start of a file (a GGUF header), reading `length` bytes by HTTP
   * range and more when `parse` asks for it; kept per content etag. A redirect to another host
   * (the CDN) is followed without the Hub token.
   */
  async readStart<T>(repo: string, commit: string, file: HubFile, parse: (read: (length: number) => Promise<Buffer>) => Promise<T>, call: CallOptions = {}): Promise<T> {
    const key = `start:${file.etag}`;
    if (this.byEtag.has(key)) return this.byEtag.get(key) as T;
    this.assertOnline();
    const value = await this.guard({ repo, revision: commit }, call, async (token, fetchFn) =>
      parse(async (length) => {
        let url = this.resolveUrl(repo, commit, file.path);
        let sendToken = token !== undefined;
        for (let hop = 0; hop < 5; hop++) {
          const response = await fetchFn(url, { redirect: "manual", headers: { range: `bytes=0-${length - 1}`, ...(sendToken && token ? { authorization: `Bearer ${token}` } : {}) } });
          const location = response.headers.get("location");
          if (response.status >= 300 && response.status < 400 && location !== null) {
            const next = new URL(location, url);
            if (next.host !== new URL(url).host) sendToken = false;
            url = next.href;
            continue;
          }
          if (!response.ok) throw new HubError("hub_error", `Reading the start of ${file.path} from the Hub answered ${response.status}.`, 502);
          return Buffer.from(await response.arrayBuffer());
        }
        throw new HubError("hub_error", `Too many redirects reading ${file.path}.`, 502);
      }),
    );
    this.remember(key, value);
    return value;
  }

  private remember(key: string, value: unknown): void {
    this.byEtag.set(key, value);
    if (this.byEtag.size > 100) this.byEtag.delete(this.byEtag.keys().next().value ?? "");
  }

  /** The URL huggingface_hub downloads a file from. */
  resolveUrl(repo: string, commit: string, filePath: string): string {
    return `${this.options.endpoint}/${repo}/resolve/${encodeURIComponent(commit)}/${filePath.split("/").map(encodeURIComponent).join("/")}`;
  }

  /** The token a call uses. */
  tokenFor(call: CallOptions): string | undefined {
    return call.token ?? this.options.token();
  }

  private assertOnline(): void {
    if (this.options.offline) throw offlineError();
  }

  /** The Hub's `usedStorage` (every revision's files): the library does not expose it. */
  private async usedStorage(repo: string, token: string | undefined, fetchFn: typeof fetch): Promise<number | undefined> {
    const response = await fetchFn(`${this.options.endpoint}/api/models/${repo}?expand[]=usedStorage`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    if (!response.ok) return undefined;
    const parsed = UsedStorage.safeParse(await response.json().catch(() => undefined));
    return parsed.success ? parsed.data.usedStorage : undefined;
  }

  private cachedState(repo: string, resolved: ResolvedRevision): HubModelInfo["cached"] {
    const snapshots = path.join(this.options.cacheDir, modelFolderName(repo), "snapshots");
    let commits: string[] = [];
    try {
      commits = fs.readdirSync(snapshots).filter((name) => COMMIT.test(name));
    } catch {
      return { present: false, commits: [], complete: false };
    }
    const complete = commits.includes(resolved.commit) && resolved.files.every((f) => fs.existsSync(path.join(snapshots, resolved.commit, f.path)));
    return { present: commits.length > 0, commits, complete };
  }

  /**
   * Runs library calls with the call's signal wired into their fetch, and turns their errors
   * (HubApiError with a status, network failures) into HubErrors that say what to do.
   */
  private async guard<T>(target: { repo: string; revision?: string }, call: CallOptions, run: (token: string | undefined, fetchFn: typeof fetch) => Promise<T>): Promise<T> {
    const token = this.tokenFor(call);
    const signal = call.signal;
    let lastHeaders: Headers | undefined;
    const fetchFn: typeof fetch = async (input, init) => {
      const response = await fetch(input, { ...init, ...(signal ? { signal } : {}) });
      lastHeaders = response.headers;
      return response;
    };
    try {
      return await run(token, fetchFn);
    } catch (error) {
      if (error instanceof HubError) throw error;
      if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new Error("aborted");
      const status = (error as { statusCode?: unknown }).statusCode;
      if (typeof status === "number") {
        this.log.info("hub call failed", { repo: target.repo, status });
        throw hubHttpError({
          status,
          errorCode: lastHeaders?.get("x-error-code") ?? undefined,
          retryAfter: lastHeaders?.get("retry-after"),
          repo: target.repo,
          revision: target.revision,
          endpoint: this.options.endpoint,
          hasToken: token !== undefined,
        });
      }
      throw unreachableError(this.options.endpoint, error);
    }
  }
}
