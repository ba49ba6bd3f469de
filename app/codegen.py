"""A Keras snippet that reproduces the current layer: same arguments, same weights.

Weights are written out with ``set_weights`` (the engine's initializers have Keras's
distributions but not its random streams, so the numbers themselves are what make the
output identical). Very large weights are referred to a ``weights.npz`` download instead.
"""

from __future__ import annotations

import numpy as np

INLINE_LIMIT = 5000  # weight values written into the snippet


def _lit(value) -> str:
    if isinstance(value, tuple):
        return "(" + ", ".join(_lit(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_lit(k)}: {_lit(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_lit(v) for v in value) + "]"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)


def _array(a: np.ndarray) -> str:
    a = np.asarray(a, np.float32)
    flat = ", ".join(f"{float(v):.8g}" for v in a.ravel())
    return f'np.array([{flat}], dtype="float32").reshape({_lit(tuple(a.shape))})'


def keras_code(layer_name: str, kwargs: dict, input_shape: tuple, output_shape: tuple,
               weights=None, weights_note: str = "") -> str:
    """Python source: build ``keras.layers.<layer_name>(**kwargs)``, set the weights, run it."""
    args = ",\n    ".join(f"{k}={_lit(v)}" for k, v in kwargs.items())
    lines = [
        "import numpy as np",
        "import keras",
        "",
        f"layer = keras.layers.{layer_name}(" + (f"\n    {args},\n)" if args else ")"),
        f"layer.build({_lit((None,) + tuple(input_shape[1:]))})",
    ]
    if weights:
        total = sum(int(np.asarray(w).size) for w in weights)
        if weights_note:
            lines.append(f"# {weights_note}")
        if total <= INLINE_LIMIT:
            lines.append("layer.set_weights([")
            for w in weights:
                lines.append(f"    {_array(w)},")
            lines.append("])")
        else:
            lines += [f"# {total:,} weight values: load them from the weights.npz download",
                      'w = np.load("weights.npz")',
                      "layer.set_weights([w[k] for k in sorted(w.files)])"]
    lines += [
        "",
        f'x = np.load("input.npy")  # shape {tuple(input_shape)} (the input.npy download)',
        "y = layer(x)",
        f"print(tuple(y.shape))  # {tuple(output_shape)}",
        "",
    ]
    return "\n".join(lines)
