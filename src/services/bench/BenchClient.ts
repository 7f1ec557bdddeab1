import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import path from "node:path";
import readline from "node:readline";
import type { TimedRequest, Timing } from "./client/timedRequest";

/** The bundled benchmark client next to the running bundle (dist/manager.js → dist/bench-client.js). */
export function defaultBenchClientScript(): string {
  return path.join(__dirname, "bench-client.js");
}

/**
 * The benchmark client's process (./client/main.ts), started for one benchmark run and ended with
 * it: requests go to it a line each on stdin, its timings come back a line each on stdout.
 */
export class BenchClient {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly waiting = new Map<number, { resolve: (t: Timing) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private exited: Error | undefined;
  private stderr = "";

  constructor(script: string, nodePath: string = process.execPath) {
    // Argument arrays only; the key travels on stdin. ELECTRON_RUN_AS_NODE (set when the editor's
    // Node runs the manager) is inherited, so the same binary runs this script as plain Node.
    this.child = spawn(nodePath, [script], { stdio: ["pipe", "pipe", "pipe"], env: process.env });
    this.child.stderr.setEncoding("utf8").on("data", (d: string) => { this.stderr = (this.stderr + d).slice(-2000); });
    readline.createInterface({ input: this.child.stdout, terminal: false }).on("line", (text) => {
      let line: { id: number; timing?: Timing; error?: string };
      try {
        line = JSON.parse(text) as typeof line;
      } catch {
        return;
      }
      const waiter = this.waiting.get(line.id);
      if (waiter === undefined) return;
      this.waiting.delete(line.id);
      if (line.timing !== undefined) waiter.resolve(line.timing);
      else waiter.reject(new Error(line.error ?? "the benchmark client gave no timing"));
    });
    const gone = (why: string): void => {
      this.exited ??= new Error(`The benchmark client ${why}${this.stderr.trim() === "" ? "" : `: ${this.stderr.trim()}`}`);
      for (const waiter of this.waiting.values()) waiter.reject(this.exited);
      this.waiting.clear();
    };
    this.child.once("error", (error) => { gone(`could not start (${error.message})`); });
    this.child.once("exit", (code, signal) => { gone(`ended (${signal ?? `exit code ${code}`})`); });
    this.child.stdin.on("error", () => undefined);
  }

  /** Sends one request and resolves with the client's timing of it; the signal cancels it. */
  request(request: TimedRequest, signal: AbortSignal): Promise<Timing> {
    return this.send({ request }, signal);
  }

  /** A GET whose answer is dropped: the client's connection and code warm before anything is timed. */
  async warmUp(url: string, key: string, signal: AbortSignal): Promise<void> {
    await this.send({ warm: { url, key } }, signal);
  }

  private send(line: { request: TimedRequest } | { warm: { url: string; key: string } }, signal: AbortSignal): Promise<Timing> {
    if (this.exited !== undefined) return Promise.reject(this.exited);
    signal.throwIfAborted();
    const id = this.nextId++;
    return new Promise<Timing>((resolve, reject) => {
      const onAbort = (): void => {
        this.waiting.delete(id);
        this.child.stdin.write(`${JSON.stringify({ id, cancel: true })}\n`);
        reject(signal.reason instanceof Error ? signal.reason : new Error("cancelled"));
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.waiting.set(id, {
        resolve: (t) => { signal.removeEventListener("abort", onAbort); resolve(t); },
        reject: (e) => { signal.removeEventListener("abort", onAbort); reject(e); },
      });
      this.child.stdin.write(`${JSON.stringify({ id, ...line })}\n`);
    });
  }

  /** Ends the client: stdin closes and it exits; killed if it has not within a second. */
  close(): void {
    if (this.exited !== undefined) return;
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 1000);
    timer.unref();
    this.child.once("exit", () => { clearTimeout(timer); });
  }
}
