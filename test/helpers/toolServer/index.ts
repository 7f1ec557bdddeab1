// Installs the tool-calling llama-server stand-in (main.ts) as `<binDir>/llama-server`: bundled
// with esbuild, node shebang, mode 0755. Put binDir first on the manager's PATH.
import fs from "node:fs";
import path from "node:path";
import { build } from "esbuild";
import { repoRoot } from "../llamaEngine";

export async function installToolServer(binDir: string): Promise<string> {
  fs.mkdirSync(binDir, { recursive: true });
  const out = path.join(binDir, "llama-server");
  await build({
    absWorkingDir: repoRoot,
    entryPoints: [path.join(__dirname, "main.ts")],
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
