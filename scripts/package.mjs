// Builds the .vsix: production bundles, the sql.js wasm, the built-in llama engine
// (.engines/llama: node-llama-cpp + this platform's prebuilt binaries, so the package is
// platform-specific) and @node-rs/argon2 when present. Offline: vsce needs no network.
// Usage: node scripts/package.mjs [--out FILE]   → prints the .vsix path
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const pkg = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8"));
const TARGETS = { "linux-x64": "linux-x64", "linux-arm64": "linux-arm64", "darwin-arm64": "darwin-arm64", "darwin-x64": "darwin-x64", "win32-x64": "win32-x64" };
const target = TARGETS[`${process.platform}-${process.arch}`];
const args = process.argv.slice(2);
const outFlag = args.indexOf("--out");
const out = path.resolve(outFlag >= 0 && args[outFlag + 1] ? args[outFlag + 1] : path.join(root, "dist", `${pkg.name}-${pkg.version}${target ? `-${target}` : ""}.vsix`));
const run = (file, argv) => execFileSync(file, argv, { cwd: root, stdio: ["ignore", "inherit", "inherit"] });

// Apple silicon runs MLX engines; the llama engine (~75 MB) stays out of the Mac package.
const withLlama = !(process.platform === "darwin" && process.arch === "arm64") && !args.includes("--without-llama");
if (withLlama) run(process.execPath, [path.join(root, "scripts", "install-llama-engine.mjs")]);
run(process.execPath, [path.join(root, "scripts", "build.mjs"), "--production"]);
const required = ["dist/extension.js", "dist/manager.js", "dist/llama-engine.js", "dist/sql-wasm.wasm", ...(withLlama ? [".engines/llama/node_modules/node-llama-cpp/package.json"] : [])];
for (const file of required) {
  if (!existsSync(path.join(root, file))) throw new Error(`${file} is missing: the package would not run`);
}
// Native modules the manager bundle leaves external go to dist/node_modules, where Node looks
// first when dist/manager.js requires them.
const nodeRs = path.join(root, "node_modules", "@node-rs");
if (existsSync(nodeRs)) {
  rmSync(path.join(root, "dist", "node_modules"), { recursive: true, force: true });
  for (const name of readdirSync(nodeRs).filter((n) => n.startsWith("argon2"))) {
    cpSync(path.join(nodeRs, name), path.join(root, "dist", "node_modules", "@node-rs", name), { recursive: true });
  }
}

// --no-dependencies: the bundles carry every JS dependency; the native ones are allow-listed
// in .vscodeignore (the Mac variant drops .engines/).
let ignoreFile = path.join(root, ".vscodeignore");
if (!withLlama) {
  ignoreFile = path.join(root, "dist", ".vscodeignore-without-llama");
  writeFileSync(ignoreFile, readFileSync(path.join(root, ".vscodeignore"), "utf8").split("\n").filter((l) => !l.includes(".engines/")).join("\n"));
}
const vsce = path.join(root, "node_modules", "@vscode", "vsce", "vsce");
run(process.execPath, [vsce, "package", "--no-dependencies", "--skip-license", "--allow-missing-repository", "--no-rewrite-relative-links", "--ignoreFile", ignoreFile, ...(target ? ["--target", target] : []), "--out", out]);
process.stdout.write(`${out}\n`);
