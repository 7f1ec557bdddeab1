// Extension benchmarks, measured inside a real VS Code (code-server's server + Chromium, see
// test/vscode/run.ts): activation time, the extension-host bundle size and the Models view's
// refresh with 1,000 cached models.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { build, type Plugin } from "esbuild";
import type { BenchRow } from "./types";

const ROOT = path.resolve(__dirname, "..");

/**
 * The production extension bundle, and the same bundle with zod imported as `{ z }` (as the code
 * did until 7 Dec 2026): a namespace object esbuild cannot tree-shake, so all of zod comes along.
 */
async function bundleSizes(): Promise<{ ours: number; peer: number }> {
  const built = spawnSync(process.execPath, [path.join(ROOT, "scripts", "build.mjs"), "--production"], { cwd: ROOT, stdio: "inherit" });
  if (built.status !== 0) throw new Error("build failed");
  const ours = fs.statSync(path.join(ROOT, "dist", "extension.js")).size;
  const namedImport: Plugin = {
    name: "zod-named-import",
    setup(b) {
      b.onLoad({ filter: /[\\/]src[\\/].*\.ts$/ }, (args) => ({
        contents: fs.readFileSync(args.path, "utf8").replace('import * as z from "zod";', 'import { z } from "zod";'),
        loader: "ts",
      }));
    },
  };
  // The options of scripts/build.mjs's extension bundle (kept alike by hand), with the named import.
  const plain = await build({
    entryPoints: [path.join(ROOT, "src", "extension.ts")],
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    external: ["vscode"],
    alias: { "jsonc-parser": "jsonc-parser/lib/esm/main.js" },
    minify: true,
    write: false,
    define: { __MANAGER_VERSION__: '"bench"' },
    plugins: [namedImport],
  });
  const peer = plain.outputFiles[0]?.contents.byteLength ?? 0;
  spawnSync(process.execPath, [path.join(ROOT, "scripts", "build.mjs")], { cwd: ROOT, stdio: "inherit" });
  return { ours, peer };
}

export async function benchExtension(): Promise<BenchRow[]> {
  const sizes = await bundleSizes();
  const rows: BenchRow[] = [
    { name: "extension-host bundle (minified; goal ≤ 400 KB)", ours: sizes.ours / 1024, peer: sizes.peer / 1024, unit: "KB", note: "peer: the same bundle with zod imported as { z } (all of zod); goal ≤ 400 KB" },
  ];
  const out = path.join(ROOT, ".test-work", "vscode", "bench");
  fs.rmSync(out, { recursive: true, force: true });
  spawnSync(process.execPath, [path.join(ROOT, "scripts", "vscode-server", "build-suite.mjs")], { cwd: ROOT, stdio: "inherit" });
  const run = spawnSync(process.execPath, [path.join(ROOT, "node_modules", "tsx", "dist", "cli.mjs"), path.join(ROOT, "test", "vscode", "run.ts"), "--dev", "--bench", out], {
    cwd: ROOT,
    stdio: ["ignore", "ignore", "inherit"],
    env: { ...process.env, MLX_TEST_GREP: "activates|refreshes" },
  });
  if (run.status !== 0) {
    process.stderr.write("extension bench: the real-VS-Code run failed (npm run setup:vscode-server installs what it needs)\n");
    return rows;
  }
  const activation = JSON.parse(fs.readFileSync(path.join(out, "activation.json"), "utf8")) as { activationMs: number; connectedAfterMs?: number };
  const tree = JSON.parse(fs.readFileSync(path.join(out, "tree-refresh.json"), "utf8")) as { oursP50Ms: number; peerP50Ms: number };
  rows.push(
    { name: "activation in the real extension host", ours: activation.activationMs, peer: activation.activationMs + (activation.connectedAfterMs ?? 0), unit: "ms", note: "peer: activating only once the manager answers (starting it); goal ≤ 50 ms" },
    { name: "Models view refresh, 1,000 models, event → getChildren, p50", ours: tree.oursP50Ms, peer: tree.peerP50Ms, unit: "ms", note: "peer: refetch the whole list over loopback HTTP per event; goal ≤ 30 ms" },
  );
  return rows;
}
