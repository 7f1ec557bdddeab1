import * as vscode from "vscode";
import type { Profile } from "../shared/profiles";
import type { ServerInfo } from "../shared/servers";
import { ModelItem } from "../views/models/ModelItem";
import { ProfileItem } from "../views/profiles/ProfileItem";
import { ServerItem } from "../views/servers/ServerItem";
import type { CommandContext } from "./CommandContext";
import type { CachedModel } from "../shared/models";

// A command accepts a node, several selected nodes, an id or name, or nothing (then it asks).

/** Profiles named by the arguments (clicked node + selection, ids, names), or picked from a list. */
export async function profilesFrom(ctx: CommandContext, args: unknown[], pick: { title: string; filter?: (p: Profile, s: ServerInfo | undefined) => boolean; many?: boolean }): Promise<Profile[]> {
  const [first, selection] = args;
  const nodes = Array.isArray(selection) && selection.length > 0 ? (selection as unknown[]) : first === undefined ? [] : [first];
  const found: Profile[] = [];
  for (const node of nodes) {
    const profile =
      node instanceof ProfileItem
        ? node.profile
        : node instanceof ServerItem
          ? ctx.state.profiles.find((p) => p.id === node.server.profileId) ?? ({ id: node.server.profileId, name: node.server.profileName } as Profile)
          : typeof node === "string"
            ? ctx.state.profiles.find((p) => p.id === node || p.name.toLowerCase() === node.toLowerCase()) ?? ({ id: node, name: node } as Profile)
            : undefined;
    if (profile) found.push(profile);
  }
  if (found.length > 0 || nodes.length > 0) return found;
  await ctx.connection.client();
  const candidates = ctx.state.profiles.filter((p) => pick.filter?.(p, ctx.state.serverOf(p.id)) ?? true).sort((a, b) => a.name.localeCompare(b.name));
  if (candidates.length === 0) {
    void vscode.window.showInformationMessage(vscode.l10n.t("No profile fits: {0}", pick.title));
    return [];
  }
  const items = candidates.map((p) => ({ label: p.name, description: `${p.engine} · ${ctx.state.serverOf(p.id)?.state ?? "stopped"}`, profile: p }));
  if (pick.many) {
    const chosen = await vscode.window.showQuickPick(items, { title: pick.title, canPickMany: true });
    return chosen?.map((c) => c.profile) ?? [];
  }
  const chosen = await vscode.window.showQuickPick(items, { title: pick.title });
  return chosen ? [chosen.profile] : [];
}

/** The model named by the argument (node or repo id), or picked from the cached models. */
export async function modelFrom(ctx: CommandContext, arg: unknown, title: string): Promise<CachedModel | undefined> {
  if (arg instanceof ModelItem) return arg.model;
  if (typeof arg === "string") return ctx.state.models.find((m) => m.id === arg);
  await ctx.connection.client();
  const chosen = await vscode.window.showQuickPick(
    ctx.state.models.map((m) => ({ label: m.id, description: m.format, model: m })),
    { title },
  );
  return chosen?.model;
}

export function isRunning(server: ServerInfo | undefined): boolean {
  return server?.state === "running" || server?.state === "unhealthy" || server?.state === "starting";
}
