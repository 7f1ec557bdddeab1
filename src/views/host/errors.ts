import * as vscode from "vscode";
import { ManagerRequestError } from "../../client/ManagerClient";

/** The one way errors reach the user: one notification, "Show Logs" opens the log channel. */
export class ErrorReporter {
  /** The last few reported messages, newest last (what the user was shown; tests read it). */
  readonly recent: string[] = [];

  constructor(private readonly log: vscode.LogOutputChannel) {}

  /** Logs `error` and shows `what: message` with a Show Logs action. Never waits for the user. */
  report(what: string, error: unknown): void {
    if (isAbort(error)) return;
    const message = `${what}: ${describeError(error)}`;
    this.log.error(message);
    this.recent.push(message);
    if (this.recent.length > 20) this.recent.shift();
    const showLogs = vscode.l10n.t("Show Logs");
    void vscode.window.showErrorMessage(message, showLogs).then((choice) => {
      if (choice === showLogs) this.log.show(true);
    });
  }
}

export function describeError(error: unknown): string {
  if (error instanceof ManagerRequestError) return error.message;
  if (error instanceof Error) return error.message;
  return String(error);
}

export function isAbort(error: unknown): boolean {
  return error instanceof Error && (error.name === "AbortError" || error instanceof vscode.CancellationError);
}
