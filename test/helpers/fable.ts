// A short fable, written for these tests: the text the bigram test model (tinyGguf's bigramText) is
// made from, and what perplexity is measured on.
export const FABLE = [
  "Once upon a time a little fox lived near a big green hill. Every morning the little fox ran to the river and drank the cold water. One day the fox saw a bird in a tall tree.",
  "The bird sang a happy song, and the fox sat down to listen. When the song was over, the fox said thank you, and the bird said the river is cold today. The fox laughed and ran home to the big green hill.",
  "Every evening the little fox told the story of the bird to his mother, and his mother smiled. The next morning the fox ran to the river again, and the bird sang again in the tall tree.",
].join("\n\n");

/** The fable's words in a seeded random order: the same vocabulary, none of its word order. */
export function shuffledFable(seed = 7): string {
  let state = seed;
  return FABLE.split(/\s+/)
    .map((w) => [w, (state = (state * 48271) % 2147483647)] as const)
    .sort((a, b) => a[1] - b[1])
    .map(([w]) => w)
    .join(" ");
}
