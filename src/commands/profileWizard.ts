import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import * as vscode from "vscode";
import type { EngineInfo } from "../shared/engines";
import { formatMemory, type FitVerdict, type MemoryFit } from "../shared/memory";
import type { CachedModel } from "../shared/models";
import { ProfileName, type ProfileInput } from "../shared/profiles";
import type { ManagerState } from "../views/host/ManagerState";

/** What the multi-step Create Profile input answers: a profile, "edit as JSON" with a draft, or nothing. */
export type WizardResult = { kind: "create"; input: ProfileInput } | { kind: "json"; draft: ProfileInput } | undefined;

interface Draft {
  model?: { repoId: string; file?: string; format: CachedModel["format"] };
  engine?: EngineInfo;
  contextLength?: number;
  name?: string;
  port?: number | "auto";
  /** A distributed profile: the other Macs (ssh names), every rank's address (this Mac first), the Python on all. */
  hosts?: string[];
  addresses?: string[];
  python?: string;
}

/** This Mac's first external IPv4 address (what the other hosts most likely reach it at). */
function localAddress(): string | undefined {
  for (const list of Object.values(os.networkInterfaces())) for (const a of list ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  return undefined;
}

/** The Python that mlx.launch runs under (its script's #! line), else Homebrew's. */
function launchPython(): string {
  for (const dir of (process.env["PATH"] ?? "").split(path.delimiter)) {
    try {
      const first = fs.readFileSync(path.join(dir, "mlx.launch"), "utf8").split("\n", 1)[0] ?? "";
      const match = /^#!\s*(\/\S+python[\d.]*)\s*$/.exec(first);
      if (match?.[1] !== undefined) return match[1];
    } catch {
      // not in this folder
    }
  }
  return "/opt/homebrew/bin/python3";
}

/** "a, b ,c" → ["a", "b", "c"]. */
function commaList(value: string): string[] {
  return value.split(",").map((v) => v.trim()).filter((v) => v !== "");
}

const IP = /^(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9a-fA-F:]+:[0-9a-fA-F:]*)$/;

/** What a model would need on an engine at a context (the manager's estimate), or undefined when it cannot say. */
export type NeedEstimate = (model: NonNullable<Draft["model"]>, engine: EngineInfo, contextLength: number | undefined) => Promise<MemoryFit | undefined>;

function verdictText(verdict: FitVerdict): string {
  return verdict === "fits" ? vscode.l10n.t("fits") : verdict === "tight" ? vscode.l10n.t("tight") : vscode.l10n.t("does not fit");
}

/** "needs about 6.2 GB (…) of the 20.4 GB this machine can give a model: fits". */
export function describeFit(fit: MemoryFit): string {
  return vscode.l10n.t("needs about {0} of the {1} this machine can give a model: {2}", fit.summary, formatMemory(fit.usable.bytes), verdictText(fit.verdict));
}

type Step = (draft: Draft) => Promise<"next" | "back" | "json" | "cancel">;

const JSON_BUTTON: vscode.QuickInputButton = { iconPath: new vscode.ThemeIcon("json"), tooltip: vscode.l10n.t("Edit as JSON") };

/**
 * Model → engine (only those that serve its format, each with what the model needs in memory) →
 * context (for engines that take one, with the need as it is typed) → name → port, each step
 * validated inline.
 */
export async function profileWizard(state: ManagerState, defaultEngine: string, preselected?: CachedModel, estimate?: NeedEstimate): Promise<WizardResult> {
  const draft: Draft = preselected ? { model: modelChoice(preselected) } : {};
  const title = vscode.l10n.t("Create Profile");
  let movingBack = false;
  const steps: Step[] = [
    (d) => pickModel(d, state.models, title),
    (d) => pickEngine(d, state.engines, defaultEngine, title),
    (d) => enterContext(d, title),
    (d) => enterName(d, state, title),
    (d) => enterPort(d, state, title),
    (d) => enterHosts(d, title),
    (d) => enterAddresses(d, title),
    (d) => enterPython(d, title),
  ];
  let index = preselected ? 1 : 0;
  // A distributed engine has three more steps (its hosts); the others end with the port.
  let total = 5;
  while (index < steps.length) {
    const step = steps[index];
    if (!step) break;
    const outcome = await step(draft);
    if (outcome === "cancel") return undefined;
    if (outcome === "json") return { kind: "json", draft: toInput(draft) };
    movingBack = outcome === "back";
    index = outcome === "back" ? Math.max(0, index - 1) : index + 1;
  }
  return { kind: "create", input: toInput(draft) };

  function modelChoice(model: CachedModel): NonNullable<Draft["model"]> {
    const files = model.ggufFiles ?? [];
    return { repoId: model.id, format: model.format, ...(files.length === 1 && files[0] ? { file: files[0].path } : {}) };
  }

  async function pickModel(d: Draft, models: CachedModel[], t: string): Promise<"next" | "back" | "json" | "cancel"> {
    type Item = vscode.QuickPickItem & { choice: NonNullable<Draft["model"]> };
    const items: Item[] = [];
    for (const model of [...models].sort((a, b) => a.id.localeCompare(b.id))) {
      const files = model.ggufFiles ?? [];
      if (files.length > 1) {
        for (const file of files) items.push({ label: model.id, description: `${file.path} · ${file.quantization?.label ?? ""}`, choice: { repoId: model.id, file: file.path, format: model.format } });
      } else {
        const choice = modelChoice(model);
        items.push({ label: model.id, description: [model.format.toUpperCase(), model.quantization?.label].filter(Boolean).join(" · "), choice });
      }
    }
    const picked = await quickPick<Item>({ title: t, step: 1, total, placeholder: vscode.l10n.t("Which model should the profile serve?"), items, buttons: [JSON_BUTTON], back: false });
    if (typeof picked === "string") return picked;
    d.model = picked.choice;
    return "next";
  }

  async function pickEngine(d: Draft, engines: EngineInfo[], preferred: string, t: string): Promise<"next" | "back" | "json" | "cancel"> {
    const format = d.model?.format;
    const fitting = engines.filter((e) => format === undefined || e.formats.includes(format));
    const onAppleSilicon = process.platform === "darwin" && process.arch === "arm64";
    type Item = vscode.QuickPickItem & { engine: EngineInfo };
    const sorted = fitting.sort((a, b) => (a.id === preferred ? -1 : b.id === preferred ? 1 : 0));
    const model = d.model;
    // A distributed engine's need is per host and known once its hosts are: none shown here.
    const fits = model === undefined || estimate === undefined ? [] : await Promise.all(sorted.map((engine) => (engine.options.includes("distributed") ? Promise.resolve(undefined) : estimate(model, engine, undefined).catch(() => undefined))));
    const items: Item[] = sorted.map((engine, i) => {
      const formats = engine.formats.map((f) => f.toUpperCase()).join(", ");
      const base = engine.appleSiliconOnly && !onAppleSilicon ? vscode.l10n.t("Runs on Apple silicon only") : engine.options.includes("distributed") ? vscode.l10n.t("{0} · one model across several Macs, over ssh", formats) : formats;
      const fit = fits[i];
      return { label: engine.label, description: engine.id, detail: fit === undefined ? base : `${base} · ${describeFit(fit)}`, engine };
    });
    if (items.length === 0) {
      void vscode.window.showWarningMessage(vscode.l10n.t("No engine can serve {0} models.", format ?? "these"));
      return "back";
    }
    const picked = await quickPick<Item>({ title: t, step: 2, total, placeholder: vscode.l10n.t("Which engine should run it? (only those that serve {0})", (format ?? "").toUpperCase()), items, buttons: [JSON_BUTTON], back: true });
    if (typeof picked === "string") return picked;
    d.engine = picked.engine;
    total = distributed(d) ? 8 : 5;
    return "next";
  }

  function distributed(d: Draft): boolean {
    return d.engine?.options.includes("distributed") === true;
  }

  async function enterHosts(d: Draft, t: string): Promise<"next" | "back" | "json" | "cancel"> {
    if (!distributed(d)) return movingBack ? "back" : "next";
    const answer = await inputBox({
      title: t,
      step: 6,
      total,
      prompt: vscode.l10n.t("The other Macs, as ssh reaches them without a password (names or ~/.ssh/config aliases, comma-separated, in rank order). This Mac is rank 0."),
      value: (d.hosts ?? []).join(", "),
      validate: (value) => {
        const hosts = commaList(value);
        if (hosts.length === 0) return vscode.l10n.t("Name at least one other Mac");
        const bad = hosts.find((h) => !/^[^-\s@][^\s@]*$/.test(h));
        return bad === undefined ? undefined : vscode.l10n.t("\"{0}\" is not a host name ssh takes (no spaces, no '@', not starting with '-')", bad);
      },
    });
    if (answer === "back" || answer === "cancel" || answer === "json") return answer;
    d.hosts = commaList(answer.value);
    return "next";
  }

  async function enterAddresses(d: Draft, t: string): Promise<"next" | "back" | "json" | "cancel"> {
    if (!distributed(d)) return movingBack ? "back" : "next";
    const count = (d.hosts ?? []).length + 1;
    const answer = await inputBox({
      title: t,
      step: 7,
      total,
      prompt: vscode.l10n.t("The IP address each rank is reached at over the link between the Macs (Thunderbolt or Ethernet): this Mac first, then {0}, comma-separated. `mlx.distributed_config --over thunderbolt` finds them.", (d.hosts ?? []).join(", ")),
      value: (d.addresses ?? [localAddress() ?? ""]).join(", "),
      validate: (value) => {
        const ips = commaList(value);
        if (ips.length !== count) return vscode.l10n.t("Give {0} addresses: this Mac and each of the other {1}", count, count - 1);
        const bad = ips.find((a) => !IP.test(a));
        return bad === undefined ? undefined : vscode.l10n.t("\"{0}\" is not an IP address", bad);
      },
    });
    if (answer === "back" || answer === "cancel" || answer === "json") return answer;
    d.addresses = commaList(answer.value);
    return "next";
  }

  async function enterPython(d: Draft, t: string): Promise<"next" | "back" | "json" | "cancel"> {
    if (!distributed(d)) return movingBack ? "back" : "next";
    const answer = await inputBox({
      title: t,
      step: 8,
      total,
      prompt: vscode.l10n.t("The Python that has mlx and mlx-lm, at the same path on every Mac (mlx.launch runs one command on all of them)"),
      value: d.python ?? launchPython(),
      validate: (value) => (value.trim().startsWith("/") ? undefined : vscode.l10n.t("An absolute path, e.g. /opt/homebrew/bin/python3")),
    });
    if (answer === "back" || answer === "cancel" || answer === "json") return answer;
    d.python = answer.value.trim();
    return "next";
  }

  async function enterContext(d: Draft, t: string): Promise<"next" | "back" | "json" | "cancel"> {
    const engine = d.engine;
    const model = d.model;
    // Engines without a context option (mlx_lm.server) pass this step by.
    if (engine === undefined || model === undefined || !engine.options.includes("contextLength")) return movingBack ? "back" : "next";
    const first = estimate === undefined ? undefined : await estimate(model, engine, d.contextLength).catch(() => undefined);
    const parse = (value: string): number | undefined => (/^\d+$/.test(value.trim()) ? Number(value.trim()) : undefined);
    const answer = await inputBox({
      title: t,
      step: 3,
      total,
      prompt: first === undefined ? vscode.l10n.t("Context length in tokens (empty: the engine's default)") : vscode.l10n.t("Context length in tokens. At {0} the model {1}", first.need.context.toLocaleString(), describeFit(first)),
      value: d.contextLength === undefined ? (first === undefined ? "" : String(first.need.context)) : String(d.contextLength),
      validate: (value) => {
        if (value.trim() === "") return undefined;
        const n = parse(value);
        if (n === undefined || n < 128 || n > 10_000_000) return vscode.l10n.t("A number of tokens from 128 to 10,000,000");
        return undefined;
      },
      ...(estimate === undefined
        ? {}
        : {
            describe: async (value: string) => {
              const n = parse(value);
              if (value.trim() !== "" && (n === undefined || n < 128)) return undefined;
              const fit = await estimate(model, engine, n).catch(() => undefined);
              return fit === undefined ? undefined : vscode.l10n.t("Context length in tokens. At {0} the model {1}", fit.need.context.toLocaleString(), describeFit(fit));
            },
          }),
    });
    if (answer === "back" || answer === "cancel" || answer === "json") return answer;
    const n = parse(answer.value);
    if (n === undefined) delete d.contextLength;
    else d.contextLength = n;
    return "next";
  }

  async function enterName(d: Draft, s: ManagerState, t: string): Promise<"next" | "back" | "json" | "cancel"> {
    const base = (d.model?.repoId.split("/").pop() ?? "profile").replace(/[^\p{L}\p{N} ._-]/gu, "-").slice(0, 40);
    const suggestion = d.name ?? uniqueName(`${base}${d.engine ? `-${d.engine.id}` : ""}`, s);
    const answer = await inputBox({
      title: t,
      step: 4,
      total,
      prompt: vscode.l10n.t("A name for the profile (it is also the model name clients send to /v1)"),
      value: suggestion,
      validate: (value) => {
        const parsed = ProfileName.safeParse(value);
        if (!parsed.success) return parsed.error.issues[0]?.message;
        if (s.profiles.some((p) => p.name.toLowerCase() === value.trim().toLowerCase())) return vscode.l10n.t("Another profile is called \"{0}\"", value.trim());
        return undefined;
      },
    });
    if (answer === "back" || answer === "cancel" || answer === "json") return answer;
    d.name = answer.value.trim();
    return "next";
  }

  async function enterPort(d: Draft, s: ManagerState, t: string): Promise<"next" | "back" | "json" | "cancel"> {
    const answer = await inputBox({
      title: t,
      step: 5,
      total,
      prompt: vscode.l10n.t("Port on 127.0.0.1: a number from 1024 to 65535, or \"auto\" for any free port at start"),
      value: d.port === undefined ? "auto" : String(d.port),
      validate: (value) => {
        const v = value.trim();
        if (v === "auto") return undefined;
        if (!/^\d+$/.test(v)) return vscode.l10n.t("Enter a number or \"auto\"");
        const port = Number(v);
        if (port < 1024) return vscode.l10n.t("Ports below 1024 need root: use 1024-65535");
        if (port > 65535) return vscode.l10n.t("Ports go up to 65535");
        const holder = s.profiles.find((p) => p.port === port);
        if (holder) return vscode.l10n.t("The profile \"{0}\" already uses port {1}", holder.name, port);
        return undefined;
      },
    });
    if (answer === "back" || answer === "cancel" || answer === "json") return answer;
    d.port = answer.value.trim() === "auto" ? "auto" : Number(answer.value.trim());
    return "next";
  }

  function toInput(d: Draft): ProfileInput {
    return {
      name: d.name ?? "",
      engine: d.engine?.id ?? "llama",
      model: { source: "cache", repoId: d.model?.repoId ?? "", ...(d.model?.file ? { file: d.model.file } : {}) },
      port: d.port ?? "auto",
      options: {
        ...(d.contextLength === undefined ? {} : { contextLength: d.contextLength }),
        ...(distributed(d)
          ? {
              distributed: {
                python: d.python ?? launchPython(),
                local: { ips: d.addresses?.[0] === undefined ? [] : [d.addresses[0]] },
                hosts: (d.hosts ?? []).map((ssh, i) => ({ ssh, ips: d.addresses?.[i + 1] === undefined ? [] : [d.addresses[i + 1] ?? ""] })),
              },
            }
          : {}),
      },
    };
  }
}

function uniqueName(base: string, state: ManagerState): string {
  const taken = new Set(state.profiles.map((p) => p.name.toLowerCase()));
  if (!taken.has(base.toLowerCase())) return base;
  for (let i = 2; ; i++) if (!taken.has(`${base}-${i}`.toLowerCase())) return `${base}-${i}`;
}

async function quickPick<T extends vscode.QuickPickItem>(options: { title: string; step: number; total: number; placeholder: string; items: T[]; buttons: vscode.QuickInputButton[]; back: boolean }): Promise<T | "back" | "json" | "cancel"> {
  const pick = vscode.window.createQuickPick<T>();
  pick.title = options.title;
  pick.step = options.step;
  pick.totalSteps = options.total;
  pick.placeholder = options.placeholder;
  pick.items = options.items;
  pick.ignoreFocusOut = true;
  pick.buttons = [...(options.back ? [vscode.QuickInputButtons.Back] : []), ...options.buttons];
  try {
    return await new Promise<T | "back" | "json" | "cancel">((resolve) => {
      pick.onDidAccept(() => {
        const [selected] = pick.selectedItems;
        if (selected) resolve(selected);
      });
      pick.onDidTriggerButton((button) => { resolve(button === vscode.QuickInputButtons.Back ? "back" : "json"); });
      pick.onDidHide(() => { resolve("cancel"); });
      pick.show();
    });
  } finally {
    pick.dispose();
  }
}

async function inputBox(options: {
  title: string;
  step: number;
  total: number;
  prompt: string;
  value: string;
  validate: (value: string) => string | undefined;
  /** A new prompt for what is typed (the memory a context needs), asked a moment after typing stops. */
  describe?: (value: string) => Promise<string | undefined>;
}): Promise<{ value: string } | "back" | "json" | "cancel"> {
  const box = vscode.window.createInputBox();
  box.title = options.title;
  box.step = options.step;
  box.totalSteps = options.total;
  box.prompt = options.prompt;
  box.value = options.value;
  box.ignoreFocusOut = true;
  box.buttons = [vscode.QuickInputButtons.Back, JSON_BUTTON];
  box.validationMessage = options.validate(options.value);
  try {
    return await new Promise<{ value: string } | "back" | "json" | "cancel">((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      let asked = 0;
      box.onDidChangeValue((value) => {
        box.validationMessage = options.validate(value);
        const describe = options.describe;
        if (describe === undefined) return;
        clearTimeout(timer);
        timer = setTimeout(() => {
          const ask = ++asked;
          void describe(value).then((prompt) => {
            if (ask === asked && prompt !== undefined) box.prompt = prompt;
          });
        }, 300);
      });
      box.onDidAccept(() => {
        const message = options.validate(box.value);
        box.validationMessage = message;
        if (message === undefined) resolve({ value: box.value });
      });
      box.onDidTriggerButton((button) => { resolve(button === vscode.QuickInputButtons.Back ? "back" : "json"); });
      box.onDidHide(() => { resolve("cancel"); });
      box.show();
    });
  } finally {
    box.dispose();
  }
}
