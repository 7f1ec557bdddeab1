// Bundles the in-host mocha suite (test/vscode/suite) into dist/test/index.js. vscode comes from
// the extension host; mocha is loaded from the repo's node_modules.
import { build } from "esbuild";
import path from "node:path";
import { ROOT } from "./paths.mjs";

await build({
  entryPoints: { index: "test/vscode/suite/index.ts" },
  outdir: path.join(ROOT, "dist", "test"),
  absWorkingDir: ROOT,
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node20",
  sourcemap: "inline",
  external: ["vscode", "mocha"],
  logLevel: "warning",
  define: { __MANAGER_VERSION__: JSON.stringify("test") },
});
