# A stand-in of the mlx_lm package (mlx-lm d78bf58) for the tests of fine-tuning jobs: MLX cannot run
# here. It has what MLX Model Manager's entry point (python/mlx_manager_train.py) uses, with the
# upstream names, signatures, defaults, dictionaries and errors; training itself is simulated (a
# loss that falls with each iteration, tiny adapter files), never a model. STANDIN_MLX_LM_VERSION
# sets the version it says it is.
import os

__version__ = os.environ.get("STANDIN_MLX_LM_VERSION", "0.31.3")
