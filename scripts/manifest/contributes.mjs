// The extension's contributions, kept in code so titles, menus and when-clauses stay in one
// readable place. `node scripts/manifest/contributes.mjs` writes them into package.json and
// package.nls.json (run after editing; test/unit/extension/manifest.test.ts checks they match).
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const nls = {};
const t = (key, text) => {
  nls[key] = text;
  return `%${key}%`;
};

// id, title, icon, palette when-clause (undefined: always; "false": never)
const commandList = [
  ["mlx.createProfile", "Create Profile…", "add"],
  ["mlx.editProfile", "Edit Profile (JSON)", "edit"],
  ["mlx.duplicateProfile", "Duplicate Profile", "copy"],
  ["mlx.togglePinProfile", "Pin or Unpin Profile", "pin"],
  ["mlx.deleteProfile", "Delete Profile…", "trash"],
  ["mlx.exportProfiles", "Export Profiles…", "export"],
  ["mlx.startServer", "Start Server", "debug-start"],
  ["mlx.stopServer", "Stop Server", "debug-stop"],
  ["mlx.restartServer", "Restart Server", "debug-restart"],
  ["mlx.stopAllServers", "Stop All Servers", "stop-circle"],
  ["mlx.showServerLogs", "Show Server Logs", "output"],
  ["mlx.copyEndpoint", "Copy Endpoint…", "link"],
  ["mlx.useInClaudeCode", "Use a Local Model in Claude Code…", "sparkle"],
  ["mlx.stopUsingInClaudeCode", "Stop Using Local Models in Claude Code", "discard"],
  ["mlx.useInCodex", "Use a Local Model in Codex…", "sparkle"],
  ["mlx.stopUsingInCodex", "Stop Using Local Models in Codex", "discard"],
  ["mlx.rotateGatewayKey", "Rotate Gateway Key…", "key"],
  ["mlx.applyWorkspaceProfile", "Start Workspace Profile", "debug-start", "workspaceFolderCount > 0"],
  ["mlx.startModel", "Start Model", "play"],
  ["mlx.copyModelId", "Copy Model ID", "clippy"],
  ["mlx.revealModel", "Reveal Model in File Explorer", "folder-opened"],
  ["mlx.openModelOnHub", "Open Model on Hugging Face", "link-external"],
  ["mlx.deleteModel", "Delete Model…", "trash"],
  ["mlx.refreshModels", "Refresh", "refresh"],
  ["mlx.searchHub", "Search Hugging Face…", "search"],
  ["mlx.addRemoteBackend", "Add Remote Backend…", "remote"],
  ["mlx.removeRemoteBackend", "Remove Remote Backend…", "trash"],
  ["mlx.checkRemoteBackend", "Check Remote Backend Now", "refresh"],
  ["mlx.setRemoteBackendKey", "Set Remote Backend Key…", "key"],
  ["mlx.addRemoteProfile", "Add Remote Model as Profile…", "add"],
  ["mlx.addRemoteReplica", "Add Remote Model as Replica of a Profile…", "split-horizontal"],
  ["mlx.placeOnExo", "Place on exo…", "server-process"],
  ["mlx.checkHosts", "Check Hosts of a Distributed Profile", "checklist"],
  ["mlx.fineTune", "Fine-tune a Model…", "beaker"],
  ["mlx.cancelJob", "Cancel Job", "debug-stop"],
  ["mlx.resumeJob", "Resume Job from Its Last Checkpoint", "debug-continue"],
  ["mlx.showJobLog", "Show Job Log", "output"],
  ["mlx.serveJobAdapter", "Serve the Job's Adapter", "play"],
  ["mlx.fuseJobAdapter", "Fuse the Job's Adapter into a New Model…", "merge"],
  ["mlx.runBenchmark", "Benchmark Profiles…", "dashboard"],
  ["mlx.measurePerplexity", "Measure Perplexity on a Text…", "symbol-ruler"],
  ["mlx.cancelDownload", "Cancel Download", "close", "false"],
  ["mlx.setHuggingFaceToken", "Set Hugging Face Token…", "key"],
  ["mlx.restartManager", "Restart Manager", "refresh"],
  ["mlx.retryConnection", "Retry Connecting to the Manager", "refresh", "mlx.connection != connected"],
  ["mlx.showLog", "Show Extension Log", "output"],
  ["mlx.installEngine", "Install an Engine…", "desktop-download"],
  ["mlx.openDashboard", "Open Dashboard", "dashboard"],
  ["mlx.startSharedServer", "Start Shared Server…", "broadcast"],
  ["mlx.stopSharedServer", "Stop Shared Server", "debug-stop", "mlx.shared == on"],
  ["mlx.approveUser", "Approve", "check", "mlx.shared == on"],
  ["mlx.rejectUser", "Reject…", "close", "mlx.shared == on"],
  ["mlx.disableUser", "Disable", "circle-slash", "mlx.shared == on"],
  ["mlx.enableUser", "Enable", "pass", "mlx.shared == on"],
  ["mlx.promoteUser", "Make Admin", "arrow-up", "mlx.shared == on"],
  ["mlx.demoteUser", "Make Plain User", "arrow-down", "mlx.shared == on"],
  ["mlx.connectTeamServer", "Connect to Team Server…", "plug"],
  ["mlx.signOutTeamServer", "Sign Out of Team Server", "sign-out", "mlx.team != none"],
  ["mlx.refreshTeamServer", "Refresh Team Server", "refresh", "mlx.team != none"],
  ["mlx.chatWithTeamModel", "Chat with Team Model", "comment-discussion", "mlx.team == connected"],
  ["mlx.teamStartServer", "Start on Team Server", "debug-start", "mlx.teamAdmin"],
  ["mlx.teamStopServer", "Stop on Team Server", "debug-stop", "mlx.teamAdmin"],
];

const commands = commandList.map(([command, title, icon]) => ({
  command,
  title: t(`command.${command.slice(4)}`, title),
  category: "MLX",
  icon: `$(${icon})`,
}));

const commandPalette = commandList.filter((c) => c[3] !== undefined).map(([command, , , when]) => ({ command, when }));

const item = (command, view, when, group) => ({ command, when: `view == ${view} && viewItem =~ ${when}`, group });
const menus = {
  commandPalette,
  "view/title": [
    { command: "mlx.searchHub", when: "view == mlx.models", group: "navigation@1" },
    { command: "mlx.refreshModels", when: "view == mlx.models", group: "navigation@2" },
    { command: "mlx.addRemoteBackend", when: "view == mlx.models", group: "2_remote@1" },
    { command: "mlx.createProfile", when: "view == mlx.profiles", group: "navigation@1" },
    { command: "mlx.exportProfiles", when: "view == mlx.profiles", group: "1_profiles@1" },
    { command: "mlx.openDashboard", when: "view == mlx.servers", group: "navigation@0" },
    { command: "mlx.fineTune", when: "view == mlx.jobs", group: "navigation@0" },
    { command: "mlx.stopAllServers", when: "view == mlx.servers", group: "navigation@1" },
    { command: "mlx.restartManager", when: "view == mlx.servers", group: "1_manager@1" },
    { command: "mlx.showLog", when: "view == mlx.servers", group: "1_manager@2" },
    { command: "mlx.startSharedServer", when: "view == mlx.users && mlx.shared == off", group: "navigation@1" },
    { command: "mlx.stopSharedServer", when: "view == mlx.users && mlx.shared == on", group: "navigation@1" },
    { command: "mlx.connectTeamServer", when: "view == mlx.team && mlx.team == none", group: "navigation@1" },
    { command: "mlx.refreshTeamServer", when: "view == mlx.team && mlx.team != none", group: "navigation@1" },
    { command: "mlx.signOutTeamServer", when: "view == mlx.team && mlx.team != none", group: "navigation@2" },
    { command: "mlx.connectTeamServer", when: "view == mlx.team && mlx.team != none", group: "1_team@1" },
  ],
  "view/item/context": [
    item("mlx.startModel", "mlx.models", "/^model\\./", "inline@1"),
    item("mlx.createProfile", "mlx.models", "/^model\\./", "1_run@1"),
    item("mlx.startModel", "mlx.models", "/^model\\./", "1_run@2"),
    item("mlx.copyModelId", "mlx.models", "/^model\\./", "2_copy@1"),
    item("mlx.revealModel", "mlx.models", "/^model\\./", "3_open@1"),
    item("mlx.openModelOnHub", "mlx.models", "/^model\\./", "3_open@2"),
    item("mlx.deleteModel", "mlx.models", "/^model\\./", "9_delete@1"),
    item("mlx.checkRemoteBackend", "mlx.models", "/^remoteBackend\\./", "inline@1"),
    item("mlx.checkRemoteBackend", "mlx.models", "/^remoteBackend\\./", "1_run@1"),
    item("mlx.setRemoteBackendKey", "mlx.models", "/^remoteBackend\\./", "3_edit@1"),
    item("mlx.removeRemoteBackend", "mlx.models", "/^remoteBackend\\./", "9_delete@1"),
    item("mlx.addRemoteProfile", "mlx.models", "/^remoteModel\\./", "inline@1"),
    item("mlx.addRemoteProfile", "mlx.models", "/^remoteModel\\./", "1_run@1"),
    item("mlx.addRemoteReplica", "mlx.models", "/^remoteModel\\./", "1_run@2"),
    item("mlx.placeOnExo", "mlx.models", "/^remoteModel\\..*\\.exo$/", "1_run@0"),
    item("mlx.cancelDownload", "mlx.models", "/^download\\.(running|queued)$/", "inline@1"),

    item("mlx.startServer", "mlx.profiles", "/^profile\\.(stopped|failed)(\\.distributed)?$/", "inline@1"),
    item("mlx.stopServer", "mlx.profiles", "/^profile\\.(running|starting|failed)(\\.distributed)?$/", "inline@2"),
    item("mlx.restartServer", "mlx.profiles", "/^profile\\.(running|failed)(\\.distributed)?$/", "inline@3"),
    item("mlx.startServer", "mlx.profiles", "/^profile\\.(stopped|failed)(\\.distributed)?$/", "1_run@1"),
    item("mlx.stopServer", "mlx.profiles", "/^profile\\.(running|starting|failed)(\\.distributed)?$/", "1_run@2"),
    item("mlx.restartServer", "mlx.profiles", "/^profile\\.(running|failed)(\\.distributed)?$/", "1_run@3"),
    item("mlx.checkHosts", "mlx.profiles", "/^profile\\.[a-z]+\\.distributed$/", "1_run@4"),
    item("mlx.runBenchmark", "mlx.profiles", "/^profile\\./", "1_run@5"),
    item("mlx.measurePerplexity", "mlx.profiles", "/^profile\\./", "1_run@6"),
    item("mlx.copyEndpoint", "mlx.profiles", "/^profile\\./", "2_copy@1"),
    item("mlx.useInClaudeCode", "mlx.profiles", "/^profile\\./", "2_copy@2"),
    item("mlx.useInCodex", "mlx.profiles", "/^profile\\./", "2_copy@3"),
    item("mlx.editProfile", "mlx.profiles", "/^profile\\./", "3_edit@1"),
    item("mlx.duplicateProfile", "mlx.profiles", "/^profile\\./", "3_edit@2"),
    item("mlx.togglePinProfile", "mlx.profiles", "/^profile\\./", "3_edit@3"),
    item("mlx.exportProfiles", "mlx.profiles", "/^profile\\./", "3_edit@3"),
    item("mlx.deleteProfile", "mlx.profiles", "/^profile\\./", "9_delete@1"),

    // A remote profile's server ends in `.remote`: its log is on its backend, not here.
    item("mlx.openDashboard", "mlx.servers", "/^server\\.(running|unhealthy|starting|failed)(\\.remote)?$/", "inline@0"),
    item("mlx.showServerLogs", "mlx.servers", "/^server\\.[a-z]+$/", "inline@1"),
    item("mlx.copyEndpoint", "mlx.servers", "/^server\\.(running|unhealthy|starting)(\\.remote)?$/", "inline@2"),
    item("mlx.restartServer", "mlx.servers", "/^server\\.(running|unhealthy|failed)(\\.remote)?$/", "inline@3"),
    item("mlx.stopServer", "mlx.servers", "/^server\\./", "inline@4"),
    item("mlx.showServerLogs", "mlx.servers", "/^server\\.[a-z]+$/", "1_logs@1"),
    item("mlx.copyEndpoint", "mlx.servers", "/^server\\./", "1_logs@2"),
    item("mlx.restartServer", "mlx.servers", "/^server\\.(running|unhealthy|failed)(\\.remote)?$/", "2_run@1"),
    item("mlx.stopServer", "mlx.servers", "/^server\\./", "2_run@2"),

    item("mlx.cancelJob", "mlx.jobs", "/^job\\.(queued|running)$/", "inline@1"),
    item("mlx.resumeJob", "mlx.jobs", "/^job\\.(interrupted|failed|cancelled)$/", "inline@1"),
    item("mlx.serveJobAdapter", "mlx.jobs", "/^job\\.completed$/", "inline@1"),
    item("mlx.showJobLog", "mlx.jobs", "/^job\\./", "inline@2"),
    item("mlx.serveJobAdapter", "mlx.jobs", "/^job\\.completed$/", "1_run@1"),
    item("mlx.fuseJobAdapter", "mlx.jobs", "/^job\\.completed$/", "1_run@2"),
    item("mlx.showJobLog", "mlx.jobs", "/^job\\./", "2_logs@1"),
    item("mlx.openDashboard", "mlx.jobs", "/^job\\./", "0_show@1"),

    item("mlx.approveUser", "mlx.users", "/^user\\.pending\\./", "inline@1"),
    item("mlx.rejectUser", "mlx.users", "/^user\\.pending\\./", "inline@2"),
    item("mlx.enableUser", "mlx.users", "/^user\\.disabled\\./", "inline@1"),
    item("mlx.approveUser", "mlx.users", "/^user\\.pending\\./", "1_status@1"),
    item("mlx.rejectUser", "mlx.users", "/^user\\.pending\\./", "1_status@2"),
    item("mlx.disableUser", "mlx.users", "/^user\\.approved\\./", "1_status@3"),
    item("mlx.enableUser", "mlx.users", "/^user\\.disabled\\./", "1_status@4"),
    item("mlx.promoteUser", "mlx.users", "/^user\\.approved\\.user$/", "2_role@1"),
    item("mlx.demoteUser", "mlx.users", "/^user\\.[a-z]+\\.admin$/", "2_role@2"),

    item("mlx.chatWithTeamModel", "mlx.team", "/^teamModel\\./", "inline@1"),
    item("mlx.teamStartServer", "mlx.team", "/^teamModel\\.stopped\\.admin$/", "inline@2"),
    item("mlx.teamStopServer", "mlx.team", "/^team(Model|Server)\\.running\\.admin$/", "inline@3"),
    item("mlx.chatWithTeamModel", "mlx.team", "/^teamModel\\./", "1_chat@1"),
    item("mlx.teamStartServer", "mlx.team", "/^teamModel\\.stopped\\.admin$/", "2_run@1"),
    item("mlx.teamStopServer", "mlx.team", "/^team(Model|Server)\\.running\\.admin$/", "2_run@2"),
  ],
};

const unreachable = "mlx.connection == unreachable";
const connected = "mlx.connection == connected";
const viewsWelcome = [
  { view: "mlx.models", when: "mlx.connection == connecting", contents: t("welcome.connecting", "Connecting to the MLX manager…") },
  { view: "mlx.profiles", when: "mlx.connection == connecting", contents: t("welcome.connecting", "Connecting to the MLX manager…") },
  { view: "mlx.servers", when: "mlx.connection == connecting", contents: t("welcome.connecting", "Connecting to the MLX manager…") },
  { view: "mlx.models", when: unreachable, contents: t("welcome.unreachable", "The MLX manager is not reachable. It runs models and keeps them running when windows close.\n[Retry](command:mlx.retryConnection)\n[Show Log](command:mlx.showLog)") },
  { view: "mlx.profiles", when: unreachable, contents: t("welcome.unreachableShort", "Waiting for the MLX manager.\n[Retry](command:mlx.retryConnection)") },
  { view: "mlx.servers", when: unreachable, contents: t("welcome.unreachableShort", "Waiting for the MLX manager.\n[Retry](command:mlx.retryConnection)") },
  { view: "mlx.models", when: connected, contents: t("welcome.noModels", "No models in your Hugging Face cache yet.\n[Search Hugging Face](command:mlx.searchHub)\nModels downloaded with huggingface-cli or mlx_lm appear here on their own.") },
  { view: "mlx.profiles", when: connected, contents: t("welcome.noProfiles", "A profile says which model to serve, with which engine, on which port.\n[Create Profile](command:mlx.createProfile)\nNo engine installed? MLX models need Apple silicon and `pip install mlx-lm`; GGUF models run with llama.cpp's `llama-server` or the built-in engine (`npm run setup:llama`).") },
  { view: "mlx.jobs", when: connected, contents: t("welcome.noJobs", "Fine-tune an MLX model on your own examples (LoRA, DoRA or full, with mlx_lm.lora): a JSONL file of chats, prompts and completions, or text.\n[Fine-tune a Model](command:mlx.fineTune)") },
  { view: "mlx.users", when: "mlx.connection == connected && mlx.shared == off", contents: t("welcome.sharedOff", "Shared mode is off: only you, on this Mac, use the manager. Shared mode opens a second listener so teammates can sign in and use your models; you approve each account here.\n[Start Shared Server](command:mlx.startSharedServer)\nThe first time, it asks for an email and password for the first admin account (you). Prefer TLS: without it passwords and prompts cross the network in clear text.") },
  { view: "mlx.users", when: "mlx.connection == connected && mlx.shared == unavailable", contents: t("welcome.sharedUnavailable", "This manager has no shared mode. Restart the manager to update it.\n[Restart Manager](command:mlx.restartManager)") },
  { view: "mlx.users", when: "mlx.connection != connected", contents: t("welcome.unreachableShort", "Waiting for the MLX manager.\n[Retry](command:mlx.retryConnection)") },
  { view: "mlx.team", when: "mlx.team == none", contents: t("welcome.teamNone", "Use the models of a teammate's Mac: they run MLX: Start Shared Server and give you its address; you sign in with an account they approve.\n[Connect to Team Server](command:mlx.connectTeamServer)\nThe token is kept in VS Code's secret storage; a self-signed certificate is shown once and pinned.") },
  { view: "mlx.team", when: "mlx.team == pending", contents: t("welcome.teamPending", "Signed in. Your account waits for an admin of the team server to approve it; its models appear here then.\n[Refresh](command:mlx.refreshTeamServer)\n[Sign Out](command:mlx.signOutTeamServer)") },
  { view: "mlx.team", when: "mlx.team == signed-out", contents: t("welcome.teamSignedOut", "The team server ended your session (expired, revoked, or your account changed).\n[Connect Again](command:mlx.connectTeamServer)\n[Sign Out](command:mlx.signOutTeamServer)") },
  { view: "mlx.servers", when: connected, contents: t("welcome.noServers", "No model server is running. Start one from a profile or a model.\n[Start Server](command:mlx.startServer)") },
];

const configuration = {
  title: t("config.title", "MLX Model Manager"),
  properties: {
    "mlx.manager.port": { type: "integer", default: 0, minimum: 0, maximum: 65535, description: t("config.manager.port", "Port of the manager's API on 127.0.0.1. 0 uses the manager's default (MLX_MANAGER_PORT, else 8471). Takes effect when the manager starts.") },
    "mlx.manager.dataDir": { type: "string", default: "", scope: "machine", description: t("config.manager.dataDir", "The manager's data directory (profiles, logs, token). Empty: MLX_MANAGER_HOME, else ~/.mlx-manager.") },
    "mlx.huggingFace.cachePath": { type: "string", default: "", scope: "machine", description: t("config.huggingFace.cachePath", "Hugging Face cache to scan. Empty: HF_HUB_CACHE, HF_HOME/hub, else ~/.cache/huggingface/hub.") },
    "mlx.profiles.defaultEngine": { type: "string", default: "auto", enum: ["auto", "mlx-lm", "mlx-openai-server", "llama-server", "llama"], description: t("config.profiles.defaultEngine", "Engine offered first when creating a profile (auto: the first that serves the model).") },
    "mlx.engines.mlxLm.executable": { type: "string", default: "", scope: "machine", description: t("config.engines.mlxLm", "Path of mlx_lm.server when it is not on PATH.") },
    "mlx.engines.mlxOpenAiServer.executable": { type: "string", default: "", scope: "machine", description: t("config.engines.mlxOpenAiServer", "Path of mlx-openai-server when it is not on PATH.") },
    "mlx.engines.mlxLaunch.executable": { type: "string", default: "", scope: "machine", description: t("config.engines.mlxLaunch", "Path of mlx.launch (it comes with mlx) when it is not on PATH: distributed profiles start through it.") },
    "mlx.engines.llamaServer.executable": { type: "string", default: "", scope: "machine", description: t("config.engines.llamaServer", "Path of llama.cpp's llama-server when it is not on PATH.") },
    "mlx.servers.stopOnQuit": { type: "boolean", default: false, description: t("config.servers.stopOnQuit", "Stop every model server when VS Code quits. By default servers keep running (the manager keeps them) and any window or the CLI can use them.") },
    "mlx.terminal.injectOpenAiEnv": { type: "boolean", default: false, description: t("config.terminal.injectOpenAiEnv", "While a model server runs, give new integrated terminals OPENAI_BASE_URL (the manager's /v1) and OPENAI_API_KEY (the gateway key, which opens /v1 only — never the manager's admin token), and ANTHROPIC_BASE_URL and ANTHROPIC_AUTH_TOKEN the same, so OpenAI clients, Claude Code and other tools started there use your local models.") },
    "mlx.downloads.concurrency": { type: "integer", default: 2, minimum: 1, maximum: 8, description: t("config.downloads.concurrency", "How many files a download fetches at once.") },
    "mlx.memory.contextLength": { type: "integer", default: 16384, minimum: 128, maximum: 10000000, description: t("config.memory.contextLength", "The context length (tokens) you plan to use: Hub model details show what each variant needs in memory at it, besides 8k and 32k, and suggest the best that fits this machine.") },
    "mlx.memory.budgetGB": { type: "number", default: 0, minimum: 0, maximum: 100000, description: t("config.memory.budgetGB", "The memory (GB) the running models may hold together. A request for a stopped model that would pass it first stops idle servers, least recently used first (never a pinned one or one answering a request). 0: all the memory this machine can give models.") },
    "mlx.servers.idleStopMinutes": { type: "integer", default: 30, minimum: 0, maximum: 10080, description: t("config.servers.idleStopMinutes", "Servers of profiles without an idle stop of their own stop after this many minutes without a request (0: never). Pinned profiles never stop for idleness.") },
    "mlx.gateway.queueMaxLength": { type: "integer", default: 512, minimum: 0, maximum: 100000, description: t("config.gateway.queueMaxLength", "Requests that may wait for a busy model server (per server); the next one is answered 503 with Retry-After (529 on /v1/messages).") },
    "mlx.gateway.queueTimeoutSec": { type: "integer", default: 300, minimum: 1, maximum: 86400, description: t("config.gateway.queueTimeoutSec", "How long a request may wait for its turn at a busy model server before it is answered 503 with Retry-After.") },
  },
};

// The first-run walkthrough: each step's button runs the command that does it; a step is done
// when its command has run (completionEvents).
const step = (id, title, description, media, doneWhen) => ({
  id,
  title: t(`walkthrough.${id}.title`, title),
  description: t(`walkthrough.${id}.description`, description),
  media: { markdown: `media/walkthrough/${media}.md` },
  completionEvents: doneWhen.map((command) => `onCommand:${command}`),
});
const walkthroughs = [
  {
    id: "mlx.gettingStarted",
    title: t("walkthrough.title", "Get Started with MLX Model Manager"),
    description: t("walkthrough.description", "Install an engine, download a model, run it, chat with it and share it with your team."),
    steps: [
      step("installEngine", "Install an engine", "Engines run the models: mlx-lm for MLX models on Apple silicon, the built-in llama engine or llama.cpp for GGUF models elsewhere.\n[Install an Engine](command:mlx.installEngine)", "engine", ["mlx.installEngine"]),
      step("findModel", "Search and download a model", "Search Hugging Face for MLX or GGUF models, see the files and size, and download into the Hugging Face cache.\n[Search Hugging Face](command:mlx.searchHub)", "model", ["mlx.searchHub"]),
      step("startServer", "Start it", "A profile names the model, the engine and the port; starting it runs a local OpenAI-compatible server.\n[Create Profile](command:mlx.createProfile)\n[Start Server](command:mlx.startServer)", "start", ["mlx.startServer", "mlx.startModel"]),
      step("chat", "Chat with it", "The dashboard shows each running server and a chat that streams the reply with its speed.\n[Open Dashboard](command:mlx.openDashboard)", "chat", ["mlx.openDashboard"]),
      step("share", "Share it with your team", "Open a shared listener so teammates sign in and use your models; you approve each account.\n[Start Shared Server](command:mlx.startSharedServer)", "share", ["mlx.startSharedServer"]),
    ],
  },
];

const contributes = {
  viewsContainers: { activitybar: [{ id: "mlx", title: t("container.title", "MLX Models"), icon: "media/mlx.svg" }] },
  views: {
    mlx: [
      { id: "mlx.models", name: t("view.models", "Models"), icon: "media/mlx.svg", contextualTitle: t("container.title", "MLX Models") },
      { id: "mlx.profiles", name: t("view.profiles", "Profiles"), icon: "media/mlx.svg", contextualTitle: t("container.title", "MLX Models") },
      { id: "mlx.servers", name: t("view.servers", "Servers"), icon: "media/mlx.svg", contextualTitle: t("container.title", "MLX Models") },
      { id: "mlx.jobs", name: t("view.jobs", "Fine-tuning Jobs"), icon: "media/mlx.svg", contextualTitle: t("container.title", "MLX Models"), visibility: "collapsed" },
      { id: "mlx.users", name: t("view.users", "Users"), icon: "media/mlx.svg", contextualTitle: t("container.title", "MLX Models"), visibility: "collapsed" },
      { id: "mlx.team", name: t("view.team", "Team Server"), icon: "media/mlx.svg", contextualTitle: t("container.title", "MLX Models"), visibility: "collapsed" },
    ],
  },
  viewsWelcome,
  commands,
  menus,
  configuration,
  walkthroughs,
  // Every profile in VS Code's language-model API and chat model picker (src/views/lm).
  languageModelChatProviders: [{ vendor: "mlx-manager", displayName: t("lm.displayName", "MLX") }],
  jsonValidation: [{ fileMatch: "**/.vscode/mlx-manager.json", url: "./media/schemas/mlx-manager.schema.json" }],
};

export { contributes, nls, commandList };

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const file = path.join(root, "package.json");
  const pkg = JSON.parse(readFileSync(file, "utf8"));
  pkg.displayName = "%displayName%";
  pkg.description = "%description%";
  pkg.contributes = contributes;
  pkg.l10n = "./l10n";
  writeFileSync(file, `${JSON.stringify(pkg, null, 2)}\n`);
  const strings = { displayName: "MLX Model Manager", description: "Find, download, run, watch and share local MLX and GGUF models from VS Code.", ...nls };
  writeFileSync(path.join(root, "package.nls.json"), `${JSON.stringify(strings, null, 2)}\n`);
  process.stdout.write(`wrote ${commands.length} commands, ${Object.keys(strings).length} strings\n`);
}
