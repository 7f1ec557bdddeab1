import * as vscode from "vscode";
import type { Profile } from "../shared/profiles";
import type { RemotePlacementPreview } from "../shared/remotes";
import type { ServerInfo } from "../shared/servers";
import { formatBytes } from "../views/host/format";
import type { CommandDefinition } from "./CommandContext";
import { optionsArg } from "./commandArgs";
import { remoteModelFrom, remoteProfileName } from "./remoteTargets";

/**
 * "Place on exo…": a model of an exo cluster, placed as the user chooses among exo's own previews
 * (sharding, instance kind, nodes and what each holds; those that do not fit say why). The choice
 * is kept in the model's profile (made if there is none), which is then started: placing makes exo
 * download the model where it is missing, so it happens only here, never for a request.
 */
export const placeOnExo: CommandDefinition = {
  id: "mlx.placeOnExo",
  async run(ctx, ...args) {
    const given = optionsArg<{ choose: number }>(args[0]);
    const target = await remoteModelFrom(ctx, args[0], vscode.l10n.t("Place which model on exo?"));
    if (target === undefined) return undefined;
    const { backend, model } = target;
    if (backend.kind !== "exo") {
      void vscode.window.showInformationMessage(vscode.l10n.t("{0} is not an exo cluster: its models run where it runs them.", backend.name));
      return undefined;
    }
    const client = await ctx.connection.client();
    const { previews } = await client.placementPreviews(backend.id, model.id);
    const items = previews.map((preview: RemotePlacementPreview) => ({
      label: vscode.l10n.t("{0} · {1} · {2} nodes", preview.sharding, preview.instanceMeta, preview.nodes.length || preview.minNodes),
      description: preview.nodes.map((n) => `${n.id.slice(0, 8)} ${formatBytes(n.bytes)}`).join(" + "),
      ...(preview.error === undefined ? {} : { detail: vscode.l10n.t("Does not fit: {0}", preview.error) }),
      preview,
    }));
    const fitting = items.filter((i) => i.preview.error === undefined);
    const chosen =
      given.choose !== undefined
        ? fitting[given.choose]
        : await vscode.window.showQuickPick([...fitting, ...items.filter((i) => i.preview.error !== undefined)], { title: vscode.l10n.t("Place {0} on {1}: exo downloads it where it is missing", model.id, backend.name) });
    if (chosen === undefined) return undefined;
    if (chosen.preview.error !== undefined) {
      void vscode.window.showWarningMessage(vscode.l10n.t("That placement does not fit: {0}", chosen.preview.error));
      return undefined;
    }
    const placement = { sharding: chosen.preview.sharding, instanceMeta: chosen.preview.instanceMeta, minNodes: Math.max(1, chosen.preview.nodes.length) };
    let profile: Profile | undefined = ctx.state.profiles.find((p) => p.model.source === "remote" && p.model.backend === backend.id && p.model.model === model.id);
    if (profile === undefined) {
      profile = await client.createProfile({ name: remoteProfileName(model.id, backend.name), engine: "remote", model: { source: "remote", backend: backend.id, model: model.id }, options: { placement } });
    } else {
      const current = await client.profile(profile.id);
      profile = await client.updateProfile(current.id, { version: current.version, options: { ...current.options, placement } });
    }
    const name = profile.name;
    return vscode.window.withProgress<ServerInfo>({ location: vscode.ProgressLocation.Notification, title: vscode.l10n.t("Placing {0} on {1}…", model.id, backend.name), cancellable: true }, (_progress, token) => {
      const abort = new AbortController();
      token.onCancellationRequested(() => { abort.abort(); });
      return client.startServer(name, { signal: abort.signal });
    });
  },
};
