// Shared mode's open streams: a user disabled mid-stream is cut within a second; a token that
// expires while its stream is open ends that stream. Real manager process, the shared listener on
// 127.0.0.1, a streaming engine (the fake llama-server, one token per 20 ms), the openai client.
/* eslint-disable @typescript-eslint/no-deprecated -- the engines read max_tokens; clients still send it */
import assert from "node:assert/strict";
import OpenAI from "openai";
import { removeTempDir } from "../helpers/hfCache";
import { startManager, type RunningManager } from "../helpers/manager";
import { killGroups, pidsWithCommandLine } from "../helpers/servers";
import { approvedUser, call, openShared } from "../helpers/shared";
import { fakeProfile, makeFixture, type ReliabilityFixture } from "./helpers";

const WEEK_MS = 7 * 24 * 3600_000;

/** Streams up to 3000 tokens (60 s) and reports how it ended. */
async function longStream(baseURL: string, apiKey: string, onChunk: (n: number) => Promise<void> | void): Promise<{ chunks: number; failure: unknown; endedAt: number }> {
  const stream = await new OpenAI({ baseURL, apiKey, maxRetries: 0 }).chat.completions.create({ model: "rel-story", messages: [{ role: "user", content: "a long story" }], max_tokens: 3000, stream: true });
  let chunks = 0;
  let failure: unknown;
  try {
    for await (const chunk of stream) {
      if (chunk.choices.length > 0) await onChunk(++chunks);
    }
  } catch (error) {
    failure = error;
  }
  return { chunks, failure, endedAt: Date.now() };
}

describe("reliability: shared-mode streams and signed-out users", function () {
  this.timeout(90_000);
  let fixture: ReliabilityFixture;
  let manager: RunningManager;

  beforeEach(async () => {
    fixture = await makeFixture("mlx-rel-shared-");
    manager = await startManager({ dataDir: fixture.dataDir, hfCache: fixture.hfCache, env: fixture.env });
    assert.equal((await manager.api("POST", "/api/profiles", fakeProfile("rel-story"))).status, 201);
  });
  afterEach(async () => {
    await manager.api("POST", "/api/servers/stop-all").catch(() => undefined);
    await manager.stop();
    killGroups(pidsWithCommandLine(fixture.root));
    removeTempDir(fixture.root);
  });

  it("a user disabled while streaming: the stream is cut within a second of the change", async () => {
    const shared = await openShared(manager);
    const erin = await approvedUser(manager, shared, "erin@example.com", "erins long passphrase");
    let answeredAt = 0;
    const result = await longStream(`${shared}/v1`, erin.token, async (n) => {
      if (n !== 5) return;
      const res = await manager.api("PATCH", `/api/users/${erin.id}`, { status: "disabled" });
      assert.equal(res.status, 200);
      answeredAt = Date.now();
    });
    assert.ok(answeredAt > 0, "the stream started");
    assert.ok(result.failure instanceof Error, `cut, not finished (${result.chunks} chunks)`);
    const cutMs = result.endedAt - answeredAt;
    assert.ok(cutMs < 1000, `cut within 1 s (${cutMs} ms)`);
    assert.equal((await call(shared, "GET", "/v1/models", { auth: erin.token })).status, 401);
    process.stdout.write(`      figures: stream cut ${cutMs} ms after the disable was acknowledged, after ${result.chunks} chunks\n`);
  });

  it("a token that expires while its stream is open ends that stream (and the next request is refused)", async () => {
    let shared = await openShared(manager);
    const frank = await approvedUser(manager, shared, "frank@example.com", "franks long passphrase");
    const issuedAt = Date.now();
    // The same manager a week minus 12 s later: the token has about 12 s left, less the restart.
    await manager.stop();
    const offset = WEEK_MS - 12_000;
    manager = await startManager({ dataDir: fixture.dataDir, hfCache: fixture.hfCache, env: { ...fixture.env, MLX_MANAGER_TEST_CLOCK_OFFSET_MS: String(offset) } });
    shared = await openShared(manager);
    const expiresAt = issuedAt + WEEK_MS - offset; // on this machine's clock, within a second (iat is in whole seconds)
    assert.ok(expiresAt - Date.now() > 1000, "the token is still valid when the stream opens");
    const result = await longStream(`${shared}/v1`, frank.token, () => undefined);
    assert.ok(result.failure instanceof Error, `ended by the expiry, not finished (${result.chunks} chunks)`);
    assert.ok(result.chunks < 3000);
    const lateMs = result.endedAt - expiresAt;
    assert.ok(lateMs > -1500 && lateMs < 2000, `ended at the expiry (${lateMs} ms after it)`);
    const after = await call(shared, "GET", "/v1/models", { auth: frank.token });
    assert.equal(after.status, 401, "the expired token is refused");
    process.stdout.write(`      figures: stream ended ${lateMs} ms from the token's expiry, after ${result.chunks} chunks\n`);
  });
});
