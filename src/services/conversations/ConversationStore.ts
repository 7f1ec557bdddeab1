import type { FastifyInstance } from "fastify";
import * as z from "zod";
import { Conversation, ConversationRename, type ConversationList, type ConversationSummary } from "../../shared/conversations";
import { ApiError, parseOrThrow } from "../api/ApiError";
import type { Store } from "../store/Store";

type Row = { id: string; workspace: string; title: string; data: string; message_count: number; updated_at: number };

/** The chat playground's conversations, one row each, listed per workspace. */
export class ConversationStore {
  constructor(private readonly store: Store) {}

  /** Summaries of a workspace's conversations, newest first. */
  list(workspace: string): ConversationSummary[] {
    return this.store
      .all<Row>("SELECT id, title, message_count, updated_at FROM conversations WHERE workspace = ? ORDER BY updated_at DESC", [workspace])
      .map((row) => ({ id: row.id, title: row.title, messages: row.message_count, updatedAt: row.updated_at }));
  }

  get(id: string): Conversation | undefined {
    const row = this.store.get<Row>("SELECT data FROM conversations WHERE id = ?", [id]);
    return row ? Conversation.parse(JSON.parse(row.data)) : undefined;
  }

  /** Creates or replaces a conversation as a whole (the host sends the full document). */
  put(conversation: Conversation): Conversation {
    this.store.run(
      `INSERT INTO conversations (id, workspace, title, data, message_count, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET workspace = excluded.workspace, title = excluded.title, data = excluded.data,
         message_count = excluded.message_count, updated_at = excluded.updated_at`,
      [conversation.id, conversation.workspace, conversation.title, JSON.stringify(conversation), conversation.messages.length, conversation.createdAt, conversation.updatedAt],
    );
    return conversation;
  }

  rename(id: string, title: string, now = Date.now()): Conversation | undefined {
    const found = this.get(id);
    return found ? this.put({ ...found, title, updatedAt: now }) : undefined;
  }

  delete(id: string): boolean {
    const found = this.store.get<Row>("SELECT id FROM conversations WHERE id = ?", [id]);
    if (!found) return false;
    this.store.run("DELETE FROM conversations WHERE id = ?", [id]);
    return true;
  }
}

const ById = z.object({ id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/) });
const ByWorkspace = z.object({ workspace: z.string().min(1).max(200) });

/** `GET/PUT/PATCH/DELETE /api/conversations[/:id]`: the chat playground's history. */
export function registerConversationRoutes(app: FastifyInstance, deps: { conversations: ConversationStore }): void {
  const { conversations } = deps;
  const found = (id: string): Conversation => {
    const conversation = conversations.get(id);
    if (!conversation) throw new ApiError(404, "not_found", `No conversation ${id}.`);
    return conversation;
  };
  app.get("/api/conversations", async (request): Promise<ConversationList> => {
    const { workspace } = parseOrThrow(ByWorkspace, request.query, "query");
    return { conversations: conversations.list(workspace) };
  });
  app.get("/api/conversations/:id", async (request) => found(parseOrThrow(ById, request.params, "path").id));
  app.put("/api/conversations/:id", async (request) => {
    const { id } = parseOrThrow(ById, request.params, "path");
    const conversation = parseOrThrow(Conversation, request.body);
    if (conversation.id !== id) throw new ApiError(400, "validation_failed", "The body's id differs from the path's.", "id");
    return conversations.put(conversation);
  });
  app.patch("/api/conversations/:id", async (request) => {
    const { id } = parseOrThrow(ById, request.params, "path");
    const { title } = parseOrThrow(ConversationRename, request.body);
    return conversations.rename(id, title) ?? found(id);
  });
  app.delete("/api/conversations/:id", async (request, reply) => {
    const { id } = parseOrThrow(ById, request.params, "path");
    if (!conversations.delete(id)) throw new ApiError(404, "not_found", `No conversation ${id}.`);
    return reply.code(204).send();
  });
}
