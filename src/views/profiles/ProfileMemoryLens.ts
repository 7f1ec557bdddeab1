import * as vscode from "vscode";
import { formatMemory, type MemoryFit } from "../../shared/memory";
import { ProfileInput } from "../../shared/profiles";
import type { ManagerConnection } from "../host/ManagerConnection";
import { PROFILE_SCHEME, withoutSchema } from "./ProfileDocuments";

const ICON: Record<MemoryFit["verdict"], string> = { fits: "$(pass)", tight: "$(warning)", does_not_fit: "$(error)" };

/**
 * Edit Profile (JSON): a line above the profile that says what its model needs in memory at its
 * context on its engine, and whether this machine can give it — asked of the manager as the
 * document changes (a moment after typing stops), from the text as it stands.
 */
export class ProfileMemoryLens implements vscode.CodeLensProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changed.event;
  private readonly subscriptions: vscode.Disposable[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly connection: ManagerConnection) {
    this.subscriptions.push(
      vscode.workspace.onDidChangeTextDocument((event) => {
        if (event.document.uri.scheme !== PROFILE_SCHEME) return;
        clearTimeout(this.timer);
        this.timer = setTimeout(() => { this.changed.fire(); }, 400);
      }),
    );
  }

  async provideCodeLenses(document: vscode.TextDocument, token: vscode.CancellationToken): Promise<vscode.CodeLens[]> {
    let json: unknown;
    try {
      json = JSON.parse(document.getText());
    } catch {
      return [];
    }
    const parsed = ProfileInput.safeParse(withoutSchema(json));
    if (!parsed.success) return [];
    const profile = parsed.data;
    const abort = new AbortController();
    token.onCancellationRequested(() => { abort.abort(); });
    let fit: MemoryFit;
    try {
      const client = await this.connection.client();
      fit = await client.memoryEstimate({ model: profile.model, engine: profile.engine, options: profile.options }, abort.signal);
    } catch {
      // A model not in the cache, or no manager: the JSON checks say why; no line here.
      return [];
    }
    const verdict = fit.verdict === "fits" ? vscode.l10n.t("fits") : fit.verdict === "tight" ? vscode.l10n.t("tight") : vscode.l10n.t("does not fit");
    const title = vscode.l10n.t("{0} Memory: needs about {1} of the {2} this machine can give a model — {3}", ICON[fit.verdict], fit.summary, formatMemory(fit.usable.bytes), verdict);
    return [new vscode.CodeLens(new vscode.Range(0, 0, 0, 0), { title, command: "", tooltip: [fit.usable.basis, ...fit.need.notes].join("\n") })];
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.changed.dispose();
    for (const s of this.subscriptions) s.dispose();
  }
}
