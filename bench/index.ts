// `npm run bench`: every benchmark, each ours vs. a peer measured in the same run, side by side.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { benchAuth } from "./auth";
import { benchDashboard } from "./dashboard";
import { benchEngine } from "./engine";
import { benchExtension } from "./extension";
import { benchDownload } from "./download";
import { benchGateway } from "./gateway";
import { benchManager } from "./manager";
import { benchMetrics } from "./metrics";
import { benchScan } from "./scan";
import { benchScheduler } from "./scheduler";
import type { BenchRow } from "./types";

const suites: [string, () => Promise<BenchRow[]>][] = [
  ["cache scan", benchScan],
  ["manager", benchManager],
  ["metrics", benchMetrics],
  ["gateway", benchGateway],
  ["download", benchDownload],
  ["engine", benchEngine],
  ["scheduler", benchScheduler],
  ["auth", benchAuth],
  ["extension", benchExtension],
  ["dashboard", benchDashboard],
];

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const rows: (BenchRow & { suite: string; load: number })[] = [];
  const loadAtStart = os.loadavg();
  for (const [suite, run] of suites) {
    if (only.length > 0 && !only.some((o) => suite.includes(o))) continue;
    // The 1-minute load average as the suite starts: these figures mean little on a busy machine.
    const load = os.loadavg()[0] ?? 0;
    process.stderr.write(`running ${suite} (load ${load.toFixed(2)})...\n`);
    for (const row of await run()) rows.push({ suite, load, ...row });
  }
  const fmt = (n: number): string => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));
  const at = new Date().toISOString();
  console.log(`npm run bench, ${at.slice(0, 16).replace("T", " ")} UTC, ${os.cpus().length} cores, Node ${process.version}; load average at the start ${loadAtStart.map((l) => l.toFixed(2)).join(" / ")} (1 / 5 / 15 min)\n`);
  console.log("| suite | measure | ours | peer | ours/peer | load | note |");
  console.log("|---|---|---|---|---|---|---|");
  for (const r of rows) {
    console.log(`| ${r.suite} | ${r.name} | ${fmt(r.ours)} ${r.unit} | ${fmt(r.peer)} ${r.unit} | ${r.peer === 0 ? "n/a" : (r.ours / r.peer).toFixed(3)} | ${r.load.toFixed(2)} | ${r.note} |`);
  }
  const out = path.join(__dirname, "..", "bench-results");
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, "latest.json"), JSON.stringify({ at, cores: os.cpus().length, node: process.version, loadAtStart, rows }, null, 2));
}

void main();
