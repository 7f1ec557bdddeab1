// An exo cluster's HTTP API, as exo-explore/exo b5375f8 serves it (src/exo/api/main.py and
// src/exo/api/types/api.py; state types in src/exo/shared/types/*.py), for the manager's tests:
// exo cannot run here (it needs MLX and peers). What it follows, line numbers at that commit:
//   - Internal objects are camelCase (FrozenModel's to_camel alias generator, utils/pydantic_ext.py
//     :11-18) and tagged `{"ClassName": {...}}` (TaggedModel :21-33); API envelopes are snake_case.
//   - GET /node_id: a bare JSON string (main.py:344). GET /state: the State object (state.py:30-72).
//   - GET /instance/previews?model_id=: every {Pipeline, Tensor} × {MlxRing, MlxJaccl} × min_nodes
//     1..N, deduplicated; a placement that does not fit has instance and memory_delta_by_node null
//     and error "No cycles found with sufficient memory"; one node is always Pipeline/MlxRing
//     (main.py:509-632, master/placement.py:131-252). Unknown model: 400.
//   - POST /place_instance {model_id, sharding = "Pipeline", instance_meta = "MlxRing", min_nodes = 1}:
//     200 {"message": "Command received.", command_id, model_card}; a bad enum is FastAPI's 422;
//     a placement that does not fit still answers 200 and no instance appears (master/main.py
//     :371-385); an unknown model is a 500 (model_cards.py:225-233).
//   - DELETE /instance/{id}: 200 {message, command_id, instance_id}, the instance leaves /state a
//     moment later; unknown: 404 (main.py:681-693). Errors: {"error": {message, type, param, code}}
//     (main.py:322-332).
//   - Runners: RunnerLoading{layersLoaded,totalLayers} → RunnerReady{prefillServerPort}; an instance
//     is ready when all its runners are Ready or Running (worker/plan.py:339-342).
//   - /v1/chat/completions: the model must be placed (404 "No instance found for model X", main.py
//     :987-1010); a request before the runners are ready waits; the stream opens with
//     `: keep-alive`, carries usage in its finish chunk whatever stream_options says, then a
//     `: generation_stats {...}` comment and `data: [DONE]` (adapters/chat_completions.py:218-292);
//     `Connection: close`. GET /models and /v1/models list every known model card (main.py:1786-1819).
//   - No authentication at all, CORS `*` with credentials (main.py:334-341): the stand-in records
//     any Authorization header it is sent, so tests can assert the manager never sends one.
import crypto from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";

export const EXO_COMMIT = "b5375f8";

export interface ExoNode {
  id: string;
  ramTotal: number;
  ramAvailable: number;
}

export interface ExoCard {
  id: string;
  storageBytes: number;
  nLayers: number;
  supportsTensor: boolean;
}

type Sharding = "Pipeline" | "Tensor";
type InstanceMeta = "MlxRing" | "MlxJaccl";

interface Instance {
  id: string;
  modelId: string;
  sharding: Sharding;
  meta: InstanceMeta;
  nodes: string[];
  runners: Map<string, { node: string; ready: boolean; failed?: string }>;
}

export interface ExoStandinOptions {
  nodes: ExoNode[];
  cards: ExoCard[];
  /** How long runners load before they are ready. Default 300 ms. */
  loadMs?: number;
  /** A model whose runners fail to load, with this message. */
  failing?: Record<string, string>;
}

const SHARDINGS: Sharding[] = ["Pipeline", "Tensor"];
const METAS: InstanceMeta[] = ["MlxRing", "MlxJaccl"];

export class ExoStandin {
  readonly nodes: ExoNode[];
  readonly instances = new Map<string, Instance>();
  /** Every Authorization header a request carried (exo ignores them; the manager must send none). */
  readonly authorizations: string[] = [];
  readonly requests: { method: string; path: string }[] = [];
  private readonly server: http.Server;

  private constructor(private readonly options: ExoStandinOptions) {
    this.nodes = options.nodes.map((n) => ({ ...n }));
    this.server = http.createServer((req, res) => {
      void this.handle(req, res).catch(() => {
        if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" }).end("Internal Server Error");
      });
    });
  }

  static async start(options: ExoStandinOptions): Promise<ExoStandin> {
    const standin = new ExoStandin(options);
    await new Promise<void>((resolve) => standin.server.listen(0, "127.0.0.1", resolve));
    return standin;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => { resolve(); }));
  }

  /** A node joins the cluster (exo finds peers by itself). */
  join(node: ExoNode): void {
    this.nodes.push({ ...node });
  }

  /** A node leaves: its instances go with it. */
  leave(id: string): void {
    const index = this.nodes.findIndex((n) => n.id === id);
    if (index >= 0) this.nodes.splice(index, 1);
    for (const [instanceId, instance] of this.instances) if (instance.nodes.includes(id)) this.instances.delete(instanceId);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://exo");
    this.requests.push({ method: req.method ?? "GET", path: url.pathname });
    if (req.headers.authorization !== undefined) this.authorizations.push(req.headers.authorization);
    const body = await readBody(req);
    const cors = { "access-control-allow-origin": "*", "access-control-allow-credentials": "true" };
    const json = (status: number, value: unknown, extra: Record<string, string> = {}): void => {
      const text = JSON.stringify(value);
      res.writeHead(status, { "content-type": "application/json", "content-length": String(Buffer.byteLength(text)), ...cors, ...extra }).end(text);
    };
    const error = (status: number, message: string, type: string): void => {
      json(status, { error: { message, type, param: null, code: status } });
    };
    const route = `${req.method ?? "GET"} ${url.pathname}`;
    if (route === "GET /node_id") { json(200, this.nodes[0]?.id ?? ""); return; }
    if (route === "GET /state") { json(200, this.state()); return; }
    if (route === "GET /models" || route === "GET /v1/models") { json(200, { object: "list", data: this.options.cards.map(modelEntry) }); return; }
    if (route === "GET /instance/previews") {
      const modelId = url.searchParams.get("model_id");
      if (modelId === null) { json(422, fastApiMissing("query", "model_id")); return; }
      const card = this.card(modelId);
      if (card === undefined) { error(400, `Failed to load model card for ${modelId}`, "Bad Request"); return; }
      json(200, { previews: this.previews(card) }); return;
    }
    if (route === "POST /place_instance") {
      const parsed = parsePlace(body);
      if ("detail" in parsed) { json(422, parsed); return; }
      const card = this.card(parsed.model_id);
      if (card === undefined) {
        res.writeHead(500, { "content-type": "text/plain; charset=utf-8", ...cors }).end("Internal Server Error");
        return;
      }
      const commandId = crypto.randomUUID();
      const placement = this.place(card, parsed.sharding, parsed.instance_meta, parsed.min_nodes);
      // The master places asynchronously; one that does not fit is only logged there.
      if (placement !== undefined) setTimeout(() => { this.launch(card, placement); }, 20);
      json(200, { message: "Command received.", command_id: commandId, model_card: camelCard(card) }); return;
    }
    const deleteMatch = /^DELETE \/instance\/([^/]+)$/.exec(route);
    if (deleteMatch?.[1] !== undefined) {
      const id = decodeURIComponent(deleteMatch[1]);
      if (!this.instances.has(id)) { error(404, "Instance not found", "Not Found"); return; }
      setTimeout(() => this.instances.delete(id), 20);
      json(200, { message: "Command received.", command_id: crypto.randomUUID(), instance_id: id }); return;
    }
    if (route === "POST /v1/chat/completions") return this.chat(body, res, json, error);
    error(404, "Not Found", "Not Found");
  }

  private card(modelId: string): ExoCard | undefined {
    return this.options.cards.find((c) => c.id === modelId);
  }

  /** Nodes for a placement: the first n whose free memory each holds an even share; undefined when none do. */
  private place(card: ExoCard, sharding: Sharding, meta: InstanceMeta, minNodes: number): { sharding: Sharding; meta: InstanceMeta; nodes: ExoNode[] } | undefined {
    for (let n = Math.max(1, minNodes); n <= this.nodes.length; n++) {
      const share = card.storageBytes / n;
      const fit = this.nodes.filter((node) => node.ramAvailable >= share).slice(0, n);
      if (fit.length === n) return n === 1 ? { sharding: "Pipeline", meta: "MlxRing", nodes: fit } : { sharding, meta, nodes: fit };
    }
    return undefined;
  }

  private previews(card: ExoCard): unknown[] {
    const seen = new Set<string>();
    const out: unknown[] = [];
    for (const sharding of SHARDINGS) {
      for (const meta of METAS) {
        for (let n = 1; n <= this.nodes.length; n++) {
          if (sharding === "Tensor" && !card.supportsTensor) continue;
          const placement = this.place(card, sharding, meta, n);
          const key = placement === undefined ? `${sharding}/${meta}/${n}/none` : `${placement.sharding}/${placement.meta}/${placement.nodes.map((x) => x.id).join(",")}`;
          if (seen.has(key)) continue;
          seen.add(key);
          if (placement === undefined) {
            out.push({ model_id: card.id, sharding, instance_meta: meta, instance: null, memory_delta_by_node: null, error: "No cycles found with sufficient memory" });
            continue;
          }
          const share = Math.round(card.storageBytes / placement.nodes.length);
          out.push({
            model_id: card.id,
            sharding: placement.sharding,
            instance_meta: placement.meta,
            instance: { [`${placement.meta}Instance`]: { instanceId: crypto.randomUUID(), shardAssignments: { modelId: card.id, nodeToRunner: Object.fromEntries(placement.nodes.map((x, i) => [x.id, `preview-runner-${i}`])) } } },
            memory_delta_by_node: Object.fromEntries(placement.nodes.map((x) => [x.id, share])),
            error: null,
          });
        }
      }
    }
    return out;
  }

  private launch(card: ExoCard, placement: { sharding: Sharding; meta: InstanceMeta; nodes: ExoNode[] }): void {
    const id = crypto.randomUUID();
    const runners: Instance["runners"] = new Map(placement.nodes.map((node) => [crypto.randomUUID(), { node: node.id, ready: false }]));
    this.instances.set(id, { id, modelId: card.id, sharding: placement.sharding, meta: placement.meta, nodes: placement.nodes.map((n) => n.id), runners });
    setTimeout(() => {
      const failed = this.options.failing?.[card.id];
      for (const runner of runners.values()) {
        if (failed !== undefined) runner.failed = failed;
        else runner.ready = true;
      }
    }, this.options.loadMs ?? 300);
  }

  private ready(instance: Instance): boolean {
    return [...instance.runners.values()].every((r) => r.ready);
  }

  private state(): unknown {
    const instances: Record<string, unknown> = {};
    const runners: Record<string, unknown> = {};
    for (const instance of this.instances.values()) {
      const card = this.card(instance.modelId);
      const runnerIds = [...instance.runners.keys()];
      const shardTag = instance.sharding === "Tensor" ? "TensorShardMetadata" : "PipelineShardMetadata";
      instances[instance.id] = {
        [`${instance.meta}Instance`]: {
          instanceId: instance.id,
          shardAssignments: {
            modelId: instance.modelId,
            runnerToShard: Object.fromEntries(runnerIds.map((r, rank) => [r, { [shardTag]: { modelCard: card === undefined ? {} : camelCard(card), deviceRank: rank, worldSize: runnerIds.length } }])),
            nodeToRunner: Object.fromEntries([...instance.runners.entries()].map(([r, x]) => [x.node, r])),
          },
        },
      };
      for (const [runnerId, runner] of instance.runners) {
        const layers = card?.nLayers ?? 16;
        runners[runnerId] = runner.failed !== undefined ? { RunnerFailed: { errorMessage: runner.failed, diagnostics: null } } : runner.ready ? { RunnerReady: { prefillServerPort: null } } : { RunnerLoading: { layersLoaded: 0, totalLayers: layers } };
      }
    }
    const bytes = (n: number): { inBytes: number } => ({ inBytes: n });
    return {
      instances,
      runners,
      downloads: {},
      tasks: {},
      lastSeen: Object.fromEntries(this.nodes.map((n) => [n.id, new Date().toISOString()])),
      topology: { nodes: this.nodes.map((n) => n.id), connections: {} },
      lastEventAppliedIdx: 1,
      nodeIdentities: {},
      nodeMemory: Object.fromEntries(this.nodes.map((n) => [n.id, { ramTotal: bytes(n.ramTotal), ramAvailable: bytes(n.ramAvailable), swapTotal: bytes(0), swapAvailable: bytes(0) }])),
      nodeDisk: {},
      nodeSystem: {},
      nodeNetwork: {},
      nodeThunderbolt: {},
      nodeThunderboltBridge: {},
      nodeRdmaCtl: {},
      nodeBackends: Object.fromEntries(this.nodes.map((n) => [n.id, ["MlxMetal"]])),
      thunderboltBridgeCycles: [],
      instanceLinks: {},
      prefillServerPorts: {},
      customModelCards: {},
    };
  }

  private async chat(body: string, res: http.ServerResponse, json: (status: number, value: unknown) => void, error: (status: number, message: string, type: string) => void): Promise<void> {
    let request: { model?: unknown; messages?: unknown; stream?: unknown; max_tokens?: unknown };
    try {
      request = JSON.parse(body) as typeof request;
    } catch {
      json(422, { detail: [{ type: "json_invalid", loc: ["body", 0], msg: "JSON decode error", input: {}, ctx: { error: "Expecting value" } }] });
      return;
    }
    if (typeof request.model !== "string") { json(422, fastApiMissing("body", "model")); return; }
    if (!Array.isArray(request.messages)) { json(422, fastApiMissing("body", "messages")); return; }
    const instance = [...this.instances.values()].find((i) => i.modelId === request.model);
    if (instance === undefined) { error(404, `No instance found for model ${request.model}`, "Not Found"); return; }
    // A request before the runners are ready waits for them.
    while (!this.ready(instance) && this.instances.has(instance.id)) await new Promise((r) => setTimeout(r, 20));
    const tokens = Math.max(1, Math.min(64, typeof request.max_tokens === "number" ? request.max_tokens : 16));
    const id = crypto.randomUUID();
    const usage = { prompt_tokens: 5, completion_tokens: tokens, total_tokens: 5 + tokens, prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 } };
    const created = Math.floor(Date.now() / 1000);
    if (request.stream !== true) {
      json(200, { id, object: "chat.completion", created, model: request.model, choices: [{ index: 0, message: { role: "assistant", content: Array.from({ length: tokens }, (_, i) => `exo${i} `).join("") }, finish_reason: "length" }], usage });
      return;
    }
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "close", "x-accel-buffering": "no", "access-control-allow-origin": "*" });
    res.write(": keep-alive\n\n");
    res.write(`: prefill_progress ${JSON.stringify({ PrefillProgressChunk: { model: request.model, processed_tokens: 5, total_tokens: 5 } })}\n\n`);
    for (let i = 0; i < tokens; i++) {
      const last = i === tokens - 1;
      const chunk = { id, object: "chat.completion", created, model: request.model, choices: [{ index: 0, delta: { role: "assistant", content: `exo${i} ` }, ...(last ? { finish_reason: "length" } : {}) }], ...(last ? { usage } : {}) };
      res.write(`data: ${JSON.stringify(chunk)}\n\n`);
      await new Promise((r) => setTimeout(r, 2));
    }
    res.write(`: generation_stats ${JSON.stringify({ prompt_tps: 500, generation_tps: 100, prompt_tokens: 5, generation_tokens: tokens, peak_memory_usage: { in_bytes: 1e9 }, prefix_cache_hit: "none" })}\n\n`);
    res.end("data: [DONE]\n\n");
  }
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.once("end", () => { resolve(Buffer.concat(chunks).toString("utf8")); });
    req.once("error", reject);
  });
}

/** FastAPI's 422 for a missing field. */
function fastApiMissing(where: "body" | "query", field: string): unknown {
  return { detail: [{ type: "missing", loc: [where, field], msg: "Field required", input: null }] };
}

/** The body of POST /place_instance as exo's PlaceInstanceParams reads it (api.py:269-273), or FastAPI's 422. */
function parsePlace(body: string): { model_id: string; sharding: Sharding; instance_meta: InstanceMeta; min_nodes: number } | { detail: unknown[] } {
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(body) as Record<string, unknown>;
  } catch {
    return { detail: [{ type: "json_invalid", loc: ["body", 0], msg: "JSON decode error", input: {}, ctx: { error: "Expecting value" } }] };
  }
  if (typeof value["model_id"] !== "string") return fastApiMissing("body", "model_id") as { detail: unknown[] };
  const sharding = value["sharding"] ?? "Pipeline";
  if (sharding !== "Pipeline" && sharding !== "Tensor") return { detail: [{ type: "enum", loc: ["body", "sharding"], msg: "Input should be 'Tensor' or 'Pipeline'", input: sharding, ctx: { expected: "'Tensor' or 'Pipeline'" } }] };
  const meta = value["instance_meta"] ?? "MlxRing";
  if (meta !== "MlxRing" && meta !== "MlxJaccl") return { detail: [{ type: "enum", loc: ["body", "instance_meta"], msg: "Input should be 'MlxRing' or 'MlxJaccl'", input: meta, ctx: { expected: "'MlxRing' or 'MlxJaccl'" } }] };
  const minNodes = value["min_nodes"] ?? 1;
  if (typeof minNodes !== "number" || !Number.isInteger(minNodes)) return { detail: [{ type: "int_parsing", loc: ["body", "min_nodes"], msg: "Input should be a valid integer, unable to parse string as an integer", input: minNodes }] };
  return { model_id: value["model_id"], sharding, instance_meta: meta, min_nodes: minNodes };
}

function camelCard(card: ExoCard): Record<string, unknown> {
  return { modelId: card.id, storageSize: { inBytes: card.storageBytes }, nLayers: card.nLayers, hiddenSize: 2048, supportsTensor: card.supportsTensor };
}

function modelEntry(card: ExoCard): Record<string, unknown> {
  return { id: card.id, object: "model", created: 0, owned_by: "exo", hugging_face_id: card.id, name: card.id.split("/").at(-1), description: "", context_length: 8192, tags: [], storage_size_megabytes: Math.round(card.storageBytes / 1e6), supports_tensor: card.supportsTensor, tasks: ["TextGeneration"], is_custom: false, family: "", quantization: "", base_model: "", capabilities: [], reasoning_dialect: null };
}
