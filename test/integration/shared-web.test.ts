// The shared listener's web pages in a real Chromium (playwright-core, the system's browser):
// sign-in, registration with "waiting for approval", the admin's users page with the pending
// badge and actions, usage and audit pages, API keys; CSP and cookies; screenshots for a look.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { makeTempDir, removeTempDir } from "../helpers/hfCache";
import { ROOT, startManager, type RunningManager } from "../helpers/manager";
import { ADMIN, call, openShared } from "../helpers/shared";

const CHROMIUM = "/usr/bin/chromium";
const SHOTS = path.join(ROOT, "artifacts", "screenshots");

describe("shared mode's web pages in Chromium", function () {
  this.timeout(120_000);
  let root: string;
  let manager: RunningManager | undefined;
  let shared: string;
  let browser: Browser | undefined;
  const foreignRequests: string[] = [];

  const newPage = async (context: BrowserContext): Promise<Page> => {
    const page = await context.newPage();
    page.on("request", (request) => {
      if (!request.url().startsWith(shared)) foreignRequests.push(request.url());
    });
    return page;
  };
  const shot = async (page: Page, name: string): Promise<void> => {
    await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
  };

  before(async () => {
    assert.ok(fs.existsSync(CHROMIUM), `no Chromium at ${CHROMIUM}: run node scripts/vscode-server/install.mjs (npm run test:unit does)`);
    root = makeTempDir("mlx-web-");
    fs.mkdirSync(path.join(root, "hub"));
    fs.mkdirSync(SHOTS, { recursive: true });
    manager = await startManager({ dataDir: path.join(root, "data"), hfCache: path.join(root, "hub"), env: { HOME: root } });
    shared = await openShared(manager);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"] // playwright gives the browser a fresh user-data-dir of its own,
    });
  });

  after(async () => {
    await browser?.close();
    await manager?.stop();
    if (root) removeTempDir(root);
  });

  it("redirects to /login, registers a teammate who then waits for approval, and lets the admin approve them from the users page", async () => {
    assert.ok(browser);
    const teammate = await browser.newContext({ viewport: { width: 1000, height: 700 } });
    const page = await newPage(teammate);
    const first = await page.goto(`${shared}/admin/users`);
    assert.equal(new URL(page.url()).pathname, "/login", "unauthenticated pages go to /login");
    const csp = first?.request().redirectedFrom() ? (await page.reload())?.headers()["content-security-policy"] : first?.headers()["content-security-policy"];
    assert.match(csp ?? "", /default-src 'none'/);
    assert.doesNotMatch(csp ?? "", /script-src/, "no scripts allowed at all");
    await shot(page, "login");

    await page.getByRole("link", { name: "Ask for one" }).click();
    assert.equal(new URL(page.url()).pathname, "/register");
    await page.getByLabel("Email").fill("Teammate@Example.com");
    await page.getByLabel("Password").fill("password123");
    await shot(page, "register");
    await page.getByRole("button", { name: "Create account" }).click();
    assert.match(await page.getByRole("alert").innerText(), /common password/);
    await page.getByLabel("Password").fill("teammates long passphrase");
    await page.getByRole("button", { name: "Create account" }).click();
    await page.getByRole("heading", { name: "Waiting for approval" }).waitFor();
    assert.match(await page.locator("main").innerText(), /teammate@example\.com/);
    await shot(page, "register-waiting");

    // Signing in while pending shows the same state, and no model access.
    await page.goto(`${shared}/login`);
    await page.getByLabel("Email").fill("teammate@example.com");
    await page.getByLabel("Password").fill("teammates long passphrase");
    await page.getByRole("button", { name: "Sign in" }).click();
    assert.equal(new URL(page.url()).pathname, "/account");
    assert.match(await page.locator("main").innerText(), /pending/);
    const cookies = await teammate.cookies();
    const session = cookies.find((c) => c.name === "mlx_session");
    assert.ok(session?.httpOnly && session.sameSite === "Strict", JSON.stringify(cookies));
    const pendingAdmin = await page.goto(`${shared}/admin/users`);
    assert.equal(pendingAdmin?.status(), 403);

    const admin = await browser.newContext({ viewport: { width: 1200, height: 700 } });
    const adminPage = await newPage(admin);
    await adminPage.goto(`${shared}/login`);
    await adminPage.getByLabel("Email").fill(ADMIN.email);
    await adminPage.getByLabel("Password").fill("not the password");
    await adminPage.getByRole("button", { name: "Sign in" }).click();
    assert.match(await adminPage.getByRole("alert").innerText(), /Wrong email or password/);
    await shot(adminPage, "login-error");
    await adminPage.getByLabel("Password").fill(ADMIN.password);
    await adminPage.getByRole("button", { name: "Sign in" }).click();
    assert.equal(new URL(adminPage.url()).pathname, "/admin/users");
    assert.equal((await adminPage.locator(".badge").innerText()).trim(), "1", "pending badge in the navigation");
    await shot(adminPage, "admin-users-pending");
    await adminPage.getByRole("button", { name: "Approve teammate@example.com" }).click();
    assert.match(await adminPage.getByRole("status").innerText(), /teammate@example\.com: approved/);
    assert.equal(await adminPage.locator(".badge").count(), 0);
    await shot(adminPage, "admin-users");

    // The teammate (same cookie: approval keeps the session) can now make an API key.
    await page.goto(`${shared}/account`);
    await page.getByLabel("New key name").fill("laptop");
    await page.getByRole("button", { name: "Create key" }).click();
    const key = (await page.locator("code.secret").innerText()).trim();
    assert.match(key, /^mlxk_[A-Za-z0-9_-]{43}$/);
    await shot(page, "account-key");
    assert.equal((await call(shared, "GET", "/v1/models", { auth: key })).status, 200, "the key works on /v1");
    await page.goto(`${shared}/account`);
    assert.equal(await page.locator("code.secret").count(), 0, "shown once");
    assert.match(await page.locator("tbody").innerText(), /laptop/);

    // Last-admin protection shows as an error on the page.
    await adminPage.getByRole("button", { name: "Make user admin@example.com" }).click();
    assert.match(await adminPage.getByRole("alert").innerText(), /last admin/);
    await shot(adminPage, "admin-last-admin");

    for (const [route, name] of [["/admin/usage", "admin-usage"], ["/admin/audit", "admin-audit"]] as const) {
      const res = await adminPage.goto(`${shared}${route}`);
      assert.equal(res?.status(), 200);
      await shot(adminPage, name);
    }
    assert.match(await adminPage.locator("main").innerText(), /approve/);

    // Dark theme too.
    await adminPage.emulateMedia({ colorScheme: "dark" });
    await adminPage.goto(`${shared}/admin/users`);
    await shot(adminPage, "admin-users-dark");

    // A form without the CSRF token is refused; signing out ends the session.
    const forged = await adminPage.request.post(`${shared}/admin/users/x/approve`, { form: { csrf: "wrong" }, maxRedirects: 0 });
    assert.equal(forged.status(), 403);
    await adminPage.getByRole("button", { name: "Sign out" }).click();
    assert.equal(new URL(adminPage.url()).pathname, "/login");
    await adminPage.goto(`${shared}/admin/users`);
    assert.equal(new URL(adminPage.url()).pathname, "/login");

    assert.deepEqual(foreignRequests, [], "no external assets");
    await teammate.close();
    await admin.close();
  });
});
