// mlx.launch's host file, with its own checks made before anything starts (mlx 846d176).
import assert from "node:assert/strict";
import { DistributedHost, DistributedOptions } from "../../../../src/shared/distributed";
import { buildHostfile, hostListProblem, rankHosts } from "../../../../src/services/distributed/hostfile";

const host = (ssh: string, ips: string[] = [], rdma: (string | null)[] = []): DistributedHost => DistributedHost.parse({ ssh, ips, rdma });

describe("mlx.launch host files", () => {
  it("writes the ring backend's file: rank 0 is this Mac, every host with an IP", () => {
    const file = buildHostfile("ring", [host("127.0.0.1", ["10.0.0.1"]), host("studio.local", ["10.0.0.2"])], ["MLX_METAL_FAST_SYNCH=1"]);
    assert.deepEqual(file, { backend: "ring", envs: ["MLX_METAL_FAST_SYNCH=1"], hosts: [{ ssh: "127.0.0.1", ips: ["10.0.0.1"], rdma: [] }, { ssh: "studio.local", ips: ["10.0.0.2"], rdma: [] }] });
  });

  it("refuses what mlx.launch would: one host, a host twice, ring without IPs, malformed jaccl devices", () => {
    assert.match(hostListProblem("ring", [host("127.0.0.1", ["10.0.0.1"])])?.message ?? "", /at least two hosts/);
    // Fields name the profile's options: this Mac is `local`, the other hosts `hosts.0`, `hosts.1`, …
    assert.equal(hostListProblem("ring", [host("127.0.0.1", ["10.0.0.1"]), host("a", ["10.0.0.2"]), host("A", ["10.0.0.3"])])?.field, "hosts.1.ssh");
    assert.equal(hostListProblem("ring", [host("127.0.0.1", ["10.0.0.1"]), host("b")])?.field, "hosts.0.ips");
    assert.equal(hostListProblem("ring", [host("127.0.0.1"), host("b", ["10.0.0.2"])])?.field, "local.ips");
    assert.equal(hostListProblem("jaccl", [host("127.0.0.1"), host("b")])?.field, "local.ips");
    assert.equal(hostListProblem("jaccl", [host("127.0.0.1", ["10.0.0.1"], [null, "rdma_en2"]), host("b", [], ["rdma_en2", "rdma_en3"])])?.field, "hosts.0.rdma");
    assert.equal(hostListProblem("jaccl", [host("127.0.0.1", ["10.0.0.1"], [null, "rdma_en2"]), host("b", [], ["rdma_en2", null])]), undefined);
    assert.throws(() => DistributedHost.parse({ ssh: "-oProxyCommand=x" }), /not starting with '-'/);
    assert.throws(() => DistributedHost.parse({ ssh: "me@studio" }), /sshUser/);
  });

  it("puts this Mac first as 127.0.0.1 (mlx.launch runs it without ssh) and the ssh user before each other host", () => {
    const options = DistributedOptions.parse({ python: "/opt/homebrew/bin/python3", sshUser: "me", local: { ips: ["10.0.0.1"] }, hosts: [{ ssh: "studio.local", ips: ["10.0.0.2"] }] });
    assert.deepEqual(rankHosts(options).map((h) => h.ssh), ["127.0.0.1", "me@studio.local"]);
    assert.equal(options.backend, "ring");
    assert.equal(hostListProblem(options.backend, rankHosts(options)), undefined);
  });
});
