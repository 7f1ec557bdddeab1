import type { Command } from "commander";
import { InvalidArgumentError } from "commander";
import fs from "node:fs";
import path from "node:path";
import type { ManagerClient } from "../client/ManagerClient";
import { BENCH_SIZES, benchCsv, type BenchRun, type BenchSize } from "../shared/benchmarks";
import { formatBytes, table } from "./format";

const out = (text: string): void => void process.stdout.write(text.endsWith("\n") ? text : `${text}\n`);

const int = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError("a whole number");
  return n;
};

const sizes = (value: string): BenchSize[] => {
  const list = value.split(",").map((s) => s.trim());
  for (const s of list) if (!(BENCH_SIZES as readonly string[]).includes(s)) throw new InvalidArgumentError(`sizes are ${BENCH_SIZES.join(", ")}`);
  return list as BenchSize[];
};

const fixed = (v: number | undefined, digits = 1): string => (v === undefined || !Number.isFinite(v) ? "–" : v.toFixed(digits));

/** The results as a table: one line per profile and size (warm medians), with the cold start and peak memory. */
export function benchTable(run: BenchRun): string {
  const rows: string[][] = [];
  for (const r of run.results) {
    if (r.error !== undefined && r.sizes.length === 0) {
      rows.push([r.profileName, "–", "–", "–", "–", "–", "–", "–", `error: ${r.error}`]);
      continue;
    }
    for (const s of r.sizes) {
      const agree = s.meter.decodeRatio === undefined ? "" : ` (meter ×${s.meter.decodeRatio.toFixed(3)})`;
      rows.push([r.profileName, s.size, String(s.promptTokens), fixed(s.ttftP50Ms, 0), fixed(s.ttftP95Ms, 0), fixed(s.promptTokensPerSecond, 0), s.decodeTokensPerSecond === undefined ? "– (sent in bursts)" : `${fixed(s.decodeTokensPerSecond)}${agree}`, r.peakMemoryBytes === undefined ? "–" : formatBytes(r.peakMemoryBytes), r.loadMs === undefined ? "" : `load ${fixed(r.loadMs / 1000, 2)} s, cold TTFT ${fixed(r.cold?.ttftMs, 0)} ms`]);
    }
    // A size the profile could not take (its context, say): why, in the last column.
    for (const size of run.settings.sizes) {
      if (r.sizes.some((s) => s.size === size)) continue;
      const failed = r.samples.find((s) => s.size === size && !s.cold && s.error !== undefined);
      if (failed !== undefined) rows.push([r.profileName, size, "–", "–", "–", "–", "–", "–", `failed: ${failed.error ?? ""}`]);
    }
  }
  return table(["PROFILE", "SIZE", "PROMPT", "TTFT P50 MS", "TTFT P95 MS", "PROMPT TOK/S", "DECODE TOK/S", "PEAK MEMORY", "COLD"], rows);
}

/** `mlx-manager bench …`, `mlx-manager benchmarks …` and `mlx-manager perplexity …`. */
export function addBenchCommands(program: Command, connect: () => Promise<ManagerClient>): void {
  program
    .command("bench <profiles...>")
    .description("benchmark profiles through the gateway: TTFT p50/p95, prompt and decode tokens/s, peak memory; cold start and warm runs apart")
    .option("--runs <n>", "warm runs of each size (3)", int)
    .option("--max-tokens <n>", "tokens asked of every answer (128)", int)
    .option("--sizes <list>", `prompt sizes, of ${BENCH_SIZES.join(", ")} (all)`, sizes)
    .option("--no-cold", "do not restart a running server first (no cold start measured)")
    .option("--json", "print the run as JSON")
    .option("--csv", "print the run as CSV")
    .action(async (profiles: string[], opts: { runs?: number; maxTokens?: number; sizes?: BenchSize[]; cold: boolean; json?: boolean; csv?: boolean }) => {
      const client = await connect();
      const settings = { ...(opts.runs === undefined ? {} : { runs: opts.runs }), ...(opts.maxTokens === undefined ? {} : { maxTokens: opts.maxTokens }), ...(opts.sizes === undefined ? {} : { sizes: opts.sizes }), cold: opts.cold };
      let run = await client.startBenchmark({ profiles, settings });
      const cancel = (): void => { void client.cancelBenchmark(run.id).catch(() => undefined); };
      process.once("SIGINT", cancel);
      let shown = "";
      while (run.state === "running") {
        await new Promise((resolve) => setTimeout(resolve, 300));
        run = await client.benchmark(run.id);
        const p = run.progress;
        const line = p === undefined ? "" : `${p.profile}: ${p.step} (${p.done}/${p.total})`;
        if (line !== shown && process.stderr.isTTY) process.stderr.write(`\r${line.padEnd(shown.length)}`);
        shown = line;
      }
      process.off("SIGINT", cancel);
      if (process.stderr.isTTY && shown) process.stderr.write("\n");
      if (opts.json) out(JSON.stringify(run, null, 2));
      else if (opts.csv) out(benchCsv(run));
      else out(`Benchmark ${run.id}: ${run.state}${run.error === undefined ? "" : ` (${run.error})`}\n${benchTable(run)}`);
      if (run.state !== "completed") process.exitCode = 1;
    });

  const history = program.command("benchmarks").description("past benchmarks: list, show, export, rm");
  history
    .command("list", { isDefault: true })
    .description("list past benchmarks, newest first")
    .option("--json", "print JSON")
    .action(async (opts: { json?: boolean }) => {
      const list = (await (await connect()).benchmarks()).benchmarks;
      if (opts.json) { out(JSON.stringify(list, null, 2)); return; }
      if (list.length === 0) { out("No benchmark yet. Run one with `mlx-manager bench PROFILE…`."); return; }
      out(table(["ID", "WHEN", "STATE", "PROFILES"], list.map((r) => [r.id, new Date(r.createdAt).toISOString().slice(0, 16).replace("T", " "), r.state, r.profiles.join(", ")])));
    });
  history.command("show <id>").description("one benchmark's results").option("--json", "print JSON").action(async (id: string, opts: { json?: boolean }) => {
    const run = await (await connect()).benchmark(id);
    out(opts.json ? JSON.stringify(run, null, 2) : `Benchmark ${run.id}: ${run.state}\n${benchTable(run)}`);
  });
  history
    .command("export <id> <file>")
    .description("write a benchmark as CSV or JSON (by the file's extension)")
    .action(async (id: string, file: string) => {
      const run = await (await connect()).benchmark(id);
      const target = path.resolve(file);
      fs.writeFileSync(target, target.endsWith(".csv") ? benchCsv(run) : `${JSON.stringify(run, null, 2)}\n`);
      out(`Wrote ${target}`);
    });
  history.command("rm <id>").description("delete a benchmark from the history").action(async (id: string) => {
    await (await connect()).deleteBenchmark(id);
    out(`Deleted benchmark ${id}`);
  });

  program
    .command("perplexity <profile> <file>")
    .description("perplexity of a profile's model on a text file (lower: the model predicts the text better); MLX models and the llama engine")
    .option("--sequence-length <n>", "tokens per scored row (512)", int)
    .option("--max-tokens <n>", "score at most this many tokens of the text (16384)", int)
    .option("--json", "print JSON")
    .action(async (profile: string, file: string, opts: { sequenceLength?: number; maxTokens?: number; json?: boolean }) => {
      const result = await (await connect()).measurePerplexity({ profile, file: path.resolve(file), ...(opts.sequenceLength === undefined ? {} : { sequenceLength: opts.sequenceLength }), ...(opts.maxTokens === undefined ? {} : { maxTokens: opts.maxTokens }) });
      out(opts.json ? JSON.stringify(result, null, 2) : `Perplexity of ${result.profileName} (${result.model}) on ${result.textName}: ${result.perplexity.toFixed(3)} ± ${result.standardError.toFixed(3)} (${result.scoredTokens} tokens scored in rows of ${result.sequenceLength}, ${result.seconds.toFixed(1)} s)`);
    });
}
