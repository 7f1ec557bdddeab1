// Loads the macOS sample outputs in test/fixtures/macos/. Each file starts with "#" lines saying
// where the output was published; they are stripped so the parsers see only the tool's text.
import { readFileSync } from "node:fs";
import path from "node:path";

export const macosFixtureDir = path.resolve(__dirname, "..", "..", "..", "fixtures", "macos");

/** A fixture's tool output, without its "#" source header. */
export function macosFixture(name: string): string {
  const lines = readFileSync(path.join(macosFixtureDir, name), "utf8").split("\n");
  let first = 0;
  while (first < lines.length && lines[first]?.startsWith("#") === true) first += 1;
  return lines.slice(first).join("\n");
}
