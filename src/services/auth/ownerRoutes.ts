import type { FastifyInstance } from "fastify";
import { Credentials, SharedStart, type SharedStatus, type UserInfo } from "../../shared/auth";
import { parseOrThrow } from "../api/ApiError";
import type { AccountService, Actor } from "./AccountService";
import { registerAdminRoutes } from "./accountRoutes";
import type { SharedListener } from "./SharedListener";

export interface OwnerRoutesDeps {
  accounts: AccountService;
  shared: SharedListener;
  /** Makes a new JWT secret (signs everyone out). */
  rotateSecret(): void;
  flushUsage(): void;
}

/**
 * Shared mode's routes on the loopback API (the local token's owner): the first admin, opening
 * and closing the shared listener, rotating the secret, and the same user management admins have.
 */
export function registerOwnerRoutes(app: FastifyInstance, deps: OwnerRoutesDeps): void {
  const owner = (ip: string): Actor => ({ kind: "owner", ip });

  app.get("/api/shared", async (): Promise<SharedStatus> => deps.shared.status());

  app.post("/api/shared/start", async (request): Promise<SharedStatus> => {
    const options = parseOrThrow(SharedStart, request.body ?? {}, "body");
    const status = await deps.shared.start(options);
    deps.accounts.audit("shared_start", owner(request.ip), { target: status.url ?? "", tls: status.tls });
    return status;
  });

  app.post("/api/shared/stop", async (request): Promise<SharedStatus> => {
    const status = await deps.shared.stop();
    deps.accounts.audit("shared_stop", owner(request.ip));
    return status;
  });

  app.post("/api/shared/rotate-secret", async (request) => {
    deps.rotateSecret();
    deps.accounts.audit("secret_rotate", owner(request.ip));
    return { rotated: true };
  });

  app.post("/api/users/first-admin", async (request, reply) => {
    const body = parseOrThrow(Credentials, request.body ?? {}, "body");
    const user: UserInfo = await deps.accounts.createFirstAdmin(body.email, body.password, owner(request.ip));
    return reply.code(201).send(user);
  });

  registerAdminRoutes(app, { accounts: deps.accounts, admin: (request) => owner(request.ip), flushUsage: () => { deps.flushUsage(); } });
}
