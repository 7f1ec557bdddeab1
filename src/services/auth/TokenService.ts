import crypto from "node:crypto";
import { SignJWT, jwtVerify } from "jose";
import type { UserRole } from "../../shared/auth";

export const TOKEN_TTL_MS = 7 * 24 * 60 * 60 * 1000;

/** What a verified token says. The caller still checks `ver` against the user's current version. */
export interface TokenClaims {
  sub: string;
  role: UserRole;
  ver: number;
  /** Seconds since the epoch. */
  iat: number;
  exp: number;
}

export interface TokenServiceOptions {
  /** 32+ random bytes from the data dir, or where to get them at first use. */
  secret: Uint8Array | (() => Uint8Array);
  now?: () => number;
  ttlMs?: number;
  /** Verified tokens remembered (oldest dropped first). Default 10,000. */
  cacheSize?: number;
}

/**
 * Issues and verifies the shared listener's JWTs (HS256 only). A bounded cache of verified
 * tokens skips the signature check on repeat requests; expiry is checked on every hit, and the
 * token version by the caller on every request, so revocation stays immediate.
 */
export class TokenService {
  private keyObject: crypto.KeyObject | undefined;
  private readonly secret: () => Uint8Array;
  private readonly now: () => number;
  private readonly ttlMs: number;
  private readonly cacheSize: number;
  private readonly cache = new Map<string, TokenClaims>();

  constructor(options: TokenServiceOptions) {
    const secret = options.secret;
    this.secret = typeof secret === "function" ? secret : () => secret;
    this.now = options.now ?? Date.now;
    this.ttlMs = options.ttlMs ?? TOKEN_TTL_MS;
    this.cacheSize = options.cacheSize ?? 10_000;
  }

  /** Signs with a new secret from now on: every token issued before stops working. */
  rotate(secret: Uint8Array): void {
    this.keyObject = keyOf(secret);
    this.cache.clear();
  }

  private get key(): crypto.KeyObject {
    this.keyObject ??= keyOf(this.secret());
    return this.keyObject;
  }

  /** A token for `user` valid for the TTL (7 days). */
  async issue(user: { id: string; role: UserRole; tokenVersion: number }): Promise<{ token: string; expiresAt: number }> {
    const nowSec = Math.floor(this.now() / 1000);
    const exp = nowSec + Math.floor(this.ttlMs / 1000);
    const token = await new SignJWT({ role: user.role, ver: user.tokenVersion })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setSubject(user.id)
      .setIssuedAt(nowSec)
      .setExpirationTime(exp)
      .sign(this.key);
    return { token, expiresAt: exp * 1000 };
  }

  /** The claims of a valid, unexpired token signed by us with HS256; undefined otherwise. */
  async verify(token: string): Promise<TokenClaims | undefined> {
    const nowMs = this.now();
    const cached = this.cache.get(token);
    if (cached !== undefined) {
      if (cached.exp * 1000 > nowMs) return cached;
      this.cache.delete(token);
      return undefined;
    }
    if (token.length > 4096) return undefined;
    let claims: TokenClaims;
    try {
      const { payload } = await jwtVerify(token, this.key, { algorithms: ["HS256"], currentDate: new Date(nowMs), requiredClaims: ["sub", "iat", "exp"] });
      const { sub, role, ver, iat, exp } = payload;
      if (typeof sub !== "string" || (role !== "admin" && role !== "user") || typeof ver !== "number" || typeof iat !== "number" || typeof exp !== "number") return undefined;
      claims = { sub, role, ver, iat, exp };
    } catch {
      return undefined;
    }
    if (this.cache.size >= this.cacheSize) {
      const oldest = this.cache.keys().next();
      if (oldest.done !== true) this.cache.delete(oldest.value);
    }
    this.cache.set(token, claims);
    return claims;
  }
}

function keyOf(secret: Uint8Array): crypto.KeyObject {
  if (secret.length < 32) throw new Error("The JWT secret must have at least 32 bytes.");
  return crypto.createSecretKey(secret);
}
