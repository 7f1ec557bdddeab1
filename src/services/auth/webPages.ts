// The shared listener's web pages: plain server-rendered HTML, no scripts, no external assets.
import type { ApiKeyCreated, ApiKeyInfo, AuditEvent, UserInfo, UserUsageRow } from "../../shared/auth";

export interface PageContext {
  title: string;
  /** The signed-in user, if any. */
  user?: { id: string; email: string; role: string; status: string };
  /** For the admin navigation's badge. */
  pendingCount?: number;
  /** Put into every form. */
  csrf: string;
  /** The current path, to mark the navigation. */
  path: string;
}

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c);
}

const e = escapeHtml;

function csrfField(ctx: PageContext): string {
  return `<input type="hidden" name="csrf" value="${e(ctx.csrf)}">`;
}

function nav(ctx: PageContext): string {
  const link = (href: string, label: string, extra = ""): string =>
    `<a href="${href}"${ctx.path === href ? ' aria-current="page"' : ""}>${label}${extra}</a>`;
  const items: string[] = [];
  if (ctx.user) {
    if (ctx.user.role === "admin") {
      const pending = ctx.pendingCount ?? 0;
      const badge = pending > 0 ? ` <span class="badge" aria-label="${pending} pending">${pending}</span>` : "";
      items.push(link("/admin/users", "Users", badge), link("/admin/usage", "Usage"), link("/admin/audit", "Audit log"));
    }
    items.push(link("/account", "Account"));
  }
  const who = ctx.user
    ? `<form method="post" action="/logout" class="inline">${csrfField(ctx)}<span class="who">${e(ctx.user.email)}</span> <button type="submit" class="link">Sign out</button></form>`
    : "";
  return `<header class="top"><div class="brand">MLX Model Manager <span class="muted">team server</span></div><nav aria-label="Main">${items.join("")}</nav>${who}</header>`;
}

/** The page frame: one stylesheet from this server, nothing else. */
export function layout(ctx: PageContext, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>${e(ctx.title)} · MLX Model Manager</title>
<link rel="stylesheet" href="/assets/style.css">
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
${nav(ctx)}
<main id="main">
${body}
</main>
</body>
</html>`;
}

function alert(kind: "error" | "notice", text: string | undefined): string {
  if (text === undefined || text === "") return "";
  return kind === "error" ? `<p class="alert error" role="alert">${e(text)}</p>` : `<p class="alert notice" role="status">${e(text)}</p>`;
}

export function loginPage(ctx: PageContext, options: { error?: string; notice?: string; email?: string } = {}): string {
  return layout(
    ctx,
    `<section class="card narrow" aria-labelledby="h">
<h1 id="h">Sign in</h1>
<p class="muted">Use the account an admin of this team server approved.</p>
${alert("error", options.error)}${alert("notice", options.notice)}
<form method="post" action="/login">
${csrfField(ctx)}
<label for="email">Email</label>
<input id="email" name="email" type="email" autocomplete="username" required maxlength="254" value="${e(options.email ?? "")}">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required maxlength="256">
<button type="submit" class="primary">Sign in</button>
</form>
<p>No account yet? <a href="/register">Ask for one</a>.</p>
</section>`,
  );
}

export function registerPage(ctx: PageContext, options: { error?: string; email?: string } = {}): string {
  return layout(
    ctx,
    `<section class="card narrow" aria-labelledby="h">
<h1 id="h">Ask for an account</h1>
<p class="muted">An admin approves new accounts before they can use the models.</p>
${alert("error", options.error)}
<form method="post" action="/register">
${csrfField(ctx)}
<label for="email">Email</label>
<input id="email" name="email" type="email" autocomplete="username" required maxlength="254" value="${e(options.email ?? "")}">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="new-password" required minlength="10" maxlength="256" aria-describedby="password-help">
<p id="password-help" class="help">At least 10 characters; not your email, not a common password.</p>
<button type="submit" class="primary">Create account</button>
</form>
<p>Have an account? <a href="/login">Sign in</a>.</p>
</section>`,
  );
}

export function waitingPage(ctx: PageContext, email: string): string {
  return layout(
    ctx,
    `<section class="card narrow" aria-labelledby="h">
<h1 id="h">Waiting for approval</h1>
<p role="status">The account <strong>${e(email)}</strong> exists and is waiting for an admin of this server to approve it.</p>
<p>Once approved, sign in again to use the models.</p>
<p><a href="/login">Back to sign in</a></p>
</section>`,
  );
}

export function accountPage(ctx: PageContext, keys: readonly ApiKeyInfo[], created?: ApiKeyCreated, message?: string): string {
  const user = ctx.user;
  if (user === undefined) return errorPage(ctx, 401, "Sign in first.");
  if (user.status !== "approved") {
    return layout(ctx, `<section class="card narrow" aria-labelledby="h"><h1 id="h">Waiting for approval</h1><p role="status">Your account <strong>${e(user.email)}</strong> is ${e(user.status)}. An admin of this server has to approve it before you can use the models.</p></section>`);
  }
  const rows = keys
    .map(
      (k) => `<tr><td>${e(k.name)}</td><td><code>${e(k.prefix)}…</code></td><td>${time(k.createdAt)}</td><td>${k.lastUsedAt === undefined ? "never" : time(k.lastUsedAt)}</td>
<td>${k.revokedAt === undefined ? `<form method="post" action="/account/keys/${encodeURIComponent(k.id)}/revoke" class="inline">${csrfField(ctx)}<button type="submit" class="danger small">Revoke</button></form>` : `revoked ${time(k.revokedAt)}`}</td></tr>`,
    )
    .join("\n");
  const shown = created
    ? `<div class="alert notice" role="status"><p>New key <strong>${e(created.name)}</strong>. Copy it now: it is not shown again.</p><p><code class="secret">${e(created.key)}</code></p></div>`
    : "";
  return layout(
    ctx,
    `<h1>Account</h1>
<p>Signed in as <strong>${e(user.email)}</strong> (${e(user.role)}).</p>
${alert("notice", message)}
<section class="card" aria-labelledby="keys-h">
<h2 id="keys-h">API keys</h2>
<p class="muted">For tools that speak the OpenAI API: base URL <code>/v1</code> of this server, the key as the bearer token.</p>
${shown}
<table><caption class="sr-only">Your API keys</caption><thead><tr><th scope="col">Name</th><th scope="col">Key</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col">Action</th></tr></thead>
<tbody>${rows || '<tr><td colspan="5" class="muted">No keys yet.</td></tr>'}</tbody></table>
<form method="post" action="/account/keys" class="row">
${csrfField(ctx)}
<label for="key-name">New key name</label>
<input id="key-name" name="name" required maxlength="100">
<button type="submit" class="primary">Create key</button>
</form>
</section>`,
  );
}

export function adminUsersPage(ctx: PageContext, users: readonly UserInfo[], message?: { kind: "error" | "notice"; text: string }): string {
  const me = ctx.user?.id;
  const action = (user: UserInfo, verb: string, label: string, cls = ""): string =>
    `<form method="post" action="/admin/users/${encodeURIComponent(user.id)}/${verb}" class="inline">${csrfField(ctx)}<button type="submit" class="small ${cls}" aria-label="${e(label)} ${e(user.email)}">${e(label)}</button></form>`;
  const rows = users
    .map((u) => {
      const actions: string[] = [];
      if (u.status === "pending") actions.push(action(u, "approve", "Approve", "primary"), action(u, "delete", "Reject", "danger"));
      if (u.status === "approved") actions.push(action(u, "disable", "Disable"));
      if (u.status === "disabled") actions.push(action(u, "enable", "Enable"));
      if (u.status !== "pending") actions.push(u.role === "admin" ? action(u, "demote", "Make user") : action(u, "promote", "Make admin"));
      if (u.status !== "pending") actions.push(action(u, "delete", "Delete", "danger"));
      const reset = u.status === "pending" ? "" : `<details><summary>Reset password</summary><form method="post" action="/admin/users/${encodeURIComponent(u.id)}/password" class="row">${csrfField(ctx)}<label for="pw-${e(u.id)}">New password for ${e(u.email)}</label><input id="pw-${e(u.id)}" name="password" type="password" autocomplete="new-password" required minlength="10" maxlength="256"><button type="submit" class="small">Set</button></form></details>`;
      return `<tr${u.status === "pending" ? ' class="pending"' : ""}><td>${e(u.email)}${u.id === me ? ' <span class="muted">(you)</span>' : ""}</td><td><span class="pill ${e(u.status)}">${e(u.status)}</span></td><td>${e(u.role)}</td><td>${time(u.createdAt)}</td><td>${u.lastLoginAt === undefined ? "never" : time(u.lastLoginAt)}</td><td class="actions">${actions.join(" ")}${reset}</td></tr>`;
    })
    .join("\n");
  const pending = users.filter((u) => u.status === "pending").length;
  return layout(
    ctx,
    `<h1>Users</h1>
<p class="muted">${users.length} account${users.length === 1 ? "" : "s"}, ${pending} waiting for approval.</p>
${message ? alert(message.kind, message.text) : ""}
<table><caption class="sr-only">Accounts of this team server</caption>
<thead><tr><th scope="col">Email</th><th scope="col">Status</th><th scope="col">Role</th><th scope="col">Created</th><th scope="col">Last sign-in</th><th scope="col">Actions</th></tr></thead>
<tbody>${rows}</tbody></table>`,
  );
}

export function adminUsagePage(ctx: PageContext, rows: readonly UserUsageRow[]): string {
  const body = rows
    .map((r) => `<tr><td>${e(r.day)}</td><td>${e(r.email || r.userId)}</td><td>${e(r.profileName)}</td><td class="num">${r.requests}</td><td class="num">${r.errors}</td><td class="num">${r.promptTokens}</td><td class="num">${r.completionTokens}</td></tr>`)
    .join("\n");
  return layout(
    ctx,
    `<h1>Usage by user</h1>
<p><a href="/admin/usage.csv" download>Download CSV</a></p>
<table><caption class="sr-only">Requests and tokens per user, model and day (UTC)</caption>
<thead><tr><th scope="col">Day (UTC)</th><th scope="col">User</th><th scope="col">Model</th><th scope="col" class="num">Requests</th><th scope="col" class="num">Errors</th><th scope="col" class="num">Prompt tokens</th><th scope="col" class="num">Completion tokens</th></tr></thead>
<tbody>${body || '<tr><td colspan="7" class="muted">No requests yet.</td></tr>'}</tbody></table>`,
  );
}

export function adminAuditPage(ctx: PageContext, events: readonly AuditEvent[]): string {
  const body = events
    .map((ev) => {
      const details = ev.details === undefined ? "" : Object.entries(ev.details).filter(([k]) => k !== "targetEmail").map(([k, v]) => `${k}=${String(v)}`).join(", ");
      const target = typeof ev.details?.["targetEmail"] === "string" ? ev.details["targetEmail"] : ev.target ?? "";
      return `<tr><td>${time(ev.at)}</td><td>${e(ev.type)}</td><td>${e(ev.actorEmail ?? (ev.actor === "" ? "anonymous" : ev.actor))}</td><td>${e(target)}</td><td>${e(ev.ip ?? "")}</td><td>${e(details)}</td></tr>`;
    })
    .join("\n");
  return layout(
    ctx,
    `<h1>Audit log</h1>
<table><caption class="sr-only">Security events, newest first</caption>
<thead><tr><th scope="col">When (UTC)</th><th scope="col">Event</th><th scope="col">Who</th><th scope="col">Target</th><th scope="col">IP</th><th scope="col">Details</th></tr></thead>
<tbody>${body || '<tr><td colspan="6" class="muted">Nothing yet.</td></tr>'}</tbody></table>`,
  );
}

export function errorPage(ctx: PageContext, status: number, message: string): string {
  return layout(ctx, `<section class="card narrow" aria-labelledby="h"><h1 id="h">${status === 403 ? "Not allowed" : status === 404 ? "Not found" : status === 429 ? "Too many attempts" : "Something went wrong"}</h1><p role="alert">${e(message)}</p><p><a href="/">Home</a></p></section>`);
}

function time(ms: number): string {
  return `<time datetime="${new Date(ms).toISOString()}">${new Date(ms).toISOString().slice(0, 16).replace("T", " ")}</time>`;
}

/** The one stylesheet; follows the system's light or dark theme. */
export const STYLESHEET = `:root{color-scheme:light dark;--bg:#f6f7f9;--fg:#1b1f24;--muted:#57606a;--card:#fff;--line:#d0d7de;--accent:#0b5cad;--accent-fg:#fff;--danger:#b42318;--ok:#1a7f37;--warn:#9a6700;--focus:#0969da}
@media (prefers-color-scheme:dark){:root{--bg:#16181d;--fg:#e6e8eb;--muted:#a0a8b3;--card:#1f232a;--line:#373e47;--accent:#4493f8;--accent-fg:#0d1117;--danger:#f47067;--ok:#57ab5a;--warn:#c69026;--focus:#6cb6ff}}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,Ubuntu,sans-serif;background:var(--bg);color:var(--fg)}
a{color:var(--accent)}
:focus-visible{outline:3px solid var(--focus);outline-offset:2px}
.skip{position:absolute;left:-999px}.skip:focus{left:8px;top:8px;background:var(--card);padding:4px 8px}
.sr-only{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
.top{display:flex;gap:24px;align-items:center;padding:10px 24px;background:var(--card);border-bottom:1px solid var(--line);flex-wrap:wrap}
.brand{font-weight:600}
.top nav{display:flex;gap:16px;flex:1}
.top nav a{text-decoration:none;padding:4px 2px;border-bottom:2px solid transparent}
.top nav a[aria-current=page]{border-bottom-color:var(--accent);font-weight:600}
.who{color:var(--muted)}
.badge{display:inline-block;min-width:1.4em;padding:0 6px;border-radius:10px;background:var(--danger);color:#fff;font-size:12px;text-align:center;font-weight:600}
main{max-width:1100px;margin:32px auto;padding:0 24px}
h1{font-size:24px;margin:0 0 12px}h2{font-size:18px;margin:0 0 8px}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:24px;margin-bottom:24px}
.narrow{max-width:420px;margin:48px auto}
.muted,.help{color:var(--muted)}.help{font-size:13px;margin:4px 0 0}
label{display:block;font-weight:600;margin:14px 0 4px}
input{width:100%;padding:8px 10px;font:inherit;color:var(--fg);background:var(--bg);border:1px solid var(--line);border-radius:6px}
button{font:inherit;padding:8px 14px;border-radius:6px;border:1px solid var(--line);background:var(--card);color:var(--fg);cursor:pointer}
button.primary{background:var(--accent);border-color:var(--accent);color:var(--accent-fg);font-weight:600}
form:not(.inline):not(.row)>button.primary{margin-top:18px;width:100%}
.row button.primary{width:auto}
button.danger{color:var(--danger);border-color:var(--danger)}
button.small{padding:3px 10px;font-size:13px}
button.link{border:0;background:none;color:var(--accent);padding:0;text-decoration:underline}
.inline{display:inline}
.row{display:flex;gap:8px;align-items:end;flex-wrap:wrap;margin-top:20px}.row label{margin:0;width:100%}.row input{flex:1;min-width:200px;width:auto}
table{width:100%;border-collapse:collapse;background:var(--card);border:1px solid var(--line);border-radius:8px}
th,td{text-align:left;padding:8px 10px;border-bottom:1px solid var(--line);vertical-align:top}
th{font-size:13px;color:var(--muted);font-weight:600}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
tr.pending{background:color-mix(in srgb,var(--warn) 10%,transparent)}
td.actions form{margin-right:4px}
details{margin-top:6px}summary{cursor:pointer;color:var(--muted);font-size:13px}
.pill{display:inline-block;padding:0 8px;border-radius:10px;font-size:13px;border:1px solid currentColor}
.pill.approved{color:var(--ok)}.pill.pending{color:var(--warn)}.pill.disabled{color:var(--danger)}
.alert{padding:10px 12px;border-radius:6px;border:1px solid var(--line)}
.alert.error{border-color:var(--danger);color:var(--danger)}
.alert.notice{border-color:var(--ok)}
.alert p{margin:4px 0}
.card>table,.card>.alert{margin:12px 0}
td time{white-space:nowrap}
code{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:13px}
code.secret{display:block;padding:8px;background:var(--bg);border:1px solid var(--line);border-radius:6px;word-break:break-all;user-select:all}
`;
