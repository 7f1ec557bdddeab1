// The text the demo model (`npm start`) is made from: short fables written for this project, in
// plain words (no apostrophes or quotation marks: the bigram tokenizer keeps letters and . , ! ?).
// A bigram model of it (tinyGguf's bigramText) writes sentences whose every word pair occurs here,
// so the first chat a new user sees reads as English, not word salad.
export const DEMO_TEXT = [
  "Once upon a time a little fox lived near a big green hill. Every morning the fox ran down to the river to drink the cold water, and every morning a small bird sang in a tall tree by the river.",
  "One day the fox said to the bird, you sing a happy song. Will you teach me to sing? The bird laughed and said, a fox can not sing, but a fox can listen. So the fox sat down by the river and listened to the song.",
  "A hungry bear came to the river in the evening. The bear wanted to catch a fish, but the water was too fast and the fish were too quick. The little fox saw the bear and said, wait for the morning, when the river is slow. The bear waited, and in the morning the bear caught a big fish and shared it with the fox.",
  "Once there was an old owl who lived in a tall tree on the hill. The owl knew the story of every animal in the forest. When the night was dark and the wind was cold, the animals came to the tree, and the old owl told them a story about the moon and the stars.",
  "A little rabbit lost her way in the forest. She looked for her mother under every tree and behind every stone. The old owl saw the rabbit from the tall tree and said, go down the hill to the river, and your mother will be there. The rabbit ran down the hill, and her mother was waiting by the river.",
  "One winter the snow came early and the river was cold and white. The animals were hungry, so the bear shared his fish, the fox shared his bread, and the bird sang a happy song for everyone. In the spring the sun came back, the river ran again, and the animals of the forest were happy.",
  "Every evening the little fox told the story of the bear, the owl, the rabbit and the bird to his mother, and his mother smiled. And the next morning the fox ran down to the river again, and the small bird sang again in the tall tree.",
].join("\n\n");

/** A sentence's words, with its commas kept as words of their own (the demo model's tokens). */
export function sentenceWords(sentence: string): string[] {
  return sentence.toLowerCase().match(/[a-z]+|,/g) ?? [];
}

/** The sentences of a text: split at . ! ? and at paragraph breaks. */
export function sentences(text: string): string[] {
  return text.split(/[.!?]+|\n\s*\n/);
}

/** Pairs of neighbouring words (a comma counts as one) in the sentences of a text. */
export function wordPairs(text: string): Set<string> {
  const pairs = new Set<string>();
  for (const sentence of sentences(text)) {
    const words = sentenceWords(sentence);
    for (let i = 1; i < words.length; i++) pairs.add(`${words[i - 1]} ${words[i]}`);
  }
  return pairs;
}
