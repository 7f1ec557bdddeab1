// Real child processes standing in for model servers: an idle one and one that spins a core.
import { spawn, type ChildProcess } from "node:child_process";
import type { ServerInfo } from "../../../../src/shared/servers";

export const IDLE_SCRIPT = "setInterval(() => {}, 1000); process.stdout.write('ready\\n')";
export const BUSY_SCRIPT = "for (;;) {}";

/** Starts `node -e script` and resolves once it has a pid (and, for a script that prints "ready", once it has booted). */
export async function startNode(script: string): Promise<ChildProcess & { pid: number }> {
  const waitsForReady = script.includes("ready");
  const child = spawn(process.execPath, ["-e", script], { stdio: ["ignore", waitsForReady ? "pipe" : "ignore", "ignore"] });
  await new Promise<void>((resolve, reject) => {
    child.once("spawn", () => {
      if (!waitsForReady) resolve();
    });
    child.stdout?.once("data", () => {
      resolve();
    });
    child.once("error", reject);
  });
  if (child.pid === undefined) throw new Error("the child has no pid");
  return child as ChildProcess & { pid: number };
}

/** Kills a child and waits for it to be gone. */
export async function stopNode(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => {
    child.once("exit", () => {
      resolve();
    });
  });
  child.kill("SIGKILL");
  await exited;
}

/** A running server record for a pid, as the supervisor would list it. */
export function serverInfo(
  profileId: string,
  pid: number | undefined,
  overrides: Partial<ServerInfo> = {},
): ServerInfo {
  return {
    profileId,
    profileName: `profile ${profileId}`,
    engine: "llama",
    model: "test/tiny",
    port: 8080,
    ...(pid === undefined ? {} : { pid }),
    state: "running",
    upstreamUrl: "http://127.0.0.1:8080",
    startedAt: Date.now() - 5_000,
    restarts: 0,
    logFile: "/dev/null",
    adopted: false,
    command: [process.execPath],
    warnings: [],
    ...overrides,
  };
}

/** Resolves when `check` is true, polling every 10 ms; rejects after `timeoutMs`. */
export async function waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
