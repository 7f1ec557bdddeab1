// The dashboard's HTML document, shared by the real panel and the Chromium test page so both run
// under the same Content-Security-Policy.
import { randomBytes } from "node:crypto";

export interface DashboardHtmlInput {
  /** `webview.cspSource`: the origin the webview's own resources come from. */
  cspSource: string;
  scriptUri: string;
  styleUri: string;
  /** A fresh one per render (from crypto) unless a test passes its own. */
  nonce?: string;
}

/** A fresh nonce for one render of the webview. */
export function makeNonce(): string {
  return randomBytes(18).toString("base64url");
}

/**
 * `default-src 'none'`: scripts only with this render's nonce, styles and fonts only from the
 * extension, images only from the extension or data: URIs (so a model's remote image never loads).
 */
export function dashboardHtml(input: DashboardHtmlInput): string {
  const nonce = input.nonce ?? makeNonce();
  const csp = [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src ${input.cspSource} 'nonce-${nonce}'`,
    `font-src ${input.cspSource}`,
    `img-src ${input.cspSource} data:`,
  ].join("; ");
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${escapeAttr(input.styleUri)}" nonce="${nonce}">
<title>MLX Dashboard</title>
</head>
<body>
<div id="root"></div>
<script nonce="${nonce}" src="${escapeAttr(input.scriptUri)}"></script>
</body>
</html>`;
}

function escapeAttr(value: string): string {
  return value.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;");
}
