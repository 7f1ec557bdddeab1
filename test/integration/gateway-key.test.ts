// The local gateway key through the real manager process: made at first use (0600 in the data
// directory), accepted on the loopback /v1 by the official `openai` client, refused on /api and
// /metrics, invalidated by a rotation (announced as an event without the key), kept across a
// restart, and never written to the manager's log.
/* eslint-disable @typescript-eslint/no-deprecated -- the engine reads max_tokens; clients still send it */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import OpenAI from "openai";
import type { GatewayKeyInfo } from "../../src/shared/gatewayKey";
import type { ServerList } from "../../src/shared/servers";
import { removeTempDir } from "../helpers/hfCache";
import { runCli, startManager, type RunningManager } from "../helpers/manager";
import { EventRecorder, GGUF_REPO, killGroups, makeServerFixture, waitFor, type ServerFixture } from "../helpers/servers";

describe("the local gateway key (/v1 only) through the real manager", function () {
  this.timeout(90_000);
  let fixture: ServerFixture;
  let manager: RunningManager;
  const spawned = new Set<number>();

  const keyFile = (): string => path.join(fixture.dataDir, "gateway-key");
  const asKey = (key: string, route: string, init: RequestInit = {}): Promise<Response> =>
    fetch(manager.url + route, { ...init, headers: { authorization: `Bearer ${key}`, ...(init.headers as Record<string, string> | undefined) } });

  before(async () => {
    fixture = await makeServerFixture("mlx-gwkey-");
    manager = await startManager({ dataDir: fixture.dataDir, hfCache: fixture.hfCache, env: fixture.env });
    const created = await manager.api("POST", "/api/profiles", { name: "Story Time", engine: "llama", model: { source: "cache", repoId: GGUF_REPO }, options: { threads: 1, contextLength: 256 } });
    assert.equal(created.status, 201, created.text);
  });

  after(async () => {
    const list = (await manager.api("GET", "/api/servers").catch(() => undefined))?.json as ServerList | undefined;
    for (const s of list?.servers ?? []) if (s.pid !== undefined) spawned.add(s.pid);
    await manager.api("POST", "/api/servers/stop-all").catch(() => undefined);
    await manager.stop();
    killGroups(spawned);
    removeTempDir(fixture.root);
  });

  it("is made at first use, 0600 in the data directory, and is not the local token", async () => {
    assert.equal(fs.existsSync(keyFile()), false, "no key before anyone asks for one");
    const res = await manager.api("GET", "/api/gateway-key");
    assert.equal(res.status, 200, res.text);
    const info = res.json as GatewayKeyInfo;
    assert.match(info.key, /^mlxgw_[A-Za-z0-9_-]{43}$/);
    assert.notEqual(info.key, manager.token);
    assert.equal(info.file, keyFile());
    assert.equal(fs.readFileSync(keyFile(), "utf8"), info.key);
    assert.equal(fs.statSync(keyFile()).mode & 0o777, 0o600);
    const again = (await manager.api("GET", "/api/gateway-key")).json as GatewayKeyInfo;
    assert.equal(again.key, info.key, "asking again gives the same key");
  });

  it("works on /v1 with the official openai client: lists the profiles and chats (starting the profile just in time)", async () => {
    const { key } = (await manager.api("GET", "/api/gateway-key")).json as GatewayKeyInfo;
    const openai = new OpenAI({ baseURL: `${manager.url}/v1`, apiKey: key, maxRetries: 0 });
    assert.deepEqual((await openai.models.list()).data.map((m) => m.id), ["Story Time"]);
    const answer = await openai.chat.completions.create({ model: "Story Time", messages: [{ role: "user", content: "Once upon a time" }], max_tokens: 8, seed: 1 });
    assert.equal(answer.usage?.completion_tokens, 8);
    assert.ok((answer.choices[0]?.message.content ?? "").length > 0);
    const stream = await openai.chat.completions.create({ model: "Story Time", messages: [{ role: "user", content: "A cat" }], max_tokens: 6, stream: true });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
    assert.ok(text.length > 0);
    const unknown = await asKey(key, "/v1/no-such-route");
    assert.equal(unknown.status, 404, "an unknown /v1 route is the gateway's 404, not a refusal");
  });

  it("is refused on /api/*, /metrics and its own route, with 403 and what to use instead", async () => {
    const { key } = (await manager.api("GET", "/api/gateway-key")).json as GatewayKeyInfo;
    for (const [method, route] of [
      ["GET", "/api/status"],
      ["GET", "/api/profiles"],
      ["POST", "/api/servers/stop-all"],
      ["POST", "/api/shutdown"],
      ["GET", "/api/gateway-key"],
      ["POST", "/api/gateway-key/rotate"],
      ["GET", "/api/events"],
      ["GET", "/metrics"],
      ["GET", "/v1/../api/status"],
      ["GET", "/api/no-such-route"],
    ] as const) {
      const res = await asKey(key, route, { method });
      assert.equal(res.status, 403, `${method} ${route}`);
      const body = (await res.json()) as { error: { code: string; message: string } };
      assert.equal(body.error.code, "forbidden");
      assert.match(body.error.message, /opens \/v1 only/);
    }
    assert.equal((await manager.api("GET", "/api/status")).status, 200, "the manager is still up: shutdown was refused");
  });

  it("rotates: the old key gets 401 on /v1, the new one works, an event says so without the key, and the file holds the new key", async () => {
    const old = ((await manager.api("GET", "/api/gateway-key")).json as GatewayKeyInfo).key;
    const events = await EventRecorder.start(manager.url, manager.token);
    try {
      const res = await manager.api("POST", "/api/gateway-key/rotate");
      assert.equal(res.status, 200, res.text);
      const fresh = res.json as GatewayKeyInfo;
      assert.notEqual(fresh.key, old);
      assert.equal(fs.readFileSync(keyFile(), "utf8"), fresh.key);
      assert.equal(fs.statSync(keyFile()).mode & 0o777, 0o600);

      const denied = await new OpenAI({ baseURL: `${manager.url}/v1`, apiKey: old, maxRetries: 0 }).models.list().then(() => undefined, (e: unknown) => e);
      assert.ok(denied instanceof OpenAI.AuthenticationError, String(denied));
      const models = await new OpenAI({ baseURL: `${manager.url}/v1`, apiKey: fresh.key, maxRetries: 0 }).models.list();
      assert.equal(models.data.length, 1);

      const rotated = await waitFor(() => events.events.find((e) => e.type === "gatewayKey.rotated"), 5000, "the gatewayKey.rotated event");
      assert.equal(JSON.stringify(rotated).includes(fresh.key), false, "the event does not carry the key");
    } finally {
      events.stop();
    }
  });

  it("mlx-manager gateway-key prints it, --env gives a shell what a terminal gets (curl works with it), --rotate makes a new one", async () => {
    const env = { ...fixture.env, MLX_MANAGER_HOME: fixture.dataDir };
    const current = ((await manager.api("GET", "/api/gateway-key")).json as GatewayKeyInfo).key;
    const printed = await runCli(["gateway-key"], env);
    assert.equal(printed.code, 0, printed.stderr);
    assert.equal(printed.stdout.trim(), current);
    const exported = await runCli(["gateway-key", "--env"], env);
    assert.equal(exported.stdout, `export OPENAI_BASE_URL='${manager.url}/v1'\nexport OPENAI_API_KEY='${current}'\n`);
    const viaShell = spawnSync("sh", ["-c", `${exported.stdout}\ncurl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $OPENAI_API_KEY" "$OPENAI_BASE_URL/models"`], { encoding: "utf8" });
    assert.equal(viaShell.stdout, "200", viaShell.stderr);
    const rotated = await runCli(["gateway-key", "--rotate"], env);
    assert.equal(rotated.code, 0, rotated.stderr);
    assert.notEqual(rotated.stdout.trim(), current);
    assert.equal((await asKey(current, "/v1/models")).status, 401);
    assert.equal((await asKey(rotated.stdout.trim(), "/v1/models")).status, 200);
  });

  it("is the same key after a manager restart, and is never in the manager's log", async () => {
    const before = ((await manager.api("GET", "/api/gateway-key")).json as GatewayKeyInfo).key;
    await manager.stop();
    manager = await startManager({ dataDir: fixture.dataDir, hfCache: fixture.hfCache, env: fixture.env });
    const models = await asKey(before, "/v1/models");
    assert.equal(models.status, 200, "the key from the file opens /v1 before anyone asks for it again");
    assert.equal(((await manager.api("GET", "/api/gateway-key")).json as GatewayKeyInfo).key, before);
    const log = fs.readFileSync(path.join(fixture.dataDir, "logs", "manager.log"), "utf8");
    assert.match(log, /gateway key (created|rotated)/);
    assert.equal(log.includes(before), false, "the key is not logged");
    assert.equal(log.includes("mlxgw_"), false, "no key of any generation is logged");
  });
});
