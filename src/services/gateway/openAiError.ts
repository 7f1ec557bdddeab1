import { ApiError } from "../api/ApiError";

export type OpenAiErrorType = "invalid_request_error" | "server_error";

/** OpenAI's error body: what every `/v1/*` answer carries when it fails (the manager's own shape is for `/api/*`). */
export interface OpenAiErrorBody {
  error: { message: string; type: OpenAiErrorType; param: string | null; code: string | null };
}

/** An error a `/v1` client should see, in OpenAI's shape. */
export class GatewayError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code: string | null,
    readonly param: string | null = null,
    readonly type: OpenAiErrorType = status >= 500 ? "server_error" : "invalid_request_error",
    /** Sent as Retry-After: when trying again may work (a busy server, memory held by running models). */
    readonly retryAfterSec?: number,
  ) {
    super(message);
    this.name = "GatewayError";
  }

  toBody(): OpenAiErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

/** The /v1 answer for an unknown model. */
export function modelNotFound(model: string): GatewayError {
  return new GatewayError(
    404,
    `The model "${model}" does not exist: name a profile (GET /v1/models lists them) or the model id of exactly one profile.`,
    "model_not_found",
    "model",
  );
}

/** Turns anything thrown into what a /v1 client is told (a manager ApiError keeps its status, code and message). */
export function toGatewayError(error: unknown): GatewayError {
  if (error instanceof GatewayError) return error;
  if (error instanceof ApiError) {
    const retryAfter = error.details?.["retryAfterSec"];
    return new GatewayError(error.status, error.message, error.code, error.field ?? null, undefined, typeof retryAfter === "number" ? retryAfter : undefined);
  }
  const e = error as { statusCode?: unknown; code?: unknown; message?: unknown };
  const message = typeof e.message === "string" ? e.message : "Bad request.";
  if (e.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE") return new GatewayError(415, "Send JSON with content-type: application/json.", "unsupported_media_type");
  if (typeof e.statusCode === "number" && e.statusCode >= 400 && e.statusCode < 500) return new GatewayError(e.statusCode, message, null);
  return new GatewayError(500, "The gateway hit an unexpected error; details are in the manager's log.", "internal_error");
}
