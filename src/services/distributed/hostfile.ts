import type { DistributedBackend, DistributedHost, DistributedOptions } from "../../shared/distributed";

// The host file `mlx.launch --hostfile` reads (mlx 846d176, python/mlx/_distributed_utils/common.py
// :36-88 and launch.py): `{"backend", "envs", "hosts": [{"ssh", "ips", "rdma"}]}`. A host's rank is
// its place in the list; rank 0 is the first. mlx.launch starts a host locally only when its ssh
// name is exactly "127.0.0.1" (launch.py:49); every other one over `ssh -tt`. The checks below are
// mlx.launch's own, made before anything starts, with its messages' meaning and what to do.

/** mlx.launch's host file. */
export interface Hostfile {
  backend: DistributedBackend;
  envs: string[];
  hosts: { ssh: string; ips: string[]; rdma: (string | null)[] }[];
}

/** The ssh target of another host: `user@host` when the profile names a user. */
export function sshTarget(options: Pick<DistributedOptions, "sshUser">, host: Pick<DistributedHost, "ssh">): string {
  return options.sshUser === undefined ? host.ssh : `${options.sshUser}@${host.ssh}`;
}

/** Every rank's host, rank 0 (this Mac, started by mlx.launch without ssh) first. */
export function rankHosts(options: DistributedOptions): DistributedHost[] {
  return [{ ssh: "127.0.0.1", ips: options.local.ips, rdma: options.local.rdma }, ...options.hosts.map((h) => ({ ...h, ssh: sshTarget(options, h) }))];
}

/** What is wrong with a host list for a backend (mlx.launch would refuse it), or undefined. `hosts` includes rank 0. */
export function hostListProblem(backend: DistributedBackend, hosts: readonly DistributedHost[]): { field: string; message: string } | undefined {
  if (hosts.length < 2) return { field: "hosts", message: "A distributed run needs at least two hosts: this Mac (rank 0) and another." };
  const seen = new Set<string>();
  for (const [i, host] of hosts.entries()) {
    const key = host.ssh.toLowerCase();
    if (seen.has(key)) return { field: i === 0 ? "local" : `hosts.${i - 1}.ssh`, message: `"${host.ssh}" is listed twice: each host runs one rank.` };
    seen.add(key);
  }
  if (backend === "ring") {
    // launch.py:300-303: "The ring backend requires IPs to be provided instead of hostnames".
    const bare = hosts.findIndex((h) => h.ips.length === 0);
    if (bare >= 0) return { field: bare === 0 ? "local.ips" : `hosts.${bare - 1}.ips`, message: `The ring backend connects the ranks by IP address: give ${bare === 0 ? "this Mac" : `"${hosts[bare]?.ssh ?? ""}"`} at least one (mlx.distributed_config --over ethernet finds them).` };
  } else {
    // launch.py:373-381 and common.py: rank 0 needs an IP every rank reaches; every rdma list has
    // one entry per host, null towards itself ("Malformed hostfile for jaccl backend").
    if ((hosts[0]?.ips.length ?? 0) === 0) return { field: "local.ips", message: "jaccl: rank 0 (this Mac) needs an IP every other host reaches (its coordinator address)." };
    for (const [i, host] of hosts.entries()) {
      if (host.rdma.length !== hosts.length || host.rdma[i] !== null || host.rdma.some((d, j) => j !== i && d === null)) {
        return { field: i === 0 ? "local.rdma" : `hosts.${i - 1}.rdma`, message: `jaccl: ${i === 0 ? "this Mac" : `"${host.ssh}"`} needs one RDMA device towards each other host and null towards itself (${hosts.length} entries); \`mlx.distributed_config --backend jaccl --over thunderbolt\` writes them.` };
      }
    }
  }
  return undefined;
}

/** The host file for mlx.launch; the first host is rank 0 (this Mac: "127.0.0.1", started without ssh). */
export function buildHostfile(backend: DistributedBackend, hosts: readonly DistributedHost[], envs: readonly string[] = []): Hostfile {
  const problem = hostListProblem(backend, hosts);
  if (problem !== undefined) throw new Error(problem.message);
  return { backend, envs: [...envs], hosts: hosts.map((h) => ({ ssh: h.ssh, ips: [...h.ips], rdma: [...h.rdma] })) };
}
