// Shared mode's authentication costs. In process: what the shared listener does per /v1 request
// before the gateway (verified-token cache hit + token version and status + per-user rate limit +
// connection tracking; or the API key's SHA-256 lookup) next to the loopback API's local-token
// check, each timed in batches of 1,000 calls; jose's full HS256 verify for reference; login
// (argon2id verify + token) next to a bare argon2id verify. Then end to end through a real
// manager: GET /v1/models over keep-alive HTTP with a JWT on the shared listener vs the local token
// on loopback, alternating so machine load falls on both alike.
//   npx tsx bench/auth.ts
import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { verify } from "@node-rs/argon2";
import { jwtVerify } from "jose";
import { bearerMatches } from "../src/services/api/auth";
import { AccountService, type AccountStore } from "../src/services/auth/AccountService";
import { hashPassword } from "../src/services/auth/passwords";
import { SharedAccess, loginWithLimits } from "../src/services/auth/SharedAccess";
import { TokenService } from "../src/services/auth/TokenService";
import { silentLogger } from "../src/services/logging/Logger";
import { makeTempDir, removeTempDir } from "../test/helpers/hfCache";
import { startManager } from "../test/helpers/manager";
import { login, openShared } from "../test/helpers/shared";
import type { BenchRow } from "./types";

/** The accounts' store, in memory: the benchmark measures the auth path, not sql.js. */
const memoryStore: AccountStore = { run: () => undefined, batch: () => undefined, all: () => [] };

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

/** p50 of the per-call time (ms) of `fn`, timed in batches of `batch` calls. */
async function perCall(fn: () => unknown, batches = 200, batch = 1000): Promise<number> {
  for (let i = 0; i < batch * 5; i++) await fn();
  const samples: number[] = [];
  for (let b = 0; b < batches; b++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) await fn();
    samples.push(Number(process.hrtime.bigint() - t0) / 1e6 / batch);
  }
  return median(samples);
}

async function inProcess(): Promise<BenchRow[]> {
  const secret = crypto.randomBytes(32);
  const accounts = new AccountService({ store: memoryStore, logger: silentLogger });
  const tokens = new TokenService({ secret });
  const access = new SharedAccess(accounts, tokens, { requestsPerMinute: Number.MAX_SAFE_INTEGER });
  await accounts.createFirstAdmin("bench@example.com", "bench long passphrase", { kind: "owner" });
  const user = await loginWithLimits(access, "bench@example.com", "bench long passphrase", "127.0.0.1");
  const { token } = await tokens.issue(user);
  const key = accounts.createKey(user, "bench", undefined).key;
  const localToken = crypto.randomBytes(32).toString("base64url");
  const jwtHeader = `Bearer ${token}`;
  const keyHeader = `Bearer ${key}`;
  const localHeader = `Bearer ${localToken}`;

  /** What SharedListener's /v1 guard does for an approved user (minus the reply). */
  const guard = async (header: string): Promise<void> => {
    const principal = await access.fromBearer(header);
    if (principal?.user.status !== "approved") throw new Error("refused");
    if (!access.requestsByUser.hit(principal.user.id).allowed) throw new Error("limited");
    access.track(principal.user.id, undefined);
  };
  const local = await perCall(() => {
    if (!bearerMatches(localHeader, localToken)) throw new Error("refused");
  });
  const jwt = await perCall(() => guard(jwtHeader));
  const apiKey = await perCall(() => guard(keyHeader));
  const key256 = crypto.createSecretKey(secret);
  const fullVerify = await perCall(() => jwtVerify(token, key256, { algorithms: ["HS256"] }), 50, 200);

  const phc = await hashPassword("bench long passphrase");
  const logins: number[] = [];
  const bare: number[] = [];
  for (let i = 0; i < 30; i++) {
    let t0 = process.hrtime.bigint();
    const who = await loginWithLimits(access, "bench@example.com", "bench long passphrase", "127.0.0.1");
    await tokens.issue(who);
    logins.push(Number(process.hrtime.bigint() - t0) / 1e6);
    t0 = process.hrtime.bigint();
    await verify(phc, "bench long passphrase");
    bare.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  accounts.close();
  return [
    { name: "auth per /v1 request, JWT (cached) vs local token, p50", ours: jwt * 1000, peer: local * 1000, unit: "µs", note: `auth cost per request ${jwt.toFixed(4)} ms (goal ≤ 0.05 ms added); expiry, token version, role, status, rate limit checked on every call` },
    { name: "auth per /v1 request, API key vs local token, p50", ours: apiKey * 1000, peer: local * 1000, unit: "µs", note: `auth cost per request ${apiKey.toFixed(4)} ms; SHA-256 + map lookup + the same checks` },
    { name: "JWT check: cache hit vs jose jwtVerify (HS256), p50", ours: jwt * 1000, peer: fullVerify * 1000, unit: "µs", note: "what the cache saves per request" },
    { name: "login (argon2id verify + HS256 token) vs bare argon2id verify, p50", ours: median(logins), peer: median(bare), unit: "ms", note: "m=19 MiB, t=2, p=1" },
  ];
}

async function timeGet(url: string, headers: Record<string, string>, agent: http.Agent): Promise<number> {
  const t0 = process.hrtime.bigint();
  await new Promise<void>((resolve, reject) => {
    http
      .get(url, { agent, headers }, (res) => {
        if (res.statusCode !== 200) reject(new Error(`${url}: ${res.statusCode}`));
        res.on("data", () => undefined);
        res.on("end", resolve);
      })
      .on("error", reject);
  });
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

async function endToEnd(): Promise<BenchRow[]> {
  const root = makeTempDir("bench-auth-");
  const hub = path.join(root, "hub");
  fs.mkdirSync(hub);
  const manager = await startManager({ dataDir: path.join(root, "data"), hfCache: hub, env: { HOME: root } });
  try {
    const shared = await openShared(manager, { requestsPerMinute: 100_000 });
    const token = await login(shared, "Admin@Example.com", "correct horse battery staple");
    const agents = [new http.Agent({ keepAlive: true, maxSockets: 1 }), new http.Agent({ keepAlive: true, maxSockets: 1 })] as const;
    const local: number[] = [];
    const viaJwt: number[] = [];
    for (let i = 0; i < 3000; i++) {
      const a = await timeGet(`${manager.url}/v1/models`, { authorization: `Bearer ${manager.token}` }, agents[0]);
      const b = await timeGet(`${shared}/v1/models`, { authorization: `Bearer ${token}` }, agents[1]);
      if (i >= 200) {
        local.push(a);
        viaJwt.push(b);
      }
    }
    agents.forEach((agent) => { agent.destroy(); });
    const ours = median(viaJwt);
    const peer = median(local);
    return [{ name: "GET /v1/models end to end: shared listener + JWT vs loopback + local token, p50", ours, peer, unit: "ms", note: `difference ${(ours - peer).toFixed(3)} ms (also security headers, another Fastify instance)` }];
  } finally {
    await manager.stop();
    removeTempDir(root);
  }
}

export async function benchAuth(): Promise<BenchRow[]> {
  return [...(await inProcess()), ...(await endToEnd())];
}

if (require.main === module) {
  void benchAuth().then((rows) => {
    for (const r of rows) process.stdout.write(`${r.name}: ours ${r.ours.toFixed(4)} ${r.unit}, peer ${r.peer.toFixed(4)} ${r.unit} — ${r.note}\n`);
  });
}
