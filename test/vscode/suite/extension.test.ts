import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import * as vscode from "vscode";
import { ManagerClient } from "../../../src/client/ManagerClient";
import type { SharedStatus, UserInfo } from "../../../src/shared/auth";
import type { Download } from "../../../src/shared/hub";
import type { Profile } from "../../../src/shared/profiles";
import type { ServerInfo } from "../../../src/shared/servers";
import type { ModelGroupItem } from "../../../src/views/models/ModelGroupItem";
import type { ModelItem } from "../../../src/views/models/ModelItem";
import type { RemoteBackendItem, RemoteModelItem } from "../../../src/views/models/RemoteBackendItem";
import type { RemoteBackend } from "../../../src/shared/remotes";
import { MANAGER_NODE_ARGS } from "../../../src/client/discovery";
import { fetchGatewayKey } from "../../../src/client/gatewayKey";
import { EXTENSION_ID, extensionApi, fixture, waitFor } from "./host";

const PROFILE = "tiny-llama";

describe("MLX Model Manager in a real VS Code", function () {
  this.timeout(120_000);
  const fx = fixture();

  it("activates cheaply and connects to the manager it started", async () => {
    const api = await extensionApi();
    assert.ok(api.activationMs < 200, `activation took ${api.activationMs} ms`);
    const state = await waitFor(() => (api.connection.state.kind === "connected" ? api.connection.state : undefined), "the manager connection", 30_000);
    assert.equal(state.status.dataDir, fx.dataDir);
    assert.equal(state.status.hfCache, fx.hfCache);
    await waitFor(() => api.state.loaded, "the first fetch");
    // From a .vsix, the extension (and the manager it started) must run from the installed copy.
    const installedAt = vscode.extensions.getExtension(EXTENSION_ID)?.extensionPath ?? "";
    if (fx.installedFrom) {
      assert.ok(installedAt.includes(`${path.sep}ext${path.sep}${EXTENSION_ID}-`), installedAt);
      if (process.platform === "linux") {
        const cmdline = fs.readFileSync(`/proc/${state.status.pid}/cmdline`, "utf8").split("\0");
        assert.deepEqual(cmdline.slice(1, 2 + MANAGER_NODE_ARGS.length), [...MANAGER_NODE_ARGS, path.join(installedAt, "dist", "manager.js")]);
      }
    }
    if (fx.benchOut) fs.writeFileSync(path.join(fx.benchOut, "activation.json"), JSON.stringify({ activationMs: api.activationMs, connectedAfterMs: api.connectedAfterMs }));
  });

  it("contributes exactly the commands it registers", async () => {
    const extension = vscode.extensions.getExtension(EXTENSION_ID);
    const manifest = extension?.packageJSON as { contributes: { commands: { command: string }[]; views: Record<string, { id: string }[]> } };
    const contributed = manifest.contributes.commands.map((c) => c.command).sort();
    const viewIds = Object.values(manifest.contributes.views).flat().map((v) => v.id);
    const registered = (await vscode.commands.getCommands(true)).filter((c) => c.startsWith("mlx.") && !viewIds.some((v) => c.startsWith(`${v}.`))).sort();
    assert.deepEqual(registered, contributed);
  });

  it("shows the cached models grouped by format with size, quantization and architecture", async () => {
    const api = await extensionApi();
    const groups = api.models.getChildren() as ModelGroupItem[];
    assert.deepEqual(groups.map((g) => g.group), ["mlx", "gguf"]);
    const gguf = groups.find((g) => g.group === "gguf");
    assert.ok(gguf);
    const [item] = api.models.getChildren(gguf) as ModelItem[];
    assert.ok(item);
    assert.equal(item.label, fx.ggufRepo);
    assert.match(String(item.description), /KB · F32 · llama/);
    assert.equal(item.contextValue, "model.gguf");
    const mlx = groups.find((g) => g.group === "mlx");
    assert.ok(mlx);
    const [mlxItem] = api.models.getChildren(mlx) as ModelItem[];
    assert.match(String(mlxItem?.description), /4-bit/);
  });

  it("creates a profile and shows it stopped, with its engine, model and port", async () => {
    const api = await extensionApi();
    const profile = await vscode.commands.executeCommand<Profile | undefined>("mlx.createProfile", {
      name: PROFILE,
      engine: "llama",
      model: { source: "cache", repoId: fx.ggufRepo, file: fx.ggufFile },
      options: { threads: 1, contextLength: 256 },
    });
    assert.ok(profile, `not created: ${api.errors.recent.join("; ")}`);
    const item = await waitFor(() => api.profiles.getChildren().find((p) => p.profile.name === PROFILE), "the profile in the view");
    assert.equal(item.contextValue, "profile.stopped");
    assert.match(String(item.description), /^llama · test\/tiny-gguf:tiny-F32\.gguf · auto port$/);
  });

  it("starts the server: starting → running in Servers, the status bar counts it, then stops it", async () => {
    const api = await extensionApi();
    const seen = new Set<string>();
    const listener = api.servers.onDidChangeTreeData(() => {
      for (const item of api.servers.getChildren()) seen.add(String(item.contextValue));
    });
    try {
      const started = await vscode.commands.executeCommand<ServerInfo[]>("mlx.startServer", PROFILE);
      assert.equal(started[0]?.state, "running", `start failed: ${api.errors.recent.join("; ")}`);
      const item = await waitFor(() => api.servers.getChildren().find((s) => s.server.profileName === PROFILE && s.contextValue === "server.running"), "a running server in Servers");
      assert.match(String(item.description), new RegExp(`^:${started[0].port}`));
      assert.ok(seen.has("server.starting"), `states seen: ${[...seen].join(", ")}`);
      await waitFor(() => api.statusBar.text.includes(" 1"), `the status bar to count 1 (${api.statusBar.text})`);
      assert.equal(api.profiles.getChildren().find((p) => p.profile.name === PROFILE)?.contextValue, "profile.running");

      const channel = await vscode.commands.executeCommand<vscode.LogOutputChannel | undefined>("mlx.showServerLogs", PROFILE);
      assert.equal(channel?.name, `MLX Server: ${PROFILE}`);
      const endpoint = await vscode.commands.executeCommand<{ endpoint: string; model: string }>("mlx.copyEndpoint", { profile: PROFILE, snippet: "url" });
      assert.equal(await vscode.env.clipboard.readText(), endpoint.endpoint);
      assert.match(endpoint.endpoint, /^http:\/\/127\.0\.0\.1:\d+\/v1$/);

      // The dashboard opens from the running server's item (its inline action) as one webview panel.
      const serverItem = api.servers.getChildren().find((s) => s.server.profileName === PROFILE);
      await vscode.commands.executeCommand("mlx.openDashboard", serverItem);
      await vscode.commands.executeCommand("mlx.openDashboard");
      const dashboards = (): vscode.Tab[] => vscode.window.tabGroups.all.flatMap((g) => g.tabs).filter((t) => t.input instanceof vscode.TabInputWebview && t.input.viewType.endsWith("mlx.dashboard"));
      await waitFor(() => dashboards().length === 1 || undefined, "the dashboard panel");
      assert.equal(dashboards()[0]?.label, "MLX Dashboard");
      await vscode.window.tabGroups.close(dashboards());

      await vscode.commands.executeCommand("mlx.stopServer", PROFILE);
      await waitFor(() => !api.servers.getChildren().some((s) => s.server.profileName === PROFILE), "the server to leave Servers");
      await waitFor(() => api.profiles.getChildren().find((p) => p.profile.name === PROFILE)?.contextValue === "profile.stopped", "the profile to show stopped");
      assert.ok(api.statusBar.text.endsWith(" 0"), api.statusBar.text);
    } finally {
      listener.dispose();
    }
  });

  it("reports a profile the manager refuses, as one error and as a diagnostic in Edit as JSON", async () => {
    const api = await extensionApi();
    const before = api.errors.recent.length;
    const refused = await vscode.commands.executeCommand("mlx.createProfile", { name: "bad port", engine: "llama", model: { source: "cache", repoId: fx.ggufRepo }, port: 80 });
    assert.equal(refused, undefined);
    assert.equal(api.errors.recent.length, before + 1);
    assert.match(api.errors.recent.at(-1) ?? "", /port/i);

    const profile = api.state.profiles.find((p) => p.name === PROFILE);
    assert.ok(profile);
    const uri = api.profileDocuments.uriFor(profile);
    const editor = await vscode.commands.executeCommand<vscode.TextEditor>("mlx.editProfile", PROFILE);
    assert.equal(editor.document.uri.toString(), uri.toString());
    assert.equal(editor.document.languageId, "json");
    const text = editor.document.getText().replace(/"port": "auto"/, '"port": 80');
    await assert.rejects(Promise.resolve(vscode.workspace.fs.writeFile(uri, new TextEncoder().encode(text))));
    const [diagnostic] = vscode.languages.getDiagnostics(uri);
    assert.ok(diagnostic, "no diagnostic");
    assert.match(diagnostic.message, /^port: /);
    assert.equal(editor.document.lineAt(diagnostic.range.start.line).text.trim(), '"port": "auto",');

    // A valid edit saves through the manager.
    const good = editor.document.getText().replace(/"port": "auto"/, '"port": "auto"').replace(/"idleTimeoutSec": (?:\d+|null)/, '"idleTimeoutSec": 600');
    await vscode.workspace.fs.writeFile(uri, new TextEncoder().encode(good));
    await waitFor(() => api.state.profiles.find((p) => p.name === PROFILE)?.idleTimeoutSec === 600, "the edit to reach the manager");
    assert.equal(vscode.languages.getDiagnostics(uri).length, 0);
    // Above the profile: what its model needs in memory, from the manager's estimate.
    const lens = await waitFor(async () => (await vscode.commands.executeCommand<vscode.CodeLens[]>("vscode.executeCodeLensProvider", uri))[0], "the memory line above the profile");
    assert.match(lens.command?.title ?? "", /^\$\(pass\) Memory: needs about \d+ MB \(.* weights \+ .* cache at [\d,]+ tokens \+ 130 MB engine\) of the [\d.]+ GB this machine can give a model — fits$/);
    await vscode.commands.executeCommand("workbench.action.closeAllEditors");
  });

  it("reports a server that cannot start, with why", async () => {
    const api = await extensionApi();
    const created = await vscode.commands.executeCommand<Profile | undefined>("mlx.createProfile", { name: "mlx on llama", engine: "mlx-lm", model: { source: "cache", repoId: fx.mlxRepo } });
    assert.ok(created, api.errors.recent.join("; "));
    const before = api.errors.recent.length;
    const started = await vscode.commands.executeCommand<ServerInfo[]>("mlx.startServer", "mlx on llama");
    assert.deepEqual(started, []);
    assert.equal(api.errors.recent.length, before + 1);
    assert.match(api.errors.recent.at(-1) ?? "", /Could not start mlx on llama: .*(install|not found|Apple)/i);
  });

  it("duplicates, exports and deletes profiles", async () => {
    const api = await extensionApi();
    const [copy] = await vscode.commands.executeCommand<Profile[]>("mlx.duplicateProfile", PROFILE);
    assert.ok(copy);
    await waitFor(() => api.profiles.getChildren().some((p) => p.profile.id === copy.id), "the copy in Profiles");
    const [pinned] = await vscode.commands.executeCommand<Profile[]>("mlx.togglePinProfile", copy.name);
    assert.equal(pinned?.pinned, true);
    await waitFor(() => api.profiles.getChildren().some((p) => p.profile.id === copy.id && String(p.description).includes("pinned")), "the copy shown as pinned");
    const [unpinned] = await vscode.commands.executeCommand<Profile[]>("mlx.togglePinProfile", copy.name);
    assert.equal(unpinned?.pinned, false);
    const target = vscode.Uri.file(path.join(fx.root, "export.json"));
    await vscode.commands.executeCommand("mlx.exportProfiles", copy.name, target);
    const exported = JSON.parse(fs.readFileSync(target.fsPath, "utf8")) as { kind: string; profiles: { name: string }[] };
    assert.equal(exported.kind, "mlx-manager.profiles");
    assert.deepEqual(exported.profiles.map((p) => p.name), [copy.name]);
    await vscode.commands.executeCommand("mlx.deleteProfile", copy.name, [], { confirmed: true });
    await waitFor(() => !api.profiles.getChildren().some((p) => p.profile.id === copy.id), "the copy to leave Profiles");
  });

  it("lists a server stopped to make room for another model in Servers, saying for which, until it starts again", async () => {
    const api = await extensionApi();
    const client = await api.connection.client();
    const [other] = await vscode.commands.executeCommand<Profile[]>("mlx.duplicateProfile", PROFILE);
    assert.ok(other);
    try {
      const started = await vscode.commands.executeCommand<ServerInfo[]>("mlx.startServer", PROFILE);
      assert.equal(started[0]?.state, "running", `start failed: ${api.errors.recent.join("; ")}`);
      // A budget of one server: starting the copy stops the first to make room.
      await client.updateSettings({ memoryBudgetBytes: Math.round((await client.memoryBudget()).heldBytes * 1.5) });
      const [copy] = await vscode.commands.executeCommand<ServerInfo[]>("mlx.startServer", other.name);
      assert.equal(copy?.state, "running", `start failed: ${api.errors.recent.join("; ")}`);
      const item = await waitFor(() => api.servers.getChildren().find((s) => s.server.profileName === PROFILE && s.contextValue === "evicted-server"), "the stopped server in Servers");
      assert.equal(String(item.description), `stopped to make room for ${other.name}`);
      await waitFor(() => api.statusBar.text.endsWith(" 1") || undefined, `the status bar to count only the copy as running (${api.statusBar.text})`);
    } finally {
      await client.updateSettings({ memoryBudgetBytes: null });
      await vscode.commands.executeCommand("mlx.stopServer", other.name);
      await vscode.commands.executeCommand("mlx.deleteProfile", other.name, [], { confirmed: true });
    }
    // Started again, it is an ordinary running server; stopped by the user, it leaves the list.
    await vscode.commands.executeCommand("mlx.startServer", PROFILE);
    await waitFor(() => api.servers.getChildren().find((s) => s.server.profileName === PROFILE && s.contextValue === "server.running"), "the server running again");
    await vscode.commands.executeCommand("mlx.stopServer", PROFILE);
    await waitFor(() => !api.servers.getChildren().some((s) => s.server.profileName === PROFILE), "the server to leave Servers");
  });

  it("adds a remote backend (here the manager's own /v1), lists its models in Models, and serves one as a profile shown 'on' it in Servers", async () => {
    const api = await extensionApi();
    const client = await api.connection.client();
    const { key } = await fetchGatewayKey(client);
    const backend = await vscode.commands.executeCommand<RemoteBackend | undefined>("mlx.addRemoteBackend", { url: `${client.url}/v1`, name: "loopback", apiKey: key });
    assert.equal(backend?.health.state, "healthy", JSON.stringify(backend?.health));
    assert.equal(backend.hasKey, true);
    try {
      const item = await waitFor(() => api.models.getChildren().find((n): n is RemoteBackendItem => n instanceof vscode.TreeItem && n.id === `remote:${backend.id}`), "the backend in Models");
      assert.match(String(item.description), /models? · 127\.0\.0\.1:/);
      const models = api.models.getChildren(item) as RemoteModelItem[];
      assert.ok(models.some((m) => m.model.id === PROFILE), models.map((m) => m.model.id).join(", "));
      const profile = await vscode.commands.executeCommand<Profile>("mlx.addRemoteProfile", { backend: "loopback", model: PROFILE, name: "tiny via loopback" });
      assert.equal(profile.engine, "remote");
      await waitFor(() => (api.models.getChildren(item) as RemoteModelItem[]).find((m) => m.model.id === PROFILE && m.contextValue === "remoteModel.profiled"), "the model marked as served by a profile");
      const answer = await fetch(`${client.url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: JSON.stringify({ model: profile.name, messages: [{ role: "user", content: "Hi" }], max_tokens: 4 }) });
      assert.equal(answer.status, 200, await answer.clone().text());
      const server = await waitFor(() => api.servers.getChildren().find((s) => s.server.profileName === profile.name), "the remote server in Servers");
      assert.equal(server.contextValue, "server.running.remote");
      assert.match(String(server.description), /^on loopback/);
      await vscode.commands.executeCommand("mlx.stopServer", profile.name);
      await vscode.commands.executeCommand("mlx.deleteProfile", profile.name, [], { confirmed: true });
    } finally {
      await client.removeRemote(backend.id);
      await client.stopServer(PROFILE).catch(() => undefined);
    }
    await waitFor(() => !api.models.getChildren().some((n) => n instanceof vscode.TreeItem && n.id === `remote:${backend.id}`), "the backend to leave Models");
  });

  it("hands the manager the memory budget, idle stop and queue settings set in VS Code", async () => {
    const api = await extensionApi();
    const client = await api.connection.client();
    const config = vscode.workspace.getConfiguration("mlx");
    try {
      await config.update("memory.budgetGB", 5.5, vscode.ConfigurationTarget.Global);
      await config.update("servers.idleStopMinutes", 12, vscode.ConfigurationTarget.Global);
      await waitFor(async () => {
        const settings = await client.settings();
        return (settings.memoryBudgetBytes === 5.5e9 && settings.defaultIdleTimeoutSec === 720) || undefined;
      }, "the settings to reach the manager");
      assert.equal((await client.memoryBudget()).basis, "setting");
    } finally {
      await config.update("memory.budgetGB", undefined, vscode.ConfigurationTarget.Global);
      await config.update("servers.idleStopMinutes", undefined, vscode.ConfigurationTarget.Global);
      // Unset in VS Code, the manager keeps its value (the CLI's stays too): back to automatic by hand.
      await client.updateSettings({ memoryBudgetBytes: null, defaultIdleTimeoutSec: 1800 });
    }
  });

  it("Restart Manager starts a fresh manager and the views reload from it", async () => {
    const api = await extensionApi();
    const before = api.connection.state.kind === "connected" ? api.connection.state.status.pid : undefined;
    const pid = await vscode.commands.executeCommand<number | undefined>("mlx.restartManager");
    assert.ok(pid !== undefined && pid !== before, `pid ${String(pid)} (was ${String(before)}): ${api.errors.recent.join("; ")}`);
    await waitFor(() => api.profiles.getChildren().some((p) => p.profile.name === PROFILE), "the profiles from the new manager");
  });

  it("finds or starts the manager again when it dies, with back-off", async () => {
    const api = await extensionApi();
    const state = api.connection.state;
    assert.ok(state.kind === "connected");
    process.kill(state.status.pid, "SIGKILL");
    await waitFor(() => api.connection.state.kind !== "connected", "the extension to notice");
    const next = await waitFor(() => (api.connection.state.kind === "connected" ? api.connection.state : undefined), "a new manager", 60_000);
    assert.notEqual(next.status.pid, state.status.pid);
    // Started as every manager is, with the V8 options that keep its idle memory small.
    const argv = fs.readFileSync(`/proc/${next.status.pid}/cmdline`, "utf8").split("\0");
    assert.ok(MANAGER_NODE_ARGS.every((a) => argv.includes(a)), argv.join(" "));
    await waitFor(() => api.state.loaded && api.profiles.getChildren().length > 0, "the views to reload");
  });

  it("refreshes the Models view within a frame of a manager event, with 1,000 models", async function () {
    const api = await extensionApi();
    const many = Array.from({ length: 1000 }, (_, i) => ({ ...api.state.models[0]!, id: `bench/model-${String(i).padStart(4, "0")}`, format: "gguf" as const }));
    for (const model of many) api.state.apply({ type: "model.added", data: model });
    const render = (): number => {
      let nodes = 0;
      for (const group of api.models.getChildren()) nodes += api.models.getChildren(group).length;
      return nodes;
    };
    // Ours: the event updates the copy, the view asks for its children.
    const ours: number[] = [];
    for (let i = 0; i < 30; i++) {
      const timing = new Promise<number>((resolve) => {
        const t0 = performance.now();
        const sub = api.models.onDidChangeTreeData(() => {
          sub.dispose();
          assert.ok(render() >= 1000);
          resolve(performance.now() - t0);
        });
      });
      api.state.apply({ type: "model.changed", data: { ...many[i]!, size: i } });
      ours.push(await timing);
    }
    // Peer: a view that refetches the whole list over HTTP on every event (same JSON, loopback).
    const body = JSON.stringify({ models: api.state.models, scannedAt: Date.now(), cacheDir: fx.hfCache });
    const server = http.createServer((_req, res) => res.end(body));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as { port: number };
    const peer: number[] = [];
    for (let i = 0; i < 30; i++) {
      const t0 = performance.now();
      const list = (await (await fetch(`http://127.0.0.1:${port}/api/models`)).json()) as { models: typeof many };
      api.state.models = list.models;
      assert.ok(render() >= 1000);
      peer.push(performance.now() - t0);
    }
    server.close();
    for (const model of many) api.state.apply({ type: "model.removed", data: { id: model.id } });
    const p50 = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
    if (fx.benchOut) fs.writeFileSync(path.join(fx.benchOut, "tree-refresh.json"), JSON.stringify({ oursP50Ms: p50(ours), peerP50Ms: p50(peer) }));
    assert.equal(api.models.getChildren().length, 2);
  });
});

describe("Hugging Face downloads in a real VS Code", function () {
  this.timeout(120_000);
  const fx = fixture();

  it("downloads a repo from the Hub: progress on top of Models, then the model in its group", async () => {
    const api = await extensionApi();
    const download = await vscode.commands.executeCommand<Download | undefined>("mlx.searchHub", { repo: fx.hubRepo });
    assert.ok(download, api.errors.recent.join("; "));
    const item = await waitFor(() => {
      const [first] = api.models.getChildren();
      if (first && "group" in first && first.group === "downloads") {
        const [node] = api.models.getChildren(first);
        if (node && /^\d+% · /.test(String(node.description))) return node;
      }
      return undefined;
    }, "a download with a percentage at the top of Models");
    assert.equal(item.label, fx.hubRepo);
    assert.equal(item.contextValue, "download.running");
    await waitFor(() => api.state.models.find((m) => m.id === fx.hubRepo && m.incomplete.length === 0), "the downloaded model in the cache", 90_000);
    await waitFor(() => {
      const groups = api.models.getChildren() as ModelGroupItem[];
      return !groups.some((g) => g.group === "downloads") && api.models.getChildren(groups.find((g) => g.group === "mlx")).some((m) => m.label === fx.hubRepo);
    }, "Models without downloads, listing the new model under MLX");
  });
});

describe("Shared mode in a real VS Code: the Users view", function () {
  this.timeout(120_000);

  it("lists a teammate who registers on the shared listener as pending with the badge, and approves them", async () => {
    const api = await extensionApi();
    const client = await api.connection.client();
    // What "MLX: Start Shared Server" does over loopback: a first admin (once), then the listener.
    if (!(await client.sharedStatus()).hasAdmin) await client.createFirstAdmin("owner@example.com", "owner-password-123");
    const status = await client.startShared({ port: 0, host: "127.0.0.1" });
    try {
      assert.equal(status.enabled, true);
      assert.equal(status.tls, false);
      await waitFor(() => api.state.shared?.enabled === true || undefined, "the shared.changed event");
      // The teammate registers over the shared listener's HTTP route, as their extension or browser would.
      const teammate = `teammate-${Date.now()}@example.com`;
      const shared = new ManagerClient({ url: `http://127.0.0.1:${status.port ?? 0}`, token: "" });
      const registered = await shared.register(teammate, "teammate-password-123");
      assert.equal(registered.user.status, "pending");
      const item = await waitFor(() => api.users.getChildren().find((u) => u.user.email === teammate), "the teammate in Users");
      assert.equal(item.contextValue, "user.pending.user");
      assert.match(String(item.description), /pending approval/);
      await waitFor(() => api.usersView.badge?.value === 1 || undefined, `a badge of 1 on Users (${String(api.usersView.badge?.value)})`);

      const approved = await vscode.commands.executeCommand<UserInfo[]>("mlx.approveUser", item);
      assert.equal(approved[0]?.status, "approved", api.errors.recent.join("; "));
      await waitFor(() => api.users.getChildren().find((u) => u.user.email === teammate)?.contextValue === "user.approved.user" || undefined, "the teammate approved in Users");
      await waitFor(() => api.usersView.badge === undefined || undefined, "no badge once nobody waits");
      // Approved for real: the teammate can now sign in on the shared listener.
      const login = await shared.login(teammate, "teammate-password-123");
      assert.equal(login.user.status, "approved");

      // Role and status changes by email (as the palette's pick would name them), each seen in the view.
      const contextOf = (): string | undefined => api.users.getChildren().find((u) => u.user.email === teammate)?.contextValue;
      for (const [command, expected] of [
        ["mlx.promoteUser", "user.approved.admin"],
        ["mlx.demoteUser", "user.approved.user"],
        ["mlx.disableUser", "user.disabled.user"],
        ["mlx.enableUser", "user.approved.user"],
      ] as const) {
        const changed = await vscode.commands.executeCommand<UserInfo[]>(command, teammate);
        assert.equal(changed.length, 1, `${command}: ${api.errors.recent.join("; ")}`);
        await waitFor(() => contextOf() === expected || undefined, `${expected} after ${command} (${String(contextOf())})`);
      }
    } finally {
      await vscode.commands.executeCommand<SharedStatus>("mlx.stopSharedServer");
    }
    await waitFor(() => (api.state.shared?.enabled === false && api.users.getChildren().length === 0) || undefined, "an empty Users view (its welcome) once shared mode is off");
  });
});
