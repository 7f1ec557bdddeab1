// The gateway's relay to a remote backend over https: the key goes only to a server presenting the
// pinned certificate (checked in the handshake, before any header), and a backend that refuses the
// key is a 502 saying so, not its own 401 (which the client would read as its key being wrong).
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { UsageMeter } from "../../src/services/gateway/UsageMeter";
import { silentLogger } from "../../src/services/logging/Logger";
import { FakeServerDirectory, FakeUpstream, fakeProfile, startGatewayApp, type GatewayApp } from "../helpers/upstreams";

async function selfSigned(): Promise<{ cert: string; key: string; fingerprint: string }> {
  const { generate } = await import("selfsigned");
  const pems = await generate([{ name: "commonName", value: "remote backend" }], { keySize: 2048, days: 1, algorithm: "sha256" } as Parameters<typeof generate>[1]);
  return { cert: pems.cert, key: pems.private, fingerprint: new crypto.X509Certificate(pems.cert).fingerprint256 };
}

describe("gateway relay to a remote backend over https", function () {
  this.timeout(30_000);
  let backend: FakeUpstream;
  let gateway: GatewayApp;
  let other: { cert: string; fingerprint: string };

  before(async () => {
    const tls = await selfSigned();
    other = await selfSigned();
    backend = await FakeUpstream.start({ pace: "paced", intervalMs: 1, tokens: 5, usage: "separate", tls, requireKey: "sk-right" });
    const pinned = { certPem: tls.cert, fingerprint: tls.fingerprint };
    const directory = new FakeServerDirectory([
      { profile: fakeProfile("p-ok", "ok", "remote"), url: backend.url, upstreamModel: "qwen", access: { url: backend.url, pin: pinned, authorization: "Bearer sk-right", generation: "1" } },
      { profile: fakeProfile("p-badkey", "badkey", "remote"), url: backend.url, upstreamModel: "qwen", access: { url: backend.url, pin: pinned, authorization: "Bearer sk-wrong", generation: "1" } },
      { profile: fakeProfile("p-badpin", "badpin", "remote"), url: backend.url, upstreamModel: "qwen", access: { url: backend.url, pin: { certPem: other.cert, fingerprint: other.fingerprint }, authorization: "Bearer sk-right", generation: "1" } },
    ]);
    gateway = await startGatewayApp({ directory, meter: new UsageMeter({ logger: silentLogger }), logger: silentLogger });
  });

  after(async () => {
    await gateway.close();
    await backend.close();
  });

  const chat = (model: string, stream: boolean): Promise<Response> =>
    fetch(`${gateway.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${gateway.token}`, "content-type": "application/json" },
      body: JSON.stringify({ model, stream, messages: [{ role: "user", content: "Hi" }] }),
    });

  it("sends the key to the pinned backend and relays its stream", async () => {
    const answer = await chat("ok", true);
    assert.equal(answer.status, 200);
    const text = await answer.text();
    assert.ok(text.includes("data: [DONE]"), text);
    const seen = backend.requests.at(-1);
    assert.equal(seen?.headers.authorization, "Bearer sk-right");
    assert.equal((seen.json as { model: string }).model, "qwen");
  });

  it("answers 502 remote_key_refused when the backend refuses the key", async () => {
    const answer = await chat("badkey", false);
    assert.equal(answer.status, 502);
    const body = (await answer.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, "remote_key_refused");
    assert.match(body.error.message, /refused this manager's key/);
  });

  it("sends nothing, the key included, to a server presenting another certificate", async () => {
    const before = backend.requests.length;
    const answer = await chat("badpin", false);
    assert.equal(answer.status, 502);
    const body = (await answer.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, "upstream_unreachable");
    assert.match(body.error.message, /certificate|self-signed/i);
    assert.equal(backend.requests.length, before, "no request reached the backend");
  });
});
