// The dashboard webview in real Chromium, ours (dist/webview/main.js: incremental markdown,
// tiles patched in place) vs a peer that re-renders from scratch with innerHTML (the same marked
// and DOMPurify), fed the same host messages.
//   npx tsx bench/dashboard.ts          (standalone; needs node scripts/build.mjs first)
import os from "node:os";
import path from "node:path";
import { build } from "esbuild";
import type { HostMessage } from "../src/shared/dashboard";
import type { MetricsSnapshot, ServerMetrics } from "../src/shared/metrics";
import type { ServerInfo } from "../src/shared/servers";
import { DashboardBrowser, type DashboardPage } from "../test/helpers/dashboardPage";
import type { BenchRow } from "./types";

const TOKENS_PER_SEC = 2000;
const STREAM_SECONDS = 10;
const TILES = 20;
const TILE_UPDATES = 12;

/** Installed before any page script: long tasks, and a listener that runs before the page's own. */
const PROBE = `
  window.__long = [];
  new PerformanceObserver((list) => { for (const e of list.getEntries()) window.__long.push([e.startTime, e.duration]); }).observe({ type: "longtask" });
  window.__updateMs = []; window.__added = []; window.__t0 = 0;
  window.addEventListener("message", (e) => { if (e.data && e.data.type === "metrics") window.__t0 = performance.now(); });
`;
/** Added after the page's listener: forces style and layout, so the time includes them. */
const AFTER = `
  window.__pendingAdded = 0;
  new MutationObserver((records) => { for (const r of records) for (const n of r.addedNodes) window.__pendingAdded += 1 + (n.querySelectorAll ? n.querySelectorAll("*").length : 0); })
    .observe(document.body, { subtree: true, childList: true, characterData: false });
  window.addEventListener("message", (e) => {
    if (!e.data || e.data.type !== "metrics") return;
    document.body.getBoundingClientRect();
    window.__updateMs.push(performance.now() - window.__t0);
    queueMicrotask(() => { window.__added.push(window.__pendingAdded); window.__pendingAdded = 0; });
  });
`;

function tokenText(i: number): string {
  // Paragraphs of 60 tokens, some bold, a fenced code block every 600 tokens.
  if (i % 600 === 599) return `\n\n\`\`\`ts\nconst w${i} = ${i};\n\`\`\`\n\n`;
  if (i % 60 === 59) return ` w${i}\n\n`;
  if (i % 25 === 0) return ` **w${i}**`;
  return ` w${i}`;
}

function inOrder(text: string, count: number): boolean {
  const seen = [...text.matchAll(/w(\d+)/g)].map((m) => Number(m[1]));
  // Each code block names its token twice (`const wN = N` has wN once): keep the first of each.
  const firsts = seen.filter((n, i) => i === 0 || n !== seen[i - 1]);
  return firsts.length === count && firsts.every((n, i) => n === i);
}

async function stream(dash: DashboardPage, streamId: string, selector: string): Promise<{ longest: number; longTasks: number; complete: boolean; seconds: number }> {
  // Long tasks of the setup (page load, tab switch) may be reported late: count only those that start now or later.
  const since = await dash.page.evaluate<number>("performance.now()");
  const total = TOKENS_PER_SEC * STREAM_SECONDS;
  const started = Date.now();
  let sent = 0;
  let seq = 0;
  const posts: Promise<void>[] = [];
  while (sent < total) {
    await new Promise((resolve) => setTimeout(resolve, 16));
    const due = Math.min(total, Math.floor(((Date.now() - started) / 1000) * TOKENS_PER_SEC));
    if (due <= sent) continue;
    let text = "";
    for (let i = sent; i < due; i++) text += tokenText(i);
    sent = due;
    posts.push(dash.post({ type: "chat.delta", streamId, seq: seq++, text }));
  }
  await Promise.all(posts);
  // Let the page finish what it queued (two frames).
  await dash.page.evaluate("new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))");
  const seconds = (Date.now() - started) / 1000;
  // textContent: blocks off screen are skipped by layout (content-visibility) but present.
  const rendered = (await dash.page.locator(selector).textContent()) ?? "";
  const long = (await dash.page.evaluate<[number, number][]>("window.__long")).filter(([start]) => start >= since).map(([, duration]) => duration);
  return { longest: long.length ? Math.max(...long) : 0, longTasks: long.filter((d) => d > 50).length, complete: inOrder(rendered, total), seconds };
}

function fakeServers(): ServerInfo[] {
  return Array.from({ length: TILES }, (_, i) => ({
    profileId: `p${i}`, profileName: `Model ${i}`, engine: "mlx-lm" as const, model: `mlx-community/Model-${i}-4bit`, port: 8100 + i, pid: 4000 + i,
    state: "running" as const, upstreamUrl: `http://127.0.0.1:${8100 + i}`, restarts: 0, logFile: "", adopted: false, command: [], warnings: [],
  }));
}

function metrics(servers: ServerInfo[], step: number, changeAll: boolean): MetricsSnapshot {
  const t0 = 1_700_000_000_000;
  return {
    sampledAt: t0 + step * 1000,
    servers: servers.map((s, i): ServerMetrics => {
      const k = changeAll ? step : 0;
      const history = Array.from({ length: 60 }, (_, j): [number, number] => [t0 + (j + k) * 1000, 1e9 + ((j * 7 + i + k) % 13) * 1e7]);
      return {
        profileId: s.profileId, profileName: s.profileName, engine: s.engine, pid: s.pid ?? 0, cpuPercent: 10 + i + k, memoryBytes: 1e9 + i * 1e8 + k * 1e6,
        memorySource: "rss", uptimeSeconds: 600, requests: 5 + k, tokensPerSecLast: 40 + k, tokensPerSecMinute: 30 + k, ttftP50Ms: 120, queueWaitP50Ms: 3, queueDepth: k % 3, activeRequests: 1, slots: 1,
        history: { memoryBytes: history, tokensPerSec: history.map(([t, v]): [number, number] => [t, v / 1e8]), cpuPercent: [] },
      };
    }),
    system: { platform: "linux", memoryTotalBytes: 24e9, memoryUsedBytes: 12e9, memorySource: "os", memoryFreePercent: null, gpuUtilizationPercent: null, history: { memoryUsedBytes: [], gpuUtilizationPercent: [] } },
    sampler: { samples: step + 1, intervalMs: 1000, watchers: 1, lastCpuMs: 1, cpuPercentOfInterval: 0.1 },
  };
}

async function tiles(dash: DashboardPage): Promise<{ p50Ms: number; nodesChanged: number; nodesUnchanged: number }> {
  const servers = fakeServers();
  await dash.post({ type: "init", connected: true, profiles: [], servers, metrics: metrics(servers, 0, true), streams: [], jobs: [], benchmarks: [], perplexity: [] });
  await dash.post({ type: "metrics", snapshot: metrics(servers, 0, true) });
  await dash.page.evaluate(AFTER);
  for (let step = 1; step <= TILE_UPDATES; step++) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await dash.post({ type: "metrics", snapshot: metrics(servers, step, true) });
  }
  const changed = await dash.page.evaluate<number[]>("window.__added.splice(0)");
  const times = await dash.page.evaluate<number[]>("window.__updateMs.splice(0)");
  for (let step = 0; step < 3; step++) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await dash.post({ type: "metrics", snapshot: metrics(servers, TILE_UPDATES, true) });
  }
  const unchanged = await dash.page.evaluate<number[]>("window.__added.splice(0)");
  const sorted = [...times].sort((a, b) => a - b);
  return { p50Ms: sorted[Math.floor(sorted.length / 2)] ?? 0, nodesChanged: avg(changed), nodesUnchanged: avg(unchanged) };
}

function avg(values: number[]): number {
  return values.length ? values.reduce((a, b) => a + b, 0) / values.length : 0;
}

/** Ours: the real bundle, driven like the host drives it. */
async function openOurs(browser: DashboardBrowser): Promise<{ dash: DashboardPage; streamId: () => Promise<string> }> {
  const target: { dash?: DashboardPage } = {};
  let resolveStream: (id: string) => void = () => undefined;
  const streamIdPromise = new Promise<string>((resolve) => { resolveStream = resolve; });
  const reply = (id: number, result: unknown): void => { void target.dash?.post({ type: "reply", id, ok: true, result }); };
  const dash = (target.dash = await browser.open({
    theme: "dark",
    onMessage: (raw) => {
      const m = raw as { type: string; id?: number; streamId?: string };
      if (m.type === "ready") {
        void target.dash?.post({ type: "init", connected: true, profiles: [{ id: "p", name: "Story", engine: "llama", model: "test/tiny" }], servers: [], metrics: null, streams: [], jobs: [], benchmarks: [], perplexity: [] } satisfies HostMessage);
      } else if (m.type === "chat.send" && m.id !== undefined && m.streamId) {
        reply(m.id, { streamId: m.streamId });
        resolveStream(m.streamId);
      } else if (m.type === "conversations.list" && m.id !== undefined) {
        reply(m.id, { conversations: [] });
      } else if (m.id !== undefined) {
        reply(m.id, {});
      }
    },
  }));
  await dash.page.addInitScript(PROBE);
  await dash.load();
  const page = dash.page;
  return {
    dash,
    streamId: async () => {
      await page.locator('vscode-tab-header[data-tab="chat"]').click();
      await page.locator(".target-picker").evaluate((el) => { (el as unknown as { value: string }).value = "Story"; });
      const box = page.locator(".composer-input textarea");
      await box.fill("Write a long text.");
      await box.press("Enter");
      return streamIdPromise;
    },
  };
}

async function openPeer(browser: DashboardBrowser): Promise<DashboardPage> {
  const dash = await browser.open({ theme: "dark", pathname: "/peer", onMessage: () => undefined });
  await dash.page.addInitScript(PROBE);
  await dash.load();
  await dash.page.waitForFunction("window.__peerReady === true");
  return dash;
}

export async function benchDashboard(): Promise<BenchRow[]> {
  const peer = await build({ entryPoints: [path.join(__dirname, "dashboard", "naivePeer.mjs")], bundle: true, write: false, format: "iife", minify: true, logLevel: "warning" });
  const browser = new DashboardBrowser();
  await browser.start();
  browser.addFile("/peer", "text/html", `<!DOCTYPE html><html><body><script src="/peer.js"></script></body></html>`);
  browser.addFile("/peer.js", "text/javascript", Buffer.from(peer.outputFiles[0]?.contents ?? new Uint8Array()));
  try {
    const ours = await openOurs(browser);
    const id = await ours.streamId();
    const oursStream = await stream(ours.dash, id, ".message.assistant .message-body");
    await ours.dash.close();
    const peerPage = await openPeer(browser);
    const peerStream = await stream(peerPage, "s", "#peer-reply");
    await peerPage.close();

    const oursTilesPage = await openOurs(browser);
    const oursTiles = await tiles(oursTilesPage.dash);
    await oursTilesPage.dash.close();
    const peerTilesPage = await openPeer(browser);
    const peerTiles = await tiles(peerTilesPage);
    await peerTilesPage.close();

    const load = `load average ${os.loadavg()[0]?.toFixed(1) ?? "?"} on ${os.cpus().length} cores`;
    const note = `${TOKENS_PER_SEC} tokens/s for ${STREAM_SECONDS} s, deltas every 16 ms as the host sends them; goal: no long task over 50 ms; ${load}`;
    return [
      { name: "stream: longest task", ours: oursStream.longest, peer: peerStream.longest, unit: "ms", note: `${note} (0 = none over 50 ms)` },
      { name: "stream: long tasks over 50 ms", ours: oursStream.longTasks, peer: peerStream.longTasks, unit: "tasks", note },
      { name: "stream: text complete and in order", ours: oursStream.complete ? 1 : 0, peer: peerStream.complete ? 1 : 0, unit: "(1 = yes)", note: "every token rendered, in order, once the stream ends" },
      { name: "stream: wall time to render all", ours: oursStream.seconds, peer: peerStream.seconds, unit: "s", note: "the peer falls behind the stream" },
      { name: "20 tiles: time per update (p50)", ours: oursTiles.p50Ms, peer: peerTiles.p50Ms, unit: "ms", note: `every tile's figures change, ${TILE_UPDATES} updates 1 s apart; script + style + layout` },
      { name: "20 tiles: DOM nodes created per update", ours: oursTiles.nodesChanged, peer: peerTiles.nodesChanged, unit: "nodes", note: "every tile's figures change (ours: text nodes of changed figures)" },
      { name: "20 tiles: DOM nodes created, unchanged update", ours: oursTiles.nodesUnchanged, peer: peerTiles.nodesUnchanged, unit: "nodes", note: "same figures again; goal: none" },
    ];
  } finally {
    await browser.stop();
  }
}

if (require.main === module) {
  void benchDashboard().then((rows) => {
    for (const r of rows) console.log(`${r.name}: ours ${r.ours.toFixed(2)} ${r.unit}, peer ${r.peer.toFixed(2)} ${r.unit} — ${r.note}`);
  });
}
