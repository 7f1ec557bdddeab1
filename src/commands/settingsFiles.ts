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


/** Where a command remembers what it changed in each file (VS Code's global state). */
export interface EditRecords {
  get(key: string): unknown;
  update(key: string, value: unknown): Thenable<void>;
}

/** The outcome of undoing one file's edit: the settings put back, and those changed since (left alone). */
export interface UndoneFile {
  file: string;
  names: string[];
  changedSince: string[];
}

/**
 * Writes an edit the user agreed to: the file's previous content as `<file>.bak`, the new text,
 * and what was changed under `key` — merged with an earlier application's record by `merge`, so
 * that undo goes all the way back.
 */
export async function writeEdit<A>(records: EditRecords, key: string, file: string, before: string | undefined, text: string, applied: A, merge: (earlier: A, now: A) => A): Promise<void> {
  if (before !== undefined) await writeAtomic(`${file}.bak`, before);
  await writeAtomic(file, text);
  const all = (records.get(key) as Record<string, A> | undefined) ?? {};
  const earlier = all[file];
  all[file] = earlier === undefined ? applied : merge(earlier, applied);
  await records.update(key, all);
}

/**
 * Undoes every edit recorded under `key` with `undo`, writes the files back (removing one that
 * `removeEmpty` says held only what was written), and forgets the records.
 */
export async function undoEdits<A>(
  records: EditRecords,
  key: string,
  undo: (text: string, applied: A, file: string) => { text: string; restored: string[]; changedSince: string[] },
  removeEmpty: (applied: A) => boolean = () => false,
): Promise<UndoneFile[] | undefined> {
  const all = (records.get(key) as Record<string, A> | undefined) ?? {};
  if (Object.keys(all).length === 0) return undefined;
  const undone: UndoneFile[] = [];
  for (const [file, applied] of Object.entries(all)) {
    const text = await readIfThere(file);
    if (text === undefined) continue;
    const result = undo(text, applied, file);
    if (result.text.trim() === "" && removeEmpty(applied)) await fs.rm(file, { force: true });
    else if (result.restored.length > 0) await writeAtomic(file, result.text);
    undone.push({ file, names: result.restored, changedSince: result.changedSince });
  }
  await records.update(key, undefined);
  return undone;
}
