"""MLX Model Manager's entry point for perplexity: mlx_lm.perplexity's measure on a text file.

    python3 mlx_manager_perplexity.py --model PATH --text-file FILE [--sequence-length 512]
        [--batch-size 8] [--max-tokens N] [--trust-remote-code]

It prints `MLX_MANAGER_PERPLEXITY {json}` with perplexity, standard_error, tokens, scored_tokens,
rows, sequence_length and seconds, next to mlx_lm's own output.

Why not `mlx_lm.perplexity` itself: its --data-path goes to Hugging Face `datasets.load_dataset`
(a Hub dataset, or a folder `datasets` can read), never a plain text file; it asks for
--num-samples rows and fails with IndexError when the text has fewer (its "-1 for all available"
always fails the same way); and it prints no machine-readable line. This reads the text as its
TextDataset does (the tokenizer's encode, EOS appended), cuts the tokens into rows of
--sequence-length as its load_data does (no overlap; one shorter row when the text is shorter than
one), and scores them with its own eval_ppl: exp(mean cross-entropy), ± ppl · sd / √n.
"""

import argparse
import inspect
import json
import sys
import time
import traceback

MARK = "MLX_MANAGER_PERPLEXITY"


def main(argv):
    parser = argparse.ArgumentParser(description="Perplexity of an MLX model on a text file (mlx_lm.perplexity's measure)")
    parser.add_argument("--model", required=True)
    parser.add_argument("--text-file", required=True)
    parser.add_argument("--sequence-length", type=int, default=512)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-tokens", type=int, default=None)
    parser.add_argument("--trust-remote-code", action="store_true")
    args = parser.parse_args(argv[1:])

    try:
        import mlx.core as mx
        from mlx_lm.perplexity import eval_ppl
        from mlx_lm.utils import load

        extra = {"trust_remote_code": args.trust_remote_code} if "trust_remote_code" in inspect.signature(load).parameters else {}
        model, tokenizer = load(args.model, tokenizer_config={"trust_remote_code": args.trust_remote_code}, **extra)
        with open(args.text_file, "r", encoding="utf-8") as f:
            text = f.read()
        # As mlx_lm's TextDataset: encode, then EOS unless the text already ends with it.
        tokens = list(tokenizer.encode(text))
        eos = getattr(tokenizer, "eos_token_id", None)
        if eos is not None and (not tokens or tokens[-1] != eos):
            tokens.append(eos)
        if args.max_tokens is not None:
            tokens = tokens[: args.max_tokens]
        if len(tokens) < 2:
            raise ValueError(f"The text is {len(tokens)} token{'' if len(tokens) == 1 else 's'}: perplexity needs at least 2.")
        length = min(args.sequence_length, len(tokens))
        rows = len(tokens) // length
        data = mx.array(tokens[: rows * length]).reshape(rows, length)
        started = time.perf_counter()
        ppl, se = eval_ppl(model, data, batch_size=args.batch_size)
        seconds = time.perf_counter() - started
    except Exception as error:  # noqa: BLE001 - every failure is reported, then shown in full
        print(f"{MARK} {json.dumps({'error': str(error), 'type': type(error).__name__})}", flush=True)
        traceback.print_exc()
        return 1
    print(f"{MARK} {json.dumps({'perplexity': float(ppl), 'standard_error': float(se), 'tokens': len(tokens), 'scored_tokens': rows * (length - 1), 'rows': rows, 'sequence_length': length, 'seconds': seconds})}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
