import type { ReplyStats } from "../../src/shared/conversations";
import type { ConversationDraft, StreamState } from "../../src/shared/dashboard";
import type { HostBridge } from "./bridge";
import { h, setText, toggleAttr } from "./dom";
import { StreamingMarkdown } from "./markdown";

// Compare: the same prompt to two servers side by side, each with its own figures and Stop.
// Nothing here is saved as a conversation (the host streams `chat.compare` without saving), so
// the two streams never write into one conversation; the last comparison is kept in the
// webview's state, so a hidden panel comes back showing it.

/** One side of a comparison, as the webview's state keeps it. */
export interface CompareColumnState {
  streamId: string;
  model: string;
  text: string;
  stats?: ReplyStats;
}

export interface CompareViewState {
  prompt?: string;
  columns?: CompareColumnState[];
}

/** What a comparison is sent with: the Chat tab's settings. */
export interface CompareRequest {
  prompt: string;
  targets: [string, string];
  systemPrompt: string;
  params: ConversationDraft["params"];
}

interface Column {
  streamId: string;
  model: string;
  /** The seq the next delta must have. */
  seq: number;
  running: boolean;
  stats?: ReplyStats;
  view: StreamingMarkdown;
  element: HTMLElement;
  statsLine: HTMLElement;
  stop: HTMLElement;
}

export class CompareView {
  readonly element: HTMLElement;
  private readonly promptLine = h("div", { class: "compare-prompt" });
  private readonly grid = h("div", { class: "compare-grid" });
  private readonly empty = h("p", { class: "empty compare-empty" }, "Pick two servers or profiles, write a prompt and send: both answer side by side, each with its TTFT and tokens/s.");
  private columns: Column[] = [];
  private prompt = "";

  constructor(private readonly bridge: HostBridge, private readonly onCopy: (text: string) => void, private readonly onChange: () => void) {
    this.element = h("section", { class: "compare", "aria-label": "Compare replies" }, this.empty, this.promptLine, this.grid);
    toggleAttr(this.promptLine, "hidden", true);
  }

  /** Either side still streams. */
  get running(): boolean {
    return this.columns.some((c) => c.running);
  }

  get state(): CompareViewState {
    return {
      ...(this.prompt ? { prompt: this.prompt } : {}),
      columns: this.columns.map((c) => ({ streamId: c.streamId, model: c.model, text: c.view.text, ...(c.stats ? { stats: c.stats } : {}) })),
    };
  }

  restore(state: CompareViewState): void {
    if (!state.columns || state.columns.length === 0) return;
    this.showPrompt(state.prompt ?? "");
    this.columns = state.columns.map((c, i) => {
      const column = this.column(i, c.streamId, c.model);
      column.view.append(c.text);
      column.seq = Number.MAX_SAFE_INTEGER;
      this.finish(column, c.stats);
      // Still running when the state was kept: `init` revives it, or it ended while hidden.
      if (!c.stats) setText(column.statsLine, "Ended while the panel was hidden; no figures.");
      return column;
    });
    this.grid.replaceChildren(...this.columns.map((c) => c.element));
    toggleAttr(this.empty, "hidden", true);
  }

  /** Compare streams the host reports in `init` (they ran on while the panel was hidden). */
  adoptStreams(streams: StreamState[]): void {
    for (const s of streams) {
      if (!s.compare) continue;
      const column = this.columns.find((c) => c.streamId === s.streamId);
      if (!column) continue;
      column.running = true;
      column.seq = s.seq;
      toggleAttr(column.stop, "hidden", false);
      column.element.classList.add("streaming");
      setText(column.statsLine, "Generating…");
      const shown = column.view.text;
      if (s.text.startsWith(shown)) column.view.append(s.text.slice(shown.length));
    }
    this.onChange();
  }

  /** True when the delta belonged to a Compare stream. */
  onDelta(streamId: string, seq: number, text: string): boolean {
    const column = this.columns.find((c) => c.streamId === streamId);
    if (!column) return false;
    if (seq < column.seq) return true;
    column.seq = seq + 1;
    column.view.append(text);
    return true;
  }

  onDone(streamId: string, text: string, stats: ReplyStats): void {
    const column = this.columns.find((c) => c.streamId === streamId);
    if (!column) return;
    // The host's text is complete even if a delta was missed while hidden.
    const shown = column.view.text;
    if (text.startsWith(shown)) column.view.append(text.slice(shown.length));
    this.finish(column, stats);
    this.onChange();
  }

  /** Starts both streams; resolves with an error message, or undefined once both run. */
  async send(request: CompareRequest): Promise<string | undefined> {
    if (this.running) return "A comparison is still running.";
    const now = Date.now();
    const title = request.prompt.replace(/\s+/g, " ").slice(0, 60).trim() || "Compare";
    this.showPrompt(request.prompt);
    this.columns = request.targets.map((target, i) => this.column(i, newId(), target));
    this.grid.replaceChildren(...this.columns.map((c) => c.element));
    toggleAttr(this.empty, "hidden", true);
    this.onChange();
    const results = await Promise.all(
      this.columns.map(async (column) => {
        const conversation: ConversationDraft = {
          id: newId(),
          title,
          target: column.model,
          systemPrompt: request.systemPrompt,
          params: request.params,
          messages: [{ role: "user", content: request.prompt }],
          createdAt: now,
          updatedAt: now,
        };
        try {
          await this.bridge.request("chat.compare", { streamId: column.streamId, conversation });
          return undefined;
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          this.finish(column, { durationMs: 0, error: message });
          return message;
        }
      }),
    );
    this.onChange();
    return results.find((r) => r !== undefined);
  }

  /** Stops one side (0 or 1); the other keeps streaming. */
  async stop(index: number): Promise<void> {
    const column = this.columns[index];
    if (column?.running) await this.bridge.request("chat.abort", { streamId: column.streamId });
  }

  /** Stops both sides. */
  async stopAll(): Promise<void> {
    await Promise.all(this.columns.map((_, i) => this.stop(i)));
  }

  private showPrompt(prompt: string): void {
    this.prompt = prompt;
    this.promptLine.replaceChildren(h("span", { class: "label" }, "Prompt"), h("span", { class: "compare-prompt-text" }, prompt));
    toggleAttr(this.promptLine, "hidden", !prompt);
  }

  private column(index: number, streamId: string, model: string): Column {
    const body = h("div", { class: "message-body compare-body" });
    // Follows the stream while the reader is at the bottom; scrolling up to read stops that.
    const view = new StreamingMarkdown(this.onCopy, () => {
      if (body.scrollHeight - body.scrollTop - body.clientHeight < 80) body.scrollTop = body.scrollHeight;
    });
    body.append(view.element);
    const statsLine = h("div", { class: "stats compare-stats", role: "status" }, "Generating…");
    const side = index === 0 ? "left" : "right";
    const stop = h("vscode-button", { secondary: true, "data-action": "compare-stop", "aria-label": `Stop ${model}` }, "Stop");
    const element = h(
      "article",
      { class: "compare-column message assistant streaming", "data-stream-id": streamId, "data-side": side, "aria-label": `Reply from ${model}` },
      h("header", { class: "compare-column-header" }, h("span", { class: "compare-model" }, model), stop),
      body,
      statsLine,
    );
    const column: Column = { streamId, model, seq: 0, running: true, view, element, statsLine, stop };
    stop.addEventListener("click", () => { void this.stop(this.columns.indexOf(column)); });
    return column;
  }

  private finish(column: Column, stats: ReplyStats | undefined): void {
    column.running = false;
    if (stats) column.stats = stats;
    column.view.finish();
    column.element.classList.remove("streaming");
    toggleAttr(column.stop, "hidden", true);
    setText(column.statsLine, stats ? compareStatsText(stats) : "");
  }
}

/** The figures line of one side: TTFT, tokens/s, token counts, stopped / error. */
export function compareStatsText(stats: ReplyStats): string {
  const parts = [
    stats.ttftMs === undefined ? undefined : `TTFT ${stats.ttftMs.toFixed(0)} ms`,
    stats.tokensPerSec === undefined ? undefined : `${stats.tokensPerSec.toFixed(1)} tokens/s`,
    stats.completionTokens === undefined ? undefined : `${stats.promptTokens ?? 0} prompt + ${stats.completionTokens} completion tokens`,
    stats.aborted ? "stopped" : undefined,
    stats.error ? `error: ${stats.error}` : undefined,
  ];
  return parts.filter((p): p is string => p !== undefined).join(" · ");
}

function newId(): string {
  return crypto.randomUUID().replace(/-/g, "");
}
