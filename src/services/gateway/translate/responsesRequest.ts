import { randomBytes } from "node:crypto";
import * as z from "zod";
import { GatewayError } from "../openAiError";
import type { ChatContentPart, ChatMessage, ChatRequestBody, ChatToolCall, TargetAbilities } from "./chatBody";

// OpenAI's Responses request (POST /v1/responses), read as Codex, the Agents SDK and the openai
// SDK send it, and turned into the Chat Completions body every engine takes. Fields no local engine
// can honour but clients always send (`reasoning`, `include`, `prompt_cache_key`, `service_tier`,
// `truncation`, `metadata`…) are accepted; `looseObject` keeps a newer client's unknown ones from
// failing its request.

const InputText = z.looseObject({ type: z.literal("input_text"), text: z.string() });
const InputImage = z.looseObject({ type: z.literal("input_image"), image_url: z.string().nullish(), file_id: z.string().nullish(), detail: z.string().nullish() });
const OutputText = z.looseObject({ type: z.literal("output_text"), text: z.string() });
const Refusal = z.looseObject({ type: z.literal("refusal"), refusal: z.string() });
/** Parts no engine here takes (files, audio): refused with a message naming them. */
const OtherPart = z.looseObject({ type: z.string() });
const ContentPart = z.union([InputText, InputImage, OutputText, Refusal, OtherPart]);

const MessageItem = z.looseObject({
  type: z.literal("message").optional(),
  role: z.enum(["user", "assistant", "system", "developer"], { error: 'role: "user", "assistant", "system" or "developer".' }),
  content: z.union([z.string(), z.array(ContentPart)], { error: "content: a string or an array of content parts." }),
});
const FunctionCallItem = z.looseObject({ type: z.literal("function_call"), call_id: z.string().min(1), name: z.string().min(1), arguments: z.string() });
const CustomToolCallItem = z.looseObject({ type: z.literal("custom_tool_call"), call_id: z.string().min(1), name: z.string().min(1), input: z.string() });
const ToolOutput = z.union([z.string(), z.array(ContentPart)], { error: "output: a string or an array of content parts." });
const FunctionCallOutputItem = z.looseObject({ type: z.literal("function_call_output"), call_id: z.string().min(1), output: ToolOutput });
const CustomToolCallOutputItem = z.looseObject({ type: z.literal("custom_tool_call_output"), call_id: z.string().min(1), output: ToolOutput });

/** Items a model of OpenAI's wrote that no local engine takes back: kept in the history, not sent. */
const IGNORED_ITEMS = new Set([
  "reasoning",
  "web_search_call",
  "file_search_call",
  "computer_call",
  "computer_call_output",
  "code_interpreter_call",
  "image_generation_call",
  "local_shell_call",
  "local_shell_call_output",
  "shell_call",
  "shell_call_output",
  "apply_patch_call",
  "apply_patch_call_output",
  "mcp_call",
  "mcp_list_tools",
  "mcp_approval_request",
  "mcp_approval_response",
  "compaction",
]);

const InputItem = z.looseObject({ type: z.string().optional(), role: z.string().optional() });
export type ResponsesInputItem = z.infer<typeof InputItem>;

const Tool = z.looseObject({
  type: z.string(),
  name: z.string().min(1).optional(),
  description: z.string().nullish(),
  parameters: z.record(z.string(), z.unknown()).nullish(),
  strict: z.boolean().nullish(),
  format: z.looseObject({ type: z.string(), syntax: z.string().optional(), definition: z.string().optional() }).nullish(),
});
type Tool = z.infer<typeof Tool>;

/** `auto`/`none`/`required`, a named function or custom tool, `allowed_tools` (with mode and tools), or a hosted tool's type. */
const ToolChoice = z.union([
  z.enum(["auto", "none", "required"]),
  z.looseObject({
    type: z.string(),
    name: z.string().min(1).optional(),
    mode: z.enum(["auto", "required"]).optional(),
    tools: z.array(z.looseObject({ type: z.string(), name: z.string().optional() })).optional(),
  }),
]);

const TextFormat = z.union([
  z.looseObject({ type: z.literal("text") }),
  z.looseObject({ type: z.literal("json_object") }),
  z.looseObject({ type: z.literal("json_schema"), name: z.string().min(1), schema: z.record(z.string(), z.unknown()), strict: z.boolean().nullish(), description: z.string().nullish() }),
]);

export const ResponsesRequest = z.looseObject({
  model: z.string({ error: "model: name a profile or one of its aliases (GET /v1/models lists them)." }).min(1).max(1000),
  input: z.union([z.string(), z.array(InputItem)], { error: "input: a string or an array of input items." }).optional(),
  instructions: z.string().nullish(),
  tools: z.array(Tool, { error: "tools: an array of tools." }).nullish(),
  tool_choice: ToolChoice.nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  max_output_tokens: z.number().int().positive({ error: "max_output_tokens: a positive integer." }).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  text: z.looseObject({ format: TextFormat.nullish() }).nullish(),
  reasoning: z.unknown().optional(),
  store: z.boolean().nullish(),
  stream: z.boolean().nullish(),
  previous_response_id: z.string().min(1).nullish(),
  background: z.boolean().nullish(),
  metadata: z.record(z.string(), z.string()).nullish(),
});
export type ResponsesRequest = z.infer<typeof ResponsesRequest>;

/** The custom tools' names: their calls go back as `custom_tool_call` items, their input unwrapped. */
export type CustomToolNames = ReadonlySet<string>;

/** What the gateway does with a Responses request: the chat body, the tools it dropped, the custom tools. */
export interface ResponsesPlan {
  chat: ChatRequestBody;
  /** Hosted tools (web search, file search…) no local engine runs; named in a header. */
  droppedTools: string[];
  customTools: CustomToolNames;
  /** The structured output `text.format` asks for (the engine must be able to follow it). */
  structured?: "json_schema" | "json_object";
}

/** `resp_…`, `msg_…`, `rs_…`, `fc_…`, `ctc_…` ids in OpenAI's style. */
export function responsesId(prefix: "resp" | "msg" | "rs" | "fc" | "ctc"): string {
  return `${prefix}_${randomBytes(24).toString("hex")}`;
}

/** The input as items (a string is one user message). */
export function inputItems(input: ResponsesRequest["input"]): ResponsesInputItem[] {
  if (input === undefined) return [];
  return typeof input === "string" ? [{ type: "message", role: "user", content: input }] : input;
}

/** The JSON schema a custom (freeform) tool becomes: one string, `input`. */
function customToolParameters(tool: Tool): Record<string, unknown> {
  const format = tool.format;
  const grammar = format?.type === "grammar" && format.definition !== undefined ? ` It follows this ${format.syntax ?? ""} grammar:\n${format.definition}` : "";
  return { type: "object", properties: { input: { type: "string", description: `The tool's whole input, as free text.${grammar}` } }, required: ["input"], additionalProperties: false };
}

function checked<S extends z.ZodType>(schema: S, value: unknown, where: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const param = [where, ...(issue?.path.map(String) ?? [])].join(".");
  const message = issue?.message ?? "invalid";
  throw new GatewayError(400, `${param}: ${message.replace(/^[\w.]+: /, "")}`, "invalid_value", param);
}

function textOfParts(parts: z.infer<typeof ContentPart>[] | string, where: string): string {
  if (typeof parts === "string") return parts;
  return parts
    .map((part, i) => {
      if (part.type === "input_text" || part.type === "output_text") return (part as { text: string }).text;
      if (part.type === "refusal") return (part as { refusal: string }).refusal;
      throw new GatewayError(400, `${where}.${i}: a ${part.type} part cannot go here; send text.`, "invalid_value", `${where}.${i}`);
    })
    .join("");
}

function userParts(parts: z.infer<typeof ContentPart>[], abilities: TargetAbilities, where: string): string | ChatContentPart[] {
  const out: ChatContentPart[] = [];
  parts.forEach((part, i) => {
    const at = `${where}.${i}`;
    if (part.type === "input_text" || part.type === "output_text") out.push({ type: "text", text: (part as { text: string }).text });
    else if (part.type === "input_image") {
      const image = part as z.infer<typeof InputImage>;
      if (!abilities.images)
        throw new GatewayError(400, `${at} holds an image, but this model takes text only. Send the request to a vision profile (an mlx-openai-server profile with model type "multimodal", or llama-server with --mmproj).`, "images_not_supported", at);
      if (!image.image_url) throw new GatewayError(400, `${at}: send the image as image_url (a data: URL or an https URL); file ids of OpenAI's Files API do not exist here.`, "invalid_value", at);
      out.push({ type: "image_url", image_url: { url: image.image_url } });
    } else throw new GatewayError(400, `${at}: ${part.type} parts are not supported by local models; send input_text or input_image.`, "unsupported_content", at);
  });
  return out.every((p) => p.type === "text") ? out.map((p) => (p as { text: string }).text).join("") : out;
}

/** The assistant message that tool calls join: the last message if it is an assistant's with nothing after it. */
function assistantFor(messages: ChatMessage[]): Extract<ChatMessage, { role: "assistant" }> {
  const last = messages.at(-1);
  if (last?.role === "assistant") return last;
  const message: Extract<ChatMessage, { role: "assistant" }> = { role: "assistant", content: null };
  messages.push(message);
  return message;
}

function callOf(message: Extract<ChatMessage, { role: "assistant" }>, call: ChatToolCall): void {
  (message.tool_calls ??= []).push(call);
}

/**
 * Responses → Chat Completions: `instructions`, system and developer messages as one leading
 * system message; function and custom tool calls as the assistant's tool_calls, their outputs as
 * `tool` messages; custom tools as functions taking `{input}`; hosted tools dropped.
 */
export function chatRequestFromResponses(request: ResponsesRequest, history: readonly ResponsesInputItem[], abilities: TargetAbilities): ResponsesPlan {
  const system: string[] = [];
  if (request.instructions) system.push(request.instructions);
  const messages: ChatMessage[] = [];
  const ownItems = inputItems(request.input);
  const items = [...history, ...ownItems];
  items.forEach((raw, n) => {
    // Errors name the request's own items (input.N); an item from a stored response cannot be wrong.
    const where = n >= history.length ? `input.${n - history.length}` : `previous_response.${n}`;
    const type = raw.type ?? "message";
    if (type === "message") {
      const item = checked(MessageItem, raw, where);
      if (item.role === "system" || item.role === "developer") {
        system.push(textOfParts(item.content, `${where}.content`));
      } else if (item.role === "assistant") {
        const text = textOfParts(item.content, `${where}.content`);
        const last = messages.at(-1);
        if (last?.role === "assistant" && last.tool_calls === undefined) last.content = (last.content ?? "") + text;
        else messages.push({ role: "assistant", content: text });
      } else {
        messages.push({ role: "user", content: typeof item.content === "string" ? item.content : userParts(item.content, abilities, `${where}.content`) });
      }
    } else if (type === "function_call") {
      const item = checked(FunctionCallItem, raw, where);
      callOf(assistantFor(messages), { id: item.call_id, type: "function", function: { name: item.name, arguments: item.arguments } });
    } else if (type === "custom_tool_call") {
      const item = checked(CustomToolCallItem, raw, where);
      callOf(assistantFor(messages), { id: item.call_id, type: "function", function: { name: item.name, arguments: JSON.stringify({ input: item.input }) } });
    } else if (type === "function_call_output" || type === "custom_tool_call_output") {
      const item = checked(type === "function_call_output" ? FunctionCallOutputItem : CustomToolCallOutputItem, raw, where);
      messages.push({ role: "tool", tool_call_id: item.call_id, content: textOfParts(item.output, `${where}.output`) });
    } else if (type === "item_reference") {
      throw new GatewayError(400, `${where}: item references are not supported; send the items themselves, or previous_response_id.`, "unsupported_item", where);
    } else if (!IGNORED_ITEMS.has(type)) {
      throw new GatewayError(
        400,
        `${where}.type: "${type}" is not an input item this gateway knows. Send message, function_call, function_call_output, custom_tool_call, custom_tool_call_output or reasoning items.`,
        "invalid_value",
        `${where}.type`,
      );
    }
  });
  if (messages.length === 0 && system.length === 0) throw new GatewayError(400, "input: give the model something to answer (a string or input items).", "missing_input", "input");

  const chat: ChatRequestBody = { messages: system.length > 0 ? [{ role: "system", content: system.join("\n\n") }, ...messages] : messages };
  const droppedTools: string[] = [];
  const customTools = new Set<string>();
  const choice = request.tool_choice ?? undefined;
  const allowed = typeof choice === "object" && choice.type === "allowed_tools" ? new Set((choice.tools ?? []).map((t) => t.name)) : undefined;
  const tools: NonNullable<ChatRequestBody["tools"]> = [];
  (request.tools ?? []).forEach((tool, i) => {
    if (tool.type !== "function" && tool.type !== "custom") {
      droppedTools.push(tool.type);
      return;
    }
    if (tool.name === undefined) throw new GatewayError(400, `tools.${i}.name: a ${tool.type} tool needs a name.`, "invalid_value", `tools.${i}.name`);
    if (allowed !== undefined && !allowed.has(tool.name)) return;
    if (tool.type === "custom") customTools.add(tool.name);
    const parameters = tool.type === "custom" ? customToolParameters(tool) : (tool.parameters ?? { type: "object", properties: {} });
    tools.push({ type: "function", function: { name: tool.name, ...(tool.description ? { description: tool.description } : {}), parameters } });
  });
  if (tools.length > 0 && choice !== "none") {
    chat.tools = tools;
    if (choice === "auto" || choice === "required") chat.tool_choice = choice;
    else if (typeof choice === "object") {
      if (choice.type === "function" || choice.type === "custom") {
        const name = choice.name;
        if (name === undefined) throw new GatewayError(400, `tool_choice.name: name the ${choice.type} tool to call.`, "invalid_value", "tool_choice.name");
        if (!tools.some((t) => t.function.name === name)) throw new GatewayError(400, `tool_choice names "${name}", which is not among the tools.`, "invalid_value", "tool_choice");
        chat.tool_choice = { type: "function", function: { name } };
      } else if (choice.type === "allowed_tools") chat.tool_choice = choice.mode ?? "auto";
      else throw new GatewayError(400, `tool_choice forces the hosted tool "${choice.type}", which no local model runs.`, "unsupported_tool", "tool_choice");
    }
    if (request.parallel_tool_calls != null) chat.parallel_tool_calls = request.parallel_tool_calls;
  }
  if (request.max_output_tokens != null) chat.max_tokens = request.max_output_tokens;
  if (request.temperature != null) chat.temperature = request.temperature;
  if (request.top_p != null) chat.top_p = request.top_p;
  const format = request.text?.format ?? undefined;
  const plan: ResponsesPlan = { chat, droppedTools, customTools };
  if (format?.type === "json_object") {
    chat.response_format = { type: "json_object" };
    plan.structured = "json_object";
  } else if (format?.type === "json_schema") {
    const schema = format as { name: string; schema: Record<string, unknown>; strict?: boolean | null };
    chat.response_format = { type: "json_schema", json_schema: { name: schema.name, schema: schema.schema, ...(schema.strict != null ? { strict: schema.strict } : {}) } };
    plan.structured = "json_schema";
  }
  return plan;
}
