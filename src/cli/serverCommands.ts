import { InvalidArgumentError, type Command } from "commander";
import { ManagerRequestError, type ManagerClient } from "../client/ManagerClient";
import { formatMemory } from "../shared/memory";
import type { ServerInfo } from "../shared/servers";
import type { MemoryBudgetView } from "../shared/settings";
import type { ServerUsageSnapshot } from "../shared/usage";
import { table } from "./format";

const out = (text: string): void => void process.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
const err = (text: string): void => void process.stderr.write(text.endsWith("\n") ? text : `${text}\n`);

/** "45s", "12m 3s", "3h 5m", "2d 3h". */
export function formatUptime(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86_400)}d ${Math.floor((s % 86_400) / 3600)}h`;
}

const LIVE = new Set(["starting", "running", "unhealthy", "stopping"]);

/** The `ps` table: NAME ENGINE STATE PORT PID UPTIME MEMORY QUEUE WAIT TTFT MODEL (memory as the budget counts it; queue and times from the gateway). */
export function serverTable(servers: readonly ServerInfo[], now = Date.now(), extra: { usage?: readonly ServerUsageSnapshot[]; budget?: MemoryBudgetView } = {}): string {
  const usage = new Map((extra.usage ?? []).map((u) => [u.profileId, u]));
  const held = new Map((extra.budget?.servers ?? []).map((h) => [h.profileId, h]));
  const ms = (value: number | undefined): string => (value === undefined ? "" : `${Math.round(value)}ms`);
  return table(
    ["NAME", "ENGINE", "STATE", "PORT", "PID", "UPTIME", "MEMORY", "QUEUE", "WAIT P50", "TTFT P50", "MODEL"],
    servers.map((s) => {
      const live = LIVE.has(s.state);
      const since = s.readyAt ?? s.startedAt;
      const u = usage.get(s.profileId);
      const h = held.get(s.profileId);
      const state = s.state === "stopped" && s.stopReason === "evicted" && s.evictedFor !== undefined ? `stopped (made room for ${s.evictedFor})` : s.state + (s.adopted && live ? " (adopted)" : "");
      return [
        s.profileName,
        s.engine,
        state,
        s.remote === undefined ? String(s.port) : `on ${s.remote.backendName}`,
        live && s.pid !== undefined ? String(s.pid) : "",
        live && since !== undefined ? formatUptime(now - since) : "",
        live && h !== undefined ? `${formatMemory(h.bytes)}${h.source === "estimated" ? " est." : ""}${h.pinned ? " pinned" : ""}` : "",
        live && u?.queue !== undefined ? `${u.queue.active}/${u.queue.slots}+${u.queue.waiting}` : "",
        ms(u?.queueWaitP50Ms),
        ms(u?.ttftP50Ms),
        s.model,
      ];
    }),
  );
}

/** "Memory budget: 3.1 GB of 24.0 GB held (setting)". */
export function budgetLine(budget: MemoryBudgetView): string {
  return `Memory budget: ${formatMemory(budget.heldBytes)} of ${formatMemory(budget.budgetBytes)} held (${budget.basis === "setting" ? "the mlx.memory.budgetGB setting" : "all the memory this machine can give models"}).`;
}

function parseLines(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 10_000)
    throw new InvalidArgumentError("a line count is a whole number from 0 to 10000");
  return n;
}

/** Prints a failed start's log tail (the manager sends it in the error details) before the error itself is reported. */
function withLogTail(error: unknown): never {
  if (error instanceof ManagerRequestError) {
    const tail = error.details?.["logTail"];
    if (Array.isArray(tail) && tail.length > 0) {
      err("last log lines:");
      for (const line of tail) err(`  ${String(line)}`);
    }
  }
  throw error;
}

function describeStarted(info: ServerInfo, verb: string): string {
  const ready =
    info.readyAt !== undefined && info.startedAt !== undefined
      ? `, ready in ${((info.readyAt - info.startedAt) / 1000).toFixed(1)} s`
      : "";
  return `${verb} "${info.profileName}" (${info.engine}) on ${info.upstreamUrl}, pid ${info.pid ?? "?"}${ready}.`;
}

/** `start`, `stop`, `restart`, `ps`, `logs`, `stop-all`. */
export function addServerCommands(program: Command, connect: () => Promise<ManagerClient>): void {
  program
    .command("start <profile>")
    .description("start a profile's model server and wait until it is ready")
    .option("--no-wait", "return once the process is spawned")
    .option("--json", "print JSON")
    .action(async (profile: string, opts: { wait: boolean; json?: boolean }) => {
      const info = await (await connect()).startServer(profile, { wait: opts.wait }).catch(withLogTail);
      if (opts.json) {
        out(JSON.stringify(info, null, 2));
        return;
      }
      out(
        info.state === "starting"
          ? `Starting "${info.profileName}" on ${info.upstreamUrl} (pid ${info.pid ?? "?"}); follow it with \`mlx-manager logs "${info.profileName}" --follow\`.`
          : describeStarted(info, "Started"),
      );
      for (const warning of info.warnings) err(`warning: ${warning}`);
    });

  program
    .command("stop <profile>")
    .description("stop a profile's model server")
    .action(async (profile: string) => {
      const info = await (await connect()).stopServer(profile);
      out(`Stopped "${info.profileName}".`);
    });

  program
    .command("restart <profile>")
    .description("restart a profile's model server on the same port, with the profile as it is now")
    .option("--json", "print JSON")
    .action(async (profile: string, opts: { json?: boolean }) => {
      const info = await (await connect()).restartServer(profile).catch(withLogTail);
      if (opts.json) {
        out(JSON.stringify(info, null, 2));
        return;
      }
      out(describeStarted(info, "Restarted"));
      for (const warning of info.warnings) err(`warning: ${warning}`);
    });

  program
    .command("ps")
    .description("list model servers")
    .option("--json", "print JSON")
    .action(async (opts: { json?: boolean }) => {
      const client = await connect();
      // A team server shows a teammate its servers only: no usage or budget (the owner's).
      const [{ servers }, usage, budget] = await Promise.all([client.servers(), client.usage().catch(() => undefined), client.memoryBudget().catch(() => undefined)]);
      if (opts.json) {
        out(JSON.stringify(servers, null, 2));
        return;
      }
      if (servers.length === 0) {
        out("No servers. Start one with `mlx-manager start PROFILE`.");
        return;
      }
      out(serverTable(servers, Date.now(), { ...(usage === undefined ? {} : { usage: usage.servers }), ...(budget === undefined ? {} : { budget }) }));
      if (budget !== undefined) out(budgetLine(budget));
      for (const s of servers)
        if (s.failure && (s.state === "failed" || s.state === "unhealthy"))
          err(`${s.profileName}: ${s.failure.message}`);
    });

  program
    .command("logs <profile>")
    .description("show the end of a server's log")
    .option("-f, --follow", "keep printing new lines until interrupted")
    .option("-n, --lines <n>", "how many lines (default 100; 10 with --follow)", parseLines)
    .action(async (profile: string, opts: { follow?: boolean; lines?: number }) => {
      const client = await connect();
      if (!opts.follow) {
        const tail = await client.serverLogs(profile, opts.lines);
        for (const line of tail.lines) out(line);
        return;
      }
      const controller = new AbortController();
      const stop = (): void => {
        controller.abort();
      };
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
      try {
        await client.followServerLogs(
          profile,
          (lines) => {
            for (const line of lines) out(line);
          },
          controller.signal,
          opts.lines,
        );
      } finally {
        process.off("SIGINT", stop);
        process.off("SIGTERM", stop);
      }
    });

  program
    .command("stop-all")
    .description("stop every model server")
    .action(async () => {
      const { servers } = await (await connect()).stopAllServers();
      const stopped = servers.filter((s) => s.state === "stopped");
      out(
        stopped.length === 0
          ? "No server was running."
          : `Stopped ${stopped.length} server(s): ${stopped.map((s) => s.profileName).join(", ")}.`,
      );
    });
}
