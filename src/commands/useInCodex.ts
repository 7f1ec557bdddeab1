import os from "node:os";
import path from "node:path";
import * as vscode from "vscode";
import { fetchGatewayKey } from "../client/gatewayKey";
import { applyCodexConfig, CODEX_PROFILE, describeCodexConfig, undoCodexConfig, type AppliedCodex } from "./codexConfig";
import type { CommandDefinition } from "./CommandContext";
import { readIfThere, undoEdits, writeEdit } from "./settingsFiles";
import { profilesFrom } from "./targets";

// "MLX: Use a Local Model in Codex…" and its undo. Codex reads its model and model provider from
// `~/.codex/config.toml`, or from `~/.codex/<name>.config.toml` when started with `--profile
// <name>`; we show what would be set, write only after the user says so (comments kept, the
// file's previous content kept as `<file>.bak`), and remember what we changed so that "MLX: Stop
// Using Local Models in Codex" can put it back.

const APPLIED_KEY = "mlx.codex.applied";

/** Scripted arguments (tests, scripts): no question is asked. */
interface ScriptedArgs {
  profile: unknown;
  /** "profile": <CODEX_HOME>/mlx.config.toml (`codex --profile mlx`); "default": <CODEX_HOME>/config.toml; or an absolute path. */
  target?: string;
  confirm: true;
}

function scripted(arg: unknown): ScriptedArgs | undefined {
  if (typeof arg !== "object" || arg === null || (arg as { confirm?: unknown }).confirm !== true) return undefined;
  return arg as ScriptedArgs;
}

/** Codex's folder: CODEX_HOME, else ~/.codex. */
function codexHome(): string {
  const home = process.env["CODEX_HOME"];
  return home !== undefined && home !== "" ? home : path.join(os.homedir(), ".codex");
}

function targets(): { label: string; description: string; detail: string; file: string; run: string }[] {
  // The command line that uses each file is shown as it is typed, not translated.
  const withProfile = `codex --profile ${CODEX_PROFILE}`;
  const profileFile = path.join(codexHome(), `${CODEX_PROFILE}.config.toml`);
  const defaultFile = path.join(codexHome(), "config.toml");
  return [
    { label: vscode.l10n.t("A Codex profile"), description: withProfile, detail: profileFile, file: profileFile, run: withProfile },
    { label: vscode.l10n.t("Codex's default"), description: "codex", detail: defaultFile, file: defaultFile, run: "codex" },
  ];
}

function targetOf(target: string | undefined): { file: string; run: string } | undefined {
  if (target === undefined || target === "profile") return targets()[0];
  if (target === "default") return targets()[1];
  return path.isAbsolute(target) ? { file: target, run: "codex" } : undefined;
}

export const useInCodex: CommandDefinition = {
  id: "mlx.useInCodex",
  async run(ctx, ...args) {
    const script = scripted(args[0]);
    const [profile] = await profilesFrom(ctx, script ? [script.profile] : args, { title: vscode.l10n.t("Which profile should Codex use?") });
    if (!profile) return undefined;
    let target = script ? targetOf(script.target) : undefined;
    if (!script) {
      const picked = await vscode.window.showQuickPick(targets(), { title: vscode.l10n.t("Where should Codex find it?") });
      if (!picked) return undefined;
      target = picked;
    }
    if (target === undefined) throw new Error(vscode.l10n.t("No such Codex config file: use \"profile\", \"default\" or an absolute path."));
    const { file, run } = target;

    const client = await ctx.connection.client();
    const { key } = await fetchGatewayKey(client, AbortSignal.timeout(10_000));
    const input = { baseUrl: `${client.url}/v1`, gatewayKey: key, model: profile.name };
    const before = await readIfThere(file);
    // A file that is not TOML (or sets these in a form we do not edit) is refused before anything is asked or written.
    const result = applyCodexConfig(before ?? "", input, file);
    if (!script) {
      const apply = vscode.l10n.t("Apply");
      const choice = await vscode.window.showInformationMessage(
        vscode.l10n.t("Set these in {0}?", file),
        {
          modal: true,
          detail: vscode.l10n.t(
            "{0}\n\n`{1}` started after this talks to the MLX manager's Responses API, and the profile \"{2}\" answers it. The key opens /v1 only. Comments and your other settings are kept, the file's current content is saved as {3}, and \"MLX: Stop Using Local Models in Codex\" puts it back.",
            describeCodexConfig(input),
            run,
            profile.name,
            `${path.basename(file)}.bak`,
          ),
        },
        apply,
      );
      if (choice !== apply) return undefined;
    }
    // A second application keeps what the file held before the first.
    await writeEdit<AppliedCodex>(ctx.globalState, APPLIED_KEY, file, before, result.text, result.applied, (earlier, now) => ({ set: now.set, previous: earlier.previous }));
    ctx.log.info(`codex: ${file} now points at ${client.url}/v1 (model ${profile.name})`);
    if (!script) {
      void vscode.window.showInformationMessage(vscode.l10n.t("Run `{0}`: Codex will use \"{1}\" through the MLX manager (it starts on first use).", run, profile.name));
    }
    return { file, model: profile.name, run };
  },
};

export const stopUsingInCodex: CommandDefinition = {
  id: "mlx.stopUsingInCodex",
  async run(ctx, ...args) {
    // A profile file that held only what we wrote goes with it.
    const restored = await undoEdits<AppliedCodex>(ctx.globalState, APPLIED_KEY, undoCodexConfig, (applied) => applied.previous.model === null && applied.previous.provider === null);
    if (restored === undefined) {
      if (args[0] !== true) void vscode.window.showInformationMessage(vscode.l10n.t("No Codex settings were changed by MLX Model Manager."));
      return { restored: [] };
    }
    const kept = restored.flatMap((r) => r.changedSince);
    if (args[0] !== true) {
      void vscode.window.showInformationMessage(
        kept.length > 0
          ? vscode.l10n.t("Codex's settings are back as they were, except {0}, changed since (left as they are).", kept.join(", "))
          : vscode.l10n.t("Codex's settings are back as they were."),
      );
    }
    return { restored };
  },
};
