// `npm test`: lint, the type-check, the unit and integration tests, then the tests in a real VS Code.
// What the tests need installed (the llama engine; Node 24, code-server — whose native modules are
// compiled, one core's work for ~2.5 minutes —, Claude Code and Codex from npm; Chromium and sshd
// from apt) installs in the background while lint and the type-check run, which leave much of the
// second core free. Its output is printed once they are done; a failed install stops the run there.
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const npm = process.platform === "win32" ? "npm.cmd" : "npm";

/** Runs a command with the terminal; resolves with its exit code. */
function run(command, args) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: root, stdio: "inherit" });
    child.once("error", () => { resolve(1); });
    child.once("close", (code) => { resolve(code ?? 1); });
  });
}

/** Runs the installers one after the other with their output kept; resolves with it and the first failure's code. */
function installInBackground() {
  return new Promise((resolve) => {
    let output = "";
    const steps = [path.join("scripts", "install-llama-engine.mjs"), path.join("scripts", "vscode-server", "install.mjs")];
    const next = () => {
      const script = steps.shift();
      if (script === undefined) {
        resolve({ code: 0, output });
        return;
      }
      const child = spawn(process.execPath, [script], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
      child.stdout.on("data", (d) => { output += d; });
      child.stderr.on("data", (d) => { output += d; });
      child.once("error", (error) => { resolve({ code: 1, output: `${output}${script}: ${error.message}\n` }); });
      child.once("close", (code) => {
        if (code === 0) next();
        else resolve({ code: code ?? 1, output });
      });
    };
    next();
  });
}

const started = Date.now();
const installing = installInBackground();
let code = await run(npm, ["run", "lint"]);
if (code === 0) code = await run(npm, ["run", "typecheck"]);
const installed = await installing;
process.stdout.write(installed.output);
process.stdout.write(`[test] the test tools were installed in the background (${installed.code === 0 ? "ready" : `failed with ${installed.code}`}); lint and type-check ${code === 0 ? "passed" : "failed"} after ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
if (code === 0 && installed.code !== 0) code = installed.code;
if (code === 0) code = await run(npm, ["run", "test:unit"]);
if (code === 0) code = await run(npm, ["run", "test:vscode"]);
process.exit(code);
