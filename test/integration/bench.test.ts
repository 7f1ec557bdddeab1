// Benchmarks and perplexity through the real manager and its CLI, on the real `llama` engine with
// two tiny models: `mlx-manager bench` restarts each server (its load timed, a cold request), then
// times warm requests of each prompt size through the gateway as a client; the gateway's meter
// recorded the same requests, and the two agree. `mlx-manager perplexity` scores a text with the
// engine's own route: lower for the text the model was made from than for its words shuffled.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import type { BenchRun, PerplexityResult } from "../../src/shared/benchmarks";
import { FABLE, shuffledFable } from "../helpers/fable";
import { makeTempDir, removeTempDir, writeHfRepo } from "../helpers/hfCache";
import { runCli, startManager, type RunningManager } from "../helpers/manager";
import { killGroups } from "../helpers/servers";
import { tinyGgufBytes, TOOL_CALLING_TINY_GGUF } from "../helpers/tinyGguf";

/** The tool-calling test model without its end-of-sequence weight. */
const { endOfSequenceWeight: _ends, ...WORDS_NEVER_ENDING } = TOOL_CALLING_TINY_GGUF;

/** The pids whose parent is `pid` (Linux /proc). */
function childrenOf(pid: number): number[] {
  return fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d)).flatMap((d) => {
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, "utf8");
      return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === pid ? [Number(d)] : [];
    } catch {
      return [];
    }
  });
}

function readCmdline(pid: number): string[] {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
  } catch {
    return [];
  }
}

async function waitUntil(check: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`not so after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("benchmarks and perplexity through the manager and the CLI", function () {
  this.timeout(120_000);
  let root: string;
  let manager: RunningManager;
  const spawned = new Set<number>();
  const cli = (args: string[]): ReturnType<typeof runCli> => runCli(["--data-dir", path.join(root, "data"), ...args]);

  before(async () => {
    root = makeTempDir("bench-");
    const hub = path.join(root, "hub");
    fs.mkdirSync(hub);
    // Its 32k context and English-sized tokens take the ~4k-token prompt; it never ends an answer early, so every answer is 96 tokens (a decode long enough to time to a few per cent).
    writeHfRepo(hub, { repoId: "test/tiny-words", revisions: [{ refs: ["main"], files: { "tiny.gguf": tinyGgufBytes(1, WORDS_NEVER_ENDING) } }] });
    writeHfRepo(hub, { repoId: "test/tiny-fable", revisions: [{ refs: ["main"], files: { "fable.gguf": tinyGgufBytes(1, { bigramText: FABLE }) } }] });
    manager = await startManager({ dataDir: path.join(root, "data"), hfCache: hub, extraArgs: ["--no-watch"], env: { HOME: root } });
    for (const [name, repoId, file, contextLength] of [["words", "test/tiny-words", "tiny.gguf", 8192], ["fable", "test/tiny-fable", "fable.gguf", 4096]] as const) {
      const created = await manager.api("POST", "/api/profiles", { name, engine: "llama", model: { source: "cache", repoId, file }, options: { threads: 1, contextLength } });
      assert.equal(created.status, 201, created.text);
    }
  });
  after(async () => {
    const servers = (await manager.api("GET", "/api/servers")).json as { servers: { pid?: number }[] };
    for (const s of servers.servers) if (s.pid !== undefined) spawned.add(s.pid);
    await manager.api("POST", "/api/servers/stop-all").catch(() => undefined);
    await manager.stop();
    killGroups(spawned);
    removeTempDir(root);
  });

  it("benchmarks two profiles side by side: cold start apart, TTFT p50/p95, prompt and decode tokens/s, peak memory; the client's timings agree with the gateway's meter; CSV and JSON", async () => {
    // `words` runs already: the benchmark restarts it, so its first request meets a just-started engine.
    assert.equal((await manager.api("POST", "/api/servers/words/start")).status, 200);
    const bench = await cli(["bench", "words", "fable", "--runs", "2", "--max-tokens", "96", "--json"]);
    assert.equal(bench.code, 0, bench.stderr);
    const run = JSON.parse(bench.stdout) as BenchRun;
    assert.equal(run.state, "completed", run.error);
    assert.deepEqual(run.results.map((r) => r.profileName), ["words", "fable"]);
    for (const r of run.results) {
      assert.ok((r.loadMs ?? 0) > 0, `${r.profileName} was started and its load timed`);
      assert.ok(r.cold !== undefined && r.cold.cold && r.cold.ttftMs > 0 && r.cold.error === undefined, JSON.stringify(r.cold));
      assert.ok((r.peakMemoryBytes ?? 0) > 10 * 1024 * 1024, `peak memory ${r.peakMemoryBytes}`);
    }
    const [words, fable] = run.results;
    assert.ok(words !== undefined && fable !== undefined);
    assert.deepEqual(words.sizes.map((s) => s.size), ["short", "1k", "4k"]);
    const prompts = words.sizes.map((s) => s.promptTokens);
    assert.ok(prompts[0]! < 100 && prompts[1]! > 600 && prompts[2]! > 3 * prompts[1]!, `prompt tokens ${prompts.join(", ")}`);
    for (const s of words.sizes) {
      assert.equal(s.runs, 2);
      assert.ok(s.ttftP95Ms >= s.ttftP50Ms && s.promptTokensPerSecond > 0 && (s.decodeTokensPerSecond ?? 0) > 0, JSON.stringify(s));
      // The benchmark client's own timings, and the gateway meter's for the same requests.
      assert.ok(Math.abs((s.meter.decodeRatio ?? 0) - 1) <= 0.05, `${s.size}: decode tokens/s ${s.decodeTokensPerSecond?.toFixed(1)} here, ${s.meter.decodeTokensPerSecond?.toFixed(1)} by the meter`);
      // TTFT: the client's includes the loopback hop to the gateway and back (a few ms on this
      // machine), the meter's starts at the gateway: within 5 % once TTFT is long (the ~4k prompt),
      // and never more than that hop apart.
      const gap = s.ttftP50Ms - (s.meter.ttftP50Ms ?? 0);
      assert.ok(gap >= 0 && gap < 15, `${s.size}: TTFT ${s.ttftP50Ms.toFixed(1)} ms here, ${s.meter.ttftP50Ms?.toFixed(1)} ms by the meter`);
      if (s.size === "4k") assert.ok(Math.abs((s.meter.ttftRatio ?? 0) - 1) <= 0.05, `4k: TTFT ${s.ttftP50Ms.toFixed(1)} ms here, ${s.meter.ttftP50Ms?.toFixed(1)} ms by the meter`);
    }
    // The bigram profile's 4,096-token context cannot take the ~4k prompt as its small vocabulary reads it (~2 characters a token): that size fails (once, with why), the rest is measured.
    assert.deepEqual(fable.sizes.map((s) => s.size), ["short", "1k"]);
    const refused = fable.samples.filter((s) => s.size === "4k");
    assert.equal(refused.length, 1);
    assert.match(refused[0]?.error ?? "", /context/);
    // The table, the history, and the exports.
    const shown = await cli(["benchmarks", "show", run.id]);
    assert.match(shown.stdout, /^words\s+4k\s+\d+\s+\d+\s+\d+\s+\d+\s+[\d.]+ \(meter ×[\d.]+\)\s+\d+ MB/m);
    assert.match(shown.stdout, /^fable\s+4k\s+(?:–\s+){6}failed: 400: This model's maximum context length is 4096 tokens\. However, your messages resulted in \d+ tokens/m);
    assert.deepEqual(((await manager.api("GET", "/api/benchmarks")).json as { benchmarks: BenchRun[] }).benchmarks.map((b) => b.id), [run.id]);
    const csv = await manager.api("GET", `/api/benchmarks/${run.id}/export?format=csv`);
    assert.equal(csv.status, 200);
    assert.match(csv.text.split("\n")[0] ?? "", /^profile,engine,model,size,runs,prompt_tokens,ttft_p50_ms/);
    assert.equal(csv.text.trim().split("\n").length, 1 + 3 + 2);
    const json = await manager.api("GET", `/api/benchmarks/${run.id}/export?format=json`);
    assert.equal((json.json as BenchRun).id, run.id);
  });

  it("cancels a running benchmark: one run at a time, its client process ends, what it measured is kept, and a finished run can be deleted", async () => {
    const started = await manager.api("POST", "/api/benchmarks", { profiles: ["words"], settings: { sizes: ["1k"], runs: 50, maxTokens: 96, cold: false } });
    assert.equal(started.status, 202, started.text);
    const { id } = started.json as BenchRun;
    const again = await manager.api("POST", "/api/benchmarks", { profiles: ["fable"] });
    assert.equal(again.status, 409);
    assert.match((again.json as { error: { message: string } }).error.message, /A benchmark is running/);
    // Its requests are timed by a client in a process of its own, a child of the manager.
    const clients = (): number[] => childrenOf(manager.child.pid ?? 0).filter((pid) => readCmdline(pid).some((a) => a.endsWith("bench-client.js")));
    await waitUntil(async () => ((await manager.api("GET", `/api/benchmarks/${id}`)).json as BenchRun).progress?.done === 2, 30_000);
    assert.equal(clients().length, 1);
    // The gateway key reaches it on stdin, never in its arguments (which `ps` shows every user).
    const key = fs.readFileSync(path.join(root, "data", "gateway-key"), "utf8").trim();
    assert.ok(key.length > 20 && !readCmdline(clients()[0] ?? 0).join(" ").includes(key));
    const cancelled = await manager.api("POST", `/api/benchmarks/${id}/cancel`);
    assert.equal(cancelled.status, 200, cancelled.text);
    await waitUntil(async () => ((await manager.api("GET", `/api/benchmarks/${id}`)).json as BenchRun).state === "cancelled", 10_000);
    await waitUntil(() => clients().length === 0, 5000);
    const run = (await manager.api("GET", `/api/benchmarks/${id}`)).json as BenchRun;
    const [words] = run.results;
    assert.ok(words !== undefined);
    assert.equal(words.error, "cancelled");
    assert.ok(words.samples.length >= 2 && words.sizes[0]?.size === "1k", JSON.stringify(words));
    assert.equal((await manager.api("POST", `/api/benchmarks/${id}/cancel`)).status, 409);
    assert.equal((await manager.api("DELETE", `/api/benchmarks/${id}`)).status, 204);
    assert.equal((await manager.api("GET", `/api/benchmarks/${id}`)).status, 404);
  });

  it("measures perplexity with the llama engine's own route: the same every time, lower for the text the model was made from than for its words shuffled", async () => {
    const fableFile = path.join(root, "fable.txt");
    const shuffledFile = path.join(root, "shuffled.txt");
    fs.writeFileSync(fableFile, FABLE);
    fs.writeFileSync(shuffledFile, shuffledFable());
    const first = await cli(["perplexity", "fable", fableFile, "--sequence-length", "128"]);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /^Perplexity of fable \(test\/tiny-fable:fable\.gguf\) on fable\.txt: [\d.]+ ± [\d.]+ \(\d+ tokens scored in rows of 128, [\d.]+ s\)$/m);
    const again = JSON.parse((await cli(["perplexity", "fable", fableFile, "--sequence-length", "128", "--json"])).stdout) as PerplexityResult;
    const shuffled = JSON.parse((await cli(["perplexity", "fable", shuffledFile, "--sequence-length", "128", "--json"])).stdout) as PerplexityResult;
    assert.equal(first.stdout.match(/: ([\d.]+) ±/)?.[1], again.perplexity.toFixed(3));
    assert.ok(again.perplexity < 10 && shuffled.perplexity > 4 * again.perplexity, `${again.perplexity} on the fable, ${shuffled.perplexity} on its words shuffled`);
    const listed = ((await manager.api("GET", "/api/perplexity?profile=fable")).json as { results: PerplexityResult[] }).results;
    assert.deepEqual(listed.map((r) => r.textName), ["shuffled.txt", "fable.txt", "fable.txt"]);
  });
});
