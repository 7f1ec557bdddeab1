# python -m mlx_lm <subcommand>: mlx_lm/__main__.py → cli.main (d78bf58).
from . import cli

if __name__ == "__main__":
    cli.main()
