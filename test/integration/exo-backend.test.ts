// An exo cluster as a remote backend, through the real manager, against a stand-in of exo's API
// written from exo b5375f8 (test/helpers/standins/exoStandin.ts): added with its no-authentication
// warning and never sent a credential, its nodes and memory listed, placement previews, a request
// that never places a model, Start that places and waits for readiness, a stream metered through
// the gateway, nodes joining and leaving as events, Stop that deletes the instance.
/* eslint-disable @typescript-eslint/no-deprecated -- exo reads max_tokens; clients still send it */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import OpenAI from "openai";
import { ManagerClient } from "../../src/client/ManagerClient";
import type { SequencedEvent } from "../../src/shared/events";
import type { RemoteBackend, RemotePlacementList, RemoteProbe } from "../../src/shared/remotes";
import type { ServerInfo } from "../../src/shared/servers";
import type { UsageList } from "../../src/shared/usage";
import { makeTempDir, removeTempDir } from "../helpers/hfCache";
import { startManager, type RunningManager } from "../helpers/manager";
import { ExoStandin } from "../helpers/standins/exoStandin";

const SMALL = "mlx-community/Llama-3.2-1B-Instruct-4bit";
const BIG = "mlx-community/Big-Model-8bit";
const HUGE = "mlx-community/Huge-Model-bf16";
const GB = 1e9;

describe("an exo cluster as a remote backend (a stand-in of exo's API)", function () {
  this.timeout(90_000);
  let root: string;
  let exo: ExoStandin;
  let manager: RunningManager;
  let backend: RemoteBackend;
  let openai: OpenAI;
  const events: SequencedEvent[] = [];
  const following = new AbortController();

  before(async () => {
    root = makeTempDir("mlx-exo-");
    fs.mkdirSync(path.join(root, "hub"));
    exo = await ExoStandin.start({
      nodes: [
        { id: "a1b2c3d4e5f6", ramTotal: 32 * GB, ramAvailable: 16 * GB },
        { id: "0f9e8d7c6b5a", ramTotal: 32 * GB, ramAvailable: 16 * GB },
      ],
      cards: [
        { id: SMALL, storageBytes: 0.73 * GB, nLayers: 16, supportsTensor: true },
        { id: BIG, storageBytes: 24 * GB, nLayers: 80, supportsTensor: true },
        { id: HUGE, storageBytes: 64 * GB, nLayers: 96, supportsTensor: false },
      ],
      loadMs: 300,
    });
    manager = await startManager({ dataDir: path.join(root, "data"), hfCache: path.join(root, "hub"), extraArgs: ["--no-watch"], env: { MLX_MANAGER_EXO_PLACE_APPEAR_MS: "1500" } });
    const key = ((await manager.api("GET", "/api/gateway-key")).json as { key: string }).key;
    openai = new OpenAI({ baseURL: `${manager.url}/v1`, apiKey: key, maxRetries: 0 });
    const client = new ManagerClient({ url: manager.url, token: fs.readFileSync(path.join(root, "data", "token"), "utf8").trim() });
    void client.followEvents((event) => void events.push(event), following.signal).catch(() => undefined);
  });

  after(async () => {
    following.abort();
    await manager.stop();
    await exo.close();
    removeTempDir(root);
  });

  it("is recognised as exo, added only without a key, and lists its nodes with their memory", async () => {
    const probe = (await manager.api("POST", "/api/remotes/probe", { url: exo.url })).json as RemoteProbe;
    assert.equal(probe.exo, true);
    assert.match(probe.noAuthWarning ?? "", /no authentication and allows every origin/);
    assert.equal(probe.plainHttpWarning, undefined);
    const withKey = await manager.api("POST", "/api/remotes", { name: "cluster", url: exo.url, kind: "exo", apiKey: "sk-x" });
    assert.equal(withKey.status, 400);
    assert.match(withKey.text, /no_auth/);
    const publicExo = await manager.api("POST", "/api/remotes", { name: "public", url: "http://203.0.113.7:52415", kind: "exo" });
    assert.equal(publicExo.status, 400);
    assert.match(publicExo.text, /acceptNoAuth/);
    const added = await manager.api("POST", "/api/remotes", { name: "cluster", url: exo.url, kind: "exo" });
    assert.equal(added.status, 201, added.text);
    backend = added.json as RemoteBackend;
    assert.equal(backend.kind, "exo");
    assert.equal(backend.health.state, "healthy", JSON.stringify(backend.health));
    assert.deepEqual(backend.health.nodes?.map((n) => [n.id, n.ramAvailableBytes]), [["a1b2c3d4e5f6", 16 * GB], ["0f9e8d7c6b5a", 16 * GB]]);
    assert.deepEqual(backend.health.models.map((m) => m.id), [SMALL, BIG, HUGE]);
    assert.deepEqual(backend.health.instances, []);
  });

  it("shows exo's placement previews: a model too big for one node fits on two, each holding half; one too big for all says so", async () => {
    const answer = await manager.api("GET", `/api/remotes/cluster/previews?model=${encodeURIComponent(BIG)}`);
    assert.equal(answer.status, 200, answer.text);
    const { previews } = answer.json as RemotePlacementList;
    assert.ok(previews.length > 0 && previews.every((p) => p.error === undefined && p.nodes.length === 2), JSON.stringify(previews));
    const two = previews.find((p) => p.sharding === "Tensor" && p.instanceMeta === "MlxJaccl");
    assert.deepEqual(two?.nodes.map((n) => n.bytes), [12 * GB, 12 * GB]);
    const huge = (await manager.api("GET", `/api/remotes/cluster/previews?model=${encodeURIComponent(HUGE)}`)).json as RemotePlacementList;
    assert.ok(huge.previews.length > 0 && huge.previews.every((p) => p.nodes.length === 0 && /sufficient memory/.test(p.error ?? "")), JSON.stringify(huge));
    assert.ok(huge.previews.every((p) => p.sharding === "Pipeline"), "a model that cannot be split by tensors is offered no Tensor placement");
    const unknown = await manager.api("GET", "/api/remotes/cluster/previews?model=nobody%2Fnothing");
    assert.equal(unknown.status, 404);
  });

  it("a request never places a model; Start places it, waits until it is ready, and the gateway streams from it without a credential, metered", async () => {
    const created = await manager.api("POST", "/api/profiles", { name: "llama-exo", engine: "remote", model: { source: "remote", backend: backend.id, model: SMALL } });
    assert.equal(created.status, 201, created.text);
    await assert.rejects(openai.chat.completions.create({ model: "llama-exo", messages: [{ role: "user", content: "Hi" }], max_tokens: 4 }), (error: { status?: number; message?: string }) => error.status === 503 && /not placed on exo cluster "cluster"/.test(error.message ?? ""));
    assert.ok(!exo.requests.some((r) => r.path === "/place_instance"), "nothing was placed");

    const started = await manager.api("POST", "/api/servers/llama-exo/start");
    assert.equal(started.status, 200, started.text);
    const server = started.json as ServerInfo;
    assert.equal(server.state, "running");
    const instanceId = server.remote?.instanceId;
    assert.ok(instanceId !== undefined && exo.instances.has(instanceId));

    let text = "";
    const stream = await openai.chat.completions.create({ model: "llama-exo", messages: [{ role: "user", content: "Hello" }], max_tokens: 8, stream: true });
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
    assert.match(text, /^exo0 exo1 /);
    const usage = ((await manager.api("GET", "/api/usage")).json as UsageList).servers.find((s) => s.profileName === "llama-exo");
    assert.equal(usage?.total.completionTokens, 8, "the usage exo puts in its finish chunk");
    assert.ok(usage.ttftP50Ms !== undefined);
    assert.deepEqual(exo.authorizations, [], "no credential ever went to exo");
  });

  it("nodes joining and leaving are events; an instance that left with a node makes the server unhealthy; Stop deletes the instance", async () => {
    exo.join({ id: "77aa88bb99cc", ramTotal: 64 * GB, ramAvailable: 60 * GB });
    await manager.api("POST", "/api/remotes/cluster/check");
    const server = ((await manager.api("GET", "/api/servers/llama-exo")).json as ServerInfo);
    const instanceId = server.remote?.instanceId ?? "";
    const host = [...(exo.instances.get(instanceId)?.nodes ?? [])][0] ?? "";
    exo.leave(host);
    await manager.api("POST", "/api/remotes/cluster/check");
    const nodeEvents = (): { joined: string[]; left: string[] }[] =>
      events.filter((e) => e.type === "remote.nodes").map((e) => {
        const data = e.data as { joined: string[]; left: string[] };
        return { joined: data.joined, left: data.left };
      });
    for (let i = 0; i < 50 && nodeEvents().length < 2; i++) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(nodeEvents(), [{ joined: ["77aa88bb99cc"], left: [] }, { joined: [], left: [host] }]);
    const unhealthy = (await manager.api("GET", "/api/servers/llama-exo")).json as ServerInfo;
    assert.equal(unhealthy.state, "unhealthy");
    assert.match(unhealthy.failure?.message ?? "", /no longer has this model's instance/);

    const again = await manager.api("POST", "/api/servers/llama-exo/restart");
    assert.equal(again.status, 200, again.text);
    const placed = (again.json as ServerInfo).remote?.instanceId ?? "";
    assert.ok(exo.instances.has(placed));
    const stopped = await manager.api("POST", "/api/servers/llama-exo/stop");
    assert.equal((stopped.json as ServerInfo).state, "stopped");
    assert.ok(exo.requests.some((r) => r.method === "DELETE" && r.path === `/instance/${placed}`));
  });

  it("a placement exo cannot make is reported, naming the previews", async () => {
    const created = await manager.api("POST", "/api/profiles", { name: "big-one-node", engine: "remote", model: { source: "remote", backend: backend.id, model: BIG }, options: { placement: { sharding: "Pipeline", instanceMeta: "MlxRing", minNodes: 1 } } });
    assert.equal(created.status, 201, created.text);
    // One node left with 16 GB and one with 60 GB: the 24 GB model fits on the big one. Take it away.
    exo.leave("77aa88bb99cc");
    const started = await manager.api("POST", "/api/servers/big-one-node/start");
    assert.equal(started.status, 503, started.text);
    assert.match(started.text, /did not place .* previews/);
  });
});
