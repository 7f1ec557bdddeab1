// Start to ready of the built-in llama engine on a tiny GGUF: through the manager's supervisor
// (API call → checks → spawn → health wait → running) against spawning the engine directly and
// polling its /health (the floor: what the engine itself costs). Runs alternate between the two.
import { removeTempDir } from "../test/helpers/hfCache";
import { ensureLlamaModuleInstalled, LlamaEngineProcess } from "../test/helpers/llamaEngine";
import { startManager } from "../test/helpers/manager";
import { GGUF_REPO, makeServerFixture } from "../test/helpers/servers";
import type { BenchRow } from "./types";

const ROUNDS = 5;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

export async function benchEngine(): Promise<BenchRow[]> {
  await ensureLlamaModuleInstalled();
  const fixture = await makeServerFixture("bench-engine-");
  const manager = await startManager({ dataDir: fixture.dataDir, hfCache: fixture.hfCache, env: fixture.env });
  try {
    const created = await manager.api("POST", "/api/profiles", {
      name: "bench",
      engine: "llama",
      model: { source: "cache", repoId: GGUF_REPO },
      options: { threads: 1, contextLength: 512 },
    });
    if (created.status !== 201) throw new Error(created.text);
    const ours: number[] = [];
    const direct: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const t0 = performance.now();
      const started = await manager.api("POST", "/api/servers/bench/start");
      if (started.status !== 200) throw new Error(started.text);
      ours.push(performance.now() - t0);
      await manager.api("POST", "/api/servers/bench/stop");

      const engine = await LlamaEngineProcess.start(["--model", fixture.gguf, "--threads", "1", "--ctx-size", "512"]);
      direct.push((await engine.waitUntilReady()).readyMs);
      await engine.stop();
    }
    const ms = (values: number[]): string => values.map((v) => Math.round(v)).join(", ");
    return [
      {
        name: "llama engine start to ready, tiny GGUF (goal ≤ 2.5 s)",
        ours: median(ours) / 1000,
        peer: median(direct) / 1000,
        unit: "s",
        note: `median of ${ROUNDS}, alternating; ours: POST /api/servers/{p}/start until it answers running (${ms(ours)} ms); peer: spawn dist/llama-engine.js and poll /health every 10 ms (${ms(direct)} ms)`,
      },
    ];
  } finally {
    await manager.api("POST", "/api/servers/stop-all").catch(() => undefined);
    await manager.stop();
    removeTempDir(fixture.root);
  }
}

if (require.main === module) {
  void benchEngine().then((rows) => {
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
  });
}
