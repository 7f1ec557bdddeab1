import fs from "node:fs";
import { execFileSync } from "node:child_process";

/** True when a process with this pid exists (and we may signal it or not). */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * An identity for a process that survives pid reuse: its start time as the OS reports it.
 * Linux: field 22 of /proc/PID/stat (clock ticks since boot); elsewhere `ps -o lstart=`.
 */
export function processStartTime(pid: number): string | undefined {
  if (!isProcessAlive(pid)) return undefined;
  if (process.platform === "linux") {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
      // The command name (field 2) may contain spaces and parentheses: split after the last ")".
      const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      return rest[19];
    } catch {
      return undefined;
    }
  }
  if (process.platform === "win32") return undefined;
  try {
    return execFileSync("ps", ["-o", "lstart=", "-p", String(pid)], { encoding: "utf8", timeout: 2000 }).trim() || undefined;
  } catch {
    return undefined;
  }
}
