// The file-format readers on their own: safetensors headers, GGUF headers, model cards, config.json.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import {
  ggufFileTypeQuantization,
  ggufNameQuantization,
  ggufSplitGroup,
  readGgufSummary,
} from "../../../../src/services/cache/gguf";
import { parseModelCard } from "../../../../src/services/cache/modelCard";
import { ModelConfigError, parseModelConfig } from "../../../../src/services/cache/modelConfig";
import {
  SafetensorsError,
  countParameters,
  readSafetensorsHeader,
  summarizeSafetensorsHeader,
} from "../../../../src/services/cache/safetensors";
import { ggufBytes, makeTempDir, removeTempDir, safetensorsBytes } from "../../../helpers/hfCache";

describe("safetensors headers", () => {
  let dir: string;
  beforeEach(() => {
    dir = makeTempDir("st-");
  });
  afterEach(() => {
    removeTempDir(dir);
  });

  function write(name: string, data: Uint8Array): string {
    const file = path.join(dir, name);
    fs.writeFileSync(file, data);
    return file;
  }

  it("reads only the header and sums elements by kind", () => {
    const bytes = safetensorsBytes(
      [
        { name: "a.weight", dtype: "F16", shape: [3, 5] },
        { name: "b.weight", dtype: "U32", shape: [4, 2] },
        { name: "b.scales", dtype: "F16", shape: [4, 1] },
        { name: "b.biases", dtype: "F16", shape: [4, 1] },
      ],
      { format: "mlx" },
    );
    const file = write("m.safetensors", bytes);
    const json = readSafetensorsHeader(file, bytes.byteLength);
    assert.equal(bytes.readBigUInt64LE(0), BigInt(Buffer.byteLength(json)));
    assert.deepEqual(summarizeSafetensorsHeader(json), {
      plain: 15,
      scalesBiases: 8,
      packed: [["b.weight", 8]],
    });
  });

  it("reads headers larger than its first read", () => {
    const tensors = Array.from({ length: 2000 }, (_, i) => ({
      name: `layer.${i}.weight`,
      dtype: "F32" as const,
      shape: [2, 3],
    }));
    const bytes = safetensorsBytes(tensors);
    assert.ok(bytes.readBigUInt64LE(0) > 64n * 1024n);
    const file = write("big.safetensors", bytes);
    assert.equal(summarizeSafetensorsHeader(readSafetensorsHeader(file, bytes.byteLength)).plain, 2000 * 6);
  });

  it("rejects truncated and implausible headers", () => {
    const bytes = safetensorsBytes([{ name: "a", dtype: "F32", shape: [4] }]);
    const truncated = bytes.subarray(0, 20);
    const file = write("cut.safetensors", truncated);
    assert.throws(() => readSafetensorsHeader(file, truncated.byteLength), SafetensorsError);
    const tiny = write("tiny.safetensors", Buffer.from([1, 2, 3]));
    assert.throws(() => readSafetensorsHeader(tiny, 3), SafetensorsError);
    assert.throws(() => summarizeSafetensorsHeader("{not json"), SafetensorsError);
  });

  it("unpacks quantized weights and leaves out scales and biases", () => {
    // A 4-bit [256 x 512] weight is stored as U32 [256 x 64]: 16,384 stored elements, 131,072 parameters.
    const summary = {
      plain: 1000,
      scalesBiases: 4096,
      packed: [["w.weight", 256 * 64]] as [string, number][],
    };
    assert.equal(countParameters([summary], { bits: 4 }), 1000 + 256 * 512);
    // Per-module bits (MLX mixed quantization): the same 16,384 U32 at 8 bits hold 65,536 parameters.
    assert.equal(countParameters([summary], { bits: 4, moduleBits: { w: 8 } }), 1000 + 65536);
    // Unquantized: everything counts as stored.
    assert.equal(countParameters([summary], undefined), 1000 + 4096 + 16384);
  });
});

describe("GGUF headers", () => {
  let dir: string;
  beforeEach(() => {
    dir = makeTempDir("gguf-");
  });
  afterEach(() => {
    removeTempDir(dir);
  });

  it("reads architecture, file type and tensor element count", () => {
    const bytes = ggufBytes({
      architecture: "qwen2",
      fileType: 15,
      tensors: [
        { name: "a", shape: [8, 16] },
        { name: "b", shape: [16] },
      ],
    });
    const file = path.join(dir, "m.gguf");
    fs.writeFileSync(file, bytes);
    assert.deepEqual(readGgufSummary(file, bytes.byteLength), {
      architecture: "qwen2",
      fileType: 15,
      parameters: 144,
    });
  });

  it("rejects files that are not GGUF", () => {
    const file = path.join(dir, "x.gguf");
    fs.writeFileSync(file, "not a gguf file at all");
    assert.throws(() => readGgufSummary(file, 22), /bad magic/);
  });

  it("knows llama.cpp's file types and the names in file names", () => {
    assert.deepEqual(ggufFileTypeQuantization(15), { label: "Q4_K_M", bits: 4 });
    assert.deepEqual(ggufFileTypeQuantization(7), { label: "Q8_0", bits: 8 });
    assert.deepEqual(ggufFileTypeQuantization(1), { label: "F16", bits: 16 });
    assert.deepEqual(ggufFileTypeQuantization(30), { label: "IQ4_XS", bits: 4 });
    assert.equal(ggufFileTypeQuantization(999), undefined);
    assert.deepEqual(ggufNameQuantization("Llama-3.2-1B-Instruct-Q4_K_M.gguf"), { label: "Q4_K_M", bits: 4 });
    assert.deepEqual(ggufNameQuantization("model.q8_0.gguf"), { label: "Q8_0", bits: 8 });
    assert.deepEqual(ggufNameQuantization("qwen2.5-7b-instruct-iq4_xs-00001-of-00002.gguf"), {
      label: "IQ4_XS",
      bits: 4,
    });
    assert.deepEqual(ggufNameQuantization("ggml-model-f16.gguf"), { label: "F16", bits: 16 });
    assert.deepEqual(ggufNameQuantization("phi-3-BF16.gguf"), { label: "BF16", bits: 16 });
    assert.equal(ggufNameQuantization("model.gguf"), undefined);
    assert.equal(ggufSplitGroup("x/m-Q4_K_M-00002-of-00003.gguf"), "x/m-Q4_K_M.gguf");
  });
});

describe("model cards", () => {
  it("reads library_name and tags in the Hub's shapes", () => {
    assert.deepEqual(parseModelCard("---\nlibrary_name: mlx\ntags: [mlx, llama]\n---\n# hi"), {
      libraryName: "mlx",
      tags: ["mlx", "llama"],
    });
    assert.deepEqual(
      parseModelCard("---\nlicense: mit\ntags:\n- text-generation\n- 'mlx'\nbase_model: x\n---\n"),
      {
        tags: ["text-generation", "mlx"],
      },
    );
    assert.deepEqual(parseModelCard('\uFEFF---\r\nlibrary_name: "transformers"\r\n---\r\n'), {
      libraryName: "transformers",
      tags: [],
    });
    assert.deepEqual(parseModelCard("# no front matter\nlibrary_name: mlx\n"), { tags: [] });
  });
});

describe("config.json", () => {
  it("reads model_type and MLX quantization with per-module overrides", () => {
    const info = parseModelConfig(
      JSON.stringify({
        model_type: "qwen2",
        quantization: {
          group_size: 64,
          bits: 4,
          "model.layers.0.mlp.down_proj": { group_size: 64, bits: 8 },
        },
      }),
    );
    assert.deepEqual(info, {
      modelType: "qwen2",
      mlxQuantization: true,
      quantization: { label: "4-bit", bits: 4, groupSize: 64 },
      moduleBits: { "model.layers.0.mlp.down_proj": 8 },
    });
  });

  it("reads transformers' quantization_config", () => {
    assert.deepEqual(
      parseModelConfig(
        JSON.stringify({
          model_type: "llama",
          quantization_config: { quant_method: "gptq", bits: 4, group_size: 128 },
        }),
      ),
      {
        modelType: "llama",
        mlxQuantization: false,
        quantization: { label: "4-bit", bits: 4, groupSize: 128 },
      },
    );
    assert.deepEqual(parseModelConfig(JSON.stringify({ quantization_config: { quant_method: "fp8" } })), {
      mlxQuantization: false,
      quantization: { label: "fp8" },
    });
  });

  it("says what is wrong with a broken file", () => {
    assert.throws(() => parseModelConfig("{ broken"), ModelConfigError);
    assert.throws(() => parseModelConfig("[1, 2]"), /not a JSON object/);
  });
});
