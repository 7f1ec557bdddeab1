// The OpenAI wire format the llama engine answers with: the error body and the response and
// chunk shapes (request schemas are in openaiSchemas.ts).
export type OpenAiErrorType = "invalid_request_error" | "server_error";

/** OpenAI's error body. */
export interface OpenAiError {
  error: { message: string; type: OpenAiErrorType; param: string | null; code: string | null };
}

export function openAiError(
  message: string,
  options: { type?: OpenAiErrorType; param?: string | null; code?: string | null } = {},
): OpenAiError {
  return {
    error: {
      message,
      type: options.type ?? "invalid_request_error",
      param: options.param ?? null,
      code: options.code ?? null,
    },
  };
}

export type FinishReason = "stop" | "length" | "tool_calls";

/** A tool call in an answer, in OpenAI's shape. */
export interface ToolCall {
  id: string;
  type: "function";
  function: { name: string; arguments: string };
}

/** A piece of a tool call in a stream: the first carries id, type and name; the rest only arguments. */
export interface ToolCallDelta {
  index: number;
  id?: string;
  type?: "function";
  function: { name?: string; arguments: string };
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export function usage(promptTokens: number, completionTokens: number): Usage {
  return {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
  };
}

/** Fields every response and chunk of one request shares. */
export interface ResponseHeader {
  id: string;
  created: number;
  model: string;
}

export function chatCompletion(
  head: ResponseHeader,
  text: string,
  finishReason: FinishReason,
  tokens: Usage,
  extra: { toolCalls?: readonly ToolCall[]; stopSequence?: string } = {},
): object {
  const calls = extra.toolCalls ?? [];
  return {
    ...head,
    object: "chat.completion",
    choices: [
      {
        index: 0,
        message: calls.length > 0 ? { role: "assistant", content: text === "" ? null : text, tool_calls: calls } : { role: "assistant", content: text },
        logprobs: null,
        finish_reason: finishReason,
        // Which stop sequence ended the answer (llama-server names it stopping_word); the gateway reads it.
        ...(extra.stopSequence !== undefined ? { stop_sequence: extra.stopSequence } : {}),
      },
    ],
    usage: tokens,
  };
}

export function chatChunk(
  head: ResponseHeader,
  delta: { role?: "assistant"; content?: string; tool_calls?: ToolCallDelta[] },
  finishReason: FinishReason | null,
  stopSequence?: string,
): object {
  return {
    ...head,
    object: "chat.completion.chunk",
    choices: [
      {
        index: 0,
        delta,
        logprobs: null,
        finish_reason: finishReason,
        ...(stopSequence !== undefined ? { stop_sequence: stopSequence } : {}),
      },
    ],
  };
}

export function textCompletion(
  head: ResponseHeader,
  text: string,
  finishReason: FinishReason,
  tokens: Usage,
): object {
  return {
    ...head,
    object: "text_completion",
    choices: [{ index: 0, text, logprobs: null, finish_reason: finishReason }],
    usage: tokens,
  };
}

export function textChunk(head: ResponseHeader, text: string, finishReason: FinishReason | null): object {
  return {
    ...head,
    object: "text_completion",
    choices: [{ index: 0, text, logprobs: null, finish_reason: finishReason }],
  };
}

/** The extra chunk sent before `[DONE]` when `stream_options.include_usage` is set. */
export function usageChunk(
  head: ResponseHeader,
  object: "chat.completion.chunk" | "text_completion",
  tokens: Usage,
): object {
  return { ...head, object, choices: [], usage: tokens };
}
