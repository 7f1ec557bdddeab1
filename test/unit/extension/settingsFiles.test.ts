// Other tools' settings files written for the user: atomically, and private to them, since what is
// written holds the gateway key.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { readIfThere, undoEdits, writeAtomic, writeEdit } from "../../../src/commands/settingsFiles";

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

  it("records each edit with a .bak, merges a second one into the first's record, and undoes them all, removing a file that held only what was written", async () => {
    const state = new Map<string, unknown>();
    const records = { get: (key: string) => state.get(key), update: async (key: string, value: unknown) => { state.set(key, value); } };
    type Applied = { set: string; previous: string | null };
    const merge = (earlier: Applied, now: Applied): Applied => ({ set: now.set, previous: earlier.previous });
    const theirs = path.join(dir, "theirs.conf");
    const ours = path.join(dir, "ours.conf");
    fs.writeFileSync(theirs, "a=1\n");
    await writeEdit<Applied>(records, "k", theirs, "a=1\n", "a=2\n", { set: "a=2", previous: "a=1" }, merge);
    await writeEdit<Applied>(records, "k", theirs, "a=2\n", "a=3\n", { set: "a=3", previous: "a=2" }, merge);
    await writeEdit<Applied>(records, "k", ours, undefined, "b=1\n", { set: "b=1", previous: null }, merge);
    assert.equal(fs.readFileSync(`${theirs}.bak`, "utf8"), "a=2\n");
    assert.ok(!fs.existsSync(`${ours}.bak`), "no .bak for a file that was not there");
    assert.deepEqual(state.get("k"), { [theirs]: { set: "a=3", previous: "a=1" }, [ours]: { set: "b=1", previous: null } });
    const undo = (text: string, applied: Applied): { text: string; restored: string[]; changedSince: string[] } =>
      text.trim() === applied.set ? { text: applied.previous === null ? "" : `${applied.previous}\n`, restored: ["x"], changedSince: [] } : { text, restored: [], changedSince: ["x"] };
    const undone = await undoEdits<Applied>(records, "k", undo, (applied) => applied.previous === null);
    assert.deepEqual(undone?.map((u) => [path.basename(u.file), u.names]), [["theirs.conf", ["x"]], ["ours.conf", ["x"]]]);
    assert.equal(fs.readFileSync(theirs, "utf8"), "a=1\n", "back to before the first edit");
    assert.ok(!fs.existsSync(ours), "the file that held only what was written is gone");
    assert.equal(state.get("k"), undefined);
    assert.equal(await undoEdits<Applied>(records, "k", undo), undefined, "nothing recorded: nothing to undo");
  });
});
