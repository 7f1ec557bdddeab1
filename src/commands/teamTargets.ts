import * as vscode from "vscode";
import { ManagerRequestError, type ManagerClient } from "../client/ManagerClient";
import { TeamModelItem, TeamServerItem } from "../views/team/TeamTreeProvider";
import type { CommandContext } from "./CommandContext";

/** The signed-in team client, or a clear error. */
export function teamClient(ctx: CommandContext): ManagerClient {
  const client = ctx.team.client;
  if (client === undefined) throw new ManagerRequestError(0, "not_signed_in", vscode.l10n.t("Not signed in to a team server. Run MLX: Connect to Team Server first."));
  return client;
}

/** The team model (profile) name an argument names: a tree node or a name; else picked. */
export async function teamModelFrom(ctx: CommandContext, arg: unknown, title: string, fits: (state: string) => boolean = () => true): Promise<string | undefined> {
  if (arg instanceof TeamModelItem) return arg.model.id;
  if (arg instanceof TeamServerItem) return arg.server.profileName;
  if (typeof arg === "string") return arg;
  const models = (ctx.team.snapshot?.models ?? []).filter((m) => fits(m.state));
  if (models.length === 0) {
    void vscode.window.showInformationMessage(vscode.l10n.t("No team model fits: {0}", title));
    return undefined;
  }
  const chosen = await vscode.window.showQuickPick(
    models.map((m) => ({ label: m.id, description: `${m.engine} · ${m.state}` })),
    { title },
  );
  return chosen?.label;
}
