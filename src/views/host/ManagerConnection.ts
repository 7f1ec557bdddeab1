import path from "node:path";
import * as vscode from "vscode";
import { ensureManager, readEndpoint, resolveDataDir } from "../../client/discovery";
import { ManagerClient } from "../../client/ManagerClient";
import type { ManagerStatus } from "../../shared/api";
import { describeError } from "./errors";
import { readSettings } from "./settings";

export type ConnectionState =
  | { kind: "connecting" }
  | { kind: "connected"; client: ManagerClient; status: ManagerStatus }
  | { kind: "unreachable"; message: string; retryAt?: number };

export interface ManagerConnectionOptions {
  extensionPath: string;
  extensionVersion: string;
  log: vscode.LogOutputChannel;
}

const MAX_RETRY_MS = 60_000;

/**
 * Finds the local manager through its data dir, starts it detached when none runs, and keeps
 * trying with back-off while it is unreachable. Everything else asks it for the client.
 */
export class ManagerConnection implements vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<ConnectionState>();
  readonly onDidChange = this.changed.event;
  private current: ConnectionState = { kind: "connecting" };
  private attempt: Promise<ManagerClient> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelay = 1000;
  private readonly lifetime = new AbortController();

  constructor(private readonly options: ManagerConnectionOptions) {}

  get state(): ConnectionState {
    return this.current;
  }

  get dataDir(): string {
    return resolveDataDir(readSettings().dataDir || undefined);
  }

  /** The connected client; connects (and starts the manager) on first use. Throws when unreachable. */
  client(): Promise<ManagerClient> {
    if (this.current.kind === "connected") return Promise.resolve(this.current.client);
    this.attempt ??= this.connectOnce().finally(() => {
      this.attempt = undefined;
    });
    return this.attempt;
  }

  /** Drops the back-off and tries now (the "Retry" of the views). */
  retry(): Promise<ManagerClient> {
    clearTimeout(this.retryTimer);
    this.retryDelay = 1000;
    if (this.current.kind !== "connected") this.set({ kind: "connecting" });
    return this.client();
  }

  /** Called when the event stream says the manager is gone: find or start it again. */
  lost(reason: string): void {
    if (this.current.kind !== "connected" || this.lifetime.signal.aborted) return;
    this.options.log.warn(`lost the manager: ${reason}`);
    this.set({ kind: "connecting" });
    void this.client().catch(() => undefined);
  }

  /** Stops the manager (servers keep running and are re-adopted) and starts a fresh one. */
  async restartManager(signal?: AbortSignal): Promise<ManagerClient> {
    const endpoint = readEndpoint(this.dataDir);
    if (endpoint) {
      const old = new ManagerClient(endpoint);
      const pid = await old.status(AbortSignal.timeout(2000)).then((s) => s.pid, () => undefined);
      await old.shutdown().catch(() => undefined);
      this.set({ kind: "connecting" });
      // Wait for the old one to leave so the new one can take the lock.
      const deadline = Date.now() + 15_000;
      while (pid !== undefined && isAlive(pid) && Date.now() < deadline) {
        signal?.throwIfAborted();
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    return this.retry();
  }

  private async connectOnce(): Promise<ManagerClient> {
    const settings = readSettings();
    const serveArgs: string[] = [];
    if (settings.managerPort > 0) serveArgs.push("--port", String(settings.managerPort));
    if (settings.hfCache) serveArgs.push("--hf-cache", settings.hfCache);
    // In VS Code desktop process.execPath is Electron: ELECTRON_RUN_AS_NODE makes it a plain Node.
    const env: NodeJS.ProcessEnv = { ...process.env, ...(process.versions["electron"] ? { ELECTRON_RUN_AS_NODE: "1" } : {}) };
    // The manager looks engines up on PATH: a configured executable puts its folder first.
    const folders = Object.values(settings.executables).filter((e) => e.length > 0).map((e) => path.dirname(e));
    if (folders.length > 0) env["PATH"] = [...folders, env["PATH"] ?? ""].join(path.delimiter);
    try {
      const client = await ensureManager({
        dataDir: this.dataDir,
        managerScript: path.join(this.options.extensionPath, "dist", "manager.js"),
        nodePath: process.execPath,
        env,
        serveArgs,
        signal: this.lifetime.signal,
      });
      const status = await client.status(AbortSignal.timeout(5000));
      this.retryDelay = 1000;
      this.options.log.info(`connected to manager ${status.version} (pid ${status.pid}) at ${status.url}`);
      this.set({ kind: "connected", client, status });
      return client;
    } catch (error) {
      const message = describeError(error);
      if (this.lifetime.signal.aborted) throw error;
      const delay = this.retryDelay;
      this.retryDelay = Math.min(this.retryDelay * 2, MAX_RETRY_MS);
      this.options.log.error(`manager not reachable: ${message} (next try in ${delay / 1000} s)`);
      this.set({ kind: "unreachable", message, retryAt: Date.now() + delay });
      clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => void this.client().catch(() => undefined), delay);
      throw error;
    }
  }

  private set(state: ConnectionState): void {
    this.current = state;
    void vscode.commands.executeCommand("setContext", "mlx.connection", state.kind);
    this.changed.fire(state);
  }

  dispose(): void {
    this.lifetime.abort();
    clearTimeout(this.retryTimer);
    this.changed.dispose();
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
