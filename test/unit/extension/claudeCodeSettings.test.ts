// Claude Code's settings file, edited and undone: comments and other settings survive, the values
// land where Claude Code reads them, and undo gives back exactly what was there.
import assert from "node:assert/strict";
import { parse } from "jsonc-parser";
import { applyEnv, claudeEnv, describeEnv, SettingsFileError, undoEnv } from "../../../src/commands/claudeCodeSettings";

const ENV = claudeEnv({ managerUrl: "http://127.0.0.1:8471/", gatewayKey: "mlxgw_secretkey1234", model: "coder", smallModel: "tiny" });
const FILE = "/home/u/.claude/settings.json";

const USER_FILE = `{
  // my permissions, keep them
  "permissions": { "allow": ["Bash(npm test)"] },
  "env": {
    "ANTHROPIC_MODEL": "claude-opus-4-1", // the one I had
    "DISABLE_TELEMETRY": "1"
  },
  "theme": "dark",
}
`;

describe("Claude Code settings (Use a Local Model in Claude Code…)", () => {
  it("sets the gateway, its key and both models by profile name", () => {
    assert.deepEqual(ENV, {
      ANTHROPIC_BASE_URL: "http://127.0.0.1:8471",
      ANTHROPIC_AUTH_TOKEN: "mlxgw_secretkey1234",
      ANTHROPIC_MODEL: "coder",
      ANTHROPIC_DEFAULT_HAIKU_MODEL: "tiny",
      ANTHROPIC_SMALL_FAST_MODEL: "tiny",
    });
    assert.equal(claudeEnv({ managerUrl: "http://h:1", gatewayKey: "k", model: "m" }).ANTHROPIC_SMALL_FAST_MODEL, "m", "the main profile when no small one is given");
    assert.doesNotMatch(describeEnv(ENV), /secretkey/, "the preview shows the key by its end only");
    assert.match(describeEnv(ENV), /ANTHROPIC_AUTH_TOKEN=…1234 \(the gateway key\)/);
  });

  it("merges into an existing file with comments and a trailing comma, keeping everything else", () => {
    const { text, applied } = applyEnv(USER_FILE, ENV, FILE);
    assert.match(text, /\/\/ my permissions, keep them/);
    assert.match(text, /"theme": "dark"/);
    const settings = parse(text) as { env: Record<string, string>; permissions: unknown };
    assert.deepEqual(settings.permissions, { allow: ["Bash(npm test)"] });
    assert.equal(settings.env["DISABLE_TELEMETRY"], "1");
    for (const [name, value] of Object.entries(ENV)) assert.equal(settings.env[name], value, name);
    assert.equal(applied.previous["ANTHROPIC_MODEL"], "claude-opus-4-1");
    assert.equal(applied.previous["ANTHROPIC_BASE_URL"], null);
  });

  it("makes a file from nothing, and undo takes it back to exactly what it was", () => {
    const fresh = applyEnv("", ENV, FILE);
    assert.deepEqual(parse(fresh.text), { env: ENV });
    const undoneFresh = undoEnv(fresh.text, fresh.applied, FILE);
    assert.deepEqual(parse(undoneFresh.text), {});
    const { text, applied } = applyEnv(USER_FILE, ENV, FILE);
    const undone = undoEnv(text, applied, FILE);
    assert.deepEqual(parse(undone.text), parse(USER_FILE));
    assert.match(undone.text, /\/\/ my permissions, keep them/);
    assert.deepEqual(undone.changedSince, []);
  });

  it("leaves alone on undo a variable the user changed since", () => {
    const { text, applied } = applyEnv(USER_FILE, ENV, FILE);
    const edited = text.replace('"ANTHROPIC_MODEL": "coder"', '"ANTHROPIC_MODEL": "mine-now"');
    const undone = undoEnv(edited, applied, FILE);
    assert.deepEqual(undone.changedSince, ["ANTHROPIC_MODEL"]);
    const env = (parse(undone.text) as { env: Record<string, string> }).env;
    assert.equal(env["ANTHROPIC_MODEL"], "mine-now");
    assert.equal(env["ANTHROPIC_BASE_URL"], undefined);
  });

  it("refuses a file that is not JSON, or whose env is not an object, saying where and changing nothing", () => {
    assert.throws(() => applyEnv('{\n  "env": {\n    "A": \n}', ENV, FILE), (error: unknown) => error instanceof SettingsFileError && /settings\.json is not valid JSON \(.+ on line \d\)/.test(error.message) && /nothing was changed/.test(error.message));
    assert.throws(() => applyEnv('{"env": ["x"]}', ENV, FILE), (error: unknown) => error instanceof SettingsFileError && /"env" in .* is not an object/.test(error.message));
    assert.throws(() => applyEnv("[1]", ENV, FILE), SettingsFileError);
  });
});
