import type { OpenAiErrorBody } from "../openAiError";
import type { AnswerTranslator } from "./AnswerTranslator";
import { readChatChunk, type ChatAnswer, type ChatChoice } from "./chatBody";
import { sseEvent } from "./AnswerTranslator";
import { anthropicId } from "./anthropicRequest";

// Chat Completions answers → Anthropic Messages answers: the JSON body, and the stream event by
// event (message_start, content_block_start / _delta / _stop per text or tool_use block,
// message_delta with the stop reason and usage, message_stop; ping once at the start).

export type AnthropicErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "permission_error"
  | "not_found_error"
  | "request_too_large"
  | "rate_limit_error"
  | "api_error"
  | "overloaded_error";

export interface AnthropicErrorBody {
  type: "error";
  error: { type: AnthropicErrorType; message: string };
}

/** Anthropic's error type for an HTTP status. */
export function anthropicErrorType(status: number): AnthropicErrorType {
  if (status === 401) return "authentication_error";
  if (status === 403) return "permission_error";
  if (status === 404) return "not_found_error";
  if (status === 413) return "request_too_large";
  if (status === 429) return "rate_limit_error";
  if (status === 503 || status === 529) return "overloaded_error";
  if (status >= 500) return "api_error";
  return "invalid_request_error";
}

export function anthropicError(status: number, message: string): AnthropicErrorBody {
  return { type: "error", error: { type: anthropicErrorType(status), message } };
}

type StopReason = "end_turn" | "max_tokens" | "stop_sequence" | "tool_use";


function stopReasonOf(choice: ChatChoice | undefined, sawToolCall: boolean): { reason: StopReason; sequence: string | null } {
  const sequence = choice?.stop_sequence ?? choice?.stopping_word ?? null;
  if (choice?.finish_reason === "tool_calls" || sawToolCall) return { reason: "tool_use", sequence: null };
  if (choice?.finish_reason === "length") return { reason: "max_tokens", sequence: null };
  if (sequence) return { reason: "stop_sequence", sequence };
  return { reason: "end_turn", sequence: null };
}

function parseInput(args: string | undefined): unknown {
  if (args === undefined || args.trim() === "") return {};
  try {
    return JSON.parse(args);
  } catch {
    // A model that wrote broken JSON: the client sees what it wrote rather than losing the call.
    return { _raw: args };
  }
}

/** Translates one Chat Completions answer for a Messages client. */
export class AnthropicAnswer implements AnswerTranslator {
  readonly streamContentType = "text/event-stream; charset=utf-8";
  private readonly id = anthropicId("msg");
  private started = false;
  private ended = false;
  /** Index of the open content block, and what it is. */
  private open: { index: number; kind: "text" | "tool"; toolIndex?: number } | undefined;
  private nextIndex = 0;
  private finish: ChatChoice | undefined;
  private sawToolCall = false;
  private inputTokens: number | undefined;
  private outputTokens = 0;

  /** `model`: the name the client asked for (answers carry it back, as Anthropic's do). */
  constructor(private readonly model: string, promptTokensEstimate?: number) {
    this.inputTokens = promptTokensEstimate;
  }

  streamEvent(data: string): string {
    let out = this.start();
    const read = readChatChunk(data);
    if (read === undefined) return out;
    if ("error" in read) return out + this.streamError(read.error);
    const chunk = read.chunk;
    if (chunk.usage != null) {
      if (chunk.usage.prompt_tokens != null) this.inputTokens = chunk.usage.prompt_tokens;
      if (chunk.usage.completion_tokens != null) this.outputTokens = chunk.usage.completion_tokens;
    }
    const choice = chunk.choices?.[0];
    if (choice === undefined) return out;
    const delta = choice.delta;
    if (delta?.content) {
      if (this.open?.kind !== "text") out += this.openBlock("text", { type: "text", text: "" });
      out += sseEvent("content_block_delta", { type: "content_block_delta", index: this.open?.index ?? 0, delta: { type: "text_delta", text: delta.content } });
    }
    for (const call of delta?.tool_calls ?? []) {
      const toolIndex = call.index ?? 0;
      if (this.open?.kind !== "tool" || this.open.toolIndex !== toolIndex) {
        this.sawToolCall = true;
        out += this.openBlock("tool", { type: "tool_use", id: call.id ?? anthropicId("toolu"), name: call.function?.name ?? "", input: {} }, toolIndex);
      }
      const args = call.function?.arguments;
      if (args) out += sseEvent("content_block_delta", { type: "content_block_delta", index: this.open?.index ?? 0, delta: { type: "input_json_delta", partial_json: args } });
    }
    if (choice.finish_reason != null) this.finish = choice;
    return out;
  }

  streamEnd(): string {
    if (this.ended) return "";
    let out = this.start() + this.closeBlock();
    this.ended = true;
    const stop = stopReasonOf(this.finish, this.sawToolCall);
    const usage: Record<string, number> = { output_tokens: this.outputTokens };
    if (this.inputTokens !== undefined) usage["input_tokens"] = this.inputTokens;
    out += sseEvent("message_delta", { type: "message_delta", delta: { stop_reason: stop.reason, stop_sequence: stop.sequence }, usage });
    out += sseEvent("message_stop", { type: "message_stop" });
    return out;
  }

  streamError(message: string): string {
    if (this.ended) return "";
    this.ended = true;
    return sseEvent("error", anthropicError(502, message));
  }

  body(json: unknown): unknown {
    const answer = json as ChatAnswer;
    const choice = answer.choices?.[0];
    const content: unknown[] = [];
    const text = choice?.message?.content;
    if (text) content.push({ type: "text", text });
    const calls = choice?.message?.tool_calls ?? [];
    for (const call of calls) content.push({ type: "tool_use", id: call.id ?? anthropicId("toolu"), name: call.function?.name ?? "", input: parseInput(call.function?.arguments) });
    const stop = stopReasonOf(choice, calls.length > 0);
    return {
      id: this.id,
      type: "message",
      role: "assistant",
      model: this.model,
      content,
      stop_reason: stop.reason,
      stop_sequence: stop.sequence,
      usage: { input_tokens: answer.usage?.prompt_tokens ?? this.inputTokens ?? 0, output_tokens: answer.usage?.completion_tokens ?? 0 },
    };
  }

  error(status: number, body: OpenAiErrorBody): unknown {
    return anthropicError(status, body.error.message);
  }

  private start(): string {
    if (this.started) return "";
    this.started = true;
    const message = { id: this.id, type: "message", role: "assistant", model: this.model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: this.inputTokens ?? 0, output_tokens: 0 } };
    return sseEvent("message_start", { type: "message_start", message }) + sseEvent("ping", { type: "ping" });
  }

  private openBlock(kind: "text" | "tool", block: unknown, toolIndex?: number): string {
    const out = this.closeBlock();
    const index = this.nextIndex++;
    this.open = toolIndex === undefined ? { index, kind } : { index, kind, toolIndex };
    return out + sseEvent("content_block_start", { type: "content_block_start", index, content_block: block });
  }

  private closeBlock(): string {
    if (this.open === undefined) return "";
    const index = this.open.index;
    this.open = undefined;
    return sseEvent("content_block_stop", { type: "content_block_stop", index });
  }
}
