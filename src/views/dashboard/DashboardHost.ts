// The host side of the dashboard webview, without `vscode`: it answers the webview's requests
// through the manager client and relays state. DashboardPanel gives it a real webview; the
// Chromium tests give it a page, so the same code is tested against a real manager.
import type { ChatStreamChunk, ChatStreamRequest, ManagerClient } from "../../client/ManagerClient";
import type { ChatMessage, Conversation, ReplyStats } from "../../shared/conversations";
import { TEAM_TARGET_PREFIX, WebviewMessage, type HostMessage, type ProfileOption, type RequestResults, type StreamState, type WebviewRequest } from "../../shared/dashboard";
import type { SequencedEvent } from "../../shared/events";
import { benchCsv, type BenchRun, type PerplexityResult } from "../../shared/benchmarks";
import type { Job } from "../../shared/jobs";
import type { MetricsSnapshot } from "../../shared/metrics";
import { modelRefLabel, type Profile } from "../../shared/profiles";
import type { ServerInfo } from "../../shared/servers";

/** The part of ManagerClient the dashboard uses (tests may hand a narrower fake). */
export type DashboardClient = Pick<
  ManagerClient,
  | "profiles"
  | "servers"
  | "startServer"
  | "stopServer"
  | "restartServer"
  | "serverLogs"
  | "followEvents"
  | "followMetrics"
  | "chatStream"
  | "conversations"
  | "conversation"
  | "saveConversation"
  | "renameConversation"
  | "deleteConversation"
  | "jobs"
  | "job"
  | "jobReports"
  | "jobLog"
  | "cancelJob"
  | "resumeJob"
  | "profileFromJob"
  | "createProfile"
  | "benchmarks"
  | "startBenchmark"
  | "cancelBenchmark"
  | "deleteBenchmark"
  | "benchmark"
  | "perplexityResults"
>;

export interface DashboardLogger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** What only the real editor (or a test harness) can do. */
export interface DashboardPlatform {
  /** Asks where to save and writes; false when the user cancelled. */
  saveFile(fileName: string, content: string): Promise<boolean>;
  writeClipboard(text: string): Promise<void>;
  /** Runs one of the editor's commands (e.g. Fuse, which asks for a name in the editor). */
  runCommand(command: string, ...args: unknown[]): Promise<void>;
}

/** The team server a teammate signed in to: its models are extra chat targets (`team:<name>`). */
export interface TeamChatSource {
  /** The team's models as picker entries: id and name `team:<profile>`. */
  targets(): ProfileOption[];
  onDidChange(listener: () => void): { dispose(): void };
  /** Streams through the team server's `/v1` (request.model is the bare profile name). */
  chatStream(request: ChatStreamRequest, signal: AbortSignal): AsyncGenerator<ChatStreamChunk>;
}

export interface DashboardHostOptions {
  client: () => Promise<DashboardClient>;
  logger: DashboardLogger;
  platform: DashboardPlatform;
  /** Opaque key of the workspace the conversations belong to. */
  workspace: string;
  /** Delivers a message to the webview; false/throws when it is not there (hidden). */
  post: (message: HostMessage) => Thenable<boolean> | boolean;
  /** How long token deltas are gathered before one message carries them (default 16 ms). */
  flushMs?: number;
  now?: () => number;
  team?: TeamChatSource;
}

type Thenable<T> = PromiseLike<T>;

interface LiveStream extends StreamState {
  controller: AbortController;
  pending: string;
  timer: ReturnType<typeof setTimeout> | undefined;
}

const RETRY_MS = 2000;

/** One per panel: keeps servers, profiles, metrics and running chat streams, and relays them. */
export class DashboardHost {
  private readonly lifetime = new AbortController();
  private metricsWatch: AbortController | undefined;
  private readonly servers = new Map<string, ServerInfo>();
  private profiles: ProfileOption[] = [];
  private metrics: MetricsSnapshot | null = null;
  private readonly jobs = new Map<string, Job>();
  private readonly benchRuns = new Map<string, BenchRun>();
  private perplexity: PerplexityResult[] = [];
  private connected = false;
  private readonly streams = new Map<string, LiveStream>();
  /** Compare results that ended while the panel was hidden (they are saved nowhere else). */
  private readonly undelivered: HostMessage[] = [];
  /** The webview listens (it posted `ready` and is visible). */
  private listening = false;
  private visible = true;
  private started = false;
  private readonly now: () => number;

  constructor(private readonly options: DashboardHostOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Hands a raw message from the webview to the host; invalid ones are logged and dropped. */
  receive(raw: unknown): void {
    const parsed = WebviewMessage.safeParse(raw);
    if (!parsed.success) {
      this.options.logger.warn(`dashboard: ignored an invalid webview message (${parsed.error.issues[0]?.message ?? "unknown"})`);
      return;
    }
    const message = parsed.data;
    if (message.type === "ready") {
      this.listening = true;
      this.start();
      this.post(this.initMessage());
      for (const done of this.undelivered.splice(0)) this.post(done);
      return;
    }
    void this.answer(message);
  }

  /** The panel was hidden or shown: a hidden webview is gone until it posts `ready` again. */
  setVisible(visible: boolean): void {
    this.visible = visible;
    if (!visible) this.listening = false;
    this.updateMetricsWatch();
  }

  /** Ends the event and metrics streams; running chat streams stop and keep what they had. */
  dispose(): void {
    for (const stream of this.streams.values()) stream.controller.abort();
    this.metricsWatch?.abort();
    this.lifetime.abort();
  }

  /** Streams in progress (for tests and the panel's title). */
  get activeStreams(): number {
    return this.streams.size;
  }

  private start(): void {
    if (this.started) return;
    this.started = true;
    const team = this.options.team;
    if (team) {
      let shown = JSON.stringify(team.targets());
      const subscription = team.onDidChange(() => {
        const now = JSON.stringify(team.targets());
        if (now === shown) return;
        shown = now;
        this.post({ type: "profiles", profiles: this.chatTargets() });
      });
      this.lifetime.signal.addEventListener("abort", () => { subscription.dispose(); }, { once: true });
    }
    void this.followEvents();
    this.updateMetricsWatch();
  }

  private post(message: HostMessage): void {
    if (!this.listening) return;
    try {
      const sent = this.options.post(message);
      if (typeof sent !== "boolean") {
        sent.then(undefined, () => undefined);
      }
    } catch {
      // The webview went away between the check and the post; `ready` brings it back in sync.
    }
  }

  private initMessage(): HostMessage {
    return {
      type: "init",
      connected: this.connected,
      profiles: this.chatTargets(),
      servers: [...this.servers.values()],
      metrics: this.metrics,
      streams: [...this.streams.values()].map((s) => ({ streamId: s.streamId, conversationId: s.conversationId, model: s.model, text: s.text + s.pending, seq: s.seq + (s.pending ? 1 : 0), startedAt: s.startedAt, ...(s.compare ? { compare: true as const } : {}) })),
      jobs: [...this.jobs.values()],
      benchmarks: [...this.benchRuns.values()],
      perplexity: this.perplexity,
    };
  }

  /** The local profiles, then the team server's models. */
  private chatTargets(): ProfileOption[] {
    const team = this.options.team?.targets() ?? [];
    return team.length === 0 ? this.profiles : [...this.profiles, ...team];
  }

  // ---------------------------------------------------------------- manager state

  private async followEvents(): Promise<void> {
    const signal = this.lifetime.signal;
    while (!signal.aborted) {
      try {
        const client = await this.options.client();
        await this.refresh(client);
        await client.followEvents((event) => { this.onEvent(event, client); }, signal, (connected) => { this.setConnected(connected); });
      } catch (error) {
        this.setConnected(false);
        this.options.logger.warn(`dashboard: manager not reachable (${describe(error)})`);
      }
      await sleep(RETRY_MS, signal);
    }
  }

  private async refresh(client: DashboardClient): Promise<void> {
    const [profiles, servers, jobs, benchmarks, perplexity] = await Promise.all([client.profiles(), client.servers(), client.jobs(), client.benchmarks(), client.perplexityResults()]);
    this.benchRuns.clear();
    for (const run of benchmarks.benchmarks) this.benchRuns.set(run.id, run);
    this.perplexity = perplexity.results;
    this.profiles = profiles.profiles.map(profileOption);
    this.servers.clear();
    for (const server of servers.servers) this.servers.set(server.profileId, server);
    this.jobs.clear();
    for (const job of jobs.jobs) this.jobs.set(job.id, job);
    this.setConnected(true);
    this.post(this.initMessage());
  }

  private setConnected(connected: boolean): void {
    if (connected === this.connected) return;
    this.connected = connected;
    this.post({ type: "connection", connected });
  }

  private onEvent(event: SequencedEvent, client: DashboardClient): void {
    switch (event.type) {
      case "server.changed":
        this.servers.set(event.data.profileId, event.data);
        this.post({ type: "server.changed", server: event.data });
        break;
      case "server.removed":
        this.servers.delete(event.data.profileId);
        this.post({ type: "server.removed", profileId: event.data.profileId });
        break;
      case "profile.created":
      case "profile.updated":
        this.profiles = [...this.profiles.filter((p) => p.id !== event.data.id), profileOption(event.data)].sort((a, b) => a.name.localeCompare(b.name));
        this.post({ type: "profiles", profiles: this.chatTargets() });
        break;
      case "profile.deleted":
        this.profiles = this.profiles.filter((p) => p.id !== event.data.id);
        this.post({ type: "profiles", profiles: this.chatTargets() });
        break;
      case "job.changed":
        this.jobs.set(event.data.id, event.data);
        this.post({ type: "job.changed", job: event.data });
        break;
      case "job.report":
        this.post({ type: "job.report", jobId: event.data.id, report: event.data.report });
        break;
      case "bench.changed":
        this.benchRuns.set(event.data.id, event.data);
        this.post({ type: "bench.changed", run: event.data });
        break;
      case "perplexity.added":
        this.perplexity = [event.data, ...this.perplexity].slice(0, 200);
        this.post({ type: "perplexity.added", result: event.data });
        break;
      case "resync":
        void this.refresh(client).catch(() => undefined);
        break;
      default:
        break;
    }
  }

  /** Metrics are sampled only while someone watches, so only a visible panel watches. */
  private updateMetricsWatch(): void {
    const want = this.started && this.visible && !this.lifetime.signal.aborted;
    if (want && !this.metricsWatch) {
      const watch = (this.metricsWatch = new AbortController());
      void (async () => {
        while (!watch.signal.aborted) {
          try {
            const client = await this.options.client();
            await client.followMetrics((snapshot) => {
              this.metrics = snapshot;
              this.post({ type: "metrics", snapshot });
            }, watch.signal);
          } catch {
            // Not connected yet: try again below.
          }
          await sleep(RETRY_MS, watch.signal);
        }
      })();
    } else if (!want && this.metricsWatch) {
      this.metricsWatch.abort();
      this.metricsWatch = undefined;
    }
  }

  // ---------------------------------------------------------------- requests

  private async answer(message: WebviewRequest): Promise<void> {
    try {
      const result = await this.handle(message);
      this.post({ type: "reply", id: message.id, ok: true, result });
    } catch (error) {
      const code = typeof (error as { code?: unknown }).code === "string" ? (error as { code: string }).code : "failed";
      this.post({ type: "reply", id: message.id, ok: false, error: { code, message: describe(error) } });
    }
  }

  private async handle(message: WebviewRequest): Promise<RequestResults[WebviewRequest["type"]]> {
    const client = await this.options.client();
    switch (message.type) {
      case "servers.start":
        return client.startServer(message.profileId, { wait: false });
      case "servers.stop":
        return client.stopServer(message.profileId);
      case "servers.restart":
        return client.restartServer(message.profileId, { wait: false });
      case "servers.logs":
        return client.serverLogs(message.profileId, 200);
      case "chat.send":
        return this.send(client, { ...message.conversation, workspace: this.options.workspace }, message.streamId);
      case "chat.compare":
        return this.send(client, { ...message.conversation, workspace: this.options.workspace }, message.streamId, false);
      case "chat.abort": {
        const stream = this.streams.get(message.streamId);
        stream?.controller.abort();
        return { aborted: stream !== undefined };
      }
      case "conversations.list":
        return client.conversations(this.options.workspace);
      case "conversations.get":
        return client.conversation(message.conversationId);
      case "conversations.rename":
        return client.renameConversation(message.conversationId, message.title);
      case "conversations.delete":
        await client.deleteConversation(message.conversationId);
        return { deleted: true };
      case "conversations.export": {
        const conversation = await client.conversation(message.conversationId);
        const base = conversation.title.replace(/[^\p{L}\p{N} ._-]+/gu, "").trim() || "conversation";
        const fileName = `${base}.${message.format === "json" ? "json" : "md"}`;
        const content = message.format === "json" ? `${JSON.stringify(conversation, null, 2)}\n` : conversationMarkdown(conversation);
        return { saved: await this.options.platform.saveFile(fileName, content), fileName };
      }
      case "clipboard.write":
        await this.options.platform.writeClipboard(message.text);
        return { written: true };
      case "jobs.reports":
        return client.jobReports(message.jobId);
      case "jobs.log":
        return client.jobLog(message.jobId, 200);
      case "jobs.cancel":
        return client.cancelJob(message.jobId);
      case "jobs.resume":
        return client.resumeJob(message.jobId);
      case "jobs.compare":
        return this.compareJob(client, message.jobId);
      case "command.run":
        await this.options.platform.runCommand(message.command, ...(message.jobId === undefined ? [] : [message.jobId]));
        return { ran: true };
      case "bench.start":
        return client.startBenchmark({ profiles: message.profiles, settings: message.settings });
      case "bench.cancel":
        return client.cancelBenchmark(message.runId);
      case "bench.delete":
        await client.deleteBenchmark(message.runId);
        this.benchRuns.delete(message.runId);
        this.post({ type: "bench.removed", runId: message.runId });
        return { deleted: true };
      case "bench.export": {
        const run = await client.benchmark(message.runId);
        const fileName = `benchmark-${new Date(run.createdAt).toISOString().slice(0, 16).replace(/[:T]/g, "-")}.${message.format}`;
        const content = message.format === "csv" ? benchCsv(run) : `${JSON.stringify(run, null, 2)}\n`;
        return { saved: await this.options.platform.saveFile(fileName, content), fileName };
      }
    }
  }

  /**
   * Compare base and adapted: a profile serving the job's base model and one serving it with the
   * job's adapter, the same engine and options otherwise. Profiles that already do are reused.
   */
  private async compareJob(client: DashboardClient, jobId: string): Promise<{ base: string; adapted: string }> {
    const job = await client.job(jobId);
    if (job.state !== "completed") throw Object.assign(new Error(`"${job.name}" is ${job.state}: its adapter can be compared with the base model once the job has completed.`), { code: "conflict" });
    const all = (await client.profiles()).profiles;
    const taken = new Set(all.flatMap((p) => [p.name, ...(p.aliases ?? [])]));
    const freeName = (wanted: string): string => {
      let name = wanted;
      for (let n = 2; taken.has(name); n++) name = `${wanted}-${n}`;
      taken.add(name);
      return name;
    };
    const model = modelRefLabel(job.model);
    const serving = (p: Profile): boolean => p.engine === "mlx-lm" && modelRefLabel(p.model) === model;
    const adapted = all.find((p) => serving(p) && p.options.adapterPath === job.adapterPath) ?? (await client.profileFromJob(job.id, freeName(`${job.name}-adapter`)));
    const base = all.find((p) => serving(p) && p.options.adapterPath === undefined) ?? (await client.createProfile({ name: freeName(`${job.name}-base`), engine: "mlx-lm", model: job.model }));
    // The pickers get the new profiles before the reply that selects them.
    for (const p of [base, adapted]) if (!this.profiles.some((o) => o.id === p.id)) this.profiles = [...this.profiles, profileOption(p)].sort((a, b) => a.name.localeCompare(b.name));
    this.post({ type: "profiles", profiles: this.chatTargets() });
    return { base: base.name, adapted: adapted.name };
  }

  /**
   * Saves the conversation, then streams the reply in the background (it outlives a hidden panel).
   * A Compare stream (`persist` false) saves nothing: two of them run at once on one prompt.
   */
  private async send(client: DashboardClient, conversation: Conversation, streamId: string, persist = true): Promise<{ streamId: string }> {
    if (this.streams.has(streamId)) throw Object.assign(new Error(`Stream ${streamId} already runs.`), { code: "conflict" });
    if (conversation.messages.at(-1)?.role !== "user") throw Object.assign(new Error("The last message must be the user's."), { code: "validation_failed" });
    const saved = persist ? await client.saveConversation(conversation) : conversation;
    const stream: LiveStream = {
      streamId,
      conversationId: saved.id,
      model: saved.target,
      text: "",
      seq: 0,
      startedAt: this.now(),
      controller: new AbortController(),
      pending: "",
      timer: undefined,
      ...(persist ? {} : { compare: true as const }),
    };
    this.streams.set(streamId, stream);
    void this.run(client, saved, stream);
    return { streamId };
  }

  private async run(client: DashboardClient, conversation: Conversation, stream: LiveStream): Promise<void> {
    const started = this.now();
    let firstTokenAt: number | undefined;
    let usage: Extract<ChatStreamChunk, { type: "usage" }> | undefined;
    let error: string | undefined;
    try {
      const request = chatRequest(conversation);
      const team = request.model.startsWith(TEAM_TARGET_PREFIX) ? this.options.team : undefined;
      if (request.model.startsWith(TEAM_TARGET_PREFIX) && team === undefined) throw new Error(`${request.model} is a team model, and no team server is signed in to. Run MLX: Connect to Team Server.`);
      const chunks = team ? team.chatStream({ ...request, model: request.model.slice(TEAM_TARGET_PREFIX.length) }, stream.controller.signal) : client.chatStream(request, stream.controller.signal);
      for await (const chunk of chunks) {
        if (chunk.type === "usage") {
          usage = chunk;
          continue;
        }
        firstTokenAt ??= this.now();
        this.queueDelta(stream, chunk.text);
      }
    } catch (caught) {
      if (!stream.controller.signal.aborted) error = describe(caught);
    }
    this.flush(stream);
    const ended = this.now();
    const decodeMs = firstTokenAt === undefined ? 0 : ended - firstTokenAt;
    const stats: ReplyStats = {
      durationMs: ended - started,
      ...(firstTokenAt === undefined ? {} : { ttftMs: firstTokenAt - started }),
      ...(usage ? { promptTokens: usage.promptTokens, completionTokens: usage.completionTokens } : {}),
      ...(usage && decodeMs > 0 && usage.completionTokens > 1 ? { tokensPerSec: ((usage.completionTokens - 1) * 1000) / decodeMs } : {}),
      ...(stream.controller.signal.aborted ? { aborted: true } : {}),
      ...(error === undefined ? {} : { error: error.slice(0, 2000) }),
    };
    if (stream.compare) {
      this.streams.delete(stream.streamId);
      const done: HostMessage = { type: "compare.done", streamId: stream.streamId, text: stream.text, stats };
      if (this.listening) this.post(done);
      else {
        // Only the last comparison (two sides) can still be on screen.
        this.undelivered.push(done);
        if (this.undelivered.length > 2) this.undelivered.splice(0, this.undelivered.length - 2);
      }
      return;
    }
    const reply: ChatMessage = { role: "assistant", content: stream.text, model: conversation.target, stats };
    let finished: Conversation = { ...conversation, messages: [...conversation.messages, reply], updatedAt: this.now() };
    try {
      finished = await client.saveConversation(finished);
    } catch (caught) {
      this.options.logger.error(`dashboard: could not save conversation ${conversation.id} (${describe(caught)})`);
    }
    this.streams.delete(stream.streamId);
    this.post({ type: "chat.done", streamId: stream.streamId, conversation: finished, stats });
  }

  /** Gathers tokens for a few ms so a 2,000 tokens/s stream is ~60 messages/s, not 2,000. */
  private queueDelta(stream: LiveStream, text: string): void {
    stream.pending += text;
    stream.timer ??= setTimeout(() => { this.flush(stream); }, this.options.flushMs ?? 16);
  }

  private flush(stream: LiveStream): void {
    if (stream.timer !== undefined) clearTimeout(stream.timer);
    stream.timer = undefined;
    if (!stream.pending) return;
    const text = stream.pending;
    stream.pending = "";
    stream.text += text;
    this.post({ type: "chat.delta", streamId: stream.streamId, seq: stream.seq, text });
    stream.seq += 1;
  }
}

function chatRequest(conversation: Conversation): ChatStreamRequest {
  const { params } = conversation;
  return {
    model: conversation.target,
    messages: [
      ...(conversation.systemPrompt.trim() ? [{ role: "system" as const, content: conversation.systemPrompt }] : []),
      ...conversation.messages.map((m) => ({ role: m.role, content: m.content })),
    ],
    temperature: params.temperature,
    top_p: params.topP,
    max_tokens: params.maxTokens,
    ...(params.seed === undefined ? {} : { seed: params.seed }),
  };
}

function profileOption(profile: Profile): ProfileOption {
  const model = modelRefLabel(profile.model);
  return { id: profile.id, name: profile.name, engine: profile.engine, model };
}

/** A conversation as a Markdown document (the "Export Markdown" action). */
export function conversationMarkdown(conversation: Conversation): string {
  const lines = [`# ${conversation.title}`, "", `Model: ${conversation.target}  `, `Temperature ${conversation.params.temperature}, top_p ${conversation.params.topP}, max tokens ${conversation.params.maxTokens}${conversation.params.seed === undefined ? "" : `, seed ${conversation.params.seed}`}`, ""];
  if (conversation.systemPrompt.trim()) lines.push("## System", "", conversation.systemPrompt, "");
  for (const message of conversation.messages) {
    lines.push(message.role === "user" ? "## User" : `## Assistant${message.model ? ` (${message.model})` : ""}`, "", message.content, "");
    const s = message.stats;
    if (s) {
      const parts = [
        s.ttftMs === undefined ? undefined : `TTFT ${Math.round(s.ttftMs)} ms`,
        s.tokensPerSec === undefined ? undefined : `${s.tokensPerSec.toFixed(1)} tokens/s`,
        s.completionTokens === undefined ? undefined : `${s.promptTokens ?? 0} prompt + ${s.completionTokens} completion tokens`,
        s.aborted ? "stopped" : undefined,
        s.error ? `error: ${s.error}` : undefined,
      ].filter((p): p is string => p !== undefined);
      if (parts.length > 0) lines.push(`_${parts.join(" · ")}_`, "");
    }
  }
  return `${lines.join("\n").trimEnd()}\n`;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve();
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
