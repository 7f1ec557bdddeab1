import type { OpenAiErrorBody } from "../openAiError";

/**
 * Turns an upstream Chat Completions answer into another API's as it arrives: a stream event by
 * event (never buffered), a JSON answer whole. The gateway's meter reads the upstream answer
 * itself, so metering is the same whichever API the client speaks.
 */
export interface AnswerTranslator {
  /** Content type of a streamed answer to the client. */
  readonly streamContentType: string;
  /** One upstream SSE `data:` payload (JSON text, or `[DONE]`); returns the bytes for the client (maybe ""). */
  streamEvent(data: string): string;
  /** The upstream stream ended; returns the closing events (once, after everything else). */
  streamEnd(): string;
  /** The upstream broke off or reported an error mid-stream: the error event in this API's shape. */
  streamError(message: string): string;
  /** A whole JSON answer → this API's body. */
  body(json: unknown): unknown;
  /** An error the gateway or the upstream gave, in this API's shape. */
  error(status: number, body: OpenAiErrorBody): unknown;
}

/** Splits an SSE byte stream into the payloads of its `data:` lines (events of one line, as every engine writes them). */
export class SseDataReader {
  private carry = "";
  private readonly decoder = new TextDecoder();

  /** The complete `data:` payloads in `chunk` (and what was carried from before). */
  push(chunk: Buffer): string[] {
    const text = this.carry + this.decoder.decode(chunk, { stream: true });
    const lines = text.split("\n");
    this.carry = lines.pop() ?? "";
    return dataOf(lines);
  }

  /** The payload of an unfinished last line, if any. */
  end(): string[] {
    const rest = this.carry + this.decoder.decode();
    this.carry = "";
    return dataOf([rest]);
  }
}

function dataOf(lines: string[]): string[] {
  const out: string[] = [];
  for (const raw of lines) {
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (!line.startsWith("data:")) continue;
    out.push(line.slice(line[5] === " " ? 6 : 5));
  }
  return out;
}

/** One SSE event with a name, as Anthropic and OpenAI's Responses stream write them. */
export function sseEvent(name: string, data: unknown): string {
  return `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
}
