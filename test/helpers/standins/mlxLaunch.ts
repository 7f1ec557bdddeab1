// `mlx.launch` as mlx 846d176 runs it (python/mlx/_distributed_utils/launch.py and common.py; the
// same at v0.32.1), for the tests of distributed mlx_lm: MLX and a second Mac cannot exist here, ssh
// to loopback can. What it follows (line numbers at that commit):
//   - argparse parse_known_args (main, :464-538): its 13 flags (abbreviations accepted), unknown
//     arguments become the command, one leading `--` dropped, none: "No script is provided".
//   - Hosts from --hostfile (Hostfile.from_file: a list or {"backend", "envs", "hosts"}, each host
//     {"ssh", "ips", "rdma"}; "Hostfile X doesn't exist", "Failed to parse hostfile X (...)") or from
//     --hosts × --repeat-hosts (an IP address is its own ips; "Hostname cannot be empty").
//   - backend: --backend, else the host file's, else ring (no CUDA on a Mac); ring needs IPs on every
//     host and gets MLX_HOSTFILE (a temp file of [["ip:port", ...], ...], "" for one host); jaccl
//     needs rank 0's IP and well-formed rdma lists, and gets MLX_JACCL_COORDINATOR and
//     MLX_IBV_DEVICES. The mpi and nccl backends are not played (no mpirun, no CUDA): exit 1, said so.
//   - Each rank: `bash -c <script>` when its ssh name is exactly 127.0.0.1, else
//     `ssh -tt -o LogLevel=QUIET <host> <script>` through /bin/bash (RemoteProcess, :47-66); the
//     script writes its pid to a mktemp file and prints the file's name first (stripped from the
//     output), exports the env and MLX_RANK, and execs the command (make_launch_script, :108-160).
//   - Output passed through raw, no rank prefix. A rank that exits non-zero while others run stops
//     them (terminate, then the kill script through ssh, :86-106); "[WARN] Node with rank N exited
//     with code C". No signal handling at all; exit code 0 once every rank has ended.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import { formatUsage, parseArgparse, type ArgparseContext } from "./argparseParser";
import type { FlagSpec } from "./flagTables";

export const MLX_LAUNCH_REF = { ref: "846d176", path: "python/mlx/_distributed_utils/launch.py" } as const;

export const MLX_LAUNCH_FLAGS: readonly FlagSpec[] = [
  { names: ["--print-python"], takesValue: false, type: "bool" },
  { names: ["--verbose"], takesValue: false, type: "bool" },
  { names: ["--hosts"], takesValue: true, type: "str" },
  { names: ["--repeat-hosts", "-n"], takesValue: true, type: "int" },
  { names: ["--hostfile"], takesValue: true, type: "str" },
  { names: ["--backend"], takesValue: true, type: "str" },
  { names: ["--env"], takesValue: true, type: "str", append: true },
  { names: ["--mpi-arg"], takesValue: true, type: "str", append: true },
  { names: ["--connections-per-ip"], takesValue: true, type: "int" },
  { names: ["--starting-port", "-p"], takesValue: true, type: "int" },
  { names: ["--cwd"], takesValue: true, type: "str" },
  { names: ["--nccl-port"], takesValue: true, type: "int" },
  { names: ["--python"], takesValue: true, type: "str" },
  { names: ["-h", "--help"], takesValue: false, type: "bool", implicit: true },
];

interface Host {
  ssh: string;
  ips: string[];
  rdma: (string | null)[];
}

/** Python's shlex.quote. */
export function pyShlexQuote(s: string): string {
  if (s === "") return "''";
  if (/^[\w@%+=:,./-]+$/.test(s)) return s;
  return `'${s.replace(/'/g, `'"'"'`)}'`;
}

const CTX: ArgparseContext = {
  prog: "mlx.launch",
  description: "Launch an MLX distributed program",
  columns: Number(process.env["COLUMNS"] ?? "80") || 80,
  callerFrames: [],
  pythonLib: "/opt/homebrew/Cellar/python@3.12/3.12.8/Frameworks/Python.framework/Versions/3.12/lib/python3.12",
  sitePackages: "/opt/homebrew/lib/python3.12/site-packages",
};

function parserError(message: string): never {
  process.stderr.write(`${formatUsage(MLX_LAUNCH_FLAGS, CTX)}mlx.launch: error: ${message}\n`);
  process.exit(2);
}

function warn(message: string): void {
  process.stderr.write(`\x1b[33m[WARN] ${message} \x1b[0m\n`);
}

function hostsFromFile(file: string): { hosts: Host[]; backend: string; envs: string[] } {
  if (!fs.existsSync(file)) throw new Error(`Hostfile ${file} doesn't exist`);
  try {
    const data = JSON.parse(fs.readFileSync(file, "utf8")) as unknown;
    let backend = "";
    let envs: string[] = [];
    let list: unknown[] = [];
    if (Array.isArray(data)) list = data;
    else if (typeof data === "object" && data !== null) {
      const d = data as Record<string, unknown>;
      backend = typeof d["backend"] === "string" ? d["backend"] : "";
      envs = Array.isArray(d["envs"]) ? (d["envs"] as string[]) : [];
      if (!("hosts" in d)) throw new Error("'hosts'");
      list = d["hosts"] as unknown[];
    }
    const hosts = list.map((h) => {
      const host = h as Record<string, unknown>;
      if (!("ssh" in host)) throw new Error("'ssh'");
      return { ssh: String(host["ssh"]), ips: (host["ips"] as string[] | undefined) ?? [], rdma: (host["rdma"] as (string | null)[] | undefined) ?? [] };
    });
    return { hosts, backend, envs };
  } catch (error) {
    throw new Error(`Failed to parse hostfile ${file} (${error instanceof Error ? error.message : String(error)})`);
  }
}

function hostsFromList(list: string, repeats: number): Host[] {
  const hosts: Host[] = [];
  for (const h of list.split(",")) {
    if (h === "") throw new Error("Hostname cannot be empty");
    const ips = /^[\d.]+$|:/.test(h) ? [h] : [];
    for (let i = 0; i < repeats; i++) hosts.push({ ssh: h, ips, rdma: [] });
  }
  return hosts;
}

/** RemoteProcess.make_launch_script. */
function launchScript(rank: number, python: string | undefined, cwd: string | undefined, files: Record<string, string>, env: readonly string[], command: readonly string[], local: boolean): string {
  let script = local ? "" : "stty -echo; ";
  script += "pidfile=$(mktemp); echo $$ > $pidfile; printf \"%s\\n\" $pidfile; ";
  const dir = pyShlexQuote(cwd ?? process.cwd());
  script += `if [[ -d ${dir} ]]; then   cd ${dir}; `;
  if (cwd !== undefined) script += `else  echo 'Failed to change directory to' ${dir} >&2; `;
  script += "fi; ";
  for (const e of env) {
    const [key = "", ...value] = e.split("=");
    if (!/^[A-Za-z0-9_]+$/.test(key)) {
      warn(`'${e}' is an invalid environment variable so it is ignored`);
      continue;
    }
    script += `export ${key}=${value.length > 0 ? pyShlexQuote(value.join("=")) : ""}; `;
  }
  for (const [name, content] of Object.entries(files)) script += `fname=$(mktemp); echo ${pyShlexQuote(content)} >$fname; export ${name}=$fname; `;
  script += `export MLX_RANK=${rank}; `;
  const full = python === undefined ? command : [python, ...command];
  script += `cmd=(${full.map(pyShlexQuote).join(" ")}); exec "\${cmd[@]}"`;
  return script;
}

interface Rank {
  rank: number;
  host: string;
  local: boolean;
  child: ChildProcess;
  pidfile: string | undefined;
  exitCode: number | null | undefined;
  killed: boolean;
}

/** Runs `mlx.launch` with `argv`; the process exits 0 when every rank has ended (whatever their codes). */
export async function runMlxLaunch(argv: readonly string[]): Promise<void> {
  const parsed = parseArgparse(MLX_LAUNCH_FLAGS, argv, CTX, { knownArgs: true });
  if (parsed.kind === "exit") {
    process.stdout.write(parsed.stdout);
    process.stderr.write(parsed.stderr);
    process.exit(parsed.code);
  }
  const get = <T>(flag: string, fallback: T): T => (parsed.values.get(flag) as T | undefined) ?? fallback;
  const python = get<string | undefined>("--python", undefined);
  if (get<boolean>("--print-python", false)) {
    process.stdout.write(`${python ?? process.env["STANDIN_PYTHON"] ?? "/opt/homebrew/bin/python3"}\n`);
    return;
  }
  const repeats = get<number>("--repeat-hosts", 1);
  if (repeats <= 0) parserError(`argument --repeat-hosts/-n: invalid positive_number value: '${repeats}'`);
  const rest = [...parsed.extras];
  if (rest.length === 0) parserError("No script is provided");
  if (rest[0] === "--") rest.shift();

  let hosts: Host[];
  let fileBackend = "";
  let env: string[];
  try {
    const hostfile = get<string | undefined>("--hostfile", undefined);
    if (hostfile !== undefined) {
      const read = hostsFromFile(hostfile);
      hosts = read.hosts;
      fileBackend = read.backend;
      env = [...read.envs, ...get<string[]>("--env", [])];
    } else {
      hosts = hostsFromList(get<string>("--hosts", "127.0.0.1"), repeats);
      env = get<string[]>("--env", []);
    }
  } catch (error) {
    parserError(error instanceof Error ? error.message : String(error));
  }
  const backend = get<string | undefined>("--backend", undefined) ?? (fileBackend !== "" ? fileBackend : "ring");
  const files: Record<string, string> = {};
  const verbose = get<boolean>("--verbose", false);
  const port = get<number>("--starting-port", 32323);
  if (backend === "ring") {
    if (hosts.some((h) => h.ips.length === 0)) parserError("The ring backend requires IPs to be provided instead of hostnames");
    let next = port;
    const perIp = get<number>("--connections-per-ip", 1);
    const ring = hosts.map((h) => h.ips.flatMap((ip) => Array.from({ length: perIp }, () => `${ip}:${next++}`)));
    files["MLX_HOSTFILE"] = ring.length > 1 ? JSON.stringify(ring).replace(/","/g, '", "').replace(/\],\[/g, "], [") : "";
    if (verbose) env.push("MLX_RING_VERBOSE=1");
  } else if (backend === "jaccl" || backend === "jaccl-ring") {
    if ((hosts[0]?.ips.length ?? 0) === 0) parserError("Rank 0 should have an IP reachable from all other ranks");
    const haveRdmas = hosts.every((h) => h.rdma.length === hosts.length);
    const haveNulls = hosts.every((h, i) => h.rdma[i] === null);
    if (!haveRdmas || !haveNulls) parserError("Malformed hostfile for jaccl backend");
    env.push(`MLX_JACCL_COORDINATOR=${hosts[0]?.ips[0] ?? ""}:${port}`);
    if (backend === "jaccl-ring") env.push("MLX_JACCL_RING=1");
    files["MLX_IBV_DEVICES"] = JSON.stringify(hosts.map((h) => h.rdma)).replace(/,/g, ", ");
  } else if (backend === "mpi" || backend === "nccl") {
    process.stderr.write(`[stand-in] mlx.launch: the ${backend} backend is not played here (no mpirun, no CUDA); use ring or jaccl.\n`);
    process.exit(1);
  } else {
    parserError("The backend should be one of {'ring', 'mpi', 'nccl', 'jaccl', 'jaccl-ring'}");
  }

  const cwd = get<string | undefined>("--cwd", undefined);
  const ranks: Rank[] = hosts.map((h, rank) => {
    const local = h.ssh === "127.0.0.1";
    const script = launchScript(rank, python, cwd, files, env, rest, local);
    const cmd = local ? script : `ssh -tt -o LogLevel=QUIET ${pyShlexQuote(h.ssh)} ${pyShlexQuote(script)}`;
    const child = spawn("/bin/bash", ["-c", cmd], { stdio: ["pipe", "pipe", "pipe"] });
    const r: Rank = { rank, host: h.ssh, local, child, pidfile: undefined, exitCode: undefined, killed: false };
    child.stdout.on("data", (chunk: Buffer) => {
      let text = chunk.toString("utf8");
      if (r.pidfile === undefined) {
        const cut = text.indexOf("\n");
        r.pidfile = (cut < 0 ? text : text.slice(0, cut)).replace(/\r$/, "");
        text = cut < 0 ? "" : text.slice(cut + 1);
      }
      process.stdout.write(text);
    });
    child.stderr.on("data", (chunk: Buffer) => process.stderr.write(chunk));
    process.stdin.on("data", (chunk: Buffer) => child.stdin.write(chunk));
    return r;
  });
  process.stdin.resume();
  let stopping = false;
  await Promise.all(
    ranks.map(
      (r) =>
        new Promise<void>((resolve) => {
          r.child.once("exit", (exitCode, signal) => {
            // Popen.poll(): a process ended by a signal reports minus its number (-15 for SIGTERM).
            const code = exitCode ?? (signal === null ? null : -os.constants.signals[signal]);
            r.exitCode = code;
            if (r.killed) warn(`Node with rank ${r.rank} was killed`);
            else if (code !== 0) warn(`Node with rank ${r.rank} exited with code ${code}`);
            // A rank that failed while others run stops them (a clean exit does not).
            if (code !== 0 && !stopping) {
              stopping = true;
              for (const other of ranks) if (other.exitCode === undefined) terminate(other);
            }
            resolve();
          });
        }),
    ),
  );
  process.stdin.pause();
  process.exit(0);
}

/** RemoteProcess.terminate: SIGTERM to its bash (or ssh), then the kill script by its pidfile. */
function terminate(r: Rank): void {
  if (r.killed) return;
  r.child.kill("SIGTERM");
  if (r.pidfile === undefined) return;
  const kill = `pid=$(cat ${r.pidfile}); if ps -p $pid >/dev/null; then     kill $pid;     echo 1; else     echo 0; fi; rm ${r.pidfile}`;
  const cmd = r.local ? kill : `ssh ${pyShlexQuote(r.host)} ${pyShlexQuote(kill)}`;
  const done = spawnSync("/bin/bash", ["-c", cmd], { encoding: "utf8" });
  r.killed = done.stdout.trim() === "1";
}
