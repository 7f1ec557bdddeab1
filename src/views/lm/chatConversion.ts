// What the language-model provider needs that does not touch the VS Code API at run time, so plain
// mocha tests it: profile → model information, VS Code chat messages and tools → OpenAI's request,
// and the token estimate. Parts are recognised by shape (the classes live in the host).
import type {
  LanguageModelChatInformation,
  LanguageModelChatRequestMessage,
  LanguageModelChatTool,
  LanguageModelChatToolMode,
} from "vscode";
import type { ChatContentPart, ChatMessage, ChatTool, ChatToolCall } from "../../client/chatCompletions";
import type { CachedModel } from "../../shared/models";
import { modelRefLabel, type Profile } from "../../shared/profiles";
import { estimateTokens, MESSAGE_OVERHEAD } from "../../shared/tokenEstimate";
import type { ServerInfo } from "../../shared/servers";

/** The `vendor` of the `languageModelChatProviders` contribution. */
export const LM_VENDOR = "mlx-manager";

/** Context size when the profile sets none: the `llama` engine's own default cap. */
export const DEFAULT_CONTEXT_TOKENS = 4096;

// Values of LanguageModelChatMessageRole.User / .Assistant and LanguageModelChatToolMode.Required,
// which a module without the `vscode` runtime cannot read (the in-host test sends real ones).
const ROLE_USER = 1;
const ROLE_ASSISTANT = 2;
const TOOL_MODE_REQUIRED = 2;

const NOT_CHAT = new Set(["embeddings", "whisper", "image-generation", "image-edit"]);

/** Profiles that can chat (an embeddings or speech profile is no chat model). */
export function isChatProfile(profile: Profile): boolean {
  return !NOT_CHAT.has(profile.options.modelType ?? "lm");
}

/** How a profile's model is written for people: `org/name[:file]` or the path. */
export function modelLabel(profile: Profile): string {
  return modelRefLabel(profile.model);
}

/** One profile as VS Code's chat sees it: "MLX · <profile>", its context size as the input limit (the host adds the localised detail and tooltip). */
export function chatModelInformation(profile: Profile, models: readonly CachedModel[]): LanguageModelChatInformation {
  const maxInputTokens = profile.capabilities?.contextLength ?? profile.options.contextLength ?? DEFAULT_CONTEXT_TOKENS;
  // mlx_lm.server stops at 512 tokens unless told otherwise. The others generate until the context
  // is full, but the answer shares the context with the prompt: a quarter of it is offered. (VS Code's
  // "Manage Language Models" shows input + output as the context size.)
  const maxOutputTokens = profile.options.maxTokens ?? (profile.engine === "mlx-lm" ? 512 : Math.max(1, Math.floor(maxInputTokens / 4)));
  const repoId = profile.model.source === "cache" ? profile.model.repoId : undefined;
  const architecture = repoId === undefined ? undefined : models.find((m) => m.id === repoId)?.architecture;
  return {
    id: profile.id,
    name: `MLX · ${profile.name}`,
    family: architecture ?? profile.engine,
    version: modelLabel(profile),
    maxInputTokens,
    maxOutputTokens,
    // What the manager worked out from the engine, the options and the model's files (mlx-openai-server
    // parses tool calls only with a parser and auto tool choice; mlx_lm.server only when the model's
    // template takes tools). An older manager says nothing: claim only what every engine does.
    capabilities: {
      toolCalling: profile.capabilities?.toolCalling ?? profile.engine === "llama",
      imageInput: profile.capabilities?.imageInput ?? false,
    },
  };
}

/** The server answers now (else the gateway starts it on the first request). */
export function isServing(server: ServerInfo | undefined): boolean {
  return server !== undefined && (server.state === "running" || server.state === "unhealthy");
}

interface TextLike { value: string }
interface ToolCallLike { callId: string; name: string; input: object }
interface ToolResultLike { callId: string; content: readonly unknown[] }
interface DataLike { mimeType: string; data: Uint8Array }

function isObject(part: unknown): part is Record<string, unknown> {
  return typeof part === "object" && part !== null;
}
export function isTextPart(part: unknown): part is TextLike {
  return isObject(part) && typeof part["value"] === "string" && !("callId" in part);
}
export function isToolCallPart(part: unknown): part is ToolCallLike {
  return isObject(part) && typeof part["callId"] === "string" && typeof part["name"] === "string" && "input" in part;
}
export function isToolResultPart(part: unknown): part is ToolResultLike {
  return isObject(part) && typeof part["callId"] === "string" && Array.isArray(part["content"]);
}
function isDataPart(part: unknown): part is DataLike {
  return isObject(part) && typeof part["mimeType"] === "string" && part["data"] instanceof Uint8Array;
}

/** Text of a data part that holds text or JSON; undefined for binary data (images). */
function dataText(part: DataLike): string | undefined {
  const mime = part.mimeType.toLowerCase();
  if (mime.startsWith("text/") || mime.includes("json")) return new TextDecoder().decode(part.data);
  return undefined;
}

/** A tool result's content as the one string OpenAI's `tool` message carries. */
export function toolResultText(content: readonly unknown[]): string {
  const out: string[] = [];
  for (const part of content) {
    if (isTextPart(part)) out.push(part.value);
    else if (isDataPart(part)) out.push(dataText(part) ?? `[${part.mimeType} data, ${part.data.byteLength} bytes]`);
    // A prompt-tsx part (or anything newer): its JSON is the best text there is.
    else if (isObject(part) && "value" in part) out.push(JSON.stringify(part["value"]));
  }
  return out.join("");
}

export interface ConversionOptions {
  /** The engine takes `tool` messages and `tool_calls`; otherwise earlier calls and results become text. */
  tools: boolean;
  /** The model takes images (`image_url` parts); otherwise images are left out with a note. */
  images: boolean;
}

/**
 * VS Code's chat messages as OpenAI messages. Tool results (which VS Code puts in a user message)
 * become `tool` messages right after the assistant's calls, as OpenAI requires.
 */
export function toOpenAiMessages(messages: readonly LanguageModelChatRequestMessage[], options: ConversionOptions): ChatMessage[] {
  const out: ChatMessage[] = [];
  for (const message of messages) {
    const role = message.role as number;
    if (role === ROLE_ASSISTANT) {
      let text = "";
      const calls: ChatToolCall[] = [];
      for (const part of message.content) {
        if (isTextPart(part)) text += part.value;
        else if (isToolCallPart(part)) {
          if (options.tools) calls.push({ id: part.callId, type: "function", function: { name: part.name, arguments: JSON.stringify(part.input) } });
          else text += `${text ? "\n" : ""}[called tool ${part.name} with ${JSON.stringify(part.input)}]`;
        }
      }
      out.push(calls.length > 0 ? { role: "assistant", content: text === "" ? null : text, tool_calls: calls } : { role: "assistant", content: text });
      continue;
    }
    const parts: ChatContentPart[] = [];
    let hasImage = false;
    for (const part of message.content) {
      if (isTextPart(part)) parts.push({ type: "text", text: part.value });
      else if (isToolResultPart(part)) {
        if (options.tools) out.push({ role: "tool", tool_call_id: part.callId, content: toolResultText(part.content) });
        else parts.push({ type: "text", text: `[tool result ${part.callId}: ${toolResultText(part.content)}]` });
      } else if (isDataPart(part)) {
        const text = dataText(part);
        if (text !== undefined) parts.push({ type: "text", text });
        else if (options.images && part.mimeType.startsWith("image/")) {
          parts.push({ type: "image_url", image_url: { url: `data:${part.mimeType};base64,${Buffer.from(part.data).toString("base64")}` } });
          hasImage = true;
        } else parts.push({ type: "text", text: `[${part.mimeType} attachment left out: this model takes text only]` });
      }
    }
    if (parts.length === 0) continue;
    // A role beyond User/Assistant (the proposed System role is 3) is a system prompt.
    if (role !== ROLE_USER) out.push({ role: "system", content: joinText(parts) });
    else out.push({ role: "user", content: hasImage ? mergeText(parts) : joinText(parts) });
  }
  return out;
}

function joinText(parts: readonly ChatContentPart[]): string {
  return parts.map((p) => (p.type === "text" ? p.text : "")).join("");
}

/** Adjacent text parts joined (VS Code streams text in pieces), images kept in place. */
function mergeText(parts: readonly ChatContentPart[]): ChatContentPart[] {
  const out: ChatContentPart[] = [];
  for (const part of parts) {
    const last = out.at(-1);
    if (part.type === "text" && last?.type === "text") last.text += part.text;
    else out.push(part.type === "text" ? { ...part } : part);
  }
  return out;
}

/** VS Code's tools as OpenAI's `tools` and `tool_choice` (nothing when there are none). */
export function toOpenAiTools(tools: readonly LanguageModelChatTool[] | undefined, toolMode: LanguageModelChatToolMode | undefined): { tools?: ChatTool[]; tool_choice?: "auto" | "required" } {
  if (tools === undefined || tools.length === 0) return {};
  return {
    tools: tools.map((tool) => ({
      type: "function",
      function: { name: tool.name, description: tool.description, parameters: tool.inputSchema ?? { type: "object", properties: {} } },
    })),
    tool_choice: (toolMode as number | undefined) === TOOL_MODE_REQUIRED ? "required" : "auto",
  };
}

/** The sampling options a caller may pass in `modelOptions` that every engine understands. */
export function samplingOptions(modelOptions: Readonly<Record<string, unknown>> | undefined): { temperature?: number; top_p?: number; max_tokens?: number; seed?: number; stop?: string | string[] } {
  const o = modelOptions ?? {};
  const num = (key: string): number | undefined => (typeof o[key] === "number" && Number.isFinite(o[key]) ? o[key] : undefined);
  const out: { temperature?: number; top_p?: number; max_tokens?: number; seed?: number; stop?: string | string[] } = {};
  const temperature = num("temperature");
  if (temperature !== undefined) out.temperature = temperature;
  const topP = num("top_p") ?? num("topP");
  if (topP !== undefined) out.top_p = topP;
  const maxTokens = num("max_tokens") ?? num("maxTokens");
  if (maxTokens !== undefined && maxTokens >= 1) out.max_tokens = Math.floor(maxTokens);
  const seed = num("seed");
  if (seed !== undefined) out.seed = Math.floor(seed);
  const stop = o["stop"];
  if (typeof stop === "string" || (Array.isArray(stop) && stop.every((s) => typeof s === "string"))) out.stop = stop;
  return out;
}


export { estimateTokens };

/** The estimate for one chat message: its text, calls and results, plus the template's markers. */
export function estimateMessageTokens(message: LanguageModelChatRequestMessage): number {
  let tokens = MESSAGE_OVERHEAD;
  for (const part of message.content) {
    if (isTextPart(part)) tokens += estimateTokens(part.value);
    else if (isToolCallPart(part)) tokens += estimateTokens(part.name) + estimateTokens(JSON.stringify(part.input)) + 3;
    else if (isToolResultPart(part)) tokens += estimateTokens(toolResultText(part.content)) + 3;
    else if (isDataPart(part)) tokens += dataText(part) === undefined ? 256 : estimateTokens(dataText(part) ?? "");
  }
  return tokens;
}
