import type { ChatMessage, ChatParams, Conversation, ConversationSummary, ReplyStats } from "../../src/shared/conversations";
import type { ConversationDraft, ProfileOption, StreamState } from "../../src/shared/dashboard";
import type { HostBridge } from "./bridge";
import { CompareView, type CompareViewState } from "./compare";
import { formatNumber, h, setText, toggleAttr } from "./dom";
import { renderMarkdown, StreamingMarkdown } from "./markdown";

export interface ChatSettings {
  target: string;
  systemPrompt: string;
  params: ChatParams;
}

export interface ChatViewState {
  conversationId?: string;
  draft?: string;
  settings?: ChatSettings;
  /** Compare mode: on, the second target, and the last comparison. */
  compare?: { on: boolean; target: string; view: CompareViewState };
}

const DEFAULT_PARAMS: ChatParams = { temperature: 0.7, topP: 0.95, maxTokens: 512 };

/** A stream's text as the host sent it; kept even while no message shows it. */
interface StreamBuffer {
  conversationId: string;
  text: string;
  /** The seq the next delta must have. */
  seq: number;
  view?: StreamingMarkdown;
}

type ValueElement = HTMLElement & { value: string };

/** The Chat tab: conversations, settings, messages with streamed markdown replies. */
export class ChatView {
  readonly element: HTMLElement;
  private readonly list = h("nav", { class: "conversation-list", "aria-label": "Conversations" });
  private readonly title = h("vscode-textfield", { class: "conversation-title", "aria-label": "Conversation title", placeholder: "New conversation" }) as ValueElement;
  private readonly target = h("vscode-single-select", { combobox: true, filter: "contains", "aria-label": "Server or profile to chat with", class: "target-picker" }) as ValueElement;
  private readonly systemPrompt = h("vscode-textarea", { rows: "2", placeholder: "System prompt (optional)", "aria-label": "System prompt", resize: "vertical" }) as ValueElement;
  private readonly sliders: Record<"temperature" | "topP" | "maxTokens", HTMLInputElement> = {
    temperature: h("input", { type: "range", min: "0", max: "2", step: "0.05", "aria-label": "Temperature" }),
    topP: h("input", { type: "range", min: "0", max: "1", step: "0.01", "aria-label": "top_p" }),
    maxTokens: h("input", { type: "range", min: "16", max: "4096", step: "16", "aria-label": "Max tokens" }),
  };
  private readonly sliderValues = { temperature: h("output"), topP: h("output"), maxTokens: h("output") };
  private readonly seed = h("vscode-textfield", { type: "number", min: "0", placeholder: "random", "aria-label": "Seed", class: "seed" }) as ValueElement;
  private readonly messages = h("div", { class: "messages", role: "log", "aria-live": "polite", "aria-label": "Messages" });
  private readonly input = h("vscode-textarea", { rows: "3", placeholder: "Message (Enter sends, Shift+Enter adds a line)", "aria-label": "Message", class: "composer-input", resize: "vertical" }) as ValueElement;
  private readonly sendButton = h("vscode-button", { "data-action": "send" }, "Send");
  private readonly stopButton = h("vscode-button", { "data-action": "stop-stream", secondary: true, hidden: true }, "Stop");
  private readonly status = h("span", { class: "chat-status", role: "status" });
  private readonly deleteButton = h("vscode-button", { secondary: true, "data-action": "delete" }, "Delete");
  private readonly compareToggle = h("vscode-button", { secondary: true, "data-action": "compare-toggle", "aria-pressed": "false", title: "Send the same prompt to two servers side by side" }, "Compare");
  private readonly compareTarget = h("vscode-single-select", { combobox: true, filter: "contains", "aria-label": "Second server or profile to compare with", class: "compare-picker" }) as ValueElement;
  private readonly compareField = h("label", { class: "field compare-field", hidden: true }, h("span", { class: "label" }, "Compare with"), this.compareTarget);
  private readonly compare: CompareView;
  private compareOn = false;
  private conversation: ConversationDraft | undefined;
  private summaries: ConversationSummary[] = [];
  private profiles: ProfileOption[] = [];
  private running = new Set<string>();
  private readonly streams = new Map<string, StreamBuffer>();
  private activeStream: string | undefined;
  private deleteArmed: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly bridge: HostBridge, private readonly onStateChange: () => void) {
    this.compare = new CompareView(bridge, (text) => { void this.copy(text); }, () => { this.compareChanged(); });
    toggleAttr(this.compare.element, "hidden", true);
    this.compareToggle.addEventListener("click", () => { this.setCompare(!this.compareOn, true); });
    const slider = (key: "temperature" | "topP" | "maxTokens", label: string): HTMLElement =>
      h("label", { class: "slider" }, h("span", { class: "label" }, label), this.sliders[key], this.sliderValues[key]);
    for (const key of ["temperature", "topP", "maxTokens"] as const) {
      this.sliders[key].addEventListener("input", () => {
        this.showSliderValues();
        this.onStateChange();
      });
    }
    const newChat = h("vscode-button", { "data-action": "new-chat" }, "New chat");
    newChat.addEventListener("click", () => { this.newConversation(); });
    const rename = (): void => { void this.rename(); };
    this.title.addEventListener("change", rename);
    const exportMd = h("vscode-button", { secondary: true, "data-action": "export-md" }, "Export Markdown");
    const exportJson = h("vscode-button", { secondary: true, "data-action": "export-json" }, "Export JSON");
    exportMd.addEventListener("click", () => { void this.export("markdown"); });
    exportJson.addEventListener("click", () => { void this.export("json"); });
    this.deleteButton.addEventListener("click", () => { void this.delete(); });
    this.sendButton.addEventListener("click", () => { void this.sendDraft(); });
    this.stopButton.addEventListener("click", () => { void this.stop(); });
    this.input.addEventListener("keydown", (event: KeyboardEvent) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        void this.sendDraft();
      }
    });
    for (const el of [this.target, this.compareTarget, this.systemPrompt, this.seed, this.input]) el.addEventListener("change", () => { this.onStateChange(); });
    this.input.addEventListener("input", () => { this.onStateChange(); });
    this.element = h(
      "section",
      { class: "chat-view" },
      h("aside", { class: "chat-sidebar" }, newChat, this.list),
      h(
        "div",
        { class: "chat-main" },
        h("div", { class: "chat-header" }, this.title, exportMd, exportJson, this.deleteButton),
        h(
          "div",
          { class: "chat-settings" },
          h("label", { class: "field" }, h("span", { class: "label" }, "Model"), this.target),
          this.compareField,
          slider("temperature", "Temperature"),
          slider("topP", "top_p"),
          slider("maxTokens", "Max tokens"),
          h("label", { class: "field seed-field" }, h("span", { class: "label" }, "Seed"), this.seed),
          this.compareToggle,
        ),
        this.systemPrompt,
        this.messages,
        this.compare.element,
        h("div", { class: "composer" }, this.input, h("div", { class: "composer-actions" }, this.sendButton, this.stopButton, this.status)),
      ),
    );
    this.applySettings({ target: "", systemPrompt: "", params: DEFAULT_PARAMS });
  }

  // ---------------------------------------------------------------- state

  get state(): ChatViewState {
    return {
      ...(this.conversation ? { conversationId: this.conversation.id } : {}),
      draft: this.input.value,
      settings: this.settings(),
      compare: { on: this.compareOn, target: this.compareTarget.value, view: this.compare.state },
    };
  }

  restore(state: ChatViewState): void {
    if (state.settings) this.applySettings(state.settings);
    if (state.draft) this.input.value = state.draft;
    if (state.compare) {
      if (state.compare.target) this.compareTarget.value = state.compare.target;
      this.compare.restore(state.compare.view);
      this.setCompare(state.compare.on, false);
    }
    if (state.conversationId) void this.open(state.conversationId);
  }

  setProfiles(profiles: ProfileOption[], running: Set<string>): void {
    const key = JSON.stringify([profiles.map((p) => [p.id, p.name]), [...running]]);
    if (key === JSON.stringify([this.profiles.map((p) => [p.id, p.name]), [...this.running]])) return;
    this.profiles = profiles;
    this.running = running;
    for (const picker of [this.target, this.compareTarget]) {
      const selected = picker.value;
      picker.replaceChildren(
        ...profiles.map((p) => {
          const option = h("vscode-option", { value: p.name, description: running.has(p.id) ? "running" : "starts on first message" }, p.name);
          if (p.name === selected) option.setAttribute("selected", "");
          return option;
        }),
      );
      if (selected) picker.value = selected;
    }
  }

  /** "Chat" on a server tile. */
  chatWith(profileId: string): void {
    const profile = this.profiles.find((p) => p.id === profileId);
    if (profile) this.target.value = profile.name;
    this.onStateChange();
    this.input.focus();
  }

  /** Compare on, with these two targets (a job's base model and its adapter); the prompt is the user's. */
  compareWith(first: string, second: string): void {
    this.target.value = first;
    this.compareTarget.value = second;
    this.setCompare(true, false);
    this.input.focus();
  }

  /** Streams the host reports in `init` (they ran while the panel was hidden). */
  adoptStreams(all: StreamState[]): void {
    this.compare.adoptStreams(all);
    const streams = all.filter((s) => !s.compare);
    for (const s of streams) {
      const existing = this.streams.get(s.streamId);
      if (existing && existing.seq >= s.seq) continue;
      this.streams.set(s.streamId, { conversationId: s.conversationId, text: s.text, seq: s.seq, ...(existing?.view ? { view: existing.view } : {}) });
      if (existing?.view) existing.view.append(s.text.slice(existing.text.length));
    }
    const mine = streams.find((s) => s.conversationId === this.conversation?.id);
    if (mine && this.activeStream !== mine.streamId) void this.open(mine.conversationId);
  }

  onDelta(streamId: string, seq: number, text: string): void {
    if (this.compare.onDelta(streamId, seq, text)) return;
    let buffer = this.streams.get(streamId);
    if (!buffer) {
      // A stream this webview did not start and has not heard of: the next `init` brings it.
      return;
    }
    if (seq < buffer.seq) return;
    if (seq > buffer.seq) {
      this.status.textContent = "Missed part of the reply; it is complete once it finishes.";
    }
    buffer = { ...buffer, text: buffer.text + text, seq: seq + 1 };
    this.streams.set(streamId, buffer);
    buffer.view?.append(text);
  }

  onDone(streamId: string, conversation: Conversation, stats: ReplyStats): void {
    const buffer = this.streams.get(streamId);
    this.streams.delete(streamId);
    if (this.activeStream === streamId) {
      this.activeStream = undefined;
      this.setStreaming(false);
    }
    if (this.conversation?.id === conversation.id) {
      this.conversation = draftOf(conversation);
      const last = conversation.messages.at(-1);
      // The saved reply is the whole one: a part missed while the panel was away is shown now.
      if (buffer?.view && last?.content === buffer.text) {
        buffer.view.finish();
        const message = buffer.view.element.closest(".message");
        if (message) message.querySelector(".stats")?.replaceChildren(statsText(last.stats ?? stats));
      } else {
        this.renderMessages();
        if (this.status.textContent.startsWith("Missed part")) this.status.textContent = "";
      }
    }
    void this.refreshList();
  }

  onCompareDone(streamId: string, text: string, stats: ReplyStats): void {
    this.compare.onDone(streamId, text, stats);
  }

  async refreshList(): Promise<void> {
    this.summaries = (await this.bridge.request("conversations.list", {})).conversations;
    this.list.replaceChildren(
      ...this.summaries.map((c) => {
        const item = h("button", { class: "conversation", type: "button", "data-id": c.id, "aria-current": c.id === this.conversation?.id ? "true" : undefined }, c.title);
        item.addEventListener("click", () => { void this.open(c.id); });
        return item;
      }),
    );
  }

  private settings(): ChatSettings {
    const seed = Number.parseInt(this.seed.value, 10);
    return {
      target: this.target.value,
      systemPrompt: this.systemPrompt.value,
      params: {
        temperature: Number(this.sliders.temperature.value),
        topP: Number(this.sliders.topP.value),
        maxTokens: Number(this.sliders.maxTokens.value),
        ...(Number.isInteger(seed) && seed >= 0 ? { seed } : {}),
      },
    };
  }

  private applySettings(settings: ChatSettings): void {
    if (settings.target) this.target.value = settings.target;
    this.systemPrompt.value = settings.systemPrompt;
    this.sliders.temperature.value = String(settings.params.temperature);
    this.sliders.topP.value = String(settings.params.topP);
    this.sliders.maxTokens.value = String(settings.params.maxTokens);
    this.seed.value = settings.params.seed === undefined ? "" : String(settings.params.seed);
    this.showSliderValues();
  }

  private showSliderValues(): void {
    setText(this.sliderValues.temperature, Number(this.sliders.temperature.value).toFixed(2));
    setText(this.sliderValues.topP, Number(this.sliders.topP.value).toFixed(2));
    setText(this.sliderValues.maxTokens, this.sliders.maxTokens.value);
  }

  // ---------------------------------------------------------------- conversations

  private newConversation(): void {
    this.conversation = undefined;
    this.title.value = "";
    this.messages.replaceChildren();
    this.onStateChange();
    void this.refreshList();
    this.input.focus();
  }

  private async open(id: string): Promise<void> {
    try {
      const conversation = await this.bridge.request("conversations.get", { conversationId: id });
      this.conversation = draftOf(conversation);
      this.title.value = conversation.title;
      this.applySettings({ target: conversation.target, systemPrompt: conversation.systemPrompt, params: conversation.params });
      this.renderMessages();
      const live = [...this.streams.entries()].find(([, s]) => s.conversationId === id);
      if (live) {
        this.activeStream = live[0];
        this.setStreaming(true);
        this.appendStreamingMessage(live[0], conversation.target);
      }
      this.onStateChange();
      void this.refreshList();
    } catch (error) {
      this.showError(error);
    }
  }

  private async rename(): Promise<void> {
    const title = this.title.value.trim();
    if (!this.conversation || !title || title === this.conversation.title) return;
    try {
      this.conversation = draftOf(await this.bridge.request("conversations.rename", { conversationId: this.conversation.id, title }));
      await this.refreshList();
    } catch (error) {
      this.showError(error);
    }
  }

  private async delete(): Promise<void> {
    if (!this.conversation) return;
    // Two presses: the first arms the button for three seconds.
    if (this.deleteArmed === undefined) {
      this.deleteButton.textContent = "Press again to delete";
      this.deleteArmed = setTimeout(() => {
        this.deleteArmed = undefined;
        this.deleteButton.textContent = "Delete";
      }, 3000);
      return;
    }
    clearTimeout(this.deleteArmed);
    this.deleteArmed = undefined;
    this.deleteButton.textContent = "Delete";
    try {
      await this.bridge.request("conversations.delete", { conversationId: this.conversation.id });
      this.newConversation();
    } catch (error) {
      this.showError(error);
    }
  }

  private async export(format: "markdown" | "json"): Promise<void> {
    if (!this.conversation) return;
    try {
      const result = await this.bridge.request("conversations.export", { conversationId: this.conversation.id, format });
      this.status.textContent = result.saved ? `Saved ${result.fileName}` : "";
    } catch (error) {
      this.showError(error);
    }
  }

  // ---------------------------------------------------------------- sending

  private async sendDraft(): Promise<void> {
    const text = this.input.value.trim();
    if (this.compareOn) {
      if (text) await this.sendCompare(text);
      return;
    }
    if (!text || this.activeStream) return;
    const base = this.conversation?.messages ?? [];
    const ok = await this.send([...base, { role: "user", content: text }]);
    if (ok) {
      this.input.value = "";
      this.onStateChange();
    }
  }

  /** Sends the conversation with `messages` (the last one the user's) and streams the reply. */
  private async send(messages: ChatMessage[]): Promise<boolean> {
    const settings = this.settings();
    if (!settings.target) {
      this.status.textContent = "Pick a server or profile first.";
      return false;
    }
    const now = Date.now();
    const first = messages.find((m) => m.role === "user")?.content ?? "Conversation";
    const conversation: ConversationDraft = {
      id: this.conversation?.id ?? newId(),
      title: this.conversation?.title ?? (first.replace(/\s+/g, " ").slice(0, 60).trim() || "Conversation"),
      target: settings.target,
      systemPrompt: settings.systemPrompt,
      params: settings.params,
      messages,
      createdAt: this.conversation?.createdAt ?? now,
      updatedAt: now,
    };
    const streamId = newId();
    this.conversation = conversation;
    this.title.value = conversation.title;
    this.renderMessages();
    this.streams.set(streamId, { conversationId: conversation.id, text: "", seq: 0 });
    this.activeStream = streamId;
    this.setStreaming(true);
    this.appendStreamingMessage(streamId, settings.target);
    this.onStateChange();
    try {
      await this.bridge.request("chat.send", { streamId, conversation });
      void this.refreshList();
      return true;
    } catch (error) {
      this.streams.delete(streamId);
      this.activeStream = undefined;
      this.setStreaming(false);
      this.messages.lastElementChild?.remove();
      this.showError(error);
      return false;
    }
  }

  private async stop(): Promise<void> {
    if (this.activeStream) await this.bridge.request("chat.abort", { streamId: this.activeStream });
  }

  private setStreaming(on: boolean): void {
    this.updateButtons();
    setText(this.status, on ? "Generating…" : "");
  }

  /** Send and Stop follow the mode: a conversation's stream, or the two sides of a comparison (each has its own Stop). */
  private updateButtons(): void {
    toggleAttr(this.stopButton, "hidden", this.compareOn || this.activeStream === undefined);
    toggleAttr(this.sendButton, "disabled", this.compareOn ? this.compare.running : this.activeStream !== undefined);
  }

  // ---------------------------------------------------------------- compare

  private setCompare(on: boolean, focus: boolean): void {
    this.compareOn = on;
    this.compareToggle.setAttribute("aria-pressed", String(on));
    toggleAttr(this.compareToggle, "secondary", !on);
    toggleAttr(this.compareField, "hidden", !on);
    toggleAttr(this.compare.element, "hidden", !on);
    toggleAttr(this.messages, "hidden", on);
    this.sendButton.textContent = on ? "Send to both" : "Send";
    this.updateButtons();
    if (!on && !this.activeStream) setText(this.status, "");
    this.onStateChange();
    if (focus && on) this.compareTarget.focus();
  }

  private compareChanged(): void {
    this.updateButtons();
    if (this.compareOn) setText(this.status, this.compare.running ? "Comparing…" : "");
    this.onStateChange();
  }

  /** The same prompt, system prompt and sampling settings to both targets at once; nothing is saved. */
  private async sendCompare(prompt: string): Promise<void> {
    if (this.compare.running) return;
    const settings = this.settings();
    const second = this.compareTarget.value;
    if (!settings.target || !second) {
      this.status.textContent = "Pick two servers or profiles to compare.";
      return;
    }
    const error = await this.compare.send({ prompt, targets: [settings.target, second], systemPrompt: settings.systemPrompt, params: settings.params });
    if (error) this.status.textContent = error;
    else {
      this.input.value = "";
      this.onStateChange();
    }
  }

  // ---------------------------------------------------------------- messages

  private renderMessages(): void {
    const messages = this.conversation?.messages ?? [];
    this.messages.replaceChildren(...messages.map((m, i) => this.messageElement(m, i)));
    this.messages.scrollTop = this.messages.scrollHeight;
  }

  private messageElement(message: ChatMessage, index: number): HTMLElement {
    if (message.role === "user") {
      const body = h("div", { class: "message-body" }, message.content);
      const edit = h("button", { class: "link", type: "button", "data-action": "edit", "aria-label": "Edit and regenerate" }, "Edit");
      const el = h("div", { class: "message user", "data-index": String(index) }, h("div", { class: "message-role" }, "You", edit), body);
      edit.addEventListener("click", () => { this.editMessage(el, body, index); });
      return el;
    }
    const body = h("div", { class: "message-body markdown" });
    body.append(renderMarkdown(message.content, (text) => { void this.copy(text); }));
    return h("div", { class: "message assistant", "data-index": String(index) }, h("div", { class: "message-role" }, message.model ?? "Assistant"), body, h("div", { class: "stats" }, message.stats ? statsText(message.stats) : ""));
  }

  /** Edit a user message in place; sending drops everything after it and regenerates. */
  private editMessage(el: HTMLElement, body: HTMLElement, index: number): void {
    if (this.activeStream || !this.conversation) return;
    const original = this.conversation.messages[index]?.content ?? "";
    const editor = h("vscode-textarea", { rows: "3", "aria-label": "Edit message", resize: "vertical" }) as ValueElement;
    editor.value = original;
    const resend = h("vscode-button", { "data-action": "regenerate" }, "Send and regenerate");
    const cancel = h("vscode-button", { secondary: true }, "Cancel");
    const box = h("div", { class: "edit-box" }, editor, h("div", { class: "composer-actions" }, resend, cancel));
    body.replaceWith(box);
    cancel.addEventListener("click", () => { box.replaceWith(body); });
    const submit = (): void => {
      const text = editor.value.trim();
      if (!text || !this.conversation) return;
      void this.send([...this.conversation.messages.slice(0, index), { role: "user", content: text }]);
    };
    resend.addEventListener("click", submit);
    editor.addEventListener("keydown", (event: KeyboardEvent) => {
      if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        submit();
      }
    });
    el.scrollIntoView({ block: "nearest" });
    editor.focus();
  }

  private appendStreamingMessage(streamId: string, model: string): void {
    const buffer = this.streams.get(streamId);
    if (!buffer) return;
    const view = new StreamingMarkdown((text) => { void this.copy(text); }, () => { this.stickToBottom(); });
    if (buffer.text) view.append(buffer.text);
    buffer.view = view;
    const el = h("div", { class: "message assistant streaming", "data-stream-id": streamId }, h("div", { class: "message-role" }, model), h("div", { class: "message-body" }, view.element), h("div", { class: "stats" }));
    this.messages.append(el);
    this.stickToBottom(true);
  }

  private stickToBottom(force = false): void {
    const m = this.messages;
    if (force || m.scrollHeight - m.scrollTop - m.clientHeight < 80) m.scrollTop = m.scrollHeight;
  }

  private async copy(text: string): Promise<void> {
    await this.bridge.request("clipboard.write", { text }).catch(() => undefined);
  }

  private showError(error: unknown): void {
    this.status.textContent = error instanceof Error ? error.message : String(error);
  }
}

function statsText(stats: ReplyStats): string {
  const parts = [
    stats.ttftMs === undefined ? undefined : `TTFT ${formatNumber(stats.ttftMs, 0, " ms")}`,
    stats.tokensPerSec === undefined ? undefined : `${formatNumber(stats.tokensPerSec, 1)} tokens/s`,
    stats.completionTokens === undefined ? undefined : `${stats.promptTokens ?? 0} prompt + ${stats.completionTokens} completion tokens`,
    stats.aborted ? "stopped" : undefined,
    stats.error ? `error: ${stats.error}` : undefined,
  ];
  return parts.filter((p): p is string => p !== undefined).join(" · ");
}

function draftOf(conversation: Conversation): ConversationDraft {
  const { workspace: _workspace, ...draft } = conversation;
  return draft;
}

function newId(): string {
  return crypto.randomUUID().replace(/-/g, "");
}
