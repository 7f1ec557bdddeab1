import type { OpenAiErrorBody } from "../openAiError";
import type { AnswerTranslator } from "./AnswerTranslator";
import { readChatChunk, type ChatAnswer, type ChatToolCallDelta } from "./chatBody";
import { sseEvent } from "./AnswerTranslator";
import { responsesId, type CustomToolNames } from "./responsesRequest";

// Chat Completions answers → OpenAI Responses answers: the Response object, and the stream event by
// event with a sequence number each — response.created, response.in_progress, then per output item
// output_item.added, its parts and deltas, output_item.done, and response.completed (or
// response.incomplete when max_output_tokens ran out, response.failed when the engine failed).
// No [DONE]: the Responses stream ends with its last event.

/** The request's settings a Response echoes back. */
export interface ResponseEcho {
  instructions: string | null;
  max_output_tokens: number | null;
  parallel_tool_calls: boolean;
  previous_response_id: string | null;
  temperature: number | null;
  top_p: number | null;
  tool_choice: unknown;
  tools: unknown[];
  text: unknown;
  reasoning: unknown;
  store: boolean;
  metadata: Record<string, string>;
}

export interface ResponseUsage {
  input_tokens: number;
  input_tokens_details: { cached_tokens: number };
  output_tokens: number;
  output_tokens_details: { reasoning_tokens: number };
  total_tokens: number;
}

type OutputItem =
  | { id: string; type: "message"; status: ItemStatus; role: "assistant"; content: { type: "output_text"; text: string; annotations: unknown[]; logprobs: unknown[] }[] }
  | { id: string; type: "function_call"; status: ItemStatus; call_id: string; name: string; arguments: string }
  | { id: string; type: "custom_tool_call"; status: ItemStatus; call_id: string; name: string; input: string }
  | { id: string; type: "reasoning"; status: ItemStatus; summary: unknown[]; content: { type: "reasoning_text"; text: string }[] };
type ItemStatus = "in_progress" | "completed" | "incomplete";

export type ResponseStatus = "in_progress" | "completed" | "incomplete" | "failed";

/** The Response object of OpenAI's API, as this gateway makes it. */
export interface ResponseObject extends ResponseEcho {
  id: string;
  object: "response";
  created_at: number;
  completed_at: number | null;
  status: ResponseStatus;
  error: { code: string; message: string } | null;
  incomplete_details: { reason: "max_output_tokens" | "content_filter" } | null;
  model: string;
  output: OutputItem[];
  truncation: "disabled";
  usage: ResponseUsage | null;
  user: null;
}


/** An item being streamed: where it sits in the output and what has arrived of it. */
interface OpenItem {
  outputIndex: number;
  kind: "message" | "reasoning" | "call";
  id: string;
  text: string;
  /** Calls: the upstream's tool-call index, its id and name. */
  toolIndex?: number;
  callId?: string;
  name?: string;
}

/** A custom tool's call carries `{input}` as its arguments; a model that wrote something else has it passed as it is. */
export function customInput(args: string): string {
  try {
    const parsed = JSON.parse(args) as unknown;
    if (typeof parsed === "object" && parsed !== null && typeof (parsed as { input?: unknown }).input === "string") return (parsed as { input: string }).input;
  } catch {
    // not JSON: the raw text is the input
  }
  return args;
}

/** Translates one Chat Completions answer for a Responses client. */
export class ResponsesAnswer implements AnswerTranslator {
  readonly streamContentType = "text/event-stream; charset=utf-8";
  readonly id = responsesId("resp");
  private readonly createdAt = Math.floor(Date.now() / 1000);
  private sequence = 0;
  private started = false;
  private ended = false;
  private readonly output: OutputItem[] = [];
  private open: OpenItem | undefined;
  private finish: string | null = null;
  private inputTokens = 0;
  private cachedTokens = 0;
  private outputTokens = 0;
  private final: ResponseObject | undefined;

  /**
   * `model`: the name the client asked for; `custom`: the custom tools' names; `done` is told the
   * finished Response (completed, incomplete or failed) before its last bytes are sent.
   */
  constructor(
    private readonly model: string,
    private readonly echo: ResponseEcho,
    private readonly custom: CustomToolNames,
    private readonly done?: (response: ResponseObject) => void,
  ) {}

  /** The finished Response, once the answer is complete. */
  get response(): ResponseObject | undefined {
    return this.final;
  }

  streamEvent(data: string): string {
    let out = this.start();
    const read = this.ended ? undefined : readChatChunk(data);
    if (read === undefined) return out;
    if ("error" in read) return out + this.streamError(read.error);
    const chunk = read.chunk;
    this.takeUsage(chunk.usage);
    const choice = chunk.choices?.[0];
    if (choice === undefined) return out;
    const delta = choice.delta;
    if (delta?.reasoning_content) out += this.textDelta("reasoning", delta.reasoning_content);
    if (delta?.content) out += this.textDelta("message", delta.content);
    for (const call of delta?.tool_calls ?? []) out += this.callDelta(call);
    if (choice.finish_reason != null) this.finish = choice.finish_reason;
    return out;
  }

  streamEnd(): string {
    if (this.ended) return "";
    let out = this.start() + this.closeOpen();
    this.ended = true;
    const response = this.finished(this.finish === "length" || this.finish === "content_filter" ? "incomplete" : "completed");
    out += this.event(response.status === "incomplete" ? "response.incomplete" : "response.completed", { response });
    return out;
  }

  streamError(message: string): string {
    if (this.ended) return "";
    let out = this.start() + this.closeOpen();
    this.ended = true;
    const response = this.finished("failed", { code: "server_error", message });
    out += this.event("response.failed", { response });
    return out;
  }

  body(json: unknown): unknown {
    const answer = json as ChatAnswer;
    this.takeUsage(answer.usage);
    const choice = answer.choices?.[0];
    const message = choice?.message;
    if (message?.reasoning_content) this.output.push({ id: responsesId("rs"), type: "reasoning", status: "completed", summary: [], content: [{ type: "reasoning_text", text: message.reasoning_content }] });
    if (message?.content) this.output.push(messageItem(responsesId("msg"), message.content, "completed"));
    for (const call of message?.tool_calls ?? []) this.output.push(this.callItem(call.id ?? responsesId("fc"), call.function?.name ?? "", call.function?.arguments ?? "", "completed"));
    this.finish = choice?.finish_reason ?? null;
    this.ended = true;
    return this.finished(this.finish === "length" || this.finish === "content_filter" ? "incomplete" : "completed");
  }

  error(_status: number, body: OpenAiErrorBody): unknown {
    return body;
  }

  /** The Response as it stands (`in_progress` while streaming). */
  private snapshot(status: ResponseStatus, error: ResponseObject["error"] = null): ResponseObject {
    const incomplete = status === "incomplete" ? { reason: this.finish === "content_filter" ? ("content_filter" as const) : ("max_output_tokens" as const) } : null;
    const usage: ResponseUsage | null =
      status === "in_progress"
        ? null
        : {
            input_tokens: this.inputTokens,
            input_tokens_details: { cached_tokens: this.cachedTokens },
            output_tokens: this.outputTokens,
            output_tokens_details: { reasoning_tokens: 0 },
            total_tokens: this.inputTokens + this.outputTokens,
          };
    return {
      id: this.id,
      object: "response",
      created_at: this.createdAt,
      completed_at: status === "in_progress" ? null : Math.floor(Date.now() / 1000),
      status,
      error,
      incomplete_details: incomplete,
      model: this.model,
      output: status === "in_progress" ? [] : this.output,
      ...this.echo,
      truncation: "disabled",
      usage,
      user: null,
    };
  }

  private finished(status: ResponseStatus, error: ResponseObject["error"] = null): ResponseObject {
    const response = this.snapshot(status, error);
    this.final = response;
    this.done?.(response);
    return response;
  }

  private takeUsage(usage: ChatAnswer["usage"]): void {
    if (usage == null) return;
    if (usage.prompt_tokens != null) this.inputTokens = usage.prompt_tokens;
    if (usage.completion_tokens != null) this.outputTokens = usage.completion_tokens;
    if (usage.prompt_tokens_details?.cached_tokens != null) this.cachedTokens = usage.prompt_tokens_details.cached_tokens;
  }

  private event(type: string, data: Record<string, unknown>): string {
    return sseEvent(type, { type, ...data, sequence_number: this.sequence++ });
  }

  private start(): string {
    if (this.started) return "";
    this.started = true;
    const response = this.snapshot("in_progress");
    return this.event("response.created", { response }) + this.event("response.in_progress", { response });
  }

  private textDelta(kind: "message" | "reasoning", delta: string): string {
    let out = "";
    let open = this.open;
    if (open?.kind !== kind) {
      out += this.closeOpen();
      open = { outputIndex: this.output.length, kind, id: responsesId(kind === "message" ? "msg" : "rs"), text: "" };
      this.open = open;
      const at = { item_id: open.id, output_index: open.outputIndex, content_index: 0 };
      if (kind === "message") {
        out += this.event("response.output_item.added", { output_index: open.outputIndex, item: messageItem(open.id, "", "in_progress", []) });
        out += this.event("response.content_part.added", { ...at, part: textPart("") });
      } else {
        out += this.event("response.output_item.added", { output_index: open.outputIndex, item: { id: open.id, type: "reasoning", status: "in_progress", summary: [], content: [] } });
        out += this.event("response.content_part.added", { ...at, part: { type: "reasoning_text", text: "" } });
      }
    }
    open.text += delta;
    const type = kind === "message" ? "response.output_text.delta" : "response.reasoning_text.delta";
    return out + this.event(type, { item_id: open.id, output_index: open.outputIndex, content_index: 0, delta, ...(kind === "message" ? { logprobs: [] } : {}) });
  }

  private callDelta(call: ChatToolCallDelta): string {
    let out = "";
    const toolIndex = call.index ?? 0;
    let open = this.open;
    if (open?.kind !== "call" || open.toolIndex !== toolIndex) {
      out += this.closeOpen();
      const name = call.function?.name ?? "";
      const callId = call.id ?? responsesId("fc");
      const custom = this.custom.has(name);
      open = { outputIndex: this.output.length, kind: "call", id: responsesId(custom ? "ctc" : "fc"), text: "", toolIndex, callId, name };
      this.open = open;
      // A custom call's input is inside JSON arguments: it is sent whole when the call is complete.
      if (!custom) out += this.event("response.output_item.added", { output_index: open.outputIndex, item: { id: open.id, type: "function_call", status: "in_progress", call_id: callId, name, arguments: "" } });
    }
    const args = call.function?.arguments;
    if (!args) return out;
    open.text += args;
    if (this.custom.has(open.name ?? "")) return out;
    return out + this.event("response.function_call_arguments.delta", { item_id: open.id, output_index: open.outputIndex, delta: args });
  }

  /** Ends the item being streamed: its done events, and the item joins the output. */
  private closeOpen(): string {
    const open = this.open;
    if (open === undefined) return "";
    this.open = undefined;
    const at = { item_id: open.id, output_index: open.outputIndex };
    const status: ItemStatus = this.finish === "length" ? "incomplete" : "completed";
    let out = "";
    let item: OutputItem;
    if (open.kind === "message") {
      item = messageItem(open.id, open.text, status);
      out += this.event("response.output_text.done", { ...at, content_index: 0, text: open.text, logprobs: [] });
      out += this.event("response.content_part.done", { ...at, content_index: 0, part: textPart(open.text) });
    } else if (open.kind === "reasoning") {
      item = { id: open.id, type: "reasoning", status, summary: [], content: [{ type: "reasoning_text", text: open.text }] };
      out += this.event("response.reasoning_text.done", { ...at, content_index: 0, text: open.text });
      out += this.event("response.content_part.done", { ...at, content_index: 0, part: { type: "reasoning_text", text: open.text } });
    } else {
      item = this.callItem(open.callId ?? responsesId("fc"), open.name ?? "", open.text, status, open.id);
      if (item.type === "custom_tool_call") {
        out += this.event("response.output_item.added", { output_index: open.outputIndex, item: { ...item, status: "in_progress", input: "" } });
        out += this.event("response.custom_tool_call_input.delta", { ...at, delta: item.input });
        out += this.event("response.custom_tool_call_input.done", { ...at, input: item.input });
      } else out += this.event("response.function_call_arguments.done", { ...at, name: open.name ?? "", arguments: open.text });
    }
    this.output.push(item);
    return out + this.event("response.output_item.done", { output_index: open.outputIndex, item });
  }

  private callItem(callId: string, name: string, args: string, status: ItemStatus, id?: string): OutputItem {
    if (this.custom.has(name)) return { id: id ?? responsesId("ctc"), type: "custom_tool_call", status, call_id: callId, name, input: customInput(args) };
    return { id: id ?? responsesId("fc"), type: "function_call", status, call_id: callId, name, arguments: args };
  }
}

function textPart(text: string): { type: "output_text"; text: string; annotations: unknown[]; logprobs: unknown[] } {
  return { type: "output_text", text, annotations: [], logprobs: [] };
}

function messageItem(id: string, text: string, status: ItemStatus, content = [textPart(text)]): OutputItem {
  return { id, type: "message", status, role: "assistant", content };
}
