import * as z from "zod";

// Remote backends: OpenAI-compatible servers on other machines (another manager's team server,
// LM Studio, Ollama, vLLM, LiteLLM) that the gateway routes to like its own servers. The key a
// backend wants is kept in a 0600 file of the data dir and never appears in any of these shapes.

/**
 * What a backend is: any OpenAI-compatible server (`openai`), or an exo cluster (`exo`): no
 * authentication, its nodes and placed instances read from `/state`, a model served only once an
 * explicit Start has placed it.
 */
export const RemoteKind = z.enum(["openai", "exo"]);
export type RemoteKind = z.infer<typeof RemoteKind>;

/** A node of an exo cluster and its memory. */
export interface RemoteNode {
  id: string;
  ramTotalBytes: number;
  ramAvailableBytes: number;
}

/** A model placed on an exo cluster, and whether its runners are ready. */
export interface RemoteInstance {
  id: string;
  model: string;
  state: "loading" | "ready" | "failed";
  nodes: string[];
  error?: string;
}

/** How an exo model is placed: exo's sharding, instance kind and least number of nodes. */
export const RemotePlacement = z
  .object({
    sharding: z.enum(["Pipeline", "Tensor"]),
    instanceMeta: z.enum(["MlxRing", "MlxJaccl"]),
    minNodes: z.int().min(1).max(64),
  })
  .strict();
export type RemotePlacement = z.infer<typeof RemotePlacement>;

/** One of exo's placement previews for a model: where it would go and what each node gives, or why it does not fit. */
export interface RemotePlacementPreview extends RemotePlacement {
  /** Bytes each node would hold; empty when it does not fit. */
  nodes: { id: string; bytes: number }[];
  error?: string;
}

/** `GET /api/remotes/:id/previews?model=`. */
export interface RemotePlacementList {
  model: string;
  previews: RemotePlacementPreview[];
}

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
  /** exo: its nodes and their memory, and the models placed on it. */
  nodes?: RemoteNode[];
  instances?: RemoteInstance[];
}

/** A remote backend as the API shows it (`GET /api/remotes`): never its key. */
export interface RemoteBackend {
  id: string;
  name: string;
  kind: RemoteKind;
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
  /** It answers as an exo cluster does (GET /node_id). */
  exo: boolean;
  /** exo: it has no authentication and allows every origin; what the user must know (and, for a public address, accept). */
  noAuthWarning?: string;
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
    /** Default `openai`; the probe says when it is exo. */
    kind: RemoteKind.optional(),
    /** exo at an address that is neither loopback nor private: the user read that it has no authentication and goes on. */
    acceptNoAuth: z.boolean().optional(),
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
