/** Fields attached to a log line. Never put passwords, tokens or keys in them. */
export type LogFields = Record<string, unknown>;

/** The one logging interface of the manager's services. */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  child(bindings: LogFields): Logger;
}

/** A logger that drops everything (for benchmarks and tools that have no log file). */
export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silentLogger,
};

/** A logger that keeps lines in memory, for tests that assert what was logged. */
export class MemoryLogger implements Logger {
  constructor(
    private readonly bindings: LogFields = {},
    /** Children share their parent's list so a test sees everything. */
    readonly lines: { level: string; message: string; fields: LogFields }[] = [],
  ) {}
  debug(message: string, fields: LogFields = {}): void {
    this.lines.push({ level: "debug", message, fields: { ...this.bindings, ...fields } });
  }
  info(message: string, fields: LogFields = {}): void {
    this.lines.push({ level: "info", message, fields: { ...this.bindings, ...fields } });
  }
  warn(message: string, fields: LogFields = {}): void {
    this.lines.push({ level: "warn", message, fields: { ...this.bindings, ...fields } });
  }
  error(message: string, fields: LogFields = {}): void {
    this.lines.push({ level: "error", message, fields: { ...this.bindings, ...fields } });
  }
  child(bindings: LogFields): Logger {
    return new MemoryLogger({ ...this.bindings, ...bindings }, this.lines);
  }
}
