interface Waiter {
  start: () => void;
  cancel: (reason: Error) => void;
}

/**
 * Runs up to `slots` tasks at once; the rest wait in arrival order (FIFO) for a slot to free.
 * A waiting task whose signal aborts leaves the queue.
 */
export class GenerationQueue {
  private readonly waiting: Waiter[] = [];
  private active = 0;
  private closedReason: Error | undefined;

  constructor(readonly slots = 1) {
    if (!Number.isSafeInteger(slots) || slots < 1) throw new RangeError(`slots must be a positive integer, got ${slots}`);
  }

  /** Tasks waiting for a slot. */
  get waitingCount(): number {
    return this.waiting.length;
  }

  /** Tasks holding a slot now. */
  get runningCount(): number {
    return this.active;
  }

  /** Waits for a free slot, then runs the task in it. Rejects with `signal.reason` if aborted while waiting. */
  async run<T>(signal: AbortSignal, task: () => Promise<T>): Promise<T> {
    await this.acquire(signal);
    try {
      return await task();
    } finally {
      this.release();
    }
  }

  /** Refuses new tasks and rejects those waiting; the running ones are the caller's to abort. */
  close(reason: Error): void {
    this.closedReason = reason;
    for (const waiter of this.waiting.splice(0)) waiter.cancel(reason);
  }

  private acquire(signal: AbortSignal): Promise<void> {
    if (this.closedReason !== undefined) return Promise.reject(this.closedReason);
    if (signal.aborted)
      return Promise.reject(signal.reason instanceof Error ? signal.reason : new Error("aborted"));
    // A free slot goes to a newcomer only when nobody waits, so arrival order holds.
    if (this.active < this.slots && this.waiting.length === 0) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        const index = this.waiting.indexOf(waiter);
        if (index >= 0) this.waiting.splice(index, 1);
        reject(signal.reason instanceof Error ? signal.reason : new Error("aborted"));
      };
      const waiter: Waiter = {
        start: () => {
          signal.removeEventListener("abort", onAbort);
          resolve();
        },
        cancel: (reason) => {
          signal.removeEventListener("abort", onAbort);
          reject(reason);
        },
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.waiting.push(waiter);
    });
  }

  /** Hands the slot straight to the first waiter (it stays taken), or frees it. */
  private release(): void {
    const next = this.waiting.shift();
    if (next) next.start();
    else this.active--;
  }
}
