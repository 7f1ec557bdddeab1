// Entry of the mocha suite that runs INSIDE a real VS Code extension host (extensionTestsPath).
// Bundled by scripts/vscode-server/build-suite.mjs into dist/test/index.js; mocha and vscode
// stay external (mocha from the repo's node_modules, vscode from the host).
import Mocha from "mocha";

export async function run(): Promise<void> {
  const mocha = new Mocha({ ui: "bdd", timeout: 60_000, color: false, reporter: "spec" });
  const grep = process.env["MLX_TEST_GREP"];
  if (grep) mocha.grep(grep);
  // Define describe/it before the bundled test modules load (they are lazily required here).
  mocha.suite.emit("pre-require", globalThis, "in-host", mocha);
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- must load after pre-require
  require("./extension.test");
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- must load after pre-require
  require("./walkthrough.test");
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- must load after pre-require
  require("./terminal.test");
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- must load after pre-require
  require("./team.test");
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- must load after pre-require
  require("./languageModels.test");
  await new Promise<void>((resolve, reject) => {
    const runner = mocha.run((failures) => {
      // A grep that matches nothing (or a suite file that was not bundled) must not pass silently.
      if (runner.total === 0) reject(new Error(`no test ran${grep ? ` (MLX_TEST_GREP=${grep} matched none)` : ""}`));
      else if (failures > 0) reject(new Error(`${failures} test(s) failed`));
      else resolve();
    });
  });
}
