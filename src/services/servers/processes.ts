import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { isProcessAlive, processStartTime } from "../process/processInfo";

/** State letter and process group of a Linux process from /proc/PID/stat, if readable. */
function linuxStat(pid: number | string): { state: string; pgrp: number } | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may contain spaces and parentheses: split after the last ")".
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { state: rest[0] ?? "", pgrp: Number(rest[2]) };
  } catch {
    return undefined;
  }
}

/**
 * True when `pid` is a running process, not a zombie. A server whose manager died is re-parented
 * to init, which may take its time to reap it; until then kill(pid, 0) still succeeds.
 */
export function isProcessRunning(pid: number): boolean {
  if (!isProcessAlive(pid)) return false;
  if (process.platform !== "linux") return true;
  const stat = linuxStat(pid);
  return stat === undefined ? true : stat.state !== "Z" && stat.state !== "X";
}

/** The argument vector of a live process (Linux /proc/PID/cmdline; elsewhere `ps -o command=`, split on spaces). */
export function processCommandLine(pid: number): string[] | undefined {
  if (!isProcessAlive(pid)) return undefined;
  if (process.platform === "linux") {
    try {
      const args = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      if (args.at(-1) === "") args.pop();
      return args.length > 0 ? args : undefined;
    } catch {
      return undefined;
    }
  }
  if (process.platform === "win32") return undefined;
  try {
    const text = execFileSync("ps", ["-o", "command=", "-p", String(pid)], {
      encoding: "utf8",
      timeout: 2000,
    }).trim();
    return text.length > 0 ? text.split(/\s+/) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * True when a process's argv is the one we launched as `command`. An interpreter may stand in
 * front of a script (`#!/usr/bin/env node` → `node /path/script args...`), so the recorded
 * arguments must end the argv and the executable must appear before them by path or name.
 * On systems where argv comes from `ps`, arguments with spaces are compared joined.
 */
export function commandMatches(actual: readonly string[], command: readonly string[]): boolean {
  const [executable, ...args] = command;
  if (executable === undefined) return false;
  const joinedActual = actual.join(" ");
  const joinedArgs = args.join(" ");
  if (joinedArgs.length > 0 && !joinedActual.endsWith(` ${joinedArgs}`)) return false;
  const headLength =
    joinedArgs.length > 0 ? joinedActual.length - joinedArgs.length - 1 : joinedActual.length;
  const head = joinedActual.slice(0, headLength).split(" ");
  const name = path.basename(executable);
  return head.some((part) => part === executable || path.basename(part) === name);
}

/** What identifies a launched process across manager restarts. */
export interface ProcessIdentity {
  pid: number;
  /** processStartTime() when it was launched; undefined where the OS does not tell. */
  processStart: string | undefined;
  command: readonly string[];
}

/** True when `identity.pid` is still the process we launched: same start time and command line. */
export function isSameProcess(identity: ProcessIdentity): boolean {
  if (!isProcessRunning(identity.pid)) return false;
  const start = processStartTime(identity.pid);
  if (identity.processStart !== undefined && start !== undefined && start !== identity.processStart)
    return false;
  const argv = processCommandLine(identity.pid);
  if (argv === undefined) return identity.processStart !== undefined && start === identity.processStart;
  return commandMatches(argv, identity.command);
}

/** Sends `signal` to every process of the group led by `pgid`; false when the group is gone. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  if (!Number.isInteger(pgid) || pgid <= 1) return false;
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ESRCH") return false;
    throw error;
  }
}

/** True while any process of the group led by `pgid` runs (zombies waiting to be reaped do not count, on Linux). */
export function groupAlive(pgid: number): boolean {
  if (!Number.isInteger(pgid) || pgid <= 1) return false;
  try {
    process.kill(-pgid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
  if (process.platform !== "linux") return true;
  let pids: string[];
  try {
    pids = fs.readdirSync("/proc").filter((name) => /^\d+$/.test(name));
  } catch {
    return true;
  }
  return pids.some((pid) => {
    const stat = linuxStat(pid);
    return stat !== undefined && stat.pgrp === pgid && stat.state !== "Z" && stat.state !== "X";
  });
}
