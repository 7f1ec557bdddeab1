# mlx_lm/perplexity.py (mlx-lm d78bf58; the same flags and output in v0.31.3): its argparse and its
# eval_ppl(model, data, batch_size), which MLX Model Manager's entry point calls. eval_ppl computes as
# upstream does — every token of a row but the first scored, PPL = exp(mean loss), ± ppl · sd(ddof=1)
# / √n — with the stand-in model's losses in place of a network's: the loss of a token after another
# is a fixed number drawn from a hash of the pair (1 to 5 nats), so a text always gets the same value.
# main() plays the command line; like upstream, --data-path goes to Hugging Face `datasets`, which
# this stand-in does not have (a ModuleNotFoundError, as on a Python without it).
import argparse
import math
import time
import zlib


def _loss(prev, nxt):
    return 1.0 + (zlib.crc32(f"{prev},{nxt}".encode()) % 4001) / 1000.0


def eval_ppl(model, data, batch_size=8):
    all_losses = []
    rows = data.tolist()
    num_batches = (len(rows) + batch_size - 1) // batch_size
    for i, s in enumerate(range(0, len(rows), batch_size)):
        for row in rows[s : s + batch_size]:
            all_losses.extend(_loss(a, b) for a, b in zip(row[:-1], row[1:]))
        print(f"  Processed {i + 1}/{num_batches} batches...", end="\r")
    print()
    n = len(all_losses)
    mean_loss = sum(all_losses) / n
    ppl = math.exp(mean_loss)
    var = sum((x - mean_loss) ** 2 for x in all_losses) / (n - 1) if n > 1 else 0.0
    standard_error = math.sqrt(var) / math.sqrt(n)
    return ppl, ppl * standard_error


def main():
    parser = argparse.ArgumentParser(description="Evaluate perplexity of MLX models")
    parser.add_argument("--model", type=str, required=True, help="Path to model or Hugging Face model ID")
    parser.add_argument("--trust-remote-code", action="store_true", help="Enable trusting remote code for tokenizer/model loading from Hugging Face.")
    parser.add_argument("--batch-size", type=int, default=8, help="Batch size for evaluation")
    parser.add_argument("--sequence-length", type=int, default=512, help="Sequence length for evaluation")
    parser.add_argument("--num-samples", type=int, default=256, help="Number of samples to use (-1 for all available)")
    parser.add_argument("--data-path", type=str, default="allenai/tulu-3-sft-mixture", help="A Hugging Face dataset which is compatible with an mlx-lm dataset format.")
    parser.add_argument("--seed", type=int, default=123, help="Random seed for data sampling")
    args = parser.parse_args()
    print(f"Loading model from {args.model}...")
    import datasets  # noqa: F401 - upstream loads --data-path with it; the stand-in has none

    time.perf_counter()


if __name__ == "__main__":
    main()
