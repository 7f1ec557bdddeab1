import type { ErrorCode } from "../../shared/errors";

/** A Hub or download failure with a stable code and a message that says what to do. */
export class HubError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** HTTP status the manager API answers with. */
    readonly status: number,
    /** Worth retrying (network trouble, 5xx, 429). */
    readonly transient = false,
    /** For 429: seconds the Hub asked us to wait. */
    readonly retryAfterSec?: number,
  ) {
    super(message);
    this.name = "HubError";
  }
}

export interface HubFailure {
  status: number;
  /** The Hub's `X-Error-Code` header (GatedRepo, RepoNotFound, RevisionNotFound, EntryNotFound). */
  errorCode?: string | undefined;
  retryAfter?: string | null | undefined;
  repo: string;
  revision?: string | undefined;
  path?: string | undefined;
  endpoint: string;
  hasToken: boolean;
}

/** Turns a Hub HTTP failure into an error a user can act on. */
export function hubHttpError(f: HubFailure): HubError {
  const what = `${f.repo}${f.revision ? `@${f.revision}` : ""}${f.path ? ` (${f.path})` : ""}`;
  const tokenHint = f.hasToken
    ? "the token the manager has may lack access (a fine-grained token needs read access to this repo)"
    : 'no Hugging Face token is set: in VS Code run "MLX: Set Hugging Face Token"; for the CLI set HF_TOKEN or run `huggingface-cli login`';
  if (f.errorCode === "GatedRepo" || (f.status === 403 && /gated/i.test(f.errorCode ?? ""))) {
    return new HubError("hub_gated", `${f.repo} is gated: open ${f.endpoint}/${f.repo}, accept its conditions with your account, then use a token of that account (${tokenHint}).`, 403);
  }
  if (f.status === 401) {
    if (f.errorCode === "RepoNotFound") {
      return new HubError("hub_not_found", `${what} was not found on the Hub. Check the repo id; if it is private, ${tokenHint}.`, 404);
    }
    return new HubError("hub_unauthorized", `The Hub refused ${what} (401): ${tokenHint}.`, 401);
  }
  if (f.status === 403) return new HubError("hub_forbidden", `The Hub denied access to ${what} (403): ${tokenHint}.`, 403);
  if (f.status === 404) {
    const which = f.errorCode === "RevisionNotFound" ? `revision "${f.revision ?? ""}" of ${f.repo}` : f.errorCode === "EntryNotFound" ? `${f.path ?? "the file"} in ${f.repo}` : what;
    return new HubError("hub_not_found", `${which} was not found on the Hub. Check the repo id, revision and file names.`, 404);
  }
  if (f.status === 429) {
    const seconds = parseRetryAfter(f.retryAfter);
    return new HubError("hub_rate_limited", `The Hub is rate limiting requests; try again in ${seconds ?? 60} s${f.hasToken ? "" : " (requests with a token get a higher limit)"}.`, 429, true, seconds);
  }
  const transient = f.status >= 500 || f.status === 408;
  return new HubError("hub_error", `The Hub answered ${f.status} for ${what}${transient ? "; it is retried, try again later if it persists" : ""}.`, 502, transient);
}

/** `Retry-After` as seconds (delta or HTTP date). */
export function parseRetryAfter(value: string | null | undefined): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

export function offlineError(): HubError {
  return new HubError("hub_offline", "HF_HUB_OFFLINE=1 is set, so the manager makes no network calls: Hub search, details and downloads are off. Cached models still work; unset HF_HUB_OFFLINE to reach the Hub.", 503);
}

export function unreachableError(endpoint: string, error: unknown): HubError {
  const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as { code?: string }).code ?? (error instanceof Error ? error.message : String(error));
  return new HubError("hub_unreachable", `The Hub at ${endpoint} is not reachable (${cause}). Check the network, or HF_ENDPOINT for a mirror.`, 502, true);
}
