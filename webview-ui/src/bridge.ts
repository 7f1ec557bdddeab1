import type { HostMessage, RequestResults, WebviewMessage, WebviewRequest } from "../../src/shared/dashboard";

type RequestBody<T extends WebviewRequest["type"]> = Omit<Extract<WebviewRequest, { type: T }>, "id" | "type">;
type Listener = (message: HostMessage) => void;

/** The webview's end of the protocol: typed requests matched to replies by id, and notifications. */
export class HostBridge {
  private readonly vscode = acquireVsCodeApi();
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  private readonly listeners: Listener[] = [];

  constructor() {
    window.addEventListener("message", (event: MessageEvent<unknown>) => {
      const message = event.data as HostMessage | null;
      if (!message || typeof message !== "object" || typeof message.type !== "string") return;
      if (message.type === "reply") {
        const waiting = this.pending.get(message.id);
        if (!waiting) return;
        this.pending.delete(message.id);
        if (message.ok) waiting.resolve(message.result);
        else waiting.reject(Object.assign(new Error(message.error.message), { code: message.error.code }));
        return;
      }
      for (const listener of this.listeners) listener(message);
    });
  }

  onMessage(listener: Listener): void {
    this.listeners.push(listener);
  }

  /** Tells the host the webview listens; the host answers with `init`. */
  ready(): void {
    this.post({ type: "ready" });
  }

  request<T extends WebviewRequest["type"]>(type: T, body: RequestBody<T>): Promise<RequestResults[T]> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.post({ ...body, type, id } as WebviewMessage);
    });
  }

  getState<S>(): Partial<S> {
    const state = this.vscode.getState();
    return state && typeof state === "object" ? state : {};
  }

  setState(state: unknown): void {
    this.vscode.setState(state);
  }

  private post(message: WebviewMessage): void {
    this.vscode.postMessage(message);
  }
}
