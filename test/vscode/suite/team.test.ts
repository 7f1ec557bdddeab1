// "Connect to Team Server" in a real VS Code: the teammate side of shared mode, against the real
// manager's shared listener (with a self-signed certificate, pinned), the llama engine and a tiny GGUF.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import path from "node:path";
import * as vscode from "vscode";
import { ManagerClient } from "../../../src/client/ManagerClient";
import type { SharedStatus, UserInfo } from "../../../src/shared/auth";
// Types only: the suite is bundled apart from the extension, so its classes are not the extension's (no instanceof).
import type { TeamGroupItem, TeamModelItem, TeamNode } from "../../../src/views/team/TeamTreeProvider";
import { extensionApi, fixture, waitFor } from "./host";

const TEAM_PROFILE = "team-tiny";
const OWNER = { email: "owner@example.com", password: "owner-password-123" };

describe("Shared mode in a real VS Code: Connect to Team Server", function () {
  this.timeout(180_000);
  const fx = fixture();

  it("signs in over TLS with the pinned certificate, shows the team's models and servers, chats, and signs out", async () => {
    const api = await extensionApi();
    const owner = await api.connection.client();
    if (!(await owner.sharedStatus()).hasAdmin) await owner.createFirstAdmin(OWNER.email, OWNER.password);
    const profile = (await owner.profiles()).profiles.find((p) => p.name === TEAM_PROFILE) ?? (await owner.createProfile({ name: TEAM_PROFILE, engine: "llama", model: { source: "cache", repoId: fx.ggufRepo, file: fx.ggufFile }, options: { threads: 1, contextLength: 256 } }));
    const status = await owner.startShared({ port: 0, host: "127.0.0.1", tls: { selfSigned: true } });
    try {
      assert.equal(status.tls, true);
      assert.ok(status.fingerprint, "a self-signed listener reports its fingerprint");
      const url = `https://127.0.0.1:${status.port ?? 0}`;
      // A teammate with an approved account (registered over the LAN, approved by the owner).
      const teammate = `mate-${Date.now()}@example.com`;
      const users = await registerAndApprove(owner, url, status, teammate);
      assert.equal(users.status, "approved");

      // A wrong fingerprint is refused before any password is sent.
      await vscode.commands.executeCommand("mlx.connectTeamServer", { url, email: teammate, password: "teammate-password-123", fingerprint: "00:11" });
      assert.match(api.errors.recent.at(-1) ?? "", /NOT the expected 00:11/);
      assert.equal(api.team.snapshot, undefined, "nothing remembered after a refused certificate");

      // A wrong password: a clear error, nothing stored.
      await vscode.commands.executeCommand("mlx.connectTeamServer", { url, email: teammate, password: "not-the-password-1", fingerprint: status.fingerprint });
      assert.match(api.errors.recent.at(-1) ?? "", /did not accept that email and password/);
      assert.equal(api.team.snapshot, undefined);

      const connected = await vscode.commands.executeCommand<{ url: string; user: UserInfo; fingerprint?: string } | undefined>("mlx.connectTeamServer", { url, email: teammate, password: "teammate-password-123", fingerprint: status.fingerprint });
      assert.ok(connected, `not connected: ${api.errors.recent.join("; ")}`);
      assert.equal(connected.fingerprint, status.fingerprint);
      assert.equal(connected.user.role, "user");

      // The view: the team's models (every profile) and running servers, read-only for a plain user.
      const snapshot = await waitFor(() => (api.team.snapshot?.status === "connected" && api.team.snapshot.models.some((m) => m.id === TEAM_PROFILE) ? api.team.snapshot : undefined), "the team's models");
      assert.equal(snapshot.fingerprint, status.fingerprint);
      const [models, servers] = api.teamTree.getChildren() as TeamGroupItem[];
      assert.equal(models?.group, "models");
      assert.equal(servers?.group, "servers");
      const model = api.teamTree.getChildren(models).find((n: TeamNode) => "model" in n && n.model.id === TEAM_PROFILE) as TeamModelItem | undefined;
      assert.ok(model, "the team profile in Models");
      assert.match(String(model.contextValue), /^teamModel\.(stopped|running)$/, "no admin actions for a plain user");
      assert.match(api.teamView.message ?? "", new RegExp(`as ${teammate.replace(/[.+]/g, "\\$&")} \\(user\\) · TLS, pinned certificate`));

      // Admin actions are refused for a plain user by the server itself.
      await vscode.commands.executeCommand("mlx.teamStartServer", TEAM_PROFILE);
      assert.match(api.errors.recent.at(-1) ?? "", /admin/i);

      // The dashboard's chat offers the team's models and streams one through the team's /v1 (JIT start).
      const source = api.team.chatSource();
      assert.ok(source.targets().some((t) => t.id === `team:${TEAM_PROFILE}`), "team:<profile> among the chat targets");
      let text = "";
      let usage: { completionTokens: number } | undefined;
      for await (const chunk of source.chatStream({ model: TEAM_PROFILE, messages: [{ role: "user", content: "Once upon a time" }], max_tokens: 12, temperature: 0 }, AbortSignal.timeout(120_000))) {
        if (chunk.type === "delta") text += chunk.text;
        else usage = chunk;
      }
      assert.ok(text.length > 0, "the team model answered");
      assert.ok(usage && usage.completionTokens > 0, "usage reported");
      // Metered per user on the team server.
      const usageRows = await owner.usageByUser();
      assert.ok(usageRows.rows.some((r) => r.email === teammate && r.requests >= 1), `usage counted for the teammate: ${JSON.stringify(usageRows.rows)}`);
      await waitFor(() => api.team.refresh().then(() => api.team.snapshot?.servers.some((s) => s.profileName === TEAM_PROFILE && s.state === "running") || undefined), "the JIT-started server in Running servers");

      // Chat with Team Model opens the dashboard on it.
      assert.equal(await vscode.commands.executeCommand("mlx.chatWithTeamModel", model), TEAM_PROFILE);

      // Promoted by the owner: the next poll shows admin actions, and Stop works through the shared listener.
      await owner.updateUser(users.id, { role: "admin" });
      const ended = await waitFor(() => (api.team.snapshot?.status === "signed-out" ? api.team.snapshot : undefined), "a changed role ends the session (token version)");
      assert.match(ended.problem ?? "", /Connect to the team server again/);
      assert.equal(api.team.client, undefined);
      await vscode.commands.executeCommand("mlx.connectTeamServer", { url, email: teammate, password: "teammate-password-123", fingerprint: status.fingerprint });
      await waitFor(() => (api.team.snapshot?.status === "connected" && api.team.snapshot.user?.role === "admin") || undefined, "signed in again as admin");
      const adminModel = await waitFor(() => api.teamTree.getChildren(api.teamTree.getChildren()[0]).find((n: TeamNode) => "model" in n && n.model.id === TEAM_PROFILE), "the team's models, as admin");
      assert.match(String(adminModel.contextValue), /^teamModel\.running\.admin$/);
      const stopped = await vscode.commands.executeCommand<{ state: string } | undefined>("mlx.teamStopServer", TEAM_PROFILE);
      assert.equal(stopped?.state, "stopped", api.errors.recent.join("; "));

      // Sign Out forgets the token and the pin.
      const signedOut = await vscode.commands.executeCommand<boolean>("mlx.signOutTeamServer");
      assert.equal(signedOut, true);
      assert.equal(api.team.snapshot, undefined);
      assert.equal(api.team.client, undefined);
      assert.equal(api.teamTree.getChildren().length, 0, "the view shows its welcome");
    } finally {
      await vscode.commands.executeCommand<SharedStatus>("mlx.stopSharedServer");
      await owner.stopServer(profile.id).catch(() => undefined);
      await owner.deleteProfile(profile.id).catch(() => undefined);
    }
  });

  it("waits while the account is pending, and refuses a changed certificate loudly", async () => {
    const api = await extensionApi();
    const owner = await api.connection.client();
    if (!(await owner.sharedStatus()).hasAdmin) await owner.createFirstAdmin(OWNER.email, OWNER.password);
    const first = await owner.startShared({ port: 0, host: "127.0.0.1", tls: { selfSigned: true } });
    const port = first.port ?? 0;
    const url = `https://127.0.0.1:${port}`;
    try {
      // Registered, not approved yet: signed in, "pending", no models.
      const { peerCertificate } = await import("../../../src/client/pinnedTls");
      const shared = new ManagerClient({ url, token: "", tlsPin: (await peerCertificate(url)).pin });
      const mate = `pending-${Date.now()}@example.com`;
      const registered = await shared.register(mate, "teammate-password-123");
      await vscode.commands.executeCommand("mlx.connectTeamServer", { url, email: mate, password: "teammate-password-123", fingerprint: first.fingerprint });
      await waitFor(() => api.team.snapshot?.status === "pending" || undefined, `pending (${String(api.team.snapshot?.status)})`);
      assert.equal(api.teamTree.getChildren().length, 0, "the pending welcome, no models");
      assert.deepEqual(api.team.chatSource().targets(), [], "no chat targets while pending");
      await owner.updateUser(registered.user.id, { status: "approved" });
      await api.team.refresh();
      await waitFor(() => api.team.snapshot?.status === "connected" || undefined, "connected once approved");

      // The listener comes back on the same port with another certificate: refused, signed out.
      await owner.stopShared();
      const other = otherCertificate(fx.root);
      await owner.startShared({ port, host: "127.0.0.1", tls: other });
      await api.team.refresh();
      const snapshot = await waitFor(() => (api.team.snapshot?.status === "signed-out" ? api.team.snapshot : undefined), "signed out by a changed certificate", 40_000);
      assert.match(snapshot.problem ?? "", /CHANGED/);
      assert.equal(api.team.client, undefined, "no request goes to the changed server");
    } finally {
      await vscode.commands.executeCommand("mlx.signOutTeamServer");
      await vscode.commands.executeCommand<SharedStatus>("mlx.stopSharedServer");
    }
  });
});

/** A different self-signed certificate for 127.0.0.1, made with openssl (as an owner's own would be). */
function otherCertificate(dir: string): { certFile: string; keyFile: string } {
  const certFile = path.join(dir, "other.crt");
  const keyFile = path.join(dir, "other.key");
  execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=other", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", keyFile, "-out", certFile], { stdio: "ignore" });
  return { certFile, keyFile };
}

/** A teammate registers over the shared listener (pinned TLS) and the owner approves them over loopback. */
async function registerAndApprove(owner: ManagerClient, url: string, status: SharedStatus, email: string): Promise<UserInfo> {
  const { peerCertificate } = await import("../../../src/client/pinnedTls");
  const peer = await peerCertificate(url);
  assert.equal(peer.pin.fingerprint, status.fingerprint);
  const shared = new ManagerClient({ url, token: "", tlsPin: peer.pin });
  const registered = await shared.register(email, "teammate-password-123");
  assert.equal(registered.user.status, "pending");
  return owner.updateUser(registered.user.id, { status: "approved" });
}
