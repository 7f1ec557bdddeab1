import crypto from "node:crypto";
import fs from "node:fs";
import type { FastifyInstance } from "fastify";
import type { GatewayKeyInfo } from "../../shared/gatewayKey";
import type { EventBus } from "../events/EventBus";
import { writeFileAtomicSync } from "../fs/atomicWrite";
import type { Logger } from "../logging/Logger";
import { bearerMatches } from "./auth";

/** Recognisable in a terminal's environment or a leaked file: "this is the MLX manager's /v1 key". */
const PREFIX = "mlxgw_";
const MIN_LENGTH = PREFIX.length + 43;

/**
 * The local gateway key: 32 random bytes made at first use, kept in the data directory
 * (`gateway-key`, mode 0600, written atomically). The loopback listener accepts it on `/v1/*`
 * only, so a terminal or a tool can reach the models without holding the admin token.
 * It is never logged and never sent in an event.
 */
export class GatewayKeyStore {
  private current: { key: string; createdAt: number } | undefined;

  constructor(
    readonly file: string,
    private readonly logger: Logger,
  ) {
    this.current = this.read();
  }

  /** The key, made now if there is none yet. */
  get(): GatewayKeyInfo {
    this.current ??= this.write("created");
    return { ...this.current, file: this.file };
  }

  /** A new key; the old one stops working at once. */
  rotate(): GatewayKeyInfo {
    this.current = this.write("rotated");
    return { ...this.current, file: this.file };
  }

  /** Whether an `Authorization` header carries the current key (constant time). False while no key exists. */
  matches(header: string | undefined): boolean {
    return this.current !== undefined && bearerMatches(header, this.current.key);
  }

  private read(): { key: string; createdAt: number } | undefined {
    try {
      const key = fs.readFileSync(this.file, "utf8").trim();
      if (!key.startsWith(PREFIX) || key.length < MIN_LENGTH) {
        this.logger.warn("gateway key file is not a key; a new one is made at first use", { file: this.file });
        return undefined;
      }
      const stat = fs.statSync(this.file);
      if (process.platform !== "win32" && (stat.mode & 0o077) !== 0) fs.chmodSync(this.file, 0o600);
      return { key, createdAt: Math.round(stat.mtimeMs) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      return undefined;
    }
  }

  private write(what: "created" | "rotated"): { key: string; createdAt: number } {
    const key = PREFIX + crypto.randomBytes(32).toString("base64url");
    writeFileAtomicSync(this.file, key, 0o600);
    this.logger.info(`gateway key ${what}`, { file: this.file });
    return { key, createdAt: Date.now() };
  }
}

/** `GET /api/gateway-key` and `POST /api/gateway-key/rotate`: loopback and the local token only (the API's auth hook). */
export function registerGatewayKeyRoutes(app: FastifyInstance, deps: { keys: GatewayKeyStore; events: EventBus }): void {
  app.get("/api/gateway-key", async (_request, reply): Promise<GatewayKeyInfo> => {
    void reply.header("cache-control", "no-store");
    return deps.keys.get();
  });
  app.post("/api/gateway-key/rotate", async (_request, reply): Promise<GatewayKeyInfo> => {
    const info = deps.keys.rotate();
    deps.events.publish({ type: "gatewayKey.rotated", data: { createdAt: info.createdAt } });
    void reply.header("cache-control", "no-store");
    return info;
  });
}

/** Whether the gateway key may open this request: routes under `/v1/` only (by the matched route, not the raw URL). */
export function gatewayKeyMayOpen(routeUrl: string | undefined, rawUrl: string): boolean {
  if (routeUrl !== undefined) return routeUrl === "/v1" || routeUrl.startsWith("/v1/");
  // No route matched: only the /v1 scope's own 404 answers, which reveals nothing.
  const path = rawUrl.split("?")[0] ?? "";
  return path.startsWith("/v1/") && !path.includes("..") && !path.includes("%");
}
