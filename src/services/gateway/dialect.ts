import type { IncomingHttpHeaders } from "node:http";
import type { GatewayError } from "./openAiError";
import { anthropicError } from "./translate/anthropicAnswer";

// Which API's conventions a /v1 request follows: Anthropic's Messages routes answer errors in
// Anthropic's shape and take the key in `x-api-key`; every other route is OpenAI's. Every place
// that makes a /v1 error (the loopback and shared listeners' auth, the gateway) asks here.

export type Dialect = "openai" | "anthropic";

/** The dialect of a request URL (path and query). */
export function dialectOf(url: string): Dialect {
  return /^\/v1\/messages(?:[/?]|$)/.test(url) ? "anthropic" : "openai";
}

/** A gateway error's body in the dialect's shape. */
export function errorBody(dialect: Dialect, error: GatewayError): unknown {
  return dialect === "anthropic" ? anthropicError(error.status, error.message) : error.toBody();
}

/**
 * The credential a /v1 request presents, as an Authorization header value: `Authorization`, else
 * Anthropic's `x-api-key` (what @anthropic-ai/sdk and Claude Code send with an API key) as a Bearer.
 */
export function presentedCredential(headers: IncomingHttpHeaders): string | undefined {
  if (headers.authorization !== undefined) return headers.authorization;
  const key = headers["x-api-key"];
  return typeof key === "string" && key !== "" ? `Bearer ${key}` : undefined;
}
