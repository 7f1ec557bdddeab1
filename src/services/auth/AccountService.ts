import crypto from "node:crypto";
import type {
  ApiKeyCreated,
  ApiKeyInfo,
  AuditEvent,
  AuditEventType,
  UserInfo,
  UserPatch,
  UserRole,
  UserStatus,
  UserUsageRow,
} from "../../shared/auth";
import { ApiError } from "../api/ApiError";
import type { Logger } from "../logging/Logger";
import type { SqlParam, Statement } from "../store/Store";
import { hashPassword, normaliseEmail, passwordProblem, verifyPassword } from "./passwords";

/** What the accounts need of the manager's store. */
export interface AccountStore {
  run(sql: string, params?: SqlParam[]): void;
  batch(statements: Statement[]): void;
  all<T extends Record<string, unknown>>(sql: string, params?: SqlParam[]): T[];
}

/** A user as kept in memory: every request checks it, so it must not cost a query. */
export interface UserRecord {
  id: string;
  email: string;
  passwordHash: string;
  role: UserRole;
  status: UserStatus;
  tokenVersion: number;
  createdAt: number;
  updatedAt: number;
  lastLoginAt?: number;
}

/** Who asks for an account operation: the Mac's owner over loopback, or a signed-in user. */
export type Actor = { kind: "owner"; ip?: string } | { kind: "user"; user: UserRecord; ip?: string } | { kind: "anonymous"; ip?: string };

interface KeyRecord {
  id: string;
  userId: string;
  name: string;
  prefix: string;
  hash: string;
  createdAt: number;
  lastUsedAt?: number;
  revokedAt?: number;
}

export interface AccountServiceOptions {
  store: AccountStore;
  logger: Logger;
  now?: () => number;
  /** Called when a user's tokens stop being valid (disable, role or password change, delete). */
  onInvalidate?: (userId: string) => void;
  /** Called after accounts change (created, approved, disabled, deleted...), e.g. to update admins' pending badge. */
  onChange?: () => void;
  /** Called when a user is deleted, to delete what is kept for them elsewhere (their kept Responses). */
  onDelete?: (userId: string) => void;
  /** last_used_at of keys is written at most this often. Default 30 s. */
  keyFlushMs?: number;
}

export const API_KEY_PREFIX = "mlxk_";
/** Hashes at once at most; more logins wait their turn (argon2id takes 19 MiB and ~20 ms each). */
const MAX_CONCURRENT_HASHES = 4;
const MAX_QUEUED_HASHES = 64;

/**
 * Shared mode's accounts: users (argon2id passwords), their API keys (SHA-256), and the audit
 * log. Users and keys live in memory too, so authenticating a request never touches the store.
 */
export class AccountService {
  private readonly users = new Map<string, UserRecord>();
  private readonly byEmail = new Map<string, string>();
  private readonly keysByHash = new Map<string, KeyRecord>();
  private readonly keysById = new Map<string, KeyRecord>();
  private readonly dirtyKeys = new Set<string>();
  private readonly now: () => number;
  private readonly log: Logger;
  private readonly timer: NodeJS.Timeout;
  private hashing = 0;
  private readonly hashQueue: (() => void)[] = [];
  /** A real hash to verify against when the email is unknown, so timing does not tell which emails exist. */
  private dummyHash: Promise<string> | undefined;

  constructor(private readonly options: AccountServiceOptions) {
    this.now = options.now ?? Date.now;
    this.log = options.logger.child({ part: "accounts" });
    for (const row of options.store.all<Record<string, SqlParam>>("SELECT * FROM users")) {
      const user: UserRecord = {
        id: String(row["id"]),
        email: String(row["email"]),
        passwordHash: String(row["password_hash"]),
        role: row["role"] === "admin" ? "admin" : "user",
        status: row["status"] === "approved" ? "approved" : row["status"] === "disabled" ? "disabled" : "pending",
        tokenVersion: Number(row["token_version"]),
        createdAt: Number(row["created_at"]),
        updatedAt: Number(row["updated_at"]),
      };
      if (row["last_login_at"] !== null) user.lastLoginAt = Number(row["last_login_at"]);
      this.users.set(user.id, user);
      this.byEmail.set(user.email, user.id);
    }
    for (const row of options.store.all<Record<string, SqlParam>>("SELECT * FROM api_keys")) {
      const key: KeyRecord = {
        id: String(row["id"]),
        userId: String(row["user_id"]),
        name: String(row["name"]),
        prefix: String(row["prefix"]),
        hash: String(row["key_hash"]),
        createdAt: Number(row["created_at"]),
      };
      if (row["last_used_at"] !== null) key.lastUsedAt = Number(row["last_used_at"]);
      if (row["revoked_at"] !== null) key.revokedAt = Number(row["revoked_at"]);
      this.keysById.set(key.id, key);
      if (key.revokedAt === undefined) this.keysByHash.set(key.hash, key);
    }
    this.timer = setInterval(() => { this.flushKeyUse(); }, options.keyFlushMs ?? 30_000);
    this.timer.unref();
  }

  /** Writes pending last-used times; call before closing the store. */
  close(): void {
    clearInterval(this.timer);
    this.flushKeyUse();
  }

  // ------------------------------------------------------------------ users

  get(id: string): UserRecord | undefined {
    return this.users.get(id);
  }

  list(): UserInfo[] {
    return [...this.users.values()].sort((a, b) => a.createdAt - b.createdAt).map(userInfo);
  }

  /** Is there an approved admin (the shared listener opens only then)? */
  hasAdmin(): boolean {
    return [...this.users.values()].some((u) => u.role === "admin" && u.status === "approved");
  }

  pendingCount(): number {
    let count = 0;
    for (const user of this.users.values()) if (user.status === "pending") count++;
    return count;
  }

  /** The first account, made by the owner over loopback: an approved admin. 409 once any user exists. */
  async createFirstAdmin(emailInput: string, password: string, actor: Actor): Promise<UserInfo> {
    if (this.users.size > 0) throw new ApiError(409, "conflict", "An account exists already: the first admin is made only once. Manage users with the admin's account.");
    const user = await this.createUser(emailInput, password, "admin", "approved");
    this.audit("first_admin", actor, { target: user.id, targetEmail: user.email });
    this.options.onChange?.();
    return userInfo(user);
  }

  /** Registration over the LAN: a pending user until an admin approves. */
  async register(emailInput: string, password: string, ip: string | undefined): Promise<UserInfo> {
    const user = await this.createUser(emailInput, password, "user", "pending");
    this.audit("register", ip === undefined ? { kind: "user", user } : { kind: "user", user, ip }, { target: user.id });
    this.options.onChange?.();
    return userInfo(user);
  }

  /** Checks an email and password; the same 401 whether the email is unknown or the password wrong. */
  async authenticate(emailInput: string, password: string, ip: string | undefined): Promise<UserRecord> {
    const email = normaliseEmail(emailInput);
    const user = email === undefined ? undefined : this.users.get(this.byEmail.get(email) ?? "");
    const ok = await this.withHashSlot(async () => {
      if (user === undefined || password.length > 1024) {
        this.dummyHash ??= hashPassword(crypto.randomBytes(16).toString("hex"));
        await verifyPassword(await this.dummyHash, password.slice(0, 1024));
        return false;
      }
      return verifyPassword(user.passwordHash, password);
    });
    if (!ok || user === undefined) {
      this.audit("login_failed", ip === undefined ? { kind: "anonymous" } : { kind: "anonymous", ip }, user ? { target: user.id } : {});
      throw invalidCredentials();
    }
    if (user.status === "disabled") {
      this.audit("login_failed", { kind: "user", user, ...(ip === undefined ? {} : { ip }) }, { target: user.id, reason: "disabled" });
      throw new ApiError(403, "forbidden", "This account is disabled. Ask an admin of this server.");
    }
    user.lastLoginAt = this.now();
    this.options.store.run("UPDATE users SET last_login_at = ? WHERE id = ?", [user.lastLoginAt, user.id]);
    this.audit("login", { kind: "user", user, ...(ip === undefined ? {} : { ip }) }, { target: user.id });
    return user;
  }

  /** An admin (or the owner) changes a user's status or role. */
  update(actor: Actor, id: string, patch: UserPatch): UserInfo {
    const user = this.mustGet(id);
    const next = { role: patch.role ?? user.role, status: patch.status ?? user.status };
    if (next.role === user.role && next.status === user.status) return userInfo(user);
    if (user.role === "admin" && user.status === "approved" && (next.role !== "admin" || next.status !== "approved")) this.assertNotLastAdmin(user);
    const previous = { role: user.role, status: user.status };
    // Approving keeps the tokens a pending user holds; every other change signs the user out.
    const invalidates = next.role !== previous.role || !(previous.status === "pending" && next.status === "approved");
    user.role = next.role;
    user.status = next.status;
    user.updatedAt = this.now();
    if (invalidates) user.tokenVersion++;
    this.options.store.run("UPDATE users SET role = ?, status = ?, token_version = ?, updated_at = ? WHERE id = ?", [user.role, user.status, user.tokenVersion, user.updatedAt, user.id]);
    if (previous.status !== next.status) {
      this.audit(previous.status === "pending" && next.status === "approved" ? "approve" : "status_change", actor, { target: user.id, targetEmail: user.email, from: previous.status, to: next.status });
    }
    if (previous.role !== next.role) this.audit("role_change", actor, { target: user.id, targetEmail: user.email, from: previous.role, to: next.role });
    if (invalidates) this.options.onInvalidate?.(user.id);
    this.options.onChange?.();
    return userInfo(user);
  }

  /** Deletes a user and their keys (reject a pending registration, or remove an account). */
  delete(actor: Actor, id: string): UserInfo {
    const user = this.mustGet(id);
    if (user.role === "admin" && user.status === "approved") this.assertNotLastAdmin(user);
    this.options.store.batch([
      { sql: "DELETE FROM api_keys WHERE user_id = ?", params: [id] },
      { sql: "DELETE FROM users WHERE id = ?", params: [id] },
    ]);
    this.users.delete(id);
    this.byEmail.delete(user.email);
    for (const key of [...this.keysById.values()]) {
      if (key.userId !== id) continue;
      this.keysById.delete(key.id);
      this.keysByHash.delete(key.hash);
      this.dirtyKeys.delete(key.id);
    }
    this.audit("user_delete", actor, { target: id, targetEmail: user.email, status: user.status });
    this.options.onInvalidate?.(id);
    this.options.onDelete?.(id);
    this.options.onChange?.();
    return userInfo(user);
  }

  /** An admin sets a new password; the user's sessions end. */
  async resetPassword(actor: Actor, id: string, password: string): Promise<UserInfo> {
    const user = this.mustGet(id);
    await this.setPassword(user, password);
    this.audit("password_reset", actor, { target: user.id, targetEmail: user.email });
    return userInfo(user);
  }

  /** A user changes their own password (knowing the current one); their other sessions end. */
  async changePassword(user: UserRecord, current: string, next: string, ip: string | undefined): Promise<UserRecord> {
    const ok = await this.withHashSlot(() => verifyPassword(user.passwordHash, current));
    if (!ok) throw new ApiError(403, "forbidden", "currentPassword: that is not your current password.", "currentPassword");
    await this.setPassword(user, next);
    this.audit("password_change", { kind: "user", user, ...(ip === undefined ? {} : { ip }) }, { target: user.id });
    return user;
  }

  // ------------------------------------------------------------------ API keys

  /** A new key for `user`; the only time the key itself is returned. */
  createKey(user: UserRecord, name: string, ip: string | undefined): ApiKeyCreated {
    const key = API_KEY_PREFIX + crypto.randomBytes(32).toString("base64url");
    const record: KeyRecord = { id: crypto.randomUUID(), userId: user.id, name, prefix: key.slice(0, 12), hash: sha256(key), createdAt: this.now() };
    this.options.store.run("INSERT INTO api_keys (id, user_id, name, prefix, key_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)", [record.id, record.userId, record.name, record.prefix, record.hash, record.createdAt]);
    this.keysById.set(record.id, record);
    this.keysByHash.set(record.hash, record);
    this.audit("key_create", { kind: "user", user, ...(ip === undefined ? {} : { ip }) }, { target: record.id, name });
    return { ...keyInfo(record), key };
  }

  listKeys(userId: string): ApiKeyInfo[] {
    return [...this.keysById.values()].filter((k) => k.userId === userId).sort((a, b) => a.createdAt - b.createdAt).map(keyInfo);
  }

  /** Revokes a key of `ownerId` (a user's own; admins may pass any owner). */
  revokeKey(actor: Actor, keyId: string, ownerId: string | undefined): ApiKeyInfo {
    const key = this.keysById.get(keyId);
    if (key === undefined || (ownerId !== undefined && key.userId !== ownerId)) throw new ApiError(404, "not_found", `No API key "${keyId}" of yours.`);
    if (key.revokedAt === undefined) {
      key.revokedAt = this.now();
      this.keysByHash.delete(key.hash);
      this.options.store.run("UPDATE api_keys SET revoked_at = ? WHERE id = ?", [key.revokedAt, key.id]);
      this.audit("key_revoke", actor, { target: key.id, name: key.name, owner: key.userId });
    }
    return keyInfo(key);
  }

  /** The user a presented API key belongs to, or undefined. One SHA-256 and a map lookup. */
  userOfKey(presented: string): UserRecord | undefined {
    if (!presented.startsWith(API_KEY_PREFIX) || presented.length > 100) return undefined;
    const key = this.keysByHash.get(sha256(presented));
    if (key === undefined) return undefined;
    key.lastUsedAt = this.now();
    this.dirtyKeys.add(key.id);
    return this.users.get(key.userId);
  }

  // ------------------------------------------------------------------ audit and usage

  /** Records a security event. Callers pass ids, emails and plain facts, never secrets. */
  audit(type: AuditEventType, actor: Actor, details: Record<string, string | number | boolean> = {}): void {
    const { target, targetEmail, ...rest } = details;
    const merged: Record<string, string | number | boolean> = { ...rest };
    if (targetEmail !== undefined) merged["targetEmail"] = targetEmail;
    try {
      this.options.store.run("INSERT INTO audit_log (at, type, actor, actor_email, target, ip, details) VALUES (?, ?, ?, ?, ?, ?, ?)", [
        this.now(),
        type,
        actor.kind === "owner" ? "owner" : actor.kind === "user" ? actor.user.id : "",
        actor.kind === "user" ? actor.user.email : null,
        target === undefined ? null : String(target),
        actor.ip ?? null,
        Object.keys(merged).length === 0 ? null : JSON.stringify(merged),
      ]);
    } catch (error) {
      this.log.error("could not write the audit log", { type, error: String(error) });
    }
  }

  auditEvents(limit: number, before?: number): AuditEvent[] {
    const rows = this.options.store.all<Record<string, SqlParam>>(
      `SELECT * FROM audit_log ${before === undefined ? "" : "WHERE id < ?"} ORDER BY id DESC LIMIT ?`,
      before === undefined ? [limit] : [before, limit],
    );
    return rows.map((row) => {
      const event: AuditEvent = { id: Number(row["id"]), at: Number(row["at"]), type: String(row["type"]) as AuditEventType, actor: String(row["actor"]) };
      if (row["actor_email"] !== null) event.actorEmail = String(row["actor_email"]);
      if (row["target"] !== null) event.target = String(row["target"]);
      if (row["ip"] !== null) event.ip = String(row["ip"]);
      if (row["details"] !== null) event.details = JSON.parse(String(row["details"])) as Record<string, string | number | boolean>;
      return event;
    });
  }

  /** Per-user usage by model and UTC day, from the gateway's daily aggregates. */
  usage(query: { from?: string | undefined; to?: string | undefined; userId?: string | undefined }): UserUsageRow[] {
    const where: string[] = ["user_id <> ''"];
    const params: SqlParam[] = [];
    if (query.from !== undefined) { where.push("day >= ?"); params.push(query.from); }
    if (query.to !== undefined) { where.push("day <= ?"); params.push(query.to); }
    if (query.userId !== undefined) { where.push("user_id = ?"); params.push(query.userId); }
    const rows = this.options.store.all<Record<string, SqlParam>>(
      `SELECT day, user_id, profile_name, SUM(requests) AS requests, SUM(errors) AS errors, SUM(prompt_tokens) AS prompt, SUM(completion_tokens) AS completion
       FROM usage_daily WHERE ${where.join(" AND ")} GROUP BY day, user_id, profile_name ORDER BY day DESC, user_id, profile_name`,
      params,
    );
    return rows.map((row) => ({
      day: String(row["day"]),
      userId: String(row["user_id"]),
      email: this.users.get(String(row["user_id"]))?.email ?? "",
      profileName: String(row["profile_name"]),
      requests: Number(row["requests"]),
      errors: Number(row["errors"]),
      promptTokens: Number(row["prompt"]),
      completionTokens: Number(row["completion"]),
    }));
  }

  // ------------------------------------------------------------------ internals

  private async createUser(emailInput: string, password: string, role: UserRole, status: UserStatus): Promise<UserRecord> {
    const email = normaliseEmail(emailInput);
    if (email === undefined) throw new ApiError(400, "validation_failed", "email: enter an email address like name@example.com.", "email");
    const problem = passwordProblem(password, email);
    if (problem) throw new ApiError(400, "validation_failed", problem.message, problem.field);
    if (this.byEmail.has(email)) throw new ApiError(409, "conflict", "email: an account with this email exists already. Sign in instead.", "email");
    const passwordHash = await this.withHashSlot(() => hashPassword(password));
    // Checked again: another registration of the same email may have finished while we hashed.
    if (this.byEmail.has(email)) throw new ApiError(409, "conflict", "email: an account with this email exists already. Sign in instead.", "email");
    const now = this.now();
    const user: UserRecord = { id: crypto.randomUUID(), email, passwordHash, role, status, tokenVersion: 1, createdAt: now, updatedAt: now };
    this.options.store.run(
      "INSERT INTO users (id, email, password_hash, role, status, token_version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      [user.id, user.email, user.passwordHash, user.role, user.status, user.tokenVersion, user.createdAt, user.updatedAt],
    );
    this.users.set(user.id, user);
    this.byEmail.set(email, user.id);
    return user;
  }

  private async setPassword(user: UserRecord, password: string): Promise<void> {
    const problem = passwordProblem(password, user.email);
    if (problem) throw new ApiError(400, "validation_failed", problem.message, problem.field);
    const passwordHash = await this.withHashSlot(() => hashPassword(password));
    user.passwordHash = passwordHash;
    user.tokenVersion++;
    user.updatedAt = this.now();
    this.options.store.run("UPDATE users SET password_hash = ?, token_version = ?, updated_at = ? WHERE id = ?", [user.passwordHash, user.tokenVersion, user.updatedAt, user.id]);
    this.options.onInvalidate?.(user.id);
  }

  private mustGet(id: string): UserRecord {
    const user = this.users.get(id);
    if (user === undefined) throw new ApiError(404, "not_found", `No user "${id}".`);
    return user;
  }

  private assertNotLastAdmin(user: UserRecord): void {
    const others = [...this.users.values()].some((u) => u.id !== user.id && u.role === "admin" && u.status === "approved");
    if (!others) throw new ApiError(409, "conflict", "This is the last admin: promote another user to admin first.", undefined, { reason: "last_admin" });
  }

  /** Runs an argon2 operation when a slot is free; refuses when too many wait (a flood). */
  private async withHashSlot<T>(work: () => Promise<T>): Promise<T> {
    if (this.hashing >= MAX_CONCURRENT_HASHES) {
      if (this.hashQueue.length >= MAX_QUEUED_HASHES) throw new ApiError(503, "unavailable", "Too many sign-ins at once; try again in a moment.", undefined, { retryAfterSec: 1 });
      await new Promise<void>((resolve) => this.hashQueue.push(resolve));
    } else this.hashing++;
    try {
      return await work();
    } finally {
      const next = this.hashQueue.shift();
      if (next) next();
      else this.hashing--;
    }
  }

  private flushKeyUse(): void {
    if (this.dirtyKeys.size === 0) return;
    const statements: Statement[] = [];
    for (const id of this.dirtyKeys) {
      const key = this.keysById.get(id);
      if (key?.lastUsedAt !== undefined) statements.push({ sql: "UPDATE api_keys SET last_used_at = ? WHERE id = ?", params: [key.lastUsedAt, id] });
    }
    this.dirtyKeys.clear();
    try {
      if (statements.length > 0) this.options.store.batch(statements);
    } catch (error) {
      this.log.warn("could not save API key use times", { error: String(error) });
    }
  }
}

export function userInfo(user: UserRecord): UserInfo {
  const info: UserInfo = { id: user.id, email: user.email, role: user.role, status: user.status, createdAt: user.createdAt, updatedAt: user.updatedAt };
  if (user.lastLoginAt !== undefined) info.lastLoginAt = user.lastLoginAt;
  return info;
}

function keyInfo(key: KeyRecord): ApiKeyInfo {
  const info: ApiKeyInfo = { id: key.id, name: key.name, prefix: key.prefix, createdAt: key.createdAt };
  if (key.lastUsedAt !== undefined) info.lastUsedAt = key.lastUsedAt;
  if (key.revokedAt !== undefined) info.revokedAt = key.revokedAt;
  return info;
}

function sha256(text: string): string {
  return crypto.createHash("sha256").update(text).digest("hex");
}

export function invalidCredentials(): ApiError {
  return new ApiError(401, "unauthorized", "Wrong email or password.");
}
