import * as z from "zod";

/** Stable machine-readable error codes of the manager API. */
export const ErrorCode = z.enum([
  "bad_request",
  "invalid_json",
  "validation_failed",
  "unauthorized",
  "forbidden",
  "pending_approval",
  "rate_limited",
  "not_found",
  "conflict",
  "version_conflict",
  "name_taken",
  "alias_taken",
  "port_in_use",
  "engine_missing",
  "engine_outdated",
  "model_missing",
  "model_format_mismatch",
  "path_outside_cache",
  "payload_too_large",
  "unavailable",
  "internal",
  "hub_offline",
  "hub_unreachable",
  "hub_unauthorized",
  "hub_forbidden",
  "hub_gated",
  "hub_not_found",
  "hub_rate_limited",
  "hub_error",
  "download_failed",
  "integrity_failed",
  "disk_full",
  "insufficient_space",
  "does_not_fit",
  "over_budget",
  "in_use",
  "plain_http",
  "certificate_unconfirmed",
  "certificate_mismatch",
  "remote_unreachable",
  "remote_model_missing",
  "no_auth",
  "not_placed",
  "hosts_not_ready",
]);
export type ErrorCode = z.infer<typeof ErrorCode>;

/** The one error shape of every `/api/*` route. */
export const ApiErrorBody = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    field: z.string().optional(),
    details: z.record(z.string(), z.unknown()).optional(),
  }),
});
export type ApiErrorBody = z.infer<typeof ApiErrorBody>;
