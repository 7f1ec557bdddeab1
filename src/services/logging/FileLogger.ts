import fs from "node:fs";
import path from "node:path";
import pino from "pino";
import type { LogFields, Logger } from "./Logger";

export interface FileLoggerOptions {
  file: string;
  level?: "debug" | "info" | "warn" | "error";
  /** Rotate when the file passes this size (bytes). */
  maxBytes?: number;
  /** Rotated files kept: file.1 ... file.N. */
  keep?: number;
}

/** Key names whose values are never written, wherever they appear in the fields. */
const SECRET_KEYS = ["token", "password", "authorization", "apiKey", "secret", "hfToken", "cookie"];

/**
 * The manager's log: JSON lines (pino) in a file, rotated by size. Secrets in fields are
 * redacted by key name as a last line of defence; code must not pass them in the first place.
 */
export class FileLogger implements Logger {
  private readonly destination: pino.DestinationStream & { reopen(): void; flushSync(): void };
  private readonly pino: pino.Logger;
  private writesSinceCheck = 0;

  constructor(private readonly options: FileLoggerOptions) {
    fs.mkdirSync(path.dirname(options.file), { recursive: true, mode: 0o700 });
    this.rotateIfLarge();
    this.destination = pino.destination({ dest: options.file, sync: false, mkdir: true });
    this.pino = pino(
      {
        level: options.level ?? "info",
        base: { pid: process.pid },
        redact: { paths: SECRET_KEYS.flatMap((k) => [k, `*.${k}`]), censor: "[redacted]" },
        timestamp: pino.stdTimeFunctions.isoTime,
      },
      this.destination,
    );
  }


  debug(message: string, fields?: LogFields): void {
    this.write("debug", message, fields);
  }
  info(message: string, fields?: LogFields): void {
    this.write("info", message, fields);
  }
  warn(message: string, fields?: LogFields): void {
    this.write("warn", message, fields);
  }
  error(message: string, fields?: LogFields): void {
    this.write("error", message, fields);
  }

  child(bindings: LogFields): Logger {
    return new ChildLogger(this, bindings);
  }

  /** Writes what is buffered; call before exit. */
  flush(): void {
    try {
      this.destination.flushSync();
    } catch {
      // Nothing buffered yet (the stream opens asynchronously).
    }
  }

  /** @internal */
  write(level: "debug" | "info" | "warn" | "error", message: string, fields?: LogFields): void {
    const target = this.pino;
    if (fields) target[level](fields, message);
    else target[level](message);
    if (++this.writesSinceCheck >= 500) {
      this.writesSinceCheck = 0;
      if (this.rotateIfLarge()) this.destination.reopen();
    }
  }

  /** Renames file → file.1 → file.2 ... when it is over the size limit. */
  private rotateIfLarge(): boolean {
    const max = this.options.maxBytes ?? 10 * 1024 * 1024;
    const keep = this.options.keep ?? 3;
    let size = 0;
    try {
      size = fs.statSync(this.options.file).size;
    } catch {
      return false;
    }
    if (size < max) return false;
    for (let i = keep - 1; i >= 1; i--) {
      try {
        fs.renameSync(`${this.options.file}.${i}`, `${this.options.file}.${i + 1}`);
      } catch {
        // That generation does not exist yet.
      }
    }
    fs.renameSync(this.options.file, `${this.options.file}.1`);
    return true;
  }
}

class ChildLogger implements Logger {
  constructor(
    private readonly root: FileLogger,
    private readonly bindings: LogFields,
  ) {}
  debug(message: string, fields?: LogFields): void {
    this.root.write("debug", message, { ...this.bindings, ...fields });
  }
  info(message: string, fields?: LogFields): void {
    this.root.write("info", message, { ...this.bindings, ...fields });
  }
  warn(message: string, fields?: LogFields): void {
    this.root.write("warn", message, { ...this.bindings, ...fields });
  }
  error(message: string, fields?: LogFields): void {
    this.root.write("error", message, { ...this.bindings, ...fields });
  }
  child(bindings: LogFields): Logger {
    return new ChildLogger(this.root, { ...this.bindings, ...bindings });
  }
}
