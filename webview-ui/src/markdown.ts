import DOMPurify from "dompurify";
import { Marked, type Tokens } from "marked";
import { h } from "./dom";

// Model output is untrusted. Raw HTML in it is shown as text: marked's html tokens (block and
// inline) are escaped before anything is parsed, so no markup of the model's ever reaches a parser.
// (Chromium 156 reports a CSP violation for any `on*=` attribute merely parsed under the page's
// nonce policy, even in an inert DOMParser document.) What marked itself writes, DOMPurify then
// checks — no scripts, handlers, styles or embedding tags, links only to http(s)/mailto/# — and
// images are never loaded (shown as their alt text), so a reply cannot make the webview fetch
// anything. The CSP is the last fence.

const marked = new Marked({ gfm: true, breaks: false, async: false });
marked.use({
  renderer: {
    html({ text }: Tokens.HTML | Tokens.Tag): string {
      return escapeHtml(text);
    },
    image({ text }: Tokens.Image): string {
      return `<span class="image-alt">[image${text ? `: ${escapeHtml(text)}` : ""}]</span>`;
    },
  },
});

const FORBID_TAGS = ["img", "picture", "source", "video", "audio", "iframe", "frame", "object", "embed", "form", "input", "button", "textarea", "select", "style", "link", "meta", "base", "svg", "math", "template"];

DOMPurify.addHook("afterSanitizeAttributes", (node) => {
  if (node instanceof HTMLAnchorElement) {
    node.setAttribute("rel", "noopener noreferrer");
    const href = node.getAttribute("href") ?? "";
    if (!/^(https?:|mailto:|#)/i.test(href)) node.removeAttribute("href");
  }
});

/** Compiles marked's and DOMPurify's paths once while idle, so a reply's first frame is not the slow one. */
export function warmUpMarkdown(): void {
  const warm = (): void => { renderMarkdown("*warm* **up** [l](https://x)\n\n- a\n\n```\nb\n```\n\n<b>c</b>", () => undefined); };
  if ("requestIdleCallback" in window) requestIdleCallback(warm, { timeout: 2000 });
  else setTimeout(warm, 200);
}

/** Markdown → a sanitized fragment, with a copy button on every code block. */
export function renderMarkdown(source: string, onCopy: (text: string) => void): DocumentFragment {
  const html = marked.parse(source) as string;
  const fragment = DOMPurify.sanitize(html, {
    RETURN_DOM_FRAGMENT: true,
    FORBID_TAGS,
    FORBID_ATTR: ["style", "class", "id", "srcset", "src", "action", "formaction", "background", "poster"],
    ALLOW_DATA_ATTR: false,
  });
  for (const pre of fragment.querySelectorAll("pre")) decorateCode(pre, onCopy);
  return fragment;
}

function decorateCode(pre: HTMLPreElement, onCopy: (text: string) => void): void {
  const code = pre.textContent;
  const copy = h("button", { class: "copy", type: "button", "aria-label": "Copy code", title: "Copy code" }, "Copy");
  copy.addEventListener("click", () => {
    onCopy(code);
    copy.textContent = "Copied";
    setTimeout(() => { copy.textContent = "Copy"; }, 1200);
  });
  const wrap = h("div", { class: "code-block" });
  pre.replaceWith(wrap);
  wrap.append(copy, pre);
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/**
 * Renders a reply while it streams. Finished blocks (up to the last blank line outside a code
 * fence) are rendered once and never touched again; only the open tail is re-rendered, at most
 * once per animation frame. Cost per frame stays bounded however long the reply grows.
 */
export class StreamingMarkdown {
  readonly element: HTMLElement;
  private readonly frozen: HTMLElement;
  private readonly tail: HTMLElement;
  private source = "";
  /** Everything before this index is rendered into `frozen`. */
  private frozenUpTo = 0;
  private scheduled = 0;
  private inFence = false;
  /** Scanned up to here for fences and blank lines. */
  private scanned = 0;
  private lastSafeSplit = 0;

  constructor(private readonly onCopy: (text: string) => void, private readonly onRendered?: () => void) {
    this.frozen = h("div", { class: "md-frozen" });
    this.tail = h("div", { class: "md-tail" });
    this.element = h("div", { class: "markdown" }, this.frozen, this.tail);
  }

  get text(): string {
    return this.source;
  }

  append(text: string): void {
    this.source += text;
    this.scan();
    this.scheduled ||= requestAnimationFrame(() => {
      this.scheduled = 0;
      this.render();
    });
  }

  /** Renders whatever is pending now (the stream ended). */
  finish(): void {
    if (this.scheduled) cancelAnimationFrame(this.scheduled);
    this.scheduled = 0;
    this.render();
  }

  /** Finds the newest split point: after a blank line, outside a code fence. */
  private scan(): void {
    const s = this.source;
    let i = this.scanned;
    // Start at a line start so fences and blank lines are seen whole.
    i = s.lastIndexOf("\n", i - 1) + 1;
    for (;;) {
      const end = s.indexOf("\n", i);
      if (end < 0) break;
      const line = s.slice(i, end);
      if (/^\s{0,3}(```|~~~)/.test(line)) this.inFence = !this.inFence;
      else if (!this.inFence && line.trim() === "" && end + 1 > this.lastSafeSplit) this.lastSafeSplit = end + 1;
      i = end + 1;
    }
    this.scanned = i;
  }

  private render(): void {
    if (this.lastSafeSplit > this.frozenUpTo) {
      const block = h("div", { class: "md-block" });
      block.append(renderMarkdown(this.source.slice(this.frozenUpTo, this.lastSafeSplit), this.onCopy));
      this.frozen.append(block);
      this.frozenUpTo = this.lastSafeSplit;
    }
    const rest = this.source.slice(this.frozenUpTo);
    this.tail.replaceChildren(rest ? renderMarkdown(rest, this.onCopy) : "");
    this.onRendered?.();
  }
}
