/** What a limiter says about one key: go ahead, or wait this many seconds. */
export type RateDecision = { allowed: true } | { allowed: false; retryAfterSec: number };

export interface RateLimiterOptions {
  /** Events allowed per window. */
  limit: number;
  windowMs: number;
  /** Each further window in a row that is over the limit doubles the wait, up to this. Default: no back-off. */
  maxBlockMs?: number;
  /**
   * Counting failures (hit after each failure, check before each attempt): block as soon as the
   * limit is reached, so the attempt after the limit-th failure is refused. Default: the
   * limit-th event passes and the next one is refused (requests).
   */
  blockOnReach?: boolean;
  /** Keys remembered at most (oldest forgotten first), so an attacker cycling keys can't exhaust memory. */
  maxKeys?: number;
  now?: () => number;
}

interface Entry {
  windowStart: number;
  count: number;
  /** Blocked until (epoch ms); 0 when not blocked. */
  blockedUntil: number;
  /** How many times in a row the key went over the limit (for back-off). */
  strikes: number;
}

/**
 * Fixed-window counters per key (an account, an IP, a user) with exponential back-off for keys
 * that keep going over. In memory: limits reset when the manager restarts, which is fine for
 * slowing down guessing and floods.
 */
export class RateLimiter {
  private readonly entries = new Map<string, Entry>();
  private readonly now: () => number;
  private readonly maxKeys: number;

  constructor(private readonly options: RateLimiterOptions) {
    this.now = options.now ?? Date.now;
    this.maxKeys = options.maxKeys ?? 50_000;
  }

  /** Is `key` allowed now? Does not count anything. */
  check(key: string): RateDecision {
    const entry = this.entries.get(key);
    if (entry === undefined) return { allowed: true };
    const now = this.now();
    if (entry.blockedUntil > now) return { allowed: false, retryAfterSec: Math.max(1, Math.ceil((entry.blockedUntil - now) / 1000)) };
    return { allowed: true };
  }

  /** Counts one event for `key`; over the limit, the key is blocked (longer each time it happens again). */
  hit(key: string): RateDecision {
    const now = this.now();
    let entry = this.entries.get(key);
    if (entry === undefined) {
      if (this.entries.size >= this.maxKeys) {
        const oldest = this.entries.keys().next();
        if (oldest.done !== true) this.entries.delete(oldest.value);
      }
      entry = { windowStart: now, count: 0, blockedUntil: 0, strikes: 0 };
      this.entries.set(key, entry);
    }
    if (entry.blockedUntil > now) return { allowed: false, retryAfterSec: Math.max(1, Math.ceil((entry.blockedUntil - now) / 1000)) };
    if (now - entry.windowStart >= this.options.windowMs) {
      // A quiet window since the last block forgives the strikes.
      if (now - entry.windowStart >= 2 * this.options.windowMs && entry.blockedUntil === 0) entry.strikes = 0;
      entry.windowStart = now;
      entry.count = 0;
      entry.blockedUntil = 0;
    }
    entry.count++;
    if (this.options.blockOnReach === true ? entry.count < this.options.limit : entry.count <= this.options.limit) return { allowed: true };
    entry.strikes++;
    const base = entry.windowStart + this.options.windowMs - now;
    const backoff = this.options.maxBlockMs === undefined ? base : Math.min(this.options.maxBlockMs, this.options.windowMs * 2 ** (entry.strikes - 1));
    entry.blockedUntil = now + Math.max(base, backoff);
    return { allowed: false, retryAfterSec: Math.max(1, Math.ceil((entry.blockedUntil - now) / 1000)) };
  }

  /** Changes the events allowed per window (a setting). */
  setLimit(limit: number): void {
    this.options.limit = limit;
  }

  /** Forgets `key` (a successful login clears its account's failures). */
  reset(key: string): void {
    this.entries.delete(key);
  }
}
