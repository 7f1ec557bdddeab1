import { z } from "zod";

// Remote backends: OpenAI-compatible servers on other machines (another manager's team server,
// LM Studio, Ollama, vLLM, LiteLLM) that the gateway routes to like its own servers. The key a
// backend wants is kept in a 0600 file of the data dir and never appears in any of these shapes.

/** How a backend's last health check went. */
export type RemoteHealthState = "unknown" | "healthy" | "unreachable" | "key_refused" | "certificate_changed";

/** A model a backend lists on its /v1/models. */
export interface RemoteModel {
  id: string;
  ownedBy?: string;
}

export interface RemoteHealth {
  state: RemoteHealthState;
  /** Epoch ms of the last check. */
  checkedAt?: number;
  /** Round trip of the last check's /v1/models, in ms. */
  latencyMs?: number;
  /** What went wrong, for people. */
  error?: string;
  /** What the backend listed at the last good check. */
  models: RemoteModel[];
}

/** A remote backend as the API shows it (`GET /api/remotes`): never its key. */
export interface RemoteBackend {
  id: string;
  name: string;
  /** The base URL, without a trailing `/v1` (requests go to `<url>/v1/...`). */
  url: string;
  /** The pinned certificate's SHA-256 fingerprint (AA:BB:…), for an https backend the system's CAs do not trust. */
  fingerprint: string | null;
  /** Plain http to another machine, which the user accepted after the warning. */
  plainHttp: boolean;
  /** A key is kept for it (the key itself is never shown). */
  hasKey: boolean;
  createdAt: number;
  updatedAt: number;
  health: RemoteHealth;
}

/** `POST /api/remotes/probe`: what the manager sees at a URL before the user adds it. */
export interface RemoteProbe {
  url: string;
  /** https: the certificate presented, and whether the system's CAs trust it. */
  tls: { fingerprint: string; trusted: boolean } | null;
  /** The host is this machine. */
  loopback: boolean;
  /** Plain http to another machine: what the user must accept first. */
  plainHttpWarning?: string;
}

const Url = z.string().trim().min(1, "url: give the backend's base URL, e.g. https://studio.local:1234/v1").max(2000);
const Key = z.string().min(1, "apiKey: empty; leave it out for a backend without a key").max(4096).regex(/^[\x21-\x7e]+$/, "apiKey: printable characters without spaces");
const Fingerprint = z.string().regex(/^([0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2}$/, "fingerprint: SHA-256 as AA:BB:… (32 pairs), as `mlx-manager share` prints it");
const Name = z
  .string()
  .trim()
  .min(1, "name: a backend needs a name")
  .max(64, "name: at most 64 characters")
  .regex(/^[\p{L}\p{N}][\p{L}\p{N} ._-]*$/u, "name: letters, digits, spaces, '.', '_' and '-', starting with a letter or digit");

export const RemoteProbeInput = z.object({ url: Url }).strict();

/** `POST /api/remotes`. */
export const RemoteBackendInput = z
  .object({
    name: Name,
    url: Url,
    apiKey: Key.optional(),
    /** The fingerprint the user confirmed (required for a certificate the system does not trust). */
    fingerprint: Fingerprint.optional(),
    /** Plain http to another machine: the user read the warning and goes on. */
    acceptPlainHttp: z.boolean().optional(),
  })
  .strict();
export type RemoteBackendInput = z.input<typeof RemoteBackendInput>;

/** `PATCH /api/remotes/:id`: a new name, a new key (null removes it), a new certificate confirmed. */
export const RemoteBackendPatch = z
  .object({
    name: Name.optional(),
    apiKey: Key.nullable().optional(),
    fingerprint: Fingerprint.optional(),
  })
  .strict();
export type RemoteBackendPatch = z.input<typeof RemoteBackendPatch>;

/** `GET /api/remotes`. */
export interface RemoteBackendList {
  remotes: RemoteBackend[];
}
