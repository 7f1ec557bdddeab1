import * as vscode from "vscode";
import type { Profile } from "../shared/profiles";
import type { CommandDefinition } from "./CommandContext";
import { optionsArg } from "./commandArgs";
import { remoteModelFrom, remoteProfileName } from "./remoteTargets";
import { profilesFrom } from "./targets";

/** A remote model as a profile of its own: its name (and aliases) are then served by the gateway, metered, in the Servers view. */
export const addRemoteProfile: CommandDefinition = {
  id: "mlx.addRemoteProfile",
  async run(ctx, ...args) {
    const given = optionsArg<{ name: string }>(args[0]);
    const target = await remoteModelFrom(ctx, args[0], vscode.l10n.t("Add which remote model as a profile?"));
    if (target === undefined) return undefined;
    const name =
      given.name ??
      (await vscode.window.showInputBox({
        title: vscode.l10n.t("Profile for {0} on {1}", target.model.id, target.backend.name),
        prompt: vscode.l10n.t("The name clients use for it through the manager's /v1"),
        value: remoteProfileName(target.model.id, target.backend.name),
        ignoreFocusOut: true,
      }));
    if (name === undefined) return undefined;
    const client = await ctx.connection.client();
    return client.createProfile({ name: name.trim(), engine: "remote", model: { source: "remote", backend: target.backend.id, model: target.model.id } });
  },
};

/**
 * A remote model as a replica of an existing profile: a remote profile with that profile's name as
 * its alias, so requests for the name go to whichever of them has the shortest queue (and to the
 * other when one fails before answering).
 */
export const addRemoteReplica: CommandDefinition = {
  id: "mlx.addRemoteReplica",
  async run(ctx, ...args) {
    const given = optionsArg<{ of: string }>(args[0]);
    const target = await remoteModelFrom(ctx, args[0], vscode.l10n.t("Which remote model serves as a replica?"));
    if (target === undefined) return undefined;
    const [of] = await profilesFrom(ctx, given.of === undefined ? [] : [given.of], { title: vscode.l10n.t("{0} on {1} is a replica of which profile?", target.model.id, target.backend.name), filter: (p) => p.model.source !== "remote" || p.model.backend !== target.backend.id });
    if (of === undefined) return undefined;
    const client = await ctx.connection.client();
    const created: Profile = await client.createProfile({ name: remoteProfileName(of.name, target.backend.name), aliases: [of.name], engine: "remote", model: { source: "remote", backend: target.backend.id, model: target.model.id } });
    void vscode.window.showInformationMessage(vscode.l10n.t("Requests for {0} now go to {0} or to {1} on {2}, whichever is less busy.", of.name, target.model.id, target.backend.name));
    return created;
  },
};
