import * as vscode from "vscode";
import { ManagerClient, ManagerRequestError } from "../../client/ManagerClient";
import type { TlsPin } from "../../client/pinnedTls";
import type { LoginResult, UserInfo } from "../../shared/auth";
import { TEAM_TARGET_PREFIX } from "../../shared/dashboard";
import type { TeamChatSource } from "../dashboard/DashboardHost";
import type { GatewayModel, PublicServerInfo } from "../../shared/servers";

/** What is remembered of a team server between sessions (the token itself is in SecretStorage). */
interface StoredSession {
  url: string;
  email: string;
  /** The self-signed certificate the user confirmed; any other one is refused. */
  tlsPin?: TlsPin;
  expiresAt: number;
}

/**
 * - `connected`: the last poll answered;
 * - `pending`: signed in, but an admin has not approved the account yet (models answer 403);
 * - `unreachable`: the last poll failed on the network (polling goes on, slower);
 * - `signed-out`: the token was refused (expired, revoked, account disabled or deleted) or the
 *   certificate changed: polling stops until the user connects again.
 */
export type TeamStatus = "connected" | "pending" | "unreachable" | "signed-out";

export interface TeamSnapshot {
  url: string;
  email: string;
  status: TeamStatus;
  /** Why the status is not `connected` (shown in the view). */
  problem?: string;
  user?: UserInfo;
  models: GatewayModel[];
  servers: PublicServerInfo[];
  /** SHA-256 of the pinned self-signed certificate, when there is one. */
  fingerprint?: string;
  tls: boolean;
}

const SESSION_KEY = "mlx.team.session";
const TOKEN_KEY = "mlx.team.token";
const POLL_MS = 5000;
const MAX_POLL_MS = 30_000;

/**
 * The teammate's side of shared mode: one team server signed in to with email and password. The
 * token lives in SecretStorage, the URL and pinned certificate in globalState. While signed in it
 * polls the shared listener's `GET /api/auth/me`, `GET /v1/models` and `GET /api/servers` (the
 * listener serves teammates no event stream), and its client streams chats through `/v1`.
 */
export class TeamConnection implements vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<TeamSnapshot | undefined>();
  readonly onDidChange = this.changed.event;
  private current: TeamSnapshot | undefined;
  private teamClient: ManagerClient | undefined;
  private polling: AbortController | undefined;
  private wake: (() => void) | undefined;
  private contexts = "";

  constructor(
    private readonly memento: vscode.Memento,
    private readonly secrets: vscode.SecretStorage,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  get snapshot(): TeamSnapshot | undefined {
    return this.current;
  }

  /** The signed-in client (undefined when signed out). */
  get client(): ManagerClient | undefined {
    return this.current?.status === "signed-out" ? undefined : this.teamClient;
  }

  /** The team's models as chat targets of the dashboard (`team:<profile>`), streamed through the team's `/v1`. */
  chatSource(): TeamChatSource {
    return {
      targets: () =>
        this.client === undefined
          ? []
          : (this.current?.models ?? []).map((m) => ({ id: `${TEAM_TARGET_PREFIX}${m.id}`, name: `${TEAM_TARGET_PREFIX}${m.id}`, engine: m.engine, model: vscode.l10n.t("on {0}", this.current?.url ?? "") })),
      onDidChange: (listener) => this.changed.event(() => { listener(); }),
      chatStream: (request, signal) => {
        const client = this.client;
        if (client === undefined) throw new ManagerRequestError(0, "not_signed_in", vscode.l10n.t("Not signed in to a team server. Run MLX: Connect to Team Server."));
        return client.chatStream(request, signal);
      },
    };
  }

  /** Picks up the session of an earlier window (no network on the activation path: polling starts after). */
  async restore(): Promise<void> {
    const stored = this.memento.get<StoredSession>(SESSION_KEY);
    const token = await this.secrets.get(TOKEN_KEY);
    if (stored === undefined || token === undefined) return;
    if (stored.expiresAt < Date.now()) {
      this.set({ ...this.base(stored), status: "signed-out", problem: vscode.l10n.t("Your session expired. Connect to the team server again.") });
      return;
    }
    this.begin(stored, token);
  }

  /** Signs in (the caller asked for the URL, credentials and trust in the certificate). */
  async signIn(url: string, email: string, password: string, tlsPin: TlsPin | undefined): Promise<LoginResult> {
    const result = await new ManagerClient({ url, token: "", ...(tlsPin ? { tlsPin } : {}) }).login(email, password);
    const stored: StoredSession = { url, email: result.user.email, expiresAt: result.expiresAt, ...(tlsPin ? { tlsPin } : {}) };
    await this.secrets.store(TOKEN_KEY, result.token);
    await this.memento.update(SESSION_KEY, stored);
    this.log.info(`team: signed in to ${url} as ${result.user.email} (${result.user.role}, ${result.user.status})`);
    this.begin(stored, result.token, result.user);
    return result;
  }

  /** Forgets the token and the server (the pinned certificate with it). */
  async signOut(): Promise<boolean> {
    const had = this.current !== undefined;
    this.stopPolling();
    this.teamClient = undefined;
    await this.secrets.delete(TOKEN_KEY);
    await this.memento.update(SESSION_KEY, undefined);
    if (had) this.log.info("team: signed out");
    this.set(undefined);
    return had;
  }

  /** Polls now (after an action, or the Refresh button); resolves with the poll's outcome. */
  refresh(): Promise<void> {
    if (this.polling === undefined) return Promise.resolve();
    return new Promise((resolve) => {
      const listener = this.changed.event(() => {
        listener.dispose();
        resolve();
      });
      // Asleep between polls: wake it. Polling right now: its answer is the one awaited.
      this.wake?.();
    });
  }

  dispose(): void {
    this.stopPolling();
    this.changed.dispose();
  }

  private base(stored: StoredSession): TeamSnapshot {
    return {
      url: stored.url,
      email: stored.email,
      status: "connected",
      models: [],
      servers: [],
      tls: stored.url.startsWith("https:"),
      ...(stored.tlsPin ? { fingerprint: stored.tlsPin.fingerprint } : {}),
    };
  }

  private begin(stored: StoredSession, token: string, user?: UserInfo): void {
    this.stopPolling();
    this.teamClient = new ManagerClient({ url: stored.url, token, ...(stored.tlsPin ? { tlsPin: stored.tlsPin } : {}) });
    this.set({ ...this.base(stored), ...(user ? { user } : {}), status: user?.status === "pending" ? "pending" : "connected" });
    const polling = (this.polling = new AbortController());
    void this.poll(this.teamClient, stored, polling.signal);
  }

  private stopPolling(): void {
    this.polling?.abort();
    this.polling = undefined;
    this.wake?.();
    this.wake = undefined;
  }

  private async poll(client: ManagerClient, stored: StoredSession, signal: AbortSignal): Promise<void> {
    let delay = POLL_MS;
    while (!signal.aborted) {
      const next = await this.pollOnce(client, stored, signal);
      // (A function call: the signal may have been aborted while the poll awaited.)
      if (next === "stop" || aborted(signal)) return;
      delay = next === "slower" ? Math.min(delay * 2, MAX_POLL_MS) : POLL_MS;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, delay);
        function done(): void {
          clearTimeout(timer);
          resolve();
        }
        this.wake = done;
        signal.addEventListener("abort", done, { once: true });
      });
    }
  }

  private async pollOnce(client: ManagerClient, stored: StoredSession, signal: AbortSignal): Promise<"again" | "slower" | "stop"> {
    const request = AbortSignal.any([signal, AbortSignal.timeout(10_000)]);
    const base = this.base(stored);
    try {
      const { user } = await client.me(request);
      if (user.status === "pending") {
        this.set({ ...base, user, status: "pending", problem: vscode.l10n.t("Your account waits for an admin of {0} to approve it.", stored.url) });
        return "again";
      }
      const [models, servers] = await Promise.all([client.gatewayModels(request), client.publicServers(request)]);
      this.set({ ...base, user, models: models.data, servers: servers.servers });
      return "again";
    } catch (error) {
      if (signal.aborted) return "stop";
      if (error instanceof ManagerRequestError && (error.status === 401 || error.code === "certificate_changed")) {
        // Refused for good (expired, revoked, disabled, deleted, or not the pinned certificate).
        this.teamClient = undefined;
        await this.secrets.delete(TOKEN_KEY);
        const problem =
          error.code === "certificate_changed"
            ? error.message
            : vscode.l10n.t("{0} refused your session ({1}). Connect to the team server again.", stored.url, error.message);
        this.log.warn(`team: signed out by the server: ${problem}`);
        this.set({ ...base, status: "signed-out", problem });
        void this.announceSignedOut(problem, error.code === "certificate_changed");
        return "stop";
      }
      const problem = error instanceof Error ? error.message : String(error);
      if (this.current?.status !== "unreachable") this.log.warn(`team: ${stored.url} did not answer (${problem})`);
      this.set({ ...base, ...(this.current?.user ? { user: this.current.user } : {}), models: this.current?.models ?? [], servers: this.current?.servers ?? [], status: "unreachable", problem });
      return "slower";
    }
  }

  private async announceSignedOut(problem: string, loud: boolean): Promise<void> {
    const again = vscode.l10n.t("Connect Again");
    const choice = loud ? await vscode.window.showErrorMessage(problem, { modal: true }, again) : await vscode.window.showWarningMessage(problem, again);
    if (choice === again) await vscode.commands.executeCommand("mlx.connectTeamServer");
  }

  private set(snapshot: TeamSnapshot | undefined): void {
    this.current = snapshot;
    // Polls repeat the same state every few seconds: tell the workbench only about changes.
    const contexts = `${snapshot === undefined ? "none" : snapshot.status}|${String(snapshot?.user?.role === "admin" && snapshot.status === "connected")}`;
    if (contexts !== this.contexts) {
      this.contexts = contexts;
      void vscode.commands.executeCommand("setContext", "mlx.team", snapshot === undefined ? "none" : snapshot.status);
      void vscode.commands.executeCommand("setContext", "mlx.teamAdmin", snapshot?.user?.role === "admin" && snapshot.status === "connected");
    }
    this.changed.fire(snapshot);
  }
}

function aborted(signal: AbortSignal): boolean {
  return signal.aborted;
}
