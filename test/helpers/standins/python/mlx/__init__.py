# A stand-in of the mlx package for the manager's Python entry points: only mlx.core's arrays as far
# as they are used (see core.py), for mlx-lm d78bf58 / v0.31.3 (the stand-ins of mlx_lm follow those).
# MLX itself cannot run here (no Apple silicon).
