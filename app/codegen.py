"""A Keras snippet that reproduces the current layer: same arguments, same weights.

The constructor line is the stack exporter's (:func:`engine.stack.export.layer_call`), so
Explore and the shape debugger write a layer the same way. Weights are written out with
``set_weights`` (the engine's initializers have Keras's distributions but not its random
streams, so the numbers themselves are what make the output identical). Very large weights
are referred to a ``weights.npz`` download instead.
"""

from __future__ import annotations

import numpy as np

from engine.literals import literal
from engine.stack.export import LayerSpec, layer_call

INLINE_LIMIT = 5000  # weight values written into the snippet


def _array(a: np.ndarray) -> str:
    a = np.asarray(a, np.float32)
    flat = ", ".join(f"{float(v):.8g}" for v in a.ravel())
    return f'np.array([{flat}], dtype="float32").reshape({literal(tuple(a.shape))})'


def _weight_lines(weights, weights_note: str) -> list[str]:
    """``layer.set_weights([...])`` inline, or from ``weights.npz`` when they are many."""
    total = sum(int(np.asarray(w).size) for w in weights)
    lines = [f"# {weights_note}"] if weights_note else []
    if total > INLINE_LIMIT:
        return lines + [f"# {total:,} weight values: load them from the weights.npz download",
                        'w = np.load("weights.npz")',
                        "layer.set_weights([w[k] for k in sorted(w.files)])"]
    return lines + ["layer.set_weights(["] + [f"    {_array(w)}," for w in weights] + ["])"]


def keras_code(layer_name: str, kwargs: dict, input_shape: tuple, output_shape: tuple,
               weights=None, weights_note: str = "") -> str:
    """Python source: build ``layers.<layer_name>(**kwargs)``, set the weights, run it."""
    lines = [
        "import numpy as np",
        "import keras",
        "from keras import layers",
        "",
        f"layer = {layer_call(LayerSpec(layer_name, dict(kwargs)))}",
        f"layer.build({literal((None,) + tuple(input_shape[1:]))})",
    ]
    if weights:
        lines += _weight_lines(weights, weights_note)
    lines += [
        "",
        f'x = np.load("input.npy")  # shape {tuple(input_shape)} (the input.npy download)',
        "y = layer(x)",
        f"print(tuple(y.shape))  # {tuple(output_shape)}",
        "",
    ]
    return "\n".join(lines)
