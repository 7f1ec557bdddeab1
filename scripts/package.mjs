// Builds platform-specific .vsix files. Each carries the production bundles, the sql.js wasm,
// its own @node-rs/argon2 binary and — except on Apple silicon — the built-in llama engine
// (node-llama-cpp and its one prebuilt platform package). Other platforms' native packages are
// fetched with `npm pack <name>@<exact version>` into a cache (.test-cache/package/npm) and
// checked against the sha512 `integrity` of the lockfile that pins them; nothing is compiled.
//
// Usage: node scripts/package.mjs [--target T]... [--all] [--out FILE] [--out-dir DIR]
//                                 [--without-llama] [--work DIR]
//   no --target: this machine's target. Prints one .vsix path per line (the last line is the
//   last package); a size table goes to stderr.
// Targets: darwin-arm64, darwin-x64, linux-x64, linux-arm64, win32-x64.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const pkg = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8"));
const npm = process.platform === "win32" ? "npm.cmd" : "npm";

/**
 * What each target carries. `llama.version` is set only where the registry has no platform
 * package for the version .engines/llama pins (scripts/install-llama-engine.mjs): node-llama-cpp
 * 3.22.1 was published without mac-x64 and win-x64 binaries, so those targets ship the newest
 * version that has them, whole (JS and binary of one version: the binary is built for one
 * llama.cpp release and node-llama-cpp refuses another).
 * darwin-x64 (Intel Macs) carries the llama engine: MLX runs only on Apple silicon, so GGUF
 * through llama.cpp is the only way an Intel Mac runs a model.
 */
export const TARGETS = {
  "darwin-arm64": { argon2: "@node-rs/argon2-darwin-arm64", llama: undefined },
  "darwin-x64": { argon2: "@node-rs/argon2-darwin-x64", llama: { platformPackage: "@node-llama-cpp/mac-x64", version: "3.21.1" } },
  "linux-x64": { argon2: "@node-rs/argon2-linux-x64-gnu", llama: { platformPackage: "@node-llama-cpp/linux-x64" } },
  "linux-arm64": { argon2: "@node-rs/argon2-linux-arm64-gnu", llama: { platformPackage: "@node-llama-cpp/linux-arm64" } },
  "win32-x64": { argon2: "@node-rs/argon2-win32-x64-msvc", llama: { platformPackage: "@node-llama-cpp/win-x64", version: "3.21.1" } },
};

/** Files of node-llama-cpp's tree that only matter for building llama.cpp from source or for type-checking. */
const ENGINE_SKIP = new Set(["gitRelease.bundle"]);
const engineFilter = (src) => !ENGINE_SKIP.has(path.basename(src)) && !src.endsWith(".d.ts") && !src.endsWith(".map");

function say(line) {
  process.stderr.write(`[package] ${line}\n`);
}

function flagValues(args, name) {
  const values = [];
  args.forEach((arg, i) => {
    if (arg === name && args[i + 1]) values.push(args[i + 1]);
  });
  return values;
}

function run(file, argv, options = {}) {
  return execFileSync(file, argv, { cwd: root, stdio: ["ignore", "pipe", "inherit"], encoding: "utf8", maxBuffer: 64 * 1024 * 1024, ...options });
}

function sha512Integrity(file) {
  return `sha512-${createHash("sha512").update(readFileSync(file)).digest("base64")}`;
}

function lockEntry(lockFile, name) {
  if (!existsSync(lockFile)) return undefined;
  const lock = JSON.parse(readFileSync(lockFile, "utf8"));
  return lock.packages?.[`node_modules/${name}`];
}

/**
 * `npm pack name@version` into the cache (once), checked against the lockfile's integrity, then
 * unpacked into `dest`. Without an integrity in the lockfile, npm's own check against the
 * registry's published integrity is all there is, and that is said.
 */
function fetchPackage(cacheDir, name, version, lockFile, dest) {
  const entry = lockEntry(lockFile, name);
  if (entry?.version && entry.version !== version) throw new Error(`${path.relative(root, lockFile)} pins ${name}@${entry.version}, not ${version}`);
  mkdirSync(cacheDir, { recursive: true });
  const tarball = path.join(cacheDir, `${name.replace(/^@/, "").replace("/", "-")}-${version}.tgz`);
  if (!existsSync(tarball)) {
    say(`fetching ${name}@${version} (npm pack)`);
    try {
      run(npm, ["pack", `${name}@${version}`, "--pack-destination", cacheDir, "--silent"], { shell: process.platform === "win32" });
    } catch (error) {
      throw new Error(`could not fetch ${name}@${version} from the npm registry (${error instanceof Error ? error.message.split("\n")[0] : String(error)}); check the network or npm's registry setting, then run again`);
    }
    if (!existsSync(tarball)) throw new Error(`npm pack did not write ${tarball}`);
  }
  const actual = sha512Integrity(tarball);
  if (entry?.integrity) {
    if (entry.integrity !== actual) {
      rmSync(tarball, { force: true });
      throw new Error(`${name}@${version}: the tarball's sha512 does not match ${path.relative(root, lockFile)} (removed it from the cache; run again to fetch it anew)`);
    }
  } else {
    say(`${name}@${version}: no integrity in ${path.relative(root, lockFile)}; npm checked it against the registry's only`);
  }
  rmSync(dest, { recursive: true, force: true });
  mkdirSync(dest, { recursive: true });
  run("tar", ["-xzf", tarball, "-C", dest, "--strip-components=1"]);
  return { tarball, verified: Boolean(entry?.integrity) };
}

/**
 * A node-llama-cpp tree (JS and its dependencies, no platform binary) of `version`:
 * .engines/llama when it is that version, else one installed into the cache without scripts.
 */
function engineTree(work, version) {
  const local = path.join(root, ".engines", "llama");
  const localVersion = lockEntry(path.join(local, "package-lock.json"), "node-llama-cpp")?.version;
  if (localVersion === version && existsSync(path.join(local, "node_modules", "node-llama-cpp", "package.json"))) return local;
  const dir = path.join(work, "engines", `node-llama-cpp-${version}`);
  if (lockEntry(path.join(dir, "package-lock.json"), "node-llama-cpp")?.version !== version || !existsSync(path.join(dir, "node_modules", "node-llama-cpp", "package.json"))) {
    say(`installing node-llama-cpp@${version} (JS only) into ${path.relative(root, dir)}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, "package.json"), `${JSON.stringify({ private: true, description: "node-llama-cpp for packaging (generated by scripts/package.mjs)", dependencies: { "node-llama-cpp": version } }, null, 2)}\n`);
    run(npm, ["install", "--omit=optional", "--ignore-scripts", "--no-audit", "--no-fund", "--silent"], { cwd: dir, env: { ...process.env, NODE_LLAMA_CPP_SKIP_DOWNLOAD: "true" }, shell: process.platform === "win32" });
  }
  return dir;
}

function dirSize(dir) {
  let total = 0;
  for (const name of readdirSync(dir)) {
    const file = path.join(dir, name);
    const stat = statSync(file);
    total += stat.isDirectory() ? dirSize(file) : stat.size;
  }
  return total;
}

/** Stages one target's files under `stage` (the allow-list in .vscodeignore then picks what ships). */
function stageTarget(target, { build, stage, work, withLlama }) {
  const spec = TARGETS[target];
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(stage, { recursive: true });
  for (const file of ["package.json", "package.nls.json", "README.md", "CHANGELOG.md", "LICENSE", ".vscodeignore"]) {
    if (existsSync(path.join(root, file))) cpSync(path.join(root, file), path.join(stage, file));
  }
  for (const dir of ["l10n", "media"]) if (existsSync(path.join(root, dir))) cpSync(path.join(root, dir), path.join(stage, dir), { recursive: true });
  cpSync(build, path.join(stage, "dist"), { recursive: true });

  // @node-rs/argon2 is external to the manager bundle: its loader and this target's binary go to
  // dist/node_modules, where Node looks first when dist/manager.js requires them.
  const npmCache = path.join(work, "npm");
  const rootLock = path.join(root, "package-lock.json");
  const argon2Version = lockEntry(rootLock, "@node-rs/argon2")?.version;
  if (!argon2Version) throw new Error("package-lock.json has no @node-rs/argon2: run npm install");
  const modules = path.join(stage, "dist", "node_modules");
  cpSync(path.join(root, "node_modules", "@node-rs", "argon2"), path.join(modules, "@node-rs", "argon2"), { recursive: true, filter: (src) => !src.endsWith(".d.ts") });
  const natives = [fetchPackage(npmCache, spec.argon2, argon2Version, rootLock, path.join(modules, ...spec.argon2.split("/")))];

  if (spec.llama && withLlama) {
    const lockedVersion = lockEntry(path.join(root, ".engines", "llama", "package-lock.json"), "node-llama-cpp")?.version;
    const version = spec.llama.version ?? lockedVersion;
    if (!version) throw new Error(".engines/llama is not installed: run npm run setup:llama (it pins the node-llama-cpp version)");
    const tree = engineTree(work, version);
    const engine = path.join(stage, ".engines", "llama");
    mkdirSync(engine, { recursive: true });
    writeFileSync(path.join(engine, "package.json"), `${JSON.stringify({ private: true, description: `node-llama-cpp ${version} for the built-in llama engine (${target})`, dependencies: { "node-llama-cpp": version, [spec.llama.platformPackage]: version } }, null, 2)}\n`);
    // Every @node-llama-cpp/* of the tree belongs to the machine that installed it: skipped.
    for (const name of readdirSync(path.join(tree, "node_modules"))) {
      if (name === "@node-llama-cpp" || name.startsWith(".")) continue;
      cpSync(path.join(tree, "node_modules", name), path.join(engine, "node_modules", name), { recursive: true, filter: engineFilter });
    }
    natives.push(fetchPackage(npmCache, spec.llama.platformPackage, version, path.join(tree, "package-lock.json"), path.join(engine, "node_modules", ...spec.llama.platformPackage.split("/"))));
  }
  return natives;
}

async function main() {
  const args = process.argv.slice(2);
  const here = `${process.platform}-${process.arch}`;
  let targets = args.includes("--all") ? Object.keys(TARGETS) : flagValues(args, "--target");
  if (targets.length === 0) targets = [here];
  for (const target of targets) {
    if (!TARGETS[target]) throw new Error(`unknown target ${target}; choose one of ${Object.keys(TARGETS).join(", ")} or --all`);
  }
  const out = flagValues(args, "--out")[0];
  if (out && targets.length > 1) throw new Error("--out names one file: use --out-dir with several targets");
  const outDir = path.resolve(flagValues(args, "--out-dir")[0] ?? path.join(root, "dist"));
  const work = path.resolve(flagValues(args, "--work")[0] ?? path.join(root, ".test-cache", "package"));
  const withLlama = !args.includes("--without-llama");

  // This machine's own engine install (skipped when no target here needs it).
  if (withLlama && targets.some((t) => TARGETS[t].llama && !TARGETS[t].llama.version)) {
    run(process.execPath, [path.join(root, "scripts", "install-llama-engine.mjs")], { stdio: ["ignore", "ignore", "inherit"] });
  }

  // One production build for every target, apart from dist/ (which tests may be running from),
  // in a folder of this run's own: two package runs at once share only the download cache.
  mkdirSync(work, { recursive: true });
  const runDir = mkdtempSync(path.join(work, "run-"));
  try {
    await packageTargets({ targets, out, outDir, work, runDir, withLlama });
  } finally {
    rmSync(runDir, { recursive: true, force: true });
  }
}

async function packageTargets({ targets, out, outDir, work, runDir, withLlama }) {
  const build = path.join(runDir, "build");
  run(process.execPath, [path.join(root, "scripts", "build.mjs"), "--production", "--outdir", build], { stdio: ["ignore", "ignore", "inherit"] });
  for (const file of ["extension.js", "manager.js", "llama-engine.js", "bench-client.js", "sql-wasm.wasm", "mlx_manager_train.py", "mlx_manager_perplexity.py", "webview/main.js"]) {
    if (!existsSync(path.join(build, file))) throw new Error(`dist/${file} is missing after the build: the package would not run`);
  }

  const vsce = path.join(root, "node_modules", "@vscode", "vsce", "vsce");
  const results = [];
  for (const target of targets) {
    const stage = path.join(runDir, "stage", target);
    const natives = stageTarget(target, { build, stage, work, withLlama });
    const file = path.resolve(out ?? path.join(outDir, `${pkg.name}-${pkg.version}-${target}.vsix`));
    mkdirSync(path.dirname(file), { recursive: true });
    const staged = dirSize(stage);
    // --no-dependencies: the bundles carry every JS dependency; the native ones were staged
    // above and the .vscodeignore allow-list admits them. vsce writes the target into the
    // package's manifest (TargetPlatform), which VS Code keeps as __metadata.targetPlatform.
    // (Its warning about ~1,500 unbundled files is node-llama-cpp's own tree, which must stay as
    // npm lays it out; vsce's output is shown only when it fails.)
    try {
      run(process.execPath, [vsce, "package", "--no-dependencies", "--skip-license", "--allow-missing-repository", "--no-rewrite-relative-links", "--target", target, "--out", file], { cwd: stage, stdio: ["ignore", "pipe", "pipe"] });
    } catch (error) {
      throw new Error(`vsce could not package ${target}:\n${String(error.stdout ?? "")}${String(error.stderr ?? "")}`);
    }
    rmSync(stage, { recursive: true, force: true });
    results.push({ target, file, bytes: statSync(file).size, staged, natives });
  }

  for (const r of results) {
    const unverified = r.natives.filter((n) => !n.verified).length;
    say(`${r.target.padEnd(13)} ${(r.bytes / 1e6).toFixed(2).padStart(6)} MB (${(r.staged / 1e6).toFixed(1)} MB unpacked)  ${path.relative(root, r.file)}${unverified ? `  (${unverified} native package(s) checked against the registry only)` : ""}`);
  }
  for (const r of results) process.stdout.write(`${r.file}\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((error) => {
    process.stderr.write(`[package] ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
