// Other tools' settings files written for the user: atomically, and private to them, since what is
// written holds the gateway key.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { readIfThere, writeAtomic } from "../../../src/commands/settingsFiles";

describe("settings files of other tools", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "settings-files-"));
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("writes a new file 0600 in a folder it makes, and leaves no temporary file", async () => {
    const file = path.join(dir, "a", "b", "config.toml");
    assert.equal(await readIfThere(file), undefined);
    await writeAtomic(file, "model = \"x\"\n");
    assert.equal(fs.readFileSync(file, "utf8"), "model = \"x\"\n");
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.deepEqual(fs.readdirSync(path.dirname(file)), ["config.toml"]);
  });

  it("takes group and other access away from a file it rewrites (the key is in it), keeping the owner's", async () => {
    const file = path.join(dir, "settings.json");
    fs.writeFileSync(file, "{}", { mode: 0o644 });
    fs.chmodSync(file, 0o644);
    await writeAtomic(file, "{\"env\":{}}");
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    fs.chmodSync(file, 0o400);
    await writeAtomic(file, "{}");
    assert.equal(fs.statSync(file).mode & 0o777, 0o400);
  });
});
