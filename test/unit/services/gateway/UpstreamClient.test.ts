// The gateway's upstream connections over real HTTP on loopback: pooled per server process, closed
// when idle before the server would close them, and a request that meets a connection the server
// had closed sent once more on a fresh one (issue 26).
import assert from "node:assert/strict";
import http from "node:http";
import net, { type AddressInfo, type Socket } from "node:net";
import { UpstreamClient, type RelayOptions, type RelayResult } from "../../../../src/services/gateway/UpstreamClient";

interface Upstream {
  server: http.Server;
  port: number;
  /** Connections the server accepted, in order. */
  connections: Socket[];
  /** Requests answered, per connection. */
  served: Map<Socket, number>;
  close(): Promise<void>;
}

/** A model server stand-in that answers every chat with its own name. */
function startUpstream(name: string, port = 0, onRequest?: (req: http.IncomingMessage, res: http.ServerResponse, servedBefore: number) => boolean): Promise<Upstream> {
  const connections: Socket[] = [];
  const served = new Map<Socket, number>();
  const server = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      const before = served.get(req.socket) ?? 0;
      if (onRequest?.(req, res, before) === true) return;
      served.set(req.socket, before + 1);
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ from: name, usage: { prompt_tokens: 1, completion_tokens: 1 } }));
    });
  });
  server.on("connection", (socket) => connections.push(socket));
  return new Promise((resolve) => {
    server.listen(port, "127.0.0.1", () => {
      resolve({
        server,
        port: (server.address() as AddressInfo).port,
        connections,
        served,
        close: () => new Promise<void>((done) => { server.closeAllConnections(); server.close(() => { done(); }); }),
      });
    });
  });
}

/** A front server whose every request is relayed by `client` with the options `route` gives. */
async function startFront(client: UpstreamClient, route: () => Omit<RelayOptions, "res" | "signal" | "body">): Promise<{ url: string; results: RelayResult[]; close(): Promise<void> }> {
  const results: RelayResult[] = [];
  const front = http.createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on("data", (d: Buffer) => parts.push(d));
    req.on("end", () => {
      const controller = new AbortController();
      res.on("close", () => { if (!res.writableFinished) controller.abort(); });
      void client.relay({ ...route(), res, signal: controller.signal, body: { kind: "buffer", bytes: Buffer.concat(parts), contentType: "application/json" } }).then((r) => results.push(r));
    });
  });
  await new Promise<void>((resolve) => front.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(front.address() as AddressInfo).port}`,
    results,
    close: () => new Promise<void>((done) => { front.closeAllConnections(); front.close(() => { done(); }); }),
  };
}

async function ask(url: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`${url}/v1/chat/completions`, { method: "POST", body: '{"model":"m"}', headers: { "content-type": "application/json" } });
  return { status: res.status, body: await res.text() };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe("UpstreamClient: kept-alive connections to model servers", function () {
  this.timeout(20_000);
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it("a restarted server on the same port never gets a connection made to its previous process", async () => {
    const old = await startUpstream("old");
    const client = new UpstreamClient();
    cleanups.push(() => { client.close(); });
    let processId = "pid-1";
    const front = await startFront(client, () => ({ baseUrl: `http://127.0.0.1:${old.port}`, upstream: { profileId: "p", process: processId }, path: "/v1/chat/completions", meterUsage: true, dropUsageOnly: false, describe: "profile p" }));
    cleanups.push(() => front.close());
    await Promise.all([ask(front.url), ask(front.url), ask(front.url)]);
    assert.ok(old.connections.length >= 1);
    // The old process stops listening, but its connections are still open (it has not exited yet,
    // or the gateway has not seen their end): a pool keyed by port alone would send the next request there.
    // (net.Server's close, which stops listening at once: http.Server's would also close the idle
    // connections. Its callback waits for every connection to end, so it is not awaited.)
    net.Server.prototype.close.call(old.server);
    assert.ok(old.connections.some((socket) => !socket.destroyed), "the old process still holds open connections");
    const replacement = await startUpstream("new", old.port);
    cleanups.push(() => replacement.close(), () => { old.server.closeAllConnections(); });
    processId = "pid-2";
    const answers = await Promise.all([ask(front.url), ask(front.url)]);
    for (const answer of answers) assert.deepEqual([answer.status, (JSON.parse(answer.body) as { from: string }).from], [200, "new"]);
    await sleep(50);
    assert.ok(old.connections.every((socket) => socket.destroyed), "the old process's pooled connections were closed");
    assert.equal(client.openConnections("p") >= 1, true);
  });

  it("a request that meets a kept-alive connection the server had closed is sent once more on a fresh connection, even when every pooled one is dead", async () => {
    let poison = false;
    // Once poisoned, a request on a connection that served before is cut without an answer: what a
    // server that closed the idle connection as the request arrived looks like to the client.
    const upstream = await startUpstream("u", 0, (req, _res, servedBefore) => {
      if (!poison || servedBefore === 0) return false;
      req.socket.destroy();
      return true;
    });
    cleanups.push(() => upstream.close());
    const client = new UpstreamClient();
    cleanups.push(() => { client.close(); });
    const front = await startFront(client, () => ({ baseUrl: `http://127.0.0.1:${upstream.port}`, upstream: { profileId: "p", process: "1" }, path: "/v1/chat/completions", meterUsage: true, dropUsageOnly: false, describe: "profile p" }));
    cleanups.push(() => front.close());
    await Promise.all([ask(front.url), ask(front.url), ask(front.url), ask(front.url)]);
    const pooled = upstream.connections.length;
    assert.ok(pooled >= 2, `several pooled connections (${pooled})`);
    poison = true;
    const answer = await ask(front.url);
    assert.equal(answer.status, 200, answer.body);
    const last = front.results.at(-1);
    assert.ok(last);
    assert.equal(last.retried, true);
    assert.equal(last.status, "ok");
    assert.equal(upstream.connections.length, pooled + 1, "the retry opened a connection of its own");
  });

  it("a request whose answer had begun is never sent again", async () => {
    let requests = 0;
    const upstream = await startUpstream("u", 0, (req, res) => {
      requests++;
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write('data: {"choices":[{"delta":{"content":"a"}}]}\n\n');
      setTimeout(() => req.socket.destroy(), 20);
      return true;
    });
    cleanups.push(() => upstream.close());
    const client = new UpstreamClient();
    cleanups.push(() => { client.close(); });
    const front = await startFront(client, () => ({ baseUrl: `http://127.0.0.1:${upstream.port}`, upstream: { profileId: "p", process: "1" }, path: "/v1/chat/completions", meterUsage: true, dropUsageOnly: false, describe: "profile p" }));
    cleanups.push(() => front.close());
    const answer = await ask(front.url);
    assert.equal(answer.status, 200);
    assert.match(answer.body, /upstream_broke_off/);
    assert.equal(requests, 1);
    assert.equal(front.results.at(-1)?.retried, undefined);
  });

  it("closes a pooled connection left idle for its TTL, before the server's own keep-alive timeout could", async () => {
    const upstream = await startUpstream("u");
    cleanups.push(() => upstream.close());
    const client = new UpstreamClient({ freeSocketTtlMs: 150 });
    cleanups.push(() => { client.close(); });
    const front = await startFront(client, () => ({ baseUrl: `http://127.0.0.1:${upstream.port}`, upstream: { profileId: "p", process: "1" }, path: "/v1/chat/completions", meterUsage: true, dropUsageOnly: false, describe: "profile p" }));
    cleanups.push(() => front.close());
    await ask(front.url);
    await ask(front.url);
    assert.equal(upstream.connections.length, 1, "the second request reused the first connection");
    assert.equal(client.openConnections("p"), 1);
    await sleep(400);
    assert.equal(client.openConnections("p"), 0);
    assert.equal(upstream.connections[0]?.destroyed, true, "the server saw it closed");
    // A connection in use is not timed out by the TTL: a slow answer arrives whole.
    const slow = await startUpstream("slow", 0, (_req, res) => {
      setTimeout(() => res.writeHead(200, { "content-type": "application/json" }).end('{"from":"slow"}'), 500);
      return true;
    });
    cleanups.push(() => slow.close());
    const slowFront = await startFront(client, () => ({ baseUrl: `http://127.0.0.1:${slow.port}`, upstream: { profileId: "s", process: "1" }, path: "/v1/chat/completions", meterUsage: true, dropUsageOnly: false, describe: "profile s" }));
    cleanups.push(() => slowFront.close());
    await ask(slowFront.url);
    const reused = await ask(slowFront.url);
    assert.equal(reused.status, 200);
    assert.equal((JSON.parse(reused.body) as { from: string }).from, "slow");
  });
});
