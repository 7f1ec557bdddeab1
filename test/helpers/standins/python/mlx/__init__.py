# A stand-in of the mlx package for the manager's Python entry points: only mlx.core's arrays as far
# as they are used (see core.py). MLX itself cannot run here (no Apple silicon).
