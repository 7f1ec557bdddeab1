// The OpenAI requests the llama engine accepts. Strict: an unknown field is an error, not
// silently ignored. Kept apart from the rest so zod loads after the server listens.
// Named imports, not the `z` namespace: the namespace drags every zod locale (~400 KB) into the
// bundle, and this bundle's size is on the engine's startup path.
import {
  array,
  boolean,
  discriminatedUnion,
  literal,
  looseObject,
  number,
  strictObject,
  string,
  union,
  type infer as Infer,
  type ZodError,
} from "zod";
import { openAiError, type OpenAiError } from "./openaiProtocol";

const Stop = union([string().min(1), array(string().min(1)).max(4)]).nullable();

/** Sampling and stream fields shared by both generation routes. */
const samplingFields = {
  model: string().optional(),
  max_tokens: number().int().min(1).nullable().optional(),
  temperature: number().min(0).max(2).nullable().optional(),
  top_p: number().min(0).max(1).nullable().optional(),
  top_k: number().int().min(0).nullable().optional(),
  min_p: number().min(0).max(1).nullable().optional(),
  presence_penalty: number().min(-2).max(2).nullable().optional(),
  frequency_penalty: number().min(-2).max(2).nullable().optional(),
  seed: number().int().nullable().optional(),
  stop: Stop.optional(),
  n: literal(1).nullable().optional(),
  user: string().optional(),
  stream: boolean().nullable().optional(),
  stream_options: strictObject({ include_usage: boolean().optional() }).nullable().optional(),
};

const TextPart = strictObject({ type: literal("text"), text: string() });
const Content = union([string(), array(TextPart)]);

const ToolCall = strictObject({
  id: string().min(1).max(200),
  type: literal("function"),
  function: strictObject({ name: string().min(1).max(200), arguments: string() }),
});

export const ChatMessage = discriminatedUnion("role", [
  strictObject({ role: literal("system"), content: Content, name: string().optional() }),
  strictObject({ role: literal("developer"), content: Content, name: string().optional() }),
  strictObject({ role: literal("user"), content: Content, name: string().optional() }),
  strictObject({
    role: literal("assistant"),
    content: Content.nullable().optional(),
    name: string().optional(),
    tool_calls: array(ToolCall).optional(),
  }),
  strictObject({ role: literal("tool"), content: Content, tool_call_id: string().min(1).max(200) }),
]);
export type ChatMessage = Infer<typeof ChatMessage>;

/** A function tool; its parameters are a JSON schema (what the grammar can follow is kept, see toolSchema.ts). */
const FunctionTool = strictObject({
  type: literal("function"),
  function: strictObject({
    name: string().regex(/^[A-Za-z0-9_.-]{1,64}$/, "function names are 1-64 letters, digits, '_', '.' or '-'"),
    description: string().optional(),
    parameters: looseObject({}).optional(),
    strict: boolean().nullable().optional(),
  }),
});
export type FunctionTool = Infer<typeof FunctionTool>;

export const ToolChoice = union([
  literal("none"),
  literal("auto"),
  literal("required"),
  strictObject({ type: literal("function"), function: strictObject({ name: string().min(1) }) }),
]);
export type ToolChoice = Infer<typeof ToolChoice>;

/** The shape of the answer: text, any JSON object, or JSON that follows a schema (held to it by a grammar). */
const ResponseFormat = discriminatedUnion("type", [
  strictObject({ type: literal("text") }),
  strictObject({ type: literal("json_object") }),
  strictObject({
    type: literal("json_schema"),
    json_schema: strictObject({ name: string().min(1).max(64), description: string().optional(), schema: looseObject({}).optional(), strict: boolean().nullable().optional() }),
  }),
]);

/** `POST /v1/chat/completions` */
export const ChatCompletionRequest = strictObject({
  ...samplingFields,
  messages: array(ChatMessage).min(1),
  max_completion_tokens: number().int().min(1).nullable().optional(),
  tools: array(FunctionTool).max(512).nullable().optional(),
  tool_choice: ToolChoice.nullable().optional(),
  parallel_tool_calls: boolean().nullable().optional(),
  response_format: ResponseFormat.nullable().optional(),
});
export type ChatCompletionRequest = Infer<typeof ChatCompletionRequest>;

/** `POST /v1/completions` */
export const CompletionRequest = strictObject({
  ...samplingFields,
  prompt: union([string(), array(string()).length(1)]),
});
export type CompletionRequest = Infer<typeof CompletionRequest>;

/** `POST /tokenize`: the prompt tokens of a chat, rendered with the model's template (tools included). */
export const TokenizeRequest = strictObject({
  model: string().optional(),
  messages: array(ChatMessage).min(1),
  tools: array(FunctionTool).max(512).nullable().optional(),
});
export type TokenizeRequest = Infer<typeof TokenizeRequest>;

/** `POST /perplexity` (ours): how well the model predicts a text, scored as mlx_lm.perplexity does. */
export const PerplexityRequest = strictObject({
  model: string().optional(),
  text: string().min(1),
  sequence_length: number().int().min(2).max(1_048_576).optional(),
  max_tokens: number().int().min(2).optional(),
});
export type PerplexityRequest = Infer<typeof PerplexityRequest>;

/** `POST /v1/embeddings` */
export const EmbeddingsRequest = strictObject({
  model: string().optional(),
  input: union([string(), array(string()).min(1).max(2048)]),
  encoding_format: union([literal("float"), literal("base64")]).optional(),
  dimensions: number().int().min(1).optional(),
  user: string().optional(),
});
export type EmbeddingsRequest = Infer<typeof EmbeddingsRequest>;

/** The text of a message's content (text parts are joined). */
export function contentText(content: ChatMessage["content"]): string {
  if (content == null) return "";
  return typeof content === "string" ? content : content.map((part) => part.text).join("");
}

/** Turns the first zod issue into OpenAI's error body, naming the offending field. */
export function validationError(error: ZodError): OpenAiError {
  const issue = error.issues[0];
  if (issue === undefined) return openAiError("Invalid request body.", { code: "invalid_value" });
  const where = issue.path.map(String).join(".");
  if (issue.code === "unrecognized_keys") {
    const key = issue.keys[0] ?? "";
    const param = where ? `${where}.${key}` : key;
    return openAiError(`Unrecognized request argument supplied: ${param}`, {
      param,
      code: "unknown_parameter",
    });
  }
  const param = where || null;
  const code = issue.code === "invalid_type" ? "invalid_type" : "invalid_value";
  return openAiError(param ? `Invalid value for '${param}': ${issue.message}` : issue.message, {
    param,
    code,
  });
}
