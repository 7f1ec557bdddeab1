// Helpers of the shared-mode tests: JSON over real HTTP to either listener, the first admin and
// the shared listener, and what a process listens on (from /proc, Linux).
import fs from "node:fs";
import type { RunningManager } from "./manager";

export interface Answer {
  status: number;
  json: unknown;
  text: string;
  headers: Headers;
}

/** One request; `auth` is a bearer credential (a JWT, an API key or the local token). */
export async function call(base: string, method: string, route: string, options: { auth?: string; body?: unknown; raw?: string | Buffer; contentType?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.auth !== undefined) headers["authorization"] = `Bearer ${options.auth}`;
  let body: string | Buffer | undefined;
  if (options.raw !== undefined) {
    body = options.raw;
    headers["content-type"] = options.contentType ?? "application/json";
  } else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers["content-type"] = "application/json";
  }
  const response = await fetch(base + route, { method, headers, redirect: "manual", ...(body === undefined ? {} : { body }) });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, json, text, headers: response.headers };
}

export const ADMIN = { email: "Admin@Example.com", password: "correct horse battery staple" };

/** Makes the first admin over loopback and opens the shared listener on 127.0.0.1; returns its URL. */
export async function openShared(manager: RunningManager, options: Record<string, unknown> = {}): Promise<string> {
  const status = await manager.api("GET", "/api/shared");
  if (!(status.json as { hasAdmin: boolean }).hasAdmin) {
    const made = await manager.api("POST", "/api/users/first-admin", ADMIN);
    if (made.status !== 201) throw new Error(`first admin: ${made.status} ${made.text}`);
  }
  const started = await manager.api("POST", "/api/shared/start", { port: 0, host: "127.0.0.1", ...options });
  if (started.status !== 200) throw new Error(`shared start: ${started.status} ${started.text}`);
  return (started.json as { url: string }).url;
}

/** Signs in on the shared listener; returns the token. */
export async function login(shared: string, email: string, password: string): Promise<string> {
  const res = await call(shared, "POST", "/api/auth/login", { body: { email, password } });
  if (res.status !== 200) throw new Error(`login ${email}: ${res.status} ${res.text}`);
  return (res.json as { token: string }).token;
}

/** Registers (pending), approves over loopback, signs in; returns id and token. */
export async function approvedUser(manager: RunningManager, shared: string, email: string, password: string, role: "user" | "admin" = "user"): Promise<{ id: string; token: string }> {
  const registered = await call(shared, "POST", "/api/auth/register", { body: { email, password } });
  if (registered.status !== 201) throw new Error(`register ${email}: ${registered.status} ${registered.text}`);
  const id = (registered.json as { user: { id: string } }).user.id;
  const approved = await manager.api("PATCH", `/api/users/${id}`, { status: "approved", role });
  if (approved.status !== 200) throw new Error(`approve ${email}: ${approved.status} ${approved.text}`);
  return { id, token: await login(shared, email, password) };
}

/** The TCP addresses `pid` listens on ("127.0.0.1:PORT", "0.0.0.0:PORT", "[::]:PORT"), read from /proc. */
export function listeningAddresses(pid: number): string[] {
  const inodes = new Set<string>();
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match?.[1]) inodes.add(match[1]);
    } catch {
      // Closed while we looked.
    }
  }
  const found: string[] = [];
  for (const [file, v6] of [["/proc/net/tcp", false], ["/proc/net/tcp6", true]] as const) {
    let text: string;
    try {
      text = fs.readFileSync(file, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10 || cols[3] !== "0A" || !inodes.has(cols[9] ?? "")) continue;
      const [hexAddr = "", hexPort = "0"] = (cols[1] ?? "").split(":");
      const port = parseInt(hexPort, 16);
      if (!v6) {
        const bytes = (hexAddr.match(/../g) ?? []).map((b) => parseInt(b, 16)).reverse();
        found.push(`${bytes.join(".")}:${port}`);
      } else {
        found.push(`[${/^0+$/.test(hexAddr) ? "::" : hexAddr === "00000000000000000000000001000000" ? "::1" : hexAddr}]:${port}`);
      }
    }
  }
  return found.sort();
}
