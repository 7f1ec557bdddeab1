import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";

/**
 * Moves the files of `source` into the Hugging Face cache at `hub` as repo `repoId`, in the layout
 * huggingface_hub writes: blobs named by their SHA-256, `snapshots/<commit>/<file>` links to them,
 * `refs/main` naming the commit (made from the files' hashes: the same files, the same commit).
 * Returns the commit. The cache scanner then lists it like a downloaded model.
 */
export function installIntoCache(hub: string, repoId: string, source: string): string {
  const repo = path.join(hub, `models--${repoId.split("/").join("--")}`);
  const files: { rel: string; hash: string; abs: string }[] = [];
  const walk = (rel: string): void => {
    for (const entry of fs.readdirSync(path.join(source, rel), { withFileTypes: true })) {
      const name = rel === "" ? entry.name : path.join(rel, entry.name);
      if (entry.isDirectory()) walk(name);
      else if (entry.isFile()) {
        const abs = path.join(source, name);
        files.push({ rel: name, abs, hash: crypto.createHash("sha256").update(fs.readFileSync(abs)).digest("hex") });
      }
    }
  };
  walk("");
  files.sort((a, b) => a.rel.localeCompare(b.rel));
  const commit = crypto.createHash("sha1").update(files.map((f) => `${f.rel}\0${f.hash}`).join("\n")).digest("hex");
  const blobs = path.join(repo, "blobs");
  const snapshot = path.join(repo, "snapshots", commit);
  fs.mkdirSync(blobs, { recursive: true });
  fs.mkdirSync(snapshot, { recursive: true });
  for (const file of files) {
    const blob = path.join(blobs, file.hash);
    if (!fs.existsSync(blob)) fs.renameSync(file.abs, blob);
    const link = path.join(snapshot, file.rel);
    fs.mkdirSync(path.dirname(link), { recursive: true });
    fs.rmSync(link, { force: true });
    fs.symlinkSync(path.relative(path.dirname(link), blob), link);
  }
  fs.mkdirSync(path.join(repo, "refs"), { recursive: true });
  fs.writeFileSync(path.join(repo, "refs", "main"), commit);
  return commit;
}
