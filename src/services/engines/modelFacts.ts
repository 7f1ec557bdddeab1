import fs from "node:fs";
import path from "node:path";

/** What a model's own files say about what it can do, for the capabilities a profile claims. */
export interface ModelFacts {
  /** The chat template uses `tools`: the model was trained to call them. */
  templateTakesTools?: boolean;
  /** The context it was trained for (`max_position_embeddings`, or that of its text model). */
  contextLength?: number;
  /** config.json has a vision tower (`vision_config`). */
  vision?: boolean;
}

const known = new Map<string, { stamp: string; facts: ModelFacts }>();

function readJson(file: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(fs.readFileSync(file, "utf8"));
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function positiveInt(value: unknown): number | undefined {
  return typeof value === "number" && Number.isInteger(value) && value > 0 ? value : undefined;
}

/** The chat template as transformers finds it: chat_template.jinja, chat_template.json, or tokenizer_config.json (a string or named templates). */
function chatTemplate(dir: string): string | undefined {
  try {
    return fs.readFileSync(path.join(dir, "chat_template.jinja"), "utf8");
  } catch {
    // Older layouts below.
  }
  for (const file of ["chat_template.json", "tokenizer_config.json"]) {
    const template = readJson(path.join(dir, file))?.["chat_template"];
    if (typeof template === "string") return template;
    if (Array.isArray(template))
      return template.map((t: unknown) => (typeof t === "object" && t !== null && typeof (t as { template?: unknown }).template === "string" ? (t as { template: string }).template : "")).join("\n");
  }
  return undefined;
}

/** Facts of an MLX/safetensors model folder (a .gguf file says none here), read once per folder until its config changes. */
export function readModelFacts(modelPath: string): ModelFacts {
  let stamp: string;
  try {
    const stat = fs.statSync(path.join(modelPath, "config.json"));
    stamp = `${stat.mtimeMs}:${stat.size}`;
  } catch {
    return {};
  }
  const cached = known.get(modelPath);
  if (cached?.stamp === stamp) return cached.facts;
  const config = readJson(path.join(modelPath, "config.json")) ?? {};
  const text = config["text_config"];
  const textConfig = typeof text === "object" && text !== null ? (text as Record<string, unknown>) : {};
  const facts: ModelFacts = {};
  const context = positiveInt(config["max_position_embeddings"]) ?? positiveInt(textConfig["max_position_embeddings"]);
  if (context !== undefined) facts.contextLength = context;
  if ("vision_config" in config) facts.vision = true;
  const template = chatTemplate(modelPath);
  if (template !== undefined) facts.templateTakesTools = /\btools\b/.test(template);
  known.set(modelPath, { stamp, facts });
  return facts;
}
