import type { EngineId } from "../../shared/engines";
import type { Profile } from "../../shared/profiles";
import type { ServerInfo } from "../../shared/servers";
import { estimateTokens, MESSAGE_OVERHEAD } from "../../shared/tokenEstimate";
import type { Logger } from "../logging/Logger";
import { GatewayError } from "./openAiError";
import type { ChatRequestBody } from "./translate/chatBody";

// How many tokens a chat prompt takes, and whether it fits the context the server runs with.
// Exact where the engine tokenizes (our `llama` engine's POST /tokenize applies the model's chat
// template, tools included); an estimate otherwise, said as such. A prompt that cannot fit is
// refused at once, naming both numbers, never left to hang or be cut silently.

export interface PromptCount {
  tokens: number;
  exact: boolean;
  /** The context the engine reported it runs with. */
  contextSize?: number;
}

export interface PromptFit extends PromptCount {
  promptTokens: number;
  /** The max_tokens to send (unchanged when nothing was clamped). */
  maxTokens: number | undefined;
  /** What the client asked, when it was lowered to what the context leaves. */
  clampedFrom?: number;
}

/** An estimate errs high; it refuses only prompts this far over the context, so a fitting prompt is never turned away. */
const ESTIMATE_MARGIN = 1.25;
const TOKENIZE_TIMEOUT_MS = 10_000;

function messageText(message: ChatRequestBody["messages"][number]): string {
  const content = message.content;
  let text = typeof content === "string" ? content : content === null ? "" : content.map((p) => (p.type === "text" ? p.text : "")).join("");
  if (message.role === "assistant" && message.tool_calls) for (const call of message.tool_calls) text += call.function.name + call.function.arguments;
  return text;
}

/** The estimate of a chat prompt: every message's text and template markers, and the tools' definitions. */
export function estimatePromptTokens(chat: ChatRequestBody): number {
  let tokens = 0;
  for (const message of chat.messages) {
    tokens += MESSAGE_OVERHEAD + estimateTokens(messageText(message));
    if (typeof message.content !== "string" && message.content !== null) tokens += 256 * message.content.filter((p) => p.type === "image_url").length;
  }
  if (chat.tools) tokens += estimateTokens(JSON.stringify(chat.tools));
  return tokens;
}

export class PromptFitter {
  constructor(
    /** The engine's tokenize route, when it has one. */
    private readonly tokenizePath: (engine: EngineId) => string | undefined,
    private readonly log: Logger,
  ) {}

  /** The prompt's size on this server (exact when it runs and can tokenize). */
  async count(server: ServerInfo | undefined, chat: ChatRequestBody, signal: AbortSignal): Promise<PromptCount> {
    const path = server === undefined ? undefined : this.tokenizePath(server.engine);
    if (server !== undefined && path !== undefined) {
      try {
        const response = await fetch(`${server.upstreamUrl}${path}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ messages: chat.messages, ...(chat.tools ? { tools: chat.tools } : {}) }),
          signal: AbortSignal.any([signal, AbortSignal.timeout(TOKENIZE_TIMEOUT_MS)]),
        });
        const body = (await response.json()) as { prompt_tokens?: unknown; context_size?: unknown };
        if (response.ok && typeof body.prompt_tokens === "number") {
          return { tokens: body.prompt_tokens, exact: true, ...(typeof body.context_size === "number" ? { contextSize: body.context_size } : {}) };
        }
        this.log.warn("the engine could not count a prompt; estimating", { profile: server.profileName, status: response.status });
      } catch (error) {
        if (signal.aborted) throw error;
        this.log.warn("the engine could not count a prompt; estimating", { profile: server.profileName, error: String(error) });
      }
    }
    return { tokens: estimatePromptTokens(chat), exact: false };
  }

  /** Refuses a prompt the context cannot hold; lowers max_tokens to what the context leaves. */
  async fit(server: ServerInfo, profile: Profile, chat: ChatRequestBody, signal: AbortSignal): Promise<PromptFit> {
    const count = await this.count(server, chat, signal);
    const contextSize = count.contextSize ?? profile.options.contextLength;
    const fit: PromptFit = { ...count, promptTokens: count.tokens, maxTokens: chat.max_tokens };
    if (contextSize === undefined) return fit;
    fit.contextSize = contextSize;
    const over = count.exact ? count.tokens >= contextSize : count.tokens > contextSize * ESTIMATE_MARGIN;
    if (over) {
      const size = count.exact ? `${count.tokens.toLocaleString("en-US")} tokens` : `about ${count.tokens.toLocaleString("en-US")} tokens (estimated)`;
      throw new GatewayError(
        400,
        `The prompt is ${size}, but the context of profile "${profile.name}" is ${contextSize.toLocaleString("en-US")} tokens, so nothing could be generated. Use a profile with a larger context (its contextLength option), or send a shorter conversation.`,
        "context_length_exceeded",
        "messages",
      );
    }
    const left = contextSize - count.tokens;
    if (count.exact && chat.max_tokens !== undefined && chat.max_tokens > left) {
      fit.clampedFrom = chat.max_tokens;
      fit.maxTokens = Math.max(1, left);
    }
    return fit;
  }
}
