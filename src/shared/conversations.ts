import * as z from "zod";

// Chat playground conversations, kept by the manager per workspace (`/api/conversations`).
// The webview, the extension host and the manager all read this one shape.

/** Sampling settings of a conversation (what the chat tab's sliders set). */
export const ChatParams = z
  .object({
    temperature: z.number().min(0).max(2),
    topP: z.number().min(0).max(1),
    maxTokens: z.int().min(1).max(32_768),
    /** Absent: the engine picks one. */
    seed: z.int().min(0).max(2 ** 32 - 1).optional(),
  })
  .strict();
export type ChatParams = z.infer<typeof ChatParams>;

/** What a finished reply measured: through the gateway, so TTFT includes a just-in-time start. */
export const ReplyStats = z
  .object({
    ttftMs: z.number().min(0).optional(),
    tokensPerSec: z.number().min(0).optional(),
    promptTokens: z.int().min(0).optional(),
    completionTokens: z.int().min(0).optional(),
    durationMs: z.number().min(0),
    /** Stopped by the user before the model finished. */
    aborted: z.boolean().optional(),
    error: z.string().max(2000).optional(),
  })
  .strict();
export type ReplyStats = z.infer<typeof ReplyStats>;

export const ChatMessage = z
  .object({
    role: z.enum(["user", "assistant"]),
    content: z.string().max(1_000_000),
    /** Which profile answered (assistant messages). */
    model: z.string().max(200).optional(),
    stats: ReplyStats.optional(),
  })
  .strict();
export type ChatMessage = z.infer<typeof ChatMessage>;

export const Conversation = z
  .object({
    id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
    /** Opaque workspace key (the host hashes the workspace folder URIs). */
    workspace: z.string().min(1).max(200),
    title: z.string().trim().min(1).max(200),
    /** Profile id or name the conversation talks to. */
    target: z.string().max(200),
    systemPrompt: z.string().max(100_000),
    params: ChatParams,
    messages: z.array(ChatMessage).max(10_000),
    createdAt: z.number(),
    updatedAt: z.number(),
  })
  .strict();
export type Conversation = z.infer<typeof Conversation>;

/** One line of `GET /api/conversations?workspace=…`: newest first. */
export interface ConversationSummary {
  id: string;
  title: string;
  messages: number;
  updatedAt: number;
}

export interface ConversationList {
  conversations: ConversationSummary[];
}

export const ConversationRename = z.object({ title: z.string().trim().min(1).max(200) }).strict();
