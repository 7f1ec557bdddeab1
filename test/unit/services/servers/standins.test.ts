// The MLX stand-ins refuse what the real CLIs refuse, accept every command line the registry
// builds (a check that the manager never passes a flag the engine lacks), and load, fail and
// answer as the engines do: mlx_lm.server answers /health at once and holds requests until its
// model is loaded (forever when the load failed); mlx-openai-server listens only once loaded.
import assert from "node:assert/strict";
import { execFile, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { everyOption } from "../../../helpers/everyOption";
import { ENGINES } from "../../../../src/services/engines/registry";
import type { ProfileOptions } from "../../../../src/shared/profiles";
import { makeTempDir, mlxRepoFiles, removeTempDir } from "../../../helpers/hfCache";
import { freePort, httpRequest } from "../../../helpers/llamaEngine";
import { installStandins, type InstalledStandins } from "../../../helpers/standins";
import { tinyGgufBytes } from "../../../helpers/tinyGguf";

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a stand-in to its end; a dry run unless `extraEnv` says otherwise. */
function run(
  file: string,
  args: string[],
  env: Record<string, string>,
  extraEnv: Record<string, string> = {},
): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { env: { ...process.env, ...env, STANDIN_DRY_RUN: "1", ...extraEnv } },
      (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr });
      },
    );
  });
}

/** A serving stand-in with its output collected. */
class Served {
  stdout = "";
  stderr = "";
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;

  constructor(file: string, args: string[], env: Record<string, string>) {
    this.child = spawn(file, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    this.child.stdout?.on("data", (chunk: Buffer) => (this.stdout += chunk.toString("utf8")));
    this.child.stderr?.on("data", (chunk: Buffer) => (this.stderr += chunk.toString("utf8")));
    this.exited = new Promise((resolve) => {
      this.child.once("exit", (code) => {
        resolve(code);
      });
    });
  }

  async waitFor(what: () => boolean, timeoutMs: number, label: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!what()) {
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${label}\n${this.stdout}\n${this.stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGTERM");
    await this.exited;
  }
}

/** A POST whose body goes out chunked (no Content-Length), or with `timeoutMs` after which it gives up. */
function post(
  url: string,
  body: unknown,
  opts: { chunked?: boolean; timeoutMs?: number } = {},
): Promise<{ status: number; body: string } | "timed out" | "closed"> {
  const payload = JSON.stringify(body);
  return new Promise((resolve) => {
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (opts.chunked !== true) headers["content-length"] = String(Buffer.byteLength(payload));
    const req = http.request(url, { method: "POST", agent: false, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") });
      });
    });
    req.on("error", () => {
      resolve("closed");
    });
    if (opts.timeoutMs !== undefined)
      req.setTimeout(opts.timeoutMs, () => {
        req.destroy();
        resolve("timed out");
      });
    // Written before end(): Node sends it chunked when no Content-Length was set.
    req.write(payload);
    req.end();
  });
}

const CHAT = { messages: [{ role: "user", content: "Hi" }], max_tokens: 2 };

describe("MLX engine stand-ins", function () {
  this.timeout(30_000);
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
    fs.writeFileSync(path.join(root, "m.gguf"), tinyGgufBytes(1));
    standins = await installStandins(path.join(root, "bin"), {
      gguf: path.join(root, "m.gguf"),
      loadDelayMs: 400,
    });
  });
  after(() => {
    removeTempDir(root);
  });

  it("are executables with a node shebang in the test's own bin dir", () => {
    for (const file of [standins.mlxLm, standins.mlxLmCli, standins.mlxOpenAiServer]) {
      assert.equal(path.dirname(file), path.join(root, "bin"));
      assert.ok((fs.statSync(file).mode & 0o111) !== 0);
      assert.match(fs.readFileSync(file, "utf8"), /^#!\/usr\/bin\/env node\n/);
    }
    assert.equal(standins.env["STANDIN_LOAD_DELAY_MS"], "400");
  });

  it("accept every command line the registry builds, with every option each engine takes", async () => {
    const all: ProfileOptions = { ...everyOption(root), modelType: "lm" };
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
      /^usage: mlx_lm\.server \[-h\] \[--model MODEL\][^]*\[--pipeline\]\nmlx_lm\.server: error: unrecognized arguments: --context-length 4096\n$/,
    );
    const removed = await run(
      standins.mlxOpenAiServer,
      ["launch", "--model-path", model, "--max-concurrency", "4"],
      standins.env,
    );
    assert.equal(removed.code, 2);
    assert.match(
      removed.stderr,
      /Error: No such option: --max-concurrency \(Possible options: --decode-concurrency, --max-tokens, --prompt-concurrency\)\n$/,
    );
    const noLaunch = await run(standins.mlxOpenAiServer, ["--model-path", model], standins.env);
    assert.equal(noLaunch.code, 2);
    assert.match(
      noLaunch.stderr,
      /^Usage: mlx-openai-server \[OPTIONS\] COMMAND \[ARGS\]\.\.\.\n[^]*Error: No such option: --model-path\n$/,
    );
    const badChoice = await run(
      standins.mlxOpenAiServer,
      ["launch", "--model-path", model, "--model-type", "llm"],
      standins.env,
    );
    assert.match(
      badChoice.stderr,
      /Invalid value for '--model-type': 'llm' is not one of 'lm', 'multimodal'/,
    );
    const badInt = await run(standins.mlxLm, ["--model", model, "--port", "eighty"], standins.env);
    assert.match(badInt.stderr, /argument --port: invalid int value: 'eighty'/);
  });

  it("mlx_lm.server parses like argparse: prefixes, --flag=value, ambiguity, JSON and size values, no --version", async () => {
    const abbreviated = await run(
      standins.mlxLm,
      ["--mo", model, "--top-k=3", "--temp=0.5", "--prompt-cache-b", "2GB"],
      standins.env,
    );
    assert.equal(abbreviated.code, 0, abbreviated.stderr);
    const ambiguous = await run(standins.mlxLm, ["--model", model, "--to", "1"], standins.env);
    assert.equal(ambiguous.code, 2);
    assert.match(
      ambiguous.stderr,
      /\nmlx_lm\.server: error: ambiguous option: --to could match --top-p, --top-k\n$/,
    );
    const json = await run(
      standins.mlxLm,
      ["--model", model, "--chat-template-args", "{enable_thinking: false}"],
      standins.env,
    );
    assert.match(
      json.stderr,
      /error: argument --chat-template-args: invalid loads value: '\{enable_thinking: false\}'\n$/,
    );
    const size = await run(standins.mlxLm, ["--model", model, "--prompt-cache-bytes", "lots"], standins.env);
    assert.match(size.stderr, /error: argument --prompt-cache-bytes: invalid _parse_size value: 'lots'\n$/);
    // An unknown suffix is a KeyError in _parse_size, which argparse does not catch.
    const suffix = await run(
      standins.mlxLm,
      ["--model", model, "--prompt-cache-bytes", "512K"],
      standins.env,
    );
    assert.equal(suffix.code, 1);
    assert.match(suffix.stderr, /^Traceback \(most recent call last\):\n[^]*\nKeyError: 'K'\n$/);
    const version = await run(standins.mlxLm, ["--version"], standins.env);
    assert.equal(version.code, 2);
    assert.match(version.stderr, /mlx_lm\.server: error: unrecognized arguments: --version\n$/);
    const explicit = await run(standins.mlxLm, ["--model", model, "--pipeline=yes"], standins.env);
    assert.match(explicit.stderr, /error: argument --pipeline: ignored explicit argument 'yes'\n$/);
  });

  it("mlx-openai-server parses like click: exact names only, --flag=value, values checked in command-line order", async () => {
    const abbreviated = await run(standins.mlxOpenAiServer, ["launch", "--model-pat", model], standins.env);
    assert.equal(abbreviated.code, 2);
    assert.equal(
      abbreviated.stderr,
      "Usage: mlx-openai-server launch [OPTIONS]\nTry 'mlx-openai-server launch --help' for help.\n\n" +
        "Error: No such option: --model-pat (Possible options: --draft-model-path, --model-path, --model-type)\n",
    );
    const equals = await run(
      standins.mlxOpenAiServer,
      ["launch", `--model-path=${model}`, "--log-level=debug"],
      standins.env,
    );
    assert.equal(equals.code, 0, equals.stderr);
    const order = await run(
      standins.mlxOpenAiServer,
      ["launch", "--model-path", model, "--seed", "1.5", "--port", "x"],
      standins.env,
    );
    assert.match(order.stderr, /Error: Invalid value for '--seed': '1\.5' is not a valid integer\.\n$/);
    const missing = await run(standins.mlxOpenAiServer, ["launch", "--model-path"], standins.env);
    assert.equal(missing.stderr, "Error: Option '--model-path' requires an argument.\n");
    const none = await run(standins.mlxOpenAiServer, ["launch"], standins.env);
    assert.match(
      none.stderr,
      /Error: Either --config \(multi-handler YAML\) or --model-path \(single model\) is required\.\n$/,
    );
  });

  it("report their versions as the engines do, and the flags of older releases", async () => {
    const lm = await run(standins.mlxLmCli, ["--version"], standins.env);
    assert.deepEqual([lm.code, lm.stdout], [0, "0.31.3\n"]);
    const oai = await run(standins.mlxOpenAiServer, ["--version"], standins.env);
    assert.equal(oai.code, 0);
    assert.match(
      oai.stdout,
      /^\n✨ mlx-openai-server - OpenAI Compatible API Server for MLX models ✨\n━+\n🚀 Version: 1\.8\.1\n\n$/,
    );
    const other = await run(standins.mlxLmCli, ["serve"], standins.env);
    assert.equal(other.code, 1);
    assert.match(
      other.stderr,
      /^Traceback \(most recent call last\):\n[^]*\nValueError: CLI requires a subcommand in \('benchmark', [^]*'server', 'upload', 'share'\)\n$/,
    );
    const viaCli = await run(standins.mlxLmCli, ["server", "--model", model, "--bogus"], standins.env);
    assert.match(
      viaCli.stderr,
      /^usage: mlx_lm \[-h\][^]*\nmlx_lm: error: unrecognized arguments: --bogus\n$/,
    );

    const old = { STANDIN_VERSION: "1.6.3" };
    const served = await run(
      standins.mlxOpenAiServer,
      ["launch", "--model-path", model, "--served-model-name", "p"],
      standins.env,
      old,
    );
    assert.equal(served.code, 2);
    assert.match(served.stderr, /Error: No such option: --served-model-name\n$/);
    const penalty = await run(
      standins.mlxOpenAiServer,
      ["launch", "--model-path", model, "--repetition-penalty", "1.1"],
      standins.env,
      old,
    );
    assert.match(penalty.stderr, /Error: No such option: --repetition-penalty/);
    const concurrency = await run(
      standins.mlxOpenAiServer,
      ["launch", "--model-path", model, "--max-concurrency", "2"],
      standins.env,
      old,
    );
    assert.equal(concurrency.code, 0, concurrency.stderr);
    assert.match(
      (await run(standins.mlxOpenAiServer, ["--version"], standins.env, old)).stdout,
      /Version: 1\.6\.3\n/,
    );

    const older = await installStandins(path.join(root, "old-bin"), {
      gguf: path.join(root, "m.gguf"),
      version: { mlxLm: "0.30.5", mlxOpenAiServer: "1.7.1" },
    });
    assert.equal(fs.existsSync(older.mlxLmCli), false, "mlx_lm came in 0.30.6");
    const noBytes = await run(older.mlxLm, ["--model", model, "--prompt-cache-bytes", "1G"], older.env);
    assert.match(noBytes.stderr, /error: unrecognized arguments: --prompt-cache-bytes 1G\n$/);
    const noKv = await run(
      older.mlxOpenAiServer,
      ["launch", "--model-path", model, "--kv-bits", "4"],
      older.env,
    );
    assert.match(noKv.stderr, /Error: No such option: --kv-bits/);
  });

  it("mlx_lm.server answers /health at once, holds a request until the model is loaded, wants Content-Length", async () => {
    const port = await freePort();
    const server = new Served(
      standins.mlxLm,
      ["--model", model, "--host", "127.0.0.1", "--port", String(port)],
      {
        ...standins.env,
        STANDIN_LOAD_DELAY_MS: "1500",
      },
    );
    try {
      await server.waitFor(
        () => server.stderr.includes(`Starting httpd at 127.0.0.1 on port ${port}...`),
        10_000,
        "httpd",
      );
      const base = `http://127.0.0.1:${port}`;
      const health = await httpRequest(`${base}/health`);
      assert.deepEqual([health.status, health.body], [200, '{"status": "ok"}']);
      const asked = Date.now();
      const answer = post(`${base}/v1/chat/completions`, { ...CHAT, model });
      // Still loading: /health stays 200 while the request waits.
      await new Promise((r) => setTimeout(r, 300));
      assert.equal((await httpRequest(`${base}/health`)).status, 200);
      const chunked = await post(`${base}/v1/chat/completions`, CHAT, { chunked: true });
      assert.deepEqual(chunked, { status: 411, body: '{"error": "Content-Length header is required"}' });
      const done = await answer;
      assert.ok(done !== "timed out" && done !== "closed");
      assert.equal(done.status, 200, done.body);
      assert.ok(Date.now() - asked >= 1000, "answered only once loaded");
      assert.equal((JSON.parse(done.body) as { object: string }).object, "chat.completion");
      assert.equal((await httpRequest(`${base}/nope`)).body, "Not Found");
      // A body its checks refuse: the handler raises and the connection closes unanswered.
      assert.equal(await post(`${base}/v1/chat/completions`, { ...CHAT, top_p: 2 }), "closed");
      await server.waitFor(
        () => server.stderr.includes("ValueError: top_p must be at most 1"),
        2000,
        "the traceback",
      );
    } finally {
      await server.stop();
    }
  });

  it("mlx_lm.server whose load fails prints the traceback, keeps /health 200 and never answers a generation", async () => {
    const port = await freePort();
    const server = new Served(standins.mlxLm, ["--model", model, "--port", String(port)], {
      ...standins.env,
      STANDIN_LOAD_DELAY_MS: "200",
      STANDIN_LOAD_FAIL: "1",
    });
    try {
      await server.waitFor(() => server.stderr.includes("FileNotFoundError"), 10_000, "the traceback");
      assert.match(
        server.stderr,
        new RegExp(
          `\\nTraceback \\(most recent call last\\):\\n(  .*\\n)+FileNotFoundError: No safetensors found in ${model.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\n`,
        ),
      );
      assert.equal(
        ENGINES["mlx-lm"].loadFailure?.(server.stderr.split("\n")),
        `FileNotFoundError: No safetensors found in ${model}`,
      );
      const base = `http://127.0.0.1:${port}`;
      assert.equal((await httpRequest(`${base}/health`)).status, 200);
      assert.equal(
        await post(`${base}/v1/completions`, { prompt: "Hi", max_tokens: 1 }, { timeoutMs: 1500 }),
        "timed out",
      );
    } finally {
      await server.stop();
    }
  });

  it("mlx-openai-server refuses connections while loading, then answers like FastAPI", async () => {
    const port = await freePort();
    const args = [
      "launch",
      "--model-path",
      model,
      "--served-model-name",
      "p",
      "--host",
      "127.0.0.1",
      "--port",
      String(port),
    ];
    const server = new Served(standins.mlxOpenAiServer, args, {
      ...standins.env,
      STANDIN_LOAD_DELAY_MS: "1500",
    });
    const base = `http://127.0.0.1:${port}`;
    try {
      await server.waitFor(
        () => server.stderr.includes("Waiting for application startup."),
        10_000,
        "startup",
      );
      await assert.rejects(httpRequest(`${base}/health`), /ECONNREFUSED/);
      await server.waitFor(
        () => server.stderr.includes(`Uvicorn running on ${base} (Press CTRL+C to quit)`),
        10_000,
        "uvicorn",
      );
      const health = await httpRequest(`${base}/health`);
      assert.equal(health.status, 200);
      assert.deepEqual(JSON.parse(health.body), {
        status: "ok",
        model_id: "p",
        model_status: "initialized (1 model(s))",
      });
      const missing = await post(`${base}/v1/chat/completions`, { model: "p" });
      assert.deepEqual(missing, {
        status: 422,
        body: JSON.stringify({
          detail: [
            { type: "missing", loc: ["body", "messages"], msg: "Field required", input: { model: "p" } },
          ],
        }),
      });
      const other = await post(`${base}/v1/chat/completions`, { ...CHAT, model: "q" });
      assert.ok(other !== "timed out" && other !== "closed");
      assert.equal(other.status, 404);
      assert.deepEqual(JSON.parse(other.body), {
        detail: {
          error: { message: "Model 'q' not found. Available models: p", type: "model_not_found", code: 404 },
        },
      });
      assert.deepEqual(await httpRequest(`${base}/v1/completions`, { method: "POST", body: "{}" }), {
        status: 404,
        body: '{"detail":"Not Found"}',
      });
      const ok = await post(`${base}/v1/chat/completions`, { ...CHAT, model: "p" });
      assert.ok(ok !== "timed out" && ok !== "closed");
      assert.equal(ok.status, 200, ok.body);
      assert.match(server.stdout, /INFO: {5}127\.0\.0\.1:\d+ - "GET \/health HTTP\/1\.1" 200 OK\n/);
    } finally {
      await server.stop();
    }
  });

  it("mlx-openai-server whose load fails logs the traceback and exits without ever listening", async () => {
    const port = await freePort();
    const server = new Served(
      standins.mlxOpenAiServer,
      ["launch", "--model-path", model, "--served-model-name", "p", "--port", String(port)],
      {
        ...standins.env,
        STANDIN_LOAD_DELAY_MS: "200",
        STANDIN_LOAD_FAIL: "1",
      },
    );
    // v1.8.1's uvicorn returns from serve() after a failed startup: the process exits 0.
    assert.equal(await server.exited, 0);
    assert.match(
      server.stderr,
      /\nERROR: {4}Traceback \(most recent call last\):\n( {2}.*\n)+RuntimeError: Handler process for 'p' failed to initialize: No safetensors found in .*\n\nERROR: {4}Application startup failed\. Exiting\.\n$/,
    );
    assert.doesNotMatch(server.stderr, /Uvicorn running/);
    await assert.rejects(httpRequest(`http://127.0.0.1:${port}/health`), /ECONNREFUSED/);
  });
});
