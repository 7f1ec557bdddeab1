// Other tools' settings files that commands edit for the user (Claude Code's, Codex's): read if
// there, written atomically with their mode kept. Pure (no vscode import).
import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";

/** The file's text, or undefined when there is none. */
export async function readIfThere(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

/**
 * Writes `text` to `file` atomically (a temporary file renamed over it), keeping its owner's
 * permissions but none for group and others — what is written holds the gateway key; 0600 for a new file.
 */
export async function writeAtomic(file: string, text: string): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const mode = await fs.stat(file).then((s) => s.mode & 0o700, () => 0o600);
  const temp = `${file}.${randomBytes(4).toString("hex")}.tmp`;
  try {
    await fs.writeFile(temp, text, { mode });
    await fs.rename(temp, file);
  } catch (error) {
    await fs.rm(temp, { force: true });
    throw error;
  }
}

