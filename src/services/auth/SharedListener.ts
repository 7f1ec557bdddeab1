import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import fastifyCookie from "@fastify/cookie";
import fastifyFormbody from "@fastify/formbody";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import * as z from "zod";
import { ApiKeyCreate, Credentials, PasswordChange, type LoginResult, type SharedStart, type SharedStatus, type UserInfo } from "../../shared/auth";
import type { PublicServerInfo, ServerInfo } from "../../shared/servers";
import { ApiError, parseOrThrow } from "../api/ApiError";
import { toApiError } from "../api/server";
import { writeFileAtomicSync } from "../fs/atomicWrite";
import { registerGatewayRoutes } from "../gateway/gatewayRoutes";
import type { RequestQueues } from "../gateway/RequestQueues";
import type { ResponseStore } from "../gateway/ResponseStore";
import { ENGINES } from "../engines/registry";
import { dialectOf, errorBody, presentedCredential } from "../gateway/dialect";
import { GatewayError } from "../gateway/openAiError";
import type { UsageMeter } from "../gateway/UsageMeter";
import type { Logger } from "../logging/Logger";
import type { ServerControl } from "../servers/ServerDirectory";
import type { Profile } from "../../shared/profiles";
import { userInfo, type Actor, type UserRecord } from "./AccountService";
import { registerAdminRoutes } from "./accountRoutes";
import { DEFAULT_LIMITS, loginWithLimits, rateLimited, type Principal, type SharedAccess } from "./SharedAccess";
import { registerWebRoutes } from "./webRoutes";

export interface SharedListenerDeps {
  access: SharedAccess;
  /** Local and remote servers (ServerFleet). */
  supervisor: ServerControl;
  profiles: { list(): Profile[] };
  meter: UsageMeter;
  logger: Logger;
  /** Where a generated self-signed certificate is kept (so its fingerprint stays the same across restarts). */
  tlsDir: string;
  /** Told when the listener opens or closes. */
  onStatus?: (status: SharedStatus) => void;
  /** Kept Responses API answers, each visible only to the user who made it. */
  responses?: ResponseStore;
  /** The gateway's per-server queues, shared with the loopback listener's gateway. */
  queues?: RequestQueues;
}

/** JSON bodies of the shared listener's own routes (the /v1 gateway caps its bodies itself). */
const API_BODY_LIMIT = 64 * 1024;
/** A request must arrive whole within this (slow-client protection); answers may stream longer. */
const REQUEST_TIMEOUT_MS = 30_000;
const HEADERS_TIMEOUT_MS = 10_000;

/** Routes anyone may call on the shared listener. */
const PUBLIC_API = new Set(["POST /api/auth/login", "POST /api/auth/register"]);
/** Routes a pending user may call (to learn they are pending). */
const PENDING_API = new Set(["GET /api/auth/me"]);

interface Running {
  app: FastifyInstance;
  status: SharedStatus;
}

/**
 * Shared mode's second listener: teammates sign in (JWT or API key; session cookie for the web
 * pages) and use the models through /v1. It serves only what a teammate may do; everything that
 * decides what runs on the Mac stays on the loopback API.
 */
export class SharedListener {
  private running: Running | undefined;
  private readonly log: Logger;
  /** Who each request is, set by the onRequest hook. */
  private readonly principals = new WeakMap<FastifyRequest, Principal>();

  constructor(private readonly deps: SharedListenerDeps) {
    this.log = deps.logger.child({ part: "shared" });
  }

  status(): SharedStatus {
    const { accounts } = this.deps.access;
    const base = { hasAdmin: accounts.hasAdmin(), pendingUsers: accounts.pendingCount() };
    return this.running === undefined ? { enabled: false, tls: false, ...base } : { ...this.running.status, ...base };
  }

  /** Opens the listener. Refused until an approved admin exists (made by the owner over loopback). */
  async start(options: SharedStart): Promise<SharedStatus> {
    if (!this.deps.access.accounts.hasAdmin()) {
      throw new ApiError(409, "conflict", "Create the first admin account before sharing: POST /api/users/first-admin (mlx-manager share asks for it).", undefined, { reason: "no_admin" });
    }
    if (this.running !== undefined) await this.stop();
    const tls = await this.loadTls(options);
    const app = this.build(options, tls !== undefined);
    const host = options.host ?? "0.0.0.0";
    // Fastify's types want the https options at construction; the listener is created there.
    await app.listen({ host, port: options.port });
    const address = app.server.address();
    const port = typeof address === "object" && address ? address.port : options.port;
    const scheme = tls ? "https" : "http";
    const urlOf = (address: string): string => `${scheme}://${address.includes(":") ? `[${address}]` : address}:${port}`;
    const urls = host === "0.0.0.0" || host === "::" ? interfaceAddresses(host === "::") : [host];
    const lan = urls.find((a) => !a.startsWith("127.") && a !== "::1");
    const status: SharedStatus = {
      enabled: true,
      url: urlOf(lan ?? urls[0] ?? "127.0.0.1"),
      urls: urls.map(urlOf),
      host,
      port,
      tls: tls !== undefined,
      hasAdmin: true,
      pendingUsers: 0,
    };
    if (tls) {
      status.fingerprint = tls.fingerprint;
      status.selfSigned = tls.selfSigned;
    }
    this.running = { app, status };
    this.log.info("shared listener open", { url: status.url, tls: status.tls });
    if (!status.tls) this.log.warn("shared listener without TLS: passwords and tokens cross the network in clear text");
    this.deps.onStatus?.(this.status());
    return this.status();
  }

  async stop(): Promise<SharedStatus> {
    const running = this.running;
    this.running = undefined;
    if (running) {
      await running.app.close().catch(() => undefined);
      this.log.info("shared listener closed");
      this.deps.onStatus?.(this.status());
    }
    return this.status();
  }

  /** The Fastify instance (for tests of the routes without a socket). */
  private build(options: SharedStart, tls: boolean): FastifyInstance {
    const tlsFiles = this.pendingTls;
    this.pendingTls = undefined;
    const app = Fastify({
      logger: false,
      bodyLimit: API_BODY_LIMIT,
      return503OnClosing: true,
      forceCloseConnections: true,
      requestTimeout: REQUEST_TIMEOUT_MS,
      connectionTimeout: 0,
      keepAliveTimeout: 5_000,
      trustProxy: false,
      ...(tlsFiles ? { https: { cert: tlsFiles.cert, key: tlsFiles.key, minVersion: "TLSv1.2" as const } } : {}),
    } as Parameters<typeof Fastify>[0]) as unknown as FastifyInstance;
    app.server.headersTimeout = HEADERS_TIMEOUT_MS;
    const { access } = this.deps;
    const corsOrigins = new Set(options.corsOrigins ?? []);
    access.requestsByUser.setLimit(options.requestsPerMinute ?? DEFAULT_LIMITS.requestsPerMinute);
    access.loginByAccount.setLimit(options.limits?.loginFailuresPerAccount ?? DEFAULT_LIMITS.loginFailuresPerAccount);
    access.loginByIp.setLimit(options.limits?.loginFailuresPerIp ?? DEFAULT_LIMITS.loginFailuresPerIp);
    access.registerByIp.setLimit(options.limits?.registrationsPerIp ?? DEFAULT_LIMITS.registrationsPerIp);

    void app.register(fastifyCookie);
    void app.register(fastifyFormbody, { bodyLimit: 16 * 1024 });

    app.addHook("onRequest", async (request, reply) => {
      void reply.headers({
        "x-content-type-options": "nosniff",
        "referrer-policy": "no-referrer",
        "x-frame-options": "DENY",
        "cross-origin-opener-policy": "same-origin",
        "cross-origin-resource-policy": "same-origin",
        "cache-control": "no-store",
      });
      if (tls) void reply.header("strict-transport-security", "max-age=31536000");
      const path = request.url.split("?")[0] ?? "";
      const origin = request.headers.origin;
      const isApi = path.startsWith("/api/") || path === "/v1" || path.startsWith("/v1/");
      if (isApi && origin !== undefined && corsOrigins.has(origin)) {
        void reply.headers({ "access-control-allow-origin": origin, vary: "origin", "access-control-allow-headers": "authorization, content-type, x-api-key, anthropic-version, anthropic-beta", "access-control-allow-methods": "GET, POST, PATCH, DELETE", "access-control-max-age": "600" });
        if (request.method === "OPTIONS") {
          await reply.code(204).send();
          return;
        }
      }
      if (path === "/v1" || path.startsWith("/v1/")) {
        await this.guardV1(request, reply);
        return;
      }
      if (path.startsWith("/api/")) {
        // The API takes JSON only: a cross-site HTML form cannot post it there.
        const type = request.headers["content-type"];
        if (type !== undefined && !/^application\/json\b/i.test(type)) {
          await reply.code(415).send(new ApiError(415, "bad_request", "Send JSON with content-type: application/json.").toBody());
          return;
        }
        await this.guardApi(request, reply, path);
      }
    });

    app.setNotFoundHandler(async (request, reply) => {
      await reply.code(404).send(new ApiError(404, "not_found", `No route ${request.method} ${request.url.split("?")[0] ?? ""} on the shared listener.`).toBody());
    });
    app.setErrorHandler(async (error: unknown, request, reply) => {
      const apiError = toApiError(error);
      if (apiError.status >= 500) this.log.error("shared request failed", { method: request.method, url: request.url.split("?")[0], error: String(error) });
      if (typeof apiError.details?.["retryAfterSec"] === "number") void reply.header("retry-after", String(apiError.details["retryAfterSec"]));
      await reply.code(apiError.status).send(apiError.toBody());
    });

    this.registerAuthRoutes(app);
    registerAdminRoutes(app, {
      accounts: access.accounts,
      admin: (request) => this.adminActor(request),
      flushUsage: () => { this.deps.meter.flush(); },
    });
    this.registerServerRoutes(app);
    registerGatewayRoutes(app, {
      directory: this.deps.supervisor,
      meter: this.deps.meter,
      logger: this.deps.logger,
      engines: ENGINES,
      profiles: this.deps.profiles,
      ...(this.deps.responses ? { responses: this.deps.responses } : {}),
      ...(this.deps.queues ? { queues: this.deps.queues } : {}),
      authorize: async (request) => {
        const principal = this.principals.get(request);
        return principal?.user.status === "approved" ? { userId: principal.user.id } : undefined;
      },
    });
    registerWebRoutes(app, { access, secure: tls, flushUsage: () => { this.deps.meter.flush(); }, ip: (request) => request.ip });
    return app;
  }

  /** /v1: an approved user's JWT or API key, within the per-user rate; errors in the shape of the API the route speaks. */
  private async guardV1(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const principal = await this.deps.access.fromBearer(presentedCredential(request.headers));
    const dialect = dialectOf(request.url);
    const fail = async (error: GatewayError, headers: Record<string, string> = {}): Promise<void> => {
      await reply.code(error.status).headers(headers).send(errorBody(dialect, error));
    };
    if (principal === undefined) {
      await fail(new GatewayError(401, "Missing or invalid API key or token: send Authorization: Bearer <key or token> of an approved account.", "invalid_api_key"), { "www-authenticate": 'Bearer realm="mlx-manager"' });
      return;
    }
    if (principal.user.status === "pending") {
      await fail(new GatewayError(403, "Your account is waiting for an admin's approval.", "pending_approval"));
      return;
    }
    if (principal.user.status !== "approved") {
      await fail(new GatewayError(401, "This account is disabled.", "invalid_api_key"));
      return;
    }
    const rate = this.deps.access.requestsByUser.hit(principal.user.id);
    if (!rate.allowed) {
      await fail(new GatewayError(429, `Too many requests: wait ${rate.retryAfterSec} s.`, "rate_limit_exceeded"), { "retry-after": String(rate.retryAfterSec) });
      return;
    }
    this.deps.access.track(principal.user.id, request.raw.socket, principal.expiresAt);
    this.principals.set(request, principal);
  }

  /** /api: public routes, pending users' own route, else an approved user within the rate. */
  private async guardApi(request: FastifyRequest, reply: FastifyReply, path: string): Promise<void> {
    const route = `${request.method} ${path}`;
    if (PUBLIC_API.has(route)) return;
    const principal = await this.deps.access.fromBearer(request.headers.authorization);
    if (principal === undefined) {
      await reply.code(401).header("www-authenticate", 'Bearer realm="mlx-manager"').send(new ApiError(401, "unauthorized", "Sign in first: POST /api/auth/login, then send Authorization: Bearer <token>.").toBody());
      return;
    }
    if (principal.user.status === "disabled") {
      await reply.code(401).send(new ApiError(401, "unauthorized", "This account is disabled.").toBody());
      return;
    }
    if (principal.user.status === "pending" && !PENDING_API.has(route)) {
      await reply.code(403).send(new ApiError(403, "pending_approval", "Your account is waiting for an admin's approval.").toBody());
      return;
    }
    const rate = this.deps.access.requestsByUser.hit(principal.user.id);
    if (!rate.allowed) {
      await reply.code(429).header("retry-after", String(rate.retryAfterSec)).send(new ApiError(429, "rate_limited", `Too many requests: wait ${rate.retryAfterSec} s.`).toBody());
      return;
    }
    this.deps.access.track(principal.user.id, request.raw.socket, principal.expiresAt);
    this.principals.set(request, principal);
  }

  private user(request: FastifyRequest): UserRecord {
    const principal = this.principals.get(request);
    if (principal === undefined) throw new ApiError(401, "unauthorized", "Sign in first.");
    return principal.user;
  }

  private adminActor(request: FastifyRequest): Actor {
    const user = this.user(request);
    if (user.role !== "admin") throw new ApiError(403, "forbidden", "Only admins may do this.");
    return { kind: "user", user, ip: request.ip };
  }

  private registerAuthRoutes(app: FastifyInstance): void {
    const { access } = this.deps;
    const { accounts, tokens } = access;

    app.post("/api/auth/login", async (request): Promise<LoginResult> => {
      const body = parseOrThrow(Credentials, request.body ?? {}, "body");
      const user = await loginWithLimits(access, body.email, body.password, request.ip);
      const { token, expiresAt } = await tokens.issue(user);
      return { token, expiresAt, user: userInfo(user) };
    });

    app.post("/api/auth/register", async (request, reply) => {
      const limited = access.registerByIp.hit(request.ip);
      if (!limited.allowed) throw rateLimited(limited.retryAfterSec);
      const body = parseOrThrow(Credentials, request.body ?? {}, "body");
      const user = await accounts.register(body.email, body.password, request.ip);
      return reply.code(201).send({ user, message: "Your account is waiting for an admin's approval." });
    });

    app.get("/api/auth/me", async (request): Promise<{ user: UserInfo }> => ({ user: userInfo(this.user(request)) }));

    app.post("/api/auth/password", async (request): Promise<LoginResult> => {
      const user = this.user(request);
      const body = parseOrThrow(PasswordChange, request.body ?? {}, "body");
      await accounts.changePassword(user, body.currentPassword, body.newPassword, request.ip);
      const { token, expiresAt } = await tokens.issue(user);
      return { token, expiresAt, user: userInfo(user) };
    });

    app.get("/api/keys", async (request) => ({ keys: accounts.listKeys(this.user(request).id) }));
    app.post("/api/keys", async (request, reply) => {
      const user = this.user(request);
      const { name } = parseOrThrow(ApiKeyCreate, request.body ?? {}, "body");
      return reply.code(201).send(accounts.createKey(user, name, request.ip));
    });
    app.delete("/api/keys/:id", async (request) => {
      const user = this.user(request);
      const { id } = parseOrThrow(z.object({ id: z.string().min(1).max(100) }), request.params);
      return accounts.revokeKey({ kind: "user", user, ip: request.ip }, id, user.id);
    });
  }

  /** Users see which models run; admins also start and stop them. Nothing else of the supervisor is reachable. */
  private registerServerRoutes(app: FastifyInstance): void {
    const { supervisor } = this.deps;
    const ById = z.object({ id: z.string().min(1).max(200) });
    app.get("/api/servers", async (request) => {
      this.user(request);
      return { servers: supervisor.list().map(publicServer) };
    });
    for (const action of ["start", "stop"] as const) {
      app.post(`/api/servers/:id/${action}`, async (request, reply) => {
        const actor = this.adminActor(request);
        const { id } = parseOrThrow(ById, request.params);
        const signal = closedSignal(reply);
        const info = action === "start" ? await supervisor.start(id, signal) : await supervisor.stop(id, signal);
        this.deps.access.accounts.audit(action === "start" ? "server_start" : "server_stop", actor, { target: info.profileName });
        return publicServer(info);
      });
    }
  }

  private pendingTls: { cert: string; key: string } | undefined;

  /** Reads the user's certificate or makes (once) a self-signed one; returns its SHA-256 fingerprint. */
  private async loadTls(options: SharedStart): Promise<{ fingerprint: string; selfSigned: boolean } | undefined> {
    this.pendingTls = undefined;
    if (options.tls === undefined) return undefined;
    let cert: string;
    let key: string;
    let selfSigned = false;
    if ("certFile" in options.tls) {
      try {
        cert = fs.readFileSync(options.tls.certFile, "utf8");
        key = fs.readFileSync(options.tls.keyFile, "utf8");
      } catch (error) {
        throw new ApiError(400, "validation_failed", `tls: cannot read the certificate or key (${(error as NodeJS.ErrnoException).code ?? String(error)}).`, "tls");
      }
    } else {
      ({ cert, key } = await selfSignedCertificate(this.deps.tlsDir, options.host));
      selfSigned = true;
    }
    let fingerprint: string;
    try {
      fingerprint = new crypto.X509Certificate(cert).fingerprint256;
      crypto.createPrivateKey(key);
    } catch (error) {
      throw new ApiError(400, "validation_failed", `tls: not a PEM certificate and private key (${error instanceof Error ? error.message : String(error)}).`, "tls");
    }
    this.pendingTls = { cert, key };
    return { fingerprint, selfSigned };
  }
}

/** The machine's IPv4 addresses (and IPv6 ones when listening on ::), LAN ones first. */
function interfaceAddresses(v6: boolean): string[] {
  const found: string[] = [];
  for (const entries of Object.values(os.networkInterfaces())) {
    for (const entry of entries ?? []) {
      if (entry.family === "IPv4" || (v6 && !entry.address.startsWith("fe80"))) found.push(entry.address);
    }
  }
  return found.sort((a, b) => Number(a.startsWith("127.") || a === "::1") - Number(b.startsWith("127.") || b === "::1"));
}

/** What a teammate sees of a server: no command line, log path, upstream URL or log lines. */
function publicServer(info: ServerInfo): PublicServerInfo {
  const out: PublicServerInfo = { profileId: info.profileId, profileName: info.profileName, engine: info.engine, model: info.model, state: info.state, restarts: info.restarts };
  if (info.startedAt !== undefined) out.startedAt = info.startedAt;
  if (info.readyAt !== undefined) out.readyAt = info.readyAt;
  return out;
}

function closedSignal(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  reply.raw.once("close", () => {
    if (!reply.raw.writableFinished) controller.abort(new Error("the client closed the connection"));
  });
  return controller.signal;
}

/** The self-signed certificate of this data dir, made on first use (RSA 2048, 1 year; key file 0600). */
async function selfSignedCertificate(dir: string, host: string | undefined): Promise<{ cert: string; key: string }> {
  const certFile = path.join(dir, "self-signed.crt");
  const keyFile = path.join(dir, "self-signed.key");
  try {
    const cert = fs.readFileSync(certFile, "utf8");
    const key = fs.readFileSync(keyFile, "utf8");
    const x509 = new crypto.X509Certificate(cert);
    if (new Date(x509.validTo).getTime() > Date.now() + 7 * 24 * 3600_000) return { cert, key };
  } catch {
    // None yet (or unreadable, or expiring): make a new one below.
  }
  const { generate } = await import("selfsigned");
  const altNames: { type: 2 | 7; value?: string; ip?: string }[] = [{ type: 2, value: "localhost" }, { type: 7, ip: "127.0.0.1" }];
  if (host !== undefined && host !== "0.0.0.0" && host !== "::") altNames.push(/^[\d.]+$|:/.test(host) ? { type: 7, ip: host } : { type: 2, value: host });
  const pems = await generate([{ name: "commonName", value: "mlx-manager team server" }], {
    keySize: 2048,
    days: 365,
    algorithm: "sha256",
    extensions: [{ name: "subjectAltName", altNames }],
  } as Parameters<typeof generate>[1]);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileAtomicSync(keyFile, pems.private, 0o600);
  writeFileAtomicSync(certFile, pems.cert, 0o644);
  return { cert: pems.cert, key: pems.private };
}
