// Finding engine executables: the setting, PATH, the usual pip/pipx/uv/Homebrew places; and what a
// user is told when an engine is missing.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { ApiError } from "../../../../src/services/api/ApiError";
import { ENGINES } from "../../../../src/services/engines/registry";
import { locateEngine, usualPlaces } from "../../../../src/services/servers/engineLocator";
import { makeTempDir, removeTempDir } from "../../../helpers/hfCache";
import { engineBundle } from "../../../helpers/llamaEngine";

function executable(file: string): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, "#!/bin/sh\nexit 0\n", { mode: 0o755 });
  return file;
}

function expectMissing(fn: () => unknown, pattern: RegExp): ApiError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ApiError, String(error));
    assert.equal(error.code, "engine_missing");
    assert.equal(error.status, 400);
    assert.match(error.message, pattern);
    return error;
  }
  assert.fail("expected engine_missing");
}

describe("engineLocator", () => {
  let home: string;
  beforeEach(() => {
    home = makeTempDir("engines-home-");
  });
  afterEach(() => {
    removeTempDir(home);
  });

  it("prefers the explicit setting, then PATH, then the usual places", () => {
    const onPath = executable(path.join(home, "path-bin", "mlx_lm.server"));
    const inLocal = executable(path.join(home, ".local", "bin", "mlx_lm.server"));
    const chosen = executable(path.join(home, "chosen", "my-mlx-lm"));
    const env = { PATH: path.dirname(onPath) };
    assert.equal(
      locateEngine(ENGINES["mlx-lm"], { env, home, executables: { "mlx-lm": chosen } }).executable,
      chosen,
    );
    assert.equal(locateEngine(ENGINES["mlx-lm"], { env, home }).executable, onPath);
    assert.equal(locateEngine(ENGINES["mlx-lm"], { env: { PATH: "" }, home }).executable, inLocal);
  });

  it("finds pipx and uv tool installs", () => {
    const pipx = executable(
      path.join(home, ".local", "pipx", "venvs", "mlx-openai-server", "bin", "mlx-openai-server"),
    );
    assert.equal(locateEngine(ENGINES["mlx-openai-server"], { env: { PATH: "" }, home }).executable, pipx);
    fs.rmSync(pipx);
    const uv = executable(
      path.join(home, ".local", "share", "uv", "tools", "mlx-lm", "bin", "mlx_lm.server"),
    );
    assert.equal(locateEngine(ENGINES["mlx-lm"], { env: { PATH: "" }, home }).executable, uv);
    assert.deepEqual(usualPlaces(home).slice(-2), ["/opt/homebrew/bin", "/usr/local/bin"]);
  });

  it("skips files that are not executable", () => {
    const dir = path.join(home, "bin");
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, "mlx_lm.server"), "not executable", { mode: 0o644 });
    expectMissing(
      () => locateEngine(ENGINES["mlx-lm"], { env: { PATH: dir }, home }),
      /mlx_lm\.server is not installed/,
    );
  });

  it("says how to install a missing engine", () => {
    const error = expectMissing(
      () => locateEngine(ENGINES["mlx-openai-server"], { env: { PATH: "" }, home }),
      /Install it with: pipx install mlx-openai-server\./,
    );
    assert.equal(error.details?.["installHint"], "pipx install mlx-openai-server");
    expectMissing(() => locateEngine(ENGINES["mlx-lm"], { env: { PATH: "" }, home }), /pip install mlx-lm/);
    expectMissing(
      () =>
        locateEngine(ENGINES["mlx-lm"], {
          env: { PATH: "" },
          home,
          executables: { "mlx-lm": path.join(home, "gone") },
        }),
      /set for this manager, .*gone, does not exist or is not executable/,
    );
  });

  it("runs the built-in engine with this Node and the bundled script, and asks for npm run setup:llama when node-llama-cpp is missing", () => {
    const found = locateEngine(ENGINES.llama, { env: {}, home, llamaScript: engineBundle });
    assert.deepEqual(found, {
      executable: process.execPath,
      nodePath: process.execPath,
      llamaScript: engineBundle,
    });
    expectMissing(
      () =>
        locateEngine(ENGINES.llama, {
          env: { MLX_LLAMA_MODULE_DIR: path.join(home, "none") },
          home,
          llamaScript: engineBundle,
        }),
      /npm run setup:llama/,
    );
    expectMissing(
      () => locateEngine(ENGINES.llama, { env: {}, home, llamaScript: path.join(home, "llama-engine.js") }),
      /npm run build/,
    );
  });
});
