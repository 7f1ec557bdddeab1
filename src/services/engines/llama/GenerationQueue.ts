interface Waiter {
  start: () => void;
  cancel: (reason: Error) => void;
}

/** Runs one task at a time, in arrival order; a waiting task whose signal aborts leaves the queue. */
export class GenerationQueue {
  private readonly waiting: Waiter[] = [];
  private busy = false;
  private closedReason: Error | undefined;

  /** Tasks waiting behind the running one. */
  get waitingCount(): number {
    return this.waiting.length;
  }

  /** Waits for the turn of this task, then runs it. Rejects with `signal.reason` if aborted while waiting. */
  async run<T>(signal: AbortSignal, task: () => Promise<T>): Promise<T> {
    await this.acquire(signal);
    try {
      return await task();
    } finally {
      this.release();
    }
  }

  /** Refuses new tasks and rejects those waiting; the running one is the caller's to abort. */
  close(reason: Error): void {
    this.closedReason = reason;
    for (const waiter of this.waiting.splice(0)) waiter.cancel(reason);
  }

  private acquire(signal: AbortSignal): Promise<void> {
    if (this.closedReason !== undefined) return Promise.reject(this.closedReason);
    if (signal.aborted)
      return Promise.reject(signal.reason instanceof Error ? signal.reason : new Error("aborted"));
    if (!this.busy) {
      this.busy = true;
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

  private release(): void {
    const next = this.waiting.shift();
    if (next) next.start();
    else this.busy = false;
  }
}
