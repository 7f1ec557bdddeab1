// Manager idle memory and GET /api/models latency with 1,000 cached models, against a bare
// node:http server answering the same bytes (the floor any HTTP API can reach).
import { spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import type { AddressInfo } from "node:net";
import { makeLargeCache, makeTempDir, removeTempDir } from "../test/helpers/hfCache";
import { startManager } from "../test/helpers/manager";
import type { BenchRow } from "./types";

function rssMb(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? "0");
  return kb / 1024;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

async function timeRequests(url: string, headers: Record<string, string>, n: number): Promise<number[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const times: number[] = [];
  for (let i = 0; i < n + 20; i++) {
    const t0 = process.hrtime.bigint();
    await new Promise<void>((resolve, reject) => {
      http
        .get(url, { agent, headers }, (res) => {
          res.on("data", () => undefined);
          res.on("end", resolve);
        })
        .on("error", reject);
    });
    if (i >= 20) times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  agent.destroy();
  return times.sort((a, b) => a - b);
}

export async function benchManager(): Promise<BenchRow[]> {
  const root = makeTempDir("bench-manager-");
  try {
    const hub = path.join(root, "hub");
    fs.mkdirSync(hub);
    makeLargeCache(hub, 1000, 20);
    const manager = await startManager({ dataDir: path.join(root, "data"), hfCache: hub });
    const pid = manager.child.pid ?? 0;
    const body = (await manager.api("GET", "/api/models")).text;
    await new Promise((r) => setTimeout(r, 3000));
    const rss = rssMb(pid);

    const bare = http.createServer((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(body);
    });
    await new Promise<void>((r) => bare.listen(0, "127.0.0.1", r));
    const barePort = (bare.address() as AddressInfo).port;
    const ours = await timeRequests(`${manager.url}/api/models`, { authorization: `Bearer ${manager.token}` }, 300);
    const floor = await timeRequests(`http://127.0.0.1:${barePort}/`, {}, 300);
    bare.close();
    await manager.stop();

    // A bare Node process, for what "idle" costs before any of our code.
    const node = spawn(process.execPath, ["-e", "setTimeout(()=>{}, 5000)"]);
    await new Promise((r) => setTimeout(r, 500));
    const nodeRss = rssMb(node.pid ?? 0);
    node.kill();

    return [
      { name: "manager idle RSS, 1,000 models (goal ≤ 80 MB)", ours: rss, peer: nodeRss, unit: "MB", note: "peer: an empty node process" },
      { name: "GET /api/models p50, 1,000 models", ours: percentile(ours, 50), peer: percentile(floor, 50), unit: "ms", note: `peer: bare node:http sending the same ${(body.length / 1024).toFixed(0)} KB` },
      { name: "GET /api/models p99, 1,000 models", ours: percentile(ours, 99), peer: percentile(floor, 99), unit: "ms", note: "same" },
    ];
  } finally {
    removeTempDir(root);
  }
}

if (require.main === module) {
  void benchManager().then((rows) => {
    for (const r of rows) console.log(`${r.name}: ours ${r.ours.toFixed(2)} ${r.unit}, peer ${r.peer.toFixed(2)} ${r.unit}, ratio ${(r.ours / r.peer).toFixed(2)} (${r.note})`);
  });
}
