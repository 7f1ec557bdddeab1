// What the check of a host reads from the script's output there (the script itself runs for real, over
// real ssh, in test/integration/distributed.test.ts): each problem says what to do.
import assert from "node:assert/strict";
import { readHostCheck } from "../../../../src/services/distributed/DistributedRanks";

const COMMIT = "a".repeat(40);
const want = { python: "/opt/homebrew/bin/python3", cache: true, revision: COMMIT, needBytes: 40e9 };
const printed = (lines: Record<string, string | string[]>): { code: number; stdout: string; stderr: string } => ({
  code: 0,
  stdout: Object.entries(lines)
    .flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((x) => `${k}\t${x}\n`))
    .join(""),
  stderr: "",
});
const ready = { python: "Python 3.12.8", mlx_lm: "0.31.3", ref: COMMIT, snapshot: "yes", memory: String(128e9), os: "Darwin" };

describe("reading a host's check", () => {
  it("finds a ready Mac ready, with its versions and memory", () => {
    const check = readHostCheck(1, "studio", printed(ready), want, 5);
    assert.deepEqual([check.reachable, check.python, check.mlxLm, check.model, check.memoryBytes, check.problems], [true, "3.12.8", "0.31.3", "present", 128e9, []]);
  });

  it("says when a Mac cannot give its share the memory (macOS's GPU limit: 3/4 of 48 GB is 36 GB)", () => {
    const check = readHostCheck(1, "mini", printed({ ...ready, memory: String(48e9) }), want, 5);
    assert.match(check.problems.join(" "), /mini can give a model .* its share needs about 40\.0 GB\. Add a host, or pick a smaller quantization\./);
  });

  it("tells an mlx-lm too old to run distributed, a missing Python, another revision and missing files apart", () => {
    assert.match(readHostCheck(1, "a", printed({ ...ready, mlx_lm: "0.30.2" }), want, 1).problems.join(" "), /mlx-lm 0\.30\.2; its server runs distributed from 0\.30\.6 on/);
    assert.match(readHostCheck(1, "a", printed({ ...ready, python: "sh: 1: /opt/homebrew/bin/python3: not found", mlx_lm: "sh: 1: /opt/homebrew/bin/python3: not found" }), want, 1).problems.join(" "), /a has no Python at \/opt\/homebrew\/bin\/python3/);
    const other = readHostCheck(1, "a", printed({ ...ready, ref: "b".repeat(40), snapshot: "no" }), want, 1);
    assert.deepEqual([other.model, other.revision], ["other_revision", "b".repeat(40)]);
    const partial = readHostCheck(1, "a", printed({ ...ready, missing: ["model-00002-of-00002.safetensors"] }), want, 1);
    assert.equal(partial.model, "incomplete");
    assert.match(partial.problems.join(" "), /lacks 1 file\(s\) \(model-00002-of-00002\.safetensors\)/);
  });

  it("reads ssh's own failures: an unknown host key, and a login that needs a password", () => {
    const key = readHostCheck(1, "studio", { code: 255, stdout: "", stderr: "No ED25519 host key is known for studio and you have requested strict checking.\r\nHost key verification failed.\r\n" }, want, 1);
    assert.equal(key.reachable, false);
    assert.match(key.problems[0] ?? "", /^ssh does not know studio's host key \(.*Host key verification failed\.\)\. Connect once from Terminal/);
    const denied = readHostCheck(1, "studio", { code: 255, stdout: "", stderr: "me@studio: Permission denied (publickey,password).\n" }, want, 1);
    assert.match(denied.problems[0] ?? "", /must log in without a password or prompt: set up a key \(ssh-copy-id studio\)/);
  });
});
