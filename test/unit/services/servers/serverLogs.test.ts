// Server log files: O_APPEND writers, copy-and-truncate rotation, tails, following and pruning.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import {
  appendLogLine,
  followLog,
  logSlug,
  openLogForAppend,
  pruneOldLogs,
  readLogTail,
  rotateIfLarge,
} from "../../../../src/services/servers/serverLogs";
import { makeTempDir, removeTempDir } from "../../../helpers/hfCache";
import { waitFor } from "../../../helpers/servers";

describe("server logs", () => {
  let dir: string;
  beforeEach(() => {
    dir = makeTempDir("server-logs-");
  });
  afterEach(() => {
    removeTempDir(dir);
  });

  it("names log files after the profile", () => {
    assert.equal(logSlug("Llama 3.2 (8B) Instruct"), "llama-3.2-8b-instruct");
    assert.equal(logSlug("Über Modell"), "uber-modell");
    assert.equal(logSlug("日本語"), "server");
  });

  it("rotates by copy-and-truncate, keeps two copies, and the writer's O_APPEND descriptor writes at the new end", () => {
    const file = path.join(dir, "a.log");
    const fd = openLogForAppend(file);
    try {
      for (let round = 1; round <= 4; round++) {
        fs.writeSync(fd, `${`round ${round} `.repeat(200)}\n`);
        assert.ok(rotateIfLarge(file, 1000, 2));
      }
      fs.writeSync(fd, "after\n");
    } finally {
      fs.closeSync(fd);
    }
    assert.equal(fs.readFileSync(file, "utf8"), "after\n", "no hole of zeros before the new line");
    assert.match(fs.readFileSync(`${file}.1`, "utf8"), /round 4 \n$/);
    assert.match(fs.readFileSync(`${file}.2`, "utf8"), /round 3 \n$/);
    assert.ok(fs.statSync(`${file}.1`).size <= 1000, "a copy holds at most the limit: the end of the file");
    assert.equal(fs.existsSync(`${file}.3`), false);
    assert.equal(rotateIfLarge(file, 1000, 2), false, "small files stay");
  });

  it("copies only the last limit's worth of a flooded log, from a line start, so copies never outgrow the limit", () => {
    const file = path.join(dir, "flood.log");
    const lines = Array.from({ length: 20_000 }, (_, i) => `line ${i} ${"y".repeat(40)}\n`).join("");
    fs.writeFileSync(file, lines);
    assert.ok(rotateIfLarge(file, 4096, 2));
    const copy = fs.readFileSync(`${file}.1`, "utf8");
    assert.ok(copy.length <= 4096 && copy.length > 3000, `${copy.length} bytes`);
    assert.match(copy, /^line \d+ y+\n/, "starts at a whole line");
    assert.match(copy, /line 19999 y+\n$/, "ends with the newest line");
    assert.equal(fs.statSync(file).size, 0);
  });

  it("reads the last lines of a log, however long", () => {
    const file = path.join(dir, "b.log");
    for (let i = 1; i <= 5000; i++) appendLogLine(file, `line ${i} ${"x".repeat(i % 300)}`);
    const tail = readLogTail(file, 3);
    assert.deepEqual(
      tail.map((l) => l.split(" ").slice(0, 2).join(" ")),
      ["line 4998", "line 4999", "line 5000"],
    );
    assert.equal(readLogTail(file, 10_000).length, 5000);
    assert.deepEqual(readLogTail(path.join(dir, "none.log"), 5), []);
  });

  it("follows appended lines, through a rotation, until aborted", async () => {
    const file = path.join(dir, "c.log");
    appendLogLine(file, "old");
    const seen: string[] = [];
    const controller = new AbortController();
    const following = followLog(file, (lines) => seen.push(...lines), controller.signal, { intervalMs: 20 });
    appendLogLine(file, "new 1");
    fs.appendFileSync(file, "partial");
    await waitFor(() => seen.includes("new 1"), 2000, "new 1");
    fs.appendFileSync(file, " line\n");
    await waitFor(() => seen.includes("partial line"), 2000, "the completed line");
    fs.truncateSync(file, 0);
    await new Promise((r) => setTimeout(r, 60));
    appendLogLine(file, "after rotation");
    await waitFor(() => seen.includes("after rotation"), 2000, "a line after the truncation");
    controller.abort();
    await following;
    assert.ok(!seen.includes("old"), "starts at the end");
  });

  it("prunes logs nobody wrote to for long, but not those in use", () => {
    const old = path.join(dir, "old.log");
    const used = path.join(dir, "used.log");
    const fresh = path.join(dir, "fresh.log.1");
    for (const f of [old, used, fresh]) fs.writeFileSync(f, "x");
    const longAgo = new Date(Date.now() - 40 * 24 * 3600_000);
    fs.utimesSync(old, longAgo, longAgo);
    fs.utimesSync(used, longAgo, longAgo);
    assert.deepEqual(pruneOldLogs(dir, 30 * 24 * 3600_000, new Set([used])), [old]);
    assert.deepEqual(fs.readdirSync(dir).sort(), ["fresh.log.1", "used.log"]);
  });
});
