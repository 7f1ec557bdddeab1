// What each engine description claims and refuses, checked against real files and real processes.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ApiError } from "../../../../src/services/api/ApiError";
import { readModelFacts } from "../../../../src/services/engines/modelFacts";
import { ENGINES, pythonLoadFailure } from "../../../../src/services/engines/registry";
import { normalizePathOptions, resolvePathOptions } from "../../../../src/services/profiles/optionPaths";
import { compareVersions, EngineVersions } from "../../../../src/services/servers/engineVersion";

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "engine-facts-"));
}

function modelDir(root: string, files: Record<string, unknown>): string {
  const dir = path.join(root, `model-${Object.keys(files).join("-").replace(/\W/g, "")}-${Math.random().toString(36).slice(2, 6)}`);
  fs.mkdirSync(dir);
  for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), typeof content === "string" ? content : JSON.stringify(content));
  return dir;
}

describe("engine facts", () => {
  let root: string;
  before(() => {
    root = tempDir();
  });
  after(() => {
    fs.rmSync(root, { recursive: true, force: true });
  });

  describe("capabilities", () => {
    it("claim tool calls on mlx_lm.server only when the model's chat template takes tools, with the model's own context", () => {
      const tools = readModelFacts(modelDir(root, { "config.json": { max_position_embeddings: 32768 }, "tokenizer_config.json": { chat_template: "{% if tools %}{{ tools | tojson }}{% endif %}" } }));
      const plain = readModelFacts(modelDir(root, { "config.json": { text_config: { max_position_embeddings: 8192 } }, "chat_template.jinja": "{{ messages[0].content }}" }));
      assert.deepEqual(ENGINES["mlx-lm"].capabilities({}, tools), { toolCalling: true, imageInput: false, contextLength: 32768 });
      assert.deepEqual(ENGINES["mlx-lm"].capabilities({}, plain), { toolCalling: false, imageInput: false, contextLength: 8192 });
      const named = readModelFacts(modelDir(root, { "config.json": {}, "tokenizer_config.json": { chat_template: [{ name: "default", template: "x" }, { name: "tool_use", template: "{{ tools }}" }] } }));
      assert.equal(named.templateTakesTools, true, "named templates (tool_use) count");
    });

    it("claim tool calls on mlx-openai-server only with auto tool choice and a parser, images only for multimodal, its --context-length first", () => {
      const facts = { contextLength: 4096, templateTakesTools: true };
      const engine = ENGINES["mlx-openai-server"];
      assert.equal(engine.capabilities({}, facts).toolCalling, false, "without --enable-auto-tool-choice it returns calls as text");
      assert.equal(engine.capabilities({ enableAutoToolChoice: true }, facts).toolCalling, false);
      assert.deepEqual(engine.capabilities({ enableAutoToolChoice: true, toolCallParser: "qwen3", contextLength: 16384 }, facts), { toolCalling: true, imageInput: false, contextLength: 16384 });
      assert.equal(engine.capabilities({ modelType: "multimodal" }, facts).imageInput, true);
      assert.equal(engine.capabilities({ modelType: "embeddings", enableAutoToolChoice: true, toolCallParser: "qwen3" }, facts).toolCalling, false);
    });

    it("claim tool calls on llama-server unless jinja is off, images with an mmproj; the built-in engine always calls tools", () => {
      assert.deepEqual(ENGINES["llama-server"].capabilities({}, {}), { toolCalling: true, imageInput: false });
      assert.equal(ENGINES["llama-server"].capabilities({ jinja: false }, {}).toolCalling, false);
      assert.equal(ENGINES["llama-server"].capabilities({ mmproj: "/m/mmproj.gguf", contextLength: 2048 }, {}).imageInput, true);
      assert.deepEqual(ENGINES.llama.capabilities({ contextLength: 1024 }, {}), { toolCalling: true, imageInput: false, contextLength: 1024 });
    });
  });

  describe("options", () => {
    it("refuse what an engine would ignore or reject, on the field", () => {
      const problem = (engine: keyof typeof ENGINES, options: object): string | undefined => ENGINES[engine].optionProblem?.(options)?.field;
      assert.equal(problem("mlx-openai-server", { enableAutoToolChoice: true }), "options.toolCallParser");
      assert.equal(problem("mlx-openai-server", { imageConfig: "flux-dev" }), "options.imageConfig");
      assert.equal(problem("mlx-openai-server", { modelType: "image-generation", imageConfig: "flux-dev" }), undefined);
      assert.equal(problem("mlx-lm", { numDraftTokens: 4 }), "options.numDraftTokens");
      assert.equal(problem("mlx-lm", { numDraftTokens: 4, draftModel: "/d" }), undefined);
      assert.equal(problem("llama-server", { chatTemplate: "chatml", chatTemplateFile: "/t.jinja" }), "options.chatTemplateFile");
      assert.equal(problem("llama-server", { jinja: false, chatTemplateArgs: { enable_thinking: false } }), "options.chatTemplateArgs");
      assert.equal(problem("llama", { parallel: 65 }), "options.parallel");
      assert.equal(problem("llama", { parallel: 64 }), undefined);
      assert.equal(problem("llama-server", { parallel: 256 }), undefined);
    });

    it("tell the gateway's queue how many requests each engine answers at once", () => {
      assert.deepEqual([ENGINES.llama.slots({}), ENGINES.llama.slots({ parallel: 4 })], [1, 4]);
      assert.deepEqual([ENGINES["llama-server"].slots({}), ENGINES["llama-server"].slots({ parallel: 2 })], [4, 2]);
      assert.deepEqual([ENGINES["mlx-lm"].slots({}), ENGINES["mlx-lm"].slots({ decodeConcurrency: 8 }), ENGINES["mlx-lm"].slots({ draftModel: "/d" })], [32, 8, 1]);
      assert.deepEqual([ENGINES["mlx-openai-server"].slots({}), ENGINES["mlx-openai-server"].slots({ disableBatching: true })], [32, 1]);
    });

    it("give llama-server the profile's maxTokens as each request's default, not as --n-predict (which caps every request)", () => {
      const built = ENGINES["llama-server"].buildCommand({ modelPath: "/m.gguf", port: 1, alias: "a", options: { maxTokens: 300 }, nodePath: "", llamaScript: "" }, "llama-server");
      assert.ok(!built.args.includes("--n-predict") && !built.args.includes("-n"));
      assert.deepEqual(ENGINES["llama-server"].requestFields?.({ maxTokens: 300 }), { max_tokens: 300 });
    });

    it("put --jinja before --chat-template, --no-jinja for false, JSON for template args, auto/all for -ngl", () => {
      const args = (options: object): string[] => ENGINES["llama-server"].buildCommand({ modelPath: "/m.gguf", port: 1, alias: "a", options, nodePath: "", llamaScript: "" }, "llama-server").args;
      const on = args({ jinja: true, chatTemplate: "{{ x }}", chatTemplateArgs: { enable_thinking: false }, gpuLayers: "all" });
      assert.ok(on.indexOf("--jinja") < on.indexOf("--chat-template"));
      assert.equal(on[on.indexOf("--chat-template-kwargs") + 1], '{"enable_thinking":false}');
      assert.equal(on[on.indexOf("--n-gpu-layers") + 1], "all");
      assert.ok(args({ jinja: false }).includes("--no-jinja"));
    });
  });

  describe("paths", () => {
    it("are kept absolute: ~/ expanded, a relative path refused (engines run in the log folder), a repo id kept for an MLX draft model", () => {
      assert.deepEqual(normalizePathOptions({ adapterPath: "~/adapters/x" }, "mlx-lm", "/home/u"), { adapterPath: "/home/u/adapters/x" });
      assert.deepEqual(normalizePathOptions({ draftModel: "mlx-community/Tiny-4bit" }, "mlx-lm"), { draftModel: "mlx-community/Tiny-4bit" });
      assert.throws(() => normalizePathOptions({ adapterPath: "adapters" }, "mlx-lm"), (e: unknown) => e instanceof ApiError && e.field === "options.adapterPath" && /absolute/.test(e.message));
      assert.throws(() => normalizePathOptions({ draftModel: "org/name" }, "llama-server"), (e: unknown) => e instanceof ApiError && e.field === "options.draftModel");
    });

    it("are checked before a launch: a missing file, a folder that is not an MLX adapter, a draft repo not in the cache", () => {
      const adapter = modelDir(root, { "adapter_config.json": {}, "adapters.safetensors": "x" });
      const catalog = { list: () => [] };
      assert.deepEqual(resolvePathOptions({ adapterPath: adapter }, "mlx-lm", catalog), { adapterPath: adapter });
      assert.throws(() => resolvePathOptions({ adapterPath: path.join(root, "gone") }, "mlx-lm", catalog), (e: unknown) => e instanceof ApiError && /does not exist/.test(e.message));
      assert.throws(() => resolvePathOptions({ adapterPath: root }, "mlx-lm", catalog), (e: unknown) => e instanceof ApiError && /adapter_config\.json/.test(e.message));
      assert.throws(() => resolvePathOptions({ draftModel: "org/draft" }, "mlx-lm", catalog), (e: unknown) => e instanceof ApiError && e.code === "model_missing");
    });
  });

  describe("versions", () => {
    it("compare as numbers, ignoring dev and build suffixes", () => {
      assert.ok(compareVersions("1.10.0", "1.7.0") > 0);
      assert.ok(compareVersions("1.6.9", "1.7.0") < 0);
      assert.equal(compareVersions("0.32.0.dev0", "0.32.0"), 0);
    });

    it("refuse an mlx-openai-server below 1.7.0 with the upgrade command, read once per executable", async () => {
      const bin = path.join(root, "bin-old");
      fs.mkdirSync(bin);
      const exe = path.join(bin, "mlx-openai-server");
      const counter = path.join(bin, "count");
      fs.writeFileSync(exe, `#!/bin/sh\necho x >> "${counter}"\nprintf '\\n✨ mlx-openai-server - OpenAI Compatible API Server for MLX models ✨\\n🚀 Version: 1.6.2\\n\\n'\n`, { mode: 0o755 });
      const versions = new EngineVersions();
      const signal = AbortSignal.timeout(10_000);
      for (let i = 0; i < 2; i++)
        await assert.rejects(versions.check(ENGINES["mlx-openai-server"], exe, signal), (e: unknown) => e instanceof ApiError && e.code === "engine_outdated" && /1\.6\.2 is too old/.test(e.message) && /pipx upgrade mlx-openai-server/.test(e.message));
      assert.equal(fs.readFileSync(counter, "utf8").trim().split("\n").length, 1, "asked once");
      fs.writeFileSync(exe, `#!/bin/sh\nprintf '🚀 Version: 1.8.1\\n'\n`, { mode: 0o755 });
      assert.equal(await versions.check(ENGINES["mlx-openai-server"], exe, signal), "1.8.1", "asked again once the executable changed");
    });

    it("read mlx_lm's from the mlx_lm script beside mlx_lm.server (mlx_lm.server has no --version)", async () => {
      const bin = path.join(root, "bin-lm");
      fs.mkdirSync(bin);
      fs.writeFileSync(path.join(bin, "mlx_lm.server"), "#!/bin/sh\nexit 2\n", { mode: 0o755 });
      fs.writeFileSync(path.join(bin, "mlx_lm"), '#!/bin/sh\n[ "$1" = --version ] && echo 0.31.3\n', { mode: 0o755 });
      assert.equal(await new EngineVersions().check(ENGINES["mlx-lm"], path.join(bin, "mlx_lm.server"), AbortSignal.timeout(10_000)), "0.31.3");
    });
  });

  it("say where structured output (response_format, the Responses API's text.format) is followed: llama-server and llama both, mlx-openai-server a json_schema only, mlx_lm.server neither", () => {
    const problem = (engine: keyof typeof ENGINES, kind: "json_schema" | "json_object"): string | undefined => ENGINES[engine].structuredOutputProblem?.({}, kind);
    for (const kind of ["json_schema", "json_object"] as const) {
      assert.equal(problem("llama-server", kind), undefined);
      assert.equal(problem("llama", kind), undefined);
      assert.match(problem("mlx-lm", kind) ?? "", /mlx_lm\.server cannot hold its output to a JSON schema.*Use an mlx-openai-server profile, llama-server or the llama engine/);
    }
    assert.equal(problem("mlx-openai-server", "json_schema"), undefined);
    assert.match(problem("mlx-openai-server", "json_object") ?? "", /does not enforce it\. Send a json_schema/);
  });

  it("read a failed Python load from its traceback: the exception line, once it is written", () => {
    assert.equal(pythonLoadFailure(["Starting httpd at 127.0.0.1 on port 8080..."]), undefined);
    assert.equal(pythonLoadFailure(["Traceback (most recent call last):", '  File "x.py", line 3, in load'] ), undefined);
    assert.equal(
      pythonLoadFailure(["x", "Traceback (most recent call last):", '  File "x.py", line 3, in load', "    raise", "ValueError: Model type qwen9 not supported.", "=== mlx-manager: note"]),
      "ValueError: Model type qwen9 not supported.",
    );
  });
});
