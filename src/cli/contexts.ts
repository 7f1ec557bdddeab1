import fs from "node:fs";
import path from "node:path";
import * as z from "zod";
import { writeFileAtomicSync } from "../services/fs/atomicWrite";

/** A team server the CLI signed in to. */
export const Context = z.object({
  url: z.string(),
  email: z.string(),
  token: z.string(),
  /** Epoch ms when the token expires. */
  expiresAt: z.number(),
  /** The server's self-signed certificate, pinned at login after the user confirmed its fingerprint. */
  tlsPin: z.object({ certPem: z.string(), fingerprint: z.string() }).optional(),
});
export type Context = z.infer<typeof Context>;

const ContextsFile = z.object({
  /** The context commands use without --context; absent: the local manager. */
  current: z.string().optional(),
  contexts: z.record(z.string(), Context),
});
type ContextsFile = z.infer<typeof ContextsFile>;

/** The CLI's contexts (`login`, `logout`, `--context`, `config use-context`), in a 0600 file: it holds tokens. */
export class ContextStore {
  readonly file: string;

  constructor(dataDir: string) {
    this.file = path.join(dataDir, "contexts.json");
  }

  read(): ContextsFile {
    try {
      const parsed = ContextsFile.safeParse(JSON.parse(fs.readFileSync(this.file, "utf8")));
      return parsed.success ? parsed.data : { contexts: {} };
    } catch {
      return { contexts: {} };
    }
  }

  write(data: ContextsFile): void {
    fs.mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
    writeFileAtomicSync(this.file, `${JSON.stringify(data, null, 2)}\n`, 0o600);
  }

  /** The named context, or the current one; undefined means the local manager. */
  resolve(name: string | undefined): (Context & { name: string }) | undefined {
    const data = this.read();
    const chosen = name ?? data.current;
    if (chosen === undefined || chosen === "local") return undefined;
    const context = data.contexts[chosen];
    if (context === undefined) throw new Error(`No context "${chosen}". See \`mlx-manager config get-contexts\`; sign in with \`mlx-manager login URL\`.`);
    return { ...context, name: chosen };
  }

  save(name: string, context: Context, makeCurrent: boolean): void {
    const data = this.read();
    data.contexts[name] = context;
    if (makeCurrent) data.current = name;
    this.write(data);
  }

  remove(name: string): boolean {
    const data = this.read();
    if (data.contexts[name] === undefined) return false;
    const contexts = Object.fromEntries(Object.entries(data.contexts).filter(([key]) => key !== name));
    this.write(data.current === name ? { contexts } : { ...data, contexts });
    return true;
  }

  use(name: string): void {
    const data = this.read();
    if (name !== "local" && data.contexts[name] === undefined) throw new Error(`No context "${name}". Sign in first with \`mlx-manager login URL --context ${name}\`.`);
    if (name === "local") delete data.current;
    else data.current = name;
    this.write(data);
  }
}

/** A context name from a URL: host:port. */
export function contextName(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}
