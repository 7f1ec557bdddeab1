import * as vscode from "vscode";
import { ManagerRequestError } from "../client/ManagerClient";
import type { Profile } from "../shared/profiles";
import { WORKSPACE_PROFILE_FILE, WorkspaceProfileFile } from "../shared/workspaceProfile";
import { describeError } from "../views/host/errors";
import type { CommandContext } from "./CommandContext";
import { startProfiles } from "./startServer";
import { isRunning } from "./targets";

/** The answer to "This workspace uses the MLX profile X. Start it now?". */
export type WorkspaceProfileAnswer = "always" | "once" | "never";

/**
 * How to apply the folders' profiles: `open` when a folder opens (the remembered answer, else ask),
 * `answer` as if the question was answered (scripts and tests), `start` when the user asked for it.
 */
export type WorkspaceProfileMode = { kind: "open" } | { kind: "answer"; answer: WorkspaceProfileAnswer } | { kind: "start" };

export interface WorkspaceProfileOutcome {
  folder: string;
  profile?: string;
  outcome: "started" | "running" | "declined" | "dismissed" | "not-auto" | "missing" | "invalid" | "failed";
  message?: string;
}

const ANSWERS_KEY = "mlx.workspaceProfile.answers";

/** The remembered answers of this workspace (workspaceState), by folder and profile name. */
function answerKey(folder: vscode.WorkspaceFolder, profile: string): string {
  return `${folder.uri.toString()}#${profile.toLowerCase()}`;
}

export function rememberedAnswer(state: vscode.Memento, folder: vscode.WorkspaceFolder, profile: string): "always" | "never" | undefined {
  return state.get<Record<string, "always" | "never">>(ANSWERS_KEY, {})[answerKey(folder, profile)];
}

async function remember(state: vscode.Memento, folder: vscode.WorkspaceFolder, profile: string, answer: WorkspaceProfileAnswer | undefined): Promise<void> {
  const key = answerKey(folder, profile);
  const answers = Object.entries(state.get<Record<string, "always" | "never">>(ANSWERS_KEY, {})).filter(([k]) => k !== key);
  if (answer === "always" || answer === "never") answers.push([key, answer]);
  await state.update(ANSWERS_KEY, Object.fromEntries(answers));
}

/** Reads a folder's `.vscode/mlx-manager.json`: undefined when there is none, else the file or what is wrong with it. */
export async function readWorkspaceProfile(folder: vscode.WorkspaceFolder): Promise<{ file: WorkspaceProfileFile; uri: vscode.Uri } | { error: string; uri: vscode.Uri } | undefined> {
  const uri = vscode.Uri.joinPath(folder.uri, WORKSPACE_PROFILE_FILE);
  let text: string;
  try {
    text = new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
  } catch {
    return undefined;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { uri, error: vscode.l10n.t("it is not valid JSON ({0})", describeError(error)) };
  }
  const parsed = WorkspaceProfileFile.safeParse(json);
  if (parsed.success) return { uri, file: parsed.data };
  const issue = parsed.error.issues[0];
  return { uri, error: issue ? `${issue.path.map(String).join(".") || "file"}: ${issue.message}` : vscode.l10n.t("it does not match its schema") };
}

/** Applies every workspace folder's profile; one outcome per folder that has the file. */
export async function applyWorkspaceProfiles(ctx: CommandContext, mode: WorkspaceProfileMode, options: { importMissing?: boolean; folders?: readonly vscode.WorkspaceFolder[] } = {}): Promise<WorkspaceProfileOutcome[]> {
  const outcomes: WorkspaceProfileOutcome[] = [];
  for (const folder of options.folders ?? vscode.workspace.workspaceFolders ?? []) {
    const read = await readWorkspaceProfile(folder);
    if (!read) continue;
    if ("error" in read) {
      outcomes.push({ folder: folder.name, outcome: "invalid", message: read.error });
      const open = vscode.l10n.t("Open File");
      void vscode.window
        .showWarningMessage(vscode.l10n.t("{0} in {1} is not used: {2}. Fix the file (the editor checks it against its schema).", WORKSPACE_PROFILE_FILE, folder.name, read.error), open)
        .then((choice) => (choice === open ? vscode.window.showTextDocument(read.uri) : undefined));
      continue;
    }
    outcomes.push(await applyOne(ctx, folder, read.file, mode, options.importMissing ?? false));
  }
  return outcomes;
}

async function applyOne(ctx: CommandContext, folder: vscode.WorkspaceFolder, file: WorkspaceProfileFile, mode: WorkspaceProfileMode, importMissing: boolean): Promise<WorkspaceProfileOutcome> {
  const base = { folder: folder.name, profile: file.profile };
  if (mode.kind === "open" && !file.autoStart) return { ...base, outcome: "not-auto" };
  const remembered = rememberedAnswer(ctx.workspaceState, folder, file.profile);
  if (mode.kind === "open" && remembered === "never") return { ...base, outcome: "declined" };

  const client = await ctx.connection.client();
  let profile = await findProfile(ctx, file.profile);
  if (!profile && file.profilesFile !== undefined && importMissing) profile = await importFrom(ctx, folder, file.profilesFile, file.profile);
  if (!profile) {
    offerMissing(folder, file);
    return { ...base, outcome: "missing", message: vscode.l10n.t("No profile named {0} on this machine.", file.profile) };
  }
  if (isRunning(ctx.state.serverOf(profile.id)) || isRunning((await client.server(profile.id).catch(() => undefined)))) {
    if (mode.kind === "answer") await remember(ctx.workspaceState, folder, file.profile, mode.answer);
    return { ...base, outcome: "running" };
  }

  let answer: WorkspaceProfileAnswer | undefined;
  if (mode.kind === "answer") answer = mode.answer;
  else if (mode.kind === "start") answer = "once";
  else answer = remembered ?? (await ask(file.profile));
  if (answer === undefined) return { ...base, outcome: "dismissed" };
  if (mode.kind !== "start") await remember(ctx.workspaceState, folder, file.profile, answer);
  if (answer === "never") return { ...base, outcome: "declined" };

  const [started] = await startProfiles(ctx, [profile]);
  return started ? { ...base, outcome: "started" } : { ...base, outcome: "failed", message: ctx.errors.recent.at(-1) ?? vscode.l10n.t("the start was cancelled") };
}

async function ask(profile: string): Promise<WorkspaceProfileAnswer | undefined> {
  const always = vscode.l10n.t("Always");
  const once = vscode.l10n.t("Once");
  const never = vscode.l10n.t("Never for this workspace");
  const choice = await vscode.window.showInformationMessage(vscode.l10n.t("This workspace uses the MLX profile {0}. Start it now?", profile), always, once, never);
  return choice === always ? "always" : choice === once ? "once" : choice === never ? "never" : undefined;
}

async function findProfile(ctx: CommandContext, name: string): Promise<Profile | undefined> {
  const client = await ctx.connection.client();
  try {
    return await client.profile(name);
  } catch (error) {
    if (error instanceof ManagerRequestError && error.status === 404) return undefined;
    throw error;
  }
}

/** Imports the folder's profile export and returns the wanted profile if it is there now. */
async function importFrom(ctx: CommandContext, folder: vscode.WorkspaceFolder, relative: string, name: string): Promise<Profile | undefined> {
  const uri = vscode.Uri.joinPath(folder.uri, relative);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(await vscode.workspace.fs.readFile(uri)));
  } catch (error) {
    ctx.errors.report(vscode.l10n.t("Could not read the profiles file {0} (named by {1})", relative, WORKSPACE_PROFILE_FILE), error);
    return undefined;
  }
  const client = await ctx.connection.client();
  const result = await client.importProfiles(json);
  const skipped = result.skipped.find((s) => s.name.toLowerCase() === name.toLowerCase());
  if (skipped) ctx.errors.report(vscode.l10n.t("Could not import the profile {0} from {1}", name, relative), new Error(skipped.message));
  return findProfile(ctx, name);
}

/** Says the named profile is missing, with a way to create it (or import it when the file names an export). */
function offerMissing(folder: vscode.WorkspaceFolder, file: WorkspaceProfileFile): void {
  const create = vscode.l10n.t("Create Profile");
  const importLabel = file.profilesFile === undefined ? undefined : vscode.l10n.t("Import from {0}", file.profilesFile);
  const message =
    file.profilesFile === undefined
      ? vscode.l10n.t("This workspace uses the MLX profile {0}, which does not exist on this machine. Create a profile with that name (the file is {1}).", file.profile, WORKSPACE_PROFILE_FILE)
      : vscode.l10n.t("This workspace uses the MLX profile {0}, which does not exist on this machine. Import it from {1}, or create a profile with that name.", file.profile, file.profilesFile);
  void vscode.window.showWarningMessage(message, ...(importLabel ? [importLabel] : []), create).then(async (choice) => {
    if (choice === create) await vscode.commands.executeCommand("mlx.createProfile");
    else if (choice !== undefined && choice === importLabel) await vscode.commands.executeCommand("mlx.applyWorkspaceProfile", { importMissing: true, folder: folder.uri.toString() });
  });
}

/** Applies the folders' profiles once the manager first answers, and for folders added later. */
export function watchWorkspaceProfiles(ctx: CommandContext): vscode.Disposable {
  let applied = false;
  const run = (folders?: readonly vscode.WorkspaceFolder[]): void => {
    void applyWorkspaceProfiles(ctx, { kind: "open" }, folders ? { folders } : {}).catch((error: unknown) => {
      ctx.errors.report(vscode.l10n.t("Could not start the workspace's MLX profile"), error);
    });
  };
  const first = (): void => {
    if (applied || ctx.connection.state.kind !== "connected") return;
    applied = true;
    run();
  };
  const subscriptions = [
    ctx.connection.onDidChange(first),
    vscode.workspace.onDidChangeWorkspaceFolders((event) => {
      if (event.added.length > 0 && applied) run(event.added);
    }),
  ];
  first();
  return vscode.Disposable.from(...subscriptions);
}
