// Codex's config.toml edited as "MLX: Use a Local Model in Codex…" does it: the user's comments and
// settings kept as written, the result read back by a TOML parser, and the undo putting back what
// was there — or leaving alone what the user changed since.
import assert from "node:assert/strict";
import { parse } from "smol-toml";
import { applyCodexConfig, CodexConfigError, describeCodexConfig, undoCodexConfig } from "../../../src/commands/codexConfig";

const INPUT = { baseUrl: "http://127.0.0.1:8471/v1", gatewayKey: "mlxgw_secret_key_1234", model: "coder" };
const FILE = "/home/u/.codex/config.toml";

const USERS = `# My Codex settings
model = "gpt-5.5"   # the default
approval_policy = "on-request"

[model_providers.other]
name = "Other"
base_url = "http://other/v1"

[tui]
notifications = true
`;

const plain = (text: string): unknown => JSON.parse(JSON.stringify(parse(text)));

describe("Codex's config, as Use a Local Model in Codex edits it", () => {
  it("in an empty file: model, model_provider and our provider table, and nothing else", () => {
    const { text, applied } = applyCodexConfig("", INPUT, FILE);
    assert.deepEqual(plain(text), {
      model: "coder",
      model_provider: "mlx-manager",
      model_providers: { "mlx-manager": { name: "MLX Model Manager", base_url: "http://127.0.0.1:8471/v1", experimental_bearer_token: "mlxgw_secret_key_1234", wire_api: "responses" } },
    });
    assert.deepEqual(applied.previous, { model: null, modelProvider: null, provider: null });
    assert.equal(undoCodexConfig(text, applied, FILE).text.trim(), "");
  });

  it("in the user's file: the model line replaced where it is, the rest kept byte for byte, and undone exactly", () => {
    const { text, applied } = applyCodexConfig(USERS, INPUT, FILE);
    assert.ok(text.startsWith('# My Codex settings\nmodel = "coder"\napproval_policy = "on-request"\nmodel_provider = "mlx-manager"\n\n[model_providers.other]'), text);
    assert.ok(text.includes("[tui]\nnotifications = true\n\n[model_providers.mlx-manager]\n"), text);
    const parsed = plain(text) as Record<string, unknown>;
    assert.equal(parsed["approval_policy"], "on-request");
    assert.deepEqual(Object.keys(parsed["model_providers"] as object), ["other", "mlx-manager"]);
    assert.equal(applied.previous.model, 'model = "gpt-5.5"   # the default');
    const undone = undoCodexConfig(text, applied, FILE);
    assert.equal(undone.text, USERS);
    assert.deepEqual(undone.restored, ["model", "model_provider", "model_providers.mlx-manager"]);
  });

  it("a provider table of ours already there is replaced (a new key, another port), and the undo brings the old one back", () => {
    const first = applyCodexConfig(USERS, INPUT, FILE).text;
    const second = applyCodexConfig(first, { ...INPUT, baseUrl: "http://127.0.0.1:9000/v1", gatewayKey: "mlxgw_rotated_9999" }, FILE);
    const provider = (plain(second.text) as { model_providers: Record<string, { base_url: string; experimental_bearer_token: string }> }).model_providers["mlx-manager"];
    assert.deepEqual([provider?.base_url, provider?.experimental_bearer_token], ["http://127.0.0.1:9000/v1", "mlxgw_rotated_9999"]);
    assert.equal(second.text.match(/\[model_providers\.mlx-manager\]/g)?.length, 1);
    assert.equal(undoCodexConfig(second.text, second.applied, FILE).text, first);
  });

  it("what the user changed since is left alone by the undo, and said", () => {
    const { text, applied } = applyCodexConfig(USERS, INPUT, FILE);
    const edited = text.replace('model = "coder"', 'model = "gpt-5.4"');
    const undone = undoCodexConfig(edited, applied, FILE);
    assert.deepEqual(undone.changedSince, ["model"]);
    assert.match(undone.text, /^model = "gpt-5.4"$/m);
    assert.ok(!undone.text.includes("mlx-manager"), undone.text);
  });

  it("refuses a file that is not TOML, and settings in a form it does not edit, changing nothing", () => {
    assert.throws(() => applyCodexConfig('model = "x\n', INPUT, FILE), (e: unknown) => e instanceof CodexConfigError && /is not valid TOML \(line 1/.test(e.message) && /nothing was changed/.test(e.message));
    assert.throws(() => applyCodexConfig('model_providers.mlx-manager.name = "mine"\n', INPUT, FILE), (e: unknown) => e instanceof CodexConfigError && /does not edit/.test(e.message));
    assert.throws(() => applyCodexConfig('[model_providers]\nmlx-manager = { name = "inline" }\n', INPUT, FILE), (e: unknown) => e instanceof CodexConfigError);
  });

  it("keeps a file's Windows line ends, and adds the top-level keys above the first table", () => {
    const crlf = "[tui]\r\nnotifications = true\r\n";
    const { text } = applyCodexConfig(crlf, INPUT, FILE);
    assert.ok(text.startsWith('model = "coder"\r\nmodel_provider = "mlx-manager"\r\n[tui]\r\n'), JSON.stringify(text));
    assert.ok(!/[^\r]\n/.test(text), "every line ends with CRLF");
  });

  it("describes what it sets with the key shown by its end only", () => {
    const said = describeCodexConfig(INPUT);
    assert.ok(!said.includes(INPUT.gatewayKey));
    assert.match(said, /experimental_bearer_token = "…1234" \(the gateway key\)/);
    assert.match(said, /^model = "coder"$/m);
  });
});
