import type { Profile } from "../../shared/profiles";
import type { ServerInfo } from "../../shared/servers";
import type { QueueDepth } from "./RequestQueues";

export interface ReplicaChooserDeps {
  /** Every server the directory knows (its state: running, or not started yet). */
  servers: () => ServerInfo[];
  /** What the gateway's queue of a profile holds now. */
  depth: (profileId: string) => QueueDepth | undefined;
  /** Requests a profile's server answers at once. */
  slots: (profile: Profile) => number;
  /**
   * What a health check knows of a replica: false while it is down (a remote backend that stopped
   * answering), true once a probe found it answering again (its cooldown then ends early),
   * undefined when nothing probes it (a local server: its cooldown decides).
   */
  available?: (profileId: string) => boolean | undefined;
  now?: () => number;
}

/** A replica that failed sits out this long, doubling with each failure in a row up to MAX_COOLDOWN_MS. */
const FIRST_COOLDOWN_MS = 2000;
const MAX_COOLDOWN_MS = 30_000;

/**
 * Orders the replicas of one name (profiles sharing it: local servers, a teammate's Mac, a remote
 * box) for a request: those up before those cooling down after a failure, then the shortest queue
 * (requests arriving, waiting and running; a server not started yet counts one more, its start),
 * then the routing table's own order.
 */
export class ReplicaChooser {
  private readonly cooling = new Map<string, { until: number; failures: number }>();
  private readonly now: () => number;

  constructor(private readonly deps: ReplicaChooserDeps) {
    this.now = deps.now ?? (() => performance.now());
  }

  order(replicas: readonly Profile[]): Profile[] {
    if (replicas.length <= 1) return [...replicas];
    const now = this.now();
    const running = new Set(this.deps.servers().filter((s) => s.state === "running").map((s) => s.profileId));
    const scored = replicas.map((profile, index) => {
      const cool = this.cooling.get(profile.id);
      const probed = this.deps.available?.(profile.id);
      const down = probed === false || (probed !== true && cool !== undefined && cool.until > now);
      const depth = this.deps.depth(profile.id);
      const load = (depth === undefined ? 0 : depth.active + depth.waiting + depth.arriving) + (running.has(profile.id) ? 0 : 1);
      return { profile, index, down, load: load / Math.max(1, this.deps.slots(profile)) };
    });
    scored.sort((a, b) => Number(a.down) - Number(b.down) || a.load - b.load || a.index - b.index);
    return scored.map((s) => s.profile);
  }

  /** It failed before answering, or broke off: it sits out a while. */
  failed(profileId: string): void {
    const failures = (this.cooling.get(profileId)?.failures ?? 0) + 1;
    this.cooling.set(profileId, { until: this.now() + Math.min(MAX_COOLDOWN_MS, FIRST_COOLDOWN_MS * 2 ** (failures - 1)), failures });
  }

  /** It answered: it is up again. */
  succeeded(profileId: string): void {
    this.cooling.delete(profileId);
  }
}
