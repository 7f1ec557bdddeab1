import type { ProfileOption } from "../../src/shared/dashboard";
import type { MetricsSnapshot, ServerMetrics, SystemMetrics } from "../../src/shared/metrics";
import type { ServerInfo } from "../../src/shared/servers";
import type { HostBridge } from "./bridge";
import { figure, formatBytes, formatDuration, formatNumber, h, setAttr, setText, toggleAttr } from "./dom";
import { Sparkline } from "./sparkline";

export interface ServersViewEvents {
  /** "Chat" on a tile: open the chat tab talking to this profile. */
  chat(profileId: string): void;
  error(message: string): void;
}

/** The Servers tab: profile picker, system strip and one tile per server, patched in place. */
export class ServersView {
  readonly element: HTMLElement;
  private readonly tiles = new Map<string, ServerTile>();
  private readonly list: HTMLElement;
  private readonly empty: HTMLElement;
  private readonly picker: HTMLElement & { value: string };
  private readonly system: SystemStrip;
  private profiles: ProfileOption[] = [];
  private profileKey = "";
  private metrics: MetricsSnapshot | null = null;

  constructor(private readonly bridge: HostBridge, private readonly events: ServersViewEvents) {
    this.picker = h("vscode-single-select", { combobox: true, filter: "contains", "aria-label": "Profile to start", placeholder: "Search profiles by name or model", class: "profile-picker" });
    const start = h("vscode-button", { "data-action": "start-profile" }, "Start");
    start.addEventListener("click", () => {
      const id = this.picker.value;
      if (id) void this.act("servers.start", id);
    });
    this.system = new SystemStrip();
    this.list = h("div", { class: "tiles", role: "list", "aria-label": "Servers" });
    this.empty = h("p", { class: "empty" }, "No server runs. Pick a profile above and press Start.");
    this.element = h(
      "section",
      { class: "servers-view" },
      h("div", { class: "toolbar" }, this.picker, start),
      this.system.element,
      this.empty,
      this.list,
    );
  }

  setProfiles(profiles: ProfileOption[]): void {
    this.profiles = profiles;
    // The picker's options are rebuilt only when the profiles themselves change.
    const key = JSON.stringify(profiles.map((p) => [p.id, p.name, p.model]));
    if (key === this.profileKey) return;
    this.profileKey = key;
    const selected = this.picker.value;
    const options = profiles.map((p) => {
      const option = h("vscode-option", { value: p.id, description: p.engine }, `${p.name} — ${p.model}`);
      if (p.id === selected) option.setAttribute("selected", "");
      return option;
    });
    this.picker.replaceChildren(...options);
    for (const tile of this.tiles.values()) tile.setProfile(this.profiles.find((p) => p.id === tile.profileId));
  }

  /** The whole server list (init): adds, patches and removes tiles without touching the rest. */
  setServers(servers: ServerInfo[]): void {
    const ids = new Set(servers.map((s) => s.profileId));
    for (const id of [...this.tiles.keys()]) if (!ids.has(id)) this.removeServer(id);
    for (const server of servers) this.updateServer(server);
  }

  updateServer(server: ServerInfo): void {
    let tile = this.tiles.get(server.profileId);
    if (!tile) {
      tile = new ServerTile(server.profileId, this);
      this.tiles.set(server.profileId, tile);
      this.list.append(tile.element);
      tile.setProfile(this.profiles.find((p) => p.id === server.profileId));
      tile.updateMetrics(this.metrics?.servers.find((m) => m.profileId === server.profileId), this.metrics?.system.memoryTotalBytes);
    }
    tile.updateServer(server);
    this.updateCounts();
  }

  removeServer(profileId: string): void {
    const tile = this.tiles.get(profileId);
    if (!tile) return;
    tile.element.remove();
    this.tiles.delete(profileId);
    this.updateCounts();
  }

  updateMetrics(snapshot: MetricsSnapshot): void {
    this.metrics = snapshot;
    const byId = new Map(snapshot.servers.map((m) => [m.profileId, m]));
    for (const tile of this.tiles.values()) tile.updateMetrics(byId.get(tile.profileId), snapshot.system.memoryTotalBytes);
    this.system.update(snapshot.system, this.tiles.size);
  }

  selectProfile(profileId: string): void {
    this.picker.value = profileId;
  }

  /** A tile's action: the host does it; the tile's state follows from the server events. */
  async act(type: "servers.start" | "servers.stop" | "servers.restart", profileId: string): Promise<void> {
    try {
      await this.bridge.request(type, { profileId });
    } catch (error) {
      this.events.error(error instanceof Error ? error.message : String(error));
    }
  }

  async logs(profileId: string): Promise<string[]> {
    return (await this.bridge.request("servers.logs", { profileId })).lines;
  }

  chat(profileId: string): void {
    this.events.chat(profileId);
  }

  private updateCounts(): void {
    toggleAttr(this.empty, "hidden", this.tiles.size > 0);
    if (this.metrics) this.system.update(this.metrics.system, this.tiles.size);
  }
}

/** One server: built once; every update writes only the figures that changed. */
class ServerTile {
  readonly element: HTMLElement;
  private readonly name = h("span", { class: "tile-name" });
  private readonly state = h("span", { class: "state" });
  private readonly model = h("div", { class: "tile-model" });
  private readonly meta = h("div", { class: "tile-meta" });
  private readonly values: Record<"memory" | "cpu" | "tpsLast" | "tpsMinute" | "ttft" | "queue" | "queueWait" | "requests", HTMLElement>;
  private readonly memorySpark = new Sparkline("Memory over the last minutes");
  private readonly tpsSpark = new Sparkline("Tokens per second over the last minutes");
  private readonly failure = h("div", { class: "failure", hidden: true });
  private readonly failureText = h("p", { class: "failure-message" });
  private readonly failureLog = h("pre", { class: "log-tail" });
  private readonly logs = h("pre", { class: "log-tail logs", hidden: true, tabindex: "0" });
  private readonly buttons: Record<"stop" | "restart" | "start" | "logs" | "chat", HTMLElement>;
  private server: ServerInfo | undefined;
  private uptimeBase: { seconds: number; at: number } | undefined;

  constructor(readonly profileId: string, private readonly view: ServersView) {
    const value = (): HTMLElement => h("span", { class: "value" }, "n/a");
    this.values = { memory: value(), cpu: value(), tpsLast: value(), tpsMinute: value(), ttft: value(), queue: value(), queueWait: value(), requests: value() };
    const button = (action: string, label: string, secondary = true): HTMLElement => {
      const el = h("vscode-button", { "data-action": action, secondary }, label);
      el.addEventListener("click", () => { this.onAction(action); });
      return el;
    };
    this.buttons = {
      start: button("start", "Start", false),
      stop: button("stop", "Stop"),
      restart: button("restart", "Restart"),
      logs: button("logs", "Logs"),
      chat: button("chat", "Chat"),
    };
    this.failure.append(this.failureText, this.failureLog);
    this.element = h(
      "article",
      { class: "tile", role: "listitem", "data-profile-id": profileId },
      h("header", { class: "tile-header" }, this.name, this.state),
      this.model,
      this.meta,
      h(
        "div",
        { class: "figures" },
        figure("Memory", this.values.memory),
        figure("CPU", this.values.cpu),
        figure("Tokens/s last", this.values.tpsLast),
        figure("Tokens/s 1 min", this.values.tpsMinute),
        figure("TTFT p50", this.values.ttft),
        figure("Queue", this.values.queue),
        figure("Queue wait p50", this.values.queueWait),
        figure("Requests", this.values.requests),
      ),
      h("div", { class: "sparks" }, h("div", { class: "spark" }, h("span", { class: "label" }, "Memory"), this.memorySpark.element), h("div", { class: "spark" }, h("span", { class: "label" }, "Tokens/s"), this.tpsSpark.element)),
      this.failure,
      h("div", { class: "actions" }, this.buttons.start, this.buttons.stop, this.buttons.restart, this.buttons.logs, this.buttons.chat),
      this.logs,
    );
  }

  setProfile(profile: ProfileOption | undefined): void {
    if (profile) setText(this.name, profile.name);
  }

  updateServer(server: ServerInfo): void {
    this.server = server;
    setText(this.name, server.profileName);
    for (const [action, el] of Object.entries(this.buttons)) setAttr(el, "aria-label", `${action === "start" && server.state === "failed" ? "Retry" : capitalise(action)} ${server.profileName}`);
    const loading = server.state === "starting" && server.loading !== undefined && server.loading.modelBytes > 0 ? server.loading : undefined;
    const evicted = server.state === "stopped" && server.stopReason === "evicted" && server.evictedFor !== undefined ? `stopped to make room for ${server.evictedFor}` : undefined;
    setText(this.state, loading ? `loading ${formatBytes(loading.modelBytes)} (up to ${formatDuration(loading.timeoutMs / 1000)})` : (evicted ?? server.state));
    setAttr(this.element, "data-state", server.state);
    setText(this.model, server.model);
    setText(this.meta, where(server));
    const live = server.state === "running" || server.state === "unhealthy" || server.state === "starting";
    toggleAttr(this.buttons.start, "hidden", live || server.state === "stopping");
    setText(this.buttons.start, server.state === "failed" ? "Retry" : "Start");
    toggleAttr(this.buttons.stop, "hidden", !live);
    toggleAttr(this.buttons.restart, "hidden", !(server.state === "running" || server.state === "unhealthy"));
    toggleAttr(this.buttons.chat, "disabled", !live);
    const failed = server.failure && (server.state === "failed" || server.state === "unhealthy");
    toggleAttr(this.failure, "hidden", !failed);
    if (failed && server.failure) {
      setText(this.failureText, server.failure.message);
      setText(this.failureLog, server.failure.logTail.slice(-12).join("\n"));
    }
  }

  updateMetrics(metrics: ServerMetrics | undefined, totalMemory: number | undefined): void {
    if (!metrics) return;
    const share = metrics.memoryBytes !== null && totalMemory ? ` (${((metrics.memoryBytes / totalMemory) * 100).toFixed(1)}%)` : "";
    setText(this.values.memory, `${formatBytes(metrics.memoryBytes)}${share}`);
    setText(this.values.cpu, formatNumber(metrics.cpuPercent, 0, " %"));
    setText(this.values.tpsLast, formatNumber(metrics.tokensPerSecLast, 1));
    setText(this.values.tpsMinute, formatNumber(metrics.tokensPerSecMinute, 1));
    setText(this.values.ttft, formatNumber(metrics.ttftP50Ms, 0, " ms"));
    setText(this.values.queue, `${metrics.activeRequests}/${metrics.slots ?? "–"}${metrics.queueDepth > 0 ? ` · ${metrics.queueDepth} waiting` : ""}`);
    setText(this.values.queueWait, formatNumber(metrics.queueWaitP50Ms, 0, " ms"));
    setText(this.values.requests, String(metrics.requests));
    this.memorySpark.update(metrics.history.memoryBytes);
    this.tpsSpark.update(metrics.history.tokensPerSec);
    if (metrics.uptimeSeconds !== null) this.uptimeBase = { seconds: metrics.uptimeSeconds, at: Date.now() };
    if (this.server && this.uptimeBase) {
      setText(this.meta, `${where(this.server)} · up ${formatDuration(this.uptimeBase.seconds)}`);
    }
  }

  private onAction(action: string): void {
    switch (action) {
      case "start":
        void this.view.act("servers.start", this.profileId);
        break;
      case "stop":
        void this.view.act("servers.stop", this.profileId);
        break;
      case "restart":
        void this.view.act("servers.restart", this.profileId);
        break;
      case "chat":
        this.view.chat(this.profileId);
        break;
      case "logs":
        if (!this.logs.hidden) {
          this.logs.hidden = true;
          return;
        }
        void this.view.logs(this.profileId).then((lines) => {
          this.logs.textContent = lines.join("\n") || "(the log is empty)";
          this.logs.hidden = false;
          this.logs.scrollTop = this.logs.scrollHeight;
        });
        break;
      default:
        break;
    }
  }
}

class SystemStrip {
  readonly element: HTMLElement;
  private readonly memory = h("span", { class: "value", "data-figure": "memory" }, "n/a");
  private readonly pressure = h("span", { class: "value", "data-figure": "pressure" }, "n/a");
  private readonly gpu = h("span", { class: "value", "data-figure": "gpu" }, "n/a");
  private readonly servers = h("span", { class: "value", "data-figure": "servers" }, "0");
  private readonly spark = new Sparkline("System memory used over the last minutes");

  constructor() {
    this.element = h("div", { class: "system-strip", role: "group", "aria-label": "System" }, figure("Memory used / free", this.memory), this.spark.element, figure("Memory free (pressure)", this.pressure), figure("GPU", this.gpu), figure("Servers", this.servers));
  }

  update(system: SystemMetrics, servers: number): void {
    setText(this.memory, `${formatBytes(system.memoryUsedBytes)} / ${formatBytes(system.memoryTotalBytes - system.memoryUsedBytes)} of ${formatBytes(system.memoryTotalBytes)}`);
    setText(this.pressure, system.memoryFreePercent === null ? "n/a" : `${system.memoryFreePercent.toFixed(0)} %`);
    setText(this.gpu, system.gpuUtilizationPercent === null ? "n/a" : `${system.gpuUtilizationPercent.toFixed(0)} %`);
    setText(this.servers, String(servers));
    this.spark.update(system.history.memoryUsedBytes);
  }
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** Where a server runs: engine, port and pid here, or the remote backend and its address. */
function where(server: ServerInfo): string {
  if (server.remote !== undefined) return `on ${server.remote.backendName} · ${server.remote.url}`;
  const across = server.hosts !== undefined && server.hosts.length > 0 ? ` · across this Mac and ${server.hosts.join(", ")}` : "";
  return `${server.engine} · port ${server.port}${server.pid === undefined ? "" : ` · pid ${server.pid}`}${across}`;
}
