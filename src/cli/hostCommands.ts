import type { Command } from "commander";
import type { ManagerClient } from "../client/ManagerClient";
import { formatBytes, table } from "./format";

const out = (text: string): void => void process.stdout.write(text.endsWith("\n") ? text : `${text}\n`);

/** `mlx-manager hosts …`: the other Macs of a distributed profile (mlx-distributed). */
export function addHostCommands(program: Command, connect: () => Promise<ManagerClient>): void {
  const hosts = program.command("hosts").description("the other Macs of a distributed profile: check them as a start would, copy the model to them");

  hosts
    .command("check <profile>")
    .description("check every host over ssh: a known host key and no prompt, the same Python and mlx-lm, the model in its cache, memory for its share (exit 1 when one is not ready)")
    .option("--json", "print JSON")
    .action(async (profile: string, opts: { json?: boolean }) => {
      const report = await (await connect()).checkHosts(profile);
      if (!report.ok) process.exitCode = 1;
      if (opts.json) { out(JSON.stringify(report, null, 2)); return; }
      const size = (b: number | undefined): string => (b === undefined ? "?" : formatBytes(b));
      out(table(["RANK", "HOST", "SSH", "PYTHON", "MLX-LM", "MODEL", "SHARE / MEMORY"], report.hosts.map((h) => [String(h.rank), h.host, h.reachable ? "ok" : "failed", h.python ?? "?", h.mlxLm ?? "?", h.model, `${size(h.needBytes)} / ${size(h.memoryBytes)}`])));
      const problems = [...report.problems, ...report.hosts.flatMap((h) => h.problems)];
      out(problems.length === 0 ? "Every host is ready." : problems.map((p) => `- ${p}`).join("\n"));
    });

  hosts
    .command("copy-model <profile> <host>")
    .description("copy the profile's model from this Mac into the host's Hugging Face cache over ssh (the same revision; nothing is downloaded there)")
    .action(async (profile: string, host: string) => {
      const copied = await (await connect()).copyModelToHost(profile, host);
      out(`Copied ${formatBytes(copied.bytes)} to ${copied.host} in ${(copied.ms / 1000).toFixed(1)} s.`);
    });
}
