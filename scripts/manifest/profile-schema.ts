// The JSON schema of a profile as the profile editor shows it ("Edit as JSON": completion, hover and
// checks as you type, for every option of every engine), made from the zod schema the manager
// validates with and the engine descriptions (which engine takes an option, and as which flag).
// Writes media/schemas/mlx-profile.schema.json:  npx tsx scripts/manifest/profile-schema.ts
import fs from "node:fs";
import path from "node:path";
import { z } from "zod";
import { ENGINES } from "../../src/services/engines/registry";
import { DistributedOptions } from "../../src/shared/distributed";
import type { EngineOptionName } from "../../src/shared/engines";
import { ProfileInput, type ProfileOptions } from "../../src/shared/profiles";

export const PROFILE_SCHEMA_FILE = path.join(__dirname, "..", "..", "media", "schemas", "mlx-profile.schema.json");

/** "mlx-lm (--num-draft-tokens), mlx-openai-server (--num-draft-tokens)": what each engine makes of an option. */
function takenBy(name: EngineOptionName, sample: unknown): string {
  const uses: string[] = [];
  for (const engine of Object.values(ENGINES)) {
    if (!engine.options.includes(name)) continue;
    if (!engine.runsHere) {
      uses.push(`${engine.id} (the gateway's own)`);
      continue;
    }
    // A distributed profile always has its hosts: the other options are added to that.
    const baseline: ProfileOptions = engine.options.includes("distributed") ? { distributed: DISTRIBUTED_SAMPLE } : {};
    const build = (options: ProfileOptions): string[] => engine.buildCommand({ modelPath: "/m", port: 1, alias: "a", options: { ...baseline, ...options }, nodePath: "", llamaScript: "", profileId: "p", filesDir: "/run" }, engine.executable).args;
    const base = new Set(build({}));
    const added = build({ [name]: sample }).filter((arg) => arg.startsWith("-") && !base.has(arg));
    const perRequest = Object.keys(engine.requestFields?.({ [name]: sample }) ?? {});
    const how = [...added, ...perRequest.map((field) => `"${field}" in each request`)];
    uses.push(how.length > 0 ? `${engine.id} (${how.join(", ")})` : engine.id);
  }
  return uses.length > 0 ? `Engines that take it: ${uses.join("; ")}.` : "";
}

const DISTRIBUTED_SAMPLE = DistributedOptions.parse({ python: "/opt/homebrew/bin/python3", local: { ips: ["10.0.0.1"] }, hosts: [{ ssh: "studio", ips: ["10.0.0.2"] }], pipeline: true });

const SAMPLES: Partial<Record<EngineOptionName, unknown>> = {
  distributed: DISTRIBUTED_SAMPLE,
  chatTemplateArgs: { x: 1 },
  gpuLayers: 1,
  jinja: true,
  modelType: "multimodal",
  extraArgs: ["--x"],
  env: { X: "1" },
};

export function buildProfileSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(ProfileInput, { io: "input", unrepresentable: "any" });
  const properties = (schema["properties"] ?? {}) as Record<string, Record<string, unknown>>;
  const options = properties["options"] as { properties: Record<string, Record<string, unknown>> };
  for (const [name, option] of Object.entries(options.properties)) {
    const choices: unknown = option["enum"];
    const sample: unknown = SAMPLES[name as EngineOptionName] ?? (option["type"] === "boolean" ? true : option["type"] === "string" ? (Array.isArray(choices) ? (choices[0] as unknown) : "/x") : 2);
    const description = name === "distributed" ? "Engines that take it: mlx-distributed (the other Macs go in mlx.launch's --hostfile; backend is its --backend, startingPort its --starting-port, pipeline mlx_lm's --pipeline; python runs `-m mlx_lm server` on every host)." : takenBy(name as EngineOptionName, sample);
    if (description) option["description"] = description;
  }
  return {
    ...schema,
    title: "MLX Model Manager profile",
    description: "A server profile: the engine, the model and the options the engine is started with. Saving writes it to the manager, which checks it again.",
    properties: { $schema: { type: "string" }, ...properties },
  };
}

if (require.main === module) {
  fs.writeFileSync(PROFILE_SCHEMA_FILE, `${JSON.stringify(buildProfileSchema(), null, 2)}\n`);
  process.stdout.write(`wrote ${path.relative(process.cwd(), PROFILE_SCHEMA_FILE)}\n`);
}
