import * as vscode from "vscode";
import type { RemoteBackend, RemoteModel } from "../shared/remotes";
import { RemoteBackendItem, RemoteModelItem } from "../views/models/RemoteBackendItem";
import type { CommandContext } from "./CommandContext";

/** The backend named by the argument (a Models view node, an id or name), or picked from the list. */
export async function remoteFrom(ctx: CommandContext, arg: unknown, title: string): Promise<RemoteBackend | undefined> {
  if (arg instanceof RemoteBackendItem || arg instanceof RemoteModelItem) return ctx.state.remotes.get(arg.backend.id) ?? arg.backend;
  const all = [...ctx.state.remotes.values()];
  if (typeof arg === "string") return all.find((r) => r.id === arg || r.name.toLowerCase() === arg.toLowerCase());
  await ctx.connection.client();
  if (all.length === 0) {
    void vscode.window.showInformationMessage(vscode.l10n.t("No remote backend yet: add one with MLX: Add Remote Backend."));
    return undefined;
  }
  const chosen = await vscode.window.showQuickPick(
    all.map((r) => ({ label: r.name, description: `${r.url} · ${r.health.state}`, remote: r })),
    { title },
  );
  return chosen?.remote;
}

/** A backend's model named by the argument (a node, or { backend, model }), or picked from the backend's list. */
export async function remoteModelFrom(ctx: CommandContext, arg: unknown, title: string): Promise<{ backend: RemoteBackend; model: RemoteModel } | undefined> {
  if (arg instanceof RemoteModelItem) return { backend: arg.backend, model: arg.model };
  const given = typeof arg === "object" && arg !== null ? (arg as { backend?: unknown; model?: unknown }) : {};
  const backend = await remoteFrom(ctx, typeof given.backend === "string" ? given.backend : arg, title);
  if (backend === undefined) return undefined;
  if (typeof given.model === "string") return { backend, model: backend.health.models.find((m) => m.id === given.model) ?? { id: given.model } };
  const chosen = await vscode.window.showQuickPick(
    backend.health.models.map((m) => ({ label: m.id, model: m })),
    backend.health.models.length === 0 ? { title, placeHolder: vscode.l10n.t("{0} lists no models now", backend.name) } : { title },
  );
  return chosen === undefined ? undefined : { backend, model: chosen.model };
}

/** A profile name made of a remote model's id and its backend: "qwen3-8b on studio". */
export function remoteProfileName(model: string, backend: string): string {
  const base = model.split("/").at(-1) ?? model;
  const name = `${base} on ${backend}`.replace(/[^\p{L}\p{N} ._-]/gu, "-").replace(/^[^\p{L}\p{N}]+/u, "");
  return name.slice(0, 64).trim() || "remote model";
}
