import * as vscode from "vscode";
import type { ManagerConnection } from "./ManagerConnection";

/** One LogOutputChannel per server, streaming its log file from the manager while open. */
export class ServerLogChannels implements vscode.Disposable {
  private readonly channels = new Map<string, { channel: vscode.LogOutputChannel; follow: AbortController }>();

  constructor(
    private readonly connection: ManagerConnection,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  /** Shows the server's channel, starting to follow its log on first use. */
  async show(profileId: string, profileName: string): Promise<vscode.LogOutputChannel> {
    let entry = this.channels.get(profileId);
    if (!entry) {
      const channel = vscode.window.createOutputChannel(vscode.l10n.t("MLX Server: {0}", profileName), { log: true });
      entry = { channel, follow: new AbortController() };
      this.channels.set(profileId, entry);
      const client = await this.connection.client();
      const { follow } = entry;
      void client
        .followServerLogs(profileId, (lines) => {
          for (const line of lines) channel.appendLine(line);
        }, follow.signal, 200)
        .catch((error: unknown) => {
          this.log.warn(`log stream of ${profileName} ended: ${String(error)}`);
        });
    }
    entry.channel.show(true);
    return entry.channel;
  }

  dispose(): void {
    for (const { channel, follow } of this.channels.values()) {
      follow.abort();
      channel.dispose();
    }
    this.channels.clear();
  }
}
