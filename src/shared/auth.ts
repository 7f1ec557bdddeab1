// Shared mode: accounts, tokens, API keys, per-user usage and the audit log.
import * as z from "zod";

export const UserRole = z.enum(["admin", "user"]);
export type UserRole = z.infer<typeof UserRole>;

/** pending → approved → disabled, and back (an admin may move a user between any two). */
export const UserStatus = z.enum(["pending", "approved", "disabled"]);
export type UserStatus = z.infer<typeof UserStatus>;

/** A user as the API shows it (never the password hash). */
export interface UserInfo {
  id: string;
  email: string;
  role: UserRole;
  status: UserStatus;
  createdAt: number;
  updatedAt: number;
  lastLoginAt?: number;
}

/** Emails are compared by their normalised form; a generous cap keeps bodies and rows small. */
export const EmailInput = z.string().min(3).max(254);
export const PasswordInput = z.string().min(1).max(1024);

/** `POST /api/auth/login`, `POST /api/auth/register`, `POST /api/users/first-admin`. */
export const Credentials = z.object({ email: EmailInput, password: PasswordInput }).strict();
export type Credentials = z.infer<typeof Credentials>;

/** `POST /api/auth/login` answer. */
export interface LoginResult {
  token: string;
  /** Epoch ms. */
  expiresAt: number;
  user: UserInfo;
}

/** `POST /api/auth/password`. */
export const PasswordChange = z.object({ currentPassword: PasswordInput, newPassword: PasswordInput }).strict();
export type PasswordChange = z.infer<typeof PasswordChange>;

/** `PATCH /api/users/:id`: an admin changes a user's status or role. */
export const UserPatch = z.object({ status: UserStatus.optional(), role: UserRole.optional() }).strict();
export type UserPatch = z.infer<typeof UserPatch>;

/** `POST /api/users/:id/password`: an admin sets a new password. */
export const PasswordReset = z.object({ password: PasswordInput }).strict();

/** `GET /api/users`. */
export interface UserList {
  users: UserInfo[];
  pending: number;
}

/** An API key as listed (the key itself is shown once, at creation). */
export interface ApiKeyInfo {
  id: string;
  name: string;
  /** The first characters, so a user can tell keys apart. */
  prefix: string;
  createdAt: number;
  lastUsedAt?: number;
  revokedAt?: number;
}

export const ApiKeyCreate = z.object({ name: z.string().trim().min(1).max(100) }).strict();

/** `POST /api/keys` answer: the only time the key is shown. */
export interface ApiKeyCreated extends ApiKeyInfo {
  key: string;
}

export interface ApiKeyList {
  keys: ApiKeyInfo[];
}

/** One row of per-user usage: a user, a model (profile) and a UTC day. */
export interface UserUsageRow {
  day: string;
  userId: string;
  /** '' when the user was deleted since, or for the local owner. */
  email: string;
  profileName: string;
  requests: number;
  errors: number;
  promptTokens: number;
  completionTokens: number;
}

export interface UserUsageList {
  rows: UserUsageRow[];
}

export const UsageQuery = z
  .object({
    from: z.string().regex(/^\d{4}-\d{2}-\d{2}$/).optional(),
    to: z.string().regex(/^\d{4}-\d{2}-\d{2}$/).optional(),
    userId: z.string().max(100).optional(),
  })
  .strict();

export const AuditEventType = z.enum([
  "first_admin",
  "register",
  "login",
  "login_failed",
  "login_rate_limited",
  "logout",
  "approve",
  "status_change",
  "role_change",
  "password_change",
  "password_reset",
  "user_delete",
  "key_create",
  "key_revoke",
  "secret_rotate",
  "shared_start",
  "shared_stop",
  "server_start",
  "server_stop",
  "profile_change",
]);
export type AuditEventType = z.infer<typeof AuditEventType>;

/** A security event. Never holds passwords, tokens or keys. */
export interface AuditEvent {
  id: number;
  at: number;
  type: AuditEventType;
  /** Who did it: a user id, "owner" for the local owner, or "" when anonymous. */
  actor: string;
  actorEmail?: string;
  /** Whom or what it was done to (a user id, a key id, a profile). */
  target?: string;
  ip?: string;
  details?: Record<string, string | number | boolean>;
}

export interface AuditList {
  events: AuditEvent[];
}

export const AuditQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(1000).optional(),
    before: z.coerce.number().int().min(1).optional(),
  })
  .strict();

/** `POST /api/shared/start`: open the second listener. */
export const SharedStart = z
  .object({
    port: z.number().int().min(0).max(65535),
    host: z.string().min(1).max(255).optional(),
    tls: z
      .union([
        z.object({ certFile: z.string().min(1).max(4096), keyFile: z.string().min(1).max(4096) }).strict(),
        z.object({ selfSigned: z.literal(true) }).strict(),
      ])
      .optional(),
    /** Browser origins allowed to call the API with CORS (default: none). */
    corsOrigins: z.array(z.url().max(300)).max(20).optional(),
    /** /v1 requests per user per minute (default 120). */
    requestsPerMinute: z.number().int().min(1).max(100_000).optional(),
    /** Failed sign-ins per account and per IP per minute (default 5 and 20), registrations per IP per 10 minutes (default 5). */
    limits: z
      .object({
        loginFailuresPerAccount: z.number().int().min(1).max(100_000).optional(),
        loginFailuresPerIp: z.number().int().min(1).max(100_000).optional(),
        registrationsPerIp: z.number().int().min(1).max(100_000).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();
export type SharedStart = z.infer<typeof SharedStart>;

/** `GET /api/shared`. */
export interface SharedStatus {
  enabled: boolean;
  /** The URL to give teammates (a LAN address when listening on every interface). */
  url?: string;
  /** Every URL it answers on (one per interface address). */
  urls?: string[];
  host?: string;
  port?: number;
  tls: boolean;
  /** SHA-256 of the certificate (DER), as AA:BB:...; teammates pin it. */
  fingerprint?: string;
  selfSigned?: boolean;
  /** Users exist? The listener opens only once a first admin does. */
  hasAdmin: boolean;
  pendingUsers: number;
}
