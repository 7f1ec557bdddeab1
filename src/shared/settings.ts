import * as z from "zod";

/**
 * The manager's own settings: one set for every window, the CLI and the gateway, kept in the store.
 * The extension writes the ones it has VS Code settings for (`mlx.memory.budgetGB`,
 * `mlx.servers.idleStopMinutes`, `mlx.gateway.queue*`); the CLI's `settings` command writes any.
 */
export const ManagerSettings = z.object({
  /** The memory the running models may hold together; null = the memory this machine can give models (docs/memory.md). */
  memoryBudgetBytes: z.int().min(0).max(2 ** 53).nullable(),
  /** A profile without its own idleTimeoutSec stops after this long without a request; 0 = never. */
  defaultIdleTimeoutSec: z.int().min(0).max(7 * 24 * 3600),
  /** Requests that may wait for a busy model server, per server; the next one is answered 503 (529 on /v1/messages). */
  queueMaxLength: z.int().min(0).max(100_000),
  /** A request that waited this long for its turn is answered 503 (529 on /v1/messages). */
  queueTimeoutSec: z.int().min(1).max(86_400),
});
export type ManagerSettings = z.infer<typeof ManagerSettings>;

export const DEFAULT_MANAGER_SETTINGS: ManagerSettings = {
  memoryBudgetBytes: null,
  // LM Studio unloads a just-in-time model after 60 minutes, Ollama after 5; half an hour keeps a
  // model that is used through the day warm and gives back what one tried once.
  defaultIdleTimeoutSec: 30 * 60,
  // Ollama's OLLAMA_MAX_QUEUE.
  queueMaxLength: 512,
  // mlx-openai-server's --queue-timeout.
  queueTimeoutSec: 300,
};

/** `PATCH /api/settings`: the fields to change. */
export const ManagerSettingsPatch = ManagerSettings.partial().strict();
export type ManagerSettingsPatch = z.infer<typeof ManagerSettingsPatch>;

/** What holds memory now, against the budget: `GET /api/memory/budget`. */
export interface MemoryBudgetView {
  budgetBytes: number;
  /** Where the budget comes from. */
  basis: "setting" | "usable_memory";
  heldBytes: number;
  servers: HeldMemory[];
}

/** One server's share of the budget. */
export interface HeldMemory {
  profileId: string;
  profileName: string;
  bytes: number;
  /** Read from the process (phys_footprint on macOS, RSS elsewhere) once it runs; the estimate before. */
  source: "measured" | "estimated";
  pinned: boolean;
  group: string | null;
  /** A request is running or waiting for it. */
  busy: boolean;
  startedBy: "user" | "request";
  lastActivityAt?: number;
}
