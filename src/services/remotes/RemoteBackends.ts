import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import * as z from "zod";
import {
  RemoteBackendInput,
  type RemoteInstance,
  type RemoteNode,
  type RemotePlacement,
  type RemotePlacementList,
  RemoteBackendPatch,
  RemoteProbeInput,
  type RemoteBackend,
  type RemoteHealth,
  type RemoteModel,
  type RemoteProbe,
} from "../../shared/remotes";
import { ApiError, parseOrThrow } from "../api/ApiError";
import type { EventBus } from "../events/EventBus";
import { writeFileAtomicSync } from "../fs/atomicWrite";
import type { Logger } from "../logging/Logger";
import { abortable } from "../servers/waiting";
import type { Store } from "../store/Store";
import { CertificateChangedError, isLoopbackHost, presentedCertificate, remoteGet, remoteRequest, type CertificatePin, type RemoteAccess } from "./remoteHttp";

interface BackendRow extends Record<string, unknown> {
  id: string;
  name: string;
  url: string;
  cert_pem: string | null;
  fingerprint: string | null;
  plain_http: number;
  kind: string;
  created_at: number;
  updated_at: number;
}

export interface RemoteBackendsOptions {
  store: Store;
  events: EventBus;
  logger: Logger;
  /** Where keys are kept, one 0600 file per backend: `<data dir>/remote-keys`. */
  keyDir: string;
  /** Health check interval of every backend. Default 15 s. */
  checkIntervalMs?: number;
  /** One check's time limit. Default 5 s. */
  checkTimeoutMs?: number;
  now?: () => number;
}

const ModelList = z.object({ data: z.array(z.looseObject({ id: z.string().min(1), owned_by: z.string().optional() })) });

/** exo's /instance/previews answer (api/types/api.py:280-291: snake_case). */
const PreviewList = z.object({
  previews: z.array(
    z.looseObject({
      sharding: z.enum(["Pipeline", "Tensor"]),
      instance_meta: z.enum(["MlxRing", "MlxJaccl"]),
      memory_delta_by_node: z.record(z.string(), z.number()).nullable(),
      error: z.string().nullish(),
    }),
  ),
});

const Tagged = z.record(z.string(), z.looseObject({}));
/** What the manager reads of exo's /state (camelCase, tagged `{"ClassName": {...}}`; shared/types/state.py). */
const ExoState = z.looseObject({
  topology: z.looseObject({ nodes: z.array(z.string()) }),
  nodeMemory: z.record(z.string(), z.looseObject({ ramTotal: z.looseObject({ inBytes: z.number() }), ramAvailable: z.looseObject({ inBytes: z.number() }) })),
  instances: z.record(z.string(), Tagged),
  runners: z.record(z.string(), Tagged),
});

/** Nodes and placed instances from exo's /state; undefined when it is not that. */
export function readExoState(value: unknown): { nodes: RemoteNode[]; instances: RemoteInstance[] } | undefined {
  const parsed = ExoState.safeParse(value);
  if (!parsed.success) return undefined;
  const state = parsed.data;
  const nodes = state.topology.nodes.map((id): RemoteNode => ({ id, ramTotalBytes: state.nodeMemory[id]?.ramTotal.inBytes ?? 0, ramAvailableBytes: state.nodeMemory[id]?.ramAvailable.inBytes ?? 0 }));
  const instances: RemoteInstance[] = [];
  for (const [id, tagged] of Object.entries(state.instances)) {
    const body = Object.values(tagged)[0] as { shardAssignments?: { modelId?: unknown; runnerToShard?: Record<string, unknown>; nodeToRunner?: Record<string, unknown> } } | undefined;
    const assignments = body?.shardAssignments;
    if (typeof assignments?.modelId !== "string") continue;
    const runnerIds = Object.keys(assignments.runnerToShard ?? {});
    const statuses = runnerIds.map((r) => {
      const runner = state.runners[r];
      const tag = runner === undefined ? "RunnerIdle" : (Object.keys(runner)[0] ?? "RunnerIdle");
      return { tag, error: runner?.[tag] === undefined ? undefined : (runner[tag] as { errorMessage?: unknown }).errorMessage };
    });
    const failed = statuses.find((s) => s.tag === "RunnerFailed");
    // Ready when every runner is (worker/plan.py:339-342).
    const ready = statuses.length > 0 && statuses.every((s) => s.tag === "RunnerReady" || s.tag === "RunnerRunning");
    instances.push({
      id,
      model: assignments.modelId,
      state: failed !== undefined ? "failed" : ready ? "ready" : "loading",
      nodes: Object.keys(assignments.nodeToRunner ?? {}),
      ...(failed !== undefined && typeof failed.error === "string" ? { error: failed.error } : {}),
    });
  }
  return { nodes, instances };
}

/** TLS errors of a certificate that does not chain to the pinned one. */
const TLS_VERIFY_CODES = new Set(["DEPTH_ZERO_SELF_SIGNED_CERT", "SELF_SIGNED_CERT_IN_CHAIN", "UNABLE_TO_VERIFY_LEAF_SIGNATURE", "UNABLE_TO_GET_ISSUER_CERT_LOCALLY", "CERT_SIGNATURE_FAILURE"]);

/** After a failure, probes come back sooner than the interval: 1, 2, 4, 8 s, … up to it. */
const FIRST_PROBE_MS = 1000;

/**
 * The remote backends: kept in the store (migration 8) with their pinned certificates; their keys in
 * 0600 files of the data dir, never in the store, an answer, an event or a log. Each is
 * health-checked on an interval (`GET /v1/models`, which also lists its models); one the gateway
 * found failing is probed back sooner, with back-off, until it answers again.
 */
export class RemoteBackends {
  private readonly health = new Map<string, RemoteHealth>();
  /** Keys as read from their files (undefined: none); only writeKey/removeKey change them. */
  private readonly keys = new Map<string, string | undefined>();
  private readonly probes = new Map<string, { timer: NodeJS.Timeout; delayMs: number }>();
  private readonly checking = new Map<string, Promise<RemoteBackend>>();
  private readonly closed = new AbortController();
  private interval: NodeJS.Timeout | undefined;
  private readonly now: () => number;
  private readonly log: Logger;

  constructor(private readonly options: RemoteBackendsOptions) {
    this.now = options.now ?? Date.now;
    this.log = options.logger.child({ part: "remotes" });
  }

  /** Checks every backend now and then on the interval. */
  start(): void {
    for (const row of this.rows()) void this.check(row.id).catch(() => undefined);
    this.interval = setInterval(() => {
      for (const row of this.rows()) if (!this.probes.has(row.id)) void this.check(row.id).catch(() => undefined);
    }, this.options.checkIntervalMs ?? 15_000);
    this.interval.unref();
  }

  close(): void {
    this.closed.abort();
    clearInterval(this.interval);
    for (const probe of this.probes.values()) clearTimeout(probe.timer);
    this.probes.clear();
  }

  list(): RemoteBackend[] {
    return this.rows().map((row) => this.view(row));
  }

  /** By id or name (case-insensitive). */
  find(idOrName: string): RemoteBackend | undefined {
    const row = this.row(idOrName);
    return row === undefined ? undefined : this.view(row);
  }

  get(idOrName: string): RemoteBackend {
    const found = this.find(idOrName);
    if (found === undefined) throw new ApiError(404, "not_found", `No remote backend "${idOrName}". See GET /api/remotes (\`mlx-manager remotes list\`).`);
    return found;
  }

  /** What connecting to a backend needs: the pin and the key. */
  access(id: string): RemoteAccess {
    const row = this.row(id);
    if (row === undefined) throw new ApiError(404, "not_found", `No remote backend "${id}".`);
    const key = this.readKey(row.id);
    return {
      url: row.url,
      pin: row.cert_pem !== null && row.fingerprint !== null ? { certPem: row.cert_pem, fingerprint: row.fingerprint } : undefined,
      authorization: key === undefined ? undefined : `Bearer ${key}`,
      generation: `${row.id}@${row.updated_at}`,
    };
  }

  /** What is at a URL, for the user to confirm before adding it: the certificate, and whether plain http crosses the network. */
  async probe(body: unknown, signal: AbortSignal): Promise<RemoteProbe> {
    const url = normalizeUrl(parseOrThrow(RemoteProbeInput, body, "body").url);
    const loopback = isLoopbackHost(url.hostname);
    const base = url.href.replace(/\/$/, "");
    const tls = url.protocol === "https:" ? await this.presented(url, signal) : undefined;
    // exo answers GET /node_id with a bare JSON string (exo/api/main.py); nothing is sent with it.
    const exo = await remoteGet(`${base}/node_id`, { url: base, pin: tls?.trusted === false ? tls.pin : undefined, authorization: undefined, generation: "probe" }, signal, 3000).then(
      (answer) => answer.status === 200 && typeof safeJson(answer.text) === "string",
      () => false,
    );
    return {
      url: base,
      tls: tls === undefined ? null : { fingerprint: tls.pin.fingerprint, trusted: tls.trusted },
      loopback,
      exo,
      ...(url.protocol === "http:" && !loopback && !exo ? { plainHttpWarning: plainHttpWarning(url) } : {}),
      ...(exo ? { noAuthWarning: noAuthWarning(url) } : {}),
    };
  }

  /** Adds a backend: a certificate the system does not trust only with its fingerprint confirmed, plain http to another machine only when accepted. */
  async add(body: unknown, signal: AbortSignal): Promise<RemoteBackend> {
    const input = parseOrThrow(RemoteBackendInput, body, "body");
    const url = normalizeUrl(input.url);
    if (this.row(input.name) !== undefined) throw new ApiError(409, "name_taken", `A remote backend named "${input.name}" already exists. Choose another name.`, "name");
    const kind = input.kind ?? "openai";
    if (kind === "exo") {
      // exo has no authentication: a key would be sent for nothing, and we never send credentials there.
      if (input.apiKey !== undefined) throw new ApiError(400, "no_auth", "exo has no authentication: it takes no key, and the manager sends it no credentials. Leave apiKey out.", "apiKey");
      if (!isPrivateHost(url.hostname) && input.acceptNoAuth !== true) throw new ApiError(400, "no_auth", `${noAuthWarning(url)} Send acceptNoAuth: true to go on (\`--accept-no-auth\`).`, "url");
    } else if (url.protocol === "http:" && !isLoopbackHost(url.hostname) && input.acceptPlainHttp !== true) {
      throw new ApiError(400, "plain_http", `${plainHttpWarning(url)} Send acceptPlainHttp: true to go on (\`--allow-http\`), or use https.`, "url");
    }
    const pin = url.protocol === "https:" ? await this.pinFor(url, input.fingerprint, signal) : undefined;
    const id = crypto.randomUUID();
    const at = this.now();
    if (input.apiKey !== undefined) this.writeKey(id, input.apiKey);
    try {
      this.options.store.run("INSERT INTO remote_backends (id, name, name_key, url, cert_pem, fingerprint, plain_http, kind, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
        id,
        input.name,
        nameKey(input.name),
        url.href.replace(/\/$/, ""),
        pin?.certPem ?? null,
        pin?.fingerprint ?? null,
        url.protocol === "http:" && !isLoopbackHost(url.hostname) ? 1 : 0,
        kind,
        at,
        at,
      ]);
    } catch (error) {
      this.removeKey(id);
      throw error;
    }
    this.log.info("remote backend added", { name: input.name, kind, url: url.origin, pinned: pin !== undefined, key: input.apiKey !== undefined });
    return this.check(id, signal);
  }

  /** Renames it, replaces or removes its key, or pins the certificate it presents now (with its fingerprint confirmed). */
  async update(idOrName: string, body: unknown, signal: AbortSignal): Promise<RemoteBackend> {
    const row = this.rowOrThrow(idOrName);
    const patch = parseOrThrow(RemoteBackendPatch, body, "body");
    if (patch.name !== undefined) {
      const other = this.row(patch.name);
      if (other !== undefined && other.id !== row.id) throw new ApiError(409, "name_taken", `A remote backend named "${patch.name}" already exists.`, "name");
    }
    if (row.kind === "exo" && typeof patch.apiKey === "string") throw new ApiError(400, "no_auth", "exo has no authentication: it takes no key.", "apiKey");
    const url = new URL(row.url);
    const pin = patch.fingerprint !== undefined ? await this.pinFor(url, patch.fingerprint, signal) : undefined;
    if (patch.apiKey === null) this.removeKey(row.id);
    else if (patch.apiKey !== undefined) this.writeKey(row.id, patch.apiKey);
    this.options.store.run("UPDATE remote_backends SET name = ?, name_key = ?, cert_pem = ?, fingerprint = ?, updated_at = ? WHERE id = ?", [
      patch.name ?? row.name,
      nameKey(patch.name ?? row.name),
      pin?.certPem ?? row.cert_pem,
      pin?.fingerprint ?? row.fingerprint,
      Math.max(this.now(), row.updated_at + 1),
      row.id,
    ]);
    this.log.info("remote backend changed", { name: patch.name ?? row.name, renamed: patch.name !== undefined, key: patch.apiKey === undefined ? "kept" : patch.apiKey === null ? "removed" : "replaced", pinned: pin !== undefined });
    return this.check(row.id, signal);
  }

  /** Removes a backend and its key; refused while profiles use it (`usedBy` names them). */
  remove(idOrName: string, usedBy: (backendId: string) => string[]): RemoteBackend {
    const row = this.rowOrThrow(idOrName);
    const users = usedBy(row.id);
    if (users.length > 0) throw new ApiError(409, "in_use", `Profiles use remote backend "${row.name}": ${users.map((n) => `"${n}"`).join(", ")}. Delete them first.`);
    const view = this.view(row);
    this.options.store.run("DELETE FROM remote_backends WHERE id = ?", [row.id]);
    this.removeKey(row.id);
    this.stopProbing(row.id);
    this.health.delete(row.id);
    this.log.info("remote backend removed", { name: row.name });
    this.options.events.publish({ type: "remote.removed", data: { id: row.id, name: row.name } });
    return view;
  }

  /** Checks a backend now (`GET <url>/v1/models` with its key); concurrent callers share one check. */
  check(idOrName: string, signal: AbortSignal = this.closed.signal): Promise<RemoteBackend> {
    const row = this.rowOrThrow(idOrName);
    let pending = this.checking.get(row.id);
    if (pending === undefined) {
      pending = this.runCheck(row).finally(() => this.checking.delete(row.id));
      this.checking.set(row.id, pending);
    }
    return signal === this.closed.signal ? pending : abortable(pending, signal);
  }

  /** The gateway met a failure of the backend (it did not answer, or refused): marked so, and probed back with back-off. */
  reportFailure(id: string, error: string): void {
    const row = this.row(id);
    if (row === undefined) return;
    const before = this.health.get(id);
    if (before?.state !== "unreachable") this.setHealth(row, { ...(before ?? { models: [] }), state: "unreachable", checkedAt: this.now(), error });
    this.probeBack(id);
  }

  private async runCheck(row: BackendRow): Promise<RemoteBackend> {
    const started = performance.now();
    const before = this.health.get(row.id) ?? { state: "unknown", models: [] };
    let next: RemoteHealth;
    try {
      if (row.kind === "exo") {
        next = await this.exoHealth(row, before);
        const current = this.row(row.id);
        if (current === undefined) return this.view(row);
        this.noteNodes(current, before, next);
        this.setHealth(current, next);
        if (next.state === "healthy") this.stopProbing(row.id);
        else this.probeBack(row.id);
        return this.view(current);
      }
      const answer = await remoteGet(`${row.url}/v1/models`, this.access(row.id), this.closed.signal, this.options.checkTimeoutMs ?? 5000);
      const latencyMs = Math.round(performance.now() - started);
      if (answer.status === 401 || answer.status === 403) {
        next = { state: "key_refused", checkedAt: this.now(), latencyMs, models: before.models, error: `${row.url} refused ${this.readKey(row.id) === undefined ? "a request without a key" : "the key"} (HTTP ${answer.status}). Set its key: MLX: Set Remote Backend Key, or \`mlx-manager remotes set-key ${row.name}\`.` };
      } else if (answer.status !== 200) {
        next = { state: "unreachable", checkedAt: this.now(), latencyMs, models: before.models, error: `${row.url}/v1/models answered HTTP ${answer.status}.` };
      } else {
        const list = ModelList.safeParse(safeJson(answer.text));
        next = list.success
          ? { state: "healthy", checkedAt: this.now(), latencyMs, models: list.data.data.map((m): RemoteModel => ({ id: m.id, ...(m.owned_by === undefined ? {} : { ownedBy: m.owned_by }) })) }
          : { state: "unreachable", checkedAt: this.now(), latencyMs, models: before.models, error: `${row.url}/v1/models did not answer with an OpenAI model list: is this an OpenAI-compatible server?` };
      }
    } catch (error) {
      const changed = await this.certificateChange(row, error);
      next = { state: changed !== undefined ? "certificate_changed" : "unreachable", checkedAt: this.now(), models: before.models, error: changed ?? `${row.url} is not answering (${describeError(error)}).` };
    }
    const current = this.row(row.id);
    if (current === undefined) return this.view(row);
    this.setHealth(current, next);
    if (next.state === "healthy") this.stopProbing(row.id);
    else if (next.state === "unreachable") this.probeBack(row.id);
    return this.view(current);
  }

  /** An exo cluster's health: its /state (nodes, memory, placed instances and their runners) and its /v1/models. */
  private async exoHealth(row: BackendRow, before: RemoteHealth): Promise<RemoteHealth> {
    const started = performance.now();
    const access = this.access(row.id);
    const timeout = this.options.checkTimeoutMs ?? 5000;
    const state = await remoteGet(`${row.url}/state`, access, this.closed.signal, timeout);
    const latencyMs = Math.round(performance.now() - started);
    const parsed = state.status === 200 ? readExoState(safeJson(state.text)) : undefined;
    if (parsed === undefined) return { state: "unreachable", checkedAt: this.now(), latencyMs, models: before.models, error: `${row.url}/state answered ${state.status === 200 ? "with something that is not exo's state" : `HTTP ${state.status}`}.` };
    const list = await remoteGet(`${row.url}/v1/models`, access, this.closed.signal, timeout).then((answer) => ModelList.safeParse(safeJson(answer.text)), () => undefined);
    const models = list?.success === true ? list.data.data.map((m): RemoteModel => ({ id: m.id, ...(m.owned_by === undefined ? {} : { ownedBy: m.owned_by }) })) : before.models;
    return { state: "healthy", checkedAt: this.now(), latencyMs, models, nodes: parsed.nodes, instances: parsed.instances };
  }

  /** Nodes that joined or left since the last check: a `remote.nodes` event. */
  private noteNodes(row: BackendRow, before: RemoteHealth, next: RemoteHealth): void {
    if (before.nodes === undefined || next.nodes === undefined) return;
    const was = new Set(before.nodes.map((n) => n.id));
    const now = new Set(next.nodes.map((n) => n.id));
    const joined = [...now].filter((id) => !was.has(id));
    const left = [...was].filter((id) => !now.has(id));
    if (joined.length === 0 && left.length === 0) return;
    this.log.info("exo nodes changed", { name: row.name, joined, left });
    this.options.events.publish({ type: "remote.nodes", data: { id: row.id, name: row.name, joined, left } });
  }

  /** exo's placement previews for a model: where each sharding would put it, and what each node would hold. */
  async previews(idOrName: string, model: string, signal: AbortSignal): Promise<RemotePlacementList> {
    const row = this.exoRow(idOrName);
    const answer = await this.exoCall(row, "GET", `/instance/previews?model_id=${encodeURIComponent(model)}`, undefined, signal);
    const parsed = PreviewList.safeParse(safeJson(answer.text));
    if (answer.status !== 200 || !parsed.success) throw new ApiError(answer.status === 400 ? 404 : 502, answer.status === 400 ? "remote_model_missing" : "remote_unreachable", `exo cluster "${row.name}" gave no placement previews for "${model}" (HTTP ${answer.status}${answer.status === 400 ? ": it does not know the model" : ""}).`);
    return {
      model,
      previews: parsed.data.previews.map((p) => ({
        sharding: p.sharding,
        instanceMeta: p.instance_meta,
        minNodes: Math.max(1, Object.keys(p.memory_delta_by_node ?? {}).length),
        nodes: Object.entries(p.memory_delta_by_node ?? {}).map(([id, bytes]) => ({ id, bytes })),
        ...(p.error === null || p.error === undefined ? {} : { error: p.error }),
      })),
    };
  }

  /** Places a model on an exo cluster (exo downloads it where it is missing); resolves once exo took the command. */
  async place(idOrName: string, model: string, placement: RemotePlacement, signal: AbortSignal): Promise<void> {
    const row = this.exoRow(idOrName);
    const body = JSON.stringify({ model_id: model, sharding: placement.sharding, instance_meta: placement.instanceMeta, min_nodes: placement.minNodes });
    const answer = await this.exoCall(row, "POST", "/place_instance", body, signal);
    if (answer.status !== 200) throw new ApiError(502, "remote_unreachable", `exo cluster "${row.name}" refused to place "${model}" (HTTP ${answer.status}: ${answer.text.slice(0, 300)}).`);
    this.log.info("placed a model on exo", { name: row.name, model, ...placement });
  }

  /** Deletes an instance from an exo cluster; one already gone is fine. */
  async deleteInstance(idOrName: string, instanceId: string, signal: AbortSignal): Promise<void> {
    const row = this.exoRow(idOrName);
    const answer = await this.exoCall(row, "DELETE", `/instance/${encodeURIComponent(instanceId)}`, undefined, signal);
    if (answer.status !== 200 && answer.status !== 404) throw new ApiError(502, "remote_unreachable", `exo cluster "${row.name}" did not delete instance ${instanceId} (HTTP ${answer.status}).`);
    this.log.info("deleted an exo instance", { name: row.name, instance: instanceId });
  }

  private exoRow(idOrName: string): BackendRow {
    const row = this.rowOrThrow(idOrName);
    if (row.kind !== "exo") throw new ApiError(400, "validation_failed", `Remote backend "${row.name}" is not an exo cluster.`);
    return row;
  }

  /** A call to exo's own API: never with credentials (exo has none). */
  private exoCall(row: BackendRow, method: "GET" | "POST" | "DELETE", path: string, body: string | undefined, signal: AbortSignal): Promise<{ status: number; text: string }> {
    return remoteRequest(method, `${row.url}${path}`, { ...this.access(row.id), authorization: undefined }, signal, this.options.checkTimeoutMs ?? 5000, body).catch((error: unknown) => {
      if (signal.aborted) throw error;
      throw new ApiError(502, "remote_unreachable", `exo cluster "${row.name}" (${row.url}) is not answering: ${describeError(error)}.`);
    });
  }

  /**
   * Why a pinned backend's TLS failed, when it is because it presents another certificate: a
   * different self-signed one fails the chain check before its fingerprint is compared.
   */
  private async certificateChange(row: BackendRow, error: unknown): Promise<string | undefined> {
    if (error instanceof CertificateChangedError) return error.message;
    const code = (error as { code?: unknown }).code;
    if (row.fingerprint === null || typeof code !== "string" || !TLS_VERIFY_CODES.has(code) || this.closed.signal.aborted) return undefined;
    try {
      const now = await presentedCertificate(new URL(row.url), this.closed.signal, 5000);
      return now.pin.fingerprint === row.fingerprint ? undefined : new CertificateChangedError(row.url, row.fingerprint, now.pin.fingerprint).message;
    } catch {
      return undefined;
    }
  }

  private setHealth(row: BackendRow, next: RemoteHealth): void {
    const before = this.health.get(row.id);
    this.health.set(row.id, next);
    // What a check found, without when and how fast: an exo cluster's nodes and instances count too.
    const found = (health: RemoteHealth | undefined): string => JSON.stringify(health === undefined ? null : [health.state, health.error, health.models, health.nodes, health.instances]);
    const changed = found(before) !== found(next);
    if (!changed) return;
    if (before?.state !== next.state) this.log.info("remote backend health", { name: row.name, state: next.state, ...(next.error === undefined ? {} : { error: next.error }) });
    this.options.events.publish({ type: "remote.changed", data: this.view(row) });
  }

  /** Probes a failing backend again after 1, 2, 4… s (up to the interval) until it answers. */
  private probeBack(id: string): void {
    if (this.probes.has(id) || this.closed.signal.aborted) return;
    const schedule = (delayMs: number): void => {
      if (this.closed.signal.aborted) return;
      const timer = setTimeout(() => {
        if (this.closed.signal.aborted) return;
        // A backend removed meanwhile throws in check(): a rejection here, not an uncaught throw.
        void Promise.resolve().then(() => this.check(id)).then(
          (view) => {
            if (view.health.state === "healthy" || this.row(id) === undefined) this.stopProbing(id);
            else schedule(Math.min(delayMs * 2, this.options.checkIntervalMs ?? 15_000));
          },
          () => {
            this.stopProbing(id);
          },
        );
      }, delayMs);
      timer.unref();
      this.probes.set(id, { timer, delayMs });
    };
    schedule(FIRST_PROBE_MS);
  }

  private stopProbing(id: string): void {
    const probe = this.probes.get(id);
    if (probe) clearTimeout(probe.timer);
    this.probes.delete(id);
  }

  /** The certificate to pin: the one presented now, if it matches the fingerprint given; none when the system trusts it and none was given. */
  private async pinFor(url: URL, fingerprint: string | undefined, signal: AbortSignal): Promise<CertificatePin | undefined> {
    const presented = await this.presented(url, signal);
    if (fingerprint === undefined) {
      if (presented.trusted) return undefined;
      throw new ApiError(400, "certificate_unconfirmed", `${url.host} presents a certificate this machine does not trust, with SHA-256 fingerprint ${presented.pin.fingerprint}. Check it with the server's owner (\`mlx-manager share\` prints it) and send it as fingerprint to pin it.`, "fingerprint", { presented: presented.pin.fingerprint });
    }
    if (fingerprint.toUpperCase() !== presented.pin.fingerprint.toUpperCase()) {
      throw new ApiError(400, "certificate_mismatch", `${url.host} presents a certificate with fingerprint ${presented.pin.fingerprint}, not the ${fingerprint} you confirmed. Do not go on unless its owner confirms the new one.`, "fingerprint", { presented: presented.pin.fingerprint });
    }
    return presented.pin;
  }

  private async presented(url: URL, signal: AbortSignal): Promise<{ pin: CertificatePin; trusted: boolean }> {
    try {
      return await presentedCertificate(url, signal);
    } catch (error) {
      if (signal.aborted) throw error;
      throw new ApiError(502, "remote_unreachable", `Could not open TLS to ${url.host}: ${describeError(error)}. Is the address right, and does it serve https?`, "url");
    }
  }

  private view(row: BackendRow): RemoteBackend {
    return {
      id: row.id,
      name: row.name,
      kind: row.kind === "exo" ? "exo" : "openai",
      url: row.url,
      fingerprint: row.fingerprint,
      plainHttp: row.plain_http === 1,
      hasKey: this.readKey(row.id) !== undefined,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
      health: structuredClone(this.health.get(row.id) ?? { state: "unknown", models: [] }),
    };
  }

  private rows(): BackendRow[] {
    return this.options.store.all<BackendRow>("SELECT * FROM remote_backends ORDER BY name_key");
  }

  private row(idOrName: string): BackendRow | undefined {
    return this.options.store.get<BackendRow>("SELECT * FROM remote_backends WHERE id = ? OR name_key = ?", [idOrName, nameKey(idOrName)]);
  }

  private rowOrThrow(idOrName: string): BackendRow {
    const row = this.row(idOrName);
    if (row === undefined) throw new ApiError(404, "not_found", `No remote backend "${idOrName}". See GET /api/remotes (\`mlx-manager remotes list\`).`);
    return row;
  }

  private keyFile(id: string): string {
    return path.join(this.options.keyDir, id);
  }

  /** The backend's key: read from its file once, then kept in memory (every relayed request needs it). */
  private readKey(id: string): string | undefined {
    if (this.keys.has(id)) return this.keys.get(id);
    let key: string | undefined;
    try {
      key = fs.readFileSync(this.keyFile(id), "utf8").trim() || undefined;
    } catch {
      key = undefined;
    }
    this.keys.set(id, key);
    return key;
  }

  private writeKey(id: string, key: string): void {
    fs.mkdirSync(this.options.keyDir, { recursive: true, mode: 0o700 });
    writeFileAtomicSync(this.keyFile(id), key, 0o600);
    this.keys.set(id, key);
  }

  private removeKey(id: string): void {
    fs.rmSync(this.keyFile(id), { force: true });
    this.keys.set(id, undefined);
  }
}

/** A base URL as kept: http(s), no credentials, query or fragment, without a trailing slash or `/v1`. */
export function normalizeUrl(given: string): URL {
  let url: URL;
  try {
    url = new URL(given);
  } catch {
    throw new ApiError(400, "validation_failed", `"${given}" is not a URL: give the backend's base URL, e.g. https://studio.local:1234/v1.`, "url");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new ApiError(400, "validation_failed", `A remote backend is reached over http or https, not ${url.protocol}`, "url");
  if (url.username !== "" || url.password !== "") throw new ApiError(400, "validation_failed", "Put the key in apiKey, not in the URL: a URL is shown and logged, a key never.", "url");
  if (url.search !== "" || url.hash !== "") throw new ApiError(400, "validation_failed", "A base URL has no query or fragment.", "url");
  url.pathname = url.pathname.replace(/\/+$/, "").replace(/\/v1$/, "") || "/";
  return url;
}

function noAuthWarning(url: URL): string {
  return `exo at ${url.host} has no authentication and allows every origin: anyone who can reach it can use its models and place new ones (which makes it download them), and any web page you open can call it. Keep it on loopback or a private network.`;
}

/** Loopback, or a private network address (10/8, 172.16/12, 192.168/16, 169.254/16, fc00::/7, fe80::/10, *.local). */
export function isPrivateHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  if (isLoopbackHost(host) || host.endsWith(".local")) return true;
  const v4 = /^(\d+)\.(\d+)\.\d+\.\d+$/.exec(host);
  if (v4) {
    const [a, b] = [Number(v4[1]), Number(v4[2])];
    return a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 169 && b === 254);
  }
  return /^f[cd][0-9a-f]{2}:/.test(host) || /^fe[89ab][0-9a-f]:/.test(host);
}

function plainHttpWarning(url: URL): string {
  return `${url.host} is another machine reached over plain http: the key and every prompt and answer cross the network unencrypted, readable and changeable by anyone on the way.`;
}

function nameKey(name: string): string {
  return name.trim().toLowerCase();
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as NodeJS.ErrnoException).code;
  return code !== undefined && !error.message.includes(code) ? `${code}: ${error.message}` : error.message;
}
