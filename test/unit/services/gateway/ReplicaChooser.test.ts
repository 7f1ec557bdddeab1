// The order replicas of one name are tried in: up before cooling down, then the shortest queue for
// the slots, then the routing table's own order; a probe that found a replica up ends its cooldown.
import assert from "node:assert/strict";
import { ReplicaChooser } from "../../../../src/services/gateway/ReplicaChooser";
import type { QueueDepth } from "../../../../src/services/gateway/RequestQueues";
import type { Profile } from "../../../../src/shared/profiles";
import type { ServerInfo } from "../../../../src/shared/servers";

const profile = (id: string, parallel = 1): Profile => ({ id, name: id, engine: "llama", model: { source: "path", path: `/m/${id}.gguf` }, port: "auto", options: { parallel }, restartOnCrash: false, idleTimeoutSec: null, pinned: false, group: null, version: 1, createdAt: 0, updatedAt: 0 });
const running = (id: string): ServerInfo => ({ profileId: id, profileName: id, engine: "llama", model: id, port: 1, state: "running", upstreamUrl: "", restarts: 0, logFile: "", adopted: false, command: [], warnings: [] });

describe("ReplicaChooser", () => {
  let now = 0;
  const depths = new Map<string, QueueDepth>();
  const probes = new Map<string, boolean>();
  const chooser = new ReplicaChooser({
    servers: () => [running("a"), running("b"), running("c")],
    depth: (id) => depths.get(id),
    slots: (p) => p.options.parallel ?? 1,
    available: (id) => probes.get(id),
    now: () => now,
  });
  const names = (list: Profile[]): string[] => list.map((p) => p.id);
  beforeEach(() => {
    depths.clear();
    probes.clear();
  });

  it("keeps the routing order when every queue is as short, and takes the shortest queue for its slots", () => {
    const [a, b, c] = [profile("a"), profile("b", 8), profile("c")];
    assert.deepEqual(names(chooser.order([a, b, c])), ["a", "b", "c"]);
    depths.set("a", { active: 1, waiting: 2, arriving: 0, slots: 1 });
    depths.set("b", { active: 4, waiting: 0, arriving: 0, slots: 8 });
    assert.deepEqual(names(chooser.order([a, b, c])), ["c", "b", "a"], "c idle; b half full; a with two waiting");
  });

  it("puts a replica that failed last, until its cooldown ends or a probe finds it up; a server not started yet counts its start", () => {
    const [a, b] = [profile("a"), profile("b")];
    chooser.failed("a");
    assert.deepEqual(names(chooser.order([a, b])), ["b", "a"]);
    now += 2500;
    assert.deepEqual(names(chooser.order([a, b])), ["a", "b"], "2 s after one failure");
    chooser.failed("a");
    chooser.failed("a");
    now += 5000;
    assert.deepEqual(names(chooser.order([a, b])), ["b", "a"], "three in a row: 8 s");
    probes.set("a", true);
    assert.deepEqual(names(chooser.order([a, b])), ["a", "b"], "a probe found it answering");
    probes.set("a", false);
    chooser.succeeded("a");
    assert.deepEqual(names(chooser.order([a, b])), ["b", "a"], "a probe finds it down");
    const cold = new ReplicaChooser({ servers: () => [running("b")], depth: () => undefined, slots: () => 1 });
    assert.deepEqual(names(cold.order([a, b])), ["b", "a"], "b runs; a would have to start");
  });
});
