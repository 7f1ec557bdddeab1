import assert from "node:assert/strict";
import crypto from "node:crypto";
import { SignJWT } from "jose";
import { AccountService, type AccountStore } from "../../../../src/services/auth/AccountService";
import { normaliseEmail, passwordProblem } from "../../../../src/services/auth/passwords";
import { RateLimiter } from "../../../../src/services/auth/RateLimiter";
import { SharedAccess } from "../../../../src/services/auth/SharedAccess";
import { TOKEN_TTL_MS, TokenService } from "../../../../src/services/auth/TokenService";
import { MemoryLogger } from "../../../../src/services/logging/Logger";

const memoryStore: AccountStore = { run: () => undefined, batch: () => undefined, all: () => [] };

describe("TokenService", () => {
  const secret = crypto.randomBytes(32);
  const user = { id: "u1", role: "user" as const, tokenVersion: 3 };

  it("issues HS256 tokens with sub, role, ver, iat and a 7-day exp", async () => {
    let now = Date.UTC(2026, 0, 1);
    const tokens = new TokenService({ secret, now: () => now });
    const { token, expiresAt } = await tokens.issue(user);
    assert.equal(expiresAt, now + TOKEN_TTL_MS);
    const header = JSON.parse(Buffer.from(token.split(".")[0]!, "base64url").toString()) as { alg: string };
    assert.equal(header.alg, "HS256");
    const claims = await tokens.verify(token);
    assert.deepEqual(claims, { sub: "u1", role: "user", ver: 3, iat: now / 1000, exp: (now + TOKEN_TTL_MS) / 1000 });
    now += TOKEN_TTL_MS - 1000;
    assert.ok(await tokens.verify(token), "valid (from the cache) a second before expiry");
    now += 2000;
    assert.equal(await tokens.verify(token), undefined, "a cached token still expires");
    assert.equal(await new TokenService({ secret, now: () => now }).verify(token), undefined, "and an uncached one");
  });

  it("refuses other algorithms and other secrets, and forgets everything on rotation", async () => {
    const tokens = new TokenService({ secret });
    const now = Math.floor(Date.now() / 1000);
    const claims = { role: "user", ver: 3, sub: "u1", iat: now, exp: now + 60 };
    assert.equal(await tokens.verify(await new SignJWT(claims).setProtectedHeader({ alg: "HS512" }).sign(secret)), undefined);
    assert.equal(await tokens.verify(await new SignJWT(claims).setProtectedHeader({ alg: "HS384" }).sign(secret)), undefined);
    assert.equal(await tokens.verify(await new SignJWT(claims).setProtectedHeader({ alg: "HS256" }).sign(crypto.randomBytes(32))), undefined);
    const good = await new SignJWT(claims).setProtectedHeader({ alg: "HS256" }).sign(secret);
    assert.ok(await tokens.verify(good));
    tokens.rotate(crypto.randomBytes(32));
    assert.equal(await tokens.verify(good), undefined);
    assert.throws(() => { new TokenService({ secret: Buffer.alloc(16) }).rotate(Buffer.alloc(8)); });
  });

  it("keeps the cache bounded", async () => {
    const tokens = new TokenService({ secret, cacheSize: 3 });
    const issued = await Promise.all([1, 2, 3, 4, 5].map((v) => tokens.issue({ ...user, tokenVersion: v })));
    for (const { token } of issued) assert.ok(await tokens.verify(token));
    assert.equal((tokens as unknown as { cache: Map<string, unknown> }).cache.size, 3);
  });
});

describe("SharedAccess: token version, role and status are checked on every request", () => {
  it("a cached token stops working when the user's version changes", async () => {
    const accounts = new AccountService({ store: memoryStore, logger: new MemoryLogger() });
    const access = new SharedAccess(accounts, new TokenService({ secret: crypto.randomBytes(32) }));
    const admin = await accounts.createFirstAdmin("a@example.com", "admins long passphrase", { kind: "owner" });
    const user = await accounts.register("u@example.com", "users long passphrase", "10.0.0.2");
    const record = accounts.get(user.id)!;
    const { token } = await access.tokens.issue(record);
    assert.equal((await access.fromBearer(`Bearer ${token}`))?.user.status, "pending");
    accounts.update({ kind: "owner" }, user.id, { status: "approved" });
    assert.equal((await access.fromBearer(`Bearer ${token}`))?.user.status, "approved", "approval keeps the token");
    accounts.update({ kind: "owner" }, user.id, { role: "admin" });
    assert.equal(await access.fromBearer(`Bearer ${token}`), undefined, "role change");
    accounts.update({ kind: "owner" }, user.id, { role: "user" });
    assert.throws(() => accounts.delete({ kind: "owner" }, admin.id), /last admin/);
    assert.throws(() => accounts.update({ kind: "user", user: accounts.get(admin.id)! }, admin.id, { status: "disabled" }), /last admin/);
    accounts.close();
  });
});

describe("RateLimiter", () => {
  it("blocks once the limit of failures is reached, backs off, and forgets a key on reset", () => {
    let now = 0;
    const limiter = new RateLimiter({ limit: 3, windowMs: 60_000, maxBlockMs: 600_000, blockOnReach: true, now: () => now });
    assert.deepEqual([limiter.hit("k"), limiter.hit("k")].map((d) => d.allowed), [true, true]);
    assert.equal(limiter.hit("k").allowed, false);
    const first = limiter.check("k");
    assert.ok(!first.allowed && first.retryAfterSec === 60);
    now += 61_000;
    assert.ok(limiter.check("k").allowed);
    limiter.hit("k");
    limiter.hit("k");
    const second = limiter.hit("k");
    assert.ok(!second.allowed && second.retryAfterSec === 120, `doubled: ${JSON.stringify(second)}`);
    limiter.reset("k");
    assert.ok(limiter.check("k").allowed);
  });

  it("counts requests: the limit-th passes, the next is refused until the window ends", () => {
    let now = 0;
    const limiter = new RateLimiter({ limit: 2, windowMs: 60_000, now: () => now });
    assert.ok(limiter.hit("u").allowed && limiter.hit("u").allowed);
    const refused = limiter.hit("u");
    assert.ok(!refused.allowed && refused.retryAfterSec === 60);
    now += 60_000;
    assert.ok(limiter.hit("u").allowed);
  });

  it("remembers a bounded number of keys", () => {
    const limiter = new RateLimiter({ limit: 1, windowMs: 60_000, maxKeys: 10 });
    for (let i = 0; i < 100; i++) limiter.hit(`ip${i}`);
    assert.equal((limiter as unknown as { entries: Map<string, unknown> }).entries.size, 10);
  });
});

describe("passwords and emails", () => {
  it("normalises emails and refuses what is not one", () => {
    assert.equal(normaliseEmail("  Bob@Example.COM "), "bob@example.com");
    assert.equal(normaliseEmail("Ame\u0301lie@example.com"), "am\u00e9lie@example.com", "NFC");
    for (const bad of ["", "bob", "bob@", "@example.com", "bob@example", "b ob@example.com", "a@b.c\u0000", "x".repeat(250) + "@example.com"]) {
      assert.equal(normaliseEmail(bad), undefined, JSON.stringify(bad));
    }
  });

  it("wants 10+ characters, not the email, not a common password, some variety", () => {
    assert.match(passwordProblem("short", "a@example.com")?.message ?? "", /10 characters/);
    assert.match(passwordProblem("someone@example.com", "someone@example.com")?.message ?? "", /email/);
    assert.match(passwordProblem("Password123", "a@example.com")?.message ?? "", /common/);
    assert.match(passwordProblem("aaaaaaaaaaaaab", "a@example.com")?.message ?? "", /different/);
    assert.match(passwordProblem("x".repeat(300), "a@example.com")?.message ?? "", /at most/);
    assert.equal(passwordProblem("correct horse battery", "a@example.com"), undefined);
    assert.equal(passwordProblem("ünïcödé pässwörd", "a@example.com"), undefined);
  });
});
