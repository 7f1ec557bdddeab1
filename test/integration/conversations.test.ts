// The chat playground's conversations through the real manager: per workspace, whole-document
// writes, rename, delete, and the error shape for bad input.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { ManagerClient, ManagerRequestError } from "../../src/client/ManagerClient";
import type { Conversation } from "../../src/shared/conversations";
import { makeTempDir, removeTempDir } from "../helpers/hfCache";
import { startManager, type RunningManager } from "../helpers/manager";

describe("conversations API", function () {
  this.timeout(30_000);
  let root: string;
  let manager: RunningManager;
  let client: ManagerClient;

  const conversation = (id: string, workspace: string, updatedAt: number): Conversation => ({
    id,
    workspace,
    title: `Chat ${id}`,
    target: "Story",
    systemPrompt: "Be brief.",
    params: { temperature: 0.5, topP: 0.9, maxTokens: 64, seed: 7 },
    messages: [
      { role: "user", content: "Hi" },
      { role: "assistant", content: "Hello **there**", model: "Story", stats: { durationMs: 120, ttftMs: 30, tokensPerSec: 400, promptTokens: 3, completionTokens: 4 } },
    ],
    createdAt: updatedAt,
    updatedAt,
  });

  before(async () => {
    root = makeTempDir("mlx-conversations-");
    fs.mkdirSync(path.join(root, "hub"));
    manager = await startManager({ dataDir: path.join(root, "data"), hfCache: path.join(root, "hub") });
    client = new ManagerClient({ url: manager.url, token: manager.token });
  });

  after(async () => {
    await manager.stop();
    removeTempDir(root);
  });

  it("keeps conversations per workspace, newest first, and survives a manager restart", async () => {
    await client.saveConversation(conversation("a1", "ws-a", 1000));
    await client.saveConversation(conversation("a2", "ws-a", 2000));
    await client.saveConversation(conversation("b1", "ws-b", 1500));
    assert.deepEqual((await client.conversations("ws-a")).conversations.map((c) => [c.id, c.messages]), [["a2", 2], ["a1", 2]]);
    assert.deepEqual((await client.conversations("ws-b")).conversations.map((c) => c.id), ["b1"]);

    await manager.stop();
    manager = await startManager({ dataDir: path.join(root, "data"), hfCache: path.join(root, "hub") });
    client = new ManagerClient({ url: manager.url, token: manager.token });
    assert.deepEqual(await client.conversation("a1"), conversation("a1", "ws-a", 1000));
  });

  it("renames, replaces as a whole, deletes, and answers bad input with the one error shape", async () => {
    const renamed = await client.renameConversation("a1", "  Greetings  ");
    assert.equal(renamed.title, "Greetings");
    await client.saveConversation({ ...renamed, messages: renamed.messages.slice(0, 1), updatedAt: 3000 });
    assert.equal((await client.conversation("a1")).messages.length, 1);
    assert.equal((await client.conversations("ws-a")).conversations[0]?.id, "a1", "the newest write lists first");

    await client.deleteConversation("a1");
    await assert.rejects(client.conversation("a1"), (e: unknown) => e instanceof ManagerRequestError && e.status === 404 && e.code === "not_found");
    await assert.rejects(client.deleteConversation("a1"), (e: unknown) => e instanceof ManagerRequestError && e.status === 404);

    const mismatched = await manager.api("PUT", "/api/conversations/zz", conversation("yy", "ws-a", 1));
    assert.equal(mismatched.status, 400);
    const bad = await manager.api("PUT", "/api/conversations/x1", { ...conversation("x1", "ws-a", 1), messages: [{ role: "system", content: "no" }] });
    assert.equal(bad.status, 400);
    assert.equal((bad.json as { error: { code: string } }).error.code, "validation_failed");
    assert.equal((await manager.api("GET", "/api/conversations")).status, 400, "a workspace is required");
  });
});
