import * as z from "zod";
import { Conversation, type ConversationSummary, type ReplyStats } from "./conversations";
import { BenchSettings, type BenchRun, type PerplexityResult } from "./benchmarks";
import type { Job, JobReport } from "./jobs";
import type { MetricsSnapshot } from "./metrics";
import type { ServerInfo, ServerLogTail } from "./servers";

// The message protocol between the dashboard webview and the extension host (GitLens style:
// one type per request and per notification). The webview never reaches the manager itself.
// Order: the webview posts `ready`; only then does the host post, starting with `init`.
// Requests carry an `id`; the host answers each with one `reply` of the same id.

const Id = z.int().min(0);

/** Chat targets of the team server a teammate signed in to are `team:<profile>` (local ones are bare names). */
export const TEAM_TARGET_PREFIX = "team:";
const ProfileRef = z.string().min(1).max(200);
const StreamId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);
const JobRef = z.string().min(1).max(200);

// ---------------------------------------------------------------- webview → host

/** Every message the webview may post; the host validates each with this schema. */
export const WebviewMessage = z.discriminatedUnion("type", [
  z.object({ type: z.literal("ready") }),
  z.object({ type: z.literal("servers.start"), id: Id, profileId: ProfileRef }),
  z.object({ type: z.literal("servers.stop"), id: Id, profileId: ProfileRef }),
  z.object({ type: z.literal("servers.restart"), id: Id, profileId: ProfileRef }),
  z.object({ type: z.literal("servers.logs"), id: Id, profileId: ProfileRef }),
  /** Saves `conversation` (its last message is the user's) and streams the reply into it. */
  z.object({ type: z.literal("chat.send"), id: Id, streamId: StreamId, conversation: Conversation.omit({ workspace: true }) }),
  /** Compare: streams a reply to `conversation` without saving it (one of two side by side). */
  z.object({ type: z.literal("chat.compare"), id: Id, streamId: StreamId, conversation: Conversation.omit({ workspace: true }) }),
  z.object({ type: z.literal("chat.abort"), id: Id, streamId: StreamId }),
  z.object({ type: z.literal("conversations.list"), id: Id }),
  z.object({ type: z.literal("conversations.get"), id: Id, conversationId: z.string().max(64) }),
  z.object({ type: z.literal("conversations.rename"), id: Id, conversationId: z.string().max(64), title: z.string().trim().min(1).max(200) }),
  z.object({ type: z.literal("conversations.delete"), id: Id, conversationId: z.string().max(64) }),
  z.object({ type: z.literal("conversations.export"), id: Id, conversationId: z.string().max(64), format: z.enum(["markdown", "json"]) }),
  z.object({ type: z.literal("clipboard.write"), id: Id, text: z.string().max(1_000_000) }),
  /** A job's reports so far (its chart's history); later ones come as `job.report`. */
  z.object({ type: z.literal("jobs.reports"), id: Id, jobId: JobRef }),
  z.object({ type: z.literal("jobs.log"), id: Id, jobId: JobRef }),
  z.object({ type: z.literal("jobs.cancel"), id: Id, jobId: JobRef }),
  z.object({ type: z.literal("jobs.resume"), id: Id, jobId: JobRef }),
  /** A profile of the base model and one with the job's adapter (existing ones reused), for Compare. */
  z.object({ type: z.literal("jobs.compare"), id: Id, jobId: JobRef }),
  /** One of the editor's commands (they ask for names and files in the editor's own inputs); `jobId` is a job's or a profile's id. */
  z.object({ type: z.literal("command.run"), id: Id, command: z.enum(["mlx.fineTune", "mlx.serveJobAdapter", "mlx.fuseJobAdapter", "mlx.showJobLog", "mlx.measurePerplexity"]), jobId: JobRef.optional() }),
  z.object({ type: z.literal("bench.start"), id: Id, profiles: z.array(ProfileRef).min(1).max(8), settings: BenchSettings }),
  z.object({ type: z.literal("bench.cancel"), id: Id, runId: JobRef }),
  z.object({ type: z.literal("bench.delete"), id: Id, runId: JobRef }),
  /** Saves a run as CSV or JSON where the user picks. */
  z.object({ type: z.literal("bench.export"), id: Id, runId: JobRef, format: z.enum(["csv", "json"]) }),
]);
export type WebviewMessage = z.infer<typeof WebviewMessage>;
export type WebviewRequest = Exclude<WebviewMessage, { type: "ready" }>;
export type WebviewRequestType = WebviewRequest["type"];

/** A conversation as the webview sends it: the host adds the workspace. */
export type ConversationDraft = Omit<Conversation, "workspace">;

/** What each request's reply carries when it succeeds. */
export interface RequestResults {
  "servers.start": ServerInfo;
  "servers.stop": ServerInfo;
  "servers.restart": ServerInfo;
  "servers.logs": ServerLogTail;
  "chat.send": { streamId: string };
  "chat.compare": { streamId: string };
  "chat.abort": { aborted: boolean };
  "conversations.list": { conversations: ConversationSummary[] };
  "conversations.get": Conversation;
  "conversations.rename": Conversation;
  "conversations.delete": { deleted: boolean };
  /** `saved` false: the user cancelled the save dialog. */
  "conversations.export": { saved: boolean; fileName: string };
  "clipboard.write": { written: boolean };
  "jobs.reports": { reports: JobReport[] };
  "jobs.log": { lines: string[] };
  "jobs.cancel": Job;
  "jobs.resume": Job;
  /** The two profiles' names: the base model, and the base model with the adapter. */
  "jobs.compare": { base: string; adapted: string };
  "command.run": { ran: boolean };
  "bench.start": BenchRun;
  "bench.cancel": BenchRun;
  "bench.delete": { deleted: boolean };
  "bench.export": { saved: boolean; fileName: string };
}

// ---------------------------------------------------------------- host → webview

/** A profile as the pickers need it. */
export interface ProfileOption {
  id: string;
  name: string;
  engine: string;
  /** Repo id (+ file) or path, for display and search. */
  model: string;
}

/** A reply being streamed; sent in `init` too, so a panel that was hidden shows all of it. */
export interface StreamState {
  streamId: string;
  conversationId: string;
  model: string;
  text: string;
  /** Number of deltas folded into `text`: the next `chat.delta` has seq = this. */
  seq: number;
  startedAt: number;
  /** A Compare stream: not part of any saved conversation. */
  compare?: true;
}

export type HostMessage =
  | { type: "reply"; id: number; ok: true; result: unknown }
  | { type: "reply"; id: number; ok: false; error: { code: string; message: string } }
  | {
      type: "init";
      connected: boolean;
      profiles: ProfileOption[];
      servers: ServerInfo[];
      metrics: MetricsSnapshot | null;
      streams: StreamState[];
      jobs: Job[];
      benchmarks: BenchRun[];
      perplexity: PerplexityResult[];
    }
  | { type: "connection"; connected: boolean }
  | { type: "profiles"; profiles: ProfileOption[] }
  | { type: "server.changed"; server: ServerInfo }
  | { type: "server.removed"; profileId: string }
  | { type: "metrics"; snapshot: MetricsSnapshot }
  /** Deltas arrive in seq order (0, 1, 2, ...); text is one or more tokens. */
  | { type: "chat.delta"; streamId: string; seq: number; text: string }
  /** The reply finished (or was stopped, or failed) and is saved in `conversation`. */
  | { type: "chat.done"; streamId: string; conversation: Conversation; stats: ReplyStats }
  /** A Compare stream finished (or was stopped, or failed); nothing was saved. */
  | { type: "compare.done"; streamId: string; text: string; stats: ReplyStats }
  | { type: "job.changed"; job: Job }
  | { type: "bench.changed"; run: BenchRun }
  | { type: "bench.removed"; runId: string }
  | { type: "perplexity.added"; result: PerplexityResult }
  /** One report of a running job: a point of its chart. */
  | { type: "job.report"; jobId: string; report: JobReport }
  /**
   * A command of the host (e.g. "Chat" on a server in the tree) asks the panel to show a tab; on
   * the Jobs tab `profileId` is a job's id.
   */
  | { type: "show"; tab: DashboardTab; profileId?: string };

export type DashboardTab = "servers" | "chat" | "jobs" | "bench";

export type HostMessageType = HostMessage["type"];
