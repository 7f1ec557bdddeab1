import * as vscode from "vscode";

/**
 * The options object a caller (a test, a walkthrough link, another extension) may pass instead of
 * being asked; anything else counts as none. Each command validates the fields it reads.
 */
export function optionsArg<T extends object>(value: unknown): Partial<T> {
  return typeof value === "object" && value !== null ? value : {};
}

/** Input-box validation of an email address (the manager normalises and checks it for real). */
export function validateEmail(value: string): string | undefined {
  return /^[^\s@]+@[^\s@]+$/.test(value.trim()) ? undefined : vscode.l10n.t("An email address, like you@example.com");
}
