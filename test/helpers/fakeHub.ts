// A small Hugging Face Hub of our own, over real HTTP, answering the routes the Hub answers
// (shapes recorded from the real one) so the hub client and downloader are tested against the
// real protocol: search with Link paging, model info (+ expand[]=usedStorage), tree, paths-info,
// and resolve with ETag / X-Repo-Commit / Content-Length / Range. Like the real Hub, an LFS file
// answers resolve with a 302 to a separate "CDN" listener whose signed URLs expire, and carries
// its sha256 and size in X-Linked-Etag / X-Linked-Size (its ETag is the pointer file's sha1).
// The CDN refuses an Authorization header. Switches make it fail like the internet does.
import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { Readable } from "node:stream";
import { gitBlobSha1, sha256Hex } from "./hfCache";

/**
 * A file's bytes, a file on disk, or only a declared size (zeros when fetched; its etag a hash of the
 * size and path): a model of many GB that a test lists but never downloads.
 */
export type FakeContent = Uint8Array | { file: string } | { declaredSize: number };

export interface FakeRepo {
  id: string;
  /** Defaults to a commit derived from the id. */
  commit?: string;
  files: Record<string, FakeContent>;
  downloads?: number;
  likes?: number;
  tags?: string[];
  pipelineTag?: string;
  libraryName?: string;
  lastModified?: string;
  cardData?: Record<string, unknown>;
  gated?: false | "auto" | "manual";
  private?: boolean;
  /** `usedStorage`: every revision's files; defaults to twice the current files. */
  usedStorage?: number;
}

export interface FakeFile {
  repo: string;
  path: string;
  size: number;
  lfs: boolean;
  /** sha256 (LFS) or git blob sha1: the blob name huggingface_hub uses. */
  etag: string;
  /** sha1 of the LFS pointer file: the tree's `oid` and the resolve ETag of an LFS file. */
  pointerOid: string;
  content: FakeContent;
}

export interface FakeHubSwitches {
  /** Close the connection after this many body bytes of the named file (`times` times). */
  drop?: { path: string; afterBytes: number; times: number };
  /** Flip one byte of the named file in the next `times` responses. */
  corrupt?: { path: string; times: number };
  /** Answer resolve with 429 this many times. */
  rateLimit?: { times: number; retryAfterSec: number };
  /** Throttle every file body to this rate. */
  bytesPerSecond?: number;
  /** Answer every Hub API route this much later (a slow search). */
  apiDelayMs?: number;
  /** Ignore Range headers and send whole files with 200, like a server that cannot serve ranges. */
  ignoreRange?: boolean;
}

export interface FakeHubRequest {
  host: "hub" | "cdn";
  method: string;
  url: string;
  range?: string;
  authorization?: string;
}

export interface FakeHub {
  url: string;
  cdnUrl: string;
  switches: FakeHubSwitches;
  requests: FakeHubRequest[];
  /** Body bytes sent per `repo/path` (both hosts). */
  served: Map<string, number>;
  /** The token that opens gated and private repos. */
  token: string;
  repo(id: string): { commit: string; files: FakeFile[] };
  close(): Promise<void>;
}

export interface FakeHubOptions {
  repos: FakeRepo[];
  token?: string;
  /** Results per search/tree page before a Link header points to the next (default 1000). */
  pageSize?: number;
  /** How long a CDN URL stays valid (default 60 s). */
  urlTtlMs?: number;
}

const LFS_EXT = new Set([".safetensors", ".gguf", ".bin", ".pt", ".pth", ".onnx", ".npz", ".h5", ".msgpack"]);

async function hashContent(content: FakeContent, algo: "sha256" | "sha1", prefix?: string): Promise<string> {
  if ("declaredSize" in content) return crypto.createHash(algo).update(`${prefix ?? ""}declared:${content.declaredSize}:${Math.random()}`).digest("hex");
  const hash = crypto.createHash(algo);
  if (prefix) hash.update(prefix);
  if (content instanceof Uint8Array) return hash.update(content).digest("hex");
  for await (const chunk of fs.createReadStream(content.file, { highWaterMark: 4 * 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

function sizeOf(content: FakeContent): number {
  if (content instanceof Uint8Array) return content.byteLength;
  return "declaredSize" in content ? content.declaredSize : fs.statSync(content.file).size;
}

/** Starts the Hub and its CDN on two loopback ports. */
export async function startFakeHub(options: FakeHubOptions): Promise<FakeHub> {
  const token = options.token ?? "hf_test_token_0123456789";
  const pageSize = options.pageSize ?? 1000;
  const ttl = options.urlTtlMs ?? 60_000;
  const secret = crypto.randomBytes(16).toString("hex");
  const repos = new Map<string, { meta: FakeRepo; commit: string; files: FakeFile[] }>();
  const byEtag = new Map<string, FakeFile>();
  for (const meta of options.repos) {
    const files: FakeFile[] = [];
    for (const [filePath, content] of Object.entries(meta.files)) {
      const size = sizeOf(content);
      const lfs = LFS_EXT.has(path.extname(filePath)) || size >= 10 * 1024 * 1024;
      const etag = lfs ? await hashContent(content, "sha256") : content instanceof Uint8Array ? gitBlobSha1(content) : await hashContent(content, "sha1", `blob ${size}\0`);
      const pointer = `version https://git-lfs.github.com/spec/v1\noid sha256:${etag}\nsize ${size}\n`;
      const file: FakeFile = { repo: meta.id, path: filePath, size, lfs, etag, pointerOid: gitBlobSha1(Buffer.from(pointer)), content };
      files.push(file);
      byEtag.set(etag, file);
    }
    const commit = meta.commit ?? crypto.createHash("sha1").update(`commit:${meta.id}`).digest("hex");
    repos.set(meta.id, { meta, commit, files });
  }
  const switches: FakeHubSwitches = {};
  const requests: FakeHubRequest[] = [];
  const served = new Map<string, number>();

  const json = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
    const text = JSON.stringify(body);
    res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text), ...headers });
    res.end(text);
  };
  const fail = (res: http.ServerResponse, status: number, code: string | undefined, message: string): void => {
    json(res, status, { error: message }, code ? { "x-error-code": code, "x-error-message": message } : {});
  };
  const authorized = (req: http.IncomingMessage): boolean => req.headers.authorization === `Bearer ${token}`;
  /** Private repos look missing without the token, as on the real Hub. */
  const findRepo = (req: http.IncomingMessage, res: http.ServerResponse, id: string): { meta: FakeRepo; commit: string; files: FakeFile[] } | undefined => {
    const repo = repos.get(id);
    if (!repo || (repo.meta.private && !authorized(req))) {
      fail(res, 401, "RepoNotFound", "Repository not found");
      return undefined;
    }
    return repo;
  };
  const revisionOk = (repo: { commit: string }, rev: string): boolean => rev === "main" || rev === "HEAD" || rev === repo.commit;

  const modelJson = (repo: { meta: FakeRepo; commit: string; files: FakeFile[] }, full: boolean): Record<string, unknown> => ({
    _id: crypto.createHash("md5").update(repo.meta.id).digest("hex").slice(0, 24),
    id: repo.meta.id,
    modelId: repo.meta.id,
    likes: repo.meta.likes ?? 0,
    downloads: repo.meta.downloads ?? 0,
    private: repo.meta.private ?? false,
    gated: repo.meta.gated ?? false,
    pipeline_tag: repo.meta.pipelineTag ?? "text-generation",
    tags: repo.meta.tags ?? [],
    library_name: repo.meta.libraryName,
    lastModified: repo.meta.lastModified ?? "2025-01-01T00:00:00.000Z",
    createdAt: "2024-06-01T00:00:00.000Z",
    ...(full ? { sha: repo.commit, cardData: repo.meta.cardData, siblings: repo.files.map((f) => ({ rfilename: f.path })) } : {}),
  });

  const page = (req: http.IncomingMessage, res: http.ServerResponse, items: unknown[], limit: number): void => {
    const url = new URL(req.url ?? "/", "http://x");
    const cursor = Number(url.searchParams.get("cursor") ?? "0");
    const size = Math.min(limit, pageSize);
    const slice = items.slice(cursor, cursor + size);
    const headers: Record<string, string> = {};
    if (cursor + size < items.length && cursor + size < limit) {
      url.searchParams.set("cursor", String(cursor + size));
      headers["link"] = `<${hubUrl}${url.pathname}?${url.searchParams.toString()}>; rel="next"`;
    }
    json(res, 200, slice, headers);
  };

  /** Streams [start, end] of a file with the switches applied, counting what is sent. */
  const sendBody = async (res: http.ServerResponse, file: FakeFile, start: number, end: number): Promise<void> => {
    const content = file.content;
    const source =
      content instanceof Uint8Array
        ? Readable.from(chunks(Buffer.from(content.buffer, content.byteOffset, content.byteLength).subarray(start, end + 1)))
        : "declaredSize" in content
          ? Readable.from(chunks(Buffer.alloc(Math.min(end - start + 1, 64 * 1024 * 1024))))
          : fs.createReadStream(content.file, { start, end, highWaterMark: 1024 * 1024 });
    const drop = switches.drop?.path === file.path && switches.drop.times > 0 ? switches.drop : undefined;
    if (drop) drop.times--;
    const corrupt = switches.corrupt?.path === file.path && switches.corrupt.times > 0 ? switches.corrupt : undefined;
    if (corrupt) corrupt.times--;
    const rate = switches.bytesPerSecond;
    let sent = 0;
    let corrupted = false;
    const began = Date.now();
    // Bytes count as served once the kernel took them (the write callback), so a client that
    // died does not inflate the count with writes that never left this process.
    const write = (chunk: Buffer): Promise<boolean> =>
      new Promise((resolve) => {
        res.write(chunk, (error) => {
          if (!error) served.set(`${file.repo}/${file.path}`, (served.get(`${file.repo}/${file.path}`) ?? 0) + chunk.length);
          resolve(!error);
        });
      });
    try {
      for await (const raw of source as AsyncIterable<Buffer>) {
        if (res.destroyed) break;
        let out = raw;
        if (corrupt && !corrupted) {
          out = Buffer.from(raw);
          out[0] = (out[0] ?? 0) ^ 0xff;
          corrupted = true;
        }
        if (drop && sent + out.length >= drop.afterBytes) {
          await write(out.subarray(0, Math.max(0, drop.afterBytes - sent)));
          res.socket?.destroy();
          return;
        }
        sent += out.length;
        if (rate) {
          const due = began + (sent / rate) * 1000;
          await new Promise((r) => setTimeout(r, Math.max(0, due - Date.now())));
        }
        if (!(await write(out))) return;
      }
      res.end();
    } catch {
      // The client went away.
      res.destroy();
    }
  };

  const serveFile = (req: http.IncomingMessage, res: http.ServerResponse, file: FakeFile, headers: Record<string, string>): void => {
    const range = switches.ignoreRange ? null : /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? "");
    let start = 0;
    let end = file.size - 1;
    if (range) {
      start = Number(range[1]);
      if (range[2]) end = Math.min(end, Number(range[2]));
      if (start >= file.size) {
        res.writeHead(416, { "content-range": `bytes */${file.size}`, ...headers });
        res.end();
        return;
      }
    }
    res.writeHead(range ? 206 : 200, {
      "content-type": "application/octet-stream",
      "content-length": String(end - start + 1),
      "accept-ranges": "bytes",
      ...(range ? { "content-range": `bytes ${start}-${end}/${file.size}` } : {}),
      ...headers,
    });
    if (req.method === "HEAD") {
      res.end();
      return;
    }
    void sendBody(res, file, start, end);
  };

  const sign = (etag: string, expires: number): string => crypto.createHmac("sha256", secret).update(`${etag}:${expires}`).digest("hex").slice(0, 32);

  const hub = http.createServer((req, res) => {
    if (switches.apiDelayMs && req.url?.startsWith("/api/")) setTimeout(() => { handleHub(req, res); }, switches.apiDelayMs);
    else handleHub(req, res);
  });
  const handleHub = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const url = new URL(req.url ?? "/", "http://x");
    requests.push({ host: "hub", method: req.method ?? "GET", url: req.url ?? "/", ...(req.headers.range ? { range: req.headers.range } : {}), ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}) });
    const p = decodeURIComponent(url.pathname);
    let m: RegExpExecArray | null;
    if (p === "/api/models" && req.method === "GET") {
      const search = url.searchParams.get("search")?.toLowerCase();
      const filters = url.searchParams.getAll("filter");
      const sort = url.searchParams.get("sort") ?? "trendingScore";
      const limit = Number(url.searchParams.get("limit") ?? "1000");
      const found = [...repos.values()]
        .filter((r) => !r.meta.private || authorized(req))
        .filter((r) => !search || r.meta.id.toLowerCase().includes(search))
        .filter((r) => filters.every((f) => (r.meta.tags ?? []).includes(f) || r.meta.libraryName === f))
        .sort((a, b) => {
          if (sort === "likes") return (b.meta.likes ?? 0) - (a.meta.likes ?? 0);
          if (sort === "lastModified") return (b.meta.lastModified ?? "").localeCompare(a.meta.lastModified ?? "");
          return (b.meta.downloads ?? 0) - (a.meta.downloads ?? 0);
        })
        .map((r) => modelJson(r, false));
      page(req, res, found, limit);
      return;
    }
    if ((m = /^\/api\/models\/([^/]+\/[^/]+)\/revision\/(.+)$/.exec(p)) && req.method === "GET") {
      const repo = findRepo(req, res, m[1] ?? "");
      if (!repo) return;
      if (!revisionOk(repo, m[2] ?? "")) { fail(res, 404, "RevisionNotFound", `Invalid rev id: ${m[2] ?? ""}`); return; }
      json(res, 200, modelJson(repo, true)); return;
    }
    if ((m = /^\/api\/models\/([^/]+\/[^/]+)\/tree\/([^/]+)(\/.*)?$/.exec(p)) && req.method === "GET") {
      const repo = findRepo(req, res, m[1] ?? "");
      if (!repo) return;
      if (!revisionOk(repo, m[2] ?? "")) { fail(res, 404, "RevisionNotFound", `Invalid rev id: ${m[2] ?? ""}`); return; }
      const recursive = url.searchParams.get("recursive") === "true";
      const dirs = new Set<string>();
      const entries: Record<string, unknown>[] = [];
      for (const f of repo.files) {
        const parts = f.path.split("/");
        if (!recursive && parts.length > 1) {
          const dir = parts[0] ?? "";
          if (!dirs.has(dir)) entries.push({ type: "directory", oid: crypto.createHash("sha1").update(dir).digest("hex"), size: 0, path: dir });
          dirs.add(dir);
          continue;
        }
        for (let i = 1; i < parts.length; i++) {
          const dir = parts.slice(0, i).join("/");
          if (!dirs.has(dir)) entries.push({ type: "directory", oid: crypto.createHash("sha1").update(dir).digest("hex"), size: 0, path: dir });
          dirs.add(dir);
        }
        entries.push(treeEntry(f));
      }
      page(req, res, entries, Number.POSITIVE_INFINITY);
      return;
    }
    if ((m = /^\/api\/models\/([^/]+\/[^/]+)\/paths-info\/(.+)$/.exec(p)) && req.method === "POST") {
      let body = "";
      req.on("data", (d: Buffer) => (body += d.toString()));
      req.on("end", () => {
        const repo = findRepo(req, res, m?.[1] ?? "");
        if (!repo) return;
        const paths = (JSON.parse(body) as { paths?: string[] }).paths ?? [];
        json(res, 200, repo.files.filter((f) => paths.includes(f.path)).map(treeEntry));
      });
      return;
    }
    if ((m = /^\/api\/models\/([^/]+\/[^/]+)$/.exec(p)) && req.method === "GET") {
      const repo = findRepo(req, res, m[1] ?? "");
      if (!repo) return;
      const expand = url.searchParams.getAll("expand[]");
      const current = repo.files.reduce((s, f) => s + f.size, 0);
      json(res, 200, expand.includes("usedStorage") ? { _id: modelJson(repo, false)["_id"], id: repo.meta.id, usedStorage: repo.meta.usedStorage ?? current * 2 } : modelJson(repo, true)); return;
    }
    if ((m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(p)) && (req.method === "GET" || req.method === "HEAD")) {
      const repo = findRepo(req, res, m[1] ?? "");
      if (!repo) return;
      if (!revisionOk(repo, m[2] ?? "")) { fail(res, 404, "RevisionNotFound", `Invalid rev id: ${m[2] ?? ""}`); return; }
      if (switches.rateLimit && switches.rateLimit.times > 0) {
        switches.rateLimit.times--;
        res.writeHead(429, { "retry-after": String(switches.rateLimit.retryAfterSec), "content-type": "text/plain" });
        res.end("Too Many Requests");
        return;
      }
      if (repo.meta.gated && !authorized(req)) {
        fail(res, repo.meta.private ? 401 : 403, "GatedRepo", `Access to model ${repo.meta.id} is restricted. You must have access to it and be authenticated to access it. Please log in.`); return;
      }
      const file = repo.files.find((f) => f.path === m?.[3]);
      if (!file) { fail(res, 404, "EntryNotFound", `${m[3] ?? ""} does not exist on "${m[2] ?? ""}"`); return; }
      const common = { "x-repo-commit": repo.commit, "access-control-expose-headers": "X-Repo-Commit,X-Linked-Etag,X-Linked-Size,ETag" };
      if (file.lfs) {
        const expires = Date.now() + ttl;
        res.writeHead(302, {
          ...common,
          location: `${cdnUrl}/repos/${file.etag}?Expires=${expires}&Signature=${sign(file.etag, expires)}`,
          etag: `"${file.pointerOid}"`,
          "x-linked-etag": `"${file.etag}"`,
          "x-linked-size": String(file.size),
          "content-length": "0",
        });
        res.end();
        return;
      }
      serveFile(req, res, file, { ...common, etag: `"${file.etag}"` });
      return;
    }
    fail(res, 404, undefined, `no route ${req.method ?? ""} ${p}`);
  };

  const cdn = http.createServer((req, res) => {
    requests.push({ host: "cdn", method: req.method ?? "GET", url: req.url ?? "/", ...(req.headers.range ? { range: req.headers.range } : {}), ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}) });
    const url = new URL(req.url ?? "/", "http://x");
    const m = /^\/repos\/([0-9a-f]{64})$/.exec(url.pathname);
    const file = m ? byEtag.get(m[1] ?? "") : undefined;
    if (!file) {
      res.writeHead(404).end();
      return;
    }
    if (req.headers.authorization) {
      // What S3/CloudFront answer when a signed URL also carries an Authorization header.
      res.writeHead(400, { "content-type": "application/xml" }).end("<Error><Code>InvalidArgument</Code><Message>Only one auth mechanism allowed</Message></Error>");
      return;
    }
    const expires = Number(url.searchParams.get("Expires"));
    if (url.searchParams.get("Signature") !== sign(file.etag, expires) || Date.now() > expires) {
      res.writeHead(403, { "content-type": "application/xml" }).end("<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>");
      return;
    }
    serveFile(req, res, file, { etag: `"${file.etag}"` });
  });

  const listen = (server: http.Server): Promise<string> =>
    new Promise((resolve) => server.listen(0, "127.0.0.1", () => { resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`); }));
  const hubUrl = await listen(hub);
  const cdnUrl = await listen(cdn);
  return {
    url: hubUrl,
    cdnUrl,
    switches,
    requests,
    served,
    token,
    repo(id) {
      const repo = repos.get(id);
      if (!repo) throw new Error(`no fake repo ${id}`);
      return { commit: repo.commit, files: repo.files };
    },
    async close() {
      hub.closeAllConnections();
      cdn.closeAllConnections();
      await Promise.all([new Promise((r) => hub.close(r)), new Promise((r) => cdn.close(r))]);
    },
  };
}

function* chunks(buffer: Buffer, size = 64 * 1024): Generator<Buffer> {
  for (let offset = 0; offset < buffer.length; offset += size) yield buffer.subarray(offset, offset + size);
}

function treeEntry(f: FakeFile): Record<string, unknown> {
  return f.lfs
    ? { type: "file", oid: f.pointerOid, size: f.size, path: f.path, lfs: { oid: f.etag, size: f.size, pointerSize: 134 } }
    : { type: "file", oid: f.etag, size: f.size, path: f.path };
}

/** Bytes that look like weights: seeded, so every run makes the same files. */
export function seededBytes(size: number, seed: string): Buffer {
  const out = Buffer.alloc(size);
  let block = crypto.createHash("sha256").update(seed).digest();
  for (let offset = 0; offset < size; offset += block.length) {
    block.copy(out, offset);
    block = crypto.createHash("sha256").update(block).digest();
  }
  return out;
}

/** A safetensors file: 8-byte header length, JSON header, raw tensor bytes. */
export function safetensorsFile(tensors: Record<string, number>, seed: string): Buffer {
  const header: Record<string, unknown> = { __metadata__: { format: "mlx" } };
  let offset = 0;
  for (const [name, bytes] of Object.entries(tensors)) {
    header[name] = { dtype: "F32", shape: [bytes / 4], data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let text = JSON.stringify(header);
  text += " ".repeat((8 - (text.length % 8)) % 8);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(text.length));
  return Buffer.concat([length, Buffer.from(text), seededBytes(offset, seed)]);
}

/** An MLX-shaped repo: config with quantization, two safetensors shards with an index, tokenizer, README. */
export function mlxRepoFiles(shardBytes: number, seed = "mlx"): Record<string, Uint8Array> {
  const shard1 = safetensorsFile({ "model.embed_tokens.weight": shardBytes }, `${seed}-1`);
  const shard2 = safetensorsFile({ "model.layers.0.mlp.weight": shardBytes }, `${seed}-2`);
  return {
    "config.json": Buffer.from(JSON.stringify({ model_type: "llama", architectures: ["LlamaForCausalLM"], hidden_size: 64, num_hidden_layers: 2, quantization: { group_size: 64, bits: 4 } }, null, 2)),
    "model-00001-of-00002.safetensors": shard1,
    "model-00002-of-00002.safetensors": shard2,
    "model.safetensors.index.json": Buffer.from(JSON.stringify({ metadata: { total_size: shardBytes * 2 }, weight_map: { "model.embed_tokens.weight": "model-00001-of-00002.safetensors", "model.layers.0.mlp.weight": "model-00002-of-00002.safetensors" } })),
    "tokenizer.json": Buffer.from(JSON.stringify({ version: "1.0", model: { type: "BPE", vocab: { a: 0, b: 1 } } })),
    "tokenizer_config.json": Buffer.from(JSON.stringify({ bos_token: "<s>", eos_token: "</s>" })),
    "README.md": Buffer.from("---\nlibrary_name: mlx\ntags:\n- mlx\nlicense: mit\n---\n# Test model\n"),
  };
}

export { sha256Hex };
