// What the /v1 gateway measures: one record per request and a rolling snapshot per server.

export type RequestStatus = "ok" | "error" | "aborted";
export type GatewayEndpoint = "chat.completions" | "completions" | "embeddings" | "audio.transcriptions" | "images.generations" | "messages" | "responses";

/** What the gateway measured of one request to a model server. */
export interface UsageRecord {
  profileId: string;
  profileName: string;
  /** The client's `x-request-id` header, when it sent one (at most 128 characters): a client can find its own request's record. */
  requestId?: string;
  /** Who asked (shared mode); absent for the local user. */
  userId?: string;
  endpoint: GatewayEndpoint;
  stream: boolean;
  status: RequestStatus;
  /** The HTTP status the client got (499 when it hung up first). */
  httpStatus: number;
  /** Epoch ms when the request reached the gateway. */
  startedAt: number;
  /** From arrival at the gateway to the last byte relayed (or the abort). */
  durationMs: number;
  /** Time spent waiting for a just-in-time start (0 when the server was running). */
  startupMs: number;
  /** Waiting for a slot of the server in the gateway's queue (absent when the gateway has no queue). */
  queueMs?: number;
  /** Request sent upstream → first generated text (streams only): the prefill, after any wait in the queue. */
  ttftMs?: number;
  /** Arrival at the gateway → first generated text relayed (streams only): TTFT as the client sees it, start-up and queue included. */
  firstTokenMs?: number;
  /** Decode speed: (completion tokens − 1) / (last token time − first token time). */
  tokensPerSecond?: number;
  promptTokens?: number;
  completionTokens?: number;
  /** Where completionTokens came from: the upstream's usage, or counted text deltas. */
  tokenSource: "usage" | "counted" | "none";
  /** Why it failed, for the log and the dashboard. */
  error?: string;
  /** The `model` the client asked for, when it named replicas (several profiles): this profile is the one chosen. */
  requestedModel?: string;
  /** Replicas tried first that failed before answering (their profile names, in order). */
  failedOver?: string[];
}

/** A server's figures in the rolling window (what the dashboard and metrics show). */
export interface ServerUsageSnapshot {
  profileId: string;
  profileName: string;
  /** Requests being relayed now. */
  inFlight: number;
  /** Since the manager started. */
  total: { requests: number; errors: number; aborted: number; promptTokens: number; completionTokens: number };
  /** Requests that ended in the last 60 s. */
  lastMinute: {
    requests: number;
    errors: number;
    promptTokens: number;
    completionTokens: number;
    /** Decode tokens/s over the minute's measurable requests: Σ(tokens − 1) / Σ decode time. */
    tokensPerSecond?: number;
  };
  /** Decode tokens/s of the latest request that had a measurable one. */
  tokensPerSecondLastRequest?: number;
  /** Median time to first token over the last `windowSize` streamed requests (from sending upstream: the prefill). */
  ttftP50Ms?: number;
  /** Median wait for a slot in the gateway's queue over the last `windowSize` requests. */
  queueWaitP50Ms?: number;
  /** The gateway's queue of the server now: requests answered, waiting, and its slots. */
  queue?: { active: number; waiting: number; slots: number };
  lastRequest?: UsageRecord;
  /** The last `windowSize` requests, oldest first. */
  recent: UsageRecord[];
}

/** `GET /api/usage`: the rolling window of every server the gateway has relayed to since the manager started. */
export interface UsageList {
  servers: ServerUsageSnapshot[];
}
