// The memory budget and the request queues through the real manager: three real `llama` servers of
// a tiny GGUF model and a budget that holds two of them, started just in time by /v1 requests (the
// openai and Anthropic SDKs, as users' clients send them); 50 concurrent clients against one slot.
/* eslint-disable @typescript-eslint/no-deprecated -- the engines read max_tokens (max_completion_tokens is OpenAI-only); clients still send it */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import OpenAI from "openai";
import type { ServerInfo } from "../../src/shared/servers";
import type { ManagerSettings, MemoryBudgetView } from "../../src/shared/settings";
import type { UsageList } from "../../src/shared/usage";
import { makeTempDir, removeTempDir, writeHfRepo } from "../helpers/hfCache";
import { runCli, startManager, type RunningManager } from "../helpers/manager";
import { approvedUser, call, openShared } from "../helpers/shared";
import { tinyGgufBytes } from "../helpers/tinyGguf";
import { assertOverloaded } from "../helpers/overloaded";

describe("memory budget and request queues through the real manager", function () {
  this.timeout(180_000);
  let root: string;
  let manager: RunningManager;
  let openai: OpenAI;
  let key: string;

  before(async () => {
    root = makeTempDir("mlx-budget-");
    const hfCache = path.join(root, "hub");
    fs.mkdirSync(hfCache);
    writeHfRepo(hfCache, { repoId: "test/tiny-gguf", revisions: [{ refs: ["main"], files: { "tiny.gguf": tinyGgufBytes(1) } }] });
    manager = await startManager({ dataDir: path.join(root, "data"), hfCache, extraArgs: ["--no-watch"], env: { MLX_MANAGER_USABLE_MEMORY: "12GB" } });
    for (const name of ["alpha", "beta", "gamma", "queued"]) {
      const created = await manager.api("POST", "/api/profiles", { name, engine: "llama", model: { source: "cache", repoId: "test/tiny-gguf", file: "tiny.gguf" }, options: { threads: 1, contextLength: 256 } });
      assert.equal(created.status, 201, created.text);
    }
    key = ((await manager.api("GET", "/api/gateway-key")).json as { key: string }).key;
    openai = new OpenAI({ baseURL: `${manager.url}/v1`, apiKey: key, maxRetries: 0 });
  });

  after(async () => {
    await manager.api("POST", "/api/servers/stop-all", {});
    await manager.stop();
    removeTempDir(root);
  });

  const servers = async (): Promise<Map<string, ServerInfo>> => {
    const answer = await manager.api("GET", "/api/servers");
    return new Map((answer.json as { servers: ServerInfo[] }).servers.map((s) => [s.profileName, s]));
  };
  const chat = (model: string): Promise<unknown> => openai.chat.completions.create({ model, messages: [{ role: "user", content: "Hi" }], max_tokens: 2 });
  const settings = async (patch: Partial<ManagerSettings>): Promise<ManagerSettings> => {
    const answer = await manager.api("PATCH", "/api/settings", patch);
    assert.equal(answer.status, 200, answer.text);
    return answer.json as ManagerSettings;
  };

  it("a just-in-time start past the budget stops the least recently used idle server; a pinned one and a streaming one are never stopped; nothing to free is a 503 (529 on /v1/messages) naming the holders", async () => {
    await chat("alpha");
    await chat("beta");
    const two = (await manager.api("GET", "/api/memory/budget")).json as MemoryBudgetView;
    assert.equal(two.basis, "usable_memory");
    assert.equal(two.budgetBytes, 12e9);
    const held = new Map(two.servers.map((s) => [s.profileName, s]));
    const alpha = held.get("alpha");
    const beta = held.get("beta");
    assert.ok(alpha && beta, JSON.stringify(two));
    assert.ok(alpha.bytes > 50e6 && beta.bytes > 50e6, "each holds its model, cache and engine");
    assert.equal(alpha.startedBy, "request");
    // Room for any two, not for three.
    const need = (await servers()).get("alpha")?.estimatedBytes ?? 0;
    assert.ok(need > 0);
    const budget = Math.round(alpha.bytes + beta.bytes + need - Math.min(alpha.bytes, beta.bytes) / 2);
    assert.equal((await settings({ memoryBudgetBytes: budget })).memoryBudgetBytes, budget);

    await chat("gamma");
    let now = await servers();
    assert.equal(now.get("alpha")?.state, "stopped", "alpha was used least recently");
    assert.equal(now.get("alpha")?.stopReason, "evicted");
    assert.equal(now.get("alpha")?.evictedFor, "gamma");
    assert.equal(now.get("beta")?.state, "running");
    assert.equal(now.get("gamma")?.state, "running");
    const ps = await runCli(["--data-dir", manager.dataDir, "ps"]);
    assert.equal(ps.code, 0, ps.stderr);
    assert.match(ps.stdout, /alpha\s+llama\s+stopped \(made room for gamma\)/);
    assert.match(ps.stdout, /Memory budget: .* held \(the mlx\.memory\.budgetGB setting\)/);

    // beta is now the least recently used, but pinned: gamma makes room for alpha instead.
    const beta0 = (await manager.api("GET", "/api/profiles/beta")).json as { version: number };
    assert.equal((await manager.api("PATCH", "/api/profiles/beta", { version: beta0.version, pinned: true })).status, 200);
    await chat("alpha");
    now = await servers();
    assert.deepEqual([now.get("alpha")?.state, now.get("beta")?.state, now.get("gamma")?.state], ["running", "running", "stopped"]);
    assert.equal(now.get("gamma")?.evictedFor, "alpha");

    // alpha streams (its reader paused: the request stays in flight), beta is pinned: gamma cannot start.
    const controller = new AbortController();
    // 5,000 tokens take the tiny model seconds to write (it never stops early) and fill more than the sockets hold.
    const stream = await openai.chat.completions.create({ model: "alpha", messages: [{ role: "user", content: "Tell me a long story" }], max_tokens: 5000, stream: true }, { signal: controller.signal });
    const reader = stream[Symbol.asyncIterator]();
    await reader.next();
    const refused = await fetch(`${manager.url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: JSON.stringify({ model: "gamma", messages: [{ role: "user", content: "Hi" }] }) });
    assert.equal(refused.status, 503);
    assert.equal(refused.headers.get("retry-after"), "10");
    const error = ((await refused.json()) as { error: { code: string; message: string } }).error;
    assert.equal(error.code, "over_budget");
    assert.match(error.message, /Not enough memory to start "gamma": it needs about \d+ MB, and the memory budget of \d+ MB is held by /);
    assert.match(error.message, /"alpha" \d+ MB \(answering a request\)/);
    assert.match(error.message, /"beta" \d+ MB \(pinned\)/);
    await assertOverloaded(manager.url, key, "gamma");
    assert.equal((await servers()).get("alpha")?.state, "running", "a streaming server is never stopped");
    controller.abort();
    await reader.return?.();

    // The stream is over: alpha is idle again and makes room.
    await chat("gamma");
    now = await servers();
    assert.deepEqual([now.get("alpha")?.state, now.get("beta")?.state, now.get("gamma")?.state], ["stopped", "running", "running"]);
    await settings({ memoryBudgetBytes: null });
  });

  it("in shared mode a teammate's request stops only servers that requests started, never one the owner started", async () => {
    await manager.api("POST", "/api/servers/stop-all", {});
    const beta0 = (await manager.api("GET", "/api/profiles/beta")).json as { version: number };
    assert.equal((await manager.api("PATCH", "/api/profiles/beta", { version: beta0.version, pinned: false })).status, 200, "beta unpinned (the test before pinned it)");
    assert.equal((await manager.api("POST", "/api/servers/alpha/start", {})).status, 200, "the owner starts alpha");
    const shared = await openShared(manager);
    try {
      const teammate = await approvedUser(manager, shared, "mate@example.com", "a long enough passphrase");
      const ask = async (model: string): Promise<number> => (await call(shared, "POST", "/v1/chat/completions", { auth: teammate.token, body: { model, messages: [{ role: "user", content: "Hi" }], max_tokens: 2 } })).status;
      assert.equal(await ask("beta"), 200);
      const now = await servers();
      assert.deepEqual([now.get("alpha")?.startedBy, now.get("beta")?.startedBy], ["user", "request"]);
      const two = new Map(((await manager.api("GET", "/api/memory/budget")).json as MemoryBudgetView).servers.map((h) => [h.profileName, h.bytes]));
      const alpha = two.get("alpha") ?? 0;
      const beta = two.get("beta") ?? 0;
      await settings({ memoryBudgetBytes: Math.round(alpha + beta + (now.get("beta")?.estimatedBytes ?? 0) - Math.min(alpha, beta) / 2) });
      // alpha is the least recently used, but the owner started it: the teammate's start stops beta.
      assert.equal(await ask("gamma"), 200);
      const after = await servers();
      assert.deepEqual([after.get("alpha")?.state, after.get("beta")?.state, after.get("gamma")?.state], ["running", "stopped", "running"]);
      assert.equal(after.get("beta")?.evictedFor, "gamma");
    } finally {
      await settings({ memoryBudgetBytes: null });
      await manager.api("POST", "/api/shared/stop", {});
    }
  });

  it("queues requests per server: one slot, 50 concurrent clients, none lost; a full queue is a 503 with Retry-After; the wait is metered", async () => {
    assert.equal((await manager.api("POST", "/api/servers/queued/start", {})).status, 200);
    const before = await (await fetch(`${manager.url}/metrics`, { headers: { authorization: `Bearer ${manager.token}` } })).text();
    assert.match(before, /mlx_server_slots\{profile="queued",[^}]*\} 1\n/, "its slots are known before its first request");
    await chat("queued");
    const answers = await Promise.allSettled(Array.from({ length: 50 }, () => chat("queued")));
    assert.deepEqual(answers.filter((a) => a.status === "rejected").map((a) => String(a.reason)), [], "every request was answered");
    const usage = ((await manager.api("GET", "/api/usage")).json as UsageList).servers.find((s) => s.profileName === "queued");
    assert.ok(usage?.queueWaitP50Ms !== undefined && usage.queueWaitP50Ms > 0, "requests waited their turn");
    assert.ok(usage.recent.every((r) => r.status === "ok"));

    await settings({ queueMaxLength: 5, queueTimeoutSec: 1 });
    const statuses = await Promise.all(
      Array.from({ length: 50 }, async () => {
        const response = await fetch(`${manager.url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: JSON.stringify({ model: "queued", messages: [{ role: "user", content: "Hi" }], max_tokens: 2 }) });
        const body = (await response.json()) as { error?: { code: string } };
        return { status: response.status, code: body.error?.code, retryAfter: response.headers.get("retry-after") };
      }),
    );
    const ok = statuses.filter((s) => s.status === 200).length;
    const full = statuses.filter((s) => s.status === 503 && s.code === "queue_full" && s.retryAfter !== null).length;
    assert.equal(ok + full, 50, JSON.stringify(statuses.filter((s) => s.status !== 200 && s.code !== "queue_full")));
    assert.ok(ok >= 6 && full > 0, `${ok} answered, ${full} refused`);

    // /metrics answers from a sample up to 2 s old: read it until the requests above are in it.
    let text = "";
    for (let tries = 0; tries < 40 && !/mlx_server_queue_wait_seconds\{profile="queued"/.test(text); tries++) {
      if (tries > 0) await new Promise((resolve) => setTimeout(resolve, 100));
      text = await (await fetch(`${manager.url}/metrics`, { headers: { authorization: `Bearer ${manager.token}` } })).text();
    }
    assert.match(text, /mlx_server_slots\{profile="queued",[^}]*\} 1\n/);
    assert.match(text, /mlx_server_requests_active\{profile="queued",[^}]*\} 0\n/);
    assert.match(text, /mlx_server_queue_wait_seconds\{profile="queued",[^}]*\} \d/);
    await settings({ queueMaxLength: 512, queueTimeoutSec: 300 });
  });
});
