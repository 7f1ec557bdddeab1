// The first-run walkthrough inside a real VS Code: contributed, every button and completion event
// names a registered command, it opens, and Install an Engine gives this platform's way (and a
// Mac's) to install each engine, copies the command, or runs it in a terminal with an argument array.
import assert from "node:assert/strict";
import * as vscode from "vscode";
import type { InstallPlan } from "../../../src/commands/installEngine";
import { EXTENSION_ID, extensionApi, waitFor } from "./host";

interface Step { id: string; description: string; completionEvents: string[] }
interface Walkthrough { id: string; steps: Step[] }

describe("first-run walkthrough in a real VS Code", function () {
  this.timeout(60_000);

  it("is contributed, and each step's buttons and completion events are registered commands", async () => {
    await extensionApi();
    const manifest = vscode.extensions.getExtension(EXTENSION_ID)?.packageJSON as { contributes: { walkthroughs: Walkthrough[] } };
    const [walkthrough] = manifest.contributes.walkthroughs;
    assert.equal(walkthrough?.id, "mlx.gettingStarted");
    assert.equal(walkthrough.steps.length, 5);
    const registered = new Set(await vscode.commands.getCommands(true));
    // The host localises %keys% before the extension sees them: the descriptions hold the links.
    for (const step of walkthrough.steps) {
      const buttons = [...step.description.matchAll(/\(command:([\w.]+)\)/g)].map((m) => m[1]!);
      assert.ok(buttons.length > 0, `${step.id} has no button: ${step.description}`);
      for (const command of [...buttons, ...step.completionEvents.map((e) => e.replace(/^onCommand:/, ""))]) {
        assert.ok(registered.has(command), `${step.id}: ${command} is not registered`);
      }
    }
    await vscode.commands.executeCommand("workbench.action.openWalkthrough", `${EXTENSION_ID}#mlx.gettingStarted`, false);
    await vscode.commands.executeCommand("workbench.action.closeAllEditors");
  });

  it("Install an Engine: the llama engine came with the extension here, MLX is for Apple silicon", async () => {
    const llama = await vscode.commands.executeCommand<InstallPlan>("mlx.installEngine", { engine: "llama", action: "describe" });
    assert.equal(llama.kind, process.platform === "darwin" && process.arch === "arm64" ? "unsupported" : "bundled");
    if (process.platform !== "darwin") {
      const mlx = await vscode.commands.executeCommand<InstallPlan>("mlx.installEngine", { engine: "mlx-lm", action: "describe" });
      assert.equal(mlx.kind, "unsupported");
      assert.match(mlx.what, /Apple silicon/);
    }
  });

  it("Install an Engine copies a Mac's pip command for mlx-lm", async () => {
    const plan = await vscode.commands.executeCommand<InstallPlan>("mlx.installEngine", { engine: "mlx-lm", action: "copy", platform: "darwin-arm64" });
    assert.equal(plan.kind, "run");
    assert.equal(await vscode.env.clipboard.readText(), "python3 -m pip install --user --upgrade mlx-lm");
  });

  it("Install an Engine runs the installer in a terminal of its own, program and arguments apart", async () => {
    const plan = await vscode.commands.executeCommand<InstallPlan>("mlx.installEngine", { engine: "llama-server", action: "terminal", platform: "darwin-arm64" });
    assert.equal(plan.kind, "run");
    const terminal = await waitFor(() => vscode.window.terminals.find((t) => t.name === "MLX: install llama-server"), "the install terminal");
    try {
      const options = terminal.creationOptions as vscode.TerminalOptions;
      assert.equal(options.shellPath, "brew");
      assert.deepEqual(options.shellArgs, ["install", "llama.cpp"]);
    } finally {
      terminal.dispose();
    }
  });
});
