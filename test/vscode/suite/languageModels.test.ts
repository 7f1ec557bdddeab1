// The manager's profiles as VS Code language models, in a real VS Code: vscode.lm.selectChatModels
// finds them, sendRequest streams a reply from the real `llama` engine (started just in time by the
// /v1 gateway, which meters it), and cancelling a request stops the generation upstream.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import * as vscode from "vscode";
import type { ManagerClient } from "../../../src/client/ManagerClient";
import type { Profile } from "../../../src/shared/profiles";
import type { ServerUsageSnapshot, UsageRecord } from "../../../src/shared/usage";
import { extensionApi, fixture, waitFor } from "./host";

const VENDOR = "mlx-manager";
const PROFILE = "lm-tiny";

async function usageOf(client: ManagerClient, profileId: string): Promise<ServerUsageSnapshot | undefined> {
  const { servers } = await client.request<{ servers: ServerUsageSnapshot[] }>("GET", "/api/usage");
  return servers.find((s) => s.profileId === profileId);
}

async function serverState(client: ManagerClient, profileId: string): Promise<string> {
  return (await client.servers()).servers.find((s) => s.profileId === profileId)?.state ?? "stopped";
}

async function chatModel(name: string): Promise<vscode.LanguageModelChat> {
  return waitFor(async () => (await vscode.lm.selectChatModels({ vendor: VENDOR })).find((m) => m.name === name), `${name} in vscode.lm`);
}

describe("Local models in VS Code's language-model API (vscode.lm)", function () {
  this.timeout(180_000);
  const fx = fixture();
  let client: ManagerClient;
  let profile: Profile;

  before(async () => {
    const api = await extensionApi();
    client = await api.connection.client();
    const existing = (await client.profiles()).profiles.find((p) => p.name === PROFILE);
    profile = existing ?? (await client.createProfile({ name: PROFILE, engine: "llama", model: { source: "cache", repoId: fx.ggufRepo, file: fx.ggufFile }, options: { threads: 1, contextLength: 2048 } }));
    await waitFor(() => api.state.profiles.some((p) => p.id === profile.id), "the profile in the extension's state");
  });

  after(async () => {
    await client.stopServer(profile.id).catch(() => undefined);
    await client.deleteProfile(profile.id).catch(() => undefined);
  });

  it("offers every profile as 'MLX · <profile>' with its context size, and follows profile changes", async () => {
    const model = await chatModel(`MLX · ${PROFILE}`);
    assert.equal(model.vendor, VENDOR);
    assert.equal(model.id, profile.id);
    assert.equal(model.family, "llama", "the GGUF's architecture");
    assert.equal(model.version, `${fx.ggufRepo}:${fx.ggufFile}`);
    assert.equal(model.maxInputTokens, 2048);
    const all = await vscode.lm.selectChatModels({ vendor: VENDOR });
    const profiles = (await client.profiles()).profiles;
    assert.deepEqual(all.map((m) => m.name).sort(), profiles.map((p) => `MLX · ${p.name}`).sort(), "one model per profile");

    // Profiles created, edited and deleted reach VS Code through the manager's events, without a reload.
    // (VS Code fires onDidChangeChatModels only when the set of models changes, not for new details.)
    const changed = new Promise<void>((resolve) => {
      const sub = vscode.lm.onDidChangeChatModels(() => {
        sub.dispose();
        resolve();
      });
    });
    const second = await client.createProfile({ name: `${PROFILE}-2`, engine: "llama", model: { source: "cache", repoId: fx.ggufRepo, file: fx.ggufFile }, options: { threads: 1 } });
    try {
      await Promise.race([changed, new Promise((_, reject) => setTimeout(() => { reject(new Error("no onDidChangeChatModels after a profile was created")); }, 30_000))]);
      const added = await chatModel(`MLX · ${PROFILE}-2`);
      assert.equal(added.maxInputTokens, 4096, "no context size in the profile: the default");
      profile = await client.updateProfile(profile.id, { version: profile.version, options: { threads: 1, contextLength: 1024 } });
      await waitFor(async () => (await chatModel(`MLX · ${PROFILE}`)).maxInputTokens === 1024, "the new context size");
    } finally {
      await client.deleteProfile(second.id);
    }
    await waitFor(async () => !(await vscode.lm.selectChatModels({ vendor: VENDOR })).some((m) => m.id === second.id), "the deleted profile gone from vscode.lm");
    profile = await client.updateProfile(profile.id, { version: profile.version, options: { threads: 1, contextLength: 2048 } });
    await waitFor(async () => (await chatModel(`MLX · ${PROFILE}`)).maxInputTokens === 2048, "the context size back");
  });

  it("streams a reply from the llama engine in several parts, starting the stopped profile, metered by the gateway", async () => {
    await client.stopServer(profile.id).catch(() => undefined);
    assert.equal(await serverState(client, profile.id), "stopped");
    const before = (await usageOf(client, profile.id))?.total.requests ?? 0;
    const model = await chatModel(`MLX · ${PROFILE}`);
    const response = await model.sendRequest([vscode.LanguageModelChatMessage.User("Once upon a time")], { modelOptions: { max_tokens: 24, seed: 1, temperature: 0 } });
    const parts: string[] = [];
    for await (const part of response.stream) {
      assert.ok(part instanceof vscode.LanguageModelTextPart, `a text part, not ${String(part)}`);
      parts.push(part.value);
    }
    assert.ok(parts.length > 1, `the reply arrived in ${parts.length} part(s)`);
    assert.ok(parts.join("").trim().length > 0, "real text");
    assert.equal(await serverState(client, profile.id), "running", "started just in time");

    const usage = await waitFor(async () => {
      const u = await usageOf(client, profile.id);
      return u !== undefined && u.total.requests > before ? u : undefined;
    }, "the request in /api/usage");
    const record = usage.lastRequest as UsageRecord;
    assert.equal(record.endpoint, "chat.completions");
    assert.equal(record.stream, true);
    assert.equal(record.status, "ok");
    assert.equal(record.completionTokens, 24);
    assert.equal(record.tokenSource, "usage");
    assert.ok(record.startupMs > 0, "the gateway waited for a just-in-time start");
  });

  it("cancelling a request ends it and aborts the generation upstream; the server keeps running", async () => {
    const model = await chatModel(`MLX · ${PROFILE}`);
    const before = (await usageOf(client, profile.id))?.total.requests ?? 0;
    const cancel = new vscode.CancellationTokenSource();
    const response = await model.sendRequest([vscode.LanguageModelChatMessage.User("Tell me a very long story.")], { modelOptions: { max_tokens: 1800, seed: 2 } }, cancel.token);
    let parts = 0;
    let error: unknown;
    try {
      for await (const _ of response.stream) {
        parts++;
        if (parts === 3) cancel.cancel();
      }
    } catch (e) {
      error = e;
    }
    assert.ok(parts >= 3, "text arrived before the cancel");
    if (error !== undefined) {
      const message = error instanceof Error ? `${error.name}: ${error.message}` : JSON.stringify(error);
      assert.ok(error instanceof vscode.CancellationError || /cancel/i.test(message), `ended by the cancel, not ${message}`);
    }

    const record = await waitFor(async () => {
      const u = await usageOf(client, profile.id);
      return u !== undefined && u.total.requests > before ? u.lastRequest : undefined;
    }, "the cancelled request in /api/usage");
    assert.equal(record.status, "aborted", "the gateway saw the client leave and aborted upstream");
    assert.ok((record.completionTokens ?? 0) < 1800, `stopped early (${record.completionTokens ?? 0} of 1800 tokens)`);
    assert.equal(await serverState(client, profile.id), "running", "the server keeps running");

    // The engine is free again: the next request is answered in full.
    const next = await model.sendRequest([vscode.LanguageModelChatMessage.User("Hi")], { modelOptions: { max_tokens: 4, seed: 3 } });
    let text = "";
    for await (const part of next.text) text += part;
    assert.ok(text.length > 0);
    const last = (await usageOf(client, profile.id))?.lastRequest;
    assert.equal(last?.status, "ok");
    assert.equal(last.completionTokens, 4);
  });

  it("counts tokens with the estimate the README describes", async () => {
    const model = await chatModel(`MLX · ${PROFILE}`);
    assert.equal(await model.countTokens("Hello, world!"), 4);
    assert.equal(await model.countTokens(vscode.LanguageModelChatMessage.User("Hello, world!")), 8, "text plus the template's markers");
  });

  it("calls a tool on the built-in llama engine when one is required: a LanguageModelToolCallPart with its name and JSON input", async () => {
    const model = await chatModel(`MLX · ${PROFILE}`);
    // An enum keeps the random tiny model's argument short: node-llama-cpp generates it under the tool's grammar.
    const tools: vscode.LanguageModelChatTool[] = [{ name: "get_weather", description: "The weather in a city", inputSchema: { type: "object", properties: { city: { type: "string", enum: ["Paris", "Oslo"] } }, required: ["city"] } }];
    const response = await model.sendRequest([vscode.LanguageModelChatMessage.User("Weather in Paris?")], { tools, toolMode: vscode.LanguageModelChatToolMode.Required, modelOptions: { max_tokens: 48, seed: 3 } });
    const calls: vscode.LanguageModelToolCallPart[] = [];
    for await (const part of response.stream) if (part instanceof vscode.LanguageModelToolCallPart) calls.push(part);
    const [call] = calls;
    assert.ok(calls.length === 1 && call !== undefined, `one call (${calls.length})`);
    assert.equal(call.name, "get_weather");
    assert.ok(["Paris", "Oslo"].includes(String((call.input as { city?: unknown }).city)), JSON.stringify(call.input));
    assert.match(call.callId, /^call_/);
  });
});

describe("Tool calls through vscode.lm, to an engine that calls tools", function () {
  this.timeout(180_000);
  const fx = fixture();
  const root = path.resolve(__dirname, "..", "..");
  const binDir = path.join(fx.root, "tool-bin");
  const requestLog = path.join(fx.root, "tool-requests.jsonl");
  let client: ManagerClient | undefined;
  let profile: Profile | undefined;

  before(async () => {
    // A llama-server stand-in speaking the streaming tool-call protocol (test/helpers/toolServer),
    // found by the manager through the engine's executable setting, as a user would set it.
    fs.mkdirSync(binDir, { recursive: true });
    const executable = path.join(binDir, "llama-server");
    execFileSync(path.join(root, "node_modules", "esbuild", "bin", "esbuild"), [path.join(root, "test", "helpers", "toolServer", "main.ts"), "--bundle", "--platform=node", "--format=cjs", "--target=node20", `--outfile=${executable}`, "--banner:js=#!/usr/bin/env node", "--log-level=warning"]);
    fs.chmodSync(executable, 0o755);
    await vscode.workspace.getConfiguration("mlx").update("engines.llamaServer.executable", executable, vscode.ConfigurationTarget.Global);
    const api = await extensionApi();
    const restarted = await api.connection.restartManager();
    client = restarted;
    await waitFor(() => api.state.loaded && api.connection.state.kind === "connected", "the restarted manager");
    profile = await restarted.createProfile({ name: "lm-tools", engine: "llama-server", model: { source: "cache", repoId: fx.ggufRepo, file: fx.ggufFile }, options: { env: { TOOL_SERVER_LOG: requestLog } } });
  });

  after(async () => {
    if (client && profile) {
      await client.stopServer(profile.id).catch(() => undefined);
      await client.deleteProfile(profile.id).catch(() => undefined);
    }
    await vscode.workspace.getConfiguration("mlx").update("engines.llamaServer.executable", undefined, vscode.ConfigurationTarget.Global);
  });

  it("streams the model's tool calls back as LanguageModelToolCallPart, and sends results back as tool messages", async () => {
    const model = await chatModel("MLX · lm-tools");
    const tools: vscode.LanguageModelChatTool[] = [{ name: "get_weather", description: "The weather in a city", inputSchema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } }];
    const question = vscode.LanguageModelChatMessage.User("What is the weather in Paris?");
    const first = await model.sendRequest([question], { tools, toolMode: vscode.LanguageModelChatToolMode.Auto });
    const calls: vscode.LanguageModelToolCallPart[] = [];
    for await (const part of first.stream) {
      assert.ok(part instanceof vscode.LanguageModelToolCallPart, "only a call: the stand-in answers a question with tools by calling one");
      calls.push(part);
    }
    assert.equal(calls.length, 1);
    const [call] = calls;
    assert.ok(call);
    assert.equal(call.name, "get_weather");
    assert.deepEqual(call.input, { city: "Paris" });
    assert.match(call.callId, /^call_0_/);

    const second = await model.sendRequest([
      question,
      vscode.LanguageModelChatMessage.Assistant([call]),
      vscode.LanguageModelChatMessage.User([new vscode.LanguageModelToolResultPart(call.callId, [new vscode.LanguageModelTextPart("18 °C and sunny")])]),
    ], { tools });
    const parts: string[] = [];
    for await (const part of second.text) parts.push(part);
    assert.ok(parts.length > 3, `the answer arrived in ${parts.length} parts`);
    assert.equal(parts.join(""), "The tool said: 18 °C and sunny");

    const [sent1, sent2] = fs.readFileSync(requestLog, "utf8").trim().split("\n").map((line) => JSON.parse(line) as { tools?: unknown; tool_choice?: string; messages: unknown[] });
    assert.deepEqual(sent1?.tools, [{ type: "function", function: { name: "get_weather", description: "The weather in a city", parameters: tools[0]?.inputSchema } }]);
    assert.equal(sent1.tool_choice, "auto");
    assert.deepEqual(sent2?.messages, [
      { role: "user", content: "What is the weather in Paris?" },
      { role: "assistant", content: null, tool_calls: [{ id: call.callId, type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }] },
      { role: "tool", tool_call_id: call.callId, content: "18 °C and sunny" },
    ]);
  });
});
