// The dashboard webview bundle in real Chromium, under the panel's HTML and CSP, bridged to the
// real DashboardHost, which talks to a real manager running the real `llama` engine.
import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import type { Locator } from "playwright-core";
import { ManagerClient } from "../../src/client/ManagerClient";
import type { Conversation } from "../../src/shared/conversations";
import type { HostMessage } from "../../src/shared/dashboard";
import type { Job, JobReport } from "../../src/shared/jobs";
import type { MetricsSnapshot, ServerMetrics } from "../../src/shared/metrics";
import type { Profile } from "../../src/shared/profiles";
import type { ServerInfo } from "../../src/shared/servers";
import { DashboardHost, type DashboardClient } from "../../src/views/dashboard/DashboardHost";
import { DashboardBrowser, type DashboardPage, type Theme } from "../helpers/dashboardPage";
import { removeTempDir } from "../helpers/hfCache";
import { ROOT, startManager, type RunningManager } from "../helpers/manager";
import { GGUF_REPO, killGroups, makeServerFixture, MLX_REPO, waitFor, type ServerFixture } from "../helpers/servers";

const quietLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

describe("the dashboard webview in Chromium, against a real manager", function () {
  this.timeout(120_000);
  let fixture: ServerFixture;
  let manager: RunningManager;
  let client: ManagerClient;
  let profile: Profile;
  const browser = new DashboardBrowser();
  const spawned = new Set<number>();
  const opened: { host: DashboardHost; dash: DashboardPage }[] = [];
  const saved: { fileName: string; content: string }[] = [];
  /** The editor commands the panel asked the host to run. */
  const commands: unknown[][] = [];

  /** A page with the real host behind it; `clientFor` may swap parts of the client. */
  async function openDashboard(options: { theme?: Theme; client?: DashboardClient; width?: number; height?: number } = {}): Promise<{ host: DashboardHost; dash: DashboardPage }> {
    const target: { dash?: DashboardPage } = {};
    const host = new DashboardHost({
      client: async () => options.client ?? client,
      logger: quietLogger,
      workspace: "test-workspace",
      flushMs: 16,
      platform: {
        saveFile: async (fileName, content) => {
          saved.push({ fileName, content });
          return true;
        },
        writeClipboard: async () => undefined,
        runCommand: async (command, ...args) => {
          commands.push([command, ...args]);
        },
      },
      post: (message) => {
        void target.dash?.post(message).catch(() => undefined);
        return true;
      },
    });
    const dash = (target.dash = await browser.open({ theme: options.theme ?? "dark", width: options.width ?? 1100, height: options.height ?? 800, onMessage: (m) => { host.receive(m); } }));
    await dash.load();
    const pair = { host, dash };
    opened.push(pair);
    return pair;
  }

  function tile(dash: DashboardPage, id: string): Locator {
    return dash.page.locator(`.tile[data-profile-id="${id}"]`);
  }

  async function chatTab(dash: DashboardPage): Promise<void> {
    await dash.page.locator('vscode-tab-header[data-tab="chat"]').click();
    await dash.page.locator(".chat-view").waitFor({ state: "visible" });
  }

  async function setTarget(dash: DashboardPage, name: string): Promise<void> {
    await dash.page.locator(".target-picker").evaluate((el, value) => { (el as unknown as { value: string }).value = value; }, name);
  }

  async function setMaxTokens(dash: DashboardPage, value: number): Promise<void> {
    await dash.page.locator('input[aria-label="Max tokens"]').fill(String(value));
  }

  before(async () => {
    fixture = await makeServerFixture("mlx-dashboard-");
    // Fine-tuning runs our entry point with Debian's python3 against the mlx_lm stand-in package.
    const training = { MLX_MANAGER_TRAIN_PYTHON: "python3", PYTHONPATH: path.join(ROOT, "test", "helpers", "standins", "python"), STANDIN_TRAIN_STEP_MS: "10" };
    manager = await startManager({ dataDir: fixture.dataDir, hfCache: fixture.hfCache, env: { ...fixture.env, ...training } });
    client = new ManagerClient({ url: manager.url, token: manager.token });
    profile = await client.createProfile({ name: "Story", engine: "llama", model: { source: "cache", repoId: GGUF_REPO }, options: { threads: 1, contextLength: 2048 } });
    await browser.start();
  });

  after(async () => {
    for (const { host, dash } of opened) {
      host.dispose();
      await dash.close().catch(() => undefined);
    }
    await browser.stop();
    const servers = await client.servers().catch(() => ({ servers: [] as ServerInfo[] }));
    for (const s of servers.servers) if (s.pid !== undefined) spawned.add(s.pid);
    await manager.api("POST", "/api/servers/stop-all").catch(() => undefined);
    await manager.stop();
    killGroups(spawned);
    removeTempDir(fixture.root);
  });

  it("starts a server from the searchable profile picker, shows its tile with live figures, stops and starts it from the tile", async () => {
    const { dash } = await openDashboard();
    await dash.page.locator(".servers-view .empty").waitFor({ state: "visible" });
    // The combobox filters by name and by model path; Enter picks the highlighted one.
    const input = dash.page.locator(".profile-picker input");
    await input.click();
    await input.pressSequentially("tiny-gguf");
    await dash.page.keyboard.press("ArrowDown");
    await dash.page.keyboard.press("Enter");
    assert.equal(await dash.page.locator(".profile-picker").evaluate((el) => (el as unknown as { value: string }).value), profile.id);
    await dash.page.locator('vscode-button[data-action="start-profile"]').click();

    const story = tile(dash, profile.id);
    await story.waitFor({ state: "visible", timeout: 10_000 });
    await waitFor(async () => (await story.getAttribute("data-state")) === "running", 30_000, "the tile to show running");
    const running = await client.server(profile.id);
    if (running.pid !== undefined) spawned.add(running.pid);
    assert.match(await story.locator(".tile-meta").innerText(), new RegExp(`llama · port ${running.port}`));

    // A request through the gateway shows up in the tile's figures and sparkline.
    for await (const _ of client.chatStream({ model: "Story", messages: [{ role: "user", content: "Once upon a time" }], max_tokens: 24, seed: 1 }, new AbortController().signal)) {
      // drain
    }
    const requests = story.locator(".figure", { hasText: "Requests" }).locator(".value");
    await waitFor(async () => (await requests.innerText()) === "1", 15_000, "the tile's request count to update");
    assert.match(await story.locator(".figure", { hasText: "Tokens/s last" }).locator(".value").innerText(), /^\d+\.\d$/);
    assert.match(await story.locator(".figure", { hasText: "Memory" }).first().locator(".value").innerText(), /MB \(\d+\.\d%\)$/);
    assert.match(await story.locator(".figure", { hasText: "TTFT p50" }).locator(".value").innerText(), /^\d+ ms$/);
    assert.notEqual(await story.locator(".sparkline polyline").first().getAttribute("points"), "", "the memory sparkline has points");
    assert.equal(await dash.page.locator('.system-strip [data-figure="gpu"]').innerText(), "n/a", "no GPU figure off macOS");

    const element = await story.elementHandle();
    await story.locator('vscode-button[data-action="stop"]').click();
    await waitFor(async () => (await story.getAttribute("data-state")) === "stopped", 20_000, "the tile to show stopped");
    await story.locator('vscode-button[data-action="start"]').click();
    await waitFor(async () => (await story.getAttribute("data-state")) === "running", 30_000, "the tile to run again");
    assert.ok(await element.evaluate((el) => (el as unknown as { isConnected: boolean }).isConnected), "the same tile element lived through stop and start");
    assert.deepEqual(await dash.cspViolations(), [], "no CSP violation");
    assert.deepEqual(dash.pageErrors, []);
    await dash.page.locator(".tile").first().scrollIntoViewIfNeeded();
    await dash.screenshot("servers-dark");
    await dash.close();
  });

  it("shows a tile's queue, and says when its server was stopped to make room for another model", async () => {
    const { dash } = await openDashboard();
    const story = tile(dash, profile.id);
    await story.waitFor({ state: "visible", timeout: 10_000 });
    for await (const _ of client.chatStream({ model: "Story", messages: [{ role: "user", content: "Once upon a time" }], max_tokens: 8 }, new AbortController().signal)) {
      // drain
    }
    await waitFor(async () => /^0\/1$/.test(await story.locator(".figure", { has: dash.page.locator(".label", { hasText: /^Queue$/ }) }).locator(".value").innerText()), 15_000, "the queue figure: none answered of 1 slot");
    assert.match(await story.locator(".figure", { hasText: "Queue wait p50" }).locator(".value").innerText(), /^\d+ ms$/);

    // A budget of one server: a request for another profile stops Story to make room.
    const other = await client.createProfile({ name: "Other", engine: "llama", model: { source: "cache", repoId: GGUF_REPO }, options: { threads: 1, contextLength: 2048 } });
    const held = (await client.memoryBudget()).heldBytes;
    await client.updateSettings({ memoryBudgetBytes: Math.round(held * 1.5) });
    try {
      for await (const _ of client.chatStream({ model: "Other", messages: [{ role: "user", content: "Hi" }], max_tokens: 2 }, new AbortController().signal)) {
        // drain
      }
      const otherServer = await client.server(other.id);
      if (otherServer.pid !== undefined) spawned.add(otherServer.pid);
      await waitFor(async () => (await story.locator(".tile-header").innerText()).includes("stopped to make room for Other"), 20_000, "Story's tile to say it made room");
      assert.equal(await story.getAttribute("data-state"), "stopped");
      await story.scrollIntoViewIfNeeded();
      await dash.screenshot("servers-made-room-dark");
    } finally {
      await client.updateSettings({ memoryBudgetBytes: null });
      await client.stopServer(other.id).catch(() => undefined);
    }
    await dash.close();
  });

  it("streams a real reply from the llama engine through the host, with its figures, and saves the conversation", async () => {
    const { dash } = await openDashboard({ theme: "light" });
    await chatTab(dash);
    await setTarget(dash, "Story");
    await setMaxTokens(dash, 48);
    const composer = dash.page.locator(".composer-input textarea");
    await composer.fill("Tell me a story about a cat.");
    await composer.press("Enter");
    const reply = dash.page.locator(".message.assistant").last();
    await waitFor(async () => /completion tokens/.test(await reply.locator(".stats").innerText()), 60_000, "the reply's figures");
    const stats = await reply.locator(".stats").innerText();
    assert.match(stats, /TTFT \d+ ms · [\d.]+ tokens\/s · \d+ prompt \+ 48 completion tokens/);
    // textContent: finished blocks off screen are skipped by layout (content-visibility), not gone.
    const text = (await reply.locator(".message-body").textContent()) ?? "";
    assert.ok(text.trim().length > 0, "real tokens arrived");
    assert.equal(await dash.page.locator(".composer-input").evaluate((el) => (el as unknown as { value: string }).value), "", "Enter sent and cleared the box");

    const list = await client.conversations("test-workspace");
    assert.equal(list.conversations.length, 1);
    const conversation = await client.conversation(list.conversations[0]!.id);
    assert.equal(conversation.messages.length, 2);
    assert.equal(conversation.messages[1]?.stats?.completionTokens, 48);
    assert.equal(normalise(conversation.messages[1].content), normalise(text), "the panel shows the whole saved reply");
    await dash.page.locator(".chat-view").waitFor();
    await dash.screenshot("chat-light");

    // Shift+Enter is a newline, not a send.
    await composer.fill("line one");
    await composer.press("Shift+Enter");
    await composer.pressSequentially("line two");
    assert.equal(await dash.page.locator(".message").count(), 2);
    assert.equal(await dash.page.locator(".composer-input").evaluate((el) => (el as unknown as { value: string }).value), "line one\nline two");
    await dash.close();
  });

  it("Stop aborts the stream upstream; the partial reply is kept and marked stopped", async () => {
    const { host, dash } = await openDashboard();
    await chatTab(dash);
    await setTarget(dash, "Story");
    await setMaxTokens(dash, 2000);
    const composer = dash.page.locator(".composer-input textarea");
    await composer.fill("Tell me a very long story.");
    await composer.press("Enter");
    const reply = dash.page.locator(".message.assistant").last();
    await waitFor(async () => (await reply.locator(".message-body").innerText()).trim().length > 0, 30_000, "the first tokens");
    await dash.page.locator('vscode-button[data-action="stop-stream"]').click();
    await waitFor(async () => /stopped/.test(await reply.locator(".stats").innerText()), 10_000, "the reply to show stopped");
    assert.equal(host.activeStreams, 0);
    const list = await client.conversations("test-workspace");
    const latest = await client.conversation(list.conversations[0]!.id);
    const last = latest.messages.at(-1);
    assert.equal(last?.stats?.aborted, true);
    assert.ok(last.content.length > 0, "the partial reply is saved");
    // The engine stopped generating: the server is idle again and takes the next request at once.
    const started = Date.now();
    for await (const _ of client.chatStream({ model: "Story", messages: [{ role: "user", content: "Hi" }], max_tokens: 4 }, new AbortController().signal)) {
      // drain
    }
    assert.ok(Date.now() - started < 5000, "the aborted generation is not still running upstream");
    await dash.close();
  });

  it("keeps streaming while the panel is hidden and shows all of it on return", async () => {
    const { host, dash } = await openDashboard();
    await chatTab(dash);
    await setTarget(dash, "Story");
    await setMaxTokens(dash, 1504);
    const composer = dash.page.locator(".composer-input textarea");
    await composer.fill("Another story, please.");
    await composer.press("Enter");
    const reply = dash.page.locator(".message.assistant").last();
    await waitFor(async () => (await reply.locator(".message-body").innerText()).trim().length > 0, 30_000, "the first tokens");
    host.setVisible(false);
    await dash.unload();
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(host.activeStreams, 1, "the reply is still streaming when the panel comes back");
    host.setVisible(true);
    await dash.load();
    // The webview restored its tab and conversation from setState; the host replayed the stream.
    const back = dash.page.locator(".message.assistant").last();
    await waitFor(async () => /completion tokens/.test(await back.locator(".stats").innerText()), 60_000, "the reply to finish");
    const list = await client.conversations("test-workspace");
    const conversation = await client.conversation(list.conversations[0]!.id);
    const saved = conversation.messages.at(-1)?.content ?? "";
    assert.ok(saved.length > 0);
    assert.equal(normalise((await back.locator(".message-body").textContent()) ?? ""), normalise(saved), "nothing streamed while hidden is missing");
    await dash.close();
  });

  it("edits an earlier user message and regenerates from there; renames, exports and deletes the conversation", async () => {
    const { dash } = await openDashboard();
    await chatTab(dash);
    const list = await client.conversations("test-workspace");
    const first = list.conversations.at(-1)!;
    await dash.page.locator(`.conversation[data-id="${first.id}"]`).click();
    await dash.page.locator(".message.user").first().waitFor();
    await setMaxTokens(dash, 16);
    await dash.page.locator('.message.user [data-action="edit"]').first().click();
    const editor = dash.page.locator('.edit-box vscode-textarea textarea');
    await editor.fill("A story about a dog instead.");
    await dash.page.locator('.edit-box vscode-button[data-action="regenerate"]').click();
    await waitFor(async () => /16 completion tokens/.test(await dash.page.locator(".message.assistant").last().locator(".stats").innerText()), 60_000, "the regenerated reply");
    const conversation = await client.conversation(first.id);
    assert.deepEqual(conversation.messages.map((m) => m.role), ["user", "assistant"]);
    assert.equal(conversation.messages[0]?.content, "A story about a dog instead.");

    const title = dash.page.locator(".conversation-title input");
    await title.fill("Dog story");
    await title.press("Enter");
    await title.blur();
    await waitFor(async () => (await client.conversation(first.id)).title === "Dog story", 5000, "the rename");

    await dash.page.locator('vscode-button[data-action="export-md"]').click();
    await waitFor(() => saved.find((s) => s.fileName === "Dog story.md"), 5000, "the Markdown export");
    assert.match(saved.find((s) => s.fileName === "Dog story.md")?.content ?? "", /^# Dog story\n[\s\S]*## User\n\nA story about a dog instead\.\n[\s\S]*## Assistant \(Story\)/);
    await dash.page.locator('vscode-button[data-action="export-json"]').click();
    const json = await waitFor(() => saved.find((s) => s.fileName === "Dog story.json"), 5000, "the JSON export");
    assert.equal((JSON.parse(json.content) as Conversation).id, first.id);

    await dash.page.locator('vscode-button[data-action="delete"]').click();
    await dash.page.locator('vscode-button[data-action="delete"]').click();
    await waitFor(async () => !(await client.conversations("test-workspace")).conversations.some((c) => c.id === first.id), 5000, "the delete");
    await dash.close();
  });

  it("renders a reply's markdown inert: no script runs, no inline handler fires, no remote image loads", async () => {
    const hits: string[] = [];
    const tracker = http.createServer((req, res) => {
      hits.push(req.url ?? "");
      res.writeHead(200, { "content-type": "image/png" }).end();
    });
    await new Promise<void>((resolve) => tracker.listen(0, "127.0.0.1", resolve));
    const port = (tracker.address() as { port: number }).port;
    const evil = [
      "Here is **bold** and a list:\n\n- one\n- two\n\n",
      "<script>window.__pwned = 'script'</script>\n\n",
      `<img src="http://127.0.0.1:${port}/raw.png" onerror="window.__pwned = 'onerror'">\n\n`,
      `![tracker](http://127.0.0.1:${port}/md.png)\n\n`,
      `<a href="javascript:window.__pwned='href'" onclick="window.__pwned='click'">click me</a>\n\n`,
      "Inline <b onmouseover=\"window.__pwned='inline'\">html</b> and [a link](javascript:window.__pwned='md') [safe](https://example.com/).\n\n",
      `<svg onload="window.__pwned='svg'"><circle r="1"/></svg>\n\n`,
      "```js\nconsole.log('code stays text <b>not bold</b>');\n```\n",
    ];
    // The real client, but the model's reply is the text above, streamed in small pieces.
    const evilClient: DashboardClient = Object.assign(Object.create(client) as ManagerClient, {
      async *chatStream() {
        for (const part of evil) for (let i = 0; i < part.length; i += 7) yield { type: "delta" as const, text: part.slice(i, i + 7) };
        yield { type: "usage" as const, promptTokens: 3, completionTokens: 40 };
      },
    });
    const { dash } = await openDashboard({ client: evilClient });
    await chatTab(dash);
    await setTarget(dash, "Story");
    const composer = dash.page.locator(".composer-input textarea");
    await composer.fill("Show me some HTML.");
    await composer.press("Enter");
    const reply = dash.page.locator(".message.assistant").last();
    await waitFor(async () => /completion tokens/.test(await reply.locator(".stats").innerText()), 10_000, "the reply");
    await reply.locator("text=click me").click();
    await reply.locator("a", { hasText: "a link" }).click();
    // The saved conversation, opened again, renders through the non-streaming path.
    const id = (await client.conversations("test-workspace")).conversations[0]!.id;
    await dash.page.locator('vscode-button[data-action="new-chat"]').click();
    await dash.page.locator(`.conversation[data-id="${id}"]`).click();
    await dash.page.locator(".message.assistant .code-block").waitFor();
    const body = dash.page.locator(".message.assistant").last().locator(".message-body");
    assert.equal(await dash.page.evaluate("window.__pwned"), undefined, "nothing the model wrote ran");
    assert.equal(await dash.page.locator(".messages script, .messages img, .messages [onerror], .messages [onclick]").count(), 0);
    assert.equal(await body.locator("a", { hasText: "a link" }).getAttribute("href"), null, "javascript: links lose their href");
    assert.equal(await body.locator("a", { hasText: "safe" }).getAttribute("href"), "https://example.com/");
    // Raw HTML is shown as the text the model wrote, never parsed.
    const text = await body.innerText();
    for (const raw of ["<script>window.__pwned = 'script'</script>", `onerror="window.__pwned = 'onerror'"`, `<a href="javascript:`, `<b onmouseover=`, `<svg onload=`]) assert.ok(text.includes(raw), `shown as text: ${raw}`);
    assert.equal(await body.locator("svg, b").count(), 0, "no element from raw HTML");
    assert.match(await body.locator(".code-block pre").innerText(), /<b>not bold<\/b>/);
    assert.equal(await body.locator("strong").innerText(), "bold");
    assert.match(await body.innerText(), /\[image: tracker\]/);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual(hits, [], "no remote image was requested");
    assert.deepEqual(await dash.cspViolations(), [], "no CSP violation: the hostile markup never reached a parser");
    assert.deepEqual(dash.pageErrors, []);
    await dash.close();
    await new Promise<void>((resolve) => tracker.close(() => { resolve(); }));
  });

  it("patches 20 tiles in place: scroll position kept across 50 updates, no nodes for unchanged tiles, a restarting tile never disappears", async () => {
    // This test plays the host itself: 20 servers are more than this machine should run.
    const dash = await browser.open({ theme: "dark", width: 1000, height: 700, onMessage: () => undefined });
    await dash.load();
    const servers = Array.from({ length: 20 }, (_, i) => fakeServer(i));
    await dash.post({ type: "init", connected: true, profiles: servers.map((s) => ({ id: s.profileId, name: s.profileName, engine: s.engine, model: s.model })), servers, metrics: fakeMetrics(servers, 0), streams: [], jobs: [], benchmarks: [], perplexity: [] });
    await dash.page.locator(".tile").nth(19).waitFor();
    const scroller = dash.page.locator(".servers-view");
    await scroller.evaluate((el) => { (el as unknown as { scrollTop: number }).scrollTop = 900; });
    const before = await scroller.evaluate((el) => (el as unknown as { scrollTop: number }).scrollTop);
    assert.ok(before > 0, "the list scrolls");
    await dash.page.evaluate(`
      window.__added = 0;
      window.__tiles = [...document.querySelectorAll(".tile")];
      new MutationObserver((records) => { for (const r of records) window.__added += r.addedNodes.length; })
        .observe(document.querySelector(".tiles"), { subtree: true, childList: true });
    `);
    for (let n = 1; n <= 50; n++) {
      const restarting = servers.map((s, i) => (i === 3 ? { ...s, state: n % 2 === 0 ? ("starting" as const) : ("stopping" as const) } : s));
      await dash.post({ type: "server.changed", server: restarting[3]! });
      // Only server 5's figures change; the other 19 get the same numbers again.
      await dash.post({ type: "metrics", snapshot: fakeMetrics(servers, n, 5) });
    }
    await dash.page.evaluate("new Promise((resolve) => requestAnimationFrame(resolve))");
    assert.equal(await scroller.evaluate((el) => (el as unknown as { scrollTop: number }).scrollTop), before, "the scroll position did not move");
    const result = await dash.page.evaluate<{ added: number; same: boolean }>(`(() => {
      const now = [...document.querySelectorAll(".tile")];
      return { added: window.__added, same: now.length === window.__tiles.length && now.every((t, i) => t === window.__tiles[i]) };
    })()`);
    assert.ok(result.same, "the very same 20 tile elements, in order (the restarting one included)");
    // Server 5's changed figures replace text nodes (5 figures + uptime per update); nothing else is created.
    assert.ok(result.added <= 50 * 8, `nodes added: ${result.added}`);
    assert.equal(await dash.page.locator(`.tile[data-profile-id="p3"]`).getAttribute("data-state"), "starting");
    await dash.screenshot("tiles-20-dark");
    await dash.close();
  });

  it("looks right in light, dark and high-contrast themes (screenshots for a person to check)", async () => {
    for (const theme of ["light", "dark", "high-contrast"] as const) {
      const { dash } = await openDashboard({ theme, width: 1100, height: 760 });
      await tile(dash, profile.id).waitFor({ timeout: 10_000 });
      // Two metrics samples filled the figures (CPU takes two; the sampler runs every 2 s while watched).
      await tile(dash, profile.id).locator(".figure", { hasText: "CPU" }).locator(".value", { hasText: /%/ }).waitFor({ timeout: 10_000 });
      await dash.screenshot(`servers-${theme}`);
      await chatTab(dash);
      const id = (await client.conversations("test-workspace")).conversations[0]?.id;
      if (id) await dash.page.locator(`.conversation[data-id="${id}"]`).click();
      await dash.page.locator(".message").first().waitFor();
      await dash.screenshot(`chat-${theme}`);
      assert.deepEqual(await dash.cspViolations(), []);
      await dash.close();
    }
  });

  it("Compare: one prompt to two real llama servers side by side, each with its figures and its own Stop; nothing is saved", async () => {
    const second = await client.createProfile({ name: "Story B", engine: "llama", model: { source: "cache", repoId: GGUF_REPO }, options: { threads: 1, contextLength: 2048 } });
    const { host, dash } = await openDashboard({ theme: "dark", width: 1200, height: 800 });
    await chatTab(dash);
    const before = (await client.conversations("test-workspace")).conversations.length;
    await dash.page.locator('.compare-picker vscode-option[value="Story B"]').waitFor({ state: "attached", timeout: 10_000 });

    // The toggle works from the keyboard and shows the second picker in place of the messages.
    const toggle = dash.page.locator('vscode-button[data-action="compare-toggle"]');
    await toggle.focus();
    await dash.page.keyboard.press("Enter");
    assert.equal(await toggle.getAttribute("aria-pressed"), "true");
    await dash.page.locator(".compare-field").waitFor({ state: "visible" });
    assert.equal(await dash.page.locator(".messages").isVisible(), false);
    await setTarget(dash, "Story");
    await dash.page.locator(".compare-picker").evaluate((el) => { (el as unknown as { value: string }).value = "Story B"; });
    await setMaxTokens(dash, 48);
    const composer = dash.page.locator(".composer-input textarea");
    await composer.fill("Tell me a story about two cats.");
    await composer.press("Enter");

    const left = dash.page.locator('.compare-column[data-side="left"]');
    const right = dash.page.locator('.compare-column[data-side="right"]');
    assert.equal(await left.locator(".compare-model").innerText(), "Story");
    assert.equal(await right.locator(".compare-model").innerText(), "Story B");
    // Each side carries its own TTFT, tokens/s and token counts once it has finished.
    const figures = /^TTFT \d+ ms · [\d.]+ tokens\/s · \d+ prompt \+ 48 completion tokens$/;
    for (const side of [left, right]) {
      await waitFor(async () => figures.test(await side.locator(".compare-stats").innerText()), 90_000, "a side's figures");
      assert.ok(((await side.locator(".message-body").textContent()) ?? "").trim().length > 0, "real tokens arrived on this side");
    }
    await waitFor(() => host.activeStreams === 0, 5000, "both streams to end");
    await dash.page.locator(".compare-body").first().evaluate((el) => { (el as unknown as { scrollTop: number }).scrollTop = 0; });
    await dash.screenshot("compare-dark");

    // Stop on one side leaves the other streaming to its end.
    // ~400 tokens/s on this tiny model: enough tokens that both still run when Stop is pressed.
    await setMaxTokens(dash, 1904);
    await composer.fill("Tell me a very long story about a lighthouse.");
    await composer.press("Enter");
    await waitFor(async () => ((await left.locator(".message-body").textContent()) ?? "").trim().length > 0, 60_000, "the left side's first tokens");
    assert.equal(host.activeStreams, 2, "both sides stream at once");
    await dash.screenshot("compare-streaming-dark");
    await left.locator('vscode-button[data-action="compare-stop"]').focus();
    await dash.page.keyboard.press("Enter");
    await waitFor(async () => /stopped/.test(await left.locator(".compare-stats").innerText()), 10_000, "the left side to show stopped");
    assert.equal(host.activeStreams, 1, "the right side still streams");
    assert.equal(await right.locator('vscode-button[data-action="compare-stop"]').isVisible(), true, "the right side keeps its Stop while it runs");
    // Hidden and shown again, the panel still shows the comparison, and the right side ends there.
    host.setVisible(false);
    await dash.unload();
    await new Promise((resolve) => setTimeout(resolve, 300));
    host.setVisible(true);
    await dash.load();
    await right.waitFor({ state: "visible", timeout: 10_000 });
    assert.match(await left.locator(".compare-stats").innerText(), /stopped/, "the stopped side came back with its figures");
    await waitFor(async () => /completion tokens$/.test(await right.locator(".compare-stats").innerText()), 120_000, "the right side to finish");
    assert.doesNotMatch(await right.locator(".compare-stats").innerText(), /stopped/);
    assert.match(await right.locator(".compare-stats").innerText(), /^TTFT \d+ ms · [\d.]+ tokens\/s/);
    assert.ok(((await right.locator(".message-body").textContent()) ?? "").trim().length > 0);
    assert.equal(host.activeStreams, 0);

    assert.equal((await client.conversations("test-workspace")).conversations.length, before, "a comparison saves no conversation");
    // Compare off: the conversation view is back.
    await toggle.click();
    await dash.page.locator(".messages").waitFor({ state: "visible" });
    assert.equal(await dash.page.locator(".compare").isVisible(), false);
    assert.deepEqual(await dash.cspViolations(), []);
    assert.deepEqual(dash.pageErrors, []);
    await dash.close();
    const b = await client.server(second.id).catch(() => undefined);
    if (b?.pid !== undefined) spawned.add(b.pid);
  });

  it("Jobs: a real fine-tuning job drawn live as it runs (train and validation loss, log scale), then Compare with Base Model answers from the base and the adapter side by side", async () => {
    const train = path.join(fixture.root, "train.jsonl");
    fs.writeFileSync(train, `${Array.from({ length: 24 }, (_, i) => JSON.stringify({ messages: [{ role: "user", content: `What is ${i} + 1?` }, { role: "assistant", content: String(i + 1) }] })).join("\n")}\n`);
    const { dash } = await openDashboard({ theme: "dark", width: 1200, height: 860 });
    await dash.page.locator('vscode-tab-header[data-tab="jobs"]').click();
    // No job yet: the tab says what a job is and offers the editor's Fine-tune a Model….
    await dash.page.locator(".jobs-empty").waitFor({ state: "visible" });
    await dash.page.locator('.jobs-empty vscode-button[data-action="fine-tune"]').click();
    await waitFor(() => commands.some((c) => c[0] === "mlx.fineTune"), 5000, "the Fine-tune command to be asked for");

    const created = await client.createJob({ name: "adder", model: { source: "cache", repoId: MLX_REPO }, train, settings: { iters: 240, num_layers: 2, batch_size: 2, steps_per_report: 4, steps_per_eval: 60, val_batches: 2 } });
    const row = dash.page.locator(`.job-row[data-job-id="${created.id}"]`);
    await row.waitFor({ state: "visible", timeout: 10_000 });
    assert.equal(await row.getAttribute("aria-selected"), "true", "the only job is picked");
    // While it runs, points are added to the chart as reports arrive (not only once it ends).
    const seen = new Set<string>();
    const points = async (): Promise<string> => (await dash.page.locator(".series-train").getAttribute("points")) ?? "";
    await waitFor(async () => {
      if ((await row.getAttribute("data-state")) === "running") {
        const n = (await points()).split(" ").filter(Boolean).length;
        if (n > 0) seen.add(String(n));
      }
      return (await row.getAttribute("data-state")) === "completed";
    }, 60_000, "the job to complete");
    assert.ok(seen.size >= 2, `the chart grew while the job ran (train points seen: ${[...seen].join(", ")})`);
    const reports = (await client.jobReports(created.id)).reports;
    const trainReports = reports.filter((r) => r.event === "train");
    const valReports = reports.filter((r) => r.event === "val");
    await waitFor(async () => (await points()).split(" ").length === trainReports.length, 5000, "every train report drawn");
    assert.equal(trainReports.length, 60);
    assert.equal(((await dash.page.locator(".series-valid").getAttribute("points")) ?? "").split(" ").length, valReports.length, "every validation report drawn");
    const detail = dash.page.locator(".job-detail");
    assert.equal(await detail.locator('[data-figure="iteration"]').innerText(), "240 / 240");
    const last = trainReports.at(-1);
    assert.equal(await detail.locator('[data-figure="train"]').innerText(), last?.train_loss?.toFixed(last.train_loss >= 1 ? 2 : 3));
    assert.match(await detail.locator('[data-figure="tokens"]').innerText(), /^[\d,]+$/);
    assert.match(await detail.locator(".job-meta").innerText(), /mlx-community\/tiny-4bit · lora rank 8 · 2 layers · batch 2/);
    await waitFor(async () => /Saved final weights/.test(await detail.locator(".job-log").innerText()), 5000, "the log's tail");
    assert.match((await dash.page.locator(".loss-chart").getAttribute("aria-label")) ?? "", /^Loss chart: train loss [\d.]+ at iteration 240, validation loss [\d.]+ at iteration \d+$/);
    // The chart's cursor reads out the nearest report.
    const box = await dash.page.locator(".loss-chart").boundingBox();
    if (box) await dash.page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await waitFor(async () => /^Iteration \d+ · train [\d.]+/.test(await dash.page.locator(".chart-readout").innerText()), 2000, "the hover read-out");
    await dash.screenshot("jobs-dark");
    // Log scale: the y ticks become decades and their 1-2-5 steps, and the chart says so.
    const linearTicks = await dash.page.locator(".tick-y").allInnerTexts();
    await dash.page.locator('vscode-checkbox[data-action="log-scale"]').click();
    await waitFor(async () => /\(log scale\)/.test((await dash.page.locator(".loss-chart").getAttribute("aria-label")) ?? ""), 2000, "the log scale");
    assert.notDeepEqual(await dash.page.locator(".tick-y").allInnerTexts(), linearTicks);
    await dash.page.mouse.move(5, 5);
    await dash.screenshot("jobs-log-dark");
    // A finished job's actions; Fuse and Serve ask for names in the editor, so they run its commands.
    await detail.locator('vscode-button[data-action="fuse"]').click();
    await waitFor(() => commands.some((c) => c[0] === "mlx.fuseJobAdapter" && c[1] === created.id), 5000, "Fuse to run the editor's command for this job");
    assert.equal(await detail.locator('vscode-button[data-action="cancel"]').isVisible(), false);

    // Compare with Base Model: two profiles (the base, and the base with the adapter), then Compare with both.
    await detail.locator('vscode-button[data-action="compare"]').click();
    await dash.page.locator(".compare-field").waitFor({ state: "visible", timeout: 10_000 });
    const value = (selector: string): Promise<string> => dash.page.locator(selector).evaluate((el) => (el as unknown as { value: string }).value);
    assert.equal(await value(".target-picker"), "adder-base");
    assert.equal(await value(".compare-picker"), "adder-adapter");
    const profiles = (await client.profiles()).profiles;
    const base = profiles.find((p) => p.name === "adder-base");
    const adapted = profiles.find((p) => p.name === "adder-adapter");
    assert.deepEqual([base?.engine, base?.options.adapterPath], ["mlx-lm", undefined]);
    assert.deepEqual([adapted?.engine, adapted?.options.adapterPath], ["mlx-lm", (await client.job(created.id)).adapterPath]);
    const composer = dash.page.locator(".composer-input textarea");
    await composer.fill("What is 2 + 1?");
    await composer.press("Enter");
    for (const side of ["left", "right"]) {
      await waitFor(async () => /^TTFT \d+ ms · [\d.]+ tokens\/s · \d+ prompt \+ \d+ completion tokens$/.test(await dash.page.locator(`.compare-column[data-side="${side}"] .compare-stats`).innerText()), 60_000, `the ${side} side's figures`);
    }
    // The adapter reached mlx_lm.server with every request of the adapted side (its `adapters` field), never the base's.
    const log = async (id: string | undefined): Promise<string> => (await client.serverLogs(id ?? "", 400)).lines.join("\n");
    assert.match(await log(adapted?.id), /request adapters=".*adapters"/);
    assert.doesNotMatch(await log(base?.id), /request adapters=/);
    // Asked again, the same two profiles are used.
    await dash.page.locator('vscode-tab-header[data-tab="jobs"]').click();
    await detail.locator('vscode-button[data-action="compare"]').click();
    await dash.page.locator(".compare-field").waitFor({ state: "visible" });
    assert.equal((await client.profiles()).profiles.filter((p) => p.name.startsWith("adder-")).length, 2);
    for (const p of [base, adapted]) {
      const server = await client.server(p?.id ?? "").catch(() => undefined);
      if (server?.pid !== undefined) spawned.add(server.pid);
      await client.stopServer(p?.id ?? "").catch(() => undefined);
    }
    assert.deepEqual(await dash.cspViolations(), []);
    assert.deepEqual(dash.pageErrors, []);
    await dash.close();
  });

  it("Benchmarks: picks profiles, runs the benchmark through the real gateway, shows them side by side with bars, and exports CSV", async () => {
    const { dash } = await openDashboard({ theme: "dark", width: 1200, height: 900 });
    await dash.page.locator('vscode-tab-header[data-tab="bench"]').click();
    await dash.page.locator(".bench-view").waitFor({ state: "visible" });
    await dash.page.locator('.bench-profiles vscode-option[value="Story"]').waitFor({ state: "attached", timeout: 10_000 });
    await dash.page.locator(".bench-profiles").evaluate((el) => { (el as unknown as { value: string[] }).value = ["Story", "Story B"]; });
    // The short prompt (these profiles' 2k context cannot take the ~1k-token text with this tiny tokenizer), 2 warm runs, 48 tokens; no restart.
    await dash.page.locator('vscode-checkbox[data-size="1k"]').click();
    await dash.page.locator('vscode-checkbox[data-size="4k"]').click();
    await dash.page.locator('vscode-textfield[aria-label="Warm runs of each size"] input').fill("2");
    await dash.page.locator('vscode-textfield[aria-label="Tokens asked of each answer"] input').fill("48");
    await dash.page.locator('vscode-checkbox[data-action="cold"]').click();
    await dash.page.locator('vscode-button[data-action="bench-run"]').click();
    const row = dash.page.locator(".bench-run").first();
    await waitFor(async () => (await row.getAttribute("data-state")) === "completed", 90_000, "the benchmark to complete");
    const table = dash.page.locator(".bench-table");
    assert.deepEqual(await table.locator("thead th").allInnerTexts(), ["", "Story", "Story B"]);
    assert.match(await table.locator("tr", { hasText: "short: TTFT p50 / p95" }).innerText(), /\d+ \/ \d+ ms\s+\d+ \/ \d+ ms/);
    // A tiny model's answer can come in one burst (the engine holds back text that may be a stop sequence): its decode is then not timed, and says so.
    const decodeCells = (await table.locator("tr", { hasText: "short: decode tokens/s" }).locator("td").allInnerTexts());
    assert.equal(decodeCells.length, 2);
    for (const cell of decodeCells) assert.match(cell, /^\d+\.\d$|^not timed: sent in bursts$/);
    assert.match((await dash.page.locator('.bench-chart svg[aria-label^="TTFT"]').getAttribute("aria-label")) ?? "", /^TTFT p50 \(warm\): Story short [\d.]+ ms, Story B short [\d.]+ ms$/);
    const timed = decodeCells.filter((c) => c !== "not timed: sent in bursts").length;
    assert.equal(await dash.page.locator('.bench-chart svg[aria-label^="Decode"] rect').count(), timed === 0 ? 0 : 2);
    const run = (await client.benchmarks()).benchmarks[0];
    assert.equal(run?.state, "completed");
    assert.deepEqual(run.settings, { sizes: ["short"], runs: 2, maxTokens: 48, cold: false });
    await dash.screenshot("bench-dark");
    await dash.page.locator('vscode-button[data-action="export-csv"]').click();
    await waitFor(() => saved.some((f) => f.fileName.endsWith(".csv")), 5000, "the CSV to be saved");
    const csv = saved.find((f) => f.fileName.endsWith(".csv"))?.content ?? "";
    assert.equal(csv.trim().split("\n").length, 1 + 2, csv);
    await dash.page.locator('vscode-button[data-action="perplexity"]').first().click();
    await waitFor(() => commands.some((c) => c[0] === "mlx.measurePerplexity" && c[1] === run.results[0]?.profileId), 5000, "Measure Perplexity to run the editor's command for the profile");
    assert.deepEqual(await dash.cspViolations(), []);
    assert.deepEqual(dash.pageErrors, []);
    await dash.close();
  });

  it("Jobs: the loss chart stays smooth at 10 updates/s on a long run (no long task over 50 ms), its 5,000 reports thinned to the chart's width", async () => {
    // This test plays the host: a job with 5,000 train and 50 validation reports, then 10 reports a second for 3 s.
    const job = fakeJob(100_000, 20_000);
    const history: JobReport[] = [];
    for (let it = 4; it <= 20_000; it += 4) history.push({ event: "train", iteration: it, train_loss: loss(it), learning_rate: 1e-5, iterations_per_second: 4, tokens_per_second: 900, trained_tokens: it * 60, peak_memory: 3.2, at: 0 });
    for (let it = 400; it <= 20_000; it += 400) history.push({ event: "val", iteration: it, val_loss: loss(it) + 0.15, val_time: 1, at: 0 });
    const logLines = Array.from({ length: 200 }, (_, i) => `Iter ${i * 4}: Train loss 1.234, Learning Rate 1.000e-05, It/sec 4.000, Tokens/sec 900.000, Trained Tokens ${i * 240}, Peak mem 3.200 GB`);
    const target: { dash?: DashboardPage } = {};
    const dash = (target.dash = await browser.open({
      theme: "dark",
      width: 1200,
      height: 860,
      onMessage: (raw) => {
        const m = raw as { type: string; id: number };
        const result = m.type === "jobs.reports" ? { reports: history } : m.type === "jobs.log" ? { lines: logLines } : m.type === "conversations.list" ? { conversations: [] } : undefined;
        if (result !== undefined) void target.dash?.post({ type: "reply", id: m.id, ok: true, result });
      },
    }));
    await dash.page.addInitScript(`
      window.__long = [];
      new PerformanceObserver((list) => { for (const e of list.getEntries()) window.__long.push([e.startTime, e.duration]); }).observe({ type: "longtask" });
    `);
    await dash.load();
    await dash.post({ type: "init", connected: true, profiles: [], servers: [], metrics: null, streams: [], jobs: [job], benchmarks: [], perplexity: [] });
    await dash.post({ type: "show", tab: "jobs", profileId: job.id });
    await waitFor(async () => (await dash.page.locator(".series-valid").getAttribute("points"))?.split(" ").length === 50, 10_000, "the history drawn");
    const width = (await dash.page.locator(".loss-chart").boundingBox())?.width ?? 0;
    const drawn = ((await dash.page.locator(".series-train").getAttribute("points")) ?? "").split(" ").length;
    assert.ok(drawn <= width * 2, `5,000 train points thinned to ${drawn} for a ${width.toFixed(0)} px chart`);

    const since = await dash.page.evaluate<number>("performance.now()");
    let it = 20_000;
    const started = Date.now();
    for (let n = 0; n < 30; n++) {
      it += 4;
      job.iteration = it;
      job.trainLoss = loss(it);
      await dash.post({ type: "job.changed", job });
      await dash.post({ type: "job.report", jobId: job.id, report: { event: "train", iteration: it, train_loss: loss(it), learning_rate: 1e-5, iterations_per_second: 4, tokens_per_second: 900, trained_tokens: it * 60, peak_memory: 3.2, at: Date.now() } });
      if (n % 10 === 9) await dash.post({ type: "job.report", jobId: job.id, report: { event: "val", iteration: it, val_loss: loss(it) + 0.15, val_time: 1, at: Date.now() } });
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, started + (n + 1) * 100 - Date.now())));
    }
    await dash.page.evaluate("new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))");
    const long = (await dash.page.evaluate<[number, number][]>("window.__long")).filter(([start]) => start >= since).map(([, duration]) => duration);
    assert.deepEqual(long.filter((d) => d > 50), [], "no long task over 50 ms while updating at 10/s");
    assert.equal(await dash.page.locator('.job-detail [data-figure="iteration"]').innerText(), "20120 / 100000");
    assert.match((await dash.page.locator(".loss-chart").getAttribute("aria-label")) ?? "", /train loss [\d.]+ at iteration 20120, validation loss [\d.]+ at iteration 20120$/);
    await dash.screenshot("jobs-10hz-dark");
    assert.deepEqual(await dash.cspViolations(), []);
    assert.deepEqual(dash.pageErrors, []);
    await dash.close();
  });
});

function normalise(text: string): string {
  return text.replace(/[^\p{L}\p{N}]+/gu, "");
}

function fakeServer(i: number): ServerInfo {
  return {
    profileId: `p${i}`,
    profileName: `Model ${String(i).padStart(2, "0")}`,
    engine: "mlx-lm",
    model: `mlx-community/Model-${i}-4bit`,
    port: 8100 + i,
    pid: 4000 + i,
    state: "running",
    upstreamUrl: `http://127.0.0.1:${8100 + i}`,
    restarts: 0,
    logFile: `/tmp/p${i}.log`,
    adopted: false,
    command: ["mlx_lm.server"],
    warnings: [],
  };
}

/** A snapshot where only server `changing` has new figures at step `n`. */
export function fakeMetrics(servers: ServerInfo[], n: number, changing = -1): MetricsSnapshot {
  const t0 = 1_700_000_000_000;
  const server = (s: ServerInfo, i: number): ServerMetrics => {
    const k = i === changing ? n : 0;
    const history = Array.from({ length: 30 }, (_, j): [number, number] => [t0 + (j + k) * 2000, 1e9 + ((j * 7 + i + k) % 13) * 1e7]);
    return {
      profileId: s.profileId,
      profileName: s.profileName,
      engine: s.engine,
      pid: s.pid ?? 0,
      cpuPercent: 10 + i + k,
      memoryBytes: 1e9 + i * 1e8 + k * 1e6,
      memorySource: "rss",
      uptimeSeconds: 600,
      requests: 5 + k,
      tokensPerSecLast: 40 + k,
      tokensPerSecMinute: 30,
      ttftP50Ms: 120,
      queueWaitP50Ms: 4,
      queueDepth: 2,
      activeRequests: 1,
      slots: 1,
      history: { memoryBytes: history, tokensPerSec: history.map(([t, v]) => [t, v / 1e8]), cpuPercent: [] },
    };
  };
  return {
    sampledAt: t0 + n * 1000,
    servers: servers.map(server),
    system: { platform: "linux", memoryTotalBytes: 24e9, memoryUsedBytes: 12e9, memorySource: "os", memoryFreePercent: null, gpuUtilizationPercent: null, history: { memoryUsedBytes: [], gpuUtilizationPercent: [] } },
    sampler: { samples: n + 1, intervalMs: 2000, watchers: 1, lastCpuMs: 1, cpuPercentOfInterval: 0.1 },
  };
}

export type { HostMessage };

function loss(iteration: number): number {
  return 0.4 + 2.6 * Math.exp(-iteration / 3000) + 0.05 * Math.sin(iteration / 37);
}

function fakeJob(iters: number, iteration: number): Job {
  return {
    id: "j1",
    name: "long-run",
    state: "running",
    model: { source: "cache", repoId: "mlx-community/Qwen3-4B-4bit" },
    settings: { iters, batch_size: 4, learning_rate: 1e-5, num_layers: 16, max_seq_length: 2048, grad_checkpoint: false, fine_tune_type: "lora", mask_prompt: false, steps_per_report: 4, steps_per_eval: 400, save_every: 100, val_batches: 25, seed: 0, lora_parameters: { rank: 8, scale: 20, dropout: 0 } },
    dir: "/tmp/jobs/j1",
    iters,
    iteration,
    trainLoss: loss(iteration),
    valLoss: loss(iteration) + 0.15,
    command: ["python3", "mlx_manager_train.py", "/tmp/jobs/j1/config.json"],
    configFile: "/tmp/jobs/j1/config.json",
    adapterPath: "/tmp/jobs/j1/adapters",
    createdAt: Date.now() - 60_000,
    startedAt: Date.now() - 50_000,
  };
}
