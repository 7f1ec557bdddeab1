// The contract between our command lines and the engines' own parsers: every option of every engine
// is set, the command line built, and each flag checked against the flags the engines' sources
// define (../shared/engines/upstream-flags.json: mlx_lm v0.31.3, mlx-openai-server v1.8.1,
// llama-server's README at 00dc8057) — that it exists, takes a value when it has one, and that the
// value is of its type and among its choices.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import type { EngineId, EngineOptionName } from "../../../../src/shared/engines";
import { ProfileOptions } from "../../../../src/shared/profiles";
import { everyOption } from "../../../helpers/everyOption";
import { ENGINES } from "../../../../src/services/engines/registry";
import { MLX_LM_SERVER_FLAGS, MLX_LM_SERVER_REF, MLX_OPENAI_SERVER_LAUNCH_FLAGS, MLX_OPENAI_SERVER_REF, type FlagSpec } from "../../../helpers/standins/flagTables";

interface UpstreamFlag {
  names: string[];
  negativeNames?: string[];
  takesValue: boolean;
  type: string | null;
  choices: string[] | null;
  removed?: boolean;
}
interface UpstreamTool {
  ref: string | null;
  commit: string;
  flags: UpstreamFlag[];
}

const FLAGS_FILE = process.env["MLX_UPSTREAM_FLAGS"] ?? path.resolve(__dirname, "../../../../../shared/engines/upstream-flags.json");

/**
 * The llama-server flags the registry may give, transcribed from tools/server/README.md at 00dc8057
 * (llama-server has no stand-in). Checked against upstream-flags.json whenever it is beside this
 * checkout, and used in its place when it is not.
 */
const LLAMA_SERVER_FLAGS: UpstreamFlag[] = [
  ["--model", "-m"],
  ["--host"],
  ["--port"],
  ["--alias", "-a"],
  ["--ctx-size", "-c"],
  ["--temp", "--temperature"],
  ["--top-p"],
  ["--top-k"],
  ["--min-p"],
  ["--repeat-penalty"],
  ["--seed", "-s"],
  ["--threads", "-t"],
  ["--n-gpu-layers", "-ngl", "--gpu-layers"],
  ["--parallel", "-np"],
  ["--chat-template"],
  ["--chat-template-file"],
  ["--chat-template-kwargs"],
  ["--mmproj", "-mm"],
  ["--model-draft", "-md", "--spec-draft-model"],
  ["--lora"],
].map((names) => ({ names, takesValue: true, type: null, choices: null }));
LLAMA_SERVER_FLAGS.push(
  { names: ["--flash-attn", "-fa"], takesValue: true, type: null, choices: ["on", "off", "auto"] },
  { names: ["--cache-type-k", "-ctk"], takesValue: true, type: null, choices: ["f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "iq4_nl", "q5_0", "q5_1"] },
  { names: ["--cache-type-v", "-ctv"], takesValue: true, type: null, choices: ["f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "iq4_nl", "q5_0", "q5_1"] },
  { names: ["--jinja", "--no-jinja"], negativeNames: ["--no-jinja"], takesValue: false, type: "bool", choices: null },
  { names: ["--embedding", "--embeddings"], takesValue: false, type: "bool", choices: null },
  { names: ["--metrics"], takesValue: false, type: "bool", choices: null },
);

function fromSpec(specs: readonly FlagSpec[]): UpstreamFlag[] {
  return specs.map((f) => ({ names: [...f.names], takesValue: f.takesValue, type: f.type, choices: f.choices ? [...f.choices] : null }));
}

/** The committed tables, as they stand in for upstream-flags.json when it is absent. */
const COMMITTED: Record<string, UpstreamTool> = {
  "mlx_lm.server": { ...MLX_LM_SERVER_REF, flags: fromSpec(MLX_LM_SERVER_FLAGS) },
  "mlx-openai-server launch": { ...MLX_OPENAI_SERVER_REF, flags: fromSpec(MLX_OPENAI_SERVER_LAUNCH_FLAGS) },
  "llama-server": { ref: null, commit: "00dc8057ab28c9cb4c79a6dd6dfce07fe779f63b", flags: LLAMA_SERVER_FLAGS },
};

/** One value for every option, valid for the profile schema; paths need not exist (only the command line is built). */
const EVERY_OPTION = everyOption("/work");

const TOOLS: Partial<Record<EngineId, { tool: string; skip: number }>> = {
  "mlx-lm": { tool: "mlx_lm.server", skip: 0 },
  // `launch` is the click subcommand.
  "mlx-openai-server": { tool: "mlx-openai-server launch", skip: 1 },
  "llama-server": { tool: "llama-server", skip: 0 },
};

function valueFits(flag: UpstreamFlag, value: string): string | undefined {
  if (flag.choices && !flag.choices.includes(value)) return `"${value}" is not one of ${flag.choices.join(", ")}`;
  if (flag.type === "int" && !/^-?\d+$/.test(value)) return `"${value}" is not an int`;
  if (flag.type === "float" && Number.isNaN(Number(value))) return `"${value}" is not a float`;
  if (flag.type === "json") {
    try {
      JSON.parse(value);
    } catch {
      return `"${value}" is not JSON`;
    }
  }
  if (flag.type === "size" && !/^\d+(\.\d+)?(M|G|MB|GB)?$/.test(value)) return `"${value}" is not a size`;
  return undefined;
}

describe("command lines against the engines' own flags", function () {
  const exists = fs.existsSync(FLAGS_FILE);
  const upstream = exists ? (JSON.parse(fs.readFileSync(FLAGS_FILE, "utf8")) as { tools: Record<string, UpstreamTool> }).tools : COMMITTED;

  it("keeps the stand-ins' flag tables and the llama-server list as the engines' sources have them (upstream-flags.json, when it is beside this checkout)", () => {
    for (const [tool, committed] of Object.entries(COMMITTED)) {
      assert.match(committed.commit, /^[0-9a-f]{40}$/, tool);
      const names = committed.flags.flatMap((f) => [...new Set([...f.names, ...(f.negativeNames ?? [])])]);
      assert.equal(new Set(names).size, names.length, `${tool}: a flag listed twice`);
      if (!exists) continue;
      const source = upstream[tool];
      assert.ok(source, `${tool} in ${FLAGS_FILE}`);
      assert.equal(source.commit, committed.commit, `${tool}: the tables follow the commit the flags were read at`);
      const byName = new Map(source.flags.flatMap((f) => [...f.names, ...(f.negativeNames ?? [])].map((n) => [n, f] as const)));
      for (const flag of committed.flags) {
        const real = byName.get(flag.names[0] ?? "");
        assert.ok(real, `${tool}: ${flag.names[0]} is not upstream`);
        assert.deepEqual([...flag.names].sort(), [...real.names].sort(), `${tool}: the spellings of ${flag.names[0]}`);
        assert.equal(flag.takesValue, real.takesValue, `${tool}: ${flag.names[0]} takes a value`);
        assert.deepEqual(flag.choices ?? null, real.choices ?? null, `${tool}: the choices of ${flag.names[0]}`);
        if (tool !== "llama-server") assert.equal(flag.type, real.type, `${tool}: the type of ${flag.names[0]}`);
      }
      // The stand-ins refuse every flag upstream does not have, and accept every one it has.
      if (tool !== "llama-server") assert.equal(committed.flags.length, source.flags.length, `${tool}: every upstream flag is in the stand-in's table`);
    }
  });

  it("sets every option an engine takes in the value table (so a new option cannot skip this check)", () => {
    ProfileOptions.parse(EVERY_OPTION);
    for (const engine of Object.values(ENGINES)) for (const name of engine.options) assert.ok(name in EVERY_OPTION, `${engine.id}: ${name}`);
  });

  for (const [id, { tool, skip }] of Object.entries(TOOLS) as [EngineId, { tool: string; skip: number }][]) {
    it(`${id}: every flag it is given exists in ${tool}, takes a value if it has one, and gets one of its type and choices`, () => {
      const flags = upstream[tool]?.flags;
      assert.ok(flags, `no ${tool} in ${FLAGS_FILE}`);
      const engine = ENGINES[id];
      const options = Object.fromEntries(engine.options.filter((name: EngineOptionName) => name !== "extraArgs" && name !== "env").map((name) => [name, EVERY_OPTION[name]]));
      const { args } = engine.buildCommand({ modelPath: "/models/m", port: 8123, alias: "my-profile", options, nodePath: "", llamaScript: "" }, tool.split(" ")[0] ?? tool);
      const byName = new Map<string, UpstreamFlag>();
      for (const flag of flags) for (const name of [...flag.names, ...(flag.negativeNames ?? [])]) byName.set(name, flag);
      const seen = new Set<string>();
      for (let i = skip; i < args.length; i++) {
        const arg = args[i] ?? "";
        assert.ok(arg.startsWith("--"), `${id}: "${arg}" at ${i} is not a flag (a value out of place in ${args.join(" ")})`);
        const flag = byName.get(arg);
        assert.ok(flag, `${id}: ${arg} is not a flag of ${tool} at ${upstream[tool]?.ref ?? upstream[tool]?.commit}`);
        assert.ok(flag.removed !== true, `${id}: ${arg} was removed from ${tool}`);
        seen.add(flag.names[0] ?? arg);
        const negative = flag.negativeNames?.includes(arg) === true;
        if (flag.takesValue && !negative) {
          const value = args[++i];
          assert.ok(value !== undefined, `${id}: ${arg} needs a value`);
          const problem = valueFits(flag, value);
          assert.equal(problem, undefined, `${id}: ${arg} ${problem ?? ""}`);
        }
      }
      // Every option reaches the command line or each request: none is taken and silently dropped.
      const base = engine.buildCommand({ modelPath: "/models/m", port: 8123, alias: "my-profile", options: {}, nodePath: "", llamaScript: "" }, tool).args.join("\0");
      for (const [name, value] of Object.entries(options)) {
        const one = engine.buildCommand({ modelPath: "/models/m", port: 8123, alias: "my-profile", options: { [name]: value }, nodePath: "", llamaScript: "" }, tool).args.join("\0");
        const fields = Object.keys(engine.requestFields?.({ [name]: value }) ?? {}).length;
        assert.ok(one !== base || fields > 0, `${id}: option ${name} reaches neither the command line nor a request`);
      }
    });
  }
});
