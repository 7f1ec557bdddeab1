# mlx_lm/cli.py (d78bf58): the subcommands this stand-in plays (lora, fuse, perplexity) and --version.
import importlib
import sys

SUBCOMMANDS = ("benchmark", "cache_prompt", "chat", "convert", "evaluate", "fuse", "generate", "lora", "manage", "perplexity", "awq", "dwq", "dynamic_quant", "gptq", "server", "upload", "share")


def main():
    if len(sys.argv) < 2:
        raise ValueError(f"CLI requires a subcommand in {SUBCOMMANDS}")
    subcommand = sys.argv.pop(1)
    if subcommand in ("lora", "fuse", "perplexity"):
        importlib.import_module(f"mlx_lm.{subcommand}").main()
    elif subcommand in SUBCOMMANDS:
        raise SystemExit(f"stand-in: mlx_lm {subcommand} is not played here")
    elif subcommand == "--version":
        from mlx_lm import __version__

        print(__version__)
    else:
        raise ValueError(f"CLI requires a subcommand in {SUBCOMMANDS}")
