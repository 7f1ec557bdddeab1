// Turns a TypeScript entry point into an executable a manager can spawn by name: bundled with
// esbuild into `<binDir>/<name>`, node shebang, mode 0755. Put binDir first on the manager's PATH.
import fs from "node:fs";
import path from "node:path";
import { build } from "esbuild";
import { repoRoot } from "./llamaEngine";

export async function installNodeExecutable(entryPoint: string, binDir: string, name: string): Promise<string> {
  fs.mkdirSync(binDir, { recursive: true });
  const out = path.join(binDir, name);
  await build({
    absWorkingDir: repoRoot,
    entryPoints: [entryPoint],
    outfile: out,
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    banner: { js: "#!/usr/bin/env node" },
    logLevel: "warning",
  });
  fs.chmodSync(out, 0o755);
  return out;
}
