// Parallel decoding and the memory budget, through the real manager and gateway:
// - aggregate decode tokens/s of 4 concurrent streamed requests to a `llama` profile with
//   parallel=4, against the same model with parallel=1 (requests then queue one at a time);
// - a request for a model that must first make room (another server stopped, this one started
//   just in time) until its first token, against a bare engine start and the same request to it.
import fs from "node:fs";
import path from "node:path";
import { removeTempDir } from "../test/helpers/hfCache";
import { ensureLlamaModuleInstalled, LlamaEngineProcess } from "../test/helpers/llamaEngine";
import { startManager, type RunningManager } from "../test/helpers/manager";
import { makeServerFixture } from "../test/helpers/servers";
import type { BenchRow } from "./types";

const STORIES = path.resolve(__dirname, "..", "..", "shared", "models", "stories260K.gguf");
const CONCURRENT = 4;
const MAX_TOKENS = 200;
const ROUNDS = 3;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

/** Streams one chat request; resolves with its completion tokens and when its first and last token came. */
async function stream(base: string, key: string, model: string, prompt: string): Promise<{ tokens: number; first: number; last: number }> {
  const response = await fetch(`${base}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ model, messages: [{ role: "user", content: prompt }], max_tokens: MAX_TOKENS, temperature: 0.8, stream: true, stream_options: { include_usage: true } }),
  });
  if (!response.ok || response.body === null) throw new Error(`${response.status} ${await response.text()}`);
  let first = 0;
  let last = 0;
  let tokens = 0;
  let text = "";
  const decoder = new TextDecoder();
  for await (const chunk of response.body) {
    const now = performance.now();
    text += decoder.decode(chunk as Uint8Array, { stream: true });
    if (first === 0 && text.includes('"content"')) first = now;
    last = now;
  }
  const usage = /"completion_tokens":(\d+)/.exec(text);
  tokens = usage ? Number(usage[1]) : 0;
  return { tokens, first, last };
}

async function profile(manager: RunningManager, name: string, model: string, parallel: number): Promise<void> {
  const created = await manager.api("POST", "/api/profiles", { name, engine: "llama", model: { source: "path", path: model }, options: { threads: 1, contextLength: 512, parallel } });
  if (created.status !== 201) throw new Error(created.text);
}

export async function benchScheduler(): Promise<BenchRow[]> {
  await ensureLlamaModuleInstalled();
  const fixture = await makeServerFixture("bench-scheduler-");
  const model = fs.existsSync(STORIES) ? STORIES : fixture.gguf;
  const manager = await startManager({ dataDir: fixture.dataDir, hfCache: fixture.hfCache, env: fixture.env });
  try {
    const key = ((await manager.api("GET", "/api/gateway-key")).json as { key: string }).key;
    await profile(manager, "par1", model, 1);
    await profile(manager, "par4", model, CONCURRENT);
    await profile(manager, "other", model, 1);

    // Aggregate decode speed of 4 concurrent requests, the two profiles alternating round by round.
    const rate: Record<string, number[]> = { par1: [], par4: [] };
    for (const name of ["par1", "par4"]) await stream(manager.url, key, name, "Once upon a time");
    for (let round = 0; round < ROUNDS; round++) {
      for (const name of ["par1", "par4"]) {
        const t0 = performance.now();
        const answers = await Promise.all(Array.from({ length: CONCURRENT }, (_, i) => stream(manager.url, key, name, `Story ${round}-${i}: once upon a time`)));
        const tokens = answers.reduce((sum, a) => sum + a.tokens, 0);
        rate[name]?.push(tokens / ((performance.now() - t0) / 1000));
      }
    }
    await manager.api("POST", "/api/servers/stop-all", {});

    // A model that must make room first: a budget of one server, "other" running, then a request for "par1".
    await stream(manager.url, key, "other", "Hi");
    const one = ((await manager.api("GET", "/api/memory/budget")).json as { heldBytes: number }).heldBytes;
    await manager.api("PATCH", "/api/settings", { memoryBudgetBytes: Math.round(one * 1.5) });
    const evicting: number[] = [];
    const bare: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const target = round % 2 === 0 ? "par1" : "other";
      const t0 = performance.now();
      const answer = await stream(manager.url, key, target, "Once upon a time");
      evicting.push(answer.first - t0);

      const t1 = performance.now();
      const engine = await LlamaEngineProcess.start(["--model", model, "--threads", "1", "--ctx-size", "512"]);
      await engine.waitUntilReady();
      const direct = await stream(engine.url, "none", "x", "Once upon a time");
      bare.push(direct.first - t1);
      await engine.stop();
    }
    const list = (values: number[], digits = 0): string => values.map((v) => v.toFixed(digits)).join(", ");
    return [
      {
        name: `aggregate decode tokens/s, ${CONCURRENT} concurrent streams, parallel=${CONCURRENT} vs parallel=1 (goal ≥ 2×)`,
        ours: median(rate["par4"] ?? []),
        peer: median(rate["par1"] ?? []),
        unit: "tok/s",
        note: `${path.basename(model)}, 1 thread, ${MAX_TOKENS} tokens each, median of ${ROUNDS} alternating rounds through the gateway (parallel=4: ${list(rate["par4"] ?? [], 1)}; parallel=1: ${list(rate["par1"] ?? [], 1)})`,
      },
      {
        name: "request for a model that must make room → first token, vs a bare engine start → first token (goal ≤ 1.1×)",
        ours: median(evicting),
        peer: median(bare),
        unit: "ms",
        note: `ours: the other server stopped (SIGTERM, port free) and this one started just in time, through the gateway (${list(evicting)} ms); peer: spawn dist/llama-engine.js, poll /health, stream the same request (${list(bare)} ms)`,
      },
    ];
  } finally {
    await manager.api("POST", "/api/servers/stop-all", {}).catch(() => undefined);
    await manager.stop();
    removeTempDir(fixture.root);
  }
}
