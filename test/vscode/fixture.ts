// A Hugging Face cache with a tiny generated GGUF (served by the `llama` engine) and an MLX repo,
// a manager data dir and a workspace folder: what the real-VS-Code tests and the demo run on.
import fs from "node:fs";
import path from "node:path";
import { mlxRepoFiles as fakeMlxRepoFiles, seededBytes, startFakeHub, type FakeHub } from "../helpers/fakeHub";
import { mlxRepoFiles, writeHfRepo } from "../helpers/hfCache";
import { tinyGgufBytes } from "../helpers/tinyGguf";

export const GGUF_REPO = "test/tiny-gguf";
export const GGUF_FILE = "tiny-F32.gguf";
export const MLX_REPO = "mlx-community/tiny-4bit";
export const HUB_REPO = "mlx-community/Hub-Tiny-4bit";

/** What the in-host suite learns about its fixture (through MLX_TEST_FIXTURE). */
export interface FixtureInfo {
  root: string;
  hfCache: string;
  dataDir: string;
  workspace: string;
  ggufRepo: string;
  ggufFile: string;
  mlxRepo: string;
  /** A repo the local fake Hub (HF_ENDPOINT) serves, not in the cache: the download test fetches it. */
  hubRepo: string;
  /** The .vsix the extension was installed from (else: the development folder). */
  installedFrom?: string;
  /** Where the suite writes benchmark figures, when benchmarking. */
  benchOut?: string;
}

export function makeFixture(root: string): FixtureInfo {
  fs.rmSync(root, { recursive: true, force: true });
  const hfCache = path.join(root, "hub");
  const dataDir = path.join(root, "data");
  const workspace = path.join(root, "workspace");
  for (const dir of [hfCache, dataDir, workspace]) fs.mkdirSync(dir, { recursive: true });
  writeHfRepo(hfCache, {
    repoId: GGUF_REPO,
    revisions: [{ refs: ["main"], files: { [GGUF_FILE]: tinyGgufBytes(1), "README.md": "---\nlibrary_name: gguf\ntags: [gguf]\n---\n# tiny\n" } }],
  });
  writeHfRepo(hfCache, { repoId: MLX_REPO, revisions: [{ refs: ["main"], files: mlxRepoFiles({ repoId: MLX_REPO, quantization: { bits: 4, groupSize: 64 } }) }] });
  fs.writeFileSync(path.join(workspace, "README.md"), "# MLX Model Manager test workspace\n");
  const info: FixtureInfo = { root, hfCache, dataDir, workspace, ggufRepo: GGUF_REPO, ggufFile: GGUF_FILE, mlxRepo: MLX_REPO, hubRepo: HUB_REPO };
  fs.writeFileSync(path.join(root, "fixture.json"), JSON.stringify(info, null, 2));
  return info;
}

/** Stops every server of the fixture's manager, then the manager itself (both outlive VS Code). */
export async function stopFixtureManager(dataDir: string): Promise<void> {
  let lock: { url?: string; pid?: number };
  try {
    lock = JSON.parse(fs.readFileSync(path.join(dataDir, "manager.lock"), "utf8")) as { url?: string; pid?: number };
  } catch {
    return;
  }
  let token: string | undefined;
  try {
    token = fs.readFileSync(path.join(dataDir, "token"), "utf8").trim();
  } catch {
    // No token (the manager died starting): no polite shutdown, only the kill below.
  }
  const headers = { authorization: `Bearer ${token ?? ""}` };
  if (lock.url && token !== undefined) {
    await fetch(`${lock.url}/api/servers/stop-all`, { method: "POST", headers, signal: AbortSignal.timeout(15_000) }).catch(() => undefined);
    await fetch(`${lock.url}/api/shutdown`, { method: "POST", headers, signal: AbortSignal.timeout(5000) }).catch(() => undefined);
  }
  const pid = lock.pid;
  if (pid === undefined) return;
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // gone
  }
}

/** A local Hub (and CDN) serving HUB_REPO and a GGUF repo, throttled so progress is visible. */
export async function startFixtureHub(): Promise<FakeHub> {
  const hub = await startFakeHub({
    repos: [
      { id: HUB_REPO, downloads: 1234, likes: 56, tags: ["mlx", "safetensors"], libraryName: "mlx", cardData: { library_name: "mlx", tags: ["mlx"] }, files: fakeMlxRepoFiles(1024 * 1024, "vscode") },
      { id: "mlx-community/Hub-Other-8bit", downloads: 99, likes: 3, tags: ["mlx"], files: fakeMlxRepoFiles(4096, "other") },
      // HUB_REPO's 8-bit sibling (listed, never downloaded): the details show both variants' memory.
      { id: "mlx-community/Hub-Tiny-8bit", downloads: 88, likes: 2, tags: ["mlx"], files: { "config.json": Buffer.from("{}"), "model.safetensors": { declaredSize: 7_500_000_000 } } },
      { id: "someone/Hub-Tiny-GGUF", downloads: 500, likes: 7, tags: ["gguf"], files: { "tiny.Q4_K_M.gguf": seededBytes(4096, "q4"), "tiny.Q8_0.gguf": seededBytes(8192, "q8") } },
    ],
  });
  hub.switches.bytesPerSecond = 400 * 1024;
  return hub;
}
