// The Playwright UI test: the real workbench in Chromium, clicked like a user would. Saves
// screenshots to test-artifacts/vscode/ (look at them: docs/ENVIRONMENT "Looking at what you built").
import fs from "node:fs";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { startManager } from "../helpers/manager";
import { launchChromium } from "./browser";
import { ROOT, installVsix, startCodeServer, workbenchUrl } from "./codeServer";
import { stopFixtureManager, type FixtureInfo } from "./fixture";

export const ARTIFACTS = path.join(ROOT, "test-artifacts", "vscode");
const PROFILE = "tiny-llama";

function say(line: string): void {
  process.stdout.write(`[vscode-ui] ${line}\n`);
}

async function step<T>(name: string, page: Page, action: () => Promise<T>): Promise<T> {
  try {
    const result = await action();
    say(`✔ ${name}`);
    return result;
  } catch (error) {
    await page.screenshot({ path: path.join(ARTIFACTS, `failed-${name.replace(/\W+/g, "-")}.png`) }).catch(() => undefined);
    throw new Error(`${name}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

async function runCommand(page: Page, title: string): Promise<void> {
  await page.keyboard.press("F1");
  const input = page.locator(".quick-input-widget input.input");
  await input.waitFor({ state: "visible" });
  await input.fill(`>${title}`);
  await page.locator(".quick-input-list .monaco-list-row", { hasText: title }).first().waitFor({ state: "visible" });
  await page.keyboard.press("Enter");
}

/** Runs the UI test; resolves 0 when every step passed. */
export async function runUiTest(fx: FixtureInfo, options: { environment: NodeJS.ProcessEnv; vsix?: string }): Promise<number> {
  fs.rmSync(ARTIFACTS, { recursive: true, force: true });
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  // A manager with a ready profile; the extension finds it through the data dir.
  // Fine-tuning runs our entry point with Debian's python3 against the mlx_lm stand-in package.
  const manager = await startManager({ dataDir: fx.dataDir, hfCache: fx.hfCache, env: { HF_ENDPOINT: options.environment["HF_ENDPOINT"] ?? "", MLX_MANAGER_TRAIN_PYTHON: "python3", PYTHONPATH: path.join(ROOT, "test", "helpers", "standins", "python"), STANDIN_TRAIN_STEP_MS: "5" } });
  manager.child.unref();
  // 8,192 tokens: the chat steps send a conversation (a 512-token answer, which this tiny tokenizer reads back as more, then another question); the engine refuses a prompt its context cannot hold.
  const created = await manager.api("POST", "/api/profiles", { name: PROFILE, engine: "llama", model: { source: "cache", repoId: fx.ggufRepo, file: fx.ggufFile }, options: { threads: 1, contextLength: 8192 } });
  if (created.status !== 201) throw new Error(`profile not created: ${created.text}`);
  const serverDir = path.join(fx.root, "server");
  if (options.vsix) installVsix(serverDir, options.vsix);
  const server = await startCodeServer({ dir: serverDir, env: options.environment }).catch(async (error: unknown) => {
    await manager.kill();
    throw error;
  });
  let browser: Browser | undefined;
  const started = Date.now();
  try {
    browser = await launchChromium();
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    await page.goto(workbenchUrl(server, fx.workspace, options.vsix ? {} : { developmentPath: ROOT }));
    await step("workbench loads", page, () => page.locator(".monaco-workbench .part.activitybar").waitFor({ state: "visible", timeout: 60_000 }));

    await step("the activity bar opens the MLX sidebar with three views", page, async () => {
      await page.locator('.activitybar a.action-label[aria-label^="MLX Models"]').click();
      for (const title of ["Models", "Profiles", "Servers"]) {
        await page.locator(".sidebar .pane-header", { hasText: title }).first().waitFor({ state: "visible" });
      }
    });
    await step("Models lists the cached GGUF and MLX models in groups", page, async () => {
      // Within the Models pane: the profile's row in Profiles names the same repo.
      const models = page.locator(".sidebar .pane:has(.pane-header:has-text('Models')) .monaco-list-row");
      await models.filter({ hasText: fx.ggufRepo }).waitFor({ state: "visible", timeout: 30_000 });
      await models.filter({ hasText: fx.mlxRepo }).waitFor({ state: "visible" });
      await models.filter({ hasText: "GGUF" }).first().waitFor({ state: "visible" });
    });
    await step("Profiles lists the profile, stopped", page, () =>
      page.locator(".sidebar .pane:has(.pane-header:has-text('Profiles')) .monaco-list-row", { hasText: PROFILE }).waitFor({ state: "visible" }),
    );
    await page.screenshot({ path: path.join(ARTIFACTS, "01-sidebar.png") });

    await step("Search Hugging Face from the palette shows Hub results as you type", page, async () => {
      await runCommand(page, "MLX: Search Hugging Face");
      const input = page.locator(".quick-input-widget input.input");
      await input.waitFor({ state: "visible" });
      await input.fill("Hub");
      await page.locator(".quick-input-list .monaco-list-row", { hasText: fx.hubRepo }).waitFor({ state: "visible", timeout: 15_000 });
      await page.screenshot({ path: path.join(ARTIFACTS, "02-search-hub.png") });
      // Its details: the files, and what each variant (the 4-bit repo and its 8-bit sibling) needs in memory here.
      await page.locator(".quick-input-widget .quick-input-list .monaco-list-row", { hasText: fx.hubRepo }).click();
      await page.locator(".quick-input-list .monaco-list-row", { hasText: /8-bit · 7\.5 GB/ }).waitFor({ state: "visible", timeout: 15_000 });
      await page.locator(".quick-input-list .monaco-list-row", { hasText: /4-bit · .* at 8K/ }).waitFor({ state: "visible" });
      await page.screenshot({ path: path.join(ARTIFACTS, "02b-hub-details-memory.png") });
      await page.keyboard.press("Escape");
    });

    await step("Create Profile opens a multi-step input at the model step", page, async () => {
      await runCommand(page, "MLX: Create Profile");
      await page.locator(".quick-input-list .monaco-list-row", { hasText: fx.ggufRepo }).waitFor({ state: "visible" });
      await page.locator(".quick-input-widget .quick-input-list .monaco-list-row", { hasText: fx.ggufRepo }).click();
      await page.locator(".quick-input-list .monaco-list-row", { hasText: "llama" }).first().waitFor({ state: "visible" });
      // Each engine says what the model needs in memory, and whether it fits this machine.
      await page.locator(".quick-input-list .monaco-list-row", { hasText: /needs about .* this machine can give a model: fits/ }).first().waitFor({ state: "visible" });
      // The engine list opened under the pointer: the hover of the row beneath it can cover the next row. Move away until it is gone.
      await page.mouse.move(700, 5);
      await page.locator(".context-view .monaco-hover, .context-view p").first().waitFor({ state: "detached", timeout: 5000 }).catch(() => undefined);
      await page.screenshot({ path: path.join(ARTIFACTS, "03-create-profile-engine-step.png") });
      await page.locator(".quick-input-widget .quick-input-list .monaco-list-row", { hasText: "node-llama-cpp" }).first().click();
      // The context step: the need as the context is typed.
      await page.locator(".quick-input-widget .quick-input-message", { hasText: /At 4,096 the model needs about/ }).waitFor({ state: "visible" });
      await page.keyboard.press("ControlOrMeta+a");
      await page.keyboard.type("32768");
      await page.locator(".quick-input-widget .quick-input-message", { hasText: /At 32,768 the model needs about/ }).waitFor({ state: "visible" });
      await page.screenshot({ path: path.join(ARTIFACTS, "03b-create-profile-context-step.png") });
      await page.keyboard.press("Escape");
    });

    await step("the inline Start action runs the server and Servers shows it running", page, async () => {
      const row = page.locator(".sidebar .pane:has(.pane-header:has-text('Profiles')) .monaco-list-row", { hasText: PROFILE });
      await row.hover();
      await row.locator('.action-label[aria-label="Start Server"]').click();
      const serverRow = page.locator(".sidebar .pane:has(.pane-header:has-text('Servers')) .monaco-list-row", { hasText: PROFILE });
      await serverRow.waitFor({ state: "visible", timeout: 60_000 });
      await serverRow.locator(".codicon-pass-filled").waitFor({ state: "visible", timeout: 60_000 });
      await page.locator('.statusbar-item[id$="mlx.status"]', { hasText: /^\s*1\s*$/ }).waitFor({ state: "visible" });
      await page.mouse.move(700, 500);
      await page.screenshot({ path: path.join(ARTIFACTS, "04-server-running.png") });
    });

    await step("Show Server Logs opens the server's log channel", page, async () => {
      await runCommand(page, "MLX: Show Server Logs");
      await page.locator(".quick-input-list .monaco-list-row", { hasText: PROFILE }).waitFor({ state: "visible" });
      await page.keyboard.press("Enter");
      await page.locator(".panel .view-lines", { hasText: /ready\s+in\s+\d+ms/ }).first().waitFor({ state: "visible", timeout: 20_000 });
      await page.screenshot({ path: path.join(ARTIFACTS, "05-server-logs.png") });
    });

    // The webview sits in two iframes: the workbench's host frame, then the content frame.
    const dashboard = page.frameLocator("iframe.webview.ready").frameLocator("#active-frame");
    await step("Open Dashboard from the palette shows a live tile for the running server", page, async () => {
      await runCommand(page, "MLX: Open Dashboard");
      const tile = dashboard.locator(".tile", { hasText: PROFILE });
      await tile.waitFor({ state: "visible", timeout: 30_000 });
      await tile.locator(".figure", { hasText: "Memory" }).first().locator(".value", { hasText: /MB/ }).waitFor({ state: "visible", timeout: 20_000 });
      await page.screenshot({ path: path.join(ARTIFACTS, "06-dashboard.png") });
    });

    await step("Chat on the tile opens the playground, which streams a reply from that server with its figures", page, async () => {
      await dashboard.locator(".tile", { hasText: PROFILE }).locator('vscode-button[data-action="chat"]').click();
      await dashboard.locator(".chat-view").waitFor({ state: "visible" });
      const composer = dashboard.locator(".composer-input textarea");
      await composer.fill("Once upon a time");
      await composer.press("Enter");
      const reply = dashboard.locator(".message.assistant").last();
      await reply.locator(".stats", { hasText: /completion tokens/ }).waitFor({ state: "visible", timeout: 60_000 });
      const text = (await reply.locator(".message-body").textContent()) ?? "";
      if (text.trim().length === 0) throw new Error("the reply has no text");
      await page.screenshot({ path: path.join(ARTIFACTS, "07-chat.png") });
    });

    await step("the dashboard comes back after a window reload (its serializer), with the server's tile", page, async () => {
      await runCommand(page, "Developer: Reload Window");
      await page.locator(".monaco-workbench .part.activitybar").waitFor({ state: "visible", timeout: 60_000 });
      await page.locator(".tabs-container .tab", { hasText: "MLX Dashboard" }).waitFor({ state: "visible", timeout: 30_000 });
      // It comes back on the tab it was left on (Chat); the tile is there behind the Servers tab.
      // (The reloaded extension host can take a minute to start on a loaded 2-core machine.)
      await dashboard.locator(".chat-view").waitFor({ state: "visible", timeout: 90_000 });
      await dashboard.locator('vscode-tab-header[data-tab="servers"]').click();
      await dashboard.locator(".tile", { hasText: PROFILE }).waitFor({ state: "visible", timeout: 30_000 });
      await page.screenshot({ path: path.join(ARTIFACTS, "08-dashboard-after-reload.png") });
    });

    await step("Users lists a teammate waiting for approval; the inline Approve approves them", page, async () => {
      const shared = (await manager.api("GET", "/api/shared")).json as { hasAdmin: boolean };
      if (!shared.hasAdmin) await manager.api("POST", "/api/users/first-admin", { email: "owner@example.com", password: "owner-password-123" });
      const started = (await manager.api("POST", "/api/shared/start", { port: 0, host: "127.0.0.1" })).json as { port?: number };
      try {
        const teammate = `ui-teammate-${Date.now()}@example.com`;
        const registered = await fetch(`http://127.0.0.1:${started.port ?? 0}/api/auth/register`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email: teammate, password: "teammate-password-123" }) });
        if (registered.status !== 201 && registered.status !== 200) throw new Error(`register answered ${registered.status}: ${await registered.text()}`);
        await page.locator(".sidebar .pane-header", { hasText: "Users" }).first().click();
        const row = page.locator(".sidebar .pane:has(.pane-header:has-text('Users')) .monaco-list-row", { hasText: teammate });
        await row.waitFor({ state: "visible", timeout: 15_000 });
        await row.hover();
        await row.locator('.action-label[aria-label="Approve"]').waitFor({ state: "visible" });
        await page.screenshot({ path: path.join(ARTIFACTS, "08-users-pending.png") });
        await row.locator('.action-label[aria-label="Approve"]').click();
        await row.filter({ hasText: /approved/ }).waitFor({ state: "visible", timeout: 15_000 });
        await page.mouse.move(700, 500);
        await page.screenshot({ path: path.join(ARTIFACTS, "09-users-approved.png") });

        // The same teammate, from "their" VS Code: Connect to Team Server through the palette's inputs.
        await step("Connect to Team Server signs the teammate in; the Team Server view lists the team's models", page, async () => {
          await runCommand(page, "MLX: Connect to Team Server");
          const input = page.locator(".quick-input-widget input.input");
          for (const value of [`http://127.0.0.1:${started.port ?? 0}`, teammate, "teammate-password-123"]) {
            await input.waitFor({ state: "visible" });
            await input.fill(value);
            await page.keyboard.press("Enter");
            await page.waitForTimeout(300);
          }
          await page.locator(".sidebar .pane-header", { hasText: "Team Server" }).first().waitFor({ state: "visible", timeout: 15_000 });
          const team = page.locator(".sidebar .pane:has(.pane-header:has-text('Team Server'))");
          await team.locator(".monaco-list-row", { hasText: PROFILE }).waitFor({ state: "visible", timeout: 20_000 });
          await team.getByText(/as ui-teammate-.* \(user\)/).first().waitFor({ state: "visible" });
          await page.screenshot({ path: path.join(ARTIFACTS, "10-team-server.png") });
        });
        await step("a team model opens the chat on team:<profile>, which streams through the team server", page, async () => {
          const team = page.locator(".sidebar .pane:has(.pane-header:has-text('Team Server'))");
          await team.locator(".monaco-list-row", { hasText: PROFILE }).click();
          await dashboard.locator(".chat-view").waitFor({ state: "visible", timeout: 20_000 });
          const composer = dashboard.locator(".composer-input textarea");
          await composer.fill("Once upon a time, a team");
          await composer.press("Enter");
          const reply = dashboard.locator(".message.assistant").last();
          await reply.locator(".stats", { hasText: /completion tokens/ }).waitFor({ state: "visible", timeout: 60_000 });
          const target = await dashboard.locator(".target-picker").first().evaluate((el) => (el as unknown as { value: string }).value);
          if (target !== `team:${PROFILE}`) throw new Error(`the chat's model is ${target}, not team:${PROFILE}`);
          await page.screenshot({ path: path.join(ARTIFACTS, "11-team-chat.png") });
          await runCommand(page, "MLX: Sign Out of Team Server");
          await page.locator(".sidebar .pane:has(.pane-header:has-text('Team Server'))").getByText("Connect to Team Server").first().waitFor({ state: "visible", timeout: 10_000 });
        });
      } finally {
        await manager.api("POST", "/api/shared/stop");
      }
    });
    await step("Add Remote Backend through its quick inputs: the Models view lists the backend with its models", page, async () => {
      // The manager's own /v1 stands in for another machine's server (loopback http: no warning).
      const { key } = (await manager.api("GET", "/api/gateway-key")).json as { key: string };
      await runCommand(page, "MLX: Add Remote Backend");
      const input = page.locator(".quick-input-widget input.input");
      for (const value of [`${manager.url}/v1`, key, "studio"]) {
        await input.waitFor({ state: "visible" });
        await input.fill(value);
        await page.keyboard.press("Enter");
        await page.waitForTimeout(300);
      }
      // Opening other views may have collapsed Models: expand it (a click on an expanded header would collapse it).
      const header = page.locator(".sidebar .pane-header", { hasText: "Models" }).first();
      if ((await header.getAttribute("aria-expanded")) === "false") await header.click();
      const models = page.locator(".sidebar .pane:has(.pane-header:has-text('Models')) .monaco-list-row");
      const backend = models.filter({ hasText: "studio" });
      await backend.waitFor({ state: "visible", timeout: 20_000 });
      await backend.filter({ hasText: /\d+ models?\b/ }).waitFor({ state: "visible", timeout: 20_000 });
      await backend.click();
      await models.filter({ hasText: PROFILE }).last().waitFor({ state: "visible" });
      await page.mouse.move(700, 500);
      await page.screenshot({ path: path.join(ARTIFACTS, "13-remote-backend.png") });
      const listed = (await manager.api("GET", "/api/remotes")).json as { remotes: { id: string; name: string; hasKey: boolean }[] };
      const added = listed.remotes.find((r) => r.name === "studio");
      if (added?.hasKey !== true) throw new Error(`the backend was not added with its key: ${JSON.stringify(listed)}`);
      await manager.api("DELETE", `/api/remotes/${added.id}`);
    });
    await step("Create Profile makes a distributed profile (hosts, addresses, Python); Check Hosts reports why it cannot start", page, async () => {
      await runCommand(page, "MLX: Create Profile");
      const rows = page.locator(".quick-input-widget .quick-input-list .monaco-list-row");
      await rows.filter({ hasText: fx.mlxRepo }).first().click();
      await rows.filter({ hasText: "Distributed mlx_lm" }).first().click();
      const input = page.locator(".quick-input-widget input.input");
      // name, port, the other Macs, every rank's address, the Python on all of them
      for (const value of ["big-across-macs", "auto", "studio, mini", "10.0.0.1, 10.0.0.2, 10.0.0.3", "/opt/homebrew/bin/python3"]) {
        await input.waitFor({ state: "visible" });
        await input.fill(value);
        await page.waitForTimeout(150);
        await page.keyboard.press("Enter");
        await page.waitForTimeout(300);
      }
      const profiles = page.locator(".sidebar .pane:has(.pane-header:has-text('Profiles')) .monaco-list-row");
      const row = profiles.filter({ hasText: "big-across-macs" });
      await row.filter({ hasText: "across 3 Macs" }).waitFor({ state: "visible", timeout: 20_000 });
      await runCommand(page, "MLX: Check Hosts of a Distributed Profile");
      await rows.filter({ hasText: "big-across-macs" }).first().click();
      // Nothing of it exists here (no mlx.launch, no Python at that path, no such hosts): the report says what is wrong on each.
      const report = page.locator(".monaco-editor", { hasText: "Hosts of big-across-macs" }).first();
      await report.waitFor({ state: "visible", timeout: 60_000 });
      await page.locator(".monaco-editor", { hasText: /ssh\s+to\s+studio\s+failed/ }).first().waitFor({ state: "attached", timeout: 5_000 });
      await page.screenshot({ path: path.join(ARTIFACTS, "14-distributed-hosts.png") });
      const listed = (await manager.api("GET", "/api/profiles")).json as { profiles: { id: string; name: string; options: { distributed?: { hosts: { ssh: string; ips: string[] }[] } } }[] };
      const made = listed.profiles.find((p) => p.name === "big-across-macs");
      if (made === undefined || JSON.stringify(made.options.distributed?.hosts) !== JSON.stringify([{ ssh: "studio", ips: ["10.0.0.2"], rdma: [] }, { ssh: "mini", ips: ["10.0.0.3"], rdma: [] }])) throw new Error(`the profile's hosts are ${JSON.stringify(made?.options)}`);
      await manager.api("DELETE", `/api/profiles/${made.id}`);
      // Focus back on the workbench (the report stays open, read-only): the next step opens the palette.
      await page.locator(".sidebar .pane-header", { hasText: "Profiles" }).first().click();
    });
    await step("Fine-tune a Model… queues a job through the editor's own inputs (model, dataset, settings, plan); the Fine-tuning Jobs view shows it until it completes", page, async () => {
      const data = path.join(fx.workspace, "train.jsonl");
      fs.writeFileSync(data, `${Array.from({ length: 24 }, (_, i) => JSON.stringify({ messages: [{ role: "user", content: `What is ${i} + 1?` }, { role: "assistant", content: String(i + 1) }] })).join("\n")}\n`);
      const header = page.locator(".sidebar .pane-header", { hasText: "Fine-tuning Jobs" }).first();
      if ((await header.getAttribute("aria-expanded")) === "false") await header.click();
      await runCommand(page, "MLX: Fine-tune a Model…");
      const rows = page.locator(".quick-input-widget .quick-input-list .monaco-list-row");
      const input = page.locator(".quick-input-widget input.input");
      await rows.filter({ hasText: fx.mlxRepo }).first().click();
      // The editor's open dialog (a path box in a browser), at the workspace: once it lists the
      // dataset (it loads the folder after it opens), the dataset's path, then the name.
      await page.locator(".quick-input-widget .quick-input-title", { hasText: "The training set" }).waitFor({ state: "visible" });
      await rows.filter({ hasText: "train.jsonl" }).first().waitFor({ state: "visible" });
      await input.fill(data);
      await page.waitForTimeout(300);
      await page.keyboard.press("Enter");
      await page.locator(".quick-input-widget .quick-input-title", { hasText: "A name for the job" }).waitFor({ state: "visible" });
      await input.fill("adder");
      await page.keyboard.press("Enter");
      // The settings list, mlx_lm.lora's names and defaults: change two, then go on.
      await rows.filter({ hasText: "Batch size" }).first().waitFor({ state: "visible" });
      await page.waitForTimeout(400);
      await page.screenshot({ path: path.join(ARTIFACTS, "15-fine-tune-settings.png") });
      for (const [setting, value] of [["Iterations", "60"], ["Layers to fine-tune", "2"]] as const) {
        await rows.filter({ hasText: setting }).first().click();
        await input.fill(value);
        await page.keyboard.press("Enter");
        await rows.filter({ hasText: setting }).filter({ hasText: value }).first().waitFor({ state: "visible" });
      }
      await rows.filter({ hasText: "Review the Plan and Queue" }).first().click();
      // The plan: the dataset's check, the exact command and mlx_lm.lora's configuration, then a modal to queue it.
      await page.locator(".monaco-editor", { hasText: "Fine-tuning adder" }).first().waitFor({ state: "visible", timeout: 20_000 });
      await page.locator(".monaco-editor", { hasText: /"iters":\s*60/ }).first().waitFor({ state: "attached" });
      await page.locator(".monaco-dialog-box .monaco-button", { hasText: "Queue Job" }).click();
      const row = page.locator(".sidebar .pane:has(.pane-header:has-text('Fine-tuning Jobs')) .monaco-list-row", { hasText: "adder" });
      await row.filter({ hasText: /completed · 60\/60 \(100 %\) · loss \d\.\d{3} \/ \d\.\d{3}/ }).waitFor({ state: "visible", timeout: 30_000 });
      await page.mouse.move(700, 500);
      await page.screenshot({ path: path.join(ARTIFACTS, "15-jobs.png") });
      const jobs = (await manager.api("GET", "/api/jobs")).json as { jobs: { name: string; settings: { iters: number; num_layers: number; batch_size: number } }[] };
      const made = jobs.jobs.find((j) => j.name === "adder");
      if (made?.settings.iters !== 60 || made.settings.num_layers !== 2 || made.settings.batch_size !== 4) throw new Error(`the job's settings are ${JSON.stringify(made?.settings)}`);
    });
    await step("a click on the job shows its loss chart in the dashboard's Jobs tab", page, async () => {
      await page.locator(".sidebar .pane:has(.pane-header:has-text('Fine-tuning Jobs')) .monaco-list-row", { hasText: "adder" }).click();
      await dashboard.locator('.job-detail [data-figure="iteration"]', { hasText: "60 / 60" }).waitFor({ state: "visible", timeout: 30_000 });
      await dashboard.locator(".series-train[points]").waitFor({ state: "attached" });
      await page.waitForTimeout(300);
      await page.screenshot({ path: path.join(ARTIFACTS, "16-dashboard-jobs.png") });
    });
    await step("Fuse the Job's Adapter (the job's context menu) puts a new model in Models", page, async () => {
      const row = page.locator(".sidebar .pane:has(.pane-header:has-text('Fine-tuning Jobs')) .monaco-list-row", { hasText: "adder" });
      await row.click({ button: "right" });
      // The menu ignores a mouse-up that comes just after it opened: pick the item with the keyboard once it shows.
      const fuse = page.locator(".context-view .action-label", { hasText: "Fuse the Job's Adapter into a New Model…" });
      await fuse.waitFor({ state: "visible" });
      await page.waitForTimeout(300);
      await fuse.hover();
      await page.keyboard.press("Enter");
      const input = page.locator(".quick-input-widget input.input");
      await input.waitFor({ state: "visible" });
      if ((await input.inputValue()) !== "adder-fused") throw new Error(`the name offered is ${await input.inputValue()}`);
      await page.keyboard.press("Enter");
      const fused = await (async () => {
        for (let i = 0; i < 100; i++) {
          const models = (await manager.api("GET", "/api/models")).json as { models: { id: string }[] };
          if (models.models.some((m) => m.id === "local/adder-fused")) return true;
          await page.waitForTimeout(200);
        }
        return false;
      })();
      if (!fused) throw new Error("local/adder-fused is not in the cache");
      await page.locator(".sidebar .pane:has(.pane-header:has-text('Models')) .monaco-list-row", { hasText: "local/adder-fused" }).waitFor({ state: "visible", timeout: 20_000 });
      await page.locator(".sidebar .pane-header", { hasText: "Fine-tuning Jobs" }).first().click();
    });
    await step("Benchmark Profiles… (the palette) runs a benchmark of the server through the gateway; the dashboard's Benchmarks tab shows it side by side, with the sizes its context cannot take and why", page, async () => {
      await runCommand(page, "MLX: Benchmark Profiles…");
      await page.locator(".quick-input-widget .quick-input-title", { hasText: "Benchmark which profiles?" }).waitFor({ state: "visible" });
      await page.locator(".quick-input-widget .quick-input-list .monaco-list-row", { hasText: PROFILE }).first().click();
      await page.keyboard.press("Enter");
      const run = dashboard.locator(".bench-run").first();
      await run.waitFor({ state: "visible", timeout: 30_000 });
      await dashboard.locator('.bench-run[data-state="completed"]').first().waitFor({ state: "visible", timeout: 90_000 });
      const table = dashboard.locator(".bench-table");
      await table.locator("tr", { hasText: "short: TTFT p50 / p95" }).locator("td", { hasText: /^\d+ \/ \d+ ms$/ }).waitFor({ state: "visible" });
      // Its 8,192-token context cannot take the ~4k-token prompt (this tiny tokenizer reads it as ~16k tokens): the table says so.
      await table.locator("tr", { hasText: "4k: TTFT p50 / p95" }).locator("td", { hasText: /failed: 400: This model's maximum context length is 8192 tokens/ }).waitFor({ state: "visible" });
      await table.locator("tr", { hasText: "Load (cold start)" }).locator("td", { hasText: /^[\d.]+ s$/ }).waitFor({ state: "visible" });
      // The form now holds the run's profile, so Run Benchmark repeats it.
      const picked = await dashboard.locator(".bench-profiles").evaluate((el) => (el as unknown as { value: string[] }).value);
      if (JSON.stringify(picked) !== JSON.stringify([PROFILE])) throw new Error(`the form picked ${JSON.stringify(picked)}`);
      await page.screenshot({ path: path.join(ARTIFACTS, "17-benchmark.png") });
    });
    // VS Code's chat: code-server has no chat agent (its model picker offers only "Sign in to use
    // Copilot"), but "Manage Language Models" lists the profiles the extension provides.
    await step("Chat: Manage Language Models lists the profile as 'MLX · <profile>'", page, async () => {
      await runCommand(page, "Chat: Manage Language Models");
      await page.getByText(`MLX · ${PROFILE}`).first().waitFor({ state: "visible", timeout: 20_000 });
      await page.screenshot({ path: path.join(ARTIFACTS, "12-language-models.png") });
      await page.keyboard.press("Escape");
    });
    say(`passed in ${((Date.now() - started) / 1000).toFixed(1)} s; screenshots in ${path.relative(ROOT, ARTIFACTS)}`);
    return 0;
  } catch (error) {
    say(`FAILED ${error instanceof Error ? error.message : String(error)}`);
    fs.writeFileSync(path.join(ARTIFACTS, "server-output.log"), server.output());
    return 1;
  } finally {
    await browser?.close().catch(() => undefined);
    await stopFixtureManager(fx.dataDir);
    await manager.kill();
    await server.stop();
  }
}
