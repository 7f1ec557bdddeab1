import * as vscode from "vscode";
import type { Profile } from "../shared/profiles";
import { readSettings } from "../views/host/settings";
import type { CommandDefinition } from "./CommandContext";
import { startProfiles } from "./startServer";
import { modelFrom } from "./targets";

/** Starts a model: with its first profile, or a default one created for it. */
export const startModel: CommandDefinition = {
  id: "mlx.startModel",
  async run(ctx, ...args) {
    const model = await modelFrom(ctx, args[0], vscode.l10n.t("Start which model?"));
    if (!model) return [];
    let profile: Profile | undefined = ctx.state.profiles.find((p) => p.model.source === "cache" && p.model.repoId === model.id);
    if (!profile) {
      const preferred = readSettings().defaultEngine;
      const engines = ctx.state.engines.filter((e) => e.formats.includes(model.format));
      const onAppleSilicon = process.platform === "darwin" && process.arch === "arm64";
      const engine = engines.find((e) => e.id === preferred) ?? engines.find((e) => !e.appleSiliconOnly || onAppleSilicon) ?? engines[0];
      if (!engine) {
        void vscode.window.showWarningMessage(vscode.l10n.t("No engine can serve {0} models.", model.format.toUpperCase()));
        return [];
      }
      const base = model.id.split("/").pop() ?? model.id;
      let name = base.replace(/[^\p{L}\p{N} ._-]/gu, "-").slice(0, 60);
      for (let i = 2; ctx.state.profiles.some((p) => p.name.toLowerCase() === name.toLowerCase()); i++) name = `${base.slice(0, 56)}-${i}`;
      const file = model.ggufFiles?.[0]?.path;
      try {
        profile = await (await ctx.connection.client()).createProfile({ name, engine: engine.id, model: { source: "cache", repoId: model.id, ...(file ? { file } : {}) } });
      } catch (error) {
        ctx.errors.report(vscode.l10n.t("Could not create a profile for {0}", model.id), error);
        return [];
      }
    }
    return startProfiles(ctx, [profile]);
  },
};
