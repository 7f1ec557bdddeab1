// Localisable text: every text VS Code shows from the manifest is a %key% of package.nls.json,
// and the extension host's own text reaches the user through vscode.l10n.t with a literal
// (which scripts/manifest/l10n.mjs collects into l10n/bundle.l10n.json). The source check reads
// the places text is shown — messages, quick picks and input boxes, tree items, the status bar,
// panel and channel titles — and flags a plain string literal with words in it. Product and
// program names (MLX, curl), codicons and ${...} values are not words to translate.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";

const ROOT = path.resolve(__dirname, "..", "..", "..");
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { displayName: string; description: string; contributes: unknown };

function* sources(dir: string): Generator<string> {
  for (const name of fs.readdirSync(dir)) {
    const file = path.join(dir, name);
    if (fs.statSync(file).isDirectory()) yield* sources(file);
    else if (name.endsWith(".ts")) yield file;
  }
}
const HOST_SOURCES = [path.join(ROOT, "src", "extension.ts"), ...sources(path.join(ROOT, "src", "views")), ...sources(path.join(ROOT, "src", "commands"))];

const LITERAL = String.raw`(["'\x60])((?:(?!\1)[^\\]|\\.)*)\1`;
const SHOWN = [
  String.raw`\.show(?:Information|Warning|Error)Message\(\s*`,
  String.raw`createWebviewPanel\([^,]+,\s*`,
  String.raw`createOutputChannel\(\s*`,
  String.raw`createTerminal\(\s*`,
  String.raw`\b(?:title|placeHolder|placeholder|prompt|tooltip|detail|description|label|message|name|validationMessage)\s*:\s*`,
  String.raw`\.(?:text|tooltip|description|label|title|message)\s*=\s*`,
].map((prefix) => new RegExp(prefix + LITERAL, "g"));

/** Whether a literal holds words a translator would translate. */
function hasWords(text: string): boolean {
  if (/^[a-z0-9_.:/-]*$/.test(text)) return false; // an id, a key, a path
  const rest = text
    .replace(/\$\{[^}]*\}/g, " ")
    .replace(/\$\([\w-]+\)/g, " ")
    .replace(/MLX Model Manager|MLX|curl/g, " ");
  return /[A-Za-z]{2,}/.test(rest);
}

describe("localisable strings", () => {
  it("the manifest shows only %keys% of package.nls.json", () => {
    const TEXT = new Set(["title", "description", "contents", "name", "markdownDescription", "contextualTitle", "label", "altText", "placeholder", "enumDescriptions", "markdownEnumDescriptions"]);
    const raw: string[] = [];
    const visit = (value: unknown, where: string, key: string): void => {
      if (typeof value === "string") {
        if (TEXT.has(key) && !/^%[\w.]+%$/.test(value)) raw.push(`${where}: ${value}`);
      } else if (Array.isArray(value)) value.forEach((v, i) => { visit(v, `${where}[${i}]`, key); });
      else if (typeof value === "object" && value !== null) for (const [k, v] of Object.entries(value)) visit(v, `${where}.${k}`, k);
    };
    visit(pkg.contributes, "contributes", "");
    visit({ displayName: pkg.displayName, description: pkg.description }, "package", "");
    assert.deepEqual(raw, [], "give these a key in scripts/manifest/contributes.mjs (t(key, text))");
    assert.equal(pkg.displayName, "%displayName%");
  });

  it("the extension host shows text through vscode.l10n.t, never a plain literal", () => {
    const found: string[] = [];
    for (const file of HOST_SOURCES) {
      const text = fs.readFileSync(file, "utf8");
      for (const pattern of SHOWN) {
        for (const match of text.matchAll(pattern)) {
          if (hasWords(match[2]!)) found.push(`${path.relative(ROOT, file)}:${text.slice(0, match.index).split("\n").length} ${match[2]!}`);
        }
      }
    }
    assert.ok(HOST_SOURCES.length > 20);
    assert.deepEqual(found, [], "wrap these in vscode.l10n.t(...) and run node scripts/manifest/l10n.mjs");
  });

  it("passes vscode.l10n.t a double-quoted literal, so the English bundle collects it", () => {
    const bad: string[] = [];
    for (const file of HOST_SOURCES) {
      const text = fs.readFileSync(file, "utf8");
      for (const match of text.matchAll(/vscode\.l10n\.t\(\s*([^\s])/g)) {
        if (match[1] !== '"') bad.push(`${path.relative(ROOT, file)}:${text.slice(0, match.index).split("\n").length}`);
      }
    }
    assert.deepEqual(bad, []);
  });

  it("flags words but not ids, codicons, values or product names", () => {
    assert.equal(hasWords("MLX Dashboard"), true);
    assert.equal(hasWords("Start ${name}"), true);
    assert.equal(hasWords("MLX · ${profile.name}"), false);
    assert.equal(hasWords("$(cloud-download) ${n}"), false);
    assert.equal(hasWords("mlx.models"), false);
    assert.equal(hasWords("MLX Model Manager"), false);
  });
});
