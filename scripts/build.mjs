// Bundles the extension host, the manager (and CLI), the llama engine and the webview.
// Type-checking is `npm run typecheck` (esbuild does not type-check); `npm run build` runs both.
import { build } from "esbuild";
import { copyFile, mkdir, readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(import.meta.url);
const root = path.dirname(path.dirname(new URL(import.meta.url).pathname));
const pkg = JSON.parse(await readFile(path.join(root, "package.json"), "utf8"));
const production = process.argv.includes("--production");
// --outdir DIR: somewhere other than dist/ (scripts/package.mjs stages each .vsix apart, so a
// package build never replaces the bundles a running test uses).
const outFlag = process.argv.indexOf("--outdir");
const outdir = outFlag >= 0 && process.argv[outFlag + 1] ? path.resolve(process.argv[outFlag + 1]) : path.join(root, "dist");

const common = {
  bundle: true,
  sourcemap: production ? false : "linked",
  minify: production,
  logLevel: "warning",
  absWorkingDir: root,
  define: { __MANAGER_VERSION__: JSON.stringify(pkg.version) },
};

await mkdir(outdir, { recursive: true });
await Promise.all([
  build({
    ...common,
    entryPoints: { extension: "src/extension.ts" },
    outdir,
    platform: "node",
    format: "cjs",
    target: "node20",
    external: ["vscode"],
    // jsonc-parser's "main" is a UMD build whose require("./impl/…") calls esbuild cannot follow.
    alias: { "jsonc-parser": "jsonc-parser/lib/esm/main.js" },
    minify: true,
  }),
  build({
    ...common,
    entryPoints: { manager: "src/cli/main.ts", "llama-engine": "src/services/engines/llama/main.ts", "bench-client": "src/services/bench/client/main.ts" },
    outdir,
    platform: "node",
    format: "cjs",
    target: "node20",
    // node-llama-cpp is native and lives in its own folder (scripts/install-llama-engine.mjs).
    // The wasm is copied next to the bundle; the require.resolve fallback is for tests run from source.
    // @node-rs/argon2 loads a prebuilt .node binary of its platform package at run time.
    external: ["node-llama-cpp", "sql.js/dist/sql-wasm.wasm", "@node-rs/argon2"],
    banner: { js: "#!/usr/bin/env node" },
  }),
  build({
    ...common,
    entryPoints: { "webview/main": "webview-ui/src/main.ts" },
    outdir,
    platform: "browser",
    format: "iife",
    target: "es2022",
  }),
  copyFile(require.resolve("sql.js/dist/sql-wasm.wasm"), path.join(outdir, "sql-wasm.wasm")),
  // The training entry point the manager runs with the Python that has mlx-lm (fine-tuning jobs).
  copyFile(path.join(root, "python", "mlx_manager_train.py"), path.join(outdir, "mlx_manager_train.py")),
  copyFile(path.join(root, "python", "mlx_manager_perplexity.py"), path.join(outdir, "mlx_manager_perplexity.py")),
]);
