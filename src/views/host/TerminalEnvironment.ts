import * as vscode from "vscode";
import { fetchGatewayKey } from "../../client/gatewayKey";
import type { ManagerConnection } from "./ManagerConnection";
import type { ManagerState } from "./ManagerState";

export const INJECT_SETTING = "mlx.terminal.injectOpenAiEnv";

/** Every variable this sets. */
const VARIABLES = ["OPENAI_BASE_URL", "OPENAI_API_KEY", "ANTHROPIC_BASE_URL", "ANTHROPIC_AUTH_TOKEN"] as const;

/**
 * Opt-in (`mlx.terminal.injectOpenAiEnv`): while a model server runs, new integrated terminals get
 * `OPENAI_BASE_URL` (the manager's `/v1`) and `OPENAI_API_KEY` (the gateway key, which opens `/v1`
 * only — never the admin token), and Anthropic's pair for Claude Code and `@anthropic-ai/sdk`:
 * `ANTHROPIC_BASE_URL` (the manager's URL; clients add `/v1/messages`) and `ANTHROPIC_AUTH_TOKEN`. Cleared when the setting is off, no server runs or the manager is
 * gone. Not persistent: after a reload nothing stale is applied before the manager answers.
 */
export class TerminalEnvironment implements vscode.Disposable {
  private readonly subscriptions: vscode.Disposable[] = [];
  /** Each update gets a number; an older one that finishes late does not overwrite a newer one. */
  private generation = 0;
  private settled: Promise<void> = Promise.resolve();

  constructor(
    readonly collection: vscode.GlobalEnvironmentVariableCollection,
    private readonly connection: ManagerConnection,
    private readonly state: ManagerState,
    private readonly log: vscode.LogOutputChannel,
  ) {
    collection.persistent = false;
    collection.description = new vscode.MarkdownString(
      vscode.l10n.t(
        "MLX Model Manager: `OPENAI_BASE_URL` is the manager's `/v1` and `OPENAI_API_KEY` its gateway key (it opens `/v1` only), with `ANTHROPIC_BASE_URL` and `ANTHROPIC_AUTH_TOKEN` the same for Claude Code, set while a model server runs. Turn off with the setting `{0}`.",
        INJECT_SETTING,
      ),
    );
    this.subscriptions.push(
      state.onDidChange((kind) => {
        if (kind === "servers" || kind === "gatewayKey") this.update();
      }),
      connection.onDidChange(() => { this.update(); }),
      vscode.workspace.onDidChangeConfiguration((event) => {
        if (event.affectsConfiguration(INJECT_SETTING)) this.update();
      }),
    );
    this.update();
  }

  /** Resolves once the collection reflects the latest state (tests wait on it). */
  get idle(): Promise<void> {
    return this.settled;
  }

  /** Sets or clears the variables for what is true now. */
  update(): void {
    const generation = ++this.generation;
    this.settled = this.apply(generation).catch((error: unknown) => {
      this.log.warn(`terminal environment: ${error instanceof Error ? error.message : String(error)}`);
      if (generation === this.generation) this.clear();
    });
  }

  private async apply(generation: number): Promise<void> {
    const enabled = vscode.workspace.getConfiguration().get<boolean>(INJECT_SETTING, false);
    const current = this.connection.state;
    if (!enabled || current.kind !== "connected" || this.state.runningServers.length === 0) {
      this.clear();
      return;
    }
    const { key } = await fetchGatewayKey(current.client, AbortSignal.timeout(5000));
    if (generation !== this.generation) return;
    this.set("OPENAI_BASE_URL", `${current.client.url}/v1`);
    this.set("OPENAI_API_KEY", key);
    this.set("ANTHROPIC_BASE_URL", current.client.url);
    this.set("ANTHROPIC_AUTH_TOKEN", key);
  }

  /** Only real changes: each one marks open terminals as needing a relaunch. */
  private set(name: string, value: string): void {
    const now = this.collection.get(name);
    if (now?.value !== value || now.type !== vscode.EnvironmentVariableMutatorType.Replace) this.collection.replace(name, value);
  }

  private clear(): void {
    if (VARIABLES.some((name) => this.collection.get(name) !== undefined)) this.collection.clear();
  }

  dispose(): void {
    this.generation++;
    for (const s of this.subscriptions) s.dispose();
    this.collection.clear();
  }
}
