import fs from "node:fs";

/** The model card fields the scanner uses to classify a repo. */
export interface ModelCardInfo {
  libraryName?: string;
  tags: string[];
}

/** Front matter sits at the top; a model card's first 64 KB always hold it. */
const READ_BYTES = 64 * 1024;

/** Reads the start of a README.md, enough for its YAML front matter. */
export function readModelCardHead(file: string, fileSize: number): string {
  const fd = fs.openSync(file, "r");
  try {
    const buf = Buffer.allocUnsafe(Math.min(READ_BYTES, fileSize));
    const got = fs.readSync(fd, buf, 0, buf.byteLength, 0);
    return buf.toString("utf8", 0, got);
  } finally {
    fs.closeSync(fd);
  }
}

function unquote(value: string): string {
  const v = value.trim();
  if (v.length >= 2 && ((v.startsWith('"') && v.endsWith('"')) || (v.startsWith("'") && v.endsWith("'"))))
    return v.slice(1, -1);
  return v;
}

/**
 * Reads `library_name` and `tags` from a model card's YAML front matter. Only the two shapes the
 * Hub writes are understood: `tags: [a, b]` and a block list of `- a` lines.
 */
export function parseModelCard(text: string): ModelCardInfo {
  const info: ModelCardInfo = { tags: [] };
  const body = text.startsWith("\uFEFF") ? text.slice(1) : text;
  if (!/^---\r?\n/.test(body)) return info;
  const lines = body.split(/\r?\n/);
  let listKey: string | undefined;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] ?? "";
    if (/^(---|\.\.\.)\s*$/.test(line)) break;
    const item = /^\s*-\s+(.*)$/.exec(line);
    if (item?.[1] !== undefined && listKey !== undefined) {
      if (listKey === "tags") info.tags.push(unquote(item[1]));
      continue;
    }
    const kv = /^([A-Za-z_][\w-]*):\s*(.*)$/.exec(line);
    if (!kv?.[1]) {
      if (!/^\s/.test(line)) listKey = undefined;
      continue;
    }
    const key = kv[1];
    const value = (kv[2] ?? "").replace(/\s+#.*$/, "").trim();
    listKey = value === "" ? key : undefined;
    if (key === "library_name" && value !== "") info.libraryName = unquote(value);
    else if (key === "tags" && value.startsWith("[")) {
      info.tags.push(
        ...value
          .replace(/^\[|\]$/g, "")
          .split(",")
          .map(unquote)
          .filter((t) => t !== ""),
      );
    } else if (key === "tags" && value !== "") info.tags.push(unquote(value));
  }
  return info;
}
