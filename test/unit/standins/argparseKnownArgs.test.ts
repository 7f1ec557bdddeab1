// parse_known_args, as mlx.launch uses it (mlx 846d176, _distributed_utils/launch.py): its own
// flags (abbreviations included) are consumed, everything else is the command, in order.
import assert from "node:assert/strict";
import { parseArgparse } from "../../helpers/standins/argparseParser";
import type { FlagSpec } from "../../helpers/standins/flagTables";

const FLAGS: FlagSpec[] = [
  { names: ["--hostfile"], takesValue: true, type: "str" },
  { names: ["--backend"], takesValue: true, type: "str" },
  { names: ["--starting-port", "-p"], takesValue: true, type: "int" },
  { names: ["-h", "--help"], takesValue: false, type: "bool", implicit: true },
];
const ctx = { prog: "mlx.launch", description: "Launch an MLX distributed program", columns: 80, callerFrames: [], pythonLib: "/usr/lib/python3.11", sitePackages: "/usr/lib/python3/dist-packages" };

describe("argparse stand-in: parse_known_args", () => {
  it("keeps unknown options and positionals as the command, in order, '--' included", () => {
    const outcome = parseArgparse(FLAGS, ["--hostf", "hosts.json", "--backend", "ring", "--", "python3", "-m", "mlx_lm", "server", "--model", "m"], ctx, { knownArgs: true });
    assert.ok(outcome.kind === "ok", JSON.stringify(outcome));
    assert.equal(outcome.values.get("--hostfile"), "hosts.json");
    assert.equal(outcome.values.get("--backend"), "ring");
    assert.deepEqual(outcome.extras, ["--", "python3", "-m", "mlx_lm", "server", "--model", "m"]);
  });

  it("still refuses a bad value of its own flags, and without knownArgs the unknown ones", () => {
    const bad = parseArgparse(FLAGS, ["-p", "x", "script.py"], ctx, { knownArgs: true });
    assert.ok(bad.kind === "exit");
    assert.match(bad.stderr, /argument --starting-port\/-p: invalid int value: 'x'/);
    const strict = parseArgparse(FLAGS, ["script.py"], ctx);
    assert.ok(strict.kind === "exit");
    assert.match(strict.stderr, /unrecognized arguments: script.py/);
  });
});
