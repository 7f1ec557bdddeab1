// The Chat Completions request every engine takes: what the Messages and Responses translations make.

/** What the target profile can take. */
export interface TargetAbilities {
  /** Image parts can go to it. */
  images: boolean;
}

export type ChatContentPart = { type: "text"; text: string } | { type: "image_url"; image_url: { url: string } };
export type ChatMessage =
  | { role: "system" | "user"; content: string | ChatContentPart[] }
  | { role: "assistant"; content: string | null; tool_calls?: ChatToolCall[] }
  | { role: "tool"; tool_call_id: string; content: string };
export interface ChatToolCall {
  id: string;
  type: "function";
  function: { name: string; arguments: string };
}

/** A Chat Completions body (model and stream are set by the caller). */
export interface ChatRequestBody {
  messages: ChatMessage[];
  tools?: { type: "function"; function: { name: string; description?: string; parameters: Record<string, unknown> } }[];
  tool_choice?: "auto" | "required" | "none" | { type: "function"; function: { name: string } };
  parallel_tool_calls?: boolean;
  max_tokens?: number;
  stop?: string[];
  temperature?: number;
  top_p?: number;
  top_k?: number;
  response_format?: { type: "json_object" } | { type: "json_schema"; json_schema: { name: string; schema: Record<string, unknown>; strict?: boolean } };
}

// What an engine answers, as the translations read it: a streamed chunk or a whole answer (every
// field optional: engines differ, and a missing one is no error).

export interface ChatToolCallDelta {
  index?: number;
  id?: string;
  function?: { name?: string; arguments?: string };
}
export interface ChatChoice {
  finish_reason?: string | null;
  /** Our `llama` engine names the stop sequence that ended a reply (llama-server: `stopping_word`). */
  stop_sequence?: string | null;
  stopping_word?: string | null;
  /** `reasoning_content`: llama-server's and mlx-openai-server's (with a reasoning parser) thinking. */
  delta?: { content?: string | null; reasoning_content?: string | null; tool_calls?: ChatToolCallDelta[] | null } | null;
  message?: { content?: string | null; reasoning_content?: string | null; tool_calls?: { id?: string; function?: { name?: string; arguments?: string } }[] | null } | null;
}
export interface ChatAnswer {
  choices?: ChatChoice[] | null;
  usage?: { prompt_tokens?: number | null; completion_tokens?: number | null; prompt_tokens_details?: { cached_tokens?: number | null } | null } | null;
  error?: { message?: string } | string | null;
}

/** One streamed payload of an engine: its chunk, the error it reports, or nothing to translate ([DONE], not JSON). */
export function readChatChunk(data: string): { chunk: ChatAnswer } | { error: string } | undefined {
  if (data === "[DONE]") return undefined;
  let chunk: ChatAnswer;
  try {
    chunk = JSON.parse(data) as ChatAnswer;
  } catch {
    return undefined;
  }
  if (chunk.error != null) return { error: typeof chunk.error === "string" ? chunk.error : (chunk.error.message ?? "the model server reported an error") };
  return { chunk };
}
