import type { FastifyInstance, FastifyRequest } from "fastify";
import * as z from "zod";
import { AuditQuery, PasswordReset, UsageQuery, UserPatch, type AuditList, type UserList, type UserUsageList, type UserUsageRow } from "../../shared/auth";
import { parseOrThrow } from "../api/ApiError";
import type { AccountService, Actor } from "./AccountService";

export interface AdminRoutesDeps {
  accounts: AccountService;
  /** The admin (or owner) making the request; throws 401/403 for anyone else. */
  admin(request: FastifyRequest): Actor;
  /** Writes the gateway's pending usage aggregates, so a report includes the last seconds. */
  flushUsage(): void;
}

const ById = z.object({ id: z.string().min(1).max(100) });

/** User management, usage by user and the audit log: for admins on the shared listener, for the owner on loopback. */
export function registerAdminRoutes(app: FastifyInstance, deps: AdminRoutesDeps): void {
  const { accounts } = deps;

  app.get("/api/users", async (request): Promise<UserList> => {
    deps.admin(request);
    return { users: accounts.list(), pending: accounts.pendingCount() };
  });

  app.patch("/api/users/:id", async (request) => {
    const actor = deps.admin(request);
    const { id } = parseOrThrow(ById, request.params);
    return accounts.update(actor, id, parseOrThrow(UserPatch, request.body ?? {}, "body"));
  });

  app.delete("/api/users/:id", async (request) => {
    const actor = deps.admin(request);
    return accounts.delete(actor, parseOrThrow(ById, request.params).id);
  });

  app.post("/api/users/:id/password", async (request) => {
    const actor = deps.admin(request);
    const { id } = parseOrThrow(ById, request.params);
    return accounts.resetPassword(actor, id, parseOrThrow(PasswordReset, request.body ?? {}, "body").password);
  });

  app.get("/api/audit", async (request): Promise<AuditList> => {
    deps.admin(request);
    const query = parseOrThrow(AuditQuery, request.query, "query");
    return { events: accounts.auditEvents(query.limit ?? 200, query.before) };
  });

  app.get("/api/usage/users", async (request): Promise<UserUsageList> => {
    deps.admin(request);
    deps.flushUsage();
    return { rows: accounts.usage(parseOrThrow(UsageQuery, request.query, "query")) };
  });

  app.get("/api/usage/users.csv", async (request, reply) => {
    deps.admin(request);
    deps.flushUsage();
    const rows = accounts.usage(parseOrThrow(UsageQuery, request.query, "query"));
    return reply
      .type("text/csv; charset=utf-8")
      .header("content-disposition", 'attachment; filename="usage-by-user.csv"')
      .send(usageCsv(rows));
  });
}

/** The usage rows as CSV (RFC 4180), with cells that a spreadsheet would run as formulas defused. */
export function usageCsv(rows: readonly UserUsageRow[]): string {
  const header = ["day", "user_id", "email", "model", "requests", "errors", "prompt_tokens", "completion_tokens"];
  const lines = [header.join(",")];
  for (const r of rows) {
    lines.push([r.day, r.userId, r.email, r.profileName, r.requests, r.errors, r.promptTokens, r.completionTokens].map(csvCell).join(","));
  }
  return `${lines.join("\r\n")}\r\n`;
}

function csvCell(value: string | number): string {
  if (typeof value === "number") return String(value);
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n']/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}
