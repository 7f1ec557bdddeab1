// The mlx-distributed engine's description: the mlx.launch command line and host file it builds, what
// a profile may set, and the memory each host needs for its share.
import assert from "node:assert/strict";
import { ENGINES } from "../../../../src/services/engines/registry";
import { fitFor } from "../../../../src/services/models/MemoryEstimator";
import { DistributedOptions } from "../../../../src/shared/distributed";

const engine = ENGINES["mlx-distributed"];
const distributed = DistributedOptions.parse({ python: "/opt/homebrew/bin/python3", sshUser: "me", local: { ips: ["10.0.0.1"] }, hosts: [{ ssh: "studio.local", ips: ["10.0.0.2"] }, { ssh: "mini.local", ips: ["10.0.0.3"] }], pipeline: true });
const ctx = { modelPath: "/hub/models--org--big/snapshots/abc", modelRepo: "org/big", port: 8123, alias: "big", options: { distributed, temperature: 0.5, env: { MLX_METAL_FAST_SYNCH: "1" } }, nodePath: "", llamaScript: "", profileId: "p-1", filesDir: "/data/logs/servers/run/p-1" };

describe("the mlx-distributed engine", () => {
  it("starts mlx.launch with a host file and the same `python -m mlx_lm server` on every host, marked with the profile", () => {
    const built = engine.buildCommand(ctx, "/opt/homebrew/bin/mlx.launch");
    assert.equal(built.command, "/opt/homebrew/bin/mlx.launch");
    assert.deepEqual(built.args, ["--hostfile", "/data/logs/servers/run/p-1/hostfile.json", "--backend", "ring", "--starting-port", "32323", "--", "/opt/homebrew/bin/python3", "-X", "mlx_manager_profile=p-1", "-m", "mlx_lm", "server", "--model", "org/big", "--host", "127.0.0.1", "--port", "8123", "--pipeline", "--temp", "0.5"]);
    assert.equal(engine.requestModel(ctx), "org/big", "requests name the repo it was started with");
    assert.deepEqual(engine.elsewhere?.hosts(ctx.options), ["me@studio.local", "me@mini.local"]);
  });

  it("writes mlx.launch's host file: this Mac first as 127.0.0.1, offline, the profile's env on every rank", () => {
    const files = engine.launchFiles?.(ctx) ?? {};
    assert.deepEqual(JSON.parse(files["hostfile.json"] ?? "{}"), {
      backend: "ring",
      envs: ["HF_HUB_OFFLINE=1", "MLX_METAL_FAST_SYNCH=1"],
      hosts: [
        { ssh: "127.0.0.1", ips: ["10.0.0.1"], rdma: [] },
        { ssh: "me@studio.local", ips: ["10.0.0.2"], rdma: [] },
        { ssh: "me@mini.local", ips: ["10.0.0.3"], rdma: [] },
      ],
    });
  });

  it("takes no adapter or draft model (mlx_lm refuses them distributed) and says what is missing from the hosts", () => {
    assert.ok(!engine.options.includes("adapterPath") && !engine.options.includes("draftModel"));
    assert.equal(engine.optionProblem?.({})?.field, "options.distributed");
    const noIps = DistributedOptions.parse({ python: "/usr/bin/python3", local: { ips: ["10.0.0.1"] }, hosts: [{ ssh: "studio" }] });
    assert.deepEqual(engine.optionProblem({ distributed: noIps })?.field, "options.distributed.hosts.0.ips");
    assert.throws(() => DistributedOptions.parse({ python: "python3", hosts: [{ ssh: "studio" }] }), /absolute path/);
  });

  it("needs on each host its share of weights and cache plus a whole engine", () => {
    const usable = { bytes: 100e9, totalBytes: 128e9, basis: "test" };
    const one = fitFor({ weightsBytes: 90e9 }, ENGINES["mlx-lm"], {}, usable);
    const three = fitFor({ weightsBytes: 90e9 }, engine, { distributed }, usable);
    assert.equal(three.need.shards, 3);
    assert.equal(three.need.weightsBytes, 30e9);
    assert.equal(three.need.totalBytes, Math.ceil(one.need.weightsBytes / 3) + Math.ceil(one.need.kvBytes / 3) + engine.memory.overheadBytes);
    assert.match(three.summary, /on each of 3 machines$/);
    assert.equal(three.verdict, "fits");
  });
});
