import type { BenchInput, BenchRun, PerplexityInput, PerplexityResult } from "../shared/benchmarks";
import type { DatasetCheck, Job, JobInput, JobPlan, JobReport } from "../shared/jobs";
import type { HostCheckReport } from "../shared/distributed";
import type { ManagerSettings, ManagerSettingsPatch, MemoryBudgetView } from "../shared/settings";
import type { RemoteBackend, RemoteBackendInput, RemoteBackendList, RemoteBackendPatch, RemotePlacementList, RemoteProbe } from "../shared/remotes";
import type { UsageList } from "../shared/usage";
import type { HubFit, MemoryEstimateRequest, MemoryFit } from "../shared/memory";
import type { DeleteModelResult, EngineList, ImportResult, ManagerStatus, ModelList, ProfileList } from "../shared/api";
import * as z from "zod";
import { ApiErrorBody } from "../shared/errors";
import { CertificateChangedError, pinnedRequest, pinnedStream, type TlsPin } from "./pinnedTls";
import { chatCompletionEvents, type ChatCompletionEvent, type ChatCompletionStreamRequest } from "./chatCompletions";
import type { Conversation, ConversationList } from "../shared/conversations";
import type { SequencedEvent } from "../shared/events";
import { MetricsSnapshotSchema, type MetricsSnapshot } from "../shared/metrics";
import type { Download, DownloadList, DownloadRequest, DownloadStarted, HubModelInfo, HubSearchList, HubStatus } from "../shared/hub";
import type { Profile, ProfileExport, ProfileInput, ProfilePatch } from "../shared/profiles";
import type { GatewayModelList, PublicServerList, ServerInfo, ServerList, ServerLogTail } from "../shared/servers";
import type {
  ApiKeyCreated,
  ApiKeyInfo,
  ApiKeyList,
  AuditList,
  LoginResult,
  SharedStart,
  SharedStatus,
  UserInfo,
  UserList,
  UserPatch,
  UserUsageList,
} from "../shared/auth";

const LogLinesMessage = z.object({ lines: z.array(z.string()) });
const MetricsMessage = z.object({ data: MetricsSnapshotSchema });
const OpenAiErrorBody = z.object({ error: z.object({ message: z.string(), type: z.string().nullish(), code: z.string().nullish() }) });
const ChatChunk = z.object({
  choices: z.array(z.object({ delta: z.object({ content: z.string().nullish() }).nullish() })).nullish(),
  usage: z.object({ prompt_tokens: z.number(), completion_tokens: z.number() }).nullish(),
  error: z.object({ message: z.string() }).nullish(),
});

/** One request of the chat playground, in OpenAI's shape (`stream` and usage are added). */
export interface ChatStreamRequest {
  model: string;
  messages: { role: "system" | "user" | "assistant"; content: string }[];
  temperature?: number;
  top_p?: number;
  max_tokens?: number;
  seed?: number;
}

/** What `chatStream` yields: text as it arrives, then the token counts. */
export type ChatStreamChunk = { type: "delta"; text: string } | { type: "usage"; promptTokens: number; completionTokens: number };

/** An error answered by the manager, or the manager not answering at all (`code: "unreachable"`). */
export class ManagerRequestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = "ManagerRequestError";
  }
}

export interface ManagerEndpoint {
  url: string;
  token: string;
  /** A team server's self-signed certificate, trusted alone (the user confirmed its fingerprint). */
  tlsPin?: TlsPin;
}

/** Typed HTTP client of the manager's `/api`. */
export class ManagerClient {
  constructor(private readonly endpoint: ManagerEndpoint) {}

  get url(): string {
    return this.endpoint.url;
  }

  status(signal?: AbortSignal): Promise<ManagerStatus> {
    return this.request("GET", "/api/status", undefined, signal);
  }
  engines(): Promise<EngineList> {
    return this.request("GET", "/api/engines");
  }
  models(): Promise<ModelList> {
    return this.request("GET", "/api/models");
  }
  rescanModels(): Promise<ModelList> {
    return this.request("POST", "/api/models/rescan");
  }
  deleteModel(id: string, revision?: string): Promise<DeleteModelResult> {
    const query = revision ? `?revision=${encodeURIComponent(revision)}` : "";
    return this.request("DELETE", `/api/models/${id.split("/").map(encodeURIComponent).join("/")}${query}`);
  }
  profiles(): Promise<ProfileList> {
    return this.request("GET", "/api/profiles");
  }
  profile(idOrName: string): Promise<Profile> {
    return this.request("GET", `/api/profiles/${encodeURIComponent(idOrName)}`);
  }
  createProfile(input: ProfileInput): Promise<Profile> {
    return this.request("POST", "/api/profiles", input);
  }
  updateProfile(idOrName: string, patch: ProfilePatch): Promise<Profile> {
    return this.request("PATCH", `/api/profiles/${encodeURIComponent(idOrName)}`, patch);
  }
  duplicateProfile(idOrName: string, name?: string): Promise<Profile> {
    return this.request("POST", `/api/profiles/${encodeURIComponent(idOrName)}/duplicate`, name === undefined ? {} : { name });
  }
  deleteProfile(idOrName: string, version?: number): Promise<Profile> {
    const query = version === undefined ? "" : `?version=${version}`;
    return this.request("DELETE", `/api/profiles/${encodeURIComponent(idOrName)}${query}`);
  }
  exportProfiles(idsOrNames?: string[]): Promise<ProfileExport> {
    const query = idsOrNames && idsOrNames.length > 0 ? `?ids=${encodeURIComponent(idsOrNames.join(","))}` : "";
    return this.request("GET", `/api/profiles/export${query}`);
  }
  importProfiles(file: unknown): Promise<ImportResult> {
    return this.request("POST", "/api/profiles/import", file);
  }
  shutdown(): Promise<{ stopping: boolean }> {
    return this.request("POST", "/api/shutdown");
  }
  servers(signal?: AbortSignal): Promise<ServerList> {
    return this.request("GET", "/api/servers", undefined, signal);
  }
  server(idOrName: string): Promise<ServerInfo> {
    return this.request("GET", `/api/servers/${encodeURIComponent(idOrName)}`);
  }
  /** Starts a profile's server; resolves when it is ready (or, with wait: false, once spawned). */
  startServer(idOrName: string, options: { wait?: boolean; signal?: AbortSignal } = {}): Promise<ServerInfo> {
    return this.request("POST", `/api/servers/${encodeURIComponent(idOrName)}/start${options.wait === false ? "?wait=0" : ""}`, undefined, options.signal);
  }
  stopServer(idOrName: string, signal?: AbortSignal): Promise<ServerInfo> {
    return this.request("POST", `/api/servers/${encodeURIComponent(idOrName)}/stop`, undefined, signal);
  }
  restartServer(idOrName: string, options: { wait?: boolean; signal?: AbortSignal } = {}): Promise<ServerInfo> {
    return this.request("POST", `/api/servers/${encodeURIComponent(idOrName)}/restart${options.wait === false ? "?wait=0" : ""}`, undefined, options.signal);
  }
  stopAllServers(signal?: AbortSignal): Promise<ServerList> {
    return this.request("POST", "/api/servers/stop-all", undefined, signal);
  }
  /** The last `lines` lines of a server's log. */
  serverLogs(idOrName: string, lines?: number): Promise<ServerLogTail> {
    return this.request("GET", `/api/servers/${encodeURIComponent(idOrName)}/logs${lines === undefined ? "" : `?lines=${lines}`}`);
  }

  hubStatus(): Promise<HubStatus> {
    return this.request("GET", "/api/hub/status");
  }
  /** Hands the manager a Hugging Face token; it keeps it in memory only. */
  setHubToken(token: string): Promise<void> {
    return this.request("PUT", "/api/hub/token", { token });
  }
  clearHubToken(): Promise<void> {
    return this.request("DELETE", "/api/hub/token");
  }
  /** Searches the Hub; abort `signal` when a newer query replaces this one. `hfToken` is for this call only. */
  hubSearch(query: { q?: string; format?: "mlx" | "gguf" | "all"; sort?: "downloads" | "likes" | "lastModified" | "trendingScore"; limit?: number; page?: number }, options: { signal?: AbortSignal; hfToken?: string } = {}): Promise<HubSearchList> {
    const params = new URLSearchParams(Object.entries(query).map(([k, v]): [string, string] => [k, String(v)]));
    return this.request("GET", `/api/hub/search?${params.toString()}`, undefined, options.signal, hfHeader(options.hfToken));
  }
  hubModel(repo: string, options: { revision?: string; signal?: AbortSignal; hfToken?: string } = {}): Promise<HubModelInfo> {
    const query = options.revision ? `?revision=${encodeURIComponent(options.revision)}` : "";
    return this.request("GET", `/api/hub/models/${repo.split("/").map(encodeURIComponent).join("/")}${query}`, undefined, options.signal, hfHeader(options.hfToken));
  }
  /** A Hub model's family against this machine's memory: each variant's need at 8k, 32k and `context`. */
  hubFit(repo: string, options: { revision?: string; context?: number; signal?: AbortSignal; hfToken?: string } = {}): Promise<HubFit> {
    const query = new URLSearchParams({ repo, ...(options.revision ? { revision: options.revision } : {}), ...(options.context === undefined ? {} : { context: String(options.context) }) });
    return this.request("GET", `/api/hub/fit?${query.toString()}`, undefined, options.signal, hfHeader(options.hfToken));
  }
  /** What a model needs on an engine with options (a profile's, or a draft's), against this machine. */
  memoryEstimate(body: MemoryEstimateRequest, signal?: AbortSignal): Promise<MemoryFit> {
    return this.request("POST", "/api/memory/estimate", body, signal);
  }
  downloads(): Promise<DownloadList> {
    return this.request("GET", "/api/downloads");
  }
  download(id: string): Promise<Download> {
    return this.request("GET", `/api/downloads/${encodeURIComponent(id)}`);
  }
  /** Starts a download (or joins the running one for the same repo and revision). */
  startDownload(request: DownloadRequest, hfToken?: string): Promise<DownloadStarted> {
    return this.request("POST", "/api/downloads", request, undefined, hfHeader(hfToken));
  }
  /** Stops a download; `discard` also deletes its partial files. */
  cancelDownload(id: string, discard = false): Promise<Download> {
    return this.request("POST", `/api/downloads/${encodeURIComponent(id)}/cancel${discard ? "?discard=1" : ""}`);
  }
  resumeDownload(id: string, hfToken?: string): Promise<Download> {
    return this.request("POST", `/api/downloads/${encodeURIComponent(id)}/resume`, undefined, undefined, hfHeader(hfToken));
  }
  removeDownload(id: string): Promise<void> {
    return this.request("DELETE", `/api/downloads/${encodeURIComponent(id)}`);
  }

  // ---------------------------------------------------------------- shared mode

  /** Loopback (owner): the shared listener's state. */
  sharedStatus(): Promise<SharedStatus> {
    return this.request("GET", "/api/shared");
  }
  /** Loopback (owner): opens the shared listener (needs a first admin). */
  startShared(options: SharedStart): Promise<SharedStatus> {
    return this.request("POST", "/api/shared/start", options);
  }
  stopShared(): Promise<SharedStatus> {
    return this.request("POST", "/api/shared/stop");
  }
  /** Loopback (owner): a new JWT secret; everyone is signed out. */
  rotateSecret(): Promise<{ rotated: boolean }> {
    return this.request("POST", "/api/shared/rotate-secret");
  }
  /** Loopback (owner): the first account, an approved admin. */
  createFirstAdmin(email: string, password: string): Promise<UserInfo> {
    return this.request("POST", "/api/users/first-admin", { email, password });
  }
  /** Shared listener: email + password → a 7-day token. */
  login(email: string, password: string): Promise<LoginResult> {
    return this.request("POST", "/api/auth/login", { email, password });
  }
  register(email: string, password: string): Promise<{ user: UserInfo; message: string }> {
    return this.request("POST", "/api/auth/register", { email, password });
  }
  me(signal?: AbortSignal): Promise<{ user: UserInfo }> {
    return this.request("GET", "/api/auth/me", undefined, signal);
  }
  /** `GET /v1/models`: every profile a client may name, with its server's state. */
  gatewayModels(signal?: AbortSignal): Promise<GatewayModelList> {
    return this.request("GET", "/v1/models", undefined, signal);
  }
  /** Shared listener: the running servers as a teammate sees them. */
  publicServers(signal?: AbortSignal): Promise<PublicServerList> {
    return this.request("GET", "/api/servers", undefined, signal);
  }
  changePassword(currentPassword: string, newPassword: string): Promise<LoginResult> {
    return this.request("POST", "/api/auth/password", { currentPassword, newPassword });
  }
  users(): Promise<UserList> {
    return this.request("GET", "/api/users");
  }
  updateUser(id: string, patch: UserPatch): Promise<UserInfo> {
    return this.request("PATCH", `/api/users/${encodeURIComponent(id)}`, patch);
  }
  deleteUser(id: string): Promise<UserInfo> {
    return this.request("DELETE", `/api/users/${encodeURIComponent(id)}`);
  }
  resetPassword(id: string, password: string): Promise<UserInfo> {
    return this.request("POST", `/api/users/${encodeURIComponent(id)}/password`, { password });
  }
  apiKeys(): Promise<ApiKeyList> {
    return this.request("GET", "/api/keys");
  }
  createApiKey(name: string): Promise<ApiKeyCreated> {
    return this.request("POST", "/api/keys", { name });
  }
  revokeApiKey(id: string): Promise<ApiKeyInfo> {
    return this.request("DELETE", `/api/keys/${encodeURIComponent(id)}`);
  }
  audit(limit?: number): Promise<AuditList> {
    return this.request("GET", `/api/audit${limit === undefined ? "" : `?limit=${limit}`}`);
  }
  /** The gateway's rolling figures per server (queue, TTFT, tokens/s). */
  usage(): Promise<UsageList> {
    return this.request("GET", "/api/usage");
  }
  settings(): Promise<ManagerSettings> {
    return this.request("GET", "/api/settings");
  }
  remotes(signal?: AbortSignal): Promise<RemoteBackendList> {
    return this.request("GET", "/api/remotes", undefined, signal);
  }
  /** What is at a URL before it is added: the certificate (and whether this machine trusts it), the plain-http warning. */
  probeRemote(url: string, signal?: AbortSignal): Promise<RemoteProbe> {
    return this.request("POST", "/api/remotes/probe", { url }, signal);
  }
  addRemote(input: RemoteBackendInput, signal?: AbortSignal): Promise<RemoteBackend> {
    return this.request("POST", "/api/remotes", input, signal);
  }
  updateRemote(idOrName: string, patch: RemoteBackendPatch, signal?: AbortSignal): Promise<RemoteBackend> {
    return this.request("PATCH", `/api/remotes/${encodeURIComponent(idOrName)}`, patch, signal);
  }
  removeRemote(idOrName: string): Promise<RemoteBackend> {
    return this.request("DELETE", `/api/remotes/${encodeURIComponent(idOrName)}`);
  }
  /** exo's placement previews for a model on an exo backend. */
  placementPreviews(idOrName: string, model: string, signal?: AbortSignal): Promise<RemotePlacementList> {
    return this.request("GET", `/api/remotes/${encodeURIComponent(idOrName)}/previews?model=${encodeURIComponent(model)}`, undefined, signal);
  }
  jobs(): Promise<{ jobs: Job[] }> {
    return this.request("GET", "/api/jobs");
  }
  job(id: string): Promise<Job> {
    return this.request("GET", `/api/jobs/${encodeURIComponent(id)}`);
  }
  /** The command and mlx_lm.lora configuration a job would run with, and its dataset's check, without queueing it. */
  planJob(input: JobInput): Promise<JobPlan> {
    return this.request("POST", "/api/jobs/plan", input);
  }
  createJob(input: JobInput): Promise<Job> {
    return this.request("POST", "/api/jobs", input);
  }
  checkDataset(file: string, maskPrompt?: boolean): Promise<DatasetCheck> {
    return this.request("POST", "/api/jobs/check-dataset", { file, ...(maskPrompt === undefined ? {} : { maskPrompt }) });
  }
  jobReports(id: string): Promise<{ reports: JobReport[] }> {
    return this.request("GET", `/api/jobs/${encodeURIComponent(id)}/reports`);
  }
  jobLog(id: string, lines?: number): Promise<{ lines: string[] }> {
    return this.request("GET", `/api/jobs/${encodeURIComponent(id)}/log${lines === undefined ? "" : `?lines=${lines}`}`);
  }
  cancelJob(id: string): Promise<Job> {
    return this.request("POST", `/api/jobs/${encodeURIComponent(id)}/cancel`, {});
  }
  /** The job's adapter fused into its base model, put in the cache as local/<name>. */
  fuseJob(id: string, name: string, signal?: AbortSignal): Promise<{ repoId: string; commit: string }> {
    return this.request("POST", `/api/jobs/${encodeURIComponent(id)}/fuse`, { name }, signal);
  }
  /** A profile serving the job's base model with its adapter (mlx-lm). */
  profileFromJob(id: string, name: string): Promise<Profile> {
    return this.request("POST", `/api/jobs/${encodeURIComponent(id)}/profile`, { name });
  }
  resumeJob(id: string): Promise<Job> {
    return this.request("POST", `/api/jobs/${encodeURIComponent(id)}/resume`, {});
  }
  /** Starts a benchmark of profiles (one run at a time); its progress comes as `bench.changed` events. */
  startBenchmark(input: BenchInput): Promise<BenchRun> {
    return this.request("POST", "/api/benchmarks", input);
  }
  benchmarks(): Promise<{ benchmarks: BenchRun[] }> {
    return this.request("GET", "/api/benchmarks");
  }
  benchmark(id: string): Promise<BenchRun> {
    return this.request("GET", `/api/benchmarks/${encodeURIComponent(id)}`);
  }
  cancelBenchmark(id: string): Promise<BenchRun> {
    return this.request("POST", `/api/benchmarks/${encodeURIComponent(id)}/cancel`, {});
  }
  deleteBenchmark(id: string): Promise<void> {
    return this.request("DELETE", `/api/benchmarks/${encodeURIComponent(id)}`);
  }
  /** Perplexity of a profile's model on a text file of this machine (can take minutes). */
  measurePerplexity(input: PerplexityInput, signal?: AbortSignal): Promise<PerplexityResult> {
    return this.request("POST", "/api/perplexity", input, signal);
  }
  perplexityResults(profile?: string): Promise<{ results: PerplexityResult[] }> {
    return this.request("GET", `/api/perplexity${profile === undefined ? "" : `?profile=${encodeURIComponent(profile)}`}`);
  }
  /** A distributed profile's hosts checked as a start would check them (ssh, versions, the model, memory). */
  checkHosts(idOrName: string, signal?: AbortSignal): Promise<HostCheckReport> {
    return this.request("POST", `/api/profiles/${encodeURIComponent(idOrName)}/hosts/check`, {}, signal);
  }
  /** Copies a distributed profile's model from this Mac to one of its hosts over ssh. */
  copyModelToHost(idOrName: string, host: string, signal?: AbortSignal): Promise<{ host: string; bytes: number; ms: number }> {
    return this.request("POST", `/api/profiles/${encodeURIComponent(idOrName)}/hosts/copy-model`, { host }, signal);
  }
  checkRemote(idOrName: string, signal?: AbortSignal): Promise<RemoteBackend> {
    return this.request("POST", `/api/remotes/${encodeURIComponent(idOrName)}/check`, {}, signal);
  }
  updateSettings(patch: ManagerSettingsPatch): Promise<ManagerSettings> {
    return this.request("PATCH", "/api/settings", patch);
  }
  /** The memory budget and what each running server holds of it. */
  memoryBudget(): Promise<MemoryBudgetView> {
    return this.request("GET", "/api/memory/budget");
  }
  usageByUser(query: { from?: string; to?: string } = {}): Promise<UserUsageList> {
    const params = new URLSearchParams(Object.entries(query).filter((e): e is [string, string] => typeof e[1] === "string"));
    const text = params.toString();
    return this.request("GET", `/api/usage/users${text ? `?${text}` : ""}`);
  }

  /** Calls `onLines` with the last `lines` lines of a server's log, then with new ones until `signal` aborts. */
  async followServerLogs(idOrName: string, onLines: (lines: string[]) => void, signal: AbortSignal, lines?: number): Promise<void> {
    const query = `?follow=1${lines === undefined ? "" : `&lines=${lines}`}`;
    let response: Response;
    try {
      response = await fetch(`${this.endpoint.url}/api/servers/${encodeURIComponent(idOrName)}/logs${query}`, {
        headers: { authorization: `Bearer ${this.endpoint.token}`, accept: "text/event-stream" },
        signal,
      });
    } catch (error) {
      if (signal.aborted) return;
      throw new ManagerRequestError(0, "unreachable", `The manager at ${this.endpoint.url} is not reachable (${describe(error)}).`);
    }
    if (!response.ok || !response.body) {
      const parsed = ApiErrorBody.safeParse(await response.json().catch(() => undefined));
      if (parsed.success) throw new ManagerRequestError(response.status, parsed.data.error.code, parsed.data.error.message, parsed.data.error.field);
      throw new ManagerRequestError(response.status, "http_error", `The manager answered ${response.status}.`);
    }
    try {
      for await (const message of parseSse(response.body)) {
        const parsed = LogLinesMessage.safeParse(JSON.parse(message.data));
        if (parsed.success) onLines(parsed.data.lines);
      }
    } catch (error) {
      if (!signal.aborted) throw error;
    }
  }

  // ---------------------------------------------------------------- dashboard: metrics, chat, conversations

  /**
   * Follows `GET /api/metrics/stream` until `signal` aborts, reconnecting with back-off; each
   * sample is validated before `onSnapshot` sees it. While it is open the manager samples.
   */
  async followMetrics(onSnapshot: (snapshot: MetricsSnapshot) => void, signal: AbortSignal): Promise<void> {
    let delay = 250;
    while (!signal.aborted) {
      try {
        const response = await fetch(`${this.endpoint.url}/api/metrics/stream`, {
          headers: { authorization: `Bearer ${this.endpoint.token}`, accept: "text/event-stream" },
          signal,
        });
        if (!response.ok || !response.body) throw new Error(`metrics answered ${response.status}`);
        delay = 250;
        for await (const message of parseSse(response.body)) {
          const parsed = MetricsMessage.safeParse(JSON.parse(message.data));
          if (parsed.success) onSnapshot(parsed.data.data);
        }
      } catch {
        // Dropped or refused: reconnect below (or leave, when aborted).
      }
      await sleep(delay, signal);
      delay = Math.min(delay * 2, 5000);
    }
  }

  /**
   * Streams a chat completion through the manager's `/v1` gateway (which starts a stopped
   * profile just in time): yields text deltas, then the usage the engine reported. Aborting
   * `signal` closes the connection, and the gateway aborts the upstream request.
   */
  async *chatStream(request: ChatStreamRequest, signal: AbortSignal): AsyncGenerator<ChatStreamChunk> {
    const response = await this.openStream("/v1/chat/completions", { ...request, stream: true, stream_options: { include_usage: true } }, signal);
    if (response.status < 200 || response.status >= 300) {
      const parsed = OpenAiErrorBody.safeParse(await readJson(response.body));
      throw new ManagerRequestError(response.status, parsed.success ? parsed.data.error.code ?? parsed.data.error.type ?? "upstream_error" : "http_error", parsed.success ? parsed.data.error.message : `The gateway answered ${response.status}.`);
    }
    for await (const message of parseSse(response.body)) {
      if (message.data === "[DONE]") return;
      const parsed = ChatChunk.safeParse(JSON.parse(message.data));
      if (!parsed.success) continue;
      if (parsed.data.error) throw new ManagerRequestError(502, "upstream_error", parsed.data.error.message);
      const text = parsed.data.choices?.[0]?.delta?.content;
      if (text) yield { type: "delta", text };
      const usage = parsed.data.usage;
      if (usage) yield { type: "usage", promptTokens: usage.prompt_tokens, completionTokens: usage.completion_tokens };
    }
  }

  /**
   * Like `chatStream`, with tools: yields text, each tool call once complete, the finish reason
   * and the usage (see chatCompletions.ts). Aborting `signal` closes the connection, and the
   * gateway aborts the upstream request.
   */
  async *chatCompletionStream(request: ChatCompletionStreamRequest, signal: AbortSignal): AsyncGenerator<ChatCompletionEvent> {
    const response = await this.openStream("/v1/chat/completions", { ...request, stream: true, stream_options: { include_usage: true } }, signal);
    if (response.status < 200 || response.status >= 300) {
      const parsed = OpenAiErrorBody.safeParse(await readJson(response.body));
      throw new ManagerRequestError(response.status, parsed.success ? parsed.data.error.code ?? parsed.data.error.type ?? "upstream_error" : "http_error", parsed.success ? parsed.data.error.message : `The gateway answered ${response.status}.`);
    }
    for await (const event of chatCompletionEvents(parseSse(response.body))) {
      if (event.type === "error") throw new ManagerRequestError(502, "upstream_error", event.message);
      yield event;
    }
  }

  conversations(workspace: string): Promise<ConversationList> {
    return this.request("GET", `/api/conversations?workspace=${encodeURIComponent(workspace)}`);
  }
  conversation(id: string): Promise<Conversation> {
    return this.request("GET", `/api/conversations/${encodeURIComponent(id)}`);
  }
  saveConversation(conversation: Conversation): Promise<Conversation> {
    return this.request("PUT", `/api/conversations/${encodeURIComponent(conversation.id)}`, conversation);
  }
  renameConversation(id: string, title: string): Promise<Conversation> {
    return this.request("PATCH", `/api/conversations/${encodeURIComponent(id)}`, { title });
  }
  deleteConversation(id: string): Promise<void> {
    return this.request("DELETE", `/api/conversations/${encodeURIComponent(id)}`);
  }

  /** POSTs JSON and returns the streamed answer (over the pinned certificate when there is one). */
  private async openStream(path: string, body: unknown, signal: AbortSignal): Promise<{ status: number; body: ReadableStream<Uint8Array> }> {
    const headers = { authorization: `Bearer ${this.endpoint.token}`, "content-type": "application/json", accept: "text/event-stream" };
    try {
      const pin = this.endpoint.tlsPin;
      if (pin !== undefined && this.endpoint.url.startsWith("https:")) return await pinnedStream(this.endpoint.url + path, pin, { method: "POST", headers, body: JSON.stringify(body), signal });
      const response = await fetch(this.endpoint.url + path, { method: "POST", headers, body: JSON.stringify(body), signal });
      return { status: response.status, body: response.body ?? new ReadableStream({ start: (c) => { c.close(); } }) };
    } catch (error) {
      if (signal.aborted) throw error;
      if (error instanceof CertificateChangedError) throw new ManagerRequestError(0, "certificate_changed", error.message);
      throw new ManagerRequestError(0, "unreachable", `The manager at ${this.endpoint.url} is not reachable (${describe(error)}).`);
    }
  }

  /** One JSON request; errors become ManagerRequestError with the manager's code and message. */
  async request<T>(method: string, path: string, body?: unknown, signal?: AbortSignal, headers: Record<string, string> = {}): Promise<T> {
    let response: { ok: boolean; status: number; text(): Promise<string> };
    const sent: Record<string, string> = {
      authorization: `Bearer ${this.endpoint.token}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
      ...headers,
    };
    try {
      const pin = this.endpoint.tlsPin;
      if (pin !== undefined && this.endpoint.url.startsWith("https:")) {
        const answer = await pinnedRequest(this.endpoint.url + path, pin, { method, headers: sent, ...(body === undefined ? {} : { body: JSON.stringify(body) }), ...(signal ? { signal } : {}) });
        response = { ok: answer.status >= 200 && answer.status < 300, status: answer.status, text: () => Promise.resolve(answer.text) };
      } else {
        response = await fetch(this.endpoint.url + path, {
          method,
          headers: sent,
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          ...(signal ? { signal } : {}),
        });
      }
    } catch (error) {
      if (signal?.aborted) throw error;
      if (error instanceof CertificateChangedError) throw new ManagerRequestError(0, "certificate_changed", error.message);
      throw new ManagerRequestError(0, "unreachable", `The manager at ${this.endpoint.url} is not reachable (${describe(error)}).`);
    }
    const text = await response.text();
    let json: unknown;
    try {
      json = text.length > 0 ? JSON.parse(text) : undefined;
    } catch {
      throw new ManagerRequestError(response.status, "bad_response", `The manager answered ${response.status} with something that is not JSON.`);
    }
    if (!response.ok) {
      const parsed = ApiErrorBody.safeParse(json);
      if (parsed.success) {
        const { code, message, field, details } = parsed.data.error;
        throw new ManagerRequestError(response.status, code, message, field, details);
      }
      const openAi = OpenAiErrorBody.safeParse(json);
      if (openAi.success) throw new ManagerRequestError(response.status, openAi.data.error.code ?? openAi.data.error.type ?? "http_error", openAi.data.error.message);
      throw new ManagerRequestError(response.status, "http_error", `The manager answered ${response.status}.`);
    }
    return json as T;
  }

  /**
   * Follows `GET /api/events` until `signal` aborts, reconnecting with back-off and
   * Last-Event-ID so nothing is missed. `onEvent` also receives `resync` when state must be refetched.
   */
  async followEvents(onEvent: (event: SequencedEvent) => void, signal: AbortSignal, onConnection?: (connected: boolean) => void): Promise<void> {
    let lastId: number | undefined;
    let delay = 250;
    while (!signal.aborted) {
      try {
        const response = await fetch(`${this.endpoint.url}/api/events`, {
          headers: { authorization: `Bearer ${this.endpoint.token}`, accept: "text/event-stream", ...(lastId === undefined ? {} : { "last-event-id": String(lastId) }) },
          signal,
        });
        if (!response.ok || !response.body) throw new Error(`events answered ${response.status}`);
        onConnection?.(true);
        delay = 250;
        for await (const message of parseSse(response.body)) {
          if (message.id !== undefined) lastId = message.id;
          onEvent({ ...(JSON.parse(message.data) as Omit<SequencedEvent, "id">), id: message.id ?? lastId ?? 0 } as SequencedEvent);
        }
      } catch {
        // Dropped or refused: reconnect below (or leave, when aborted).
      }
      onConnection?.(false);
      await sleep(delay, signal);
      delay = Math.min(delay * 2, 5000);
    }
  }
}

/** Splits an SSE byte stream into messages (id + data); comments and retry lines are skipped. */
export async function* parseSse(body: ReadableStream<Uint8Array>): AsyncGenerator<{ id?: number; data: string }> {
  const decoder = new TextDecoder();
  let buffer = "";
  const reader = body.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let end: number;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let id: number | undefined;
        const data: string[] = [];
        for (const line of block.split("\n")) {
          if (line.startsWith("id:")) id = Number(line.slice(3).trim());
          else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
        }
        if (data.length > 0) yield id === undefined ? { data: data.join("\n") } : { id, data: data.join("\n") };
      }
    }
  } finally {
    reader.releaseLock();
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}

/** A Hub token for one request (the CLI's HF_TOKEN); the manager neither logs nor stores it. */
function hfHeader(token: string | undefined): Record<string, string> {
  return token ? { "x-hf-token": token } : {};
}

function describe(error: unknown): string {
  const cause = (error as { cause?: { code?: string } }).cause;
  return cause?.code ?? (error instanceof Error ? error.message : String(error));
}

/** A small error body as JSON (undefined when it is not JSON). */
async function readJson(body: ReadableStream<Uint8Array>): Promise<unknown> {
  try {
    return JSON.parse(await new Response(body).text());
  } catch {
    return undefined;
  }
}
