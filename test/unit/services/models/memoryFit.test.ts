// The memory formula on recorded config.json files of real architectures (test/fixtures/configs:
// Llama 3.1 8B, Qwen3 8B, Gemma 3 4B with sliding windows, DeepSeek V3 with MLA, Qwen3-Next with
// linear attention, Qwen3 30B-A3B a MoE), against cache sizes worked out by hand from the engines'
// own code (mlx-lm's KVCache, RotatingKVCache, ArraysCache and QuantizedKVCache; llama.cpp's
// iSWA and recurrent memory), and on GGUF metadata as llama.cpp writes it.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { bytesPerElement, describeNeed, fitVerdict, memoryNeed, usableMemory } from "../../../../src/services/models/memoryFit";
import { shapeFromConfig, shapeFromGguf, type ModelShape } from "../../../../src/services/models/modelShape";

const FIXTURES = path.join(__dirname, "..", "..", "..", "fixtures", "configs");
const config = (name: string): ModelShape => {
  const shape = shapeFromConfig(JSON.parse(fs.readFileSync(path.join(FIXTURES, `${name}.json`), "utf8")));
  assert.ok(shape, name);
  return shape;
};
const GIB = 1024 ** 3;

/** The cache at `context` tokens on MLX in 16 bits, no weights or overhead. */
const mlxCache = (shape: ModelShape, context: number): number => memoryNeed({ weightsBytes: 0, shape, context, family: "mlx", overheadBytes: 0 }).kvBytes;

describe("memory estimate: the formula on real architectures", () => {
  it("Llama 3.1 8B (GQA, 8 KV heads of 32): 131,072 bytes a token, 4 GiB at 32k", () => {
    const shape = config("llama-3.1-8b-instruct");
    assert.deepEqual(shape.groups, [{ kind: "full", layers: 32, elementsPerToken: 2 * 8 * 128 }]);
    assert.equal(mlxCache(shape, 1), 256 * 131_072, "MLX grows its cache 256 tokens at a time");
    assert.equal(mlxCache(shape, 32_768), 32_768 * 131_072);
    assert.equal(shape.maxContext, 131_072);
    assert.match(shape.notes[0] ?? "", /GQA: 8 KV heads of 32, 128 wide/);
  });

  it("parallel sequences of the built-in engine: a cache of the whole context each, said in the summary", () => {
    const shape = config("llama-3.1-8b-instruct");
    const one = memoryNeed({ weightsBytes: 1e9, shape, context: 4096, family: "llama.cpp", overheadBytes: 0 });
    const four = memoryNeed({ weightsBytes: 1e9, shape, context: 4096, family: "llama.cpp", overheadBytes: 0, sequences: 4 });
    assert.equal(four.kvBytes, 4 * one.kvBytes);
    assert.equal(four.totalBytes, 1e9 + 4 * one.kvBytes);
    assert.match(describeNeed(four), /cache at 4,096 tokens × 4 sequences/);
    assert.doesNotMatch(describeNeed(one), /sequences/);
  });

  it("Qwen3 8B (head_dim given, sliding_window null and off): 147,456 bytes a token", () => {
    const shape = config("qwen3-8b");
    assert.deepEqual(shape.groups, [{ kind: "full", layers: 36, elementsPerToken: 2048 }]);
    assert.equal(mlxCache(shape, 8192), 8192 * 147_456);
  });

  it("Gemma 3 4B: text_config with Gemma3TextConfig's defaults; 5 global layers of 34, 29 that hold at most 1,024 tokens", () => {
    const shape = config("gemma-3-4b-it");
    assert.deepEqual(shape.groups, [
      { kind: "full", layers: 5, elementsPerToken: 2 * 4 * 256 },
      { kind: "sliding", layers: 29, elementsPerToken: 2 * 4 * 256, window: 1024 },
    ]);
    const perLayerToken = 4096;
    assert.equal(mlxCache(shape, 32_768), 5 * 32_768 * perLayerToken + 29 * 1024 * perLayerToken);
    // llama.cpp's SWA layers keep the window plus one micro-batch (512).
    const llama = memoryNeed({ weightsBytes: 0, shape, context: 32_768, family: "llama.cpp", overheadBytes: 0 }).kvBytes;
    assert.equal(llama, 5 * 32_768 * perLayerToken + 29 * 1536 * perLayerToken);
    // At 1k the window is all there is: every layer holds the same.
    assert.equal(mlxCache(shape, 1024), 34 * 1024 * perLayerToken);
  });

  it("DeepSeek V3 (MLA): the latent of 512 + 64 rotary per token and layer, 70,272 bytes a token — not 128 heads' keys and values", () => {
    const shape = config("deepseek-v3");
    assert.deepEqual(shape.groups, [{ kind: "full", layers: 61, elementsPerToken: 576 }]);
    assert.equal(mlxCache(shape, 4096), 4096 * 70_272);
    assert.equal(shape.experts, 256);
    // DeepSeek V2 in mlx-lm expands it: every head's key (128 + 64) and value (128).
    const v2 = shapeFromConfig({ model_type: "deepseek_v2", num_hidden_layers: 27, num_attention_heads: 16, kv_lora_rank: 512, qk_rope_head_dim: 64, qk_nope_head_dim: 128, v_head_dim: 128, hidden_size: 2048 });
    assert.deepEqual(v2?.groups, [{ kind: "full", layers: 27, elementsPerToken: 16 * (192 + 128) }]);
  });

  it("Qwen3-Next (hybrid): 12 full-attention layers cache 24,576 bytes a token, 36 Gated DeltaNet layers a fixed state", () => {
    const shape = config("qwen3-next-80b-a3b-instruct");
    assert.deepEqual(shape.groups, [
      { kind: "full", layers: 12, elementsPerToken: 2 * 2 * 256 },
      { kind: "state", layers: 36, convElements: 3 * 8192, recurrentElements: 32 * 128 * 128 },
    ]);
    const at = (context: number): ReturnType<typeof memoryNeed> => memoryNeed({ weightsBytes: 0, shape, context, family: "mlx", overheadBytes: 0 });
    assert.equal(at(8192).kvBytes, 8192 * 24_576);
    // mlx-lm: the convolution's inputs in bf16 (49,152 B), the recurrent state in f32 (2,097,152 B), per layer.
    assert.equal(at(8192).stateBytes, 36 * (49_152 + 2_097_152));
    assert.equal(at(65_536).stateBytes, at(8192).stateBytes, "the state does not grow with the context");
    // llama.cpp keeps both in f32: 79,036,416 bytes for the 36 layers.
    assert.equal(memoryNeed({ weightsBytes: 0, shape, context: 8192, family: "llama.cpp", overheadBytes: 0 }).stateBytes, 79_036_416);
    assert.equal(shape.experts, 512);
  });

  it("Qwen3 30B-A3B (MoE): the cache of 4 KV heads, 98,304 bytes a token; the weights are every expert's (the files' bytes)", () => {
    const shape = config("qwen3-30b-a3b");
    assert.equal(mlxCache(shape, 1024), 1024 * 98_304);
    assert.equal(shape.experts, 128);
    assert.ok(shape.notes.includes("128 experts, all loaded"));
    const need = memoryNeed({ weightsBytes: 17.2e9, shape, context: 32_768, family: "mlx", overheadBytes: 400e6 });
    assert.equal(need.totalBytes, 17.2e9 + 32_768 * 98_304 + 400e6);
    assert.match(describeNeed(need), /^20\.8 GB \(17\.2 GB weights \+ 3\.2 GB cache at 32,768 tokens \+ 400 MB engine\)$/);
  });

  it("a quantized cache: MLX's bits plus a 16-bit scale and bias per group, llama.cpp's q8_0 blocks of 32", () => {
    assert.equal(bytesPerElement("mlx", { bits: 8, groupSize: 64 }), 1.0625);
    assert.equal(bytesPerElement("mlx", { bits: 4, groupSize: 64 }), 0.5625);
    assert.equal(bytesPerElement("llama.cpp", { bits: 8, groupSize: 32 }), 34 / 32);
    assert.equal(bytesPerElement("llama.cpp", { bits: 4, groupSize: 32 }), 18 / 32);
    assert.equal(bytesPerElement("mlx", undefined), 2);
    const shape = config("llama-3.1-8b-instruct");
    const q4 = memoryNeed({ weightsBytes: 0, shape, context: 32_768, family: "mlx", kv: { bits: 4, groupSize: 64 }, overheadBytes: 0 }).kvBytes;
    assert.equal(q4, Math.round(32_768 * 32 * 2048 * 0.5625));
  });

  it("GGUF metadata: GQA, per-layer KV head arrays, MLA written as one latent head, Gemma 3's window pattern, a recurrent hybrid", () => {
    const llama = shapeFromGguf("llama", { block_count: 32, "attention.head_count": 32, "attention.head_count_kv": 8, embedding_length: 4096, context_length: 131072 });
    assert.deepEqual(llama?.groups, [{ kind: "full", layers: 32, elementsPerToken: 8 * (128 + 128) }]);
    const gemma = shapeFromGguf("gemma3", { block_count: 34, "attention.head_count": 8, "attention.head_count_kv": 4, "attention.key_length": 256, "attention.value_length": 256, "attention.sliding_window": 1024, embedding_length: 2560 });
    assert.deepEqual(gemma?.groups.map((g) => [g.kind, g.layers]), [["full", 5], ["sliding", 29]]);
    // DeepSeek as llama.cpp converts it since #12801: one KV head, key 576 (latent + rotary) and value 512.
    const deepseek = shapeFromGguf("deepseek2", { block_count: 61, "attention.head_count": 128, "attention.head_count_kv": 1, "attention.key_length": 576, "attention.value_length": 512, "attention.kv_lora_rank": 512, embedding_length: 7168 });
    assert.deepEqual(deepseek?.groups, [{ kind: "full", layers: 61, elementsPerToken: 1088 }]);
    // Qwen3-Next: every 4th layer attends; the others keep llama.cpp's n_embd_r and n_embd_s.
    const next = shapeFromGguf("qwen3next", {
      block_count: 48,
      "attention.head_count": 16,
      "attention.head_count_kv": 2,
      "attention.key_length": 256,
      "attention.value_length": 256,
      full_attention_interval: 4,
      "ssm.conv_kernel": 4,
      "ssm.state_size": 128,
      "ssm.group_count": 16,
      "ssm.time_step_rank": 32,
      "ssm.inner_size": 4096,
      embedding_length: 2048,
    });
    assert.deepEqual(next?.groups, [
      { kind: "full", layers: 12, elementsPerToken: 2 * 512 },
      { kind: "state", layers: 36, convElements: 24_576, recurrentElements: 524_288 },
    ]);
    const perLayer = shapeFromGguf("jamba", { block_count: 4, "attention.head_count": 8, "attention.head_count_kv": [0, 8, 0, 8], "attention.key_length": 64, "attention.value_length": 64, "ssm.inner_size": 1024, "ssm.state_size": 16, "ssm.conv_kernel": 4 });
    assert.deepEqual(perLayer?.groups.map((g) => [g.kind, g.layers]), [["full", 2], ["state", 2]]);
    assert.equal(shapeFromGguf("llama", { "attention.head_count": 32 }), undefined, "no block count: no shape");
  });

  it("without a shape the cache is a share of the weights, and says so", () => {
    const need = memoryNeed({ weightsBytes: 4e9, context: 8192, family: "llama.cpp", overheadBytes: 0 });
    assert.equal(need.kvBytes, 1e9);
    assert.equal(need.basis, "share");
  });

  it("usable memory: macOS's GPU wired limit (set, or its default share), elsewhere memory less a headroom; the verdicts", () => {
    assert.equal(usableMemory("darwin", 64 * GIB, 57_344).bytes, 57_344 * 1024 * 1024);
    assert.equal(usableMemory("darwin", 64 * GIB, 0).bytes, 48 * GIB);
    assert.equal(usableMemory("darwin", 16 * GIB).bytes, Math.floor((16 * GIB * 2) / 3));
    assert.equal(usableMemory("linux", 24 * GIB).bytes, Math.floor(24 * GIB * 0.85));
    assert.equal(usableMemory("linux", 8 * GIB).bytes, 6 * GIB);
    assert.equal(fitVerdict(8 * GIB, 10 * GIB), "fits");
    assert.equal(fitVerdict(9 * GIB, 10 * GIB), "tight");
    assert.equal(fitVerdict(11 * GIB, 10 * GIB), "does_not_fit");
  });
});
