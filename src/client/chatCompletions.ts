// Streamed chat completions with tools, in OpenAI's wire shape: what the VS Code language-model
// provider sends through the manager's /v1 gateway, and how the streamed answer is read back.
import * as z from "zod";

/** A function the model may call (OpenAI's `tools[]` entry). */
export interface ChatTool {
  type: "function";
  function: { name: string; description?: string; parameters?: object };
}

/** One call the model asked for (OpenAI's `tool_calls[]` entry); `arguments` is a JSON string. */
export interface ChatToolCall {
  id: string;
  type: "function";
  function: { name: string; arguments: string };
}

export type ChatContentPart = { type: "text"; text: string } | { type: "image_url"; image_url: { url: string } };

export type ChatMessage =
  | { role: "system"; content: string }
  | { role: "user"; content: string | ChatContentPart[] }
  | { role: "assistant"; content: string | null; tool_calls?: ChatToolCall[] }
  | { role: "tool"; tool_call_id: string; content: string };

/** A `/v1/chat/completions` request (`stream` and `stream_options` are added by the client). */
export interface ChatCompletionStreamRequest {
  model: string;
  messages: ChatMessage[];
  tools?: ChatTool[];
  tool_choice?: "auto" | "required" | "none";
  temperature?: number;
  top_p?: number;
  max_tokens?: number;
  seed?: number;
  stop?: string | string[];
}

/** What the stream yields: text as it arrives, each tool call once complete, why it ended, token counts. */
export type ChatCompletionEvent =
  | { type: "text"; text: string }
  | { type: "toolCall"; id: string; name: string; arguments: string }
  | { type: "finish"; reason: string }
  | { type: "usage"; promptTokens: number; completionTokens: number }
  | { type: "error"; message: string };

const ToolCallDelta = z.object({
  index: z.number().int().nullish(),
  id: z.string().nullish(),
  function: z.object({ name: z.string().nullish(), arguments: z.string().nullish() }).nullish(),
});

const Chunk = z.object({
  choices: z
    .array(
      z.object({
        delta: z.object({ content: z.string().nullish(), tool_calls: z.array(ToolCallDelta).nullish() }).nullish(),
        finish_reason: z.string().nullish(),
      }),
    )
    .nullish(),
  usage: z.object({ prompt_tokens: z.number(), completion_tokens: z.number() }).nullish(),
  error: z.object({ message: z.string() }).nullish(),
});

/**
 * Collects streamed tool-call deltas: OpenAI sends the id and name once and the arguments in
 * pieces, keyed by `index`. Servers that leave `index` out send one call per delta run; a new id
 * or name then starts a new call.
 */
export class ToolCallAssembler {
  private readonly calls = new Map<number, { id: string; name: string; arguments: string }>();
  private last = -1;
  private generated = 0;

  add(delta: z.infer<typeof ToolCallDelta>): void {
    let index = delta.index ?? undefined;
    if (index === undefined) {
      const current = this.calls.get(this.last);
      // A name comes once per call: a second name, like a different id, starts the next call.
      const next = current === undefined || (delta.id && current.id && delta.id !== current.id) || (delta.function?.name && current.name);
      index = next ? this.last + 1 : this.last;
    }
    this.last = Math.max(this.last, index);
    const call = this.calls.get(index) ?? { id: "", name: "", arguments: "" };
    if (delta.id) call.id = delta.id;
    if (delta.function?.name) call.name += delta.function.name;
    if (delta.function?.arguments) call.arguments += delta.function.arguments;
    this.calls.set(index, call);
  }

  get pending(): boolean {
    return this.calls.size > 0;
  }

  /** The calls collected so far, in index order (ids made up for servers that send none); then empty. */
  take(): { id: string; name: string; arguments: string }[] {
    const out = [...this.calls.entries()].sort(([a], [b]) => a - b).map(([, call]) => ({ ...call, id: call.id || `call_${++this.generated}` }));
    this.calls.clear();
    this.last = -1;
    return out;
  }
}

/** Turns the SSE messages of a streamed chat completion into events. */
export async function* chatCompletionEvents(messages: AsyncIterable<{ data: string }>): AsyncGenerator<ChatCompletionEvent> {
  const tools = new ToolCallAssembler();
  const flush = function* (): Generator<ChatCompletionEvent> {
    for (const call of tools.take()) yield { type: "toolCall", ...call };
  };
  for await (const message of messages) {
    if (message.data === "[DONE]") break;
    let json: unknown;
    try {
      json = JSON.parse(message.data);
    } catch {
      continue;
    }
    const parsed = Chunk.safeParse(json);
    if (!parsed.success) continue;
    if (parsed.data.error) {
      yield { type: "error", message: parsed.data.error.message };
      return;
    }
    const choice = parsed.data.choices?.[0];
    const text = choice?.delta?.content;
    if (text) yield { type: "text", text };
    for (const delta of choice?.delta?.tool_calls ?? []) tools.add(delta);
    if (choice?.finish_reason) {
      yield* flush();
      yield { type: "finish", reason: choice.finish_reason };
    }
    const usage = parsed.data.usage;
    if (usage) yield { type: "usage", promptTokens: usage.prompt_tokens, completionTokens: usage.completion_tokens };
  }
  // A server that ends without a finish_reason still gets its calls delivered.
  yield* flush();
}
