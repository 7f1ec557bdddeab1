// The MLX stand-ins refuse what the real CLIs refuse, and accept every command line the registry
// builds: a check that the manager never passes a flag docs/ENGINES.md does not list.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { ENGINES } from "../../../../src/services/engines/registry";
import type { ProfileOptions } from "../../../../src/shared/profiles";
import { makeTempDir, mlxRepoFiles, removeTempDir } from "../../../helpers/hfCache";
import { installStandins, type InstalledStandins } from "../../../helpers/standins";

function run(
  file: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { env: { ...process.env, ...env, STANDIN_DRY_RUN: "1" } },
      (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr });
      },
    );
  });
}

describe("MLX engine stand-ins", function () {
  this.timeout(20_000);
  let root: string;
  let model: string;
  let standins: InstalledStandins;

  before(async () => {
    root = makeTempDir("standins-");
    model = path.join(root, "model");
    fs.mkdirSync(model);
    for (const [file, content] of Object.entries(
      mlxRepoFiles({ repoId: "x/y", quantization: { bits: 4, groupSize: 64 } }),
    ))
      fs.writeFileSync(path.join(model, file), content);
    fs.writeFileSync(path.join(root, "m.gguf"), "");
    standins = await installStandins(path.join(root, "bin"), { gguf: path.join(root, "m.gguf") });
  });
  after(() => {
    removeTempDir(root);
  });

  it("are executables with a node shebang in the test's own bin dir", () => {
    for (const file of [standins.mlxLm, standins.mlxOpenAiServer]) {
      assert.equal(path.dirname(file), path.join(root, "bin"));
      assert.ok((fs.statSync(file).mode & 0o111) !== 0);
      assert.match(fs.readFileSync(file, "utf8"), /^#!\/usr\/bin\/env node\n/);
    }
  });

  it("accept every command line the registry builds, with every option each engine takes", async () => {
    const all: ProfileOptions = {
      contextLength: 4096,
      maxTokens: 256,
      temperature: 0.7,
      topP: 0.9,
      topK: 40,
      minP: 0.05,
      repetitionPenalty: 1.1,
      seed: 7,
      modelType: "lm",
      adapterPath: path.join(root, "adapter"),
      draftModel: path.join(root, "draft"),
      trustRemoteCode: true,
      chatTemplate: "{{ messages }}",
    };
    for (const engine of [ENGINES["mlx-lm"], ENGINES["mlx-openai-server"]]) {
      const options = Object.fromEntries(
        Object.entries(all).filter(([key]) => (engine.options as readonly string[]).includes(key)),
      );
      const built = engine.buildCommand(
        { modelPath: model, port: 8123, alias: "p", options, nodePath: process.execPath, llamaScript: "" },
        engine.id === "mlx-lm" ? standins.mlxLm : standins.mlxOpenAiServer,
      );
      const result = await run(built.command, built.args, standins.env);
      assert.equal(result.code, 0, `${engine.id}: ${built.args.join(" ")}\n${result.stderr}`);
      assert.match(result.stdout, /command line accepted/);
    }
  });

  it("refuse flags the real CLIs do not have, like them (exit 2)", async () => {
    const lm = await run(standins.mlxLm, ["--model", model, "--context-length", "4096"], standins.env);
    assert.equal(lm.code, 2);
    assert.match(
      lm.stderr,
      /^usage: mlx_lm\.server .*\nmlx_lm\.server: error: unrecognized arguments: --context-length 4096\n$/,
    );
    const removed = await run(
      standins.mlxOpenAiServer,
      ["launch", "--model-path", model, "--max-concurrency", "4"],
      standins.env,
    );
    assert.equal(removed.code, 2);
    assert.match(removed.stderr, /Error: No such option: --max-concurrency/);
    const noLaunch = await run(standins.mlxOpenAiServer, ["--model-path", model], standins.env);
    assert.equal(noLaunch.code, 2);
    const badChoice = await run(
      standins.mlxOpenAiServer,
      ["launch", "--model-path", model, "--model-type", "llm"],
      standins.env,
    );
    assert.match(badChoice.stderr, /Invalid value for '--model-type': 'llm' is not one of 'lm'/);
    const badInt = await run(standins.mlxLm, ["--model", model, "--port", "eighty"], standins.env);
    assert.match(badInt.stderr, /argument --port: invalid int value: 'eighty'/);
  });
});
