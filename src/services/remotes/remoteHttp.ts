import crypto from "node:crypto";
import http from "node:http";
import https from "node:https";
import net from "node:net";
import tls from "node:tls";

// How the manager reaches a remote backend: plain http, https verified by the system's CAs, or
// https that trusts exactly one certificate the user confirmed (a team server's self-signed one).
// The pin is checked during the handshake, before any header (the key) is sent.

/** A certificate pinned after the user confirmed its fingerprint. */
export interface CertificatePin {
  certPem: string;
  /** SHA-256, AA:BB:… */
  fingerprint: string;
}

/** What a connection to a backend needs besides its URL. */
export interface RemoteAccess {
  /** The backend's base URL: the key goes there and nowhere else. */
  url: string;
  pin: CertificatePin | undefined;
  /** `Bearer <key>`, or undefined for a backend without a key. Never logged. */
  authorization: string | undefined;
  /** Changes when the key or the pin does: pooled connections of an older one are not reused. */
  generation: string;
}

export class CertificateChangedError extends Error {
  readonly code = "CERT_CHANGED";
  constructor(url: string, pinned: string, presented: string) {
    super(`The TLS certificate of ${url} changed: pinned ${pinned}, presented ${presented}. This can be an attack; if its owner made a new certificate, check the fingerprint with them and pin it with \`mlx-manager remotes trust NAME --fingerprint …\`.`);
    this.name = "CertificateChangedError";
  }
}

/** TLS options that trust exactly the pinned certificate (chain built on it, fingerprint compared). */
export function pinnedTlsOptions(url: string, pin: CertificatePin): Pick<https.RequestOptions, "ca" | "rejectUnauthorized" | "checkServerIdentity"> {
  return {
    ca: pin.certPem,
    rejectUnauthorized: true,
    // A team server's certificate names localhost and the host it was made for; a LAN address may
    // differ, so identity is the pinned fingerprint rather than the name.
    checkServerIdentity: (_host, cert) => (cert.fingerprint256 === pin.fingerprint ? undefined : new CertificateChangedError(url, pin.fingerprint, cert.fingerprint256)),
  };
}

/** The certificate an https server presents, and whether the system's CAs trust it. */
export function presentedCertificate(url: URL, signal: AbortSignal, timeoutMs = 10_000): Promise<{ pin: CertificatePin; trusted: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: url.hostname, port: Number(url.port || 443), ...(net.isIP(url.hostname) ? {} : { servername: url.hostname }), rejectUnauthorized: false }, () => {
      const der = socket.getPeerCertificate().raw;
      const trusted = socket.authorized;
      socket.end();
      const x509 = new crypto.X509Certificate(der);
      resolve({ pin: { certPem: x509.toString(), fingerprint: x509.fingerprint256 }, trusted });
    });
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no TLS answer from ${url.host} within ${Math.round(timeoutMs / 1000)} s`)));
    socket.once("error", reject);
    const onAbort = (): void => {
      socket.destroy(signal.reason instanceof Error ? signal.reason : new Error("aborted"));
    };
    signal.addEventListener("abort", onAbort, { once: true });
    socket.once("close", () => {
      signal.removeEventListener("abort", onAbort);
    });
  });
}

/** Whether a host name is this machine (127.0.0.0/8, ::1, localhost). */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** One small GET to a backend (its /v1/models), with the key and the pin; the body is read whole. */
export function remoteGet(url: string, access: RemoteAccess, signal: AbortSignal, timeoutMs: number): Promise<{ status: number; text: string }> {
  return remoteRequest("GET", url, access, signal, timeoutMs);
}

/** One small request to a backend, with the key (if any) and the pin; a JSON body; the answer read whole. */
export function remoteRequest(method: string, url: string, access: RemoteAccess, signal: AbortSignal, timeoutMs: number, body?: string): Promise<{ status: number; text: string }> {
  const target = new URL(url);
  const secure = target.protocol === "https:";
  const headers: http.OutgoingHttpHeaders = { accept: "application/json" };
  if (access.authorization !== undefined) headers["authorization"] = access.authorization;
  if (body !== undefined) {
    headers["content-type"] = "application/json";
    headers["content-length"] = Buffer.byteLength(body);
  }
  return new Promise((resolve, reject) => {
    const request = (secure ? https : http).request(target, {
      method,
      headers,
      agent: false,
      signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
      ...(secure && access.pin !== undefined ? pinnedTlsOptions(url, access.pin) : {}),
    });
    request.once("response", (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      response.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size <= 8 * 1024 * 1024) chunks.push(chunk);
      });
      response.once("end", () => {
        resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") });
      });
      response.once("error", reject);
    });
    request.once("error", reject);
    request.end(body);
  });
}
