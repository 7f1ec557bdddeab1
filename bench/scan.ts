// Cache scan benchmark: our CacheScanner against @huggingface/hub's scanCacheDir on the same
// 1,000-repo / 20,000-file cache, built once per run. Both run with the OS page cache warm
// (nothing is dropped); "cold" means a new scanner with an empty metadata cache.
//   npx tsx bench/scan.ts
import fs from "node:fs";
import path from "node:path";
import { scanCacheDir, scanCachedRepo } from "@huggingface/hub";
import { watch as chokidarWatch } from "chokidar";
import { CacheScanner } from "../src/services/cache/CacheScanner";
import { CacheWatcher } from "../src/services/cache/CacheWatcher";
import { silentLogger } from "../src/services/logging/Logger";
import { commitFor, makeLargeCache, makeTempDir, removeTempDir, writeHfRepo } from "../test/helpers/hfCache";
import type { BenchRow } from "./types";

const REPOS = 1000;
const FILES_PER_REPO = 20;
const RUNS = 5;
const RESCANS = 15;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

async function timed<T>(fn: () => Promise<T> | T): Promise<[number, T]> {
  const start = performance.now();
  const result = await fn();
  return [performance.now() - start, result];
}

/** The floor: list every blobs/ folder and stat each blob, nothing else. */
function bareWalk(dir: string): number {
  let bytes = 0;
  for (const repo of fs.readdirSync(dir)) {
    if (!repo.startsWith("models--")) continue;
    const blobs = path.join(dir, repo, "blobs");
    for (const blob of fs.readdirSync(blobs)) bytes += fs.statSync(path.join(blobs, blob)).size;
  }
  return bytes;
}

function fsEventHandles(): number {
  return process.getActiveResourcesInfo().filter((r) => r === "FSEventWrap").length;
}

export async function benchScan(): Promise<BenchRow[]> {
  const root = makeTempDir("bench-scan-");
  try {
    const dir = path.join(root, "hub");
    const [buildMs, built] = await timed(() => makeLargeCache(dir, REPOS, FILES_PER_REPO));
    process.stderr.write(
      `  built ${built.repoIds.length} repos / ${built.files} files in ${buildMs.toFixed(0)} ms\n`,
    );

    const hf: number[] = [];
    const cold: number[] = [];
    const warm: number[] = [];
    const bare: number[] = [];
    let exported: unknown;
    let counted = 0;
    // Interleaved, so that whatever else the machine does weighs on both sides alike.
    for (let run = 0; run < RUNS; run++) {
      const [hfMs, info] = await timed(() => scanCacheDir(dir));
      hf.push(hfMs);
      if (info.repos.length !== REPOS) throw new Error(`scanCacheDir found ${info.repos.length} repos`);

      const scanner = new CacheScanner({ cacheDir: dir, logger: silentLogger });
      const [coldMs, models] = await timed(() => scanner.scan());
      cold.push(coldMs);
      counted = models.length;
      exported = scanner.exportMetaCache();

      const warmScanner = new CacheScanner({ cacheDir: dir, logger: silentLogger });
      warmScanner.importMetaCache(JSON.parse(JSON.stringify(exported)));
      warm.push((await timed(() => warmScanner.scan()))[0]);

      bare.push((await timed(() => bareWalk(dir)))[0]);
    }
    if (counted !== REPOS) throw new Error(`CacheScanner found ${counted} repos`);

    // One repo changes (a file is added to it); rescan just that repo.
    const scanner = new CacheScanner({ cacheDir: dir, logger: silentLogger });
    scanner.importMetaCache(exported);
    await scanner.scan();
    const repoId = built.repoIds[REPOS / 2] ?? "";
    const folder = `models--${repoId.split("/").join("--")}`;
    const rescans: number[] = [];
    const peerRescans: number[] = [];
    for (let i = 0; i < RESCANS; i++) {
      writeHfRepo(dir, {
        repoId,
        revisions: [{ commit: commitFor(repoId, 0), files: { [`added-${i}.txt`]: `change ${i}\n` } }],
      });
      const [ms, model] = await timed(() => scanner.rescanRepo(folder));
      if (model?.revisions[0]?.fileCount !== FILES_PER_REPO + i + 1)
        throw new Error("rescan missed the new file");
      rescans.push(ms);
      peerRescans.push((await timed(() => scanCachedRepo(path.join(dir, folder))))[0]);
    }

    // Watching: our folder watchers against chokidar 4 on the same tree.
    const handlesBefore = fsEventHandles();
    const chokidar = chokidarWatch(dir, { ignoreInitial: true, depth: 4 });
    const [chokidarReadyMs] = await timed(
      () =>
        new Promise<void>((resolve) =>
          chokidar.once("ready", () => {
            resolve();
          }),
        ),
    );
    const chokidarHandles = fsEventHandles() - handlesBefore;
    await chokidar.close();
    const watcher = new CacheWatcher({
      cacheDir: dir,
      scanner,
      logger: silentLogger,
      onChange: () => undefined,
    });
    const [watcherReadyMs] = await timed(() => watcher.start());
    const ourHandles = watcher.watcherCount;
    await watcher.close();

    const hfMs = median(hf);
    const coldMs = median(cold);
    return [
      {
        name: `cold full scan (${REPOS} repos, ${built.files} files)`,
        ours: coldMs,
        peer: hfMs,
        unit: "ms",
        note: `peer: @huggingface/hub scanCacheDir; ours is ${(hfMs / coldMs).toFixed(1)}x faster (median of ${RUNS})`,
      },
      {
        name: "warm full scan (metadata cache imported)",
        ours: median(warm),
        peer: hfMs,
        unit: "ms",
        note: `peer: scanCacheDir; ${(hfMs / median(warm)).toFixed(1)}x faster`,
      },
      {
        name: "cold full scan vs bare walk (goal ≤ 1.5×)",
        ours: coldMs,
        peer: median(bare),
        unit: "ms",
        note: "peer: readdir blobs/ + stat every blob, nothing else (the floor)",
      },
      {
        name: "rescan one changed repo",
        ours: median(rescans),
        peer: median(peerRescans),
        unit: "ms",
        note: `peer: @huggingface/hub scanCachedRepo on that repo (median of ${RESCANS})`,
      },
      {
        name: "watch the cache: fs.watch handles",
        ours: ourHandles,
        peer: chokidarHandles,
        unit: "handles",
        note: `peer: chokidar 4 (depth 4); ready in ${watcherReadyMs.toFixed(0)} ms vs ${chokidarReadyMs.toFixed(0)} ms`,
      },
    ];
  } finally {
    removeTempDir(root);
  }
}

if (require.main === module) {
  void benchScan().then((rows) => {
    const fmt = (n: number): string => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));
    console.log("| measure | ours | peer | ours/peer | note |");
    console.log("|---|---|---|---|---|");
    for (const r of rows) {
      console.log(
        `| ${r.name} | ${fmt(r.ours)} ${r.unit} | ${fmt(r.peer)} ${r.unit} | ${(r.ours / r.peer).toFixed(3)} | ${r.note} |`,
      );
    }
  });
}
