import type { IncomingMessage } from "node:http";
import https from "node:https";
import net from "node:net";
import { Readable } from "node:stream";
import tls from "node:tls";

/** A team server's self-signed certificate, pinned after the user confirmed its fingerprint. */
export interface TlsPin {
  certPem: string;
  /** SHA-256 of the certificate, AA:BB:… (what `mlx-manager share` prints). */
  fingerprint: string;
}

export class CertificateChangedError extends Error {
  constructor(url: string, pinned: string, presented: string) {
    super(
      `The TLS certificate of ${url} CHANGED: pinned ${pinned}, presented ${presented}. ` +
        "This can be an attack. If the server's owner really made a new certificate, check its fingerprint with them and run `mlx-manager login` again.",
    );
    this.name = "CertificateChangedError";
  }
}

/** The certificate an https server presents, and whether the system's CAs trust it. */
export function peerCertificate(url: string, signal?: AbortSignal): Promise<{ pin: TlsPin; trusted: boolean }> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: target.hostname, port: Number(target.port || 443), ...(net.isIP(target.hostname) ? {} : { servername: target.hostname }), rejectUnauthorized: false }, () => {
      const cert = socket.getPeerCertificate();
      const der = cert.raw;
      socket.end();
      const certPem = `-----BEGIN CERTIFICATE-----\n${der.toString("base64").replace(/(.{64})/g, "$1\n").replace(/\n$/, "")}\n-----END CERTIFICATE-----\n`;
      resolve({ pin: { certPem, fingerprint: cert.fingerprint256 }, trusted: socket.authorized });
    });
    socket.setTimeout(10_000, () => socket.destroy(new Error(`no TLS answer from ${target.host} within 10 s`)));
    socket.once("error", reject);
    signal?.addEventListener("abort", () => socket.destroy(signal.reason instanceof Error ? signal.reason : new Error("aborted")), { once: true });
  });
}

/**
 * One HTTPS request that trusts exactly the pinned certificate: the chain must verify against it
 * and its fingerprint must match, during the handshake, before any header (the token) is sent.
 */
export async function pinnedRequest(url: string, pin: TlsPin, init: PinnedInit): Promise<{ status: number; text: string }> {
  const response = await pinnedResponse(url, pin, init);
  const chunks: Buffer[] = [];
  for await (const chunk of response) chunks.push(chunk as Buffer);
  return { status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") };
}

/** The same, for a streamed answer (a chat's SSE): the status, and the body as a web stream. */
export async function pinnedStream(url: string, pin: TlsPin, init: PinnedInit): Promise<{ status: number; body: ReadableStream<Uint8Array> }> {
  const response = await pinnedResponse(url, pin, init);
  return { status: response.statusCode ?? 0, body: Readable.toWeb(response) as ReadableStream<Uint8Array> };
}

interface PinnedInit {
  method: string;
  headers: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
}

function pinnedResponse(url: string, pin: TlsPin, init: PinnedInit): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const request = https.request(
      url,
      {
        method: init.method,
        headers: init.body === undefined ? init.headers : { ...init.headers, "content-length": String(Buffer.byteLength(init.body)) },
        ca: pin.certPem,
        rejectUnauthorized: true,
        // The certificate names localhost and the host it was made for; a LAN address may differ,
        // so identity is the pinned fingerprint rather than the name.
        checkServerIdentity: (_host, cert) => (cert.fingerprint256 === pin.fingerprint ? undefined : new CertificateChangedError(url, pin.fingerprint, cert.fingerprint256)),
        agent: false,
        ...(init.signal ? { signal: init.signal } : {}),
      },
      resolve,
    );
    request.on("error", (error: NodeJS.ErrnoException) => {
      // A changed certificate fails the chain check first (it is not the pinned one): say so loudly.
      if (error.code === "DEPTH_ZERO_SELF_SIGNED_CERT" || error.code === "SELF_SIGNED_CERT_IN_CHAIN" || error.code === "UNABLE_TO_VERIFY_LEAF_SIGNATURE") {
        void peerCertificate(url).then(
          (now) => { reject(now.pin.fingerprint === pin.fingerprint ? error : new CertificateChangedError(url, pin.fingerprint, now.pin.fingerprint)); },
          () => { reject(error); },
        );
        return;
      }
      reject(error);
    });
    if (init.body !== undefined) request.write(init.body);
    request.end();
  });
}
