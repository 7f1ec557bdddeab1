import { randomBytes } from "node:crypto";
import * as z from "zod";
import { GatewayError } from "../openAiError";
import type { ChatContentPart, ChatMessage, ChatRequestBody, ChatToolCall, TargetAbilities } from "./chatBody";

// Anthropic's Messages request (https://docs.anthropic.com/en/api/messages), read as Claude Code
// and @anthropic-ai/sdk send it, and turned into the Chat Completions body every engine takes.
// Fields we cannot honour but clients always send (`thinking`, `cache_control`, `metadata`,
// `context_management`, `service_tier`…) are accepted and dropped; `strict: false` keeps the
// unknown ones of a newer client from failing its request.

const CacheControl = z.unknown();
const TextBlock = z.looseObject({ type: z.literal("text"), text: z.string(), cache_control: CacheControl.optional() });
const ImageSource = z.union([
  z.looseObject({ type: z.literal("base64"), media_type: z.string(), data: z.string() }),
  z.looseObject({ type: z.literal("url"), url: z.string() }),
]);
const ImageBlock = z.looseObject({ type: z.literal("image"), source: ImageSource });
const ToolUseBlock = z.looseObject({ type: z.literal("tool_use"), id: z.string(), name: z.string(), input: z.unknown() });
const ToolResultBlock = z.looseObject({
  type: z.literal("tool_result"),
  tool_use_id: z.string(),
  content: z.union([z.string(), z.array(z.union([TextBlock, ImageBlock, z.looseObject({ type: z.string() })]))]).optional(),
  is_error: z.boolean().optional(),
});
/** Blocks a model wrote that no engine here takes back: thinking, server tools' results, documents. */
const OtherBlock = z.looseObject({ type: z.string() });
const Block = z.union([TextBlock, ImageBlock, ToolUseBlock, ToolResultBlock, OtherBlock]);

const Message = z.looseObject({
  role: z.enum(["user", "assistant", "system"], { error: 'messages[].role: "user", "assistant" or "system".' }),
  content: z.union([z.string(), z.array(Block)], { error: "messages[].content: a string or an array of content blocks." }),
});

const Tool = z.looseObject({
  name: z.string().min(1),
  description: z.string().optional(),
  input_schema: z.record(z.string(), z.unknown()).optional(),
  type: z.string().optional(),
});

const ToolChoice = z.union([
  z.looseObject({ type: z.literal("auto"), disable_parallel_tool_use: z.boolean().optional() }),
  z.looseObject({ type: z.literal("any"), disable_parallel_tool_use: z.boolean().optional() }),
  z.looseObject({ type: z.literal("tool"), name: z.string(), disable_parallel_tool_use: z.boolean().optional() }),
  z.looseObject({ type: z.literal("none") }),
]);

export const MessagesRequest = z.looseObject({
  model: z.string({ error: "model: name a profile or one of its aliases (GET /v1/models lists them)." }).min(1).max(1000),
  max_tokens: z.number({ error: "max_tokens: required, a positive integer." }).int().positive(),
  messages: z.array(Message, { error: "messages: required, an array of messages." }),
  system: z.union([z.string(), z.array(TextBlock)]).optional(),
  tools: z.array(Tool).optional(),
  tool_choice: ToolChoice.optional(),
  stop_sequences: z.array(z.string()).optional(),
  temperature: z.number().min(0).max(2).optional(),
  top_p: z.number().min(0).max(1).optional(),
  top_k: z.number().int().min(0).optional(),
  stream: z.boolean().optional(),
});
export type MessagesRequest = z.infer<typeof MessagesRequest>;

export const CountTokensRequest = MessagesRequest.omit({ max_tokens: true, stream: true, stop_sequences: true, temperature: true, top_p: true, top_k: true });
export type CountTokensRequest = z.infer<typeof CountTokensRequest>;

/** The text of a string or text blocks. */
function textOf(content: string | readonly { type: string; text?: unknown }[]): string {
  if (typeof content === "string") return content;
  return content.map((b) => (b.type === "text" && typeof b.text === "string" ? b.text : "")).join("");
}

function imagePart(block: z.infer<typeof ImageBlock>, abilities: TargetAbilities, where: string): ChatContentPart {
  if (!abilities.images)
    throw new GatewayError(400, `${where} holds an image, but this model takes text only. Send the request to a vision profile (an mlx-openai-server profile with model type "multimodal", or llama-server with --mmproj).`, "images_not_supported", where);
  const url = block.source.type === "base64" ? `data:${block.source.media_type};base64,${block.source.data}` : block.source.url;
  return { type: "image_url", image_url: { url } };
}

/** Messages → Chat Completions: system first, tool results as `tool` messages right after the call they answer. */
export function chatRequestFromMessages(request: CountTokensRequest & Partial<MessagesRequest>, abilities: TargetAbilities): ChatRequestBody {
  const system: string[] = [];
  if (request.system !== undefined) system.push(textOf(request.system));
  const messages: ChatMessage[] = [];
  request.messages.forEach((message, i) => {
    const where = `messages.${i}`;
    if (message.role === "system") {
      // Claude Code puts reminders in system entries between turns; engines want one system message first.
      system.push(textOf(message.content));
      return;
    }
    if (typeof message.content === "string") {
      messages.push(message.role === "user" ? { role: "user", content: message.content } : { role: "assistant", content: message.content });
      return;
    }
    if (message.role === "assistant") {
      const text: string[] = [];
      const calls: ChatToolCall[] = [];
      for (const block of message.content) {
        if (block.type === "text") text.push((block as z.infer<typeof TextBlock>).text);
        else if (block.type === "tool_use") {
          const use = block as z.infer<typeof ToolUseBlock>;
          calls.push({ id: use.id, type: "function", function: { name: use.name, arguments: JSON.stringify(use.input ?? {}) } });
        }
      }
      messages.push({ role: "assistant", content: text.length > 0 ? text.join("") : null, ...(calls.length > 0 ? { tool_calls: calls } : {}) });
      return;
    }
    const parts: ChatContentPart[] = [];
    message.content.forEach((block, j) => {
      if (block.type === "tool_result") {
        const result = block as z.infer<typeof ToolResultBlock>;
        const content = result.content === undefined ? "" : typeof result.content === "string" ? result.content : textOf(result.content);
        messages.push({ role: "tool", tool_call_id: result.tool_use_id, content: result.is_error === true ? `Error: ${content}` : content });
      } else if (block.type === "text") parts.push({ type: "text", text: (block as z.infer<typeof TextBlock>).text });
      else if (block.type === "image") parts.push(imagePart(block as z.infer<typeof ImageBlock>, abilities, `${where}.content.${j}`));
    });
    if (parts.length === 0) return;
    const onlyText = parts.every((p) => p.type === "text");
    messages.push({ role: "user", content: onlyText ? parts.map((p) => (p as { text: string }).text).join("") : parts });
  });
  const body: ChatRequestBody = { messages: system.length > 0 ? [{ role: "system", content: system.join("\n\n") }, ...messages] : messages };
  const tools = (request.tools ?? []).filter((t) => t.type === undefined || t.type === "custom");
  if (tools.length > 0 && request.tool_choice?.type !== "none") {
    body.tools = tools.map((t) => ({ type: "function", function: { name: t.name, ...(t.description === undefined ? {} : { description: t.description }), parameters: t.input_schema ?? { type: "object", properties: {} } } }));
    const choice = request.tool_choice;
    if (choice?.type === "any") body.tool_choice = "required";
    else if (choice?.type === "tool") body.tool_choice = { type: "function", function: { name: choice.name } };
    else if (choice?.type === "auto") body.tool_choice = "auto";
    if (choice !== undefined && "disable_parallel_tool_use" in choice && choice.disable_parallel_tool_use === true) body.parallel_tool_calls = false;
  }
  if (request.max_tokens !== undefined) body.max_tokens = request.max_tokens;
  if (request.stop_sequences !== undefined && request.stop_sequences.length > 0) body.stop = request.stop_sequences;
  if (request.temperature !== undefined) body.temperature = request.temperature;
  if (request.top_p !== undefined) body.top_p = request.top_p;
  if (request.top_k !== undefined) body.top_k = request.top_k;
  return body;
}

/** Hosted tools of Anthropic's (web search, code execution…) have a `type`; no local engine runs them. */
export function droppedServerTools(request: CountTokensRequest): string[] {
  return (request.tools ?? []).filter((t) => t.type !== undefined && t.type !== "custom").map((t) => t.type ?? t.name);
}

/** `msg_…` / `toolu_…` ids in Anthropic's style. */
export function anthropicId(prefix: "msg" | "toolu"): string {
  return `${prefix}_01${randomBytes(12).toString("base64url")}`;
}
