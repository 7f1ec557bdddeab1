import type { Command } from "commander";
import type { ManagerClient } from "../client/ManagerClient";
import type { RemoteBackend, RemoteBackendInput, RemotePlacement } from "../shared/remotes";
import { table } from "./format";
import { readSecret } from "./shareCommands";

const out = (text: string): void => void process.stdout.write(text.endsWith("\n") ? text : `${text}\n`);

interface KeyOptions {
  keyEnv?: string;
  keyStdin?: boolean;
}

/** The key from an environment variable or stdin (a terminal asks without echo); never from an argument, which `ps` shows. */
async function keyFrom(opts: KeyOptions): Promise<string | undefined> {
  if (opts.keyEnv !== undefined) {
    const value = process.env[opts.keyEnv];
    if (value === undefined || value.trim() === "") throw new Error(`--key-env ${opts.keyEnv}: that variable is not set.`);
    return value.trim();
  }
  if (opts.keyStdin === true) {
    const value = (await readSecret("Key: ")).trim();
    return value === "" ? undefined : value;
  }
  return undefined;
}

function describe(remote: RemoteBackend): string {
  const lines = [`${remote.name}: ${remote.url} — ${remote.health.state}${remote.health.latencyMs === undefined ? "" : ` (${remote.health.latencyMs} ms)`}`];
  lines.push(remote.fingerprint === null ? (remote.url.startsWith("https:") ? "TLS: trusted by this machine's CAs" : "plain http") : `TLS certificate pinned: ${remote.fingerprint}`);
  lines.push(remote.hasKey ? "key: kept (never shown)" : "key: none");
  if (remote.health.error !== undefined) lines.push(remote.health.error);
  if (remote.health.models.length > 0) lines.push(`models: ${remote.health.models.map((m) => m.id).join(", ")}`);
  return lines.join("\n");
}

/** `mlx-manager remotes …`: other machines' OpenAI-compatible servers the gateway routes to. */
export function addRemoteCommands(program: Command, connect: () => Promise<ManagerClient>): void {
  const remotes = program.command("remotes").description("remote backends: other machines' OpenAI-compatible servers (a team server, LM Studio, Ollama, vLLM, LiteLLM)");

  remotes
    .command("list", { isDefault: true })
    .description("list the remote backends and their health")
    .option("--json", "print JSON")
    .action(async (opts: { json?: boolean }) => {
      const list = (await (await connect()).remotes()).remotes;
      if (opts.json) { out(JSON.stringify(list, null, 2)); return; }
      if (list.length === 0) { out("No remote backend. Add one with `mlx-manager remotes add URL --name NAME`."); return; }
      out(table(["NAME", "URL", "HEALTH", "TLS", "KEY", "MODELS"], list.map((r) => [r.name, r.url, r.health.state, r.fingerprint === null ? (r.url.startsWith("https:") ? "trusted" : "none") : "pinned", r.hasKey ? "kept" : "none", String(r.health.models.length)])));
    });

  remotes
    .command("add <url>")
    .description("add a backend: its certificate is shown to confirm (or checked against --fingerprint); plain http to another machine needs --allow-http")
    .requiredOption("--name <name>", "how it is called in the views and in `ps`")
    .option("--key-env <var>", "read its API key from this environment variable")
    .option("--key-stdin", "read its API key from stdin (asked without echo in a terminal)")
    .option("--fingerprint <sha256>", "the SHA-256 fingerprint its owner gave, for a certificate this machine does not trust")
    .option("--allow-http", "go on over plain http to another machine (the key and every prompt cross the network unencrypted)")
    .option("--accept-no-auth", "an exo cluster at a public address: go on although it has no authentication")
    .action(async (url: string, opts: KeyOptions & { name: string; fingerprint?: string; allowHttp?: boolean; acceptNoAuth?: boolean }) => {
      const client = await connect();
      const probe = await client.probeRemote(url);
      const input: RemoteBackendInput = { name: opts.name, url: probe.url };
      if (probe.exo) {
        // exo: no key, and a warning that it has no authentication.
        process.stderr.write(`${probe.noAuthWarning ?? ""}\n`);
        if (opts.keyEnv !== undefined || opts.keyStdin === true) throw new Error("exo has no authentication: it takes no key (leave --key-env and --key-stdin out).");
        input.kind = "exo";
        if (opts.acceptNoAuth === true) input.acceptNoAuth = true;
      }
      if (probe.tls !== null && !probe.tls.trusted) {
        if (opts.fingerprint === undefined) {
          process.stderr.write(`${probe.url} presents a certificate this machine does not trust.\nSHA-256 fingerprint: ${probe.tls.fingerprint}\nCheck it with the server's owner (\`mlx-manager share\` prints it), then run again with --fingerprint ${probe.tls.fingerprint}\n`);
          process.exitCode = 1;
          return;
        }
        input.fingerprint = opts.fingerprint;
      }
      if (probe.plainHttpWarning !== undefined && !probe.exo) {
        if (opts.allowHttp !== true) {
          process.stderr.write(`${probe.plainHttpWarning}\nUse https, or run again with --allow-http on a network you trust.\n`);
          process.exitCode = 1;
          return;
        }
        input.acceptPlainHttp = true;
      }
      const key = probe.exo ? undefined : await keyFrom(opts);
      if (key !== undefined) input.apiKey = key;
      const added = await client.addRemote(input);
      out(describe(added));
      if (added.health.models.length > 0) out(`Serve one: mlx-manager remotes profile ${added.name} ${added.health.models[0]?.id ?? "MODEL"} [--replica-of PROFILE]`);
    });

  remotes
    .command("check <name>")
    .description("check a backend now (its /v1/models with its key)")
    .action(async (name: string) => {
      const checked = await (await connect()).checkRemote(name);
      out(describe(checked));
      if (checked.health.state !== "healthy") process.exitCode = 1;
    });

  remotes
    .command("set-key <name>")
    .description("replace the key kept for a backend (--key-env or --key-stdin), or remove it (--clear)")
    .option("--key-env <var>", "read the key from this environment variable")
    .option("--key-stdin", "read the key from stdin")
    .option("--clear", "remove the kept key")
    .action(async (name: string, opts: KeyOptions & { clear?: boolean }) => {
      const key = opts.clear === true ? null : await keyFrom(opts);
      if (key === undefined) throw new Error("Give the key with --key-env VAR or --key-stdin, or --clear to remove it.");
      out(describe(await (await connect()).updateRemote(name, { apiKey: key })));
    });

  remotes
    .command("trust <name>")
    .description("pin the certificate a backend presents now (after its owner made a new one), checked against --fingerprint")
    .requiredOption("--fingerprint <sha256>", "the new certificate's SHA-256 fingerprint, as its owner gave it")
    .action(async (name: string, opts: { fingerprint: string }) => {
      out(describe(await (await connect()).updateRemote(name, { fingerprint: opts.fingerprint })));
    });

  remotes
    .command("previews <backend> <model>")
    .description("exo: where the cluster would place a model, with what each node holds (or why it does not fit)")
    .option("--json", "print JSON")
    .action(async (backend: string, model: string, opts: { json?: boolean }) => {
      const list = await (await connect()).placementPreviews(backend, model);
      if (opts.json) { out(JSON.stringify(list, null, 2)); return; }
      const gb = (bytes: number): string => `${(bytes / 1e9).toFixed(1)} GB`;
      out(table(["SHARDING", "INSTANCE", "NODES", "MEMORY PER NODE"], list.previews.map((p) => [p.sharding, p.instanceMeta, String(p.nodes.length || p.minNodes), p.error ?? p.nodes.map((n) => `${n.id.slice(0, 8)} ${gb(n.bytes)}`).join(", ")])));
      out(`Place one with: mlx-manager remotes profile ${backend} ${model} --sharding S --instance-meta M --min-nodes N, then mlx-manager start PROFILE`);
    });

  remotes
    .command("rm <name>")
    .description("remove a backend and its kept key (refused while profiles use it)")
    .action(async (name: string) => {
      const removed = await (await connect()).removeRemote(name);
      out(`Removed ${removed.name} (${removed.url}) and its key.`);
    });

  remotes
    .command("profile <backend> <model>")
    .description("make a profile of a backend's model; --replica-of serves an existing profile's name from either")
    .option("--name <name>", "the profile's name (default: MODEL on BACKEND)")
    .option("--replica-of <profile>", "a replica of this profile: requests for its name go to whichever is less busy")
    .option("--sharding <Pipeline|Tensor>", "exo: how Start places the model (see `remotes previews`)")
    .option("--instance-meta <MlxRing|MlxJaccl>", "exo: the instance kind")
    .option("--min-nodes <n>", "exo: the least number of nodes")
    .action(async (backendName: string, model: string, opts: { name?: string; replicaOf?: string; sharding?: string; instanceMeta?: string; minNodes?: string }) => {
      const client = await connect();
      const backend = (await client.remotes()).remotes.find((r) => r.id === backendName || r.name.toLowerCase() === backendName.toLowerCase());
      if (backend === undefined) throw new Error(`No remote backend "${backendName}". See \`mlx-manager remotes\`.`);
      const of = opts.replicaOf === undefined ? undefined : await client.profile(opts.replicaOf);
      const name = opts.name ?? `${(of?.name ?? model).split("/").at(-1) ?? model} on ${backend.name}`;
      const exo = opts.sharding !== undefined || opts.instanceMeta !== undefined || opts.minNodes !== undefined;
      // The manager checks the placement's values (a 400 naming the field when one is wrong).
      const placement = { sharding: opts.sharding ?? "Pipeline", instanceMeta: opts.instanceMeta ?? "MlxRing", minNodes: Number(opts.minNodes ?? "1") } as unknown as RemotePlacement;
      const created = await client.createProfile({ name, engine: "remote", model: { source: "remote", backend: backend.id, model }, ...(of === undefined ? {} : { aliases: [of.name] }), ...(exo ? { options: { placement } } : {}) });
      out(of === undefined ? `Created profile "${created.name}": ${model} on ${backend.name}.` : `Created profile "${created.name}": requests for "${of.name}" now go to "${of.name}" or to ${model} on ${backend.name}, whichever is less busy.`);
    });
}
