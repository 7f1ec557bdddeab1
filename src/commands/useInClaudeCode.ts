import os from "node:os";
import path from "node:path";
import * as vscode from "vscode";
import { fetchGatewayKey } from "../client/gatewayKey";
import { applyEnv, claudeEnv, describeEnv, undoEnv, type AppliedEnv } from "./claudeCodeSettings";
import type { CommandDefinition } from "./CommandContext";
import { readIfThere, undoEdits, writeEdit } from "./settingsFiles";
import { profilesFrom } from "./targets";

// "MLX: Use a Local Model in Claude Code…" and its undo. Claude Code reads `env` from its
// settings file; we show what would be set, write only after the user says so (comments kept,
// the file's previous content kept as `<file>.bak`), and remember what we changed so that
// "MLX: Stop Using Local Models in Claude Code" can put it back.

const APPLIED_KEY = "mlx.claudeCode.applied";

/** Scripted arguments (tests, scripts): no question is asked. */
interface ScriptedArgs {
  profile: unknown;
  smallProfile?: unknown;
  /** "user": ~/.claude/settings.json; "workspace": <first folder>/.claude/settings.local.json; or a path. */
  target?: string;
  confirm: true;
}

function scripted(arg: unknown): ScriptedArgs | undefined {
  if (typeof arg !== "object" || arg === null || (arg as { confirm?: unknown }).confirm !== true) return undefined;
  return arg as ScriptedArgs;
}

/** The settings files Claude Code reads that we offer. */
function targets(): { label: string; detail: string; file: string }[] {
  const out = [{ label: vscode.l10n.t("User settings"), detail: path.join(os.homedir(), ".claude", "settings.json"), file: path.join(os.homedir(), ".claude", "settings.json") }];
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (folder !== undefined && folder.uri.scheme === "file") {
    const file = path.join(folder.uri.fsPath, ".claude", "settings.local.json");
    out.push({ label: vscode.l10n.t("This workspace, for you only"), detail: file, file });
  }
  return out;
}

function targetFile(target: string | undefined): string | undefined {
  if (target === undefined || target === "user") return targets()[0]?.file;
  if (target === "workspace") return targets()[1]?.file;
  return path.isAbsolute(target) ? target : undefined;
}

export const useInClaudeCode: CommandDefinition = {
  id: "mlx.useInClaudeCode",
  async run(ctx, ...args) {
    const script = scripted(args[0]);
    const [profile] = await profilesFrom(ctx, script ? [script.profile] : args, { title: vscode.l10n.t("Which profile should Claude Code use?") });
    if (!profile) return undefined;
    let small = profile;
    if (script?.smallProfile !== undefined) {
      [small = profile] = await profilesFrom(ctx, [script.smallProfile], { title: "" });
    } else if (!script) {
      const others = ctx.state.profiles.filter((p) => p.id !== profile.id).sort((a, b) => a.name.localeCompare(b.name));
      if (others.length > 0) {
        const picked = await vscode.window.showQuickPick(
          [{ label: profile.name, description: vscode.l10n.t("the same profile"), profile }, ...others.map((p) => ({ label: p.name, description: p.engine, profile: p }))],
          { title: vscode.l10n.t("And for Claude Code's small, fast model (titles, summaries)?") },
        );
        if (!picked) return undefined;
        small = picked.profile;
      }
    }
    let file = script ? targetFile(script.target) : undefined;
    if (!script) {
      const picked = await vscode.window.showQuickPick(targets(), { title: vscode.l10n.t("Which Claude Code settings file?") });
      if (!picked) return undefined;
      file = picked.file;
    }
    if (file === undefined) throw new Error(vscode.l10n.t("No such Claude Code settings file: use \"user\", \"workspace\" (with a folder open) or an absolute path."));

    const client = await ctx.connection.client();
    const { key } = await fetchGatewayKey(client, AbortSignal.timeout(10_000));
    const env = claudeEnv({ managerUrl: client.url, gatewayKey: key, model: profile.name, smallModel: small.name });
    const before = await readIfThere(file);
    // A file that is not JSON is refused with where it breaks, before anything is asked or written.
    const result = applyEnv(before ?? "", env, file);
    if (!script) {
      const apply = vscode.l10n.t("Apply");
      const choice = await vscode.window.showInformationMessage(
        vscode.l10n.t("Set these in the env of {0}?", file),
        {
          modal: true,
          detail: vscode.l10n.t(
            "{0}\n\nClaude Code started after this talks to the MLX manager's gateway (the profile \"{1}\" answers its main model, \"{2}\" its small one). The key opens /v1 only. Comments in the file are kept, its current content is saved as {3}, and \"MLX: Stop Using Local Models in Claude Code\" puts it back.",
            describeEnv(env),
            profile.name,
            small.name,
            `${path.basename(file)}.bak`,
          ),
        },
        apply,
      );
      if (choice !== apply) return undefined;
    }
    // A second application keeps what the file held before the first.
    await writeEdit<AppliedEnv>(ctx.globalState, APPLIED_KEY, file, before, result.text, result.applied, (earlier, now) => ({ set: now.set, previous: { ...now.previous, ...earlier.previous } }));
    ctx.log.info(`claude code: ${file} now points at ${client.url} (model ${profile.name}, small model ${small.name})`);
    if (!script) {
      void vscode.window.showInformationMessage(vscode.l10n.t("Claude Code will use \"{0}\" through the MLX manager. Start a new `claude` session (with a server running, or it starts on first use).", profile.name));
    }
    return { file, env: Object.keys(env), model: profile.name, smallModel: small.name };
  },
};

export const stopUsingInClaudeCode: CommandDefinition = {
  id: "mlx.stopUsingInClaudeCode",
  async run(ctx, ...args) {
    const restored = await undoEdits<AppliedEnv>(ctx.globalState, APPLIED_KEY, undoEnv);
    if (restored === undefined) {
      if (args[0] !== true) void vscode.window.showInformationMessage(vscode.l10n.t("No Claude Code settings were changed by MLX Model Manager."));
      return { restored: [] };
    }
    const kept = restored.flatMap((r) => r.changedSince);
    if (args[0] !== true) {
      void vscode.window.showInformationMessage(
        kept.length > 0
          ? vscode.l10n.t("Claude Code's settings are back as they were, except {0}, changed since (left as they are).", kept.join(", "))
          : vscode.l10n.t("Claude Code's settings are back as they were."),
      );
    }
    return { restored };
  },
};
