// The metrics sampler's own CPU cost with 5 servers (5 idle `node` processes) sampled every 2 s,
// against two naive peers measured in the same run, one after the other for the same duration:
//   - pidusage called once per pid (what a per-server poll loop does),
//   - `ps -o pid=,%cpu=,rss= -p <pids>` spawned once per sample.
// Each phase runs in its own plain `node` process (this file bundled with esbuild), because a
// process under tsx burns 0.4-2 % of a core by itself, more than what is measured here. CPU
// counted for a phase: the whole process (process.cpuUsage: timers, GC, everything) plus, on
// Linux, its reaped children (cutime + cstime of /proc/self/stat), so `ps` is paid for.
// Every phase takes one warm-up sample first (pidusage runs `getconf` twice on first use).
//   npx tsx bench/metrics.ts          (BENCH_METRICS_SECONDS=20 per phase by default)
import { execFile, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import pidusage from "pidusage";
import { silentLogger } from "../src/services/logging/Logger";
import { MetricsService } from "../src/services/metrics/MetricsService";
import type { ServerInfo } from "../src/shared/servers";
import type { BenchRow } from "./types";

const SERVERS = 5;
const INTERVAL_MS = 2_000;
const PHASE_MS = Number(process.env["BENCH_METRICS_SECONDS"] ?? "20") * 1000;
const PHASE_FLAG = "--metrics-bench-phase";
const PHASES = ["idle", "ours", "pidusage-per-pid", "ps-per-sample"] as const;
type Phase = (typeof PHASES)[number];

const run = promisify(execFile);

interface PhaseResult {
  phase: Phase;
  cpuMs: number;
  wallMs: number;
  percent: number;
  samples: number;
  /** ours only: the service's own estimate and its first (one-time) sample. */
  serviceEstimatePercent?: number;
  warmupCpuMs: number;
}

/** CPU ms of this process plus its reaped children (children: Linux only; CLK_TCK is 100 there). */
function cpuMs(): number {
  const own = process.cpuUsage();
  let children = 0;
  if (process.platform === "linux") {
    const stat = fs.readFileSync("/proc/self/stat", "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // After the command name, state is field 3: cutime (16) and cstime (17) sit at 13 and 14.
    children = (Number(fields[13]) + Number(fields[14])) * 10;
  }
  return (own.user + own.system) / 1000 + children;
}

function serverInfo(i: number, pid: number): ServerInfo {
  return {
    profileId: `bench-${i}`,
    profileName: `bench ${i}`,
    engine: "llama",
    model: "bench",
    port: 9000 + i,
    pid,
    state: "running",
    upstreamUrl: `http://127.0.0.1:${9000 + i}`,
    startedAt: Date.now(),
    restarts: 0,
    logFile: "/dev/null",
    adopted: false,
    command: [process.execPath],
    warnings: [],
  };
}

/** A poll loop that runs `sample` every INTERVAL_MS, starting now; the returned function stops it. */
function pollLoop(sample: () => Promise<void>, counter: { samples: number }): () => Promise<void> {
  const once = async (): Promise<void> => {
    await sample();
    counter.samples += 1;
  };
  let running: Promise<void> = once();
  const timer = setInterval(() => {
    running = running.then(once);
  }, INTERVAL_MS);
  return async () => {
    clearInterval(timer);
    await running;
  };
}

/** Worker side: warms up, runs one phase for PHASE_MS, and prints its result as JSON. */
async function runPhaseHere(phase: Phase, pids: number[]): Promise<PhaseResult> {
  const counter = { samples: 0 };
  let start: () => Promise<() => Promise<void>>;
  let service: MetricsService | undefined;
  const warm0 = cpuMs();
  switch (phase) {
    case "idle":
      start = async () => async () => undefined;
      break;
    case "ours": {
      const servers = pids.map((pid, i) => serverInfo(i, pid));
      const metrics = new MetricsService({
        servers: () => servers,
        requests: { stats: () => undefined },
        logger: silentLogger,
        intervalMs: INTERVAL_MS,
      });
      service = metrics;
      await metrics.snapshot();
      start = async () => {
        const before = metrics.sampleCount;
        const unwatch = metrics.watch();
        return async () => {
          unwatch();
          counter.samples = metrics.sampleCount - before;
          await Promise.resolve();
        };
      };
      break;
    }
    case "pidusage-per-pid": {
      const sample = async (): Promise<void> => {
        for (const pid of pids) await pidusage(pid);
        os.totalmem();
        os.freemem();
      };
      await sample();
      start = async () => pollLoop(sample, counter);
      break;
    }
    case "ps-per-sample": {
      const sample = async (): Promise<void> => {
        await run("ps", ["-o", "pid=,%cpu=,rss=", "-p", pids.join(",")]);
        os.totalmem();
        os.freemem();
      };
      await sample();
      start = async () => pollLoop(sample, counter);
      break;
    }
  }
  const warmupCpuMs = cpuMs() - warm0;
  const cpu0 = cpuMs();
  const t0 = performance.now();
  const stop = await start();
  await new Promise((resolve) => setTimeout(resolve, PHASE_MS));
  await stop();
  const wallMs = performance.now() - t0;
  const used = cpuMs() - cpu0;
  const result: PhaseResult = {
    phase,
    cpuMs: used,
    wallMs,
    percent: (used / wallMs) * 100,
    samples: counter.samples,
    warmupCpuMs,
  };
  if (service) {
    result.serviceEstimatePercent = (await service.snapshot()).sampler.cpuPercentOfInterval;
    service.close();
  }
  return result;
}

/** Bundles this file so each phase runs under plain node (no tsx in the measured process). */
async function bundleSelf(dir: string): Promise<string> {
  const outfile = path.join(dir, "metrics-bench.cjs");
  // Imported here, not at the top, so the bundle (which leaves esbuild out) never loads it.
  const { build } = await import("esbuild");
  await build({
    entryPoints: [path.join(__dirname, "metrics.ts")],
    outfile,
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    external: ["esbuild"],
    logLevel: "warning",
  });
  return outfile;
}

async function runPhase(bundle: string, phase: Phase, pids: number[]): Promise<PhaseResult> {
  const { stdout } = await run(process.execPath, [bundle, PHASE_FLAG, phase, ...pids.map(String)], {
    timeout: PHASE_MS + 60_000,
    env: { ...process.env, PIDUSAGE_SILENT: "1" },
  });
  return JSON.parse(stdout.trim().split("\n").pop() ?? "{}") as PhaseResult;
}

export async function benchMetrics(): Promise<BenchRow[]> {
  const children: ChildProcess[] = [];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-metrics-"));
  try {
    for (let i = 0; i < SERVERS; i++) {
      children.push(spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" }));
    }
    const pids = children.map((c) => c.pid).filter((pid): pid is number => pid !== undefined);
    if (pids.length !== SERVERS) throw new Error("could not start the stand-in servers");
    const bundle = await bundleSelf(dir);
    await new Promise((resolve) => setTimeout(resolve, 1_000)); // let the stand-ins settle

    const results = new Map<Phase, PhaseResult>();
    for (const phase of PHASES) results.set(phase, await runPhase(bundle, phase, pids));
    const get = (phase: Phase): PhaseResult => {
      const result = results.get(phase);
      if (!result) throw new Error(`no result for ${phase}`);
      return result;
    };
    const idle = get("idle");
    const ours = get("ours");
    const perPid = get("pidusage-per-pid");
    const viaPs = get("ps-per-sample");

    const common = `${SERVERS} idle node servers, every ${INTERVAL_MS / 1000} s, ${(PHASE_MS / 1000).toFixed(0)} s per phase in its own plain node process (idle node floor ${idle.percent.toFixed(3)} %, included)`;
    return [
      {
        name: "metrics sampler CPU, 5 servers (goal < 1 %) vs pidusage per pid",
        ours: ours.percent,
        peer: perPid.percent,
        unit: "% of a core",
        note: `${common}; ${ours.samples} vs ${perPid.samples} samples; service's own estimate ${(ours.serviceEstimatePercent ?? 0).toFixed(3)} %; one-time first sample ${ours.warmupCpuMs.toFixed(0)} ms CPU`,
      },
      {
        name: "metrics sampler CPU, 5 servers (goal < 1 %) vs ps per sample",
        ours: ours.percent,
        peer: viaPs.percent,
        unit: "% of a core",
        note: `${common}; ${viaPs.samples} ps runs, their CPU counted (reaped children)`,
      },
    ];
  } finally {
    for (const child of children) child.kill("SIGKILL");
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const phaseArg = process.argv.indexOf(PHASE_FLAG);
if (phaseArg >= 0) {
  // Worker: one phase, result on stdout.
  const phase = process.argv[phaseArg + 1] as Phase;
  const pids = process.argv.slice(phaseArg + 2).map(Number);
  void runPhaseHere(phase, pids).then((result) => {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    process.exit(0);
  });
} else if (require.main === module) {
  void benchMetrics().then((rows) => {
    for (const r of rows)
      console.log(
        `${r.name}: ours ${r.ours.toFixed(3)} ${r.unit}, peer ${r.peer.toFixed(3)} ${r.unit} (${r.note})`,
      );
  });
}
