# mlx.core as MLX Model Manager's perplexity entry point uses it: mx.array(list of ints), .reshape,
# .shape, .size, len(), row slicing, .tolist(); plus get_peak_memory() and random.seed for the
# mlx_lm stand-in, as the MLX that mlx-lm d78bf58 / v0.31.3 runs on behaves. Reshape refuses a size
# that does not fit as MLX does: ValueError "[reshape] Cannot reshape array of size N into shape (a,b)."
# (MLX's message, as real MLX logs print it). Anything else MLX has is absent: an AttributeError.
import types


class array:
    def __init__(self, values, shape=None):
        flat = []

        def walk(v):
            if isinstance(v, (list, tuple)):
                for x in v:
                    walk(x)
            else:
                flat.append(v)

        walk(values.tolist() if isinstance(values, array) else values)
        self._flat = flat
        self.shape = tuple(shape) if shape is not None else (len(flat),)

    @property
    def size(self):
        return len(self._flat)

    @property
    def ndim(self):
        return len(self.shape)

    def reshape(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (list, tuple)):
            shape = tuple(shape[0])
        known = 1
        for d in shape:
            if d != -1:
                known *= d
        shape = tuple(self.size // known if d == -1 else d for d in shape)
        total = 1
        for d in shape:
            total *= d
        if total != self.size:
            raise ValueError(f"[reshape] Cannot reshape array of size {self.size} into shape {shape}.")
        return array(self._flat, shape)

    def __len__(self):
        return self.shape[0]

    def _row(self, i):
        width = self.size // self.shape[0]
        return self._flat[i * width : (i + 1) * width]

    def __getitem__(self, key):
        if self.ndim != 2:
            return self._flat[key]
        if isinstance(key, slice):
            rows = range(*key.indices(self.shape[0]))
            flat = [x for i in rows for x in self._row(i)]
            return array(flat, (len(rows), self.shape[1]))
        return array(self._row(key), (self.shape[1],))

    def tolist(self):
        if self.ndim == 1:
            return list(self._flat)
        return [self._row(i) for i in range(self.shape[0])]


def get_peak_memory():
    return 0


random = types.SimpleNamespace(seed=lambda seed: None)
