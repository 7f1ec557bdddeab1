// The dashboard webview: Servers, Chat, Jobs and Benchmarks tabs. It speaks only to the extension host (bridge.ts).
import "@vscode-elements/elements/dist/vscode-button/index.js";
import "@vscode-elements/elements/dist/vscode-checkbox/index.js";
import "@vscode-elements/elements/dist/vscode-multi-select/index.js";
import "@vscode-elements/elements/dist/vscode-option/index.js";
import "@vscode-elements/elements/dist/vscode-single-select/index.js";
import "@vscode-elements/elements/dist/vscode-tab-header/index.js";
import "@vscode-elements/elements/dist/vscode-tab-panel/index.js";
import "@vscode-elements/elements/dist/vscode-tabs/index.js";
import "@vscode-elements/elements/dist/vscode-textarea/index.js";
import "@vscode-elements/elements/dist/vscode-textfield/index.js";
import "./styles.css";
import type { DashboardTab, HostMessage } from "../../src/shared/dashboard";
import type { ServerInfo } from "../../src/shared/servers";
import { BenchView, type BenchViewState } from "./bench";
import { HostBridge } from "./bridge";
import { ChatView, type ChatViewState } from "./chat";
import { h, toggleAttr } from "./dom";
import { JobsView, type JobsViewState } from "./jobs";
import { warmUpMarkdown } from "./markdown";
import { ServersView } from "./servers";

interface PanelState {
  tab: DashboardTab;
  chat: ChatViewState;
  jobs: JobsViewState;
  bench: BenchViewState;
}

const TABS: DashboardTab[] = ["servers", "chat", "jobs", "bench"];

const bridge = new HostBridge();
const saved = bridge.getState<PanelState>();
const servers = new Map<string, ServerInfo>();
let tab: PanelState["tab"] = saved.tab ?? "servers";

const banner = h("div", { class: "banner", role: "alert", hidden: true });
const saveState = (): void => { bridge.setState({ tab, chat: chat.state, jobs: jobsView.state, bench: benchView.state } satisfies PanelState); };
const chat = new ChatView(bridge, saveState);
const jobsView = new JobsView(
  bridge,
  {
    compare: (base, adapted) => {
      showTab("chat");
      chat.compareWith(base, adapted);
    },
    error: (message) => { flash(message); },
    changed: saveState,
  },
  saved.jobs ?? {},
);
const benchView = new BenchView(bridge, { error: (message) => { flash(message); }, changed: saveState }, saved.bench ?? {});
const serversView = new ServersView(bridge, {
  chat: (profileId) => {
    showTab("chat");
    chat.chatWith(profileId);
  },
  error: (message) => { flash(message); },
});

const tabs = h(
  "vscode-tabs",
  { "aria-label": "Dashboard" },
  h("vscode-tab-header", { slot: "header", "data-tab": "servers" }, "Servers"),
  h("vscode-tab-panel", {}, serversView.element),
  h("vscode-tab-header", { slot: "header", "data-tab": "chat" }, "Chat"),
  h("vscode-tab-panel", {}, chat.element),
  h("vscode-tab-header", { slot: "header", "data-tab": "jobs" }, "Jobs"),
  h("vscode-tab-panel", {}, jobsView.element),
  h("vscode-tab-header", { slot: "header", "data-tab": "bench" }, "Benchmarks"),
  h("vscode-tab-panel", {}, benchView.element),
) as HTMLElement & { selectedIndex: number };
tabs.addEventListener("vsc-tabs-select", () => {
  tab = TABS[tabs.selectedIndex] ?? "servers";
  saveState();
});

function showTab(next: DashboardTab): void {
  tab = next;
  tabs.selectedIndex = Math.max(0, TABS.indexOf(next));
  saveState();
}

let flashTimer: ReturnType<typeof setTimeout> | undefined;
function flash(message: string): void {
  banner.textContent = message;
  toggleAttr(banner, "hidden", false);
  clearTimeout(flashTimer);
  flashTimer = setTimeout(() => { toggleAttr(banner, "hidden", true); }, 8000);
}

function runningProfiles(): Set<string> {
  return new Set([...servers.values()].filter((s) => s.state === "running" || s.state === "starting" || s.state === "unhealthy").map((s) => s.profileId));
}

let profiles: Extract<HostMessage, { type: "profiles" }>["profiles"] = [];
function onMessage(message: HostMessage): void {
  switch (message.type) {
    case "init":
      profiles = message.profiles;
      servers.clear();
      for (const s of message.servers) servers.set(s.profileId, s);
      serversView.setProfiles(profiles);
      serversView.setServers(message.servers);
      if (message.metrics) serversView.updateMetrics(message.metrics);
      chat.setProfiles(profiles, runningProfiles());
      chat.adoptStreams(message.streams);
      jobsView.setJobs(message.jobs);
      benchView.setProfiles(profiles);
      benchView.setRuns(message.benchmarks, message.perplexity);
      toggleAttr(banner, "hidden", message.connected);
      if (!message.connected) banner.textContent = "Connecting to the manager…";
      break;
    case "connection":
      if (!message.connected) flash("The manager is not reachable; retrying…");
      else toggleAttr(banner, "hidden", true);
      break;
    case "profiles":
      profiles = message.profiles;
      serversView.setProfiles(profiles);
      benchView.setProfiles(profiles);
      chat.setProfiles(profiles, runningProfiles());
      break;
    case "server.changed":
      servers.set(message.server.profileId, message.server);
      serversView.updateServer(message.server);
      chat.setProfiles(profiles, runningProfiles());
      break;
    case "server.removed":
      servers.delete(message.profileId);
      serversView.removeServer(message.profileId);
      chat.setProfiles(profiles, runningProfiles());
      break;
    case "metrics":
      serversView.updateMetrics(message.snapshot);
      break;
    case "chat.delta":
      chat.onDelta(message.streamId, message.seq, message.text);
      break;
    case "chat.done":
      chat.onDone(message.streamId, message.conversation, message.stats);
      break;
    case "compare.done":
      chat.onCompareDone(message.streamId, message.text, message.stats);
      break;
    case "job.changed":
      jobsView.updateJob(message.job);
      break;
    case "job.report":
      jobsView.onReport(message.jobId, message.report);
      break;
    case "bench.changed":
      benchView.updateRun(message.run);
      break;
    case "bench.removed":
      benchView.removeRun(message.runId);
      break;
    case "perplexity.added":
      benchView.addPerplexity(message.result);
      break;
    case "show":
      showTab(message.tab);
      if (message.profileId) {
        if (message.tab === "chat") chat.chatWith(message.profileId);
        else if (message.tab === "jobs") jobsView.select(message.profileId, true);
        else if (message.tab === "bench") benchView.select(message.profileId);
        else serversView.selectProfile(message.profileId);
      }
      break;
    case "reply":
      break;
  }
}

const root = document.getElementById("root") ?? document.body;
root.replaceChildren(banner, tabs);
bridge.onMessage(onMessage);
if (tab !== "servers") showTab(tab);
// `ready` first: the host answers nothing before it.
bridge.ready();
chat.restore(saved.chat ?? {});
void chat.refreshList();
warmUpMarkdown();
