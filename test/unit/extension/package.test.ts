// Builds every platform's .vsix once (npm run package -- --all) and reads what each one carries:
// its own argon2 binary, the sql.js wasm, the llama engine's binaries only where they belong,
// every native file built for the target's OS and CPU, and the target in the package manifest.
// The first run fetches other platforms' native packages from the npm registry into
// .test-cache/package; later runs use that cache.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { readZip, type ZipEntry } from "../../helpers/zip";

const ROOT = path.resolve(__dirname, "..", "..", "..");
interface PackageJson { name: string; version: string; main: string; contributes: unknown }
const readPackageJson = (): PackageJson => JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as PackageJson;
let pkg = readPackageJson();

/** What each target must carry: its argon2 package, its binaries' format, its llama platform package (none on Apple silicon). */
const EXPECTED = {
  "darwin-arm64": { argon2: "argon2-darwin-arm64", binary: "macho-arm64", llama: undefined },
  "darwin-x64": { argon2: "argon2-darwin-x64", binary: "macho-x64", llama: "mac-x64" },
  "linux-x64": { argon2: "argon2-linux-x64-gnu", binary: "elf-x64", llama: "linux-x64" },
  "linux-arm64": { argon2: "argon2-linux-arm64-gnu", binary: "elf-arm64", llama: "linux-arm64" },
  "win32-x64": { argon2: "argon2-win32-x64-msvc", binary: "pe-x64", llama: "win-x64" },
} as const;
type Target = keyof typeof EXPECTED;
const TARGETS = Object.keys(EXPECTED) as Target[];

/** The OS format and CPU of a native binary, from its header. */
function binaryKind(bytes: Buffer): string {
  if (bytes.readUInt32BE(0) === 0x7f454c46) {
    const machine = bytes.readUInt16LE(18);
    return `elf-${machine === 0x3e ? "x64" : machine === 0xb7 ? "arm64" : `machine${machine}`}`;
  }
  if (bytes.readUInt32LE(0) === 0xfeedfacf) {
    const cpu = bytes.readUInt32LE(4);
    return `macho-${cpu === 0x01000007 ? "x64" : cpu === 0x0100000c ? "arm64" : `cpu${cpu}`}`;
  }
  if (bytes.readUInt32BE(0) === 0xcafebabe) return "macho-universal";
  if (bytes.toString("latin1", 0, 2) === "MZ") {
    const pe = bytes.readUInt32LE(0x3c);
    const machine = bytes.readUInt16LE(pe + 4);
    return `pe-${machine === 0x8664 ? "x64" : machine === 0xaa64 ? "arm64" : `machine${machine}`}`;
  }
  return "unknown";
}

const isNative = (name: string): boolean => /\.(node|so|dylib|dll)$/.test(name);
/** The package folders directly under `prefix` (e.g. the @node-rs packages shipped). */
function foldersUnder(entries: ZipEntry[], prefix: string): string[] {
  return [...new Set(entries.filter((e) => e.name.startsWith(prefix)).map((e) => e.name.slice(prefix.length).split("/")[0]!))].sort();
}

describe("platform packages (npm run package -- --all)", function () {
  this.timeout(600_000);
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), "mlx-vsix-"));
  const packages = new Map<Target, { file: string; entries: ZipEntry[] }>();

  before(() => {
    const result = spawnSync(process.execPath, [path.join(ROOT, "scripts", "package.mjs"), "--all", "--out-dir", outDir], { cwd: ROOT, encoding: "utf8", timeout: 590_000 });
    assert.equal(result.status, 0, `package.mjs failed:\n${result.stdout}\n${result.stderr}`);
    pkg = readPackageJson(); // as packaged (others may edit the manifest while the build runs)
    const files = result.stdout.trim().split("\n");
    for (const target of TARGETS) {
      const file = path.join(outDir, `${pkg.name}-${pkg.version}-${target}.vsix`);
      assert.ok(files.includes(file), `package.mjs printed no ${file}:\n${result.stdout}`);
      packages.set(target, { file, entries: readZip(file) });
    }
  });

  after(() => {
    fs.rmSync(outDir, { recursive: true, force: true });
  });

  const get = (target: Target): { file: string; entries: ZipEntry[]; names: Set<string> } => {
    const p = packages.get(target);
    assert.ok(p, `no package for ${target}`);
    return { ...p, names: new Set(p.entries.map((e) => e.name)) };
  };

  for (const target of TARGETS) {
    const expected = EXPECTED[target];
    describe(target, () => {
      it("carries the bundles, the sql.js wasm and its own argon2 binary only", () => {
        const { entries, names } = get(target);
        for (const file of ["extension.js", "manager.js", "llama-engine.js", "webview/main.js", "sql-wasm.wasm"]) assert.ok(names.has(`extension/dist/${file}`), `dist/${file} is missing`);
        const wasm = entries.find((e) => e.name === "extension/dist/sql-wasm.wasm");
        assert.equal(wasm?.read().toString("latin1", 0, 4), "\0asm");
        assert.deepEqual(foldersUnder(entries, "extension/dist/node_modules/@node-rs/"), ["argon2", expected.argon2].sort());
        const suffix = expected.argon2.slice("argon2-".length);
        assert.ok(names.has(`extension/dist/node_modules/@node-rs/${expected.argon2}/argon2.${suffix}.node`), `argon2.${suffix}.node is missing`);
        assert.ok(names.has("extension/dist/node_modules/@node-rs/argon2/index.js"), "the argon2 loader is missing");
      });

      it(expected.llama ? `carries the llama engine with ${expected.llama} binaries only` : "carries no llama engine", () => {
        const { entries, names } = get(target);
        const engine = "extension/.engines/llama/node_modules/";
        if (!expected.llama) {
          assert.deepEqual(entries.filter((e) => e.name.startsWith("extension/.engines/")).map((e) => e.name), []);
          return;
        }
        assert.deepEqual(foldersUnder(entries, `${engine}@node-llama-cpp/`), [expected.llama]);
        assert.ok(names.has(`${engine}@node-llama-cpp/${expected.llama}/bins/${expected.llama}/llama-addon.node`), "llama-addon.node is missing");
        const version = (name: string): string => (JSON.parse(entries.find((e) => e.name === `${engine}${name}/package.json`)?.read().toString("utf8") ?? "{}") as { version?: string }).version ?? "missing";
        // One llama.cpp build: node-llama-cpp refuses binaries of another release.
        assert.equal(version(`@node-llama-cpp/${expected.llama}`), version("node-llama-cpp"));
      });

      it(`has only ${expected.binary} native files, and no maps, type declarations or llama.cpp sources`, () => {
        const { entries } = get(target);
        const natives = entries.filter((e) => isNative(e.name));
        assert.ok(natives.length >= (expected.llama ? 3 : 1), `only ${natives.length} native files`);
        for (const entry of natives) assert.equal(binaryKind(entry.read()), expected.binary, entry.name);
        assert.deepEqual(entries.filter((e) => /\.map$|\.d\.ts$|gitRelease\.bundle$/.test(e.name)).map((e) => e.name), []);
      });

      it("names its target in the package manifest, with this extension's package.json", () => {
        const { entries } = get(target);
        const manifest = entries.find((e) => e.name === "extension.vsixmanifest")?.read().toString("utf8") ?? "";
        const identity = /<Identity\b[^>]*>/.exec(manifest)?.[0] ?? "";
        assert.match(identity, new RegExp(`TargetPlatform="${target}"`));
        assert.match(identity, new RegExp(`Version="${pkg.version.replace(/\./g, "\\.")}"`));
        const shipped = JSON.parse(entries.find((e) => e.name === "extension/package.json")?.read().toString("utf8") ?? "{}") as PackageJson;
        assert.equal(shipped.name, pkg.name);
        assert.deepEqual(shipped.contributes, pkg.contributes);
        assert.ok(entries.some((e) => e.name === `extension/${shipped.main.replace(/^\.\//, "")}`), `main ${shipped.main} is not in the package`);
      });
    });
  }

  it("keeps the darwin-arm64 package under 5 MB", () => {
    const { file } = get("darwin-arm64");
    const bytes = fs.statSync(file).size;
    assert.ok(bytes < 5_000_000, `darwin-arm64 .vsix is ${(bytes / 1e6).toFixed(2)} MB`);
  });
});
