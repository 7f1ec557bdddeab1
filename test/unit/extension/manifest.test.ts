// The manifest and the code agree: every contributed command is registered, every registered
// command is contributed, menus name real commands, every %string% has an English text, and
// package.json's contributes is what scripts/manifest/contributes.mjs generates.
// (The in-host suite checks the same against the live command registry of a real VS Code.)
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { buildProfileSchema, PROFILE_SCHEMA_FILE } from "../../../scripts/manifest/profile-schema";

const ROOT = path.resolve(__dirname, "..", "..", "..");
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
  contributes: { commands: { command: string; category: string }[]; menus: Record<string, { command: string }[]>; viewsWelcome: { contents: string }[] };
};
const nls = JSON.parse(fs.readFileSync(path.join(ROOT, "package.nls.json"), "utf8")) as Record<string, string>;

/** Command ids the extension registers: each command file's `id`, listed in src/commands/index.ts. */
function registeredCommands(): string[] {
  const dir = path.join(ROOT, "src", "commands");
  const index = fs.readFileSync(path.join(dir, "index.ts"), "utf8");
  const listed = /COMMANDS[^=]*=\s*\[([^\]]*)\]/.exec(index)?.[1]?.split(",").map((s) => s.trim()).filter(Boolean) ?? [];
  const ids: string[] = [];
  for (const file of fs.readdirSync(dir)) {
    const text = fs.readFileSync(path.join(dir, file), "utf8");
    for (const match of text.matchAll(/export const (\w+): CommandDefinition = \{\s*id: "([^"]+)"/g)) {
      assert.ok(listed.includes(match[1]!), `${file}: ${match[1]} is not in COMMANDS (src/commands/index.ts)`);
      ids.push(match[2]!);
    }
  }
  assert.equal(ids.length, listed.length, "every entry of COMMANDS is a CommandDefinition in src/commands");
  return ids.sort();
}

describe("extension manifest", () => {
  it("contributes exactly the registered commands, all in category MLX", () => {
    const contributed = pkg.contributes.commands.map((c) => c.command).sort();
    assert.deepEqual(contributed, registeredCommands());
    for (const command of pkg.contributes.commands) assert.equal(command.category, "MLX", command.command);
  });

  it("menus and welcome-view links name contributed commands", () => {
    const known = new Set(pkg.contributes.commands.map((c) => c.command));
    for (const [menu, entries] of Object.entries(pkg.contributes.menus)) {
      for (const entry of entries) assert.ok(known.has(entry.command), `${menu}: ${entry.command}`);
    }
    for (const welcome of pkg.contributes.viewsWelcome) {
      const text = nls[welcome.contents.slice(1, -1)] ?? "";
      for (const link of text.matchAll(/\(command:([\w.]+)\)/g)) assert.ok(known.has(link[1]!), link[1]);
    }
  });

  it("has an English text for every %key% of package.json", () => {
    const keys = [...fs.readFileSync(path.join(ROOT, "package.json"), "utf8").matchAll(/"%([\w.]+)%"/g)].map((m) => m[1]!);
    assert.ok(keys.length > 30);
    for (const key of keys) assert.ok(nls[key], `package.nls.json lacks ${key}`);
  });

  it("ships an up-to-date English l10n bundle of every vscode.l10n.t string", async () => {
    const l10n = (await import(pathToFileURL(path.join(ROOT, "scripts", "manifest", "l10n.mjs")).href)) as { collectStrings(): Record<string, string> };
    const bundle = JSON.parse(fs.readFileSync(path.join(ROOT, "l10n", "bundle.l10n.json"), "utf8")) as Record<string, string>;
    assert.deepEqual(bundle, l10n.collectStrings(), "run: node scripts/manifest/l10n.mjs");
  });

  it("ships the profile editor's JSON schema as scripts/manifest/profile-schema.ts makes it from the profile schema and the engines", () => {
    const generator = { PROFILE_SCHEMA_FILE, buildProfileSchema };
    const shipped = JSON.parse(fs.readFileSync(generator.PROFILE_SCHEMA_FILE, "utf8")) as Record<string, unknown>;
    assert.deepEqual(shipped, generator.buildProfileSchema(), "run: npx tsx scripts/manifest/profile-schema.ts");
    const options = (shipped["properties"] as { options: { properties: Record<string, { description?: string }> } }).options.properties;
    assert.match(options["toolCallParser"]?.description ?? "", /mlx-openai-server \(--tool-call-parser\)/);
    assert.match(options["maxTokens"]?.description ?? "", /llama-server \("max_tokens" in each request\)/);
  });

  it("is what scripts/manifest/contributes.mjs generates", async () => {
    const generator = (await import(pathToFileURL(path.join(ROOT, "scripts", "manifest", "contributes.mjs")).href)) as { contributes: unknown };
    assert.deepEqual(pkg.contributes, JSON.parse(JSON.stringify(generator.contributes)), "run: node scripts/manifest/contributes.mjs");
  });
});
