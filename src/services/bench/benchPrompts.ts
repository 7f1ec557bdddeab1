import type { BenchSize } from "../../shared/benchmarks";

// The benchmark's fixed prompts: the same words every time, so runs compare. A short question, and
// a text of about 1k and 4k tokens (English reads ~4 characters a token with a real vocabulary) to
// read before the same question. Written for this project; any model reads it as plain prose.
// Each request's first line names it: mlx_lm.server (its LRU prompt cache, 10 entries by default)
// and llama-server (cache_prompt) reuse the longest cached prefix, so a warm run sending the very
// same text would time a cached prefill. A first line that differs leaves nothing to reuse.

const PASSAGE = [
  "The harbour town woke early. Fishing boats left before sunrise, and by the time the bakery opened its shutters the first of them were already coming back with their nets full.",
  "Along the quay, merchants set out crates of apples, barrels of oil and bolts of coloured cloth, and children ran between the stalls carrying messages for their parents.",
  "At the end of the pier stood a lighthouse that had not been lit for many years. The keeper had left long ago, but an old clockmaker named Ada kept its brass mechanism clean and oiled.",
  "Every week she climbed the narrow stairs, wound the great clock that turned the lamp, and wrote the date in a notebook she kept in the lantern room.",
  "One winter a storm came in from the west. The wind tore at the roofs, the sea rose over the breakwater, and the boats that were still out could not find the harbour mouth in the dark.",
  "Ada took her lantern and climbed the stairs faster than she had in years. She lit the old lamp, set the clock turning, and the beam swept across the water for the first time in a generation.",
  "One by one the boats followed the light home. In the morning the town gathered at the pier, and the mayor asked Ada how she had kept the lighthouse ready for so long.",
  "She said that a thing which is cared for is always ready, and that she had simply never stopped caring for it.",
];

const QUESTION = "Write a short story about a lighthouse keeper who saves a ship in a storm.";

/** Characters a size's text aims at (about 4 a token). */
const TARGET_CHARS: Record<BenchSize, number> = { short: 0, "1k": 4000, "4k": 16000 };

const cache = new Map<BenchSize, string>();

/** The user message for a size: its first line `tag`, then the question after the passage repeated to the size's length. */
export function benchPrompt(size: BenchSize, tag: string): string {
  return `${tag}\n\n${fixedPrompt(size)}`;
}

function fixedPrompt(size: BenchSize): string {
  const known = cache.get(size);
  if (known !== undefined) return known;
  const target = TARGET_CHARS[size];
  const parts: string[] = [];
  let length = 0;
  for (let i = 0; length < target; i++) {
    const sentence = PASSAGE[i % PASSAGE.length] ?? "";
    parts.push(sentence);
    length += sentence.length + 1;
  }
  const prompt = parts.length === 0 ? QUESTION : `Read this text:\n\n${parts.join(" ")}\n\n${QUESTION}`;
  cache.set(size, prompt);
  return prompt;
}
