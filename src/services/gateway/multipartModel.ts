// Finds the `model` field of a multipart/form-data body as its bytes arrive, so an upload can be
// routed (and its model value replaced) without parsing or buffering the rest of it: the file
// part is only searched for the next boundary.

const HEADER_END = Buffer.from("\r\n\r\n");
/** Part headers and the model value are small; anything larger is not a form we can route. */
const MAX_HEADER_BYTES = 16 * 1024;
const MAX_MODEL_BYTES = 1024;

/** Where the model value sits in the body: bytes [valueStart, valueEnd). */
export interface MultipartModelField {
  model: string;
  valueStart: number;
  valueEnd: number;
}

/** The boundary of a multipart/form-data content type, or undefined. */
export function multipartBoundary(contentType: string | undefined): string | undefined {
  if (contentType === undefined || !/^multipart\/form-data\s*;/i.test(contentType)) return undefined;
  const match = /;\s*boundary=(?:"([^"]{1,70})"|([^\s;]{1,70}))/i.exec(contentType);
  return match?.[1] ?? match?.[2];
}

type State = "preamble" | "afterDelimiter" | "headers" | "skipPart" | "modelValue" | "finished";

/**
 * Pushed the body chunk by chunk; answers the model field once its value is complete,
 * "absent" when the closing boundary came without one, undefined while it needs more.
 */
export class MultipartModelFinder {
  /** "\r\n--boundary": the body is read as if it began with "\r\n", so the first delimiter looks like the others. */
  private readonly delimiter: Buffer;
  private state: State = "preamble";
  /** Bytes not yet resolved, starting at body offset `pendingAt` (-2 for the virtual "\r\n"). */
  private pending: Buffer = Buffer.from("\r\n");
  private pendingAt = -2;
  private result: MultipartModelField | "absent" | undefined;

  constructor(boundary: string) {
    this.delimiter = Buffer.from(`\r\n--${boundary}`);
  }

  /** Feeds the next chunk of the body. */
  push(chunk: Buffer): MultipartModelField | "absent" | undefined {
    if (this.result !== undefined) return this.result;
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    this.result = this.advance();
    return this.result;
  }

  /** The body ended. */
  end(): MultipartModelField | "absent" {
    this.result ??= "absent";
    return this.result;
  }

  private consume(bytes: number): void {
    this.pending = this.pending.subarray(bytes);
    this.pendingAt += bytes;
  }

  /** Keeps only what a delimiter split across chunks could still need. */
  private keepTail(): void {
    const keep = this.delimiter.length - 1;
    if (this.pending.length > keep) this.consume(this.pending.length - keep);
  }

  private advance(): MultipartModelField | "absent" | undefined {
    for (;;) {
      switch (this.state) {
        case "preamble":
        case "skipPart": {
          const at = this.pending.indexOf(this.delimiter);
          if (at === -1) {
            this.keepTail();
            return undefined;
          }
          this.consume(at + this.delimiter.length);
          this.state = "afterDelimiter";
          break;
        }
        case "afterDelimiter": {
          // "--" closes the body; otherwise optional whitespace, then CRLF and the part's headers.
          if (this.pending.length < 2) return undefined;
          if (this.pending[0] === 0x2d && this.pending[1] === 0x2d) {
            this.state = "finished";
            return "absent";
          }
          const lf = this.pending.indexOf(0x0a);
          if (lf === -1) {
            if (this.pending.length > 256) return "absent";
            return undefined;
          }
          this.consume(lf + 1);
          this.state = "headers";
          break;
        }
        case "headers": {
          const at = this.pending.indexOf(HEADER_END);
          // A part with no headers at all starts with the blank line directly.
          const blank = this.pending[0] === 0x0d && this.pending[1] === 0x0a;
          if (at === -1 && !blank) {
            if (this.pending.length > MAX_HEADER_BYTES) return "absent";
            return undefined;
          }
          const headerEnd = blank ? 0 : at;
          const headers = this.pending.toString("latin1", 0, headerEnd);
          this.consume(headerEnd + (blank ? 2 : HEADER_END.length));
          const isModel = /^content-disposition:[^\r\n]*;\s*name=(?:"model"|model)\s*(?:;|$)/im.test(headers);
          this.state = isModel ? "modelValue" : "skipPart";
          break;
        }
        case "modelValue": {
          const at = this.pending.indexOf(this.delimiter);
          if (at === -1) {
            if (this.pending.length > MAX_MODEL_BYTES + this.delimiter.length) return "absent";
            return undefined;
          }
          // Nothing of the value is consumed while it is incomplete, so it starts where pending does.
          this.state = "finished";
          return { model: this.pending.toString("utf8", 0, at), valueStart: this.pendingAt, valueEnd: this.pendingAt + at };
        }
        case "finished":
          return "absent";
      }
    }
  }
}
