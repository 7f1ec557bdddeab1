// Each Copy Endpoint snippet run through its real interpreter or parser, with profile names that
// need quoting: the curl line by sh (with curl replaced by a function that prints its arguments),
// the Python by python3 (with a stand-in `openai` module that records the call), the TypeScript
// compiled by TypeScript and run (a stand-in OpenAI class), the Continue block parsed as YAML,
// the Codex block as TOML.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parse as parseToml } from "smol-toml";
import ts from "typescript";
import { endpointSnippet, SNIPPET_KINDS, snippetNeedsKey, type SnippetInput } from "../../../src/commands/endpointSnippets";

// js-yaml comes with the lint tool chain (no types of its own): only `load` is used.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const yaml = require("js-yaml") as { load(text: string): unknown };

const BASE = "http://127.0.0.1:8471/v1";
const KEY = "mlxgw_Abc-123_xyzXYZ0123456789abcdefghijklmnopqrstuv";
const NAMES = ["tiny-llama", "My Model", `it's "quoted"`, "back\\slash $HOME `id` $(id)", "ünïcode · naïve", "tab\there", "a'b\"c\\d"];

const input = (model: string): SnippetInput => ({ baseUrl: BASE, model, apiKey: KEY });

describe("Copy Endpoint snippets", () => {
  let tmp: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "mlx-snippets-"));
    // A stand-in `openai` package for python3: records the client's options and the request as JSON.
    fs.writeFileSync(
      path.join(tmp, "openai.py"),
      [
        "import json, sys",
        "class _Msg:\n    content = 'hi'",
        "class _Choice:\n    message = _Msg()",
        "class _Reply:\n    choices = [_Choice()]",
        "class _Completions:",
        "    def __init__(self, options): self.options = options",
        "    def create(self, **request):",
        "        sys.stderr.write(json.dumps({'options': self.options, 'request': request}) + '\\n')",
        "        return _Reply()",
        "class _Chat:",
        "    def __init__(self, options): self.completions = _Completions(options)",
        "class OpenAI:",
        "    def __init__(self, **options): self.chat = _Chat(options)",
        "",
      ].join("\n"),
    );
  });
  after(() => {
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("offers the URL alone first, then curl, Python, TypeScript, Continue, Claude Code, @anthropic-ai/sdk, Codex and @openai/agents; only the URL needs no key", () => {
    assert.deepEqual(SNIPPET_KINDS, ["url", "curl", "python", "typescript", "continue", "claude-code", "anthropic-typescript", "codex", "openai-agents"]);
    assert.equal(endpointSnippet("url", input("x")), BASE);
    assert.equal(snippetNeedsKey("url"), false);
    for (const kind of SNIPPET_KINDS.filter((k) => k !== "url")) {
      assert.equal(snippetNeedsKey(kind), true);
      assert.ok(endpointSnippet(kind, input("x")).includes(KEY), `${kind} carries the key`);
    }
  });

  it("curl: sh reads exactly the URL, the two headers and a JSON body naming the profile", () => {
    for (const name of NAMES) {
      const script = `curl() { printf '%s\\0' "$@"; }\n${endpointSnippet("curl", input(name))}`;
      const args = execFileSync("sh", ["-c", script], { encoding: "utf8" }).split("\0").slice(0, -1);
      assert.deepEqual(args.slice(0, 6), [`${BASE}/chat/completions`, "-H", `Authorization: Bearer ${KEY}`, "-H", "Content-Type: application/json", "-d"], name);
      assert.deepEqual(JSON.parse(args[6]!), { model: name, messages: [{ role: "user", content: "Hello" }] }, name);
      assert.equal(args.length, 7);
    }
  });

  it("Python: python3 runs it and the openai client gets the base URL, the key and the profile name", () => {
    // One python3 for every name (its start is slow behind pyenv): each snippet compiled and run in fresh globals.
    const files = NAMES.map((name, i) => {
      const file = path.join(tmp, `snippet${i}.py`);
      fs.writeFileSync(file, endpointSnippet("python", input(name)));
      return file;
    });
    const driver = "import sys\nfor f in sys.argv[1:]:\n    exec(compile(open(f, encoding='utf-8').read(), f, 'exec'), {'__name__': '__main__'})\n";
    const run = spawnSync("python3", ["-c", driver, ...files], { env: { ...process.env, PYTHONPATH: tmp }, encoding: "utf8" });
    assert.equal(run.error, undefined, `python3 must be on PATH for this test: ${String(run.error)}`);
    assert.equal(run.status, 0, `python3 failed:\n${run.stderr}`);
    assert.equal(run.stdout, "hi\n".repeat(NAMES.length), "each snippet printed the reply");
    const calls = run.stderr.trim().split("\n").map((line) => JSON.parse(line) as { options: Record<string, string>; request: { model: string; messages: unknown } });
    assert.deepEqual(calls.map((c) => c.request.model), NAMES);
    for (const call of calls) {
      assert.deepEqual(call.options, { base_url: BASE, api_key: KEY });
      assert.deepEqual(call.request.messages, [{ role: "user", content: "Hello" }]);
    }
  });

  it("TypeScript: compiles without a syntax error and, run, hands the openai client the base URL, the key and the profile name", async () => {
    for (const name of NAMES) {
      const snippet = endpointSnippet("typescript", input(name));
      const out = ts.transpileModule(snippet, { reportDiagnostics: true, compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } });
      assert.deepEqual(out.diagnostics?.map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n")), [], name);
      const importLine = 'import OpenAI from "openai";';
      assert.ok(out.outputText.startsWith(importLine), out.outputText);
      const calls: { options?: unknown; request?: unknown; logged?: unknown } = {};
      class OpenAI {
        chat = { completions: { create: async (request: unknown) => { calls.request = request; return { choices: [{ message: { content: "hi" } }] }; } } };
        constructor(options: unknown) {
          calls.options = options;
        }
      }
      const AsyncFunction = (Object.getPrototypeOf(async () => undefined) as { constructor: unknown }).constructor as new (...args: string[]) => (...values: unknown[]) => Promise<void>;
      await new AsyncFunction("OpenAI", "console", out.outputText.slice(importLine.length))(OpenAI, { log: (value: unknown) => { calls.logged = value; } });
      assert.deepEqual(calls.options, { baseURL: BASE, apiKey: KEY }, name);
      assert.deepEqual(calls.request, { model: name, messages: [{ role: "user", content: "Hello" }] }, name);
      assert.equal(calls.logged, "hi");
    }
  });

  it("Continue: a YAML models list with one openai-provider model named after the profile", () => {
    for (const name of NAMES) {
      const parsed = yaml.load(endpointSnippet("continue", input(name)));
      assert.deepEqual(parsed, { models: [{ name: `${name} (MLX)`, provider: "openai", model: name, apiBase: BASE, apiKey: KEY, roles: ["chat", "edit", "apply"] }] }, name);
    }
  });

  it("Claude Code: sh sets ANTHROPIC_BASE_URL (the manager, without /v1), the key and the models exactly, then runs claude", () => {
    for (const name of NAMES) {
      const script = `claude() { printf '%s\\0' "$ANTHROPIC_BASE_URL" "$ANTHROPIC_AUTH_TOKEN" "$ANTHROPIC_MODEL" "$ANTHROPIC_DEFAULT_HAIKU_MODEL" "$ANTHROPIC_SMALL_FAST_MODEL" "$#"; }\n${endpointSnippet("claude-code", input(name))}`;
      const values = execFileSync("sh", ["-c", script], { encoding: "utf8" }).split("\0").slice(0, -1);
      assert.deepEqual(values, ["http://127.0.0.1:8471", KEY, name, name, name, "0"], name);
    }
  });

  it("TypeScript (@anthropic-ai/sdk): compiles and, run, hands Anthropic's client the manager's URL, the key and a Messages request", async () => {
    for (const name of NAMES) {
      const out = ts.transpileModule(endpointSnippet("anthropic-typescript", input(name)), { reportDiagnostics: true, compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } });
      assert.deepEqual(out.diagnostics?.map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n")), [], name);
      const importLine = 'import Anthropic from "@anthropic-ai/sdk";';
      assert.ok(out.outputText.startsWith(importLine), out.outputText);
      const calls: { options?: unknown; request?: unknown; logged?: unknown } = {};
      class Anthropic {
        messages = { create: async (request: unknown) => { calls.request = request; return { content: [{ type: "text", text: "hi" }] }; } };
        constructor(options: unknown) {
          calls.options = options;
        }
      }
      const AsyncFunction = (Object.getPrototypeOf(async () => undefined) as { constructor: unknown }).constructor as new (...args: string[]) => (...values: unknown[]) => Promise<void>;
      await new AsyncFunction("Anthropic", "console", out.outputText.slice(importLine.length))(Anthropic, { log: (value: unknown) => { calls.logged = value; } });
      assert.deepEqual(calls.options, { baseURL: "http://127.0.0.1:8471", apiKey: KEY }, name);
      assert.deepEqual(calls.request, { model: name, max_tokens: 512, messages: [{ role: "user", content: "Hello" }] }, name);
      assert.equal(calls.logged, "hi");
    }
  });

  it("Codex: TOML with the model, our provider on the Responses API and the key, as the profile file `codex --profile mlx` reads", () => {
    for (const name of NAMES) {
      const parsed: unknown = JSON.parse(JSON.stringify(parseToml(endpointSnippet("codex", input(name)))));
      assert.deepEqual(parsed, { model: name, model_provider: "mlx-manager", model_providers: { "mlx-manager": { name: "MLX Model Manager", base_url: BASE, experimental_bearer_token: KEY, wire_api: "responses" } } }, name);
    }
  });

  it("TypeScript (@openai/agents): compiles and, run, gives the Agents SDK a client on the gateway, the Responses API, no tracing, and an agent of the profile", async () => {
    for (const name of NAMES) {
      const out = ts.transpileModule(endpointSnippet("openai-agents", input(name)), { reportDiagnostics: true, compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } });
      assert.deepEqual(out.diagnostics?.map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n")), [], name);
      const lines = out.outputText.split("\n");
      assert.match(lines[0] ?? "", /^import \{ Agent, run, setDefaultOpenAIClient, setOpenAIAPI, setTracingDisabled \} from "@openai\/agents";$/);
      assert.equal(lines[1], 'import OpenAI from "openai";');
      const calls: { client?: unknown; api?: unknown; tracingOff?: unknown; agent?: unknown; input?: unknown; logged?: unknown } = {};
      class OpenAI {
        constructor(readonly options: unknown) {}
      }
      class Agent {
        constructor(options: unknown) {
          calls.agent = options;
        }
      }
      const sdk = {
        Agent,
        run: async (_agent: unknown, input: unknown) => { calls.input = input; return { finalOutput: "hi" }; },
        setDefaultOpenAIClient: (client: OpenAI) => { calls.client = client.options; },
        setOpenAIAPI: (api: unknown) => { calls.api = api; },
        setTracingDisabled: (off: unknown) => { calls.tracingOff = off; },
      };
      const AsyncFunction = (Object.getPrototypeOf(async () => undefined) as { constructor: unknown }).constructor as new (...args: string[]) => (...values: unknown[]) => Promise<void>;
      const body = lines.slice(2).join("\n");
      await new AsyncFunction("Agent", "run", "setDefaultOpenAIClient", "setOpenAIAPI", "setTracingDisabled", "OpenAI", "console", body)(sdk.Agent, sdk.run, sdk.setDefaultOpenAIClient, sdk.setOpenAIAPI, sdk.setTracingDisabled, OpenAI, { log: (value: unknown) => { calls.logged = value; } });
      assert.deepEqual(calls.client, { baseURL: BASE, apiKey: KEY }, name);
      assert.deepEqual([calls.api, calls.tracingOff, calls.input, calls.logged], ["responses", true, "Hello", "hi"]);
      assert.deepEqual(calls.agent, { name: "assistant", instructions: "Be helpful.", model: name });
    }
  });
});
