// The same in-host suite in VS Code desktop (Electron), through @vscode/test-electron. For
// developer machines with internet: it downloads VS Code into .vscode-test/. It cannot run here
// (no route to update.code.visualstudio.com), so CI runs the code-server runner (run.ts) instead.
// Usage: npm run test:vscode:desktop   (VSCODE_TEST_VERSION=stable|insiders|1.x.y)
import path from "node:path";
import { runTests } from "@vscode/test-electron";
import { ROOT } from "./codeServer";
import { makeFixture, startFixtureHub, stopFixtureManager } from "./fixture";

async function main(): Promise<void> {
  const fx = makeFixture(path.join(ROOT, ".test-work", "vscode", "electron"));
  const hub = await startFixtureHub();
  try {
    await runTests({
      version: process.env["VSCODE_TEST_VERSION"] ?? "stable",
      extensionDevelopmentPath: ROOT,
      extensionTestsPath: path.join(ROOT, "dist", "test", "index.js"),
      launchArgs: [fx.workspace, "--disable-workspace-trust", "--skip-welcome", "--skip-release-notes", `--user-data-dir=${path.join(fx.root, "user-data")}`, `--extensions-dir=${path.join(fx.root, "extensions")}`],
      extensionTestsEnv: { MLX_MANAGER_HOME: fx.dataDir, HF_HUB_CACHE: fx.hfCache, HF_ENDPOINT: hub.url, MLX_MANAGER_PORT: "0", MLX_TEST_FIXTURE: path.join(fx.root, "fixture.json") },
    });
  } finally {
    await stopFixtureManager(fx.dataDir);
    await hub.close();
  }
}

void main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
