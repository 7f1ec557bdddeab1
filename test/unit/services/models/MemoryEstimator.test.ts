// The estimate of a model on disk: the weights are the files that load (not the tokenizer or the
// card), the shape comes from config.json or the GGUF header, and a start that cannot fit says so
// with the numbers.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { ENGINES } from "../../../../src/services/engines/registry";
import { usableMemory } from "../../../../src/services/models/memoryFit";
import { doesNotFitMessage, fitFor, localModelFacts } from "../../../../src/services/models/MemoryEstimator";
import { makeTempDir, removeTempDir } from "../../../helpers/hfCache";
import { writeTinyGguf } from "../../../helpers/tinyGguf";

const GIB = 1024 ** 3;

describe("memory estimate of a model on disk", () => {
  let dir: string;
  beforeEach(() => {
    dir = makeTempDir("mem-");
  });
  afterEach(() => {
    removeTempDir(dir);
  });

  it("an MLX folder: the .safetensors shards' bytes and config.json's shape; mlx_lm.server's default context", () => {
    fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify({ model_type: "llama", hidden_size: 4096, num_hidden_layers: 32, num_attention_heads: 32, num_key_value_heads: 8, max_position_embeddings: 131072 }));
    fs.writeFileSync(path.join(dir, "model-00001-of-00002.safetensors"), Buffer.alloc(3000));
    fs.writeFileSync(path.join(dir, "model-00002-of-00002.safetensors"), Buffer.alloc(1000));
    fs.writeFileSync(path.join(dir, "tokenizer.json"), Buffer.alloc(5000));
    const facts = localModelFacts({ format: "mlx", path: dir, size: 9000 });
    assert.equal(facts.weightsBytes, 4000, "the tokenizer does not load as weights");
    const fit = fitFor(facts, ENGINES["mlx-lm"], {}, usableMemory("linux", 24 * GIB));
    assert.equal(fit.need.context, 8192, "no context flag: a long chat");
    assert.equal(fit.need.kvBytes, 8192 * 131_072);
    assert.equal(fit.verdict, "fits");
    assert.equal(fit.overheadMeasured, false);
    // mlx-openai-server with a 4-bit cache and its own context.
    const quantized = fitFor(facts, ENGINES["mlx-openai-server"], { contextLength: 32_768, kvBits: 4 }, usableMemory("linux", 24 * GIB));
    assert.equal(quantized.need.kvBytes, Math.round(32_768 * 32 * 2048 * 0.5625));
  });

  it("a GGUF: the file's bytes and its header's shape; the llama engine's context cap", async () => {
    const file = path.join(dir, "tiny.gguf");
    const written = await writeTinyGguf(file, { seed: 1 });
    const facts = localModelFacts({ format: "gguf", path: written.path, size: fs.statSync(written.path).size });
    assert.equal(facts.weightsBytes, fs.statSync(written.path).size);
    assert.ok(facts.shape !== undefined && facts.shape.groups[0]?.kind === "full", JSON.stringify(facts.shape));
    const fit = fitFor(facts, ENGINES.llama, {}, usableMemory("linux", 24 * GIB));
    assert.ok(fit.need.context <= 4096);
    assert.equal(fit.need.basis, "shape");
    assert.equal(fit.overheadMeasured, true);
  });

  it("says what to do when a model cannot fit, with the numbers", () => {
    fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify({ model_type: "llama", hidden_size: 8192, num_hidden_layers: 80, num_attention_heads: 64, num_key_value_heads: 8 }));
    const shape = localModelFacts({ format: "mlx", path: dir, size: 0 }).shape;
    assert.ok(shape);
    const facts = { weightsBytes: 40e9, shape };
    const fit = fitFor(facts, ENGINES["mlx-lm"], {}, usableMemory("darwin", 32 * GIB, 0));
    assert.equal(fit.verdict, "does_not_fit");
    assert.match(doesNotFitMessage("big", fit), /^"big" needs about 43\.1 GB \(40\.0 GB weights \+ 2\.7 GB cache at 8,192 tokens \+ 400 MB engine\), more than the 22\.9 GB this machine can give a model \(macOS's default GPU wired limit \(2\/3 of memory\)\)\. Pick a smaller quantization, or a shorter context \(contextLength\) than 8,192, or raise the limit with: sudo sysctl iogpu\.wired_limit_mb=<MB>\.$/);
  });
});
