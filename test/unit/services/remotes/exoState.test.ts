// What the manager reads of exo's /state (exo b5375f8: camelCase, tagged objects; shared/types/
// state.py, runners.py), on a body shaped as exo sends it, and which addresses count as private
// (an exo cluster elsewhere needs the user's consent: it has no authentication).
import assert from "node:assert/strict";
import { isPrivateHost, readExoState } from "../../../../src/services/remotes/RemoteBackends";

const STATE = {
  instances: {
    "5f0c": {
      MlxRingInstance: {
        instanceId: "5f0c",
        shardAssignments: {
          modelId: "mlx-community/Llama-3.2-1B-Instruct-4bit",
          runnerToShard: { r1: { PipelineShardMetadata: { deviceRank: 0, worldSize: 2, startLayer: 0, endLayer: 8, nLayers: 16 } }, r2: { PipelineShardMetadata: { deviceRank: 1, worldSize: 2, startLayer: 8, endLayer: 16, nLayers: 16 } } },
          nodeToRunner: { a1b2: "r1", c3d4: "r2" },
        },
        hostsByNode: { a1b2: [{ ip: "10.0.0.1", port: 51234 }] },
        ephemeralPort: 51234,
      },
    },
    "9e1d": { MlxJacclInstance: { instanceId: "9e1d", shardAssignments: { modelId: "mlx-community/Qwen3-8B-4bit", runnerToShard: { r3: { TensorShardMetadata: {} } }, nodeToRunner: { a1b2: "r3" } }, jacclDevices: [], jacclCoordinators: {} } },
  },
  runners: { r1: { RunnerReady: { prefillServerPort: null } }, r2: { RunnerLoading: { layersLoaded: 4, totalLayers: 8 } }, r3: { RunnerFailed: { errorMessage: "out of memory", diagnostics: null } } },
  downloads: {},
  tasks: {},
  lastSeen: { a1b2: "2026-12-06T10:00:00Z" },
  topology: { nodes: ["a1b2", "c3d4"], connections: {} },
  lastEventAppliedIdx: 42,
  nodeMemory: {
    a1b2: { ramTotal: { inBytes: 68719476736 }, ramAvailable: { inBytes: 40000000000 }, swapTotal: { inBytes: 0 }, swapAvailable: { inBytes: 0 } },
    c3d4: { ramTotal: { inBytes: 34359738368 }, ramAvailable: { inBytes: 20000000000 }, swapTotal: { inBytes: 0 }, swapAvailable: { inBytes: 0 } },
  },
};

describe("exo's /state as the manager reads it", () => {
  it("lists nodes with their memory, and each instance as loading until every runner is ready, failed with the runner's message", () => {
    const read = readExoState(STATE);
    assert.ok(read !== undefined);
    assert.deepEqual(read.nodes, [
      { id: "a1b2", ramTotalBytes: 68719476736, ramAvailableBytes: 40000000000 },
      { id: "c3d4", ramTotalBytes: 34359738368, ramAvailableBytes: 20000000000 },
    ]);
    assert.deepEqual(read.instances, [
      { id: "5f0c", model: "mlx-community/Llama-3.2-1B-Instruct-4bit", state: "loading", nodes: ["a1b2", "c3d4"] },
      { id: "9e1d", model: "mlx-community/Qwen3-8B-4bit", state: "failed", nodes: ["a1b2"], error: "out of memory" },
    ]);
    const ready = structuredClone(STATE);
    ready.runners.r2 = { RunnerRunning: {} } as never;
    assert.equal(readExoState(ready)?.instances[0]?.state, "ready", "Ready and Running both count as ready");
  });

  it("refuses what is not exo's state (another server's answer, snake_case keys)", () => {
    assert.equal(readExoState({ object: "list", data: [] }), undefined);
    assert.equal(readExoState({ ...STATE, node_memory: STATE.nodeMemory, nodeMemory: undefined }), undefined);
  });

  it("counts loopback, private networks and .local names as private; anything else is public", () => {
    for (const host of ["127.0.0.1", "localhost", "[::1]", "10.1.2.3", "172.20.0.5", "192.168.1.20", "169.254.3.4", "studio.local", "fd12:3456::1", "fe80::1"]) assert.equal(isPrivateHost(host), true, host);
    for (const host of ["203.0.113.7", "172.32.0.1", "8.8.8.8", "exo.example.com", "2001:db8::1"]) assert.equal(isPrivateHost(host), false, host);
  });
});
