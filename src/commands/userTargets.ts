import * as vscode from "vscode";
import type { UserInfo, UserPatch } from "../shared/auth";
import { UserItem } from "../views/users/UserItem";
import type { CommandContext } from "./CommandContext";

/** Users named by the arguments (clicked node + selection, ids, emails), or picked from those that fit. */
export async function usersFrom(ctx: CommandContext, args: unknown[], title: string, fits: (u: UserInfo) => boolean): Promise<UserInfo[]> {
  const [first, selection] = args;
  const nodes = Array.isArray(selection) && selection.length > 0 ? (selection as unknown[]) : first === undefined ? [] : [first];
  const found: UserInfo[] = [];
  for (const node of nodes) {
    const user =
      node instanceof UserItem
        ? node.user
        : typeof node === "string"
          ? ctx.state.users.find((u) => u.id === node || u.email.toLowerCase() === node.toLowerCase())
          : undefined;
    if (user) found.push(user);
  }
  if (found.length > 0 || nodes.length > 0) return found;
  await ctx.state.refreshUsers(await ctx.connection.client());
  const candidates = ctx.state.users.filter(fits).sort((a, b) => a.email.localeCompare(b.email));
  if (candidates.length === 0) {
    void vscode.window.showInformationMessage(vscode.l10n.t("No account fits: {0}", title));
    return [];
  }
  const chosen = await vscode.window.showQuickPick(
    candidates.map((u) => ({ label: u.email, description: `${u.role} · ${u.status}`, user: u })),
    { title, canPickMany: true },
  );
  return chosen?.map((c) => c.user) ?? [];
}

/** Applies one change (status or role) to the accounts the arguments name, or the ones picked. */
export async function changeUsers(ctx: CommandContext, args: unknown[], title: string, fits: (u: UserInfo) => boolean, patch: UserPatch): Promise<UserInfo[]> {
  const users = await usersFrom(ctx, args, title, fits);
  if (users.length === 0) return [];
  const client = await ctx.connection.client();
  const changed: UserInfo[] = [];
  for (const user of users) {
    try {
      changed.push(await client.updateUser(user.id, patch));
    } catch (error) {
      ctx.errors.report(vscode.l10n.t("Could not change {0}", user.email), error);
    }
  }
  await ctx.state.refreshUsers(client);
  return changed;
}
