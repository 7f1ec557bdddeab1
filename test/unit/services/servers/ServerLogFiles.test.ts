// The servers' log files as the supervisor uses them, on real files.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { MemoryLogger } from "../../../../src/services/logging/Logger";
import { ServerLogFiles } from "../../../../src/services/servers/ServerLogFiles";
import { DEFAULT_SETTINGS } from "../../../../src/services/servers/SupervisorSettings";
import type { Profile } from "../../../../src/shared/profiles";
import { makeTempDir, removeTempDir } from "../../../helpers/hfCache";

describe("ServerLogFiles", () => {
  let root: string;
  let logger: MemoryLogger;
  let logs: ServerLogFiles;

  beforeEach(() => {
    root = makeTempDir("server-logs-");
    logger = new MemoryLogger();
    logs = new ServerLogFiles({
      dir: path.join(root, "servers"),
      settings: { ...DEFAULT_SETTINGS, logTailLines: 2, logMaxAgeMs: 1000 },
      logger,
      now: () => Date.parse("2025-01-02T03:04:05.000Z"),
    });
  });

  afterEach(() => {
    removeTempDir(root);
  });

  const profile = (id: string, name: string) => ({ id, name }) as Profile;

  it("names a log after its profile, adding the id when two profiles' names make the same file name", () => {
    const a = profile("aaaaaaaa-1111", "Llama 3 (8B)");
    const b = profile("bbbbbbbb-2222", "llama-3-8b");
    assert.equal(logs.fileFor(a, [a]), path.join(root, "servers", "llama-3-8b.log"));
    assert.equal(logs.fileFor(a, [a, b]), path.join(root, "servers", "llama-3-8b-aaaaaaaa.log"));
    assert.equal(logs.fileFor(b, [a, b]), path.join(root, "servers", "llama-3-8b-bbbbbbbb.log"));
  });

  it("writes the manager's own lines with a time stamp, and reads back the tail a failure reports", () => {
    logs.ensureDir();
    const file = path.join(root, "servers", "tiny.log");
    fs.writeFileSync(file, "loading\nlistening\n");
    logs.note(file, "pid 42 exited with code 1");
    assert.deepEqual(logs.tail(file), [
      "listening",
      "=== 2025-01-02T03:04:05.000Z mlx-manager: pid 42 exited with code 1",
    ]);
    assert.equal(logs.lastLine(file), "=== 2025-01-02T03:04:05.000Z mlx-manager: pid 42 exited with code 1");
    assert.equal((fs.statSync(path.join(root, "servers")).mode & 0o777).toString(8), "700");
  });

  it("deletes logs nobody wrote to for logMaxAgeMs except those in use, and says which", () => {
    logs.ensureDir();
    const old = path.join(root, "servers", "old.log");
    const inUse = path.join(root, "servers", "in-use.log");
    for (const file of [old, inUse]) {
      fs.writeFileSync(file, "x\n");
      fs.utimesSync(file, new Date("2024-01-01"), new Date("2024-01-01"));
    }
    logs.pruneOld(new Set([inUse]));
    assert.deepEqual(fs.readdirSync(path.join(root, "servers")), ["in-use.log"]);
    assert.deepEqual(
      logger.lines.map((l) => [l.message, l.fields["file"]]),
      [["deleted an old server log", old]],
    );
  });
});
