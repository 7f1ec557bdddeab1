// Download benchmark: our downloader (DownloadService + BlobFetcher with the store's parts ledger, as
// the manager runs it: Hub resolve, 302 to the CDN, large files in ranged parts, sha256 of every
// byte, huggingface_hub layout) against curl fetching the same files from the same local fake Hub
// in the same run, like for like: `curl -sL URL | sha256sum` (we verify every byte too). The fake
// Hub and our downloader each run in their own child process, as curl does, so neither shares an
// event loop or a heap with the bench. Sizes shrink when /tmp is short of space (the note says so).
//   npx tsx bench/download.ts
//   npx tsx bench/download.ts hub <config.json>          (a child process)
//   npx tsx bench/download.ts ours <hub url> <folder>    (a child process; repos on stdin)
import { spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { EventBus } from "../src/services/events/EventBus";
import { BlobFetcher } from "../src/services/hub/BlobFetcher";
import { DownloadService } from "../src/services/hub/DownloadService";
import { HubClient } from "../src/services/hub/HubClient";
import { StorePartsLedger } from "../src/services/hub/PartsLedger";
import { silentLogger } from "../src/services/logging/Logger";
import { Store } from "../src/services/store/Store";
import { DownloadRequest } from "../src/shared/hub";
import { startFakeHub, type FakeRepo } from "../test/helpers/fakeHub";
import { makeTempDir, removeTempDir } from "../test/helpers/hfCache";
import type { BenchRow } from "./types";

const MiB = 1024 * 1024;
const RUNS = 3;

interface HubConfig {
  repos: { id: string; files: Record<string, string> }[];
}

/** Child process: serve the files on disk through the fake Hub; print its URL. */
async function serveHub(configFile: string): Promise<void> {
  const config = JSON.parse(fs.readFileSync(configFile, "utf8")) as HubConfig;
  const repos: FakeRepo[] = config.repos.map((r) => ({ id: r.id, files: Object.fromEntries(Object.entries(r.files).map(([p, file]) => [p, { file }])) }));
  const hub = await startFakeHub({ repos, urlTtlMs: 3_600_000 });
  process.stdout.write(`${JSON.stringify({ url: hub.url, commits: Object.fromEntries(config.repos.map((r) => [r.id, hub.repo(r.id).commit])) })}\n`);
}

/**
 * Child process: our downloader, alone in its process as in the manager (not in the bench's, whose
 * heap holds what the other suites left). Each stdin line names a repo to fetch into an emptied
 * cache; it answers a line with the seconds it took and its RSS growth meanwhile.
 */
async function serveDownloader(hubUrl: string, root: string): Promise<void> {
  const cacheDir = path.join(root, "cache");
  const store = (await Store.open({ dir: path.join(root, "data"), logger: silentLogger })).store;
  const client = new HubClient({ endpoint: hubUrl, offline: false, token: () => undefined, cacheDir, logger: silentLogger });
  const service = new DownloadService({ store, hub: client, fetcher: new BlobFetcher({ logger: silentLogger, parts: { ledger: new StorePartsLedger(store) } }), cacheDir, events: new EventBus(), logger: silentLogger, concurrency: 4 });
  service.start();
  let queue = Promise.resolve();
  const fetchRepo = async (repo: string): Promise<void> => {
    fs.rmSync(cacheDir, { recursive: true, force: true });
    fs.mkdirSync(cacheDir, { recursive: true });
    const rssBefore = process.memoryUsage().rss;
    let rssPeak = rssBefore;
    const sampler = setInterval(() => { rssPeak = Math.max(rssPeak, process.memoryUsage().rss); }, 50);
    const started = performance.now();
    const { download } = service.request(DownloadRequest.parse({ repo }));
    for (;;) {
      const d = service.get(download.id);
      if (d.state === "completed") break;
      if (d.state === "failed" || d.state === "cancelled") throw new Error(`${repo}: ${d.error?.message ?? d.state}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    const seconds = (performance.now() - started) / 1000;
    clearInterval(sampler);
    process.stdout.write(`${JSON.stringify({ seconds, rssGrowth: rssPeak - rssBefore })}\n`);
  };
  let buffered = "";
  process.stdin.setEncoding("utf8").on("data", (text: string) => {
    buffered += text;
    for (let at = buffered.indexOf("\n"); at >= 0; at = buffered.indexOf("\n")) {
      const repo = buffered.slice(0, at);
      buffered = buffered.slice(at + 1);
      queue = queue.then(() => fetchRepo(repo));
    }
  });
  process.stdin.on("end", () => void queue.then(() => service.close()).then(() => { store.close(); }));
}

/** A file of `size` bytes: a random 16 MiB block repeated, with a distinct first block. */
function writeBigFile(file: string, size: number, seed: string): void {
  const block = crypto.randomBytes(16 * MiB);
  const fd = fs.openSync(file, "w");
  try {
    for (let offset = 0; offset < size; offset += block.length) {
      if (offset === 0) crypto.createHash("sha256").update(seed).digest().copy(block);
      fs.writeSync(fd, block, 0, Math.min(block.length, size - offset));
    }
  } finally {
    fs.closeSync(fd);
  }
}

function run(command: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "ignore", "inherit"] });
    child.on("error", reject);
    child.on("exit", (code) => { resolve(code ?? -1); });
  });
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await fn();
  return (performance.now() - started) / 1000;
}

export async function benchDownload(): Promise<BenchRow[]> {
  const root = makeTempDir("bench-download-");
  const free = fs.statfsSync(root);
  const freeBytes = free.bavail * free.bsize;
  // Sources (3 GiB) + our copies (3 GiB) + margin; scale down on a small disk.
  const scale = freeBytes > 10 * 1024 * MiB ? 1 : freeBytes > 5 * 1024 * MiB ? 0.5 : 0.125;
  const single = Math.round(1024 * MiB * scale);
  const shard = Math.round(256 * MiB * scale);
  const scaledNote = scale === 1 ? "" : ` (scaled to ${scale}× for the free space in ${os.tmpdir()})`;
  const children: ReturnType<typeof spawn>[] = [];
  try {
    const src = path.join(root, "src");
    fs.mkdirSync(src);
    writeBigFile(path.join(src, "single.safetensors"), single, "single");
    const shards: Record<string, string> = {};
    for (let i = 1; i <= 8; i++) {
      const name = `model-0000${i}-of-00008.safetensors`;
      writeBigFile(path.join(src, name), shard, `shard${i}`);
      shards[name] = path.join(src, name);
    }
    const configFile = path.join(root, "hub.json");
    const config: HubConfig = { repos: [{ id: "bench/single", files: { "model.safetensors": path.join(src, "single.safetensors") } }, { id: "bench/sharded", files: shards }] };
    fs.writeFileSync(configFile, JSON.stringify(config));
    process.stderr.write(`  wrote ${((single + 8 * shard) / 1024 / MiB).toFixed(2)} GiB of source files; the fake Hub hashes them...\n`);
    const child = spawn(process.execPath, ["--require", "tsx/cjs", __filename, "hub", configFile], { stdio: ["ignore", "pipe", "inherit"] });
    children.push(child);
    const hub = await new Promise<{ url: string; commits: Record<string, string> }>((resolve, reject) => {
      let out = "";
      child.stdout.on("data", (d: Buffer) => {
        out += d.toString();
        if (out.includes("\n")) resolve(JSON.parse(out.split("\n")[0] ?? "{}") as { url: string; commits: Record<string, string> });
      });
      child.on("exit", (code) => { reject(new Error(`fake hub exited with ${code}`)); });
    });

    const downloader = spawn(process.execPath, ["--require", "tsx/cjs", __filename, "ours", hub.url, path.join(root, "ours")], { stdio: ["pipe", "pipe", "inherit"] });
    children.push(downloader);
    const answers: ((line: string) => void)[] = [];
    let pendingOut = "";
    downloader.stdout.setEncoding("utf8").on("data", (text: string) => {
      pendingOut += text;
      for (let at = pendingOut.indexOf("\n"); at >= 0; at = pendingOut.indexOf("\n")) {
        answers.shift()?.(pendingOut.slice(0, at));
        pendingOut = pendingOut.slice(at + 1);
      }
    });
    downloader.on("exit", (code) => { for (const answer of answers.splice(0)) answer(JSON.stringify({ error: `our downloader exited with ${code}` })); });
    const ours = (repo: string): Promise<{ seconds: number; rssGrowth: number }> =>
      new Promise((resolve, reject) => {
        answers.push((line) => {
          const answer = JSON.parse(line) as { seconds: number; rssGrowth: number; error?: string };
          if (answer.error !== undefined) reject(new Error(answer.error));
          else resolve(answer);
        });
        downloader.stdin.write(`${repo}\n`);
      });
    const resolveUrl = (repo: string, file: string): string => `${hub.url}/${repo}/resolve/main/${file}`;
    const curlOne = (url: string): Promise<number> => run("bash", ["-c", 'curl -sSfL "$1" | sha256sum', "bash", url]);
    const curlSequential = (urls: string[]): Promise<number> => run("bash", ["-c", 'for u in "$@"; do curl -sSfL "$u" | sha256sum || exit 1; done', "bash", ...urls]);

    const oneOurs: number[] = [];
    const onePeer: number[] = [];
    const repoOurs: number[] = [];
    const repoPeer: number[] = [];
    const rssGrowth: number[] = [];
    const measureOurs = async (): Promise<void> => {
      const { seconds, rssGrowth: growth } = await ours("bench/single");
      oneOurs.push(seconds);
      rssGrowth.push(growth);
    };
    const measurePeer = async (): Promise<void> => {
      onePeer.push(await timed(async () => { if ((await curlOne(resolveUrl("bench/single", "model.safetensors"))) !== 0) throw new Error("curl failed"); }));
    };
    // Alternate who goes first, so neither always runs on a warmer (or busier) machine.
    for (let runIndex = 0; runIndex < RUNS; runIndex++) {
      const first = runIndex % 2 === 0;
      if (first) { await measurePeer(); await measureOurs(); } else { await measureOurs(); await measurePeer(); }
      const repoPeerRun = async (): Promise<void> => { repoPeer.push(await timed(async () => { if ((await curlSequential(Object.keys(shards).map((f) => resolveUrl("bench/sharded", f)))) !== 0) throw new Error("curl failed"); })); };
      const repoOursRun = async (): Promise<void> => { repoOurs.push((await ours("bench/sharded")).seconds); };
      if (first) { await repoPeerRun(); await repoOursRun(); } else { await repoOursRun(); await repoPeerRun(); }
    }
    downloader.stdin.end();
    const best = (xs: number[]): number => Math.min(...xs);
    const mbps = (bytes: number, seconds: number): number => bytes / 1e6 / seconds;
    const singleLabel = scale === 1 ? "1 GiB" : `${(single / MiB).toFixed(0)} MiB`;
    const shardLabel = scale === 1 ? "256 MiB" : `${(shard / MiB).toFixed(0)} MiB`;
    return [
      { name: `one ${singleLabel} file, MB/s (best of ${RUNS}, alternating; goal ≥ 1.2× peer)`, ours: mbps(single, best(oneOurs)), peer: mbps(single, best(onePeer)), unit: "MB/s", note: `peer: curl -sL URL piped to sha256sum; ours: 8 ranged parts (each Hub 302 → CDN), written in place, sha256 following the bytes on disk, blob + symlink${scaledNote}` },
      { name: `repo of 8 × ${shardLabel}, MB/s (best of ${RUNS}, alternating; goal ≥ 1.5× peer)`, ours: mbps(8 * shard, best(repoOurs)), peer: mbps(8 * shard, best(repoPeer)), unit: "MB/s", note: `peer: curl piped to sha256sum, one file after another; ours: 4 files at once, each in 8 parts${scaledNote}` },
      { name: `RSS growth during the ${singleLabel} download (runs 2+, max)`, ours: Math.max(...rssGrowth.slice(1)) / MiB, peer: 50, unit: "MiB", note: `peer column is the goal (< 50 MiB), not a measured peer; run 1 (loads code): ${((rssGrowth[0] ?? 0) / MiB).toFixed(0)} MiB` },
    ];
  } finally {
    for (const child of children) child.kill();
    removeTempDir(root);
  }
}

if (require.main === module) {
  const [role, arg] = process.argv.slice(2);
  if (role === "hub" && arg) void serveHub(arg);
  else if (role === "ours" && arg && process.argv[4]) void serveDownloader(arg, process.argv[4]);
  else {
    void benchDownload().then((rows) => {
      for (const r of rows) process.stdout.write(`${r.name}: ours ${r.ours.toFixed(1)} ${r.unit}, peer ${r.peer.toFixed(1)} ${r.unit} — ${r.note}\n`);
    });
  }
}
