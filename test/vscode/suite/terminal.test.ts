// Terminals and tools, in a real VS Code: the terminal environment (OPENAI_BASE_URL and the gateway
// key while a server runs, opt-in), Copy Endpoint's snippets (the copied curl line run for real),
// and the workspace profile named by .vscode/mlx-manager.json (remembered answers, a missing
// profile, import from the repo, and the JSON schema the editor checks the file against).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import * as vscode from "vscode";
import type { MlxExtensionApi } from "../../../src/extension";
import type { WorkspaceProfileOutcome } from "../../../src/commands/workspaceProfiles";
import type { Profile } from "../../../src/shared/profiles";
import type { ServerInfo } from "../../../src/shared/servers";
import { extensionApi, fixture, waitFor } from "./host";

const NAME = "term llama";
const IMPORTED = "ws imported";
const SETTING = "terminal.injectOpenAiEnv";

describe("Terminals and tools in a real VS Code", function () {
  this.timeout(120_000);
  const fx = fixture();
  let adminToken = "";
  const vscodeDir = path.join(fx.workspace, ".vscode");
  const wsFile = path.join(vscodeDir, "mlx-manager.json");
  const exportFile = path.join(fx.workspace, "mlx-profiles.json");
  let api: MlxExtensionApi;

  const envVar = (name: string): string | undefined => api.terminalEnvironment.collection.get(name)?.value;
  const running = (name: string): boolean => api.state.runningServers.some((s) => s.profileName === name);
  const stop = async (name: string): Promise<void> => {
    await vscode.commands.executeCommand("mlx.stopServer", name);
    await waitFor(() => !running(name), `${name} to stop`);
  };
  const apply = (arg: Record<string, unknown>): Thenable<WorkspaceProfileOutcome[]> => vscode.commands.executeCommand<WorkspaceProfileOutcome[]>("mlx.applyWorkspaceProfile", arg);
  const client = async () => api.connection.client();

  before(async () => {
    api = await extensionApi();
    await waitFor(() => api.connection.state.kind === "connected" && api.state.loaded, "the manager connection");
    adminToken = fs.readFileSync(path.join(fx.dataDir, "token"), "utf8").trim();
    const profile = await vscode.commands.executeCommand<Profile | undefined>("mlx.createProfile", {
      name: NAME,
      engine: "llama",
      model: { source: "cache", repoId: fx.ggufRepo, file: fx.ggufFile },
      options: { threads: 1, contextLength: 256 },
    });
    assert.ok(profile, `not created: ${api.errors.recent.join("; ")}`);
  });

  after(async () => {
    await vscode.workspace.getConfiguration("mlx").update(SETTING, undefined, vscode.ConfigurationTarget.Global);
    const c = await client();
    for (const name of [NAME, IMPORTED]) {
      await c.stopServer(name).catch(() => undefined);
      await c.deleteProfile(name).catch(() => undefined);
    }
    fs.rmSync(wsFile, { force: true });
    fs.rmSync(exportFile, { force: true });
  });

  it("gives new terminals OPENAI_BASE_URL and the gateway key (never the admin token) only with the setting on and a server running", async () => {
    const collection = api.terminalEnvironment.collection;
    const description = collection.description;
    assert.match(typeof description === "string" ? description : String(description?.value), /OPENAI_BASE_URL.*gateway key.*mlx\.terminal\.injectOpenAiEnv/s);
    assert.equal(collection.persistent, false, "nothing stale is applied after a reload");

    const [started] = await vscode.commands.executeCommand<ServerInfo[]>("mlx.startServer", NAME);
    assert.equal(started?.state, "running", `start failed: ${api.errors.recent.join("; ")}`);
    await api.terminalEnvironment.idle;
    assert.equal(envVar("OPENAI_API_KEY"), undefined, "off by default");

    await vscode.workspace.getConfiguration("mlx").update(SETTING, true, vscode.ConfigurationTarget.Global);
    const key = await waitFor(() => envVar("OPENAI_API_KEY"), "OPENAI_API_KEY in the terminal environment");
    const base = envVar("OPENAI_BASE_URL");
    assert.equal(base, `${(await client()).url}/v1`);
    assert.notEqual(key, adminToken);
    // Claude Code's pair: the manager's URL (it adds /v1/messages) and the same key.
    assert.equal(envVar("ANTHROPIC_BASE_URL"), (await client()).url);
    assert.equal(envVar("ANTHROPIC_AUTH_TOKEN"), key);
    assert.equal(collection.get("OPENAI_API_KEY")?.type, vscode.EnvironmentVariableMutatorType.Replace);
    // The key opens /v1 and nothing else.
    assert.equal((await fetch(`${base}/models`, { headers: { authorization: `Bearer ${key}` } })).status, 200);
    assert.equal((await fetch(`${base.replace(/\/v1$/, "")}/api/status`, { headers: { authorization: `Bearer ${key}` } })).status, 403);

    // A terminal opened now has both variables.
    const out = path.join(fx.root, "terminal-env.txt");
    fs.rmSync(out, { force: true });
    const terminal = vscode.window.createTerminal({ name: "MLX env probe", shellPath: "/bin/sh", shellArgs: ["-c", `printf '%s\\n%s\\n' "$OPENAI_BASE_URL" "$OPENAI_API_KEY" > '${out}.tmp' && mv '${out}.tmp' '${out}'`] });
    try {
      const seen = await waitFor(() => fs.existsSync(out) && fs.readFileSync(out, "utf8"), "the terminal to write its environment", 30_000);
      assert.equal(seen, `${base}\n${key}\n`);
    } finally {
      terminal.dispose();
    }

    // A rotation reaches the environment through the manager's event.
    await vscode.commands.executeCommand("mlx.rotateGatewayKey", true);
    const rotated = await waitFor(() => (envVar("OPENAI_API_KEY") !== key ? envVar("OPENAI_API_KEY") : undefined), "the rotated key in the environment");
    assert.equal((await fetch(`${base}/models`, { headers: { authorization: `Bearer ${key}` } })).status, 401, "the old key is dead");
    assert.equal((await fetch(`${base}/models`, { headers: { authorization: `Bearer ${rotated}` } })).status, 200);

    await vscode.workspace.getConfiguration("mlx").update(SETTING, false, vscode.ConfigurationTarget.Global);
    await waitFor(() => envVar("OPENAI_API_KEY") === undefined && envVar("OPENAI_BASE_URL") === undefined, "the variables to go with the setting off");
    await vscode.workspace.getConfiguration("mlx").update(SETTING, true, vscode.ConfigurationTarget.Global);
    await waitFor(() => envVar("OPENAI_API_KEY") === rotated, "the variables back with the setting on");
    await stop(NAME);
    await waitFor(() => envVar("OPENAI_API_KEY") === undefined && envVar("OPENAI_BASE_URL") === undefined, "the variables to go when no server runs");
    assert.equal(envVar("ANTHROPIC_AUTH_TOKEN"), undefined);
  });

  it("Copy Endpoint copies each snippet with the profile's name and the gateway key; the copied curl line gets a reply", async () => {
    const c = await client();
    const key = (await c.request<{ key: string }>("GET", "/api/gateway-key")).key;
    const copy = async (snippet: string): Promise<string> => {
      const result = await vscode.commands.executeCommand<{ text: string; snippet: string; model: string } | undefined>("mlx.copyEndpoint", { profile: NAME, snippet });
      assert.ok(result, `${snippet}: ${api.errors.recent.join("; ")}`);
      assert.equal(result.model, NAME);
      const clip = await vscode.env.clipboard.readText();
      assert.equal(clip, result.text);
      assert.equal(clip.includes(adminToken), false, `${snippet} never carries the admin token`);
      return clip;
    };
    assert.equal(await copy("url"), `${c.url}/v1`);
    assert.match(await copy("python"), new RegExp(`api_key="${key}"[\\s\\S]*model="${NAME}"`));
    assert.match(await copy("typescript"), new RegExp(`apiKey: "${key}"[\\s\\S]*model: "${NAME}"`));
    assert.match(await copy("continue"), new RegExp(`model: "${NAME}"\\n    apiBase: "${c.url}/v1"\\n    apiKey: "${key}"`));
    const claudeEnv = await copy("claude-code");
    assert.ok(claudeEnv.includes(`export ANTHROPIC_BASE_URL='${c.url}'`) && claudeEnv.includes(`export ANTHROPIC_AUTH_TOKEN='${key}'`) && claudeEnv.includes(`export ANTHROPIC_MODEL='${NAME}'`), claudeEnv);
    assert.match(await copy("anthropic-typescript"), new RegExp(`baseURL: "${c.url}", apiKey: "${key}"[\\s\\S]*model: "${NAME}"`));
    const curl = await copy("curl");
    assert.ok(curl.includes(`Bearer ${key}`));
    // The snippet as a user would paste it into a shell: the stopped profile starts just in time and answers.
    const reply = await new Promise<string>((resolve, reject) => {
      execFile("sh", ["-c", curl.replace("curl ", "curl -sS --fail-with-body ")], { timeout: 60_000 }, (error, stdout, stderr) => {
        if (error) reject(new Error(`${error.message}\n${stderr}\n${stdout}`));
        else resolve(stdout);
      });
    });
    const body = JSON.parse(reply) as { object: string; choices: { message: { content: string } }[] };
    assert.equal(body.object, "chat.completion");
    assert.ok((body.choices[0]?.message.content ?? "").length > 0, reply);
    await stop(NAME);
    const refused = await vscode.commands.executeCommand("mlx.copyEndpoint", { profile: NAME, snippet: "perl" });
    assert.equal(refused, undefined);
    assert.match(api.errors.recent.at(-1) ?? "", /Unknown snippet: use one of url, curl, python, typescript, continue/);
  });

  it("Use a Local Model in Claude Code merges the gateway into Claude Code's settings (comments kept, a .bak), the values answer /v1/messages, and Stop Using puts the file back", async () => {
    const settings = path.join(fx.root, "claude-home", ".claude", "settings.json");
    fs.mkdirSync(path.dirname(settings), { recursive: true });
    const original = '{\n  // mine\n  "env": { "ANTHROPIC_MODEL": "claude-opus-4-1" },\n  "theme": "dark"\n}\n';
    fs.writeFileSync(settings, original);
    const result = await vscode.commands.executeCommand<{ file: string; env: string[] } | undefined>("mlx.useInClaudeCode", { profile: NAME, target: settings, confirm: true });
    assert.ok(result, api.errors.recent.join("; "));
    assert.equal(fs.readFileSync(`${settings}.bak`, "utf8"), original);
    const text = fs.readFileSync(settings, "utf8");
    assert.match(text, /\/\/ mine/);
    assert.match(text, /"theme": "dark"/);
    const env = Object.fromEntries([...text.matchAll(/"(ANTHROPIC_[A-Z_]+)": "([^"]*)"/g)].map((m) => [m[1], m[2]])) as Record<string, string>;
    assert.equal(env["ANTHROPIC_MODEL"], NAME);
    assert.equal(env["ANTHROPIC_BASE_URL"], (await client()).url);
    assert.notEqual(env["ANTHROPIC_AUTH_TOKEN"], adminToken);
    // What Claude Code would do with them: a Messages request (the stopped profile starts just in time).
    const answer = await fetch(`${env["ANTHROPIC_BASE_URL"] ?? ""}/v1/messages`, {
      method: "POST",
      headers: { authorization: `Bearer ${env["ANTHROPIC_AUTH_TOKEN"] ?? ""}`, "content-type": "application/json", "anthropic-version": "2023-06-01" },
      body: JSON.stringify({ model: env["ANTHROPIC_MODEL"], max_tokens: 8, messages: [{ role: "user", content: "Once upon a time" }] }),
    });
    const message = (await answer.json()) as { type: string; content: { type: string; text: string }[] };
    assert.equal(answer.status, 200, JSON.stringify(message));
    assert.equal(message.type, "message");
    assert.ok((message.content[0]?.text ?? "").length > 0);
    const undone = await vscode.commands.executeCommand<{ restored: { names: string[] }[] }>("mlx.stopUsingInClaudeCode", true);
    assert.equal(undone.restored[0]?.names.length, 5);
    const back = fs.readFileSync(settings, "utf8");
    assert.match(back, /"ANTHROPIC_MODEL": "claude-opus-4-1"/);
    assert.doesNotMatch(back, /ANTHROPIC_AUTH_TOKEN|ANTHROPIC_BASE_URL/);
    assert.match(back, /\/\/ mine/);
    await stop(NAME);
  });

  it("Use a Local Model in Codex merges the gateway into Codex's config.toml (comments kept, a .bak), the values answer /v1/responses, and Stop Using puts the file back", async () => {
    const config = path.join(fx.root, "codex-home", "config.toml");
    fs.mkdirSync(path.dirname(config), { recursive: true });
    const original = '# mine\nmodel = "gpt-5.5"\n\n[tui]\nnotifications = true\n';
    fs.writeFileSync(config, original);
    const result = await vscode.commands.executeCommand<{ file: string; model: string } | undefined>("mlx.useInCodex", { profile: NAME, target: config, confirm: true });
    assert.ok(result, api.errors.recent.join("; "));
    assert.equal(fs.readFileSync(`${config}.bak`, "utf8"), original);
    assert.equal(fs.statSync(config).mode & 0o077, 0, "the file holds the gateway key: no access for group and others");
    const text = fs.readFileSync(config, "utf8");
    assert.match(text, /^# mine$/m);
    assert.match(text, /^\[tui\]$/m);
    const value = (key: string): string => new RegExp(`^${key} = "([^"]*)"$`, "m").exec(text)?.[1] ?? "";
    assert.equal(value("model"), NAME);
    assert.equal(value("model_provider"), "mlx-manager");
    assert.equal(value("base_url"), `${(await client()).url}/v1`);
    assert.notEqual(value("experimental_bearer_token"), adminToken);
    // What Codex would do with them: a Responses request (the stopped profile starts just in time).
    const answer = await fetch(`${value("base_url")}/responses`, {
      method: "POST",
      headers: { authorization: `Bearer ${value("experimental_bearer_token")}`, "content-type": "application/json" },
      body: JSON.stringify({ model: value("model"), input: "Once upon a time", max_output_tokens: 8, store: false }),
    });
    const response = (await answer.json()) as { object: string; output: { type: string; content?: { text: string }[] }[] };
    assert.equal(answer.status, 200, JSON.stringify(response));
    assert.equal(response.object, "response");
    assert.ok((response.output[0]?.content?.[0]?.text ?? "").length > 0, JSON.stringify(response));
    const undone = await vscode.commands.executeCommand<{ restored: { names: string[] }[] }>("mlx.stopUsingInCodex", true);
    assert.deepEqual(undone.restored[0]?.names, ["model", "model_provider", "model_providers.mlx-manager"]);
    assert.equal(fs.readFileSync(config, "utf8"), original);
    await stop(NAME);
  });

  it("starts the profile .vscode/mlx-manager.json names, remembers Always and Never for this workspace, and reports a missing or invalid file", async () => {
    fs.mkdirSync(vscodeDir, { recursive: true });
    fs.writeFileSync(wsFile, JSON.stringify({ profile: NAME }));

    assert.deepEqual(await apply({ answer: "always" }), [{ folder: path.basename(fx.workspace), profile: NAME, outcome: "started" }]);
    await waitFor(() => running(NAME), `${NAME} running`);
    await stop(NAME);
    // What happens when the folder opens: the remembered "Always" starts it without asking.
    assert.equal((await apply({ open: true }))[0]?.outcome, "started");
    await stop(NAME);

    assert.equal((await apply({ answer: "never" }))[0]?.outcome, "declined");
    assert.equal(running(NAME), false);
    assert.equal((await apply({ open: true }))[0]?.outcome, "declined", "Never is remembered: no question, no start");
    // The palette command starts it anyway (the user asked), without changing the answer.
    assert.equal((await apply({}))[0]?.outcome, "started");
    await waitFor(() => running(NAME), `${NAME} running`);
    assert.equal((await apply({ open: true }))[0]?.outcome, "declined", "still Never");
    assert.equal((await apply({ answer: "always" }))[0]?.outcome, "running", "answered while it runs: nothing to start");
    await stop(NAME);
    assert.equal((await apply({ open: true }))[0]?.outcome, "started", "that answer was remembered too");
    await stop(NAME);

    fs.writeFileSync(wsFile, JSON.stringify({ profile: NAME, autoStart: false }));
    assert.equal((await apply({ open: true }))[0]?.outcome, "not-auto");

    fs.writeFileSync(wsFile, JSON.stringify({ profile: "nobody has this" }));
    const [missing] = await apply({ answer: "once" });
    assert.equal(missing?.outcome, "missing");
    assert.match(missing.message ?? "", /No profile named nobody has this/);

    fs.writeFileSync(wsFile, JSON.stringify({ profil: NAME }));
    const [invalid] = await apply({ open: true });
    assert.equal(invalid?.outcome, "invalid");
    assert.match(invalid.message ?? "", /profil/);
  });

  it("imports a missing profile from the export the file names, then starts it", async () => {
    const c = await client();
    const exported = await c.exportProfiles([NAME]);
    const entry = { ...(exported.profiles[0] as Record<string, unknown>), name: IMPORTED };
    fs.writeFileSync(exportFile, JSON.stringify({ ...exported, profiles: [entry] }, null, 2));
    fs.writeFileSync(wsFile, JSON.stringify({ profile: IMPORTED, profilesFile: "mlx-profiles.json" }));
    assert.equal((await apply({ answer: "once" }))[0]?.outcome, "missing", "nothing is imported unless asked");
    const [outcome] = await apply({ answer: "once", importMissing: true });
    assert.equal(outcome?.outcome, "started", `${JSON.stringify(outcome)} ${api.errors.recent.join("; ")}`);
    assert.equal((await c.profile(IMPORTED)).engine, "llama");
    await stop(IMPORTED);
  });

  it("checks .vscode/mlx-manager.json against its contributed JSON schema in the editor", async () => {
    fs.writeFileSync(wsFile, JSON.stringify({ autoStart: "yes" }, null, 2));
    const document = await vscode.workspace.openTextDocument(vscode.Uri.file(wsFile));
    await vscode.window.showTextDocument(document);
    try {
      const problems = await waitFor(() => {
        const found = vscode.languages.getDiagnostics(document.uri);
        return found.length >= 2 ? found : undefined;
      }, "schema diagnostics on the file", 45_000);
      const text = problems.map((d) => d.message).join(" | ");
      assert.match(text, /profile/, text);
      assert.match(text, /boolean/i, text);
    } finally {
      await vscode.commands.executeCommand("workbench.action.closeActiveEditor");
    }
  });
});
