// A token count without a tokenizer, for the places no engine can count for us (VS Code Chat's
// countTokens, the Messages API's count_tokens on engines without a tokenize route).

const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u;

/**
 * A token estimate for text, no tokenizer needed: BPE tokenizers give a common English word one
 * token and split long words about every 5 characters, numbers about every 3 digits, and give
 * most punctuation and each CJK character a token of their own. It leans high, which is the
 * safe side for fitting a prompt into the context.
 */
export function estimateTokens(text: string): number {
  let tokens = 0;
  for (const [piece] of text.matchAll(/\p{N}+|[\p{L}\p{M}]+|\n+|[^\s\p{L}\p{M}\p{N}]/gu)) {
    if (piece.startsWith("\n")) tokens += 1;
    else if (/^\p{N}/u.test(piece)) tokens += Math.ceil(piece.length / 3);
    else if (/^[\p{L}\p{M}]/u.test(piece)) {
      let cjk = 0;
      let rest = 0;
      for (const ch of piece) {
        if (CJK.test(ch)) cjk++;
        else rest++;
      }
      tokens += cjk + (rest === 0 ? 0 : Math.ceil(rest / 5));
    } else tokens += 1;
  }
  return tokens;
}

/** Per-message overhead of chat templates (role markers and separators). */
export const MESSAGE_OVERHEAD = 4;
