import * as z from "zod";

// A profile of the `mlx-distributed` engine: mlx_lm's server run across several Macs by
// `mlx.launch` (mlx ≥ 0.30, mlx-lm ≥ 0.30.6). Rank 0 is this Mac and serves HTTP; every other host
// is reached over ssh and runs the same command. See docs/api.md "Distributed profiles".

/** Another Mac of a distributed run, as the user describes it. */
export const DistributedHost = z
  .object({
    /** What `ssh` connects to: a host name, address or ~/.ssh/config alias (never starting with "-": ssh would read an option). */
    ssh: z
      .string()
      .trim()
      .min(1, "ssh: a host name or address")
      .max(255)
      .regex(/^[^-\s@][^\s@]*$/, "ssh: a host name, address or ssh alias, not starting with '-', without spaces or '@' (the user goes in sshUser)"),
    /** Addresses the other ranks reach it at (the ring backend needs at least one per host). */
    ips: z.array(z.string().regex(/^[0-9a-fA-F.:]+$/, "ips: IP addresses")).max(16).default([]),
    /** jaccl: the RDMA device towards each host, in rank order (null towards itself), as mlx.distributed_config writes them. */
    rdma: z.array(z.string().min(1).max(64).nullable()).max(64).default([]),
  })
  .strict();
export type DistributedHost = z.infer<typeof DistributedHost>;

export const DistributedBackend = z.enum(["ring", "jaccl"]);
export type DistributedBackend = z.infer<typeof DistributedBackend>;

/** The `distributed` option of an `mlx-distributed` profile. */
export const DistributedOptions = z
  .object({
    /** mlx.launch's --backend: ring (TCP over Ethernet or Thunderbolt) or jaccl (RDMA over Thunderbolt 5). */
    backend: DistributedBackend.default("ring"),
    /** The Python that has mlx-lm, at the same path on every host (mlx.launch runs one command everywhere). */
    python: z.string().trim().min(1).max(1024).regex(/^\//, "python: an absolute path (the same on every host)"),
    /** The ssh user on the other hosts (default: as ~/.ssh/config or this user). */
    sshUser: z.string().trim().regex(/^[A-Za-z0-9._][A-Za-z0-9._-]{0,63}$/, "sshUser: a user name").optional(),
    /** This Mac, rank 0: the addresses the other hosts reach it at, and its RDMA devices (jaccl). */
    local: z.object({ ips: DistributedHost.shape.ips, rdma: DistributedHost.shape.rdma }).strict().default({ ips: [], rdma: [] }),
    /** The other Macs, ranks 1, 2, … in this order. */
    hosts: z.array(DistributedHost).min(1, "hosts: at least one other Mac").max(63),
    /** Split the model by layers (--pipeline) instead of tensor parallelism; needs a sharded model (model.safetensors.index.json). */
    pipeline: z.boolean().default(false),
    /** mlx.launch --starting-port: the ring's first port (one per address after it). */
    startingPort: z.int().min(1024).max(65000).default(32323),
  })
  .strict();
export type DistributedOptions = z.infer<typeof DistributedOptions>;
export type DistributedOptionsInput = z.input<typeof DistributedOptions>;

/** What the check of one host found (rank 0 is this Mac, checked without ssh). */
export interface HostCheck {
  rank: number;
  /** "this Mac" for rank 0, else the ssh target. */
  host: string;
  /** ssh answered and ran the check. */
  reachable: boolean;
  /** `python --version` there ("Python 3.12.8"). */
  python?: string;
  /** `python -m mlx_lm --version` there. */
  mlxLm?: string;
  /** The model's snapshot there: the commit this Mac serves, with every file. */
  model: "present" | "missing" | "other_revision" | "incomplete" | "unknown";
  /** The commit the host's cache has (refs/main) when it is another. */
  revision?: string;
  /** Total memory there, and what the model needs on each host. */
  memoryBytes?: number;
  needBytes?: number;
  /** What is wrong, each a sentence saying what to do (empty: ready). */
  problems: string[];
  /** ms the check took. */
  ms: number;
}

/** `POST /api/profiles/:id/hosts/check`. */
export interface HostCheckReport {
  profileId: string;
  ok: boolean;
  hosts: HostCheck[];
  /** Problems of the whole run (versions that differ between hosts). */
  problems: string[];
  /** The model as each host must have it in its Hugging Face cache. */
  model: { repoId?: string; revision?: string; files: number };
}
