import { InvalidArgumentError, type Command } from "commander";
import { ManagerRequestError, type ManagerClient } from "../client/ManagerClient";
import type { Download } from "../shared/hub";
import { formatMemory, type HubFit } from "../shared/memory";
import { readHubToken } from "../services/hub/hubConfig";
import { formatBytes, formatCount, table } from "./format";

const out = (text: string): void => void process.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
const err = (text: string): void => void process.stderr.write(text.endsWith("\n") ? text : `${text}\n`);

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** `org/name[@revision]` */
export function parseRepoSpec(spec: string): { repo: string; revision: string } {
  const at = spec.indexOf("@");
  const repo = at < 0 ? spec : spec.slice(0, at);
  const revision = at < 0 ? "main" : spec.slice(at + 1);
  if (!/^[\w.-]+(\/[\w.-]+)?$/.test(repo) || revision === "") throw new InvalidArgumentError(`"${spec}" is not org/name[@revision]`);
  return { repo, revision };
}

function formatEta(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return "--";
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ${seconds % 60}s`;
  return `${Math.floor(seconds / 3600)}h ${Math.floor((seconds % 3600) / 60)}m`;
}

/** One progress line: bar, percent, bytes, speed, ETA, files. */
export function progressLine(d: Download, width = 24): string {
  const ratio = d.totalBytes > 0 ? Math.min(1, d.doneBytes / d.totalBytes) : 0;
  const filled = Math.round(ratio * width);
  const bar = `[${"#".repeat(filled)}${".".repeat(width - filled)}]`;
  const current = d.active[0]?.path;
  return `${bar} ${(ratio * 100).toFixed(0).padStart(3)}%  ${formatBytes(d.doneBytes)}/${formatBytes(d.totalBytes)}  ${formatBytes(d.speed)}/s  ETA ${formatEta(d.etaSeconds)}  files ${d.filesDone}/${d.filesTotal}${current ? `  ${current}` : ""}`;
}

/** `search`, `info`, `pull` and `downloads`. */
export function addHubCommands(program: Command, connect: () => Promise<ManagerClient>): void {
  // The CLI's own Hugging Face token (HF_TOKEN or huggingface_hub's token file), sent per request.
  const hfToken = (): string | undefined => readHubToken()?.token;

  program
    .command("search [query]")
    .description("search the Hugging Face Hub for MLX models (or GGUF with --gguf)")
    .option("--gguf", "GGUF models instead of MLX")
    .option("--all", "any format")
    .option("--sort <field>", "downloads | likes | lastModified | trendingScore", "downloads")
    .option("--limit <n>", "results per page", "20")
    .option("--page <n>", "page, from 0", "0")
    .option("--json", "print JSON")
    .action(async (query: string | undefined, opts: { gguf?: boolean; all?: boolean; sort: string; limit: string; page: string; json?: boolean }) => {
      const client = await connect();
      const list = await client.hubSearch(
        { q: query ?? "", format: opts.all ? "all" : opts.gguf ? "gguf" : "mlx", sort: opts.sort as "downloads", limit: Number(opts.limit), page: Number(opts.page) },
        hfTokenOption(hfToken()),
      );
      if (opts.json) { out(JSON.stringify(list, null, 2)); return; }
      if (list.results.length === 0) { out("No models found."); return; }
      out(table(["MODEL", "DOWNLOADS", "LIKES", "UPDATED", "TASK", "ACCESS"], list.results.map((r) => [r.id, formatCount(r.downloads), String(r.likes), r.lastModified.slice(0, 10), r.pipelineTag ?? "", r.private ? "private" : r.gated ? "gated" : ""])));
      if (list.hasMore) out(`More: --page ${list.page + 1}`);
    });

  program
    .command("info <repo>")
    .description("show a Hub model: files, sizes, card, quantization, whether it is cached")
    .option("--fit", "what each variant of the model (its MLX quantizations or GGUF quants) needs in memory, against this machine")
    .option("--context <tokens>", "the context length for --fit (besides 8k and 32k)", positiveInt)
    .option("--json", "print JSON")
    .action(async (spec: string, opts: { json?: boolean; fit?: boolean; context?: number }) => {
      const { repo, revision } = parseRepoSpec(spec);
      // --context is also the program's (a team server's context): a number given after --fit is a context length.
      const global = program.opts<{ context?: string }>().context;
      if (opts.context === undefined && global !== undefined && /^\d+$/.test(global)) {
        opts.context = positiveInt(global);
        program.setOptionValue("context", undefined);
      }
      if (opts.context !== undefined && opts.fit !== true) throw new InvalidArgumentError("--context <tokens> goes with --fit.");
      const client = await connect();
      const token = hfToken();
      if (opts.fit === true) {
        const fit = await client.hubFit(repo, { revision, ...(opts.context === undefined ? {} : { context: opts.context }), ...(token ? { hfToken: token } : {}) });
        if (opts.json) { out(JSON.stringify(fit, null, 2)); return; }
        printFit(fit, out);
        return;
      }
      const info = await client.hubModel(repo, { revision, ...(token ? { hfToken: token } : {}) });
      if (opts.json) { out(JSON.stringify(info, null, 2)); return; }
      out(`${info.id}@${info.revision} (commit ${info.commit.slice(0, 12)})`);
      out(`  downloads ${formatCount(info.downloads)}, likes ${info.likes}, updated ${info.lastModified.slice(0, 10)}${info.gated ? `, gated (${info.gated})` : ""}${info.private ? ", private" : ""}`);
      if (info.modelType || info.architecture) out(`  architecture: ${[info.modelType, info.architecture].filter(Boolean).join(" / ")}`);
      if (info.quantization) out(`  quantization: ${info.quantization.bits}-bit${info.quantization.groupSize ? `, group size ${info.quantization.groupSize}` : ""}`);
      if (info.libraryName) out(`  library: ${info.libraryName}`);
      out(`  download size: ${formatBytes(info.downloadSize)}${info.repoSize === undefined ? "" : `   repo size (all revisions): ${formatBytes(info.repoSize)}`}`);
      out(`  cached: ${info.cached.complete ? "yes, this revision" : info.cached.present ? `other revisions (${info.cached.commits.map((c) => c.slice(0, 8)).join(", ")})` : "no"}`);
      out(table(["FILE", "SIZE", "LFS"], info.files.map((f) => [f.path, formatBytes(f.size), f.lfs ? "lfs" : ""])));
    });

  program
    .command("pull <repo>")
    .description("download a model (org/name[@revision]) into the Hugging Face cache, with resume")
    .option("--include <glob>", "only files matching (repeatable)", collect, [])
    .option("--exclude <glob>", "skip files matching (repeatable)", collect, [])
    .option("--detach", "start the download and return; it continues in the manager")
    .option("--json", "print the finished download as JSON")
    .action(async (spec: string, opts: { include: string[]; exclude: string[]; detach?: boolean; json?: boolean }) => {
      const { repo, revision } = parseRepoSpec(spec);
      const client = await connect();
      const token = hfToken();
      const started = await client.startDownload({ repo, revision, ...(opts.include.length > 0 ? { include: opts.include } : {}), ...(opts.exclude.length > 0 ? { exclude: opts.exclude } : {}) }, token);
      const id = started.download.id;
      err(`${started.joined ? "Joined the running download" : "Downloading"} ${repo}@${revision} (id ${id}).`);
      if (opts.detach) { out(id); return; }
      const final = await follow(client, id);
      if (opts.json) out(JSON.stringify(final, null, 2));
      if (final.state === "completed") {
        out(`Downloaded ${repo}@${revision} (${formatBytes(final.totalBytes)}, ${final.filesTotal} files, commit ${final.commit?.slice(0, 12) ?? "?"}).`);
        return;
      }
      if (final.state === "cancelled") {
        err(`Cancelled; the partial files are kept. Run \`mlx-manager pull ${spec}\` again to resume.`);
        process.exitCode = 130;
        return;
      }
      throw new ManagerRequestError(0, final.error?.code ?? "download_failed", final.error?.message ?? "The download failed.");
    });

  const downloads = program.command("downloads").description("the manager's download queue");
  downloads
    .command("list", { isDefault: true })
    .option("--json", "print JSON")
    .action(async (opts: { json?: boolean }) => {
      const list = (await (await connect()).downloads()).downloads;
      if (opts.json) { out(JSON.stringify(list, null, 2)); return; }
      if (list.length === 0) { out("No downloads."); return; }
      out(table(["ID", "MODEL", "STATE", "DONE", "SIZE", "NOTE"], list.map((d) => [d.id.slice(0, 8), `${d.repo}@${d.revision}`, d.state, d.totalBytes > 0 ? `${Math.floor((d.doneBytes / d.totalBytes) * 100)}%` : "", formatBytes(d.totalBytes), d.error?.message ?? ""])));
    });
  downloads
    .command("cancel <id>")
    .option("--discard", "also delete the partial files")
    .action(async (id: string, opts: { discard?: boolean }) => {
      const client = await connect();
      const d = await client.cancelDownload(await fullId(client, id), opts.discard === true);
      out(`${opts.discard ? "Cancelled and discarded" : "Cancelled"} ${d.repo}@${d.revision}.`);
    });
  downloads
    .command("resume <id>")
    .action(async (id: string) => {
      const client = await connect();
      const d = await client.resumeDownload(await fullId(client, id), hfToken());
      out(`Resuming ${d.repo}@${d.revision}.`);
    });
}

function hfTokenOption(token: string | undefined): { hfToken?: string } {
  return token === undefined ? {} : { hfToken: token };
}

async function fullId(client: ManagerClient, prefix: string): Promise<string> {
  const matches = (await client.downloads()).downloads.filter((d) => d.id.startsWith(prefix));
  if (matches.length !== 1 || !matches[0]) throw new ManagerRequestError(404, "not_found", matches.length === 0 ? `No download ${prefix}. See \`mlx-manager downloads\`.` : `"${prefix}" matches several downloads; give more of the id.`);
  return matches[0].id;
}

/** Shows progress on stderr until the download ends; Ctrl-C cancels it (partials kept). */
async function follow(client: ManagerClient, id: string): Promise<Download> {
  const tty = process.stderr.isTTY;
  const stop = new AbortController();
  let lastPrinted = 0;
  const show = (d: Download): void => {
    if (d.state !== "running") return;
    if (tty) process.stderr.write(`\r${progressLine(d, 24).slice(0, (process.stderr.columns || 120) - 1).padEnd(Math.min(119, (process.stderr.columns || 120) - 1))}`);
    else if (Date.now() - lastPrinted > 2000) {
      lastPrinted = Date.now();
      err(progressLine(d));
    }
  };
  const onSigint = (): void => {
    err("\nCancelling (partial files are kept)...");
    void client.cancelDownload(id).catch(() => undefined);
  };
  process.once("SIGINT", onSigint);
  try {
    return await new Promise<Download>((resolve, reject) => {
      const finish = (d: Download): void => {
        if (d.state === "completed" || d.state === "failed" || d.state === "cancelled") {
          stop.abort();
          if (tty) process.stderr.write("\n");
          resolve(d);
        }
      };
      client
        .followEvents(
          (event) => {
            if ((event.type === "download.progress" || event.type === "download.changed") && event.data.id === id) {
              show(event.data);
              finish(event.data);
            } else if (event.type === "download.removed" && event.data.id === id) {
              stop.abort();
              reject(new ManagerRequestError(0, "download_failed", "The download was discarded."));
            }
          },
          stop.signal,
          (connected) => {
            // Catch up on what happened before the stream was open (or while it was down).
            if (connected) void client.download(id).then((d) => { show(d); finish(d); }, (error: unknown) => { stop.abort(); reject(error instanceof Error ? error : new Error(String(error))); });
          },
        )
        .catch(reject);
    });
  } finally {
    process.off("SIGINT", onSigint);
  }
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 128) throw new InvalidArgumentError("a number of tokens, 128 or more.");
  return n;
}

const VERDICT: Record<HubFit["variants"][number]["needs"][number]["verdict"], string> = { fits: "fits", tight: "tight", does_not_fit: "does not fit" };

/** The family's table: each variant's need at each context, with the verdict. */
function printFit(fit: HubFit, out: (line: string) => void): void {
  out(`${fit.repo}: ${fit.variants.length} variant${fit.variants.length === 1 ? "" : "s"} on ${fit.engine}, against ${formatMemory(fit.usable.bytes)} usable (${fit.usable.basis})`);
  if (fit.notes.length > 0) out(`  ${fit.notes.join("; ")}`);
  const rows = fit.variants.map((v) => [
    `${v.current ? "*" : " "} ${v.file ?? v.repo}`,
    v.label,
    formatMemory(v.weightsBytes),
    ...v.needs.map((n) => `${formatMemory(n.totalBytes)} ${VERDICT[n.verdict]}`),
  ]);
  out(table(["VARIANT", "QUANT", "WEIGHTS", ...fit.contexts.map((c) => `AT ${c >= 1024 && c % 1024 === 0 ? `${c / 1024}K` : c}`)], rows));
  out(fit.suggested === undefined ? "No variant fits at the chosen context: pick a shorter one." : `Suggested: ${fit.suggested.file ?? fit.suggested.repo} (${fit.suggested.label}), the most bits that fit.`);
}
