// The kept Responses: real files in a temporary folder — owners apart, caps on count, bytes and
// age, a deleted user's purged, the index rebuilt from the folder, and bad files dropped.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ResponseStore, type StoredResponse } from "../../../../src/services/gateway/ResponseStore";
import { MemoryLogger } from "../../../../src/services/logging/Logger";

function stored(id: string, text = "hello"): StoredResponse {
  return {
    response: { id, object: "response", created_at: 1, output: [{ id: "msg_1", type: "message", status: "completed", role: "assistant", content: [{ type: "output_text", text, annotations: [], logprobs: [] }] }] } as unknown as StoredResponse["response"],
    input: [{ type: "message", role: "user", content: "hi" }],
  };
}

describe("ResponseStore", () => {
  let dir: string;
  let now: number;
  beforeEach(() => {
    dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "responses-")), "responses");
    now = Date.now();
  });
  afterEach(() => {
    fs.rmSync(path.dirname(dir), { recursive: true, force: true });
  });

  const open = (limits = {}): ResponseStore => {
    const store = new ResponseStore(dir, new MemoryLogger(), limits, () => now);
    store.open();
    return store;
  };

  it("keeps each response in a 0600 file of its own, visible to its owner only", () => {
    const store = open();
    store.save("local", stored("resp_a"));
    store.save("user-1", stored("resp_b"));
    assert.equal(store.get("local", "resp_a")?.response.id, "resp_a");
    assert.equal(store.get("user-1", "resp_a"), undefined, "someone else's is as missing");
    assert.equal(store.delete("user-1", "resp_a"), false);
    assert.deepEqual(fs.readdirSync(dir).sort(), ["local.resp_a.json", "user-1.resp_b.json"]);
    for (const f of fs.readdirSync(dir)) assert.equal(fs.statSync(path.join(dir, f)).mode & 0o777, 0o600);
    assert.equal(fs.statSync(dir).mode & 0o777, 0o700);
    assert.equal(store.delete("local", "resp_a"), true);
    assert.equal(store.get("local", "resp_a"), undefined);
    assert.deepEqual(fs.readdirSync(dir), ["user-1.resp_b.json"]);
  });

  it("drops the oldest past the count and the bytes, and any past the age", () => {
    const byCount = open({ maxCount: 2 });
    for (const id of ["resp_1", "resp_2", "resp_3"]) byCount.save("local", stored(id));
    assert.equal(byCount.get("local", "resp_1"), undefined);
    assert.ok(byCount.get("local", "resp_3"));
    assert.equal(byCount.size.count, 2);

    fs.rmSync(dir, { recursive: true });
    const one = JSON.stringify(stored("resp_x1", "x".repeat(1000))).length;
    const byBytes = open({ maxBytes: one * 2 + 10 });
    for (const id of ["resp_x1", "resp_x2", "resp_x3"]) byBytes.save("local", stored(id, "x".repeat(1000)));
    assert.deepEqual(fs.readdirSync(dir).sort(), ["local.resp_x2.json", "local.resp_x3.json"]);
    assert.ok(byBytes.size.bytes <= one * 2 + 10);

    const byAge = open({ maxAgeMs: 1000 });
    now += 2000;
    assert.equal(byAge.get("local", "resp_x3"), undefined, "expired");
    assert.ok(!fs.existsSync(path.join(dir, "local.resp_x3.json")));
  });

  it("purges a deleted user's responses and leaves the others", () => {
    const store = open();
    store.save("user-1", stored("resp_1"));
    store.save("user-1", stored("resp_2"));
    store.save("local", stored("resp_3"));
    assert.equal(store.purgeOwner("user-1"), 2);
    assert.deepEqual(fs.readdirSync(dir), ["local.resp_3.json"]);
  });

  it("rebuilds its index from the folder at start, removes a torn temporary file and drops an unreadable one", () => {
    const first = open();
    first.save("local", stored("resp_1"));
    first.save("user-1", stored("resp_2"));
    fs.writeFileSync(path.join(dir, "local.resp_3.json.tmp-1-abc"), "{");
    fs.writeFileSync(path.join(dir, "local.resp_4.json"), "{not json", { mode: 0o600 });
    const second = open();
    assert.equal(second.get("local", "resp_1")?.input.length, 1);
    assert.equal(second.get("user-1", "resp_2")?.response.id, "resp_2");
    assert.ok(!fs.existsSync(path.join(dir, "local.resp_3.json.tmp-1-abc")));
    assert.equal(second.get("local", "resp_4"), undefined);
    assert.ok(!fs.existsSync(path.join(dir, "local.resp_4.json")), "an unreadable file is dropped, not kept forever");
  });

  it("a write that fails (a full disk) loses only that response, and says so in the log", () => {
    const logger = new MemoryLogger();
    const store = new ResponseStore(dir, logger, {}, () => now);
    store.open();
    fs.chmodSync(dir, 0o500);
    try {
      if (process.getuid?.() === 0) {
        // root writes anyway: make the file's place a folder instead.
        fs.chmodSync(dir, 0o700);
        fs.mkdirSync(path.join(dir, "local.resp_full.json"));
      }
      store.save("local", stored("resp_full"));
    } finally {
      fs.chmodSync(dir, 0o700);
    }
    assert.equal(store.get("local", "resp_full"), undefined);
    assert.ok(logger.lines.some((l) => l.level === "warn" && l.message === "could not keep a response"));
  });
});
