// Gateway overhead, side by side in one run against the same upstreams: direct, through a naive
// node:http piping proxy (the peer), and through our gateway (Fastify + the manager's bearer hook +
// registerGatewayRoutes, metering every chunk). Upstreams, proxies and the measuring client each
// run in their own process, all on loopback; latencies use CLOCK_MONOTONIC (process.hrtime), which
// every process on the machine shares. Runs alternate between the three paths so that load from
// anything else on the machine falls on all of them alike.
//   npx tsx bench/gateway.ts                    (standalone)
//   npx tsx bench/gateway.ts <role> [args]      (a child process of the benchmark)
import { spawn, type ChildProcess } from "node:child_process";
import crypto from "node:crypto";
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { SseStreamMeter } from "../src/services/gateway/SseStreamMeter";
import { UsageMeter } from "../src/services/gateway/UsageMeter";
import { silentLogger } from "../src/services/logging/Logger";
import { FakeServerDirectory, FakeUpstream, fakeProfile, monotonicMs, recordedEvents, startGatewayApp } from "../test/helpers/upstreams";
import type { BenchRow } from "./types";

const PACE_MS = 5;
/** The key the TLS backend requires (a bench-only value). */
const REMOTE_KEY = "sk-bench-remote";
const FAST_EVENTS = 20_000;
/** No phase may run longer than this. */
const PHASE_DEADLINE_MS = 120_000;

type Path = "direct" | "piping" | "gateway";

interface Target {
  /** Base URL and the headers/model that path needs. */
  base: string;
  headers: Record<string, string>;
  model: (kind: "paced" | "fast") => string;
}

// ---------------------------------------------------------------- child processes

/** Runs one server of the benchmark in this process and prints `{"port": N, ...}` on stdout. */
async function serveRole(role: string, args: string[]): Promise<void> {
  // Exit (rather than die) on a signal, so that --cpu-prof and the like can write their files.
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => process.exit(0));
  if (role === "upstream-paced" || role === "upstream-fast" || role === "upstream-stamped") {
    const upstream = await FakeUpstream.start(
      role === "upstream-paced" || role === "upstream-stamped"
        ? { pace: "paced", intervalMs: PACE_MS, tokens: 10_000, usage: "separate", stampInText: role === "upstream-stamped" }
        : { pace: "fast", tokens: FAST_EVENTS, usage: "separate", eventsPerWrite: Number(args[0] ?? "1") },
    );
    process.stdout.write(`${JSON.stringify({ port: upstream.port })}\n`);
    return;
  }
  if (role === "upstream-paced-tls") {
    // A remote backend: https with a self-signed certificate, and a key it requires.
    const { generate } = await import("selfsigned");
    const pems = await generate([{ name: "commonName", value: "bench backend" }], { keySize: 2048, days: 1, algorithm: "sha256" } as Parameters<typeof generate>[1]);
    const upstream = await FakeUpstream.start({ pace: "paced", intervalMs: PACE_MS, tokens: 10_000, usage: "separate", tls: { cert: pems.cert, key: pems.private }, requireKey: REMOTE_KEY });
    process.stdout.write(`${JSON.stringify({ port: upstream.port, cert: pems.cert })}\n`);
    return;
  }
  if (role === "gateway-remote") {
    // Our gateway with the TLS backend as a remote profile: its certificate pinned, its key sent.
    const [port, certB64] = args;
    const certPem = Buffer.from(certB64 ?? "", "base64").toString("utf8");
    const fingerprint = new crypto.X509Certificate(certPem).fingerprint256;
    const directory = new FakeServerDirectory([
      { profile: fakeProfile("p-remote", "paced", "remote"), url: `https://127.0.0.1:${port ?? 0}`, access: { url: `https://127.0.0.1:${port ?? 0}`, pin: { certPem, fingerprint }, authorization: `Bearer ${REMOTE_KEY}`, generation: "bench" } },
    ]);
    const meter = new UsageMeter({ logger: silentLogger, store: { batch: () => undefined } });
    const app = await startGatewayApp({ directory, meter, logger: silentLogger });
    process.stdout.write(`${JSON.stringify({ port: Number(new URL(app.url).port), token: app.token })}\n`);
    return;
  }
  if (role === "piping") {
    // The naive peer: pipe the request to a fixed upstream, pipe the answer back.
    const upstreamPort = Number(args[0]);
    const server = http.createServer((req, res) => {
      const upstream = http.request({ host: "127.0.0.1", port: upstreamPort, path: req.url, method: req.method, headers: req.headers }, (upstreamRes) => {
        res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
        upstreamRes.pipe(res);
      });
      upstream.on("error", () => {
        if (!res.headersSent) res.writeHead(502);
        res.end();
      });
      res.on("close", () => upstream.destroy());
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
    return;
  }
  if (role === "gateway") {
    const [pacedPort, fastPort, fastBatchedPort, stampedPort] = args.map(Number);
    const directory = new FakeServerDirectory([
      { profile: fakeProfile("p-paced", "paced", "mlx-lm"), url: `http://127.0.0.1:${pacedPort ?? 0}` },
      { profile: fakeProfile("p-stamped", "stamped", "mlx-lm"), url: `http://127.0.0.1:${stampedPort ?? 0}` },
      { profile: fakeProfile("p-fast", "fast", "mlx-lm"), url: `http://127.0.0.1:${fastPort ?? 0}` },
      { profile: fakeProfile("p-fast16", "fast16", "mlx-lm"), url: `http://127.0.0.1:${fastBatchedPort ?? 0}` },
    ]);
    const meter = new UsageMeter({ logger: silentLogger, store: { batch: () => undefined } });
    const app = await startGatewayApp({ directory, meter, logger: silentLogger });
    process.stdout.write(`${JSON.stringify({ port: Number(new URL(app.url).port), token: app.token })}\n`);
    return;
  }
  throw new Error(`unknown role ${role}`);
}

const children: ChildProcess[] = [];

/** Starts `role` in a child process and returns what it printed. */
function startChild(role: string, args: string[]): Promise<{ port: number; token?: string; cert?: string }> {
  const child = spawn(process.execPath, ["--require", "tsx/cjs", __filename, role, ...args], {
    cwd: path.join(__dirname, ".."),
    stdio: ["ignore", "pipe", "inherit"],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`${role} did not start in 30 s`));
    }, 30_000);
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (text: string) => {
      out += text;
      const line = out.split("\n")[0];
      if (out.includes("\n") && line !== undefined) {
        clearTimeout(timer);
        resolve(JSON.parse(line) as { port: number; token?: string; cert?: string });
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${role} exited with ${code}`));
    });
  });
}

// ---------------------------------------------------------------- measuring client

const agent = new http.Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY });
/** For the TLS backend measured directly: trusts its certificate once the backend has made it. */
let tlsAgent: https.Agent | undefined;

interface StreamResult {
  ok: boolean;
  error?: string;
  /** receive time − stamped send time of each content chunk (ms). */
  latencies: number[];
  /** request start → first content chunk (ms). */
  ttftMs?: number;
  bytes: number;
  ms: number;
  events: number;
}

/** How to read one kind of stream: where its send-time stamps are and what marks its end. */
interface StreamShape {
  stamp: RegExp;
  end: string;
  /** Only lines with this are token events (the Responses stream repeats the text in its done events). */
  tokenLine?: string;
}

const CHAT_SHAPE: StreamShape = { stamp: /"sent_at":([\d.]+)/, end: "[DONE]" };

/** POSTs `body` and reads the SSE answer, parsing only what the measure needs. */
function sseRequest(url: string, headers: Record<string, string>, body: string, shape: StreamShape, parse: boolean, deadlineMs = PHASE_DEADLINE_MS): Promise<StreamResult> {
  return new Promise((resolve) => {
    const started = monotonicMs();
    const result: StreamResult = { ok: false, latencies: [], bytes: 0, ms: 0, events: 0 };
    let carry = "";
    let sawEnd = false;
    const finish = (ok: boolean, error?: string): void => {
      clearTimeout(timer);
      result.ok = ok;
      if (error !== undefined) result.error = error;
      result.ms = monotonicMs() - started;
      resolve(result);
    };
    const timer = setTimeout(() => {
      req.destroy();
      finish(false, "deadline");
    }, deadlineMs);
    const onResponse = (res: http.IncomingMessage): void => {
      if (res.statusCode !== 200) {
        res.resume();
        finish(false, `HTTP ${res.statusCode ?? 0}`);
        return;
      }
      res.socket.setNoDelay(true);
      res.on("data", (chunk: Buffer) => {
        const now = monotonicMs();
        result.bytes += chunk.length;
        if (!parse) {
          if (chunk.includes(shape.end)) sawEnd = true;
          return;
        }
        const lines = (carry + chunk.toString("utf8")).split("\n");
        carry = lines.pop() ?? "";
        for (const line of lines) {
          if (!line.startsWith("data:")) continue;
          result.events++;
          if (line.includes(shape.end)) sawEnd = true;
          if (shape.tokenLine !== undefined && !line.includes(shape.tokenLine)) continue;
          const stamp = shape.stamp.exec(line)?.[1];
          if (stamp === undefined) continue;
          result.ttftMs ??= now - started;
          result.latencies.push(now - Number(stamp));
        }
      });
      res.on("end", () => {
        finish(sawEnd, sawEnd ? undefined : `no ${shape.end}`);
      });
      res.on("error", (error) => {
        finish(false, error.message);
      });
    };
    const options = { method: "POST", headers: { "content-type": "application/json", ...headers } };
    const req = url.startsWith("https:") ? https.request(url, { ...options, agent: tlsAgent, checkServerIdentity: () => undefined }, onResponse) : http.request(url, { ...options, agent }, onResponse);
    req.on("error", (error) => {
      finish(false, error.message);
    });
    req.end(body);
  });
}

/** POSTs a streaming chat request to one path. */
function stream(target: Target, kind: "paced" | "fast", body: Record<string, unknown>, parse: boolean, deadlineMs = PHASE_DEADLINE_MS): Promise<StreamResult> {
  const request = JSON.stringify({ model: target.model(kind), messages: [{ role: "user", content: "bench" }], stream: true, ...body });
  return sseRequest(`${target.base}/v1/chat/completions`, target.headers, request, CHAT_SHAPE, parse, deadlineMs);
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

function median(values: readonly number[]): number {
  return percentile(values, 50);
}

const PATHS: Path[] = ["direct", "piping", "gateway"];

/** The three paths in a different order each round, so no path always runs first or last. */
function rotation(round: number): Path[] {
  return PATHS.map((_, i) => PATHS[(i + round) % PATHS.length] ?? "direct");
}

interface LatencyResult {
  /** Median over rounds of (this path's p50 − direct's p50 in the same round). */
  added: Record<Path, number>;
  directP50: number;
  samples: number;
  errors: Record<Path, number>;
  rounds: number;
}

/** Per-chunk latency of `streams` concurrent paced streams, each round running every path once. */
async function chunkLatency(targets: Record<Path, Target>, streams: number, rounds: number, chunks: number): Promise<LatencyResult> {
  const added: Record<Path, number[]> = { direct: [], piping: [], gateway: [] };
  const directP50s: number[] = [];
  const errors: Record<Path, number> = { direct: 0, piping: 0, gateway: 0 };
  let samples = 0;
  let done = 0;
  const deadline = performance.now() + PHASE_DEADLINE_MS;
  // Round 0 warms up connections and JIT on every hop and is not counted.
  for (let round = 0; round <= rounds && performance.now() < deadline; round++) {
    const p50: Partial<Record<Path, number>> = {};
    for (const p of rotation(round)) {
      const results = await Promise.all(Array.from({ length: streams }, () => stream(targets[p], "paced", { max_tokens: chunks }, true)));
      // The first chunks of a stream include its set-up: skip them.
      const latencies = results.flatMap((r) => r.latencies.slice(5));
      p50[p] = median(latencies);
      if (round === 0) continue;
      errors[p] += results.filter((r) => !r.ok).length;
      samples += p === "gateway" ? latencies.length : 0;
    }
    if (round === 0) continue;
    done++;
    directP50s.push(p50.direct ?? Number.NaN);
    for (const p of PATHS) added[p].push((p50[p] ?? Number.NaN) - (p50.direct ?? Number.NaN));
  }
  return { added: { direct: 0, piping: median(added.piping), gateway: median(added.gateway) }, directP50: median(directP50s), samples, errors, rounds: done };
}

/** Time to first token p50 over `requests` sequential requests per path, interleaved. */
async function timeToFirstToken(targets: Record<Path, Target>, requests: number): Promise<Record<Path, number>> {
  const ttft: Record<Path, number[]> = { direct: [], piping: [], gateway: [] };
  const deadline = performance.now() + PHASE_DEADLINE_MS;
  // 10 warm-up rounds open the kept-alive connections on every hop.
  for (let i = 0; i < requests + 10 && performance.now() < deadline; i++) {
    for (const p of rotation(i)) {
      const r = await stream(targets[p], "paced", { max_tokens: 1, first_token_delay_ms: 0 }, true);
      if (i >= 10 && r.ttftMs !== undefined) ttft[p].push(r.ttftMs);
    }
  }
  return { direct: median(ttft.direct), piping: median(ttft.piping), gateway: median(ttft.gateway) };
}

/** MB/s of one fast stream at a time, median over `rounds` per path (after 2 warm-up rounds). */
async function throughput(targets: Record<Path, Target>, rounds: number, model: string): Promise<Record<Path, { mbPerSec: number; eventsPerSec: number }>> {
  const rates: Record<Path, number[]> = { direct: [], piping: [], gateway: [] };
  const deadline = performance.now() + PHASE_DEADLINE_MS;
  for (let round = 0; round < rounds + 2 && performance.now() < deadline; round++) {
    for (const p of rotation(round)) {
      const target: Target = { ...targets[p], model: () => (p === "gateway" ? model : "fast") };
      const r = await stream(target, "fast", {}, false);
      if (round >= 2 && r.ok) rates[p].push(r.bytes / 1e6 / (r.ms / 1000));
    }
  }
  const eventBytes = recordedEvents(12).reduce((n, e) => n + e.length, 0) / 12;
  const out = {} as Record<Path, { mbPerSec: number; eventsPerSec: number }>;
  for (const p of PATHS) out[p] = { mbPerSec: median(rates[p]), eventsPerSec: (median(rates[p]) * 1e6) / eventBytes };
  return out;
}

/** `streams` concurrent paced streams on one path: how many failed (status, missing [DONE], short, error). */
async function concurrent(target: Target, streams: number, chunks: number): Promise<{ errors: number; firstError?: string; p50: number }> {
  const results = await Promise.all(Array.from({ length: streams }, () => stream(target, "paced", { max_tokens: chunks }, true)));
  const failed = results.filter((r) => !r.ok || r.latencies.length !== chunks);
  const out: { errors: number; firstError?: string; p50: number } = { errors: failed.length, p50: median(results.flatMap((r) => r.latencies.slice(5))) };
  const first = failed[0];
  if (first !== undefined) out.firstError = first.error ?? `${first.latencies.length} of ${chunks} chunks`;
  return out;
}

/** In-process: ns per event of the gateway's stream meter vs JSON.parse of every event. */
function meterCost(): { meterNs: number; parseNs: number } {
  const events = recordedEvents(FAST_EVENTS);
  const bytes = Buffer.concat(events);
  const reads = Array.from({ length: Math.ceil(bytes.length / 65_536) }, (_, i) => bytes.subarray(i * 65_536, (i + 1) * 65_536));
  let meterBest = Number.POSITIVE_INFINITY;
  let parseBest = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 20; round++) {
    let t = performance.now();
    const meter = new SseStreamMeter(true);
    for (const read of reads) meter.push(read, 0, () => undefined);
    meterBest = Math.min(meterBest, performance.now() - t);
    t = performance.now();
    for (const e of events) JSON.parse(e.toString("utf8", 6, e.length - 2));
    parseBest = Math.min(parseBest, performance.now() - t);
  }
  return { meterNs: (meterBest * 1e6) / FAST_EVENTS, parseNs: (parseBest * 1e6) / FAST_EVENTS };
}

type Api = "chat" | "messages" | "responses";

/** One streamed request to the gateway in one of its APIs; latencies from the send time stamped in each token's text. */
function apiStream(base: string, token: string, api: Api, maxTokens: number): Promise<StreamResult> {
  const stamp = /t\d+@([\d.]+)/;
  if (api === "responses") {
    const body = JSON.stringify({ model: "stamped", max_output_tokens: maxTokens, input: "bench", stream: true, store: false });
    return sseRequest(`${base}/v1/responses`, { authorization: `Bearer ${token}` }, body, { stamp, end: '"sequence_number"', tokenLine: '"response.output_text.delta"' }, true);
  }
  const body = JSON.stringify({ model: "stamped", max_tokens: maxTokens, messages: [{ role: "user", content: "bench" }], stream: true });
  return api === "chat"
    ? sseRequest(`${base}/v1/chat/completions`, { authorization: `Bearer ${token}` }, body, { stamp, end: "[DONE]" }, true)
    : sseRequest(`${base}/v1/messages`, { authorization: `Bearer ${token}`, "anthropic-version": "2023-06-01" }, body, { stamp, end: '"message_stop"' }, true);
}

/** A translation's cost: per-chunk latency and TTFT through the same gateway to the same upstream, `api` vs Chat Completions, interleaved. */
async function translationCost(base: string, token: string, api: "messages" | "responses"): Promise<{ chunk: { chat: number; translated: number }; ttft: { chat: number; translated: number }; errors: number; chunks: number }> {
  const apis = ["chat", api] as const;
  const chunkP50: Record<Api, number[]> = { chat: [], messages: [], responses: [] };
  const ttft: Record<Api, number[]> = { chat: [], messages: [], responses: [] };
  let errors = 0;
  let chunks = 0;
  const deadline = performance.now() + PHASE_DEADLINE_MS;
  for (let round = 0; round <= 12 && performance.now() < deadline; round++) {
    for (const one of round % 2 === 0 ? apis : [...apis].reverse()) {
      const r = await apiStream(base, token, one, 150);
      if (round === 0) continue;
      if (!r.ok) errors++;
      chunkP50[one].push(median(r.latencies.slice(5)));
      if (one === api) chunks += r.latencies.length;
    }
  }
  for (let i = 0; i < 110 && performance.now() < deadline; i++) {
    for (const one of i % 2 === 0 ? apis : [...apis].reverse()) {
      const r = await apiStream(base, token, one, 1);
      if (!r.ok) errors++;
      if (i >= 10 && r.ttftMs !== undefined) ttft[one].push(r.ttftMs);
    }
  }
  return { chunk: { chat: median(chunkP50.chat), translated: median(chunkP50[api]) }, ttft: { chat: median(ttft.chat), translated: median(ttft[api]) }, errors, chunks };
}

/**
 * What a remote hop adds per chunk: our gateway relaying to a remote backend over https (pinned
 * certificate, key) against that backend directly, next to the local hop (our gateway to a local
 * engine over http against that engine directly); four paths interleaved, one stream at a time.
 */
async function remoteHop(local: { direct: Target; gateway: Target }, remote: { direct: Target; gateway: Target }, rounds: number, chunks: number): Promise<{ remote: number; local: number; remoteDirectP50: number; errors: number; samples: number; rounds: number }> {
  const paths = { localDirect: local.direct, localGateway: local.gateway, remoteDirect: remote.direct, remoteGateway: remote.gateway };
  const names = Object.keys(paths) as (keyof typeof paths)[];
  const added = { remote: [] as number[], local: [] as number[] };
  const remoteDirect: number[] = [];
  let errors = 0;
  let samples = 0;
  let done = 0;
  const deadline = performance.now() + PHASE_DEADLINE_MS;
  for (let round = 0; round <= rounds && performance.now() < deadline; round++) {
    const p50: Partial<Record<keyof typeof paths, number>> = {};
    const order = names.map((_, i) => names[(i + round) % names.length] ?? "localDirect");
    for (const name of order) {
      const r = await stream(paths[name], "paced", { max_tokens: chunks }, true);
      p50[name] = median(r.latencies.slice(5));
      if (round > 0 && !r.ok) errors++;
      if (round > 0 && name === "remoteGateway") samples += r.latencies.length;
    }
    if (round === 0) continue;
    done++;
    added.remote.push((p50.remoteGateway ?? Number.NaN) - (p50.remoteDirect ?? Number.NaN));
    added.local.push((p50.localGateway ?? Number.NaN) - (p50.localDirect ?? Number.NaN));
    remoteDirect.push(p50.remoteDirect ?? Number.NaN);
  }
  return { remote: median(added.remote), local: median(added.local), remoteDirectP50: median(remoteDirect), errors, samples, rounds: done };
}

// ---------------------------------------------------------------- the suite

export async function benchGateway(): Promise<BenchRow[]> {
  try {
    const [paced, fast, fast16, stamped] = await Promise.all([startChild("upstream-paced", []), startChild("upstream-fast", ["1"]), startChild("upstream-fast", ["16"]), startChild("upstream-stamped", [])]);
    const [pipePaced, pipeFast, pipeFast16, gateway] = await Promise.all([
      startChild("piping", [String(paced.port)]),
      startChild("piping", [String(fast.port)]),
      startChild("piping", [String(fast16.port)]),
      startChild("gateway", [String(paced.port), String(fast.port), String(fast16.port), String(stamped.port)]),
    ]);
    const url = (port: number): string => `http://127.0.0.1:${port}`;
    const gatewayTarget: Target = { base: url(gateway.port), headers: { authorization: `Bearer ${gateway.token ?? ""}` }, model: (kind) => kind };
    const pacedTargets: Record<Path, Target> = {
      direct: { base: url(paced.port), headers: {}, model: () => "paced" },
      piping: { base: url(pipePaced.port), headers: {}, model: () => "paced" },
      gateway: gatewayTarget,
    };
    const fastTargets: Record<Path, Target> = {
      direct: { base: url(fast.port), headers: {}, model: () => "fast" },
      piping: { base: url(pipeFast.port), headers: {}, model: () => "fast" },
      gateway: gatewayTarget,
    };
    const fast16Targets: Record<Path, Target> = {
      direct: { base: url(fast16.port), headers: {}, model: () => "fast" },
      piping: { base: url(pipeFast16.port), headers: {}, model: () => "fast" },
      gateway: gatewayTarget,
    };

    process.stderr.write("  a remote hop over TLS...\n");
    const tlsBackend = await startChild("upstream-paced-tls", []);
    const remoteGateway = await startChild("gateway-remote", [String(tlsBackend.port), Buffer.from(tlsBackend.cert ?? "").toString("base64")]);
    tlsAgent = new https.Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY, ca: tlsBackend.cert ?? "" });
    const hop = await remoteHop(
      { direct: pacedTargets.direct, gateway: pacedTargets.gateway },
      {
        direct: { base: `https://127.0.0.1:${tlsBackend.port}`, headers: { authorization: `Bearer ${REMOTE_KEY}` }, model: () => "paced" },
        gateway: { base: url(remoteGateway.port), headers: { authorization: `Bearer ${remoteGateway.token ?? ""}` }, model: () => "paced" },
      },
      12,
      150,
    );
    process.stderr.write("  per-chunk latency, 1 stream...\n");
    const one = await chunkLatency(pacedTargets, 1, 12, 150);
    process.stderr.write("  per-chunk latency, 50 streams...\n");
    const fifty = await chunkLatency(pacedTargets, 50, 8, 100);
    process.stderr.write("  time to first token...\n");
    const ttft = await timeToFirstToken(pacedTargets, 100);
    process.stderr.write("  fast-stream throughput...\n");
    const tput = await throughput(fastTargets, 12, "fast");
    const tput16 = await throughput(fast16Targets, 12, "fast16");
    process.stderr.write("  200 concurrent streams...\n");
    const many = await concurrent(pacedTargets.gateway, 200, 100);
    const manyPiping = await concurrent(pacedTargets.piping, 200, 100);
    const cost = meterCost();
    process.stderr.write("  Anthropic Messages translation...\n");
    const messages = await translationCost(url(gateway.port), gateway.token ?? "", "messages");
    process.stderr.write("  OpenAI Responses translation...\n");
    const responses = await translationCost(url(gateway.port), gateway.token ?? "", "responses");

    return [
      {
        name: "remote hop: per-chunk added latency p50, https with a pinned certificate and a key, vs the backend directly (goal ≤ 0.5 ms)",
        ours: hop.remote,
        peer: hop.local,
        unit: "ms",
        note: `backend directly p50 ${hop.remoteDirectP50.toFixed(3)} ms; peer: what the gateway adds on a local hop (http) in the same rounds; median of ${hop.rounds} interleaved rounds, ${hop.samples} chunks through the remote hop, ${hop.errors} failed streams`,
      },
      {
        name: "per-chunk added latency p50, 1 stream (goal ≤ 0.5 ms)",
        ours: one.added.gateway,
        peer: one.added.piping,
        unit: "ms",
        note: `vs direct (p50 ${one.directP50.toFixed(3)} ms), median of ${one.rounds} interleaved rounds, ${one.samples} chunks through ours; 5 ms pacing; peer: node:http piping proxy`,
      },
      {
        name: "per-chunk added latency p50, 50 streams (goal ≤ 2 ms)",
        ours: fifty.added.gateway,
        peer: fifty.added.piping,
        unit: "ms",
        note: `vs direct (p50 ${fifty.directP50.toFixed(3)} ms), median of ${fifty.rounds} interleaved rounds, ${fifty.samples} chunks through ours; failed streams ours/peer/direct ${fifty.errors.gateway}/${fifty.errors.piping}/${fifty.errors.direct}`,
      },
      {
        name: "added time to first token p50, 100 requests (goal ≤ 2 ms)",
        ours: ttft.gateway - ttft.direct,
        peer: ttft.piping - ttft.direct,
        unit: "ms",
        note: `vs direct (p50 ${ttft.direct.toFixed(3)} ms), kept-alive connections on every hop`,
      },
      {
        name: "fast stream throughput, 1 event per upstream write, every event metered (goal ≥ 1.0× peer)",
        ours: tput.gateway.mbPerSec,
        peer: tput.piping.mbPerSec,
        unit: "MB/s",
        note: `direct ${tput.direct.mbPerSec.toFixed(1)} MB/s; ours ${(tput.gateway.eventsPerSec / 1000).toFixed(0)}k events/s, every one metered; ${FAST_EVENTS} events per stream`,
      },
      {
        name: "fast stream throughput, 16 events per upstream write, every event metered (goal ≥ 1.0× peer)",
        ours: tput16.gateway.mbPerSec,
        peer: tput16.piping.mbPerSec,
        unit: "MB/s",
        note: `direct ${tput16.direct.mbPerSec.toFixed(1)} MB/s; ours ${(tput16.gateway.eventsPerSec / 1000).toFixed(0)}k events/s: an upstream faster than any proxy`,
      },
      {
        name: "200 concurrent paced streams: failed streams (goal 0)",
        ours: many.errors,
        peer: manyPiping.errors,
        unit: "streams",
        note: `100 chunks each; per-chunk latency p50 ours ${many.p50.toFixed(2)} ms, peer ${manyPiping.p50.toFixed(2)} ms${many.firstError === undefined ? "" : `; first failure: ${many.firstError}`}`,
      },
      {
        name: "Messages translation: per-chunk latency p50, /v1/messages vs /v1/chat/completions (goal ≤ 0.1 ms added)",
        ours: messages.chunk.translated,
        peer: messages.chunk.chat,
        unit: "ms",
        note: `added ${(messages.chunk.translated - messages.chunk.chat).toFixed(3)} ms; same gateway, same upstream, 12 interleaved rounds of 150 chunks (${messages.chunks} through Messages); failed ${messages.errors}`,
      },
      {
        name: "Messages translation: time to first token p50, /v1/messages vs /v1/chat/completions (goal ≤ 1 ms added)",
        ours: messages.ttft.translated,
        peer: messages.ttft.chat,
        unit: "ms",
        note: `added ${(messages.ttft.translated - messages.ttft.chat).toFixed(3)} ms; 100 interleaved requests each; Messages also counts the prompt (an estimate here: the upstream cannot tokenize)`,
      },
      {
        name: "Responses translation: per-chunk latency p50, /v1/responses vs /v1/chat/completions (goal ≤ 0.1 ms added)",
        ours: responses.chunk.translated,
        peer: responses.chunk.chat,
        unit: "ms",
        note: `added ${(responses.chunk.translated - responses.chunk.chat).toFixed(3)} ms; same gateway, same upstream, 12 interleaved rounds of 150 chunks (${responses.chunks} through Responses); failed ${responses.errors}`,
      },
      {
        name: "Responses translation: time to first token p50, /v1/responses vs /v1/chat/completions (goal ≤ 1 ms added)",
        ours: responses.ttft.translated,
        peer: responses.ttft.chat,
        unit: "ms",
        note: `added ${(responses.ttft.translated - responses.ttft.chat).toFixed(3)} ms; 100 interleaved requests each; Responses also counts the prompt (an estimate here) and is not kept (store: false)`,
      },
      {
        name: "stream meter cost per SSE event",
        ours: cost.meterNs,
        peer: cost.parseNs,
        unit: "ns",
        note: "in-process, 64 KiB reads; peer: JSON.parse of every event",
      },
    ];
  } finally {
    agent.destroy();
    for (const child of children) child.kill();
    children.length = 0;
  }
}

if (require.main === module) {
  const [role, ...args] = process.argv.slice(2);
  if (role !== undefined) {
    void serveRole(role, args);
  } else {
    void benchGateway().then((rows) => {
      for (const r of rows) console.log(`${r.name}: ours ${r.ours.toFixed(3)} ${r.unit}, peer ${r.peer.toFixed(3)} ${r.unit} (${r.note})`);
    });
  }
}
