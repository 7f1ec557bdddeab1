import crypto from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { ApiKeyCreated, UserPatch } from "../../shared/auth";
import { ApiError } from "../api/ApiError";
import { usageCsv } from "./accountRoutes";
import type { Actor, UserRecord } from "./AccountService";
import { TOKEN_TTL_MS } from "./TokenService";
import { loginWithLimits, type SharedAccess } from "./SharedAccess";

import {
  STYLESHEET,
  accountPage,
  adminAuditPage,
  adminUsagePage,
  adminUsersPage,
  errorPage,
  loginPage,
  registerPage,
  waitingPage,
  type PageContext,
} from "./webPages";

export interface WebRoutesDeps {
  access: SharedAccess;
  /** TLS is on: cookies get the Secure flag. */
  secure: boolean;
  flushUsage(): void;
  ip(request: FastifyRequest): string;
}

export const SESSION_COOKIE = "mlx_session";
export const CSRF_COOKIE = "mlx_csrf";

/** No scripts at all; styles and images only from this server; forms post only here; never framed. */
export const PAGE_CSP = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const USER_ACTIONS: Record<string, UserPatch | "delete"> = {
  approve: { status: "approved" },
  disable: { status: "disabled" },
  enable: { status: "approved" },
  promote: { role: "admin" },
  demote: { role: "user" },
  delete: "delete",
};

/**
 * The web pages: /login, /register, /account and /admin/*. A browser can't send an Authorization
 * header on navigation, so pages use an HttpOnly SameSite=Strict session cookie (the JWT) and
 * every form carries a CSRF token (double submit: a random HttpOnly cookie and the same value
 * in the form).
 */
export function registerWebRoutes(app: FastifyInstance, deps: WebRoutesDeps): void {
  const { access } = deps;
  const cookieBase = { httpOnly: true, sameSite: "strict" as const, secure: deps.secure, path: "/" };

  /** The CSRF token of this browser, set when it has none yet. */
  const csrfOf = (request: FastifyRequest, reply: FastifyReply): string => {
    const existing = request.cookies[CSRF_COOKIE];
    if (existing !== undefined && /^[A-Za-z0-9_-]{43}$/.test(existing)) return existing;
    const token = crypto.randomBytes(32).toString("base64url");
    void reply.setCookie(CSRF_COOKIE, token, cookieBase);
    return token;
  };

  const checkCsrf = (request: FastifyRequest): boolean => {
    const cookie = request.cookies[CSRF_COOKIE];
    const sent = field(request, "csrf");
    if (cookie === undefined || sent.length !== cookie.length || sent.length === 0) return false;
    return crypto.timingSafeEqual(Buffer.from(sent), Buffer.from(cookie));
  };

  const sessionUser = async (request: FastifyRequest): Promise<UserRecord | undefined> => {
    const token = request.cookies[SESSION_COOKIE];
    if (token === undefined || token.length > 4096) return undefined;
    const user = await access.fromToken(token);
    return user?.status === "disabled" ? undefined : user;
  };

  const context = (request: FastifyRequest, reply: FastifyReply, title: string, user: UserRecord | undefined): PageContext => {
    const ctx: PageContext = { title, csrf: csrfOf(request, reply), path: request.url.split("?")[0] ?? "/" };
    if (user) {
      ctx.user = { id: user.id, email: user.email, role: user.role, status: user.status };
      if (user.role === "admin") ctx.pendingCount = access.accounts.pendingCount();
    }
    return ctx;
  };

  const html = (reply: FastifyReply, status: number, page: string): FastifyReply =>
    reply.code(status).type("text/html; charset=utf-8").header("content-security-policy", PAGE_CSP).send(page);

  const home = (user: UserRecord): string => (user.role === "admin" && user.status === "approved" ? "/admin/users" : "/account");

  /** A page for signed-in users: redirects to /login otherwise; checks CSRF on POST. */
  const page = (handler: (request: FastifyRequest, reply: FastifyReply, user: UserRecord) => Promise<FastifyReply>, options: { admin?: boolean } = {}) =>
    async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
      const user = await sessionUser(request);
      if (user === undefined) return reply.redirect("/login", 303);
      if (request.method === "POST" && !checkCsrf(request)) return html(reply, 403, errorPage(context(request, reply, "Not allowed", user), 403, "The form expired or came from another site. Reload the page and try again."));
      if (options.admin === true && (user.role !== "admin" || user.status !== "approved")) return html(reply, 403, errorPage(context(request, reply, "Not allowed", user), 403, "Only admins may open this page."));
      access.track(user.id, request.raw.socket);
      return handler(request, reply, user);
    };

  app.get("/assets/style.css", async (_request, reply) => reply.type("text/css; charset=utf-8").header("cache-control", "public, max-age=3600").send(STYLESHEET));

  app.get("/", async (request, reply) => {
    const user = await sessionUser(request);
    return reply.redirect(user ? home(user) : "/login", 303);
  });

  app.get("/login", async (request, reply) => {
    const user = await sessionUser(request);
    if (user) return reply.redirect(home(user), 303);
    return html(reply, 200, loginPage(context(request, reply, "Sign in", undefined)));
  });

  app.post("/login", async (request, reply) => {
    const email = field(request, "email");
    const ctx = context(request, reply, "Sign in", undefined);
    if (!checkCsrf(request)) return html(reply, 403, loginPage(ctx, { error: "The form expired. Please try again.", email }));
    try {
      const user = await loginWithLimits(access, email, field(request, "password"), deps.ip(request));
      const { token } = await access.tokens.issue(user);
      void reply.setCookie(SESSION_COOKIE, token, { ...cookieBase, maxAge: Math.floor(TOKEN_TTL_MS / 1000) });
      return await reply.redirect(home(user), 303);
    } catch (error) {
      if (!(error instanceof ApiError) || error.status >= 500) throw error;
      const retry = error.details?.["retryAfterSec"];
      if (typeof retry === "number") void reply.header("retry-after", String(retry));
      return await html(reply, error.status, loginPage(ctx, { error: error.message, email }));
    }
  });

  app.get("/register", async (request, reply) => html(reply, 200, registerPage(context(request, reply, "Ask for an account", undefined))));

  app.post("/register", async (request, reply) => {
    const email = field(request, "email");
    const ctx = context(request, reply, "Ask for an account", undefined);
    if (!checkCsrf(request)) return html(reply, 403, registerPage(ctx, { error: "The form expired. Please try again.", email }));
    const limited = access.registerByIp.hit(deps.ip(request));
    if (!limited.allowed) return html(reply.header("retry-after", String(limited.retryAfterSec)), 429, registerPage(ctx, { error: `Too many registrations from here: wait ${limited.retryAfterSec} s.`, email }));
    try {
      const user = await access.accounts.register(email, field(request, "password"), deps.ip(request));
      return await html(reply, 201, waitingPage({ ...ctx, title: "Waiting for approval" }, user.email));
    } catch (error) {
      if (!(error instanceof ApiError) || error.status >= 500) throw error;
      return await html(reply, error.status, registerPage(ctx, { error: error.message, email }));
    }
  });

  app.post("/logout", async (request, reply) => {
    const user = await sessionUser(request);
    if (user !== undefined && checkCsrf(request)) access.accounts.audit("logout", { kind: "user", user, ip: deps.ip(request) }, { target: user.id });
    void reply.clearCookie(SESSION_COOKIE, { path: "/" });
    return reply.redirect("/login", 303);
  });

  app.get("/account", page(async (request, reply, user) => html(reply, 200, accountPage(context(request, reply, "Account", user), access.accounts.listKeys(user.id)))));

  app.post("/account/keys", page(async (request, reply, user) => {
    const ctx = context(request, reply, "Account", user);
    if (user.status !== "approved") return html(reply, 403, accountPage(ctx, []));
    const name = field(request, "name").trim().slice(0, 100);
    if (name === "") return html(reply, 400, accountPage(ctx, access.accounts.listKeys(user.id), undefined, "Give the key a name."));
    const created: ApiKeyCreated = access.accounts.createKey(user, name, deps.ip(request));
    return html(reply, 201, accountPage(ctx, access.accounts.listKeys(user.id), created));
  }));

  app.post("/account/keys/:id/revoke", page(async (request, reply, user) => {
    const { id } = request.params as { id: string };
    access.accounts.revokeKey({ kind: "user", user, ip: deps.ip(request) }, id, user.id);
    return reply.redirect("/account", 303);
  }));

  app.get("/admin/users", page(async (request, reply, user) => html(reply, 200, adminUsersPage(context(request, reply, "Users", user), access.accounts.list())), { admin: true }));

  app.post("/admin/users/:id/:action", page(async (request, reply, user) => {
    const { id, action } = request.params as { id: string; action: string };
    const actor: Actor = { kind: "user", user, ip: deps.ip(request) };
    let message: { kind: "error" | "notice"; text: string };
    try {
      if (action === "password") {
        const target = await access.accounts.resetPassword(actor, id, field(request, "password"));
        message = { kind: "notice", text: `New password set for ${target.email}; their sessions ended.` };
      } else {
        const change = USER_ACTIONS[action];
        if (change === undefined) throw new ApiError(404, "not_found", `No action "${action}".`);
        const target = change === "delete" ? access.accounts.delete(actor, id) : access.accounts.update(actor, id, change);
        message = { kind: "notice", text: `${target.email}: ${action === "delete" ? "deleted" : `${target.status}, ${target.role}`}.` };
      }
    } catch (error) {
      if (!(error instanceof ApiError) || error.status >= 500) throw error;
      message = { kind: "error", text: error.message };
    }
    // The admin may have just demoted or disabled themself: show what they may still see.
    const still = await sessionUser(request);
    if (still === undefined) return reply.redirect("/login", 303);
    if (still.role !== "admin") return reply.redirect("/account", 303);
    return html(reply, message.kind === "error" ? 409 : 200, adminUsersPage(context(request, reply, "Users", still), access.accounts.list(), message));
  }, { admin: true }));

  app.get("/admin/usage", page(async (request, reply, user) => {
    deps.flushUsage();
    return html(reply, 200, adminUsagePage(context(request, reply, "Usage", user), access.accounts.usage({})));
  }, { admin: true }));

  app.get("/admin/usage.csv", page(async (_request, reply) => {
    deps.flushUsage();
    return reply.type("text/csv; charset=utf-8").header("content-disposition", 'attachment; filename="usage-by-user.csv"').send(usageCsv(access.accounts.usage({})));
  }, { admin: true }));

  app.get("/admin/audit", page(async (request, reply, user) => html(reply, 200, adminAuditPage(context(request, reply, "Audit log", user), access.accounts.auditEvents(300))), { admin: true }));
}

/** A form field as one string ('' when absent; the first of repeated ones). */
function field(request: FastifyRequest, name: string): string {
  const body = request.body;
  if (typeof body !== "object" || body === null) return "";
  const value = (body as Record<string, unknown>)[name];
  const first = Array.isArray(value) ? (value as unknown[])[0] : value;
  return typeof first === "string" ? first.slice(0, 4096) : "";
}
