// The demo's model (`npm start`): a tiny GGUF that is a bigram model of DEMO_TEXT, written into a
// Hugging Face cache as a repo of its own. Made by this script on every start, never downloaded.
import { DEMO_TEXT } from "./demoText";
import { writeHfRepo } from "./hfCache";
import { tinyGgufBytes } from "./tinyGguf";

export const DEMO_REPO = "demo/tiny-fables";
export const DEMO_FILE = "tiny-fables-F32.gguf";

export function demoModelBytes(): Buffer {
  // Unseen pairs all but ruled out: the model writes the fables' own word pairs.
  return tinyGgufBytes(1, { bigramText: DEMO_TEXT, bigramSmoothing: 1e-4, name: "tiny-fables" });
}

/** Writes the demo model's repo into `hfCache`; returns what a profile names. */
export function writeDemoModel(hfCache: string): { repoId: string; file: string } {
  writeHfRepo(hfCache, {
    repoId: DEMO_REPO,
    revisions: [{ refs: ["main"], files: { [DEMO_FILE]: demoModelBytes(), "README.md": "---\nlibrary_name: gguf\ntags: [gguf]\n---\n# tiny-fables\n\nA bigram model of a few short fables, made by MLX Model Manager's demo script: it writes sentences whose every word pair occurs in them.\n" } }],
  });
  return { repoId: DEMO_REPO, file: DEMO_FILE };
}
