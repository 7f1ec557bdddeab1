import path from "node:path";
import * as vscode from "vscode";
import type * as z from "zod";
import { LoraSettings, type Job, type JobInput } from "../shared/jobs";
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
    const name = await vscode.window.showInputBox({ title: vscode.l10n.t("A name for the job"), value: `${model.label.split("/").pop() ?? "model"}-lora` });
    if (name === undefined || name.trim() === "") return undefined;
    const settings = await pickSettings(file);
    if (settings === undefined) return undefined;
    const input: JobInput = { name: name.trim(), model: { source: "cache", repoId: model.model.id }, train: file, ...(settings.valid === undefined ? {} : { valid: settings.valid }), settings: settings.lora };
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

type Settings = z.output<typeof LoraSettings>;
type NumberSetting = "iters" | "batch_size" | "learning_rate" | "num_layers" | "max_seq_length";

/** The numbers Fine-tune… offers, with mlx_lm.lora's names, checked as the manager checks them. */
const NUMBERS: { key: NumberSetting; label: () => string; hint: () => string; integer: boolean }[] = [
  { key: "iters", label: () => vscode.l10n.t("Iterations"), hint: () => vscode.l10n.t("Training steps (--iters)"), integer: true },
  { key: "batch_size", label: () => vscode.l10n.t("Batch size"), hint: () => vscode.l10n.t("Examples per step (--batch-size); lower it when memory runs short"), integer: true },
  { key: "learning_rate", label: () => vscode.l10n.t("Learning rate"), hint: () => vscode.l10n.t("Adam's step size (--learning-rate), e.g. 1e-5"), integer: false },
  { key: "num_layers", label: () => vscode.l10n.t("Layers to fine-tune"), hint: () => vscode.l10n.t("From the top (--num-layers); -1 for all"), integer: true },
  { key: "max_seq_length", label: () => vscode.l10n.t("Max sequence length"), hint: () => vscode.l10n.t("Longer examples are cut (--max-seq-length)"), integer: true },
];

interface SettingItem extends vscode.QuickPickItem {
  action: "queue" | "valid" | "type" | "rank" | "mask" | "checkpoint" | NumberSetting;
}

/**
 * The job's settings as one list, mlx_lm.lora's defaults filled in: pick a line to change it, or
 * go on to the plan. Undefined when the user backs out.
 */
async function pickSettings(train: string): Promise<{ lora: Settings; valid?: string } | undefined> {
  const lora: Settings = LoraSettings.parse({});
  let valid: string | undefined;
  const onOff = (on: boolean): string => (on ? vscode.l10n.t("on") : vscode.l10n.t("off"));
  for (;;) {
    const items: SettingItem[] = [
      { action: "queue", label: `$(check) ${vscode.l10n.t("Review the Plan and Queue…")}`, alwaysShow: true },
      { action: "queue", label: "", kind: vscode.QuickPickItemKind.Separator },
      ...NUMBERS.map((n): SettingItem => ({ action: n.key, label: n.label(), description: settingText(lora[n.key]), detail: n.hint() })),
      { action: "type", label: vscode.l10n.t("Fine-tune type"), description: lora.fine_tune_type, detail: vscode.l10n.t("lora, dora, or full (every weight: far more memory)") },
      ...(lora.fine_tune_type === "full" ? [] : [{ action: "rank" as const, label: vscode.l10n.t("Adapter rank"), description: String(lora.lora_parameters.rank), detail: vscode.l10n.t("lora_parameters.rank in the config (scale {0}, dropout {1})", lora.lora_parameters.scale, lora.lora_parameters.dropout) }]),
      { action: "mask", label: vscode.l10n.t("Mask the prompt"), description: onOff(lora.mask_prompt), detail: vscode.l10n.t("Train on the answers only (--mask-prompt; not for text datasets)") },
      { action: "checkpoint", label: vscode.l10n.t("Gradient checkpointing"), description: onOff(lora.grad_checkpoint), detail: vscode.l10n.t("Less memory, slower steps (--grad-checkpoint)") },
      { action: "valid", label: vscode.l10n.t("Validation set"), description: valid === undefined ? vscode.l10n.t("a tenth of {0}, set apart", path.basename(train)) : path.basename(valid), detail: vscode.l10n.t("A JSONL file of the same format, or none to set part of the training set apart") },
    ];
    const picked = await vscode.window.showQuickPick(items, { title: vscode.l10n.t("Fine-tuning settings (mlx_lm.lora's names and defaults): pick one to change it"), matchOnDetail: true });
    if (picked === undefined) return undefined;
    switch (picked.action) {
      case "queue":
        return { lora, ...(valid === undefined ? {} : { valid }) };
      case "type": {
        const type = await vscode.window.showQuickPick(["lora", "dora", "full"], { title: vscode.l10n.t("Fine-tune type") });
        if (type === "lora" || type === "dora" || type === "full") lora.fine_tune_type = type;
        break;
      }
      case "rank": {
        const rank = await askNumber(vscode.l10n.t("Adapter rank"), lora.lora_parameters.rank, true, (v) => LoraSettings.shape.lora_parameters.unwrap().shape.rank.safeParse(v).success);
        if (rank !== undefined) lora.lora_parameters = { ...lora.lora_parameters, rank };
        break;
      }
      case "mask":
        lora.mask_prompt = !lora.mask_prompt;
        break;
      case "checkpoint":
        lora.grad_checkpoint = !lora.grad_checkpoint;
        break;
      case "valid": {
        const files = await vscode.window.showOpenDialog({ title: vscode.l10n.t("The validation set (JSONL); cancel to set part of the training set apart"), canSelectMany: false, filters: { JSONL: ["jsonl"] }, defaultUri: vscode.Uri.file(path.dirname(train)) });
        valid = files?.[0]?.fsPath;
        break;
      }
      default: {
        const setting = NUMBERS.find((n) => n.key === picked.action);
        if (setting === undefined) break;
        const value = await askNumber(setting.label(), lora[setting.key], setting.integer, (v) => LoraSettings.shape[setting.key].safeParse(v).success);
        if (value !== undefined) lora[setting.key] = value;
        break;
      }
    }
  }
}

/** A setting as mlx_lm.lora's users write it: 1e-05, not 0.00001. */
function settingText(value: number): string {
  return value > 0 && value < 0.001 ? value.toExponential() : String(value);
}

async function askNumber(title: string, current: number, integer: boolean, valid: (value: number) => boolean): Promise<number | undefined> {
  const parse = (text: string): number | undefined => {
    const trimmed = text.trim();
    if (!/^-?(\d+\.?\d*|\.\d+)(e-?\d+)?$/i.test(trimmed)) return undefined;
    const value = Number(trimmed);
    return Number.isFinite(value) && (!integer || Number.isInteger(value)) && valid(value) ? value : undefined;
  };
  const text = await vscode.window.showInputBox({ title, value: settingText(current), validateInput: (v) => (parse(v) === undefined ? (integer ? vscode.l10n.t("A whole number in the range mlx_lm.lora takes") : vscode.l10n.t("A number in the range mlx_lm.lora takes")) : undefined) });
  return text === undefined ? undefined : parse(text);
}
