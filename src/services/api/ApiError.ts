import type * as z from "zod";
import type { ErrorCode } from "../../shared/errors";

/** An error a client should see: HTTP status, stable code, a message saying what to do. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly field?: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = "ApiError";
  }

  toBody(): { error: { code: string; message: string; field?: string; details?: Record<string, unknown> } } {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.field === undefined ? {} : { field: this.field }),
        ...(this.details === undefined ? {} : { details: this.details }),
      },
    };
  }
}

/** Validates untrusted input; the first problem becomes a 400 that names the field. */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, what = "request"): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue && issue.path.length > 0 ? issue.path.map(String).join(".") : undefined;
  const message = issue ? describeIssue(issue, field) : `Invalid ${what}.`;
  throw new ApiError(400, "validation_failed", message, field);
}

function describeIssue(issue: z.core.$ZodIssue, field: string | undefined): string {
  const where = field ? `${field}: ` : "";
  if (issue.code === "unrecognized_keys") return `${where}unknown field${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `"${k}"`).join(", ")}.`;
  return `${where}${issue.message}`;
}
