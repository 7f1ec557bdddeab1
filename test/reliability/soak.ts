// `npm run soak`: mixed, bounded loopback traffic against a real manager process for SOAK_MINUTES
// (default 30), with the manager's RSS sampled every SOAK_SAMPLE_SECONDS (default 10). Reports the
// RSS slope after a warm-up (SOAK_WARMUP_FRACTION of the run, default the first half: V8 grows its heap
// for the first 10-15 minutes before it levels off) and fails (exit 1) when it projects more
// than SOAK_MAX_MIB_PER_HOUR (default 32) of growth per hour, or when any request failed.
//
// Traffic, 4 workers at once: streamed and plain chats through /v1 to a fast engine (the
// llama-server stand-in), reads of profiles/servers/models/metrics/usage, profile create → edit →
// delete, one event subscriber that reconnects every minute, and a server restart every 2 minutes.
import fs from "node:fs";
import { removeTempDir } from "../helpers/hfCache";
import { startManager } from "../helpers/manager";
import { killGroups, pidsWithCommandLine } from "../helpers/servers";
import { MiB, fakeProfile, makeFixture, rssOf, slope } from "./helpers";

const minutes = Number(process.env["SOAK_MINUTES"] ?? 30);
const sampleSeconds = Number(process.env["SOAK_SAMPLE_SECONDS"] ?? 10);
const maxMibPerHour = Number(process.env["SOAK_MAX_MIB_PER_HOUR"] ?? 32);
const outFile = process.env["SOAK_OUT"];
const warmupFraction = Number(process.env["SOAK_WARMUP_FRACTION"] ?? 0.5);

async function main(): Promise<number> {
  const fixture = await makeFixture("mlx-soak-");
  const manager = await startManager({ dataDir: fixture.dataDir, hfCache: fixture.hfCache, env: fixture.env });
  const pid = manager.child.pid!;
  const counts = { chatsStreamed: 0, chatsPlain: 0, reads: 0, profileEdits: 0, events: 0, restarts: 0, failed: 0 };
  const failures: string[] = [];
  const fail = (what: string): void => {
    counts.failed++;
    if (failures.length < 20) failures.push(what.slice(-400));
  };
  const deadline = Date.now() + minutes * 60_000;
  const headers = { authorization: `Bearer ${manager.token}`, "content-type": "application/json" };
  try {
    const created = await manager.api("POST", "/api/profiles", fakeProfile("soak", { FAKE_LLAMA_INTERVAL_MS: "2" }));
    if (created.status !== 201) throw new Error(created.text);
    const started = await manager.api("POST", "/api/servers/soak/start");
    if (started.status !== 200) throw new Error(started.text);

    const samples: [number, number][] = [];
    const began = Date.now();
    const sampler = setInterval(() => {
      const rss = rssOf(pid);
      if (rss !== undefined) samples.push([(Date.now() - began) / 60_000, rss / MiB]);
    }, sampleSeconds * 1000);
    samples.push([0, (rssOf(pid) ?? 0) / MiB]);

    // One event subscriber, reconnecting every minute.
    const subscriber = (async () => {
      while (Date.now() < deadline) {
        const controller = new AbortController();
        const timer = setTimeout(() => { controller.abort(); }, Math.min(60_000, Math.max(0, deadline - Date.now())));
        try {
          const response = await fetch(`${manager.url}/api/events`, { headers, signal: controller.signal });
          if (!response.body) throw new Error(`events: ${response.status}`);
          const decoder = new TextDecoder();
          for await (const chunk of response.body) counts.events += decoder.decode(chunk as Uint8Array, { stream: true }).split("\n\n").length - 1;
        } catch (error) {
          if (!controller.signal.aborted) fail(`events: ${String(error)}`);
        } finally {
          clearTimeout(timer);
        }
      }
    })();

    const step = async (n: number): Promise<void> => {
      const r = n % 20;
      if (r < 10) {
        const res = await fetch(`${manager.url}/v1/chat/completions`, { method: "POST", headers, body: JSON.stringify({ model: "soak", messages: [{ role: "user", content: `soak ${n}` }], max_tokens: 20, stream: true, stream_options: { include_usage: true } }) });
        const text = await res.text();
        if (res.status !== 200 || !text.includes("[DONE]")) fail(`stream ${res.status} ${text.slice(0, 200)}`);
        else counts.chatsStreamed++;
      } else if (r < 14) {
        const res = await fetch(`${manager.url}/v1/chat/completions`, { method: "POST", headers, body: JSON.stringify({ model: "soak", messages: [{ role: "user", content: "plain" }], max_tokens: 5 }) });
        await res.arrayBuffer();
        if (res.status !== 200) fail(`chat ${res.status}`);
        else counts.chatsPlain++;
      } else if (r < 18) {
        for (const route of ["/api/profiles", "/api/servers", "/api/models", "/api/metrics", "/api/usage", "/api/status"]) {
          const res = await manager.api("GET", route);
          if (res.status !== 200) fail(`GET ${route} ${res.status}`);
          else counts.reads++;
        }
      } else {
        const name = `soak-${n}`;
        const made = await manager.api("POST", "/api/profiles", fakeProfile(name));
        const id = (made.json as { id?: string } | undefined)?.id;
        const edited = id ? await manager.api("PATCH", `/api/profiles/${id}`, { version: 1, port: 40_000 + (n % 1000) }) : undefined;
        const removed = id ? await manager.api("DELETE", `/api/profiles/${id}`) : undefined;
        if (made.status !== 201 || edited?.status !== 200 || (removed?.status ?? 0) >= 300) fail(`profile edit ${made.status} ${edited?.status} ${removed?.status}`);
        else counts.profileEdits++;
      }
    };

    // A restart cuts the streams in flight (the gateway ends them with an upstream_broke_off error
    // event, as it should); the soak drains its own requests first so that every request counts.
    let n = 0;
    let active = 0;
    let restartAt = Date.now() + 120_000;
    let restarting: Promise<void> | undefined;
    const restart = async (): Promise<void> => {
      while (active > 0) await new Promise((r) => setTimeout(r, 5));
      const res = await manager.api("POST", "/api/servers/soak/restart");
      if (res.status !== 200) fail(`restart ${res.status} ${res.text.slice(0, 200)}`);
      else counts.restarts++;
    };
    const worker = async (): Promise<void> => {
      while (Date.now() < deadline) {
        if (Date.now() > restartAt && restarting === undefined) {
          restartAt = Date.now() + 120_000;
          restarting = restart().finally(() => { restarting = undefined; });
        }
        if (restarting) {
          await restarting;
          continue;
        }
        active++;
        await step(n++).catch((error: unknown) => { fail(String(error)); }).finally(() => { active--; });
      }
    };
    const progress = setInterval(() => {
      const last = samples.at(-1);
      console.log(`soak: ${((Date.now() - began) / 60_000).toFixed(1)} min, ${n} steps, RSS ${last?.[1].toFixed(1) ?? "?"} MiB, failed ${counts.failed}`);
    }, 60_000);
    await Promise.all([worker(), worker(), worker(), worker()]);
    await subscriber;
    clearInterval(sampler);
    clearInterval(progress);
    samples.push([(Date.now() - began) / 60_000, (rssOf(pid) ?? 0) / MiB]);

    const steady = samples.filter(([t]) => t >= minutes * warmupFraction);
    const mibPerMinute = slope(steady);
    const rss = steady.map(([, v]) => v);
    const report = {
      minutes,
      steps: n,
      ...counts,
      failures,
      rssMiB: { start: samples[0]?.[1], min: Math.min(...rss), max: Math.max(...rss), end: samples.at(-1)?.[1] },
      slopeMiBPerHour: Number((mibPerMinute * 60).toFixed(2)),
      samples: samples.length,
      verdict: counts.failed === 0 && mibPerMinute * 60 <= maxMibPerHour ? "pass" : "fail",
    };
    console.log(JSON.stringify(report, null, 2));
    if (outFile) fs.writeFileSync(outFile, JSON.stringify({ ...report, series: samples }, null, 2));
    return report.verdict === "pass" ? 0 : 1;
  } finally {
    await manager.api("POST", "/api/servers/stop-all").catch(() => undefined);
    await manager.stop();
    killGroups(pidsWithCommandLine(fixture.root));
    removeTempDir(fixture.root);
  }
}

main().then((code) => process.exit(code), (error: unknown) => {
  console.error(error);
  process.exit(1);
});
