# A stand-in of the mlx_lm package (mlx-lm d78bf58) for the tests of fine-tuning jobs: MLX cannot run
# here. It has what MLX Model Manager's entry point (python/mlx_manager_train.py) uses, with the
# upstream names, signatures, defaults, dictionaries and errors; training itself is simulated (a
# loss that falls with each iteration, tiny adapter files), never a model. STANDIN_MLX_LM_VERSION
# sets the version it says it is.
import os

__version__ = os.environ.get("STANDIN_MLX_LM_VERSION", "0.31.3")


def _newer_than_0_31_3():
    """HEAD (d78bf58, unreleased: say e.g. 0.32.0.dev0) differs from the v0.31.3 release in a few places."""
    parts = [int(p) for p in __version__.split(".")[:3] if p.isdigit()]
    return parts > [0, 31, 3]


AFTER_0_31_3 = _newer_than_0_31_3()
