import { execFile } from "node:child_process";
import fs from "node:fs";
import net from "node:net";

const LOOPBACK = "127.0.0.1";

/** Who listens on a port, as far as the OS tells us. */
export interface PortHolder {
  pid: number;
  /** The process's command line (or its name, when that is all we can read). */
  command: string;
}

/** True when nothing listens on 127.0.0.1:`port` (a bind test, then a connect probe). */
export async function isPortFree(port: number): Promise<boolean> {
  const bound = await new Promise<boolean>((resolve) => {
    const server = net.createServer();
    server.once("error", () => {
      resolve(false);
    });
    server.listen({ host: LOOPBACK, port, exclusive: true }, () => {
      server.close(() => {
        resolve(true);
      });
    });
  });
  if (!bound) return false;
  // Some systems let a bind on 127.0.0.1 succeed next to a listener on the wildcard address.
  return !(await answersConnect(port, 300));
}

/** True when something accepts a TCP connection on 127.0.0.1:`port` within `timeoutMs`. */
export function answersConnect(port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: LOOPBACK, port });
    const done = (result: boolean): void => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => {
      done(false);
    });
    socket.once("connect", () => {
      done(true);
    });
    socket.once("error", () => {
      done(false);
    });
  });
}

/** A port the OS considers free right now (bind to 0, read it, release it). */
export async function anyFreePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: LOOPBACK, port: 0, exclusive: true }, resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) =>
    server.close(() => {
      resolve();
    }),
  );
  if (address === null || typeof address === "string") throw new Error("the OS gave no port");
  return address.port;
}

/** The first free port from `from` upwards (at most `span` tried), else any free port. */
export async function nextFreePort(
  from: number,
  span = 200,
  isTaken: (port: number) => boolean = () => false,
): Promise<number> {
  for (let port = Math.max(1024, from); port <= Math.min(65535, from + span); port++) {
    if (!isTaken(port) && (await isPortFree(port))) return port;
  }
  return anyFreePort();
}

/** The process listening on `port`, if the OS lets us see it (Linux /proc, macOS lsof). */
export async function findPortHolder(port: number): Promise<PortHolder | undefined> {
  if (process.platform === "linux") return linuxPortHolder(port);
  if (process.platform === "darwin") return lsofPortHolder(port);
  return undefined;
}

/** Socket inodes listening on `port`, from /proc/net/tcp and tcp6. */
export function listeningInodes(
  port: number,
  tables: readonly string[] = ["/proc/net/tcp", "/proc/net/tcp6"],
): Set<string> {
  const inodes = new Set<string>();
  for (const table of tables) {
    let text: string;
    try {
      text = fs.readFileSync(table, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      const local = fields[1];
      const state = fields[3];
      const inode = fields[9];
      if (local === undefined || state !== "0A" || inode === undefined || inode === "0") continue;
      const portHex = local.slice(local.lastIndexOf(":") + 1);
      if (Number.parseInt(portHex, 16) === port) inodes.add(inode);
    }
  }
  return inodes;
}

function linuxPortHolder(port: number): PortHolder | undefined {
  const inodes = listeningInodes(port);
  if (inodes.size === 0) return undefined;
  const wanted = new Set([...inodes].map((inode) => `socket:[${inode}]`));
  let pids: string[];
  try {
    pids = fs.readdirSync("/proc").filter((name) => /^\d+$/.test(name));
  } catch {
    return undefined;
  }
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = fs.readdirSync(`/proc/${pid}/fd`);
    } catch {
      // Another user's process, or it just exited.
      continue;
    }
    for (const fd of fds) {
      let target: string;
      try {
        target = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      if (wanted.has(target)) return { pid: Number(pid), command: linuxCommand(Number(pid)) };
    }
  }
  return undefined;
}

function linuxCommand(pid: number): string {
  try {
    const args = fs
      .readFileSync(`/proc/${pid}/cmdline`, "utf8")
      .split("\0")
      .filter((a) => a.length > 0);
    if (args.length > 0) return args.join(" ");
  } catch {
    // Fall back to the short name below.
  }
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "an unknown process";
  }
}

function lsofPortHolder(port: number): Promise<PortHolder | undefined> {
  return new Promise((resolve) => {
    execFile("lsof", ["-nP", `-iTCP:${port}`, "-sTCP:LISTEN", "-Fpc"], { timeout: 3000 }, (error, stdout) => {
      if (error !== null && stdout.length === 0) {
        resolve(undefined);
        return;
      }
      const pid = /^p(\d+)$/m.exec(stdout)?.[1];
      const name = /^c(.+)$/m.exec(stdout)?.[1];
      resolve(pid === undefined ? undefined : { pid: Number(pid), command: name ?? "an unknown process" });
    });
  });
}
