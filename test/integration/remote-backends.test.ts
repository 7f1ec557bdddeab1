// Remote backends and replicas with two real managers on loopback: B serves a real `llama` engine
// through its shared listener (TLS, self-signed, an API key of an approved user); A adds B as a
// remote backend, pins B's certificate, keeps the key in a 0600 file, and relays chat, streams,
// Anthropic Messages and OpenAI Responses to it (the official SDKs), metered on both. Then A serves
// one name from a local replica and B's, B is killed under 20 concurrent clients, comes back and is
// used again; the key is looked for everywhere it must not be.
/* eslint-disable @typescript-eslint/no-deprecated -- the engines read max_tokens (max_completion_tokens is OpenAI-only); clients still send it */
import Anthropic from "@anthropic-ai/sdk";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import OpenAI from "openai";
import type { Profile } from "../../src/shared/profiles";
import type { RemoteBackend, RemoteProbe } from "../../src/shared/remotes";
import type { ServerInfo } from "../../src/shared/servers";
import type { ServerUsageSnapshot, UsageList } from "../../src/shared/usage";
import { makeTempDir, removeTempDir, writeHfRepo } from "../helpers/hfCache";
import { runCli, startManager, type RunningManager } from "../helpers/manager";
import { approvedUser, call, openShared } from "../helpers/shared";
import { freePort } from "../helpers/llamaEngine";
import { tinyGgufBytes } from "../helpers/tinyGguf";

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Every file under `dir`. */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...filesUnder(full));
    else if (entry.isFile()) out.push(full);
  }
  return out;
}

describe("remote backends and replicas: two real managers on loopback", function () {
  this.timeout(180_000);
  let root: string;
  let hfCache: string;
  let a: RunningManager;
  let b: RunningManager;
  let bShared: string;
  let bPort: number;
  let fingerprint: string;
  let remoteKey: string;
  let backend: RemoteBackend;
  let openai: OpenAI;
  let gatewayKey: string;

  const llamaProfile = (name: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({ name, engine: "llama", model: { source: "cache", repoId: "test/tiny-gguf", file: "tiny.gguf" }, options: { threads: 1, contextLength: 512 }, ...extra });
  const startB = async (): Promise<void> => {
    b = await startManager({ dataDir: path.join(root, "b"), hfCache, extraArgs: ["--no-watch"] });
    bShared = await openShared(b, { port: bPort, tls: { selfSigned: true } });
  };
  const usageOf = async (manager: RunningManager, name: string): Promise<ServerUsageSnapshot | undefined> =>
    ((await manager.api("GET", "/api/usage")).json as UsageList).servers.find((s) => s.profileName === name);

  before(async () => {
    root = makeTempDir("mlx-remote-");
    hfCache = path.join(root, "hub");
    fs.mkdirSync(hfCache);
    writeHfRepo(hfCache, { repoId: "test/tiny-gguf", revisions: [{ refs: ["main"], files: { "tiny.gguf": tinyGgufBytes(1) } }] });
    bPort = await freePort();
    b = await startManager({ dataDir: path.join(root, "b"), hfCache, extraArgs: ["--no-watch"] });
    assert.equal((await b.api("POST", "/api/profiles", llamaProfile("tiny"))).status, 201);
    // The teammate account and its key are made over plain http on loopback (fetch refuses a
    // self-signed certificate); then B serves TLS on the same port, as a team server would.
    const plain = await openShared(b, { port: bPort });
    const teammate = await approvedUser(b, plain, "a-manager@example.com", "a long enough password 1");
    const made = await call(plain, "POST", "/api/keys", { auth: teammate.token, body: { name: "manager A" } });
    assert.equal(made.status, 201, made.text);
    remoteKey = (made.json as { key: string }).key;
    assert.equal((await b.api("POST", "/api/shared/stop", {})).status, 200);
    bShared = await openShared(b, { port: bPort, tls: { selfSigned: true } });
    fingerprint = ((await b.api("GET", "/api/shared")).json as { fingerprint: string }).fingerprint;
    a = await startManager({ dataDir: path.join(root, "a"), hfCache, extraArgs: ["--no-watch"] });
    gatewayKey = ((await a.api("GET", "/api/gateway-key")).json as { key: string }).key;
    openai = new OpenAI({ baseURL: `${a.url}/v1`, apiKey: gatewayKey, maxRetries: 0 });
  });

  after(async () => {
    // Either may not have started (a failed before hook).
    for (const manager of [a, b] as (RunningManager | undefined)[]) {
      if (manager === undefined) continue;
      await manager.api("POST", "/api/servers/stop-all", {}).catch(() => undefined);
      await manager.stop();
    }
    removeTempDir(root);
  });

  it("adds B over TLS only with its certificate confirmed, refuses plain http to another machine unless accepted, and keeps the key out of every answer", async () => {
    const probe = await a.api("POST", "/api/remotes/probe", { url: `${bShared}/v1/` });
    assert.equal(probe.status, 200, probe.text);
    const seen = probe.json as RemoteProbe;
    assert.equal(seen.url, bShared);
    assert.deepEqual(seen.tls, { fingerprint, trusted: false });
    assert.equal(seen.loopback, true);

    const unconfirmed = await a.api("POST", "/api/remotes", { name: "B", url: bShared, apiKey: remoteKey });
    assert.equal(unconfirmed.status, 400);
    assert.match(unconfirmed.text, /certificate_unconfirmed/);
    assert.ok(unconfirmed.text.includes(fingerprint), "the fingerprint to check is given");
    const wrong = await a.api("POST", "/api/remotes", { name: "B", url: bShared, apiKey: remoteKey, fingerprint: fingerprint.replace(/^../, fingerprint.startsWith("00") ? "11" : "00") });
    assert.equal(wrong.status, 400);
    assert.match(wrong.text, /certificate_mismatch/);

    const plain = await a.api("POST", "/api/remotes/probe", { url: "http://10.255.255.1:1234/v1" });
    assert.match((plain.json as RemoteProbe).plainHttpWarning ?? "", /unencrypted/);
    const refused = await a.api("POST", "/api/remotes", { name: "LAN", url: "http://10.255.255.1:1234/v1", apiKey: "sk-x" });
    assert.equal(refused.status, 400);
    assert.match(refused.text, /plain_http/);
    const inUrl = await a.api("POST", "/api/remotes", { name: "LAN", url: "https://user:secret@example.invalid/v1" });
    assert.equal(inUrl.status, 400);
    assert.match(inUrl.text, /not in the URL/);

    const added = await a.api("POST", "/api/remotes", { name: "B", url: bShared, apiKey: remoteKey, fingerprint });
    assert.equal(added.status, 201, added.text);
    backend = added.json as RemoteBackend;
    assert.equal(backend.fingerprint, fingerprint);
    assert.equal(backend.hasKey, true);
    assert.equal(backend.health.state, "healthy", JSON.stringify(backend.health));
    assert.deepEqual(backend.health.models.map((m) => m.id), ["tiny"]);
    const keyFile = path.join(root, "a", "remote-keys", backend.id);
    assert.equal(fs.readFileSync(keyFile, "utf8"), remoteKey);
    assert.equal(fs.statSync(keyFile).mode & 0o777, 0o600);
    for (const route of ["/api/remotes", `/api/remotes/${backend.id}`]) assert.ok(!(await a.api("GET", route)).text.includes(remoteKey), route);
  });

  it("chat, a stream, Anthropic Messages and OpenAI Responses through A reach B's llama engine, metered on both", async () => {
    const created = await a.api("POST", "/api/profiles", { name: "tiny-b", engine: "remote", model: { source: "remote", backend: backend.id, model: "tiny" } });
    assert.equal(created.status, 201, created.text);
    const badBackend = await a.api("POST", "/api/profiles", { name: "nowhere", engine: "remote", model: { source: "remote", backend: "nope", model: "tiny" } });
    assert.equal(badBackend.status, 404);
    assert.match(badBackend.text, /Add Remote Backend/);

    const chat = await openai.chat.completions.create({ model: "tiny-b", messages: [{ role: "user", content: "Once upon a time" }], max_tokens: 8 });
    assert.ok((chat.usage?.completion_tokens ?? 0) > 0, JSON.stringify(chat));
    let text = "";
    const stream = await openai.chat.completions.create({ model: "tiny-b", messages: [{ role: "user", content: "Hello" }], max_tokens: 12, stream: true });
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
    assert.ok(text.length > 0);
    const anthropic = new Anthropic({ baseURL: a.url, apiKey: gatewayKey, maxRetries: 0 });
    const events: string[] = [];
    const messages = anthropic.messages.stream({ model: "tiny-b", max_tokens: 8, messages: [{ role: "user", content: "Hi" }] });
    for await (const event of messages) events.push(event.type);
    const final = await messages.finalMessage();
    assert.equal(final.role, "assistant");
    assert.ok(events.includes("message_stop"), events.join(","));
    const response = await openai.responses.create({ model: "tiny-b", input: "Tell me a story", max_output_tokens: 8 });
    // The tiny model never stops on its own: the answer ends at max_output_tokens.
    assert.ok(response.status === "completed" || response.incomplete_details?.reason === "max_output_tokens", JSON.stringify(response));
    assert.ok(response.output_text.length > 0);

    const servers = (await a.api("GET", "/api/servers")).json as { servers: ServerInfo[] };
    const remote = servers.servers.find((s) => s.profileName === "tiny-b");
    assert.equal(remote?.state, "running");
    assert.deepEqual(remote.remote, { backendId: backend.id, backendName: "B", url: bShared, model: "tiny" });
    assert.equal(remote.model, "tiny on B");
    const onA = await usageOf(a, "tiny-b");
    assert.equal(onA?.total.requests, 4);
    assert.equal(onA.total.errors, 0);
    assert.ok(onA.total.completionTokens > 0);
    assert.ok(onA.ttftP50Ms !== undefined && onA.ttftP50Ms > 0, "time to first token, from the relayed streams");
    const onB = await usageOf(b, "tiny");
    assert.equal(onB?.total.requests, 4);
    assert.ok(onB.recent.every((r) => r.userId !== undefined), "B meters them as its teammate's");
  });

  it("the CLI lists the backend, asks for the fingerprint before adding one, and `ps` says where a remote server runs", async () => {
    const list = await runCli(["--data-dir", a.dataDir, "remotes"]);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^B\s+https:\/\/127\.0\.0\.1:\d+\s+healthy\s+pinned\s+kept\s+1$/m);
    const unconfirmed = await runCli(["--data-dir", a.dataDir, "remotes", "add", bShared, "--name", "B2", "--key-env", "B_KEY"], { B_KEY: remoteKey });
    assert.equal(unconfirmed.code, 1);
    assert.ok(unconfirmed.stderr.includes(`--fingerprint ${fingerprint}`), unconfirmed.stderr);
    const ps = await runCli(["--data-dir", a.dataDir, "ps"]);
    assert.match(ps.stdout, /^tiny-b\s+remote\s+running\s+on B\s/m);
    assert.ok(![list.stdout, unconfirmed.stdout, unconfirmed.stderr, ps.stdout].some((text) => text.includes(remoteKey)));
  });

  it("one name served by a local replica and B's: B killed under 20 concurrent clients fails no request that had not begun streaming, and is used again once back", async () => {
    assert.equal((await a.api("POST", "/api/profiles", llamaProfile("story"))).status, 201);
    const patched = await a.api("PATCH", `/api/profiles/tiny-b`, { aliases: ["story"], version: ((await a.api("GET", "/api/profiles/tiny-b")).json as Profile).version });
    assert.equal(patched.status, 200, patched.text);
    await openai.chat.completions.create({ model: "story", messages: [{ role: "user", content: "warm up" }], max_tokens: 2 });

    const outcomes = { ok: 0, beforeStream: [] as string[], brokenOff: [] as string[] };
    let done = 0;
    let killed = false;
    let killing: Promise<void> = Promise.resolve();
    const client = async (n: number): Promise<void> => {
      for (let i = 0; i < 4; i++) {
        let response: Response;
        try {
          response = await fetch(`${a.url}/v1/chat/completions`, {
            method: "POST",
            headers: { authorization: `Bearer ${gatewayKey}`, "content-type": "application/json" },
            body: JSON.stringify({ model: "story", messages: [{ role: "user", content: `client ${n} request ${i}` }], max_tokens: 200, stream: true }),
          });
        } catch (error) {
          outcomes.beforeStream.push(`client ${n}: ${String(error)}`);
          continue;
        }
        if (response.status !== 200) {
          outcomes.beforeStream.push(`client ${n}: HTTP ${response.status} ${await response.text()}`);
          continue;
        }
        // B killed the moment the first token of one of its streams arrives (after a quarter of the
        // requests): 200 tokens long, the stream is then cut mid-way.
        const cut = !killed && done >= 20 && response.headers.get("mlx-manager-replica") === "tiny-b";
        if (cut) killed = true;
        let body = "";
        const decoder = new TextDecoder();
        let sent = false;
        for await (const chunk of (response.body ?? []) as AsyncIterable<Uint8Array>) {
          body += decoder.decode(chunk, { stream: true });
          if (cut && !sent && body.includes('"content"')) {
            sent = true;
            killing = b.kill();
          }
        }
        done++;
        if (body.includes('"error"')) outcomes.brokenOff.push(body.slice(body.indexOf('"error"')));
        else {
          assert.ok(body.includes("data: [DONE]"), body.slice(-200));
          outcomes.ok++;
        }
      }
    };
    await Promise.all(Array.from({ length: 20 }, (_, n) => client(n)));
    await killing;
    assert.ok(killed, "B served a stream after the first quarter");
    assert.deepEqual(outcomes.beforeStream, [], "no request failed before its stream began");
    assert.equal(outcomes.ok + outcomes.brokenOff.length, 80);
    assert.ok(outcomes.brokenOff.length >= 1, "the stream B was sending when killed ends with an error event");
    for (const error of outcomes.brokenOff) assert.match(error, /broke off its answer/);
    const recent = ((await a.api("GET", "/api/usage")).json as UsageList).servers.flatMap((s) => s.recent);
    const chosen = recent.filter((r) => r.requestedModel === "story");
    assert.ok(chosen.some((r) => r.profileName === "tiny-b") && chosen.some((r) => r.profileName === "story"), "both replicas served");
    assert.ok(chosen.some((r) => (r.failedOver ?? []).includes("tiny-b")), "requests B could not answer went to the local replica");
    const down = await waitFor("B marked down", async () => {
      const view = (await a.api("GET", `/api/remotes/${backend.id}`)).json as RemoteBackend;
      return view.health.state === "unreachable" ? view : undefined;
    });
    assert.match(down.health.error ?? "", /not answering/);
    const unhealthy = ((await a.api("GET", "/api/servers")).json as { servers: ServerInfo[] }).servers.find((s) => s.profileName === "tiny-b");
    assert.equal(unhealthy?.state, "unhealthy");

    await startB();
    await waitFor("B probed back", async () => (((await a.api("GET", `/api/remotes/${backend.id}`)).json as RemoteBackend).health.state === "healthy" ? true : undefined));
    const before = (await usageOf(b, "tiny"))?.total.requests ?? 0;
    await Promise.all(Array.from({ length: 6 }, () => openai.chat.completions.create({ model: "story", messages: [{ role: "user", content: "again" }], max_tokens: 4 })));
    assert.ok(((await usageOf(b, "tiny"))?.total.requests ?? 0) > before, "B serves again");
  });

  it("the remote key is in no file of A's data dir but its own, in no log and no API answer", async () => {
    const dataDir = path.join(root, "a");
    const keyFile = path.join(dataDir, "remote-keys", backend.id);
    const holders = filesUnder(dataDir).filter((file) => fs.readFileSync(file).includes(Buffer.from(remoteKey)));
    assert.deepEqual(holders, [keyFile]);
    for (const route of ["/api/remotes", "/api/servers", "/api/profiles", "/api/usage", "/api/metrics", "/api/profiles/export"]) {
      const answer = await a.api("GET", route);
      assert.ok(!answer.text.includes(remoteKey), route);
    }
    const removeInUse = await a.api("DELETE", `/api/remotes/${backend.id}`);
    assert.equal(removeInUse.status, 409);
    assert.match(removeInUse.text, /tiny-b/);
  });
});
