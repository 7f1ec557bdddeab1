// Shared fixtures of the supervisor tests: a cache with a tiny GGUF and an MLX repo, the MLX
// stand-ins on a private PATH, an event recorder, and process checks.
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { ManagerClient } from "../../src/client/ManagerClient";
import type { SequencedEvent } from "../../src/shared/events";
import type { ServerInfo, ServerState } from "../../src/shared/servers";
import { makeTempDir, mlxRepoFiles, writeHfRepo } from "./hfCache";
import { installStandins, type InstalledStandins } from "./standins";
import { tinyGgufBytes } from "./tinyGguf";

export const GGUF_REPO = "test/tiny-gguf";
export const MLX_REPO = "mlx-community/tiny-4bit";

export interface ServerFixture {
  root: string;
  hfCache: string;
  dataDir: string;
  /** The tiny GGUF outside the cache (what the stand-ins serve). */
  gguf: string;
  standins: InstalledStandins;
  /** Environment for a manager: stand-ins first on PATH, nothing else of the machine's engines. */
  env: Record<string, string>;
}

/** A temp root with an HF cache (tiny GGUF + MLX repo), a data dir and the stand-ins. */
export async function makeServerFixture(prefix: string): Promise<ServerFixture> {
  const root = makeTempDir(prefix);
  const hfCache = path.join(root, "hub");
  fs.mkdirSync(hfCache);
  const bytes = tinyGgufBytes(1);
  writeHfRepo(hfCache, {
    repoId: GGUF_REPO,
    revisions: [
      {
        refs: ["main"],
        files: {
          "tiny-F32.gguf": bytes,
          "README.md": "---\nlibrary_name: gguf\ntags: [gguf]\n---\n# tiny\n",
        },
      },
    ],
  });
  writeHfRepo(hfCache, {
    repoId: MLX_REPO,
    revisions: [
      { refs: ["main"], files: mlxRepoFiles({ repoId: MLX_REPO, quantization: { bits: 4, groupSize: 64 } }) },
    ],
  });
  const gguf = path.join(root, "standin.gguf");
  fs.writeFileSync(gguf, bytes);
  const standins = await installStandins(path.join(root, "bin"), { gguf, loadDelayMs: 400 });
  return {
    root,
    hfCache,
    dataDir: path.join(root, "data"),
    gguf,
    standins,
    env: { ...standins.env, HOME: root },
  };
}

/** Polls `probe` every 20 ms until it returns a value other than undefined/false. */
export async function waitFor<T>(
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Records the manager's events (GET /api/events) from now on. */
export class EventRecorder {
  readonly events: (SequencedEvent & { at: number })[] = [];
  private readonly controller = new AbortController();
  private readonly connected: Promise<void>;

  constructor(client: ManagerClient) {
    let onConnected: () => void = () => undefined;
    this.connected = new Promise((resolve) => {
      onConnected = resolve;
    });
    void client.followEvents(
      (event) => {
        this.events.push({ ...event, at: Date.now() });
      },
      this.controller.signal,
      (up) => {
        if (up) onConnected();
      },
    );
  }

  static async start(url: string, token: string): Promise<EventRecorder> {
    const recorder = new EventRecorder(new ManagerClient({ url, token }));
    await recorder.connected;
    return recorder;
  }

  /** server.changed payloads for a profile, in order. */
  serverStates(profileId: string): ServerInfo[] {
    return this.events.flatMap((e) =>
      e.type === "server.changed" && e.data.profileId === profileId ? [e.data] : [],
    );
  }

  /** Waits for a server.changed event of the profile in `state` (after `since` events), returning it with its arrival time. */
  async waitForState(
    profileId: string,
    state: ServerState,
    timeoutMs: number,
    since = 0,
  ): Promise<{ info: ServerInfo; at: number }> {
    return waitFor(
      () => {
        const hit = this.events
          .slice(since)
          .find(
            (e) => e.type === "server.changed" && e.data.profileId === profileId && e.data.state === state,
          );
        return hit && hit.type === "server.changed" ? { info: hit.data, at: hit.at } : undefined;
      },
      timeoutMs,
      `server ${profileId} to be ${state}`,
    );
  }

  stop(): void {
    this.controller.abort();
  }
}

/** True when the pid exists and is not a zombie (Linux). */
export function pidRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

/** Pids of running processes whose command line contains `needle` (Linux /proc). */
export function pidsWithCommandLine(needle: string): number[] {
  const pids: number[] = [];
  for (const name of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmdline = fs.readFileSync(`/proc/${name}/cmdline`, "utf8").split("\0").join(" ");
      if (cmdline.includes(needle) && pidRunning(Number(name))) pids.push(Number(name));
    } catch {
      // Gone, or not ours.
    }
  }
  return pids;
}

/** True when nothing accepts connections on 127.0.0.1:port. */
export function portClosed(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", () => {
      resolve(true);
    });
  });
}

/** SIGKILLs whatever is left of the process groups of `pids` (test cleanup; never throws). */
export function killGroups(pids: Iterable<number>): void {
  for (const pid of pids) {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
}

/** Running (non-zombie) processes of the process group `pgid` (Linux /proc). Zombies are dead, waiting for init to reap them. */
export function groupMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const name of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[2]) === pgid && fields[0] !== "Z" && fields[0] !== "X") members.push(Number(name));
    } catch {
      // Gone.
    }
  }
  return members;
}
