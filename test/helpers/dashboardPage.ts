// Hosts the built dashboard webview (dist/webview) in real Chromium, under the panel's own HTML and
// CSP, with acquireVsCodeApi shimmed onto a message bridge to a host in this Node process: the
// real DashboardHost talking to a real manager, or a test that plays the host itself.
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import type { HostMessage } from "../../src/shared/dashboard";
import { dashboardHtml } from "../../src/views/dashboard/dashboardHtml";
import { makeTempDir, removeTempDir } from "./hfCache";
import { ROOT } from "./manager";

export const CHROMIUM = process.env["CHROMIUM_PATH"] ?? "/usr/bin/chromium";
export const ARTIFACTS = path.join(ROOT, ".test-work", "dashboard");

export type Theme = "dark" | "light" | "high-contrast";

/** A subset of the variables VS Code puts on a webview's <html>, per theme (Dark/Light Modern, HC). */
const THEMES: Record<Theme, Record<string, string>> = {
  dark: {
    "font-family": "system-ui, -apple-system, 'Segoe UI', Ubuntu, sans-serif", "font-size": "13px", "font-weight": "normal",
    "editor-font-family": "'Droid Sans Mono', monospace", "editor-font-size": "13px",
    foreground: "#cccccc", descriptionForeground: "#9d9d9d", errorForeground: "#f85149", focusBorder: "#0078d4",
    "editor-background": "#1f1f1f", "editorWidget-background": "#202020", "sideBar-background": "#181818", "panel-border": "#2b2b2b", "widget-border": "#313131",
    "button-background": "#0078d4", "button-foreground": "#ffffff", "button-hoverBackground": "#026ec1", "button-border": "#ffffff12",
    "button-secondaryBackground": "#313131", "button-secondaryForeground": "#cccccc", "button-secondaryHoverBackground": "#3c3c3c",
    "input-background": "#313131", "input-foreground": "#cccccc", "input-border": "#3c3c3c", "input-placeholderForeground": "#989898",
    "badge-background": "#616161", "badge-foreground": "#f8f8f8", "textLink-foreground": "#4daafc", "textCodeBlock-background": "#2b2b2b",
    "textBlockQuote-border": "#616161", "list-hoverBackground": "#2a2d2e", "list-activeSelectionBackground": "#04395e", "list-activeSelectionForeground": "#ffffff",
    "testing-iconPassed": "#73c991", "charts-blue": "#3794ff", "charts-orange": "#d18616", "progressBar-background": "#0078d4", "settings-dropdownBackground": "#313131", "settings-dropdownBorder": "#3c3c3c",
    "settings-dropdownForeground": "#cccccc", "settings-dropdownListBorder": "#454545", "settings-textInputBackground": "#313131", "settings-textInputForeground": "#cccccc",
    "settings-textInputBorder": "#3c3c3c", "panelTitle-activeForeground": "#cccccc", "panelTitle-activeBorder": "#0078d4", "panelTitle-inactiveForeground": "#9d9d9d",
    "inputValidation-warningBackground": "#352a05", "inputValidation-warningBorder": "#b89500", "scrollbarSlider-background": "#79797966",
  },
  light: {
    "font-family": "system-ui, -apple-system, 'Segoe UI', Ubuntu, sans-serif", "font-size": "13px", "font-weight": "normal",
    "editor-font-family": "'Droid Sans Mono', monospace", "editor-font-size": "13px",
    foreground: "#3b3b3b", descriptionForeground: "#717171", errorForeground: "#c72e0f", focusBorder: "#005fb8",
    "editor-background": "#ffffff", "editorWidget-background": "#f8f8f8", "sideBar-background": "#f8f8f8", "panel-border": "#e5e5e5", "widget-border": "#e5e5e5",
    "button-background": "#005fb8", "button-foreground": "#ffffff", "button-hoverBackground": "#0258a8", "button-border": "#0000001a",
    "button-secondaryBackground": "#e5e5e5", "button-secondaryForeground": "#3b3b3b", "button-secondaryHoverBackground": "#cccccc",
    "input-background": "#ffffff", "input-foreground": "#3b3b3b", "input-border": "#cecece", "input-placeholderForeground": "#767676",
    "badge-background": "#cccccc", "badge-foreground": "#3b3b3b", "textLink-foreground": "#005fb8", "textCodeBlock-background": "#f2f2f2",
    "textBlockQuote-border": "#e5e5e5", "list-hoverBackground": "#f2f2f2", "list-activeSelectionBackground": "#e8e8e8", "list-activeSelectionForeground": "#000000",
    "testing-iconPassed": "#388a34", "charts-blue": "#1a85ff", "charts-orange": "#d18616", "progressBar-background": "#005fb8", "settings-dropdownBackground": "#ffffff", "settings-dropdownBorder": "#cecece",
    "settings-dropdownForeground": "#3b3b3b", "settings-dropdownListBorder": "#c8c8c8", "settings-textInputBackground": "#ffffff", "settings-textInputForeground": "#3b3b3b",
    "settings-textInputBorder": "#cecece", "panelTitle-activeForeground": "#3b3b3b", "panelTitle-activeBorder": "#005fb8", "panelTitle-inactiveForeground": "#3b3b3b",
    "inputValidation-warningBackground": "#f6f5d2", "inputValidation-warningBorder": "#b89500", "scrollbarSlider-background": "#64646466",
  },
  "high-contrast": {
    "font-family": "system-ui, sans-serif", "font-size": "13px", "font-weight": "normal", "editor-font-family": "monospace", "editor-font-size": "13px",
    foreground: "#ffffff", descriptionForeground: "#ffffff", errorForeground: "#f48771", focusBorder: "#f38518", contrastBorder: "#6fc3df", contrastActiveBorder: "#f38518",
    "list-focusOutline": "#f38518", "settings-textInputBackground": "#000000", "settings-textInputForeground": "#ffffff", "settings-textInputBorder": "#6fc3df", "settings-dropdownForeground": "#ffffff",
    "editor-background": "#000000", "editorWidget-background": "#0c141f", "panel-border": "#6fc3df", "button-background": "#000000", "button-foreground": "#ffffff",
    "button-border": "#6fc3df", "button-secondaryBackground": "#000000", "button-secondaryForeground": "#ffffff", "input-background": "#000000", "input-foreground": "#ffffff",
    "input-border": "#6fc3df", "badge-background": "#000000", "badge-foreground": "#ffffff", "textLink-foreground": "#21a6ff", "textCodeBlock-background": "#000000",
    "list-activeSelectionBackground": "#000000", "testing-iconPassed": "#73c991", "charts-blue": "#3794ff", "charts-orange": "#d18616", "progressBar-background": "#6fc3df", "settings-dropdownBackground": "#000000", "settings-dropdownBorder": "#6fc3df",
  },
};

const NONCE = "dGVzdC1ub25jZS1mb3ItdGhlLXBhZ2U";

export interface DashboardPage {
  page: Page;
  url: string;
  /** Uncaught errors in the page. */
  pageErrors: string[];
  /** What the webview posted, in order. */
  received: unknown[];
  /** CSP violations the page reported: "directive blocked at file:line:column sample=…". */
  cspViolations: () => Promise<string[]>;
  /** Posts a host message into the webview (as webview.postMessage does). */
  post(message: HostMessage): Promise<void>;
  /** Loads the webview (it posts `ready`); again after `unload()` it is a hidden panel shown again. */
  load(): Promise<void>;
  /** What hiding a panel does to its webview: the document goes away (state kept by setState). */
  unload(): Promise<void>;
  screenshot(name: string): Promise<string>;
  close(): Promise<void>;
}

export interface OpenOptions {
  theme?: Theme;
  width?: number;
  height?: number;
  /** Receives each message the webview posts. */
  onMessage: (message: unknown) => void;
}

/** Serves dist/webview and the panel's HTML; one Chromium for the whole test file. */
export class DashboardBrowser {
  private browser?: Browser;
  private server?: http.Server;
  private userDataDir = "";
  private readonly extra = new Map<string, { type: string; body: string | Buffer }>();
  origin = "";

  /** Serves more content (e.g. a benchmark's peer page) from the same origin. */
  addFile(pathname: string, type: string, body: string | Buffer): void {
    this.extra.set(pathname, { type, body });
  }

  async start(): Promise<void> {
    if (!fs.existsSync(path.join(ROOT, "dist", "webview", "main.js"))) throw new Error("dist/webview/main.js is missing: run node scripts/build.mjs");
    this.server = http.createServer((req, res) => { this.serve(req, res); });
    await new Promise<void>((resolve) => this.server?.listen(0, "127.0.0.1", resolve));
    const address = this.server.address();
    this.origin = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
    this.userDataDir = makeTempDir("mlx-chromium-");
    this.browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
  }

  async open(options: OpenOptions & { pathname?: string }): Promise<DashboardPage> {
    if (!this.browser) throw new Error("start() first");
    const context = await this.browser.newContext({ viewport: { width: options.width ?? 1100, height: options.height ?? 800 } });
    const page = await context.newPage();
    const received: unknown[] = [];
    await page.exposeFunction("__toHost", (message: unknown) => {
      received.push(message);
      options.onMessage(message);
    });
    const url = `${this.origin}${options.pathname ?? "/"}?theme=${options.theme ?? "dark"}`;
    page.on("pageerror", (error) => { pageErrors.push(String(error)); });
    const pageErrors: string[] = [];
    return {
      pageErrors,
      page,
      url,
      received,
      cspViolations: async () => await page.evaluate<string[]>("window.__csp"),
      post: async (message) => {
        await page.evaluate((m) => { (globalThis as unknown as { postMessage(m: unknown, target: string): void }).postMessage(m, "*"); }, message);
      },
      load: async () => {
        await page.goto(url);
      },
      unload: async () => {
        await page.goto(`${this.origin}/blank`);
      },
      screenshot: async (name) => {
        fs.mkdirSync(ARTIFACTS, { recursive: true });
        const file = path.join(ARTIFACTS, `${name}.png`);
        await page.screenshot({ path: file });
        return file;
      },
      close: () => context.close(),
    };
  }

  async stop(): Promise<void> {
    await this.browser?.close().catch(() => undefined);
    await new Promise<void>((resolve) => {
      if (!this.server) resolve();
      else this.server.close(() => { resolve(); });
    });
    if (this.userDataDir) removeTempDir(this.userDataDir);
  }

  private serve(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? "/", this.origin);
    const extra = this.extra.get(url.pathname);
    if (extra) {
      res.writeHead(200, { "content-type": extra.type }).end(extra.body);
      return;
    }
    if (url.pathname === "/blank") {
      res.writeHead(200, { "content-type": "text/html" }).end("<!DOCTYPE html><title>hidden</title>");
      return;
    }
    if (url.pathname === "/") {
      const theme = (url.searchParams.get("theme") ?? "dark") as Theme;
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      res.end(pageHtml(this.origin, THEMES[theme]));
      return;
    }
    const file = path.join(ROOT, "dist", "webview", path.basename(url.pathname));
    if (!url.pathname.startsWith("/dist/webview/") || !fs.existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": file.endsWith(".css") ? "text/css" : "text/javascript" });
    res.end(fs.readFileSync(file));
  }
}

/** The panel's own HTML (same CSP), plus the shim and the theme variables VS Code would add. */
function pageHtml(origin: string, theme: Record<string, string>): string {
  const html = dashboardHtml({ cspSource: origin, nonce: NONCE, scriptUri: `${origin}/dist/webview/main.js`, styleUri: `${origin}/dist/webview/main.css` });
  const vars = Object.entries(theme).map(([k, v]) => `--vscode-${k}: ${v};`).join(" ");
  const shim = `<style nonce="${NONCE}">html { ${vars} }</style>
<script nonce="${NONCE}">
  window.__csp = [];
  // Directive, what was blocked, and where: the script file and line, and the first characters of the offending source.
  document.addEventListener("securitypolicyviolation", (e) => window.__csp.push(
    e.violatedDirective + " " + (e.blockedURI || "-") + " at " + (e.sourceFile || "?") + ":" + e.lineNumber + ":" + e.columnNumber + (e.sample ? " sample=" + JSON.stringify(e.sample) : "")));
  window.acquireVsCodeApi = () => ({
    postMessage: (m) => window.__toHost(JSON.parse(JSON.stringify(m))),
    getState: () => JSON.parse(sessionStorage.getItem("vscode-state") || "null"),
    setState: (s) => sessionStorage.setItem("vscode-state", JSON.stringify(s)),
  });
</script>`;
  return html.replace("</head>", `${shim}\n</head>`);
}
