import type { Socket } from "node:net";
import { ApiError } from "../api/ApiError";
import type { AccountService, UserRecord } from "./AccountService";
import { API_KEY_PREFIX } from "./AccountService";
import { RateLimiter } from "./RateLimiter";
import type { TokenService } from "./TokenService";

/** How a request proved who it is. */
export type Credential = "jwt" | "key" | "cookie";

export interface Principal {
  user: UserRecord;
  via: Credential;
  /** When the credential stops being valid (a JWT's exp), in ms; API keys do not expire. */
  expiresAt?: number;
}

export interface SharedLimits {
  /** Failed logins per account per minute before a back-off (default 5). */
  loginFailuresPerAccount: number;
  /** Failed logins per IP per minute (default 20). */
  loginFailuresPerIp: number;
  /** Registrations per IP per 10 minutes (default 5). */
  registrationsPerIp: number;
  /** Authenticated requests per user per minute (default 120). */
  requestsPerMinute: number;
}

export const DEFAULT_LIMITS: SharedLimits = { loginFailuresPerAccount: 5, loginFailuresPerIp: 20, registrationsPerIp: 5, requestsPerMinute: 120 };

/**
 * Who a shared-listener request comes from (JWT, API key or session cookie, checked against the
 * user's current token version and status on every request), the rate limits, and each user's
 * open connections, so that signing a user out also cuts their streams.
 */
export class SharedAccess {
  readonly loginByAccount: RateLimiter;
  readonly loginByIp: RateLimiter;
  readonly registerByIp: RateLimiter;
  readonly requestsByUser: RateLimiter;
  private readonly sockets = new Map<string, Set<Socket>>();
  /** Per connection: a timer that closes it when the token its last request used expires. */
  private readonly expiries = new WeakMap<Socket, NodeJS.Timeout>();
  private readonly now: () => number;

  constructor(
    readonly accounts: AccountService,
    readonly tokens: TokenService,
    limits: Partial<SharedLimits> = {},
    now?: () => number,
  ) {
    this.now = now ?? Date.now;
    const l = { ...DEFAULT_LIMITS, ...limits };
    const clock = now === undefined ? {} : { now };
    this.loginByAccount = new RateLimiter({ limit: l.loginFailuresPerAccount, windowMs: 60_000, maxBlockMs: 15 * 60_000, blockOnReach: true, ...clock });
    this.loginByIp = new RateLimiter({ limit: l.loginFailuresPerIp, windowMs: 60_000, maxBlockMs: 15 * 60_000, blockOnReach: true, ...clock });
    this.registerByIp = new RateLimiter({ limit: l.registrationsPerIp, windowMs: 10 * 60_000, ...clock });
    this.requestsByUser = new RateLimiter({ limit: l.requestsPerMinute, windowMs: 60_000, ...clock });
  }

  /** The user of a bearer credential (a JWT or an API key), whatever their status; undefined when it is not valid. */
  async fromBearer(header: string | undefined): Promise<Principal | undefined> {
    if (header === undefined || !header.startsWith("Bearer ")) return undefined;
    const credential = header.slice(7).trim();
    if (credential.startsWith(API_KEY_PREFIX)) {
      const user = this.accounts.userOfKey(credential);
      return user === undefined ? undefined : { user, via: "key" };
    }
    const claims = await this.tokens.verify(credential);
    const user = claims === undefined ? undefined : this.userOfClaims(claims);
    return user === undefined || claims === undefined ? undefined : { user, via: "jwt", expiresAt: claims.exp * 1000 };
  }

  /** The user of a JWT whose version is still the user's current one. */
  async fromToken(token: string): Promise<UserRecord | undefined> {
    const claims = await this.tokens.verify(token);
    return claims === undefined ? undefined : this.userOfClaims(claims);
  }

  private userOfClaims(claims: { sub: string; ver: number; role: string }): UserRecord | undefined {
    const user = this.accounts.get(claims.sub);
    if (user === undefined || user.tokenVersion !== claims.ver || user.role !== claims.role) return undefined;
    return user;
  }

  /**
   * Remembers a user's connection, to cut it when their tokens stop being valid, or when the
   * token of its latest request expires (an open stream ends with its token).
   */
  track(userId: string, socket: Socket | null | undefined, expiresAt?: number): void {
    if (!socket) return;
    const previous = this.expiries.get(socket);
    if (previous !== undefined) clearTimeout(previous);
    if (expiresAt === undefined) this.expiries.delete(socket);
    else {
      // setTimeout holds at most 2^31-1 ms (~24 days); tokens live 7 days.
      const timer = setTimeout(() => socket.destroy(), Math.min(Math.max(0, expiresAt - this.now()), 2 ** 31 - 1));
      timer.unref();
      this.expiries.set(socket, timer);
    }
    let set = this.sockets.get(userId);
    if (set === undefined) {
      set = new Set();
      this.sockets.set(userId, set);
    }
    if (set.has(socket)) return;
    set.add(socket);
    socket.once("close", () => {
      const timer = this.expiries.get(socket);
      if (timer !== undefined) clearTimeout(timer);
      set.delete(socket);
      if (set.size === 0 && this.sockets.get(userId) === set) this.sockets.delete(userId);
    });
  }

  /** Closes every open connection of a user (streams end at once). */
  disconnect(userId: string): number {
    const set = this.sockets.get(userId);
    if (set === undefined) return 0;
    this.sockets.delete(userId);
    for (const socket of set) socket.destroy();
    return set.size;
  }
}

/** A login that counts failures per account and per IP and answers 429 + Retry-After past the limits. */
export async function loginWithLimits(access: SharedAccess, email: string, password: string, ip: string): Promise<UserRecord> {
  const accountKey = `login:${email.normalize("NFC").trim().toLowerCase()}`;
  for (const [limiter, key] of [[access.loginByAccount, accountKey], [access.loginByIp, ip]] as const) {
    const blocked = limiter.check(key);
    if (!blocked.allowed) {
      access.accounts.audit("login_rate_limited", { kind: "anonymous", ip }, {});
      throw rateLimited(blocked.retryAfterSec);
    }
  }
  try {
    const user = await access.accounts.authenticate(email, password, ip);
    access.loginByAccount.reset(accountKey);
    return user;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      access.loginByAccount.hit(accountKey);
      access.loginByIp.hit(ip);
    }
    throw error;
  }
}

export function rateLimited(retryAfterSec: number): ApiError {
  return new ApiError(429, "rate_limited", `Too many attempts: wait ${retryAfterSec} s.`, undefined, { retryAfterSec });
}
