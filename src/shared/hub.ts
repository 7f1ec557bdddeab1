import * as z from "zod";

/** `GET /api/hub/search` query. */
export const HubSearchQuery = z
  .object({
    q: z.string().max(200).default(""),
    /** mlx: every repo tagged mlx (not only mlx-community); gguf: tagged gguf; all: no filter. */
    format: z.enum(["mlx", "gguf", "all"]).default("mlx"),
    sort: z.enum(["downloads", "likes", "lastModified", "trendingScore"]).default("downloads"),
    limit: z.coerce.number().int().min(1).max(100).default(20),
    page: z.coerce.number().int().min(0).max(50).default(0),
  })
  .strict();
export type HubSearchQuery = z.infer<typeof HubSearchQuery>;

/** One search hit. `id` is the repo id (`org/name`), not the Hub's internal id. */
export interface HubSearchResult {
  id: string;
  downloads: number;
  likes: number;
  lastModified: string;
  pipelineTag?: string;
  gated: false | "auto" | "manual";
  private: boolean;
}

/** `GET /api/hub/search` answer. */
export interface HubSearchList {
  results: HubSearchResult[];
  page: number;
  /** Another page may follow. */
  hasMore: boolean;
  /** Answered from the short-lived search cache. */
  cached: boolean;
}

/** A file of a repo at a commit, as the Hub's tree lists it. */
export interface HubFile {
  path: string;
  size: number;
  /** The name huggingface_hub gives its blob: the sha256 for LFS files, the git blob sha1 otherwise. */
  etag: string;
  lfs: boolean;
}

/** `GET /api/hub/models/{repo}` answer. */
export interface HubModelInfo {
  id: string;
  /** The commit the requested revision points to. */
  commit: string;
  revision: string;
  downloads: number;
  likes: number;
  lastModified: string;
  pipelineTag?: string;
  libraryName?: string;
  tags: string[];
  gated: false | "auto" | "manual";
  private: boolean;
  /** The Hub's `usedStorage`: every file of every revision ("repo size"), not what a download fetches. */
  repoSize?: number;
  /** Sum of the files at this commit: what a download of the whole revision fetches. */
  downloadSize: number;
  files: HubFile[];
  /** The README's front matter (model card metadata). */
  cardData?: Record<string, unknown>;
  architecture?: string;
  modelType?: string;
  quantization?: { bits: number; groupSize?: number };
  /** Whether the cache holds this repo, and at which commits. */
  cached: { present: boolean; commits: string[]; complete: boolean };
}

const Glob = z.string().min(1).max(300);

/** `POST /api/downloads` body. */
export const DownloadRequest = z
  .object({
    repo: z.string().regex(/^[\w.-]+(\/[\w.-]+)?$/, "a repo id like org/name").max(200),
    revision: z.string().min(1).max(200).default("main"),
    include: z.array(Glob).max(50).optional(),
    exclude: z.array(Glob).max(50).optional(),
  })
  .strict();
export type DownloadRequest = z.input<typeof DownloadRequest>;

export const DownloadState = z.enum(["queued", "running", "cancelled", "failed", "completed"]);
export type DownloadState = z.infer<typeof DownloadState>;

/** Progress of one file of a download. */
export interface DownloadFileProgress {
  path: string;
  doneBytes: number;
  totalBytes: number;
}

/** A download job: one per repo and revision at a time. */
export interface Download {
  id: string;
  repo: string;
  revision: string;
  commit?: string;
  include?: string[];
  exclude?: string[];
  state: DownloadState;
  /** What went wrong, saying what to do (state failed). */
  error?: { code: string; message: string };
  doneBytes: number;
  totalBytes: number;
  filesDone: number;
  filesTotal: number;
  /** Bytes per second over the last few seconds. */
  speed: number;
  /** Seconds left at the current speed. */
  etaSeconds?: number;
  /** Files being fetched right now. */
  active: DownloadFileProgress[];
  createdAt: number;
  updatedAt: number;
}

/** `GET /api/downloads` answer. */
export interface DownloadList {
  downloads: Download[];
}

/** `POST /api/downloads` answer: the job, and whether the request joined one already running. */
export interface DownloadStarted {
  download: Download;
  joined: boolean;
}

/** `PUT /api/hub/token` body: kept in the manager's memory only. */
export const HubTokenBody = z.object({ token: z.string().min(1).max(500) }).strict();

/** `GET /api/hub/status` answer. */
export interface HubStatus {
  endpoint: string;
  offline: boolean;
  /** Where the token the manager would use comes from (never the token itself). */
  tokenSource: "api" | "env" | "file" | "none";
}
