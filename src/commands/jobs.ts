import path from "node:path";
import * as vscode from "vscode";
import type { Job, JobInput } from "../shared/jobs";
import { JobItem } from "../views/jobs/JobItem";
import { withCancel } from "./checkHosts";
import type { CommandContext, CommandDefinition } from "./CommandContext";

/** The job a command was given (a Jobs view node, an id or name), or one picked from those `filter` lets through. */
async function jobFrom(ctx: CommandContext, arg: unknown, title: string, filter: (job: Job) => boolean): Promise<Job | undefined> {
  if (arg instanceof JobItem) return arg.job;
  if (typeof arg === "string") return ctx.state.jobList.find((j) => j.id === arg || j.name === arg);
  const candidates = ctx.state.jobList.filter(filter);
  if (candidates.length === 0) {
    void vscode.window.showInformationMessage(vscode.l10n.t("No fine-tuning job fits: {0}", title));
    return undefined;
  }
  const picked = await vscode.window.showQuickPick(
    candidates.map((job) => ({ label: job.name, description: `${job.state} · ${job.iteration}/${job.iters}`, job })),
    { title },
  );
  return picked?.job;
}

/** The job's log (what mlx_lm.lora printed), as a read-only document. */
export const showJobLog: CommandDefinition = {
  id: "mlx.showJobLog",
  async run(ctx, ...args) {
    const job = await jobFrom(ctx, args[0], vscode.l10n.t("Show the log of which job?"), () => true);
    if (job === undefined) return undefined;
    const client = await ctx.connection.client();
    const { lines } = await client.jobLog(job.id, 2000);
    return ctx.reports.show(vscode.l10n.t("Log of {0}", job.name), ["```text", ...lines, "```", ""].join("\n"));
  },
};

export const cancelJob: CommandDefinition = {
  id: "mlx.cancelJob",
  async run(ctx, ...args) {
    const job = await jobFrom(ctx, args[0], vscode.l10n.t("Cancel which job?"), (j) => j.state === "queued" || j.state === "running");
    if (job === undefined) return undefined;
    return (await ctx.connection.client()).cancelJob(job.id);
  },
};

export const resumeJob: CommandDefinition = {
  id: "mlx.resumeJob",
  async run(ctx, ...args) {
    const job = await jobFrom(ctx, args[0], vscode.l10n.t("Resume which job from its last checkpoint?"), (j) => ["interrupted", "failed", "cancelled"].includes(j.state));
    if (job === undefined) return undefined;
    return (await ctx.connection.client()).resumeJob(job.id);
  },
};

/** A profile serving the job's base model with its adapter (mlx-lm), then started. */
export const serveJobAdapter: CommandDefinition = {
  id: "mlx.serveJobAdapter",
  async run(ctx, ...args) {
    const job = await jobFrom(ctx, args[0], vscode.l10n.t("Serve the adapter of which job?"), (j) => j.state === "completed");
    if (job === undefined) return undefined;
    const name = await vscode.window.showInputBox({ title: vscode.l10n.t("A profile for {0}'s adapter", job.name), value: `${job.name}-adapter`, prompt: vscode.l10n.t("The profile's name (the model name clients send)") });
    if (name === undefined || name.trim() === "") return undefined;
    const client = await ctx.connection.client();
    const profile = await client.profileFromJob(job.id, name.trim());
    void vscode.window.setStatusBarMessage(vscode.l10n.t("Created profile {0} with the adapter of {1}", profile.name, job.name), 5000);
    return vscode.commands.executeCommand("mlx.startServer", profile.name);
  },
};

/** Fuses a finished job's adapter into its base model, as local/<name> in the Hugging Face cache. */
export const fuseJobAdapter: CommandDefinition = {
  id: "mlx.fuseJobAdapter",
  async run(ctx, ...args) {
    const job = await jobFrom(ctx, args[0], vscode.l10n.t("Fuse the adapter of which job?"), (j) => j.state === "completed");
    if (job === undefined) return undefined;
    const name = await vscode.window.showInputBox({ title: vscode.l10n.t("Fuse {0}'s adapter into a new model", job.name), value: `${job.name}-fused`, prompt: vscode.l10n.t("Its name in the cache: local/<name>"), validateInput: (v) => (/^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$/.test(v.trim()) ? undefined : vscode.l10n.t("Letters, digits, '.', '_' and '-'")) });
    if (name === undefined) return undefined;
    const client = await ctx.connection.client();
    const fused = await withCancel(vscode.l10n.t("Fusing {0}…", job.name), (c, signal) => c.fuseJob(job.id, name.trim(), signal), client);
    void vscode.window.showInformationMessage(vscode.l10n.t("{0} is in the Models view: make a profile of it to serve it.", fused.repoId));
    return fused;
  },
};

/**
 * Fine-tune…: a model, a dataset from the workspace (one outside it only after a confirmation), the
 * main settings; then the dataset check, the exact command and mlx_lm.lora's configuration are
 * shown before the job is queued.
 */
export const fineTune: CommandDefinition = {
  id: "mlx.fineTune",
  async run(ctx) {
    const client = await ctx.connection.client();
    const models = ctx.state.models.filter((m) => m.format === "mlx" || m.format === "safetensors");
    if (models.length === 0) {
      void vscode.window.showInformationMessage(vscode.l10n.t("Fine-tuning needs an MLX model in the cache: download one first (Search Hugging Face)."));
      return undefined;
    }
    const model = await vscode.window.showQuickPick(models.map((m) => ({ label: m.id, description: m.format, model: m })), { title: vscode.l10n.t("Fine-tune which model?") });
    if (model === undefined) return undefined;
    const workspace = vscode.workspace.workspaceFolders?.[0]?.uri;
    const files = await vscode.window.showOpenDialog({ title: vscode.l10n.t("The training set (JSONL: chat, tools, completions or text)"), canSelectMany: false, filters: { JSONL: ["jsonl"] }, ...(workspace === undefined ? {} : { defaultUri: workspace }) });
    const file = files?.[0]?.fsPath;
    if (file === undefined) return undefined;
    const inside = (vscode.workspace.workspaceFolders ?? []).some((f) => !path.relative(f.uri.fsPath, file).startsWith(".."));
    if (!inside) {
      const go = vscode.l10n.t("Use It");
      const answer = await vscode.window.showWarningMessage(vscode.l10n.t("{0} is outside this workspace. Train on it anyway?", file), { modal: true }, go);
      if (answer !== go) return undefined;
    }
    const iters = await vscode.window.showInputBox({ title: vscode.l10n.t("Iterations"), value: "1000", validateInput: (v) => (/^\d+$/.test(v.trim()) && Number(v) > 0 ? undefined : vscode.l10n.t("A whole number above 0")) });
    if (iters === undefined) return undefined;
    const name = await vscode.window.showInputBox({ title: vscode.l10n.t("A name for the job"), value: `${model.label.split("/").pop() ?? "model"}-lora` });
    if (name === undefined || name.trim() === "") return undefined;
    const input: JobInput = { name: name.trim(), model: { source: "cache", repoId: model.model.id }, train: file, settings: { iters: Number(iters) } };
    const plan = await client.planJob(input);
    const d = plan.dataset;
    await ctx.reports.show(
      vscode.l10n.t("Plan of {0}", input.name),
      [
        `# ${vscode.l10n.t("Fine-tuning {0}", input.name)}`,
        "",
        vscode.l10n.t("Dataset: {0}, {1} training and {2} validation examples, about {3} tokens.", d.format, d.trainExamples, d.validExamples, d.tokens),
        "",
        "```sh",
        plan.command.join(" "),
        "```",
        "",
        "```json",
        JSON.stringify(plan.config, null, 2),
        "```",
        "",
      ].join("\n"),
    );
    const queue = vscode.l10n.t("Queue Job");
    if ((await vscode.window.showInformationMessage(vscode.l10n.t("Queue {0} as planned?", input.name), { modal: true }, queue)) !== queue) return undefined;
    return client.createJob(input);
  },
};
