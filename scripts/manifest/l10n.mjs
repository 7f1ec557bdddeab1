// Collects every vscode.l10n.t("...") string of the extension host into l10n/bundle.l10n.json,
// the English bundle translators copy to bundle.l10n.<locale>.json. Run after changing strings
// (test/unit/extension/manifest.test.ts fails when the bundle is stale).
import { readdirSync, readFileSync, statSync, writeFileSync, mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

function* sources(dir) {
  for (const name of readdirSync(dir)) {
    const file = path.join(dir, name);
    if (statSync(file).isDirectory()) yield* sources(file);
    else if (name.endsWith(".ts")) yield file;
  }
}

export function collectStrings() {
  const strings = new Set();
  const files = [path.join(root, "src", "extension.ts"), ...sources(path.join(root, "src", "views")), ...sources(path.join(root, "src", "commands"))];
  for (const file of files) {
    const text = readFileSync(file, "utf8");
    for (const match of text.matchAll(/vscode\.l10n\.t\(\s*"((?:[^"\\]|\\.)*)"/g)) strings.add(JSON.parse(`"${match[1]}"`));
  }
  return Object.fromEntries([...strings].sort().map((s) => [s, s]));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  mkdirSync(path.join(root, "l10n"), { recursive: true });
  const bundle = collectStrings();
  writeFileSync(path.join(root, "l10n", "bundle.l10n.json"), `${JSON.stringify(bundle, null, 2)}\n`);
  process.stdout.write(`wrote ${Object.keys(bundle).length} strings\n`);
}
