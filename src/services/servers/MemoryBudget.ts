// Which servers to stop so that a model can start within the memory budget. Pure: the supervisor
// gathers what each server holds and carries the plan out (ServerSupervisor.makeRoom).
import type { HeldMemory } from "../../shared/settings";
import { formatBytes } from "../models/memoryFit";

export type { HeldMemory } from "../../shared/settings";

/** Who asks for the room: the owner (this machine's API, its gateway key) or a teammate in shared mode. */
export type Requester = "owner" | "teammate";

export interface RoomRequest {
  /** What the model to start is estimated to need. */
  needBytes: number;
  budgetBytes: number;
  /** Every live server but the one to start. */
  holders: readonly HeldMemory[];
  profile: { id: string; name: string; group: string | null };
  requester: Requester;
}

export type RoomPlan =
  | { kind: "fits" }
  /** Stop these (least recently used first), then start. */
  | { kind: "evict"; victims: HeldMemory[] }
  /** Nothing that may be stopped frees enough: the message names what holds the memory. */
  | { kind: "blocked"; message: string; retryAfterSec: number };

/** Why a server may not be stopped for this request, or undefined when it may. */
function keptBecause(holder: HeldMemory, request: RoomRequest): string | undefined {
  if (holder.pinned) return "pinned";
  if (holder.busy) return "answering a request";
  if (holder.group !== request.profile.group) return holder.group === null ? "not in a group" : `in group "${holder.group}"`;
  if (request.requester === "teammate" && holder.startedBy === "user") return "started by the owner";
  return undefined;
}

/**
 * The least recently used idle servers whose memory makes room for `needBytes`, never a pinned one,
 * one with a request running or waiting, one of another group, or (for a teammate) one the owner
 * started; "blocked" when even all of them would not make enough.
 */
export function planRoom(request: RoomRequest): RoomPlan {
  const held = request.holders.reduce((sum, h) => sum + h.bytes, 0);
  if (held + request.needBytes <= request.budgetBytes) return { kind: "fits" };
  const name = request.profile.name;
  const need = formatBytes(request.needBytes);
  const budget = formatBytes(request.budgetBytes);
  if (request.needBytes > request.budgetBytes) {
    return {
      kind: "blocked",
      message: `"${name}" needs about ${need}, more than the whole memory budget of ${budget}. Raise the budget (setting mlx.memory.budgetGB) or use a smaller quantization or context.`,
      retryAfterSec: 60,
    };
  }
  const candidates = request.holders
    .filter((h) => keptBecause(h, request) === undefined)
    .sort((a, b) => (a.lastActivityAt ?? 0) - (b.lastActivityAt ?? 0));
  const victims: HeldMemory[] = [];
  let remaining = held;
  for (const candidate of candidates) {
    if (remaining + request.needBytes <= request.budgetBytes) break;
    victims.push(candidate);
    remaining -= candidate.bytes;
  }
  if (remaining + request.needBytes <= request.budgetBytes) return { kind: "evict", victims };
  const holders = [...request.holders]
    .sort((a, b) => b.bytes - a.bytes)
    .map((h) => {
      const why = keptBecause(h, request);
      return `"${h.profileName}" ${formatBytes(h.bytes)}${why === undefined ? "" : ` (${why})`}`;
    });
  const busy = request.holders.some((h) => h.busy);
  return {
    kind: "blocked",
    message:
      `Not enough memory to start "${name}": it needs about ${need}, and the memory budget of ${budget} is held by ${holders.join(", ")}. ` +
      (busy ? "Try again when a request ends, stop" : "Stop") +
      " one of them, or raise the budget (setting mlx.memory.budgetGB).",
    // A request in flight ends in seconds to minutes; without one only a person can free memory.
    retryAfterSec: busy ? 10 : 60,
  };
}
