import { execFile, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import type { HostCheck, HostCheckReport } from "../../shared/distributed";
import type { Profile } from "../../shared/profiles";
import { ApiError } from "../api/ApiError";
import type { EngineDescription } from "../engines/registry";
import type { Logger } from "../logging/Logger";
import { formatBytes, usableMemory } from "../models/memoryFit";
import type { PreparedLaunch, RanksElsewhereControl } from "../servers/ServerLauncher";
import { compareVersions } from "../servers/engineVersion";
import { sshArgs } from "./sshCommand";

// The other Macs of a distributed profile, reached with the user's own OpenSSH (BatchMode: never a
// prompt; StrictHostKeyChecking: an unknown host key is refused, never learnt). Rank 0 is this Mac
// and is checked the same way, without ssh. Each check is one POSIX sh script run with its
// arguments as separate words (the remote shell gets them quoted: sshCommand.ts).

/** mlx_lm's server runs distributed from this version on (mlx-lm 1fe1b3c9, `python -m mlx_lm server`). */
const MLX_LM_DISTRIBUTED_FLOOR = "0.30.6";

/**
 * Prints what the check needs, one `key<TAB>value` line each: the Python's version, mlx-lm's, the
 * model's snapshot in the Hugging Face cache (the commit this Mac serves, each file there), the
 * memory and the OS. $1 python, $2 the repo's cache folder (or "" for a model given by path), $3
 * the commit (or the path), then the model's file names.
 */
const CHECK_SCRIPT = [
  'py=$1; repo=$2; rev=$3; shift 3',
  'printf "python\\t%s\\n" "$("$py" --version 2>&1 | head -n 1)"',
  'printf "mlx_lm\\t%s\\n" "$("$py" -m mlx_lm --version 2>&1 | tail -n 1)"',
  'if [ -n "$repo" ]; then',
  '  hub=${HF_HUB_CACHE:-${HF_HOME:-$HOME/.cache/huggingface}/hub}',
  '  printf "ref\\t%s\\n" "$(cat "$hub/$repo/refs/main" 2>/dev/null)"',
  '  dir="$hub/$repo/snapshots/$rev"',
  'else dir=$rev; fi',
  'if [ -d "$dir" ]; then printf "snapshot\\tyes\\n"; for f in "$@"; do [ -e "$dir/$f" ] || printf "missing\\t%s\\n" "$f"; done; else printf "snapshot\\tno\\n"; fi',
  'printf "memory\\t%s\\n" "$(sysctl -n hw.memsize 2>/dev/null || awk \'/^MemTotal:/ { printf "%.0f", $2 * 1024 }\' /proc/meminfo 2>/dev/null)"',
  'printf "os\\t%s\\n" "$(uname -s)"',
].join("\n");

/**
 * Ends every process whose command line has the marker ($END, written so that it does not match
 * itself: "[m]lx_manager_profile=…"): SIGTERM, up to 3 s, then SIGKILL; prints `ended<TAB>left`
 * when any is still there, else `ended<TAB>none`.
 */
const END_SCRIPT = [
  'pkill -TERM -f -- "$END" 2>/dev/null',
  'i=0; while pgrep -f -- "$END" >/dev/null 2>&1 && [ $i -lt 30 ]; do sleep 0.1; i=$((i + 1)); done',
  'if pgrep -f -- "$END" >/dev/null 2>&1; then pkill -KILL -f -- "$END" 2>/dev/null; sleep 0.2; fi',
  'if pgrep -f -- "$END" >/dev/null 2>&1; then printf "ended\tleft\n"; else printf "ended\tnone\n"; fi',
].join("\n");

/**
 * Unpacks a model sent on stdin (a tar of the repo's snapshot and the blobs it links to) into the
 * host's Hugging Face cache and points refs/main at its commit. $1 the repo's cache folder ("" for a
 * model given by path: $3 is the folder the archive goes to), $2 the commit.
 */
const RECEIVE_SCRIPT = [
  'if [ -n "$1" ]; then dest=${HF_HUB_CACHE:-${HF_HOME:-$HOME/.cache/huggingface}/hub}; else dest=$3; fi',
  'mkdir -p "$dest" && tar -x -f - -C "$dest" || exit 1',
  'if [ -n "$1" ]; then mkdir -p "$dest/$1/refs" && printf "%s" "$2" > "$dest/$1/refs/main" || exit 1; fi',
  'printf "received\n"',
].join("\n");

/** What copying a model to a host did. */
export interface ModelCopy {
  host: string;
  bytes: number;
  ms: number;
}

export interface DistributedRanksOptions {
  logger: Logger;
  /** The environment ssh runs in (PATH finds `ssh` as mlx.launch finds it). */
  env: NodeJS.ProcessEnv;
  /** The ssh connect timeout, seconds (default 10). */
  connectTimeoutSec?: number;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A pattern for pgrep -f that finds the marker but not itself. */
function selfSafePattern(marker: string): string {
  return `[${marker.slice(0, 1)}]${marker.slice(1)}`;
}

/** The model's files that every host must have (relative to the snapshot), from this Mac's copy. */
function modelFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const name = rel === "" ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) walk(name);
      else if (!entry.name.startsWith(".")) out.push(name);
    }
  };
  try {
    walk("");
  } catch {
    return [];
  }
  return out.sort();
}

/** What the check script printed on a host (or how ssh failed), read into problems that say what to do. */
export function readHostCheck(rank: number, host: string | undefined, result: RunResult, want: { python: string; cache: boolean; revision: string; needBytes: number }, ms: number): HostCheck {
  const name = host ?? "this Mac";
  // At the start of a sentence.
  const Name = host ?? "This Mac";
  const check: HostCheck = { rank, host: name, reachable: false, model: "unknown", problems: [], ms };
  const lines = new Map<string, string[]>();
  for (const line of result.stdout.split("\n")) {
    const tab = line.indexOf("\t");
    if (tab < 0) continue;
    const key = line.slice(0, tab);
    lines.set(key, [...(lines.get(key) ?? []), line.slice(tab + 1).trim()]);
  }
  const first = (key: string): string | undefined => lines.get(key)?.[0];
  if (first("ended") === "left") check.problems.push(`A process of an earlier run of this profile is still running on ${name} and could not be ended: end it there (pkill -f mlx_manager_profile=…).`);
  if (!lines.has("os")) {
    // ssh itself failed: 255 is ssh's own error (unreachable, refused key, unknown host key).
    const said = result.stderr.trim().split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== "").slice(-2).join(" ");
    const hostKey = /host key verification failed|no .* host key is known/i.test(said);
    check.problems.push(
      host === undefined
        ? `This Mac could not run the check (${said || `exit ${result.code ?? "?"}`}).`
        : hostKey
          ? `ssh does not know ${host}'s host key (${said}). Connect once from Terminal (ssh ${host}) and confirm its fingerprint: the manager never accepts an unknown host key.`
          : `ssh to ${host} failed (${said || `exit ${result.code ?? "?"}`}). It must log in without a password or prompt: set up a key (ssh-copy-id ${host}) and check that ssh ${host} true works from Terminal.`,
    );
    return check;
  }
  check.reachable = true;
  const python = first("python") ?? "";
  if (/^Python \d/.test(python)) check.python = python.replace(/^Python /, "");
  else check.problems.push(`${Name} has no Python at ${want.python} (${python || "no answer"}). Every Mac needs the same Python at the same path; set options.distributed.python.`);
  const mlxLm = first("mlx_lm") ?? "";
  if (/^\d+\.\d+/.test(mlxLm)) {
    check.mlxLm = mlxLm;
    if (compareVersions(mlxLm, MLX_LM_DISTRIBUTED_FLOOR) < 0) check.problems.push(`${Name} has mlx-lm ${mlxLm}; its server runs distributed from ${MLX_LM_DISTRIBUTED_FLOOR} on: ${want.python} -m pip install -U mlx-lm there.`);
  } else if (check.python !== undefined) {
    check.problems.push(`${Name}'s Python cannot run mlx-lm's command (${mlxLm || "no answer"}): ${want.python} -m pip install -U "mlx-lm>=${MLX_LM_DISTRIBUTED_FLOOR}" there.`);
  }
  const missing = lines.get("missing") ?? [];
  const ref = first("ref");
  if (first("snapshot") !== "yes") {
    if (want.cache && ref !== undefined && ref !== "") {
      check.model = "other_revision";
      check.revision = ref;
      check.problems.push(`${Name} has another revision of the model (${ref.slice(0, 12)}, this Mac serves ${want.revision.slice(0, 12)}): download revision ${want.revision.slice(0, 12)} there, so every rank loads the same weights.`);
    } else {
      check.model = "missing";
      check.problems.push(want.cache ? `The model is not in ${name}'s Hugging Face cache: Copy Model to ${name} (mlx-manager hosts copy-model), or hf download on that Mac.` : `${name} has no ${want.revision}: copy the model to the same path there.`);
    }
  } else if (missing.length > 0) {
    check.model = "incomplete";
    check.problems.push(`${Name}'s copy of the model lacks ${missing.length} file(s) (${missing.slice(0, 3).join(", ")}${missing.length > 3 ? ", …" : ""}): download it there again.`);
  } else {
    check.model = want.cache && ref !== undefined && ref !== "" && ref !== want.revision ? "other_revision" : "present";
    if (check.model === "other_revision" && ref !== undefined) {
      check.revision = ref;
      // The snapshot is there, but `--model <repo>` offline resolves refs/main: another commit would load.
      check.problems.push(`${Name}'s cache points main at ${ref.slice(0, 12)}, not at ${want.revision.slice(0, 12)}, which this Mac serves: update the model there so both load the same revision.`);
    }
  }
  const memory = Number(first("memory") ?? "");
  if (Number.isFinite(memory) && memory > 0) {
    check.memoryBytes = memory;
    check.needBytes = want.needBytes;
    const usable = usableMemory(first("os") === "Darwin" ? "darwin" : "linux", memory);
    if (want.needBytes > usable.bytes) check.problems.push(`${Name} can give a model ${formatBytes(usable.bytes)} (${usable.basis}); its share needs about ${formatBytes(want.needBytes)}. Add a host, or pick a smaller quantization.`);
  }
  return check;
}

/** Checks the hosts of distributed profiles and ends their ranks there (see RanksElsewhereControl). */
export class DistributedRanks implements RanksElsewhereControl {
  constructor(private readonly options: DistributedRanksOptions) {}

  /** Runs a command on a host (rank 0: here, without ssh) with an argument array; never throws. */
  private run(host: string | undefined, command: readonly string[], signal: AbortSignal, timeoutMs = 30_000): Promise<RunResult> {
    const [file, args] = host === undefined ? [command[0] ?? "true", command.slice(1)] : ["ssh", sshArgs({ host }, command, { connectTimeoutSec: this.options.connectTimeoutSec ?? 10 })];
    return new Promise((resolve) => {
      execFile(file, args, { encoding: "utf8", timeout: timeoutMs, maxBuffer: 1024 * 1024, signal, env: this.options.env, windowsHide: true }, (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof (error as NodeJS.ErrnoException).code === "number" ? Number((error as NodeJS.ErrnoException).code) : null;
        resolve({ code, stdout, stderr: error !== null && stderr === "" ? error.message : stderr });
      });
    });
  }

  /** Checks every host of the profile: reachable over ssh, its Python and mlx-lm, the model, memory for its share. */
  async check(profile: Profile, prepared: Pick<PreparedLaunch, "engine" | "model" | "fit">, signal: AbortSignal, endFirst = false): Promise<HostCheckReport> {
    const elsewhere = prepared.engine.elsewhere;
    if (elsewhere === undefined) throw new ApiError(400, "validation_failed", `"${profile.name}" runs on this machine only: it has no other hosts to check.`, "engine");
    const python = elsewhere.python(profile.options);
    const hosts = elsewhere.hosts(profile.options);
    const cache = profile.model.source === "cache";
    const files = modelFiles(prepared.model.path);
    const repoFolder = profile.model.source === "cache" ? `models--${profile.model.repoId.replace(/\//g, "--")}` : "";
    const revision = cache ? path.basename(prepared.model.path) : prepared.model.path;
    const needBytes = prepared.fit.need.totalBytes;
    // Before a start, one session per host ends what an earlier run left there and then checks (each ssh login costs a handshake).
    const script = endFirst ? `END=$1; shift\n${END_SCRIPT}\n${CHECK_SCRIPT}` : CHECK_SCRIPT;
    const command = ["sh", "-c", script, "mlx-manager-check", ...(endFirst ? [selfSafePattern(elsewhere.marker(profile.id))] : []), python, repoFolder, revision, ...files];
    const checks = await Promise.all(
      [undefined, ...hosts].map(async (host, rank): Promise<HostCheck> => {
        const started = Date.now();
        const result = await this.run(host, command, signal);
        return readHostCheck(rank, host, result, { python, cache, revision, needBytes }, Date.now() - started);
      }),
    );
    const problems: string[] = [];
    const reached = checks.filter((c) => c.reachable);
    for (const key of ["python", "mlxLm"] as const) {
      const seen = new Set(reached.map((c) => c[key]).filter((v): v is string => v !== undefined && v !== ""));
      if (seen.size > 1) {
        const what = key === "python" ? "Python" : "mlx-lm";
        problems.push(`The hosts run different ${what} versions (${reached.map((c) => `${c.host}: ${c[key] ?? "?"}`).join(", ")}): every rank must run the same. Install one version on every Mac.`);
      }
    }
    const ok = problems.length === 0 && checks.every((c) => c.problems.length === 0);
    return {
      profileId: profile.id,
      ok,
      hosts: checks,
      problems,
      model: { ...(profile.model.source === "cache" ? { repoId: profile.model.repoId, revision } : {}), files: files.length },
    };
  }

  /**
   * Copies the model from this Mac to a host's Hugging Face cache over ssh (tar through the ssh
   * session: the same revision, no token and no download there), then points its refs/main at it.
   */
  async copyModel(profile: Profile, prepared: Pick<PreparedLaunch, "engine" | "model">, host: string, signal: AbortSignal): Promise<ModelCopy> {
    const elsewhere = prepared.engine.elsewhere;
    if (elsewhere === undefined || !elsewhere.hosts(profile.options).includes(host)) throw new ApiError(404, "not_found", `"${host}" is not one of the hosts of "${profile.name}" (${elsewhere?.hosts(profile.options).join(", ") ?? "none"}).`, "host");
    const snapshot = prepared.model.path;
    let base: string;
    let entries: string[];
    let receive: string[];
    if (profile.model.source === "cache") {
      // <hub>/models--org--name/snapshots/<commit>: the snapshot's links and the blobs they point at.
      const repoDir = path.dirname(path.dirname(snapshot));
      const repoFolder = path.basename(repoDir);
      base = path.dirname(repoDir);
      const commit = path.basename(snapshot);
      const blobs = new Set<string>();
      for (const file of modelFiles(snapshot)) {
        const target = fs.realpathSync(path.join(snapshot, file));
        if (target.startsWith(path.join(repoDir, "blobs") + path.sep)) blobs.add(path.relative(base, target));
      }
      entries = [path.relative(base, snapshot), ...[...blobs].sort()];
      receive = [repoFolder, commit, ""];
    } else {
      base = path.dirname(snapshot);
      entries = [path.basename(snapshot)];
      receive = ["", "", base];
    }
    const bytes = entries.reduce((sum, e) => sum + (fs.lstatSync(path.join(base, e)).isFile() ? fs.statSync(path.join(base, e)).size : 0), 0) + (profile.model.source === "cache" ? 0 : prepared.model.size);
    const started = Date.now();
    const tar = spawn("tar", ["-c", "-f", "-", "-C", base, "--", ...entries], { stdio: ["ignore", "pipe", "pipe"], signal, env: this.options.env });
    const ssh = spawn("ssh", sshArgs({ host }, ["sh", "-c", RECEIVE_SCRIPT, "mlx-manager-receive", ...receive], { connectTimeoutSec: this.options.connectTimeoutSec ?? 10 }), { stdio: ["pipe", "pipe", "pipe"], signal, env: this.options.env });
    tar.stdout.pipe(ssh.stdin);
    let tarError = "";
    let out = "";
    let sshError = "";
    tar.stderr.on("data", (d: Buffer) => (tarError += d.toString()));
    ssh.stdout.on("data", (d: Buffer) => (out += d.toString()));
    ssh.stderr.on("data", (d: Buffer) => (sshError += d.toString()));
    const exit = (child: ReturnType<typeof spawn>): Promise<number | null> => new Promise((resolve) => {
      child.once("error", () => { resolve(null); });
      child.once("close", (code) => { resolve(code); });
    });
    const [tarCode, sshCode] = await Promise.all([exit(tar), exit(ssh)]);
    signal.throwIfAborted();
    if (tarCode !== 0 || sshCode !== 0 || !out.includes("received")) {
      const said = [tarError, sshError].join(" ").trim().split(/\r?\n/).slice(-2).join(" ");
      throw new ApiError(502, "unavailable", `Copying the model of "${profile.name}" to ${host} failed (${said || `tar ${tarCode ?? "?"}, ssh ${sshCode ?? "?"}`}). Check the free disk space there, or download it there with: hf download ${profile.model.source === "cache" ? profile.model.repoId : "…"}`);
    }
    const copy = { host, bytes, ms: Date.now() - started };
    this.options.logger.info("copied a model to a host", { profile: profile.name, ...copy });
    return copy;
  }

  /** Before a start: ends leftovers of an earlier run on every host, then checks them; refuses with what is wrong. */
  async beforeStart(profile: Profile, prepared: PreparedLaunch, signal: AbortSignal): Promise<void> {
    const report = await this.check(profile, prepared, signal, true);
    if (report.ok) return;
    const problems = [...report.problems, ...report.hosts.flatMap((h) => h.problems)];
    throw new ApiError(409, "hosts_not_ready", `"${profile.name}" cannot start on its hosts: ${problems.join(" ")}`, "options.distributed", { report });
  }

  /** Ends the profile's ranks on every host (and here) by the marker on their command line. */
  async end(profile: Profile, engine: EngineDescription, signal: AbortSignal = AbortSignal.timeout(60_000)): Promise<void> {
    const elsewhere = engine.elsewhere;
    if (elsewhere === undefined) return;
    const pattern = selfSafePattern(elsewhere.marker(profile.id));
    const results = await Promise.all(
      [undefined, ...elsewhere.hosts(profile.options)].map(async (host) => ({ host: host ?? "this Mac", result: await this.run(host, ["sh", "-c", `END=$1\n${END_SCRIPT}`, "mlx-manager-end", pattern], signal) })),
    );
    const outcome = (r: RunResult): string => /^ended\t(\w+)$/m.exec(r.stdout)?.[1] ?? "";
    const failed = results.filter((r) => outcome(r.result) !== "none");
    for (const r of results) this.options.logger.debug("ended distributed ranks", { profile: profile.name, host: r.host, outcome: outcome(r.result) || r.result.stderr.trim() });
    if (failed.length > 0) {
      throw new Error(failed.map((f) => (outcome(f.result) === "left" ? `a process of it is still running on ${f.host}` : `ssh to ${f.host} failed (${f.result.stderr.trim().split(/\r?\n/).join(" ") || `exit ${f.result.code ?? "?"}`})`)).join("; "));
    }
  }
}
