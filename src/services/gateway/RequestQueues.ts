import { GatewayError } from "./openAiError";

/** The queue's limits, read at every request (they are settings). */
export interface QueueLimits {
  /** Requests that may wait per server; the next is refused. */
  maxLength: number;
  /** A request that waited this long is refused. */
  timeoutMs: number;
}

/** What a server's queue holds now. */
export interface QueueDepth {
  /** Requests being answered (at most `slots`). */
  active: number;
  /** Requests waiting for a slot. */
  waiting: number;
  /** Requests between arrival and a slot: a just-in-time start, the context check. */
  arriving: number;
  slots: number;
}

interface Waiter {
  grant: () => void;
}

class ServerQueue {
  active = 0;
  arriving = 0;
  slots = 1;
  readonly waiting: Waiter[] = [];
}

/** A slot of a server: give it back exactly once when the answer has ended. */
export interface Slot {
  release(): void;
  /** How long the request waited for it, in ms. */
  waitedMs: number;
}

/**
 * The gateway's per-server queues: at most `slots` requests answered at once (the engine's parallel
 * slots), the rest waiting in arrival order up to a length and a time, each refused with 503 and
 * Retry-After beyond them. A request counts from its arrival (`arrive`), so that a server with a
 * request on its way is never stopped to make room for another model.
 */
export class RequestQueues {
  /** One per profile that had a request since the manager started (kept: its slots stay known to the metrics). */
  private readonly queues = new Map<string, ServerQueue>();

  constructor(private readonly limits: () => QueueLimits) {}

  /** A request for the profile arrived; call the returned function when it has a slot or has ended. */
  arrive(profileId: string): () => void {
    const queue = this.queue(profileId);
    queue.arriving++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      queue.arriving--;
    };
  }

  /** Waits for a slot of the profile's server (FIFO); rejects with a 503 GatewayError when the queue is full or the wait too long, or with the signal's reason. */
  acquire(profileId: string, slots: number, signal: AbortSignal): Promise<Slot> {
    const queue = this.queue(profileId);
    queue.slots = Math.max(1, slots);
    const started = performance.now();
    const slot = (): Slot => {
      let released = false;
      return {
        waitedMs: performance.now() - started,
        release: () => {
          if (released) return;
          released = true;
          this.release(queue);
        },
      };
    };
    signal.throwIfAborted();
    if (queue.active < queue.slots && queue.waiting.length === 0) {
      queue.active++;
      return Promise.resolve(slot());
    }
    const { maxLength, timeoutMs } = this.limits();
    if (queue.waiting.length >= maxLength) {
      return Promise.reject(
        new GatewayError(503, `The model server is busy: ${queue.active} request${queue.active === 1 ? "" : "s"} running and ${queue.waiting.length} waiting, the most the queue holds (setting mlx.gateway.queueMaxLength). Try again shortly.`, "queue_full", null, "server_error", retryAfterFor(queue)),
      );
    }
    return new Promise<Slot>((resolve, reject) => {
      const leave = (): void => {
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
        const index = queue.waiting.indexOf(waiter);
        if (index >= 0) queue.waiting.splice(index, 1);
      };
      const onAbort = (): void => {
        leave();
        reject(signal.reason instanceof Error ? signal.reason : new Error("aborted"));
      };
      const timer = setTimeout(() => {
        leave();
        reject(new GatewayError(503, `The request waited ${seconds(timeoutMs)} s for the model server and was not answered: it is busy with ${queue.active} request${queue.active === 1 ? "" : "s"} (${queue.waiting.length} more waiting). Try again later, or raise mlx.gateway.queueTimeoutSec.`, "queue_timeout", null, "server_error", retryAfterFor(queue)));
      }, timeoutMs);
      timer.unref();
      const waiter: Waiter = {
        grant: () => {
          leave();
          queue.active++;
          resolve(slot());
        },
      };
      signal.addEventListener("abort", onAbort, { once: true });
      queue.waiting.push(waiter);
    });
  }

  /** A request is on its way to, waiting for, or being answered by the profile's server. */
  busy(profileId: string): boolean {
    const queue = this.queues.get(profileId);
    return queue !== undefined && queue.active + queue.waiting.length + queue.arriving > 0;
  }

  depth(profileId: string): QueueDepth | undefined {
    const queue = this.queues.get(profileId);
    return queue === undefined ? undefined : { active: queue.active, waiting: queue.waiting.length, arriving: queue.arriving, slots: queue.slots };
  }

  private queue(profileId: string): ServerQueue {
    let queue = this.queues.get(profileId);
    if (queue === undefined) {
      queue = new ServerQueue();
      this.queues.set(profileId, queue);
    }
    return queue;
  }

  private release(queue: ServerQueue): void {
    queue.active--;
    while (queue.active < queue.slots) {
      const next = queue.waiting.shift();
      if (next === undefined) break;
      next.grant();
    }
  }
}

/** Seconds a refused client should wait: a slot frees when an answer ends, a few seconds for a short queue. */
function retryAfterFor(queue: ServerQueue): number {
  return Math.min(60, Math.max(1, Math.ceil((queue.waiting.length + 1) / queue.slots)));
}

/** "0.3", "12": seconds for a message. */
function seconds(ms: number): string {
  return ms < 10_000 ? String(Math.round(ms / 100) / 10) : String(Math.round(ms / 1000));
}
