// What the mlx_lm server stand-in does when mlx.launch starts it as one rank of a distributed run,
// written from mlx-lm d78bf58 (mlx_lm/server.py: ModelProvider.__init__ :284-289, _load :306-329,
// run :1711-1717; mlx_lm/utils.py: sharded_load :544-610, _download :233-261) and the environment
// mlx.launch gives each rank (mlx 846d176, ./mlxLaunch.ts):
//   - The world: MLX_RANK, and MLX_HOSTFILE (ring: a JSON list of each rank's "ip:port" addresses;
//     "" for one host) or MLX_IBV_DEVICES (jaccl). size > 1 means distributed.
//   - mx.distributed.init() runs in ModelProvider.__init__, before HTTP: every rank blocks until the
//     ring is joined. Here the ring is real TCP on the addresses given: each rank listens on its own
//     and connects to the next rank's, retrying, and fails after 30 s as the ring backend does when
//     a neighbour never comes. jaccl (RDMA over Thunderbolt) cannot be played: exit 1, said so.
//   - Rank 0 serves HTTP as mlx_lm.server does; every other rank only joins the generator
//     (response_generator.join()) and writes nothing to HTTP.
//   - `--model` is a repo id each rank resolves in its own Hugging Face cache (snapshot_download:
//     HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub; refs/main → snapshots/<commit>);
//     with HF_HUB_OFFLINE=1 a missing one is huggingface_hub's LocalEntryNotFoundError. The stand-in
//     never downloads.
//   - "Loading with adapters or draft models not supported in distributed mode": a ValueError from
//     _load, at start (--adapter-path / --draft-model) or for a request naming `adapters` (answered
//     404 {"error": ...} as server.py answers a failed load).
//   - --pipeline reads model.safetensors.index.json (a sharded model): without it the load raises
//     FileNotFoundError.
// Simplifications, said here: a rank whose neighbour's connection drops exits 1 at once (the real
// one would fail or hang at its next collective operation); a rank > 0 whose model load fails
// prints the traceback and exits 0 (its generator thread dies and join() returns, as the real one).
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

export const DISTRIBUTED_UNSUPPORTED = "Loading with adapters or draft models not supported in distributed mode";

export interface World {
  rank: number;
  size: number;
  backend: "ring" | "jaccl" | "none";
  /** ring: each rank's addresses. */
  ring: string[][];
}

/** The world mlx.launch set up for this process (size 1 without it). */
export function worldFromEnv(env: NodeJS.ProcessEnv = process.env): World {
  const rank = Number(env["MLX_RANK"] ?? "0");
  const read = (name: string): unknown => {
    const file = env[name];
    if (file === undefined || file === "") return undefined;
    const text = fs.readFileSync(file, "utf8").trim();
    return text === "" ? undefined : (JSON.parse(text) as unknown);
  };
  const ring = read("MLX_HOSTFILE");
  if (Array.isArray(ring) && ring.length > 1) return { rank, size: ring.length, backend: "ring", ring: ring as string[][] };
  const devices = read("MLX_IBV_DEVICES");
  if (Array.isArray(devices) && devices.length > 1) return { rank, size: devices.length, backend: "jaccl", ring: [] };
  return { rank: 0, size: 1, backend: "none", ring: [] };
}

/** The Hugging Face hub cache as huggingface_hub finds it. */
export function hubCache(env: NodeJS.ProcessEnv = process.env): string {
  return env["HF_HUB_CACHE"] ?? path.join(env["HF_HOME"] ?? path.join(os.homedir(), ".cache", "huggingface"), "hub");
}

/** A local folder as given, or a repo id's snapshot in the cache (refs/main), or undefined when it is not there. */
export function resolveModelArg(arg: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (fs.existsSync(arg)) return path.resolve(arg);
  if (!/^[\w.-]+\/[\w.-]+$/.test(arg)) return undefined;
  const repo = path.join(hubCache(env), `models--${arg.replace("/", "--")}`);
  try {
    const commit = fs.readFileSync(path.join(repo, "refs", "main"), "utf8").trim();
    const snapshot = path.join(repo, "snapshots", commit);
    return fs.existsSync(snapshot) ? snapshot : undefined;
  } catch {
    return undefined;
  }
}

function split(address: string): { host: string; port: number } {
  const cut = address.lastIndexOf(":");
  return { host: address.slice(0, cut), port: Number(address.slice(cut + 1)) };
}

/**
 * Joins the ring: listens on this rank's address, connects to the next rank's (retrying), and
 * resolves once both links are up. `onLost` is called when either link drops afterwards.
 */
export async function joinRing(world: World, onLost: (peer: number) => void, timeoutMs = 30_000): Promise<void> {
  const own = world.ring[world.rank]?.[0];
  const nextRank = (world.rank + 1) % world.size;
  const next = world.ring[nextRank]?.[0];
  if (own === undefined || next === undefined) throw new Error("[ring] Malformed MLX_HOSTFILE");
  const listen = split(own);
  const server = net.createServer();
  const incoming = new Promise<net.Socket>((resolve) => server.once("connection", resolve));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(listen.port, listen.host, () => { resolve(); });
  });
  const deadline = Date.now() + timeoutMs;
  const target = split(next);
  let outgoing: net.Socket | undefined;
  while (outgoing === undefined) {
    outgoing = await new Promise<net.Socket | undefined>((resolve) => {
      const socket = net.connect(target.port, target.host);
      socket.once("connect", () => { resolve(socket); });
      socket.once("error", () => {
        socket.destroy();
        resolve(undefined);
      });
    });
    if (outgoing === undefined) {
      if (Date.now() > deadline) throw new Error(`[ring] Couldn't connect to rank ${nextRank} at ${next} within ${timeoutMs / 1000} s`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const left = Math.max(0, deadline - Date.now());
  const previous = await Promise.race([incoming, new Promise<undefined>((r) => setTimeout(() => { r(undefined); }, left).unref())]);
  if (previous === undefined) throw new Error(`[ring] Rank ${(world.rank - 1 + world.size) % world.size} never connected within ${timeoutMs / 1000} s`);
  server.close();
  outgoing.on("close", () => { onLost(nextRank); });
  outgoing.on("error", () => undefined);
  previous.on("close", () => { onLost((world.rank - 1 + world.size) % world.size); });
  previous.on("error", () => undefined);
}
