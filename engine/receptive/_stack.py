"""A stack of engine layers → one :class:`engine.geometry.LayerGeometry` per layer."""

from __future__ import annotations

import numbers

from engine.config import image_data_format
from engine.geometry import KINDS, geometry, kind_of


def _int_shape(shape, what="input_shape"):
    shape = tuple(shape)
    for i, d in enumerate(shape):
        if i == 0 and d is None:
            continue
        if isinstance(d, bool) or not isinstance(d, numbers.Integral) or d <= 0:
            raise ValueError(
                f"Receptive fields need a fully known {what} (batch may be None) with "
                f"positive sizes. Received: {what}={shape}"
            )
    return tuple(None if d is None else int(d) for d in shape)


def stack_format(layers, input_shape):
    """``(rank, data_format)`` shared by every layer of the stack (ValueError if they differ);
    an empty stack is read in keras.json's ``image_data_format``."""
    if not layers:
        return len(tuple(input_shape)) - 2, image_data_format()
    ranks = {layer.rank for layer in layers}
    formats = {layer.data_format for layer in layers}
    if len(ranks) != 1 or len(formats) != 1:
        desc = ", ".join(f"{type(l).__name__}(rank {l.rank}, {l.data_format})" for l in layers)
        raise ValueError(
            "All layers of a receptive-field stack must have the same number of spatial axes "
            f"and the same data_format. Received: {desc}"
        )
    return ranks.pop(), formats.pop()


def build_steps(layers, input_shape, build=False) -> tuple:
    """``(steps, rank, data_format, input_shape)`` for ``layers`` applied to ``input_shape``.

    Shapes come from each layer's ``compute_output_shape`` (Keras's errors propagate as
    ``ValueError``). With ``build=True`` unbuilt layers are built for their input shape
    (creating their weights) and built layers are checked against it.
    """
    layers = list(layers)
    input_shape = _int_shape(input_shape)
    for layer in layers:
        kind_of(layer)
    rank, fmt = stack_format(layers, input_shape)
    if len(input_shape) != rank + 2:
        raise ValueError(
            f"input_shape must have {rank + 2} entries (batch, {rank} spatial, channels) for "
            f"this stack. Received: input_shape={input_shape}"
        )
    steps = []
    shape = input_shape
    for i, layer in enumerate(layers):
        step = geometry(layer, shape)
        if any(n == 0 for n in step.out_spatial):
            raise ValueError(
                f"Layer {i} ({type(layer).__name__} '{layer.name}') produces an empty output "
                f"{step.out_shape} from input {shape}: nothing has a receptive field."
            )
        if build:
            _ensure_built(layer, shape)
        steps.append(step)
        shape = step.out_shape
    return steps, rank, fmt, input_shape


def _ensure_built(layer, shape):
    if not layer.built:
        layer.build(shape)
        return
    built = getattr(layer, "_build_shape", None)
    if built is None or not getattr(layer, "_channel_bound", False):
        return
    axis = -1 if layer.data_format == "channels_last" else 1
    if built[axis] is not None and built[axis] != shape[axis]:
        raise ValueError(
            f"Layer '{layer.name}' was built for {built[axis]} input channels but receives "
            f"{shape[axis]} here (input shape {shape}); build it again or pass it unbuilt."
        )


def check_index(index, out_spatial) -> tuple:
    """An output position: a tuple with one int per spatial axis (an int for rank 1)."""
    if isinstance(index, numbers.Integral) and not isinstance(index, bool):
        index = (index,)
    try:
        index = tuple(index)
    except TypeError:
        raise ValueError(f"index must be a tuple of {len(out_spatial)} ints. "
                         f"Received: index={index!r}") from None
    if len(index) != len(out_spatial) or any(
            isinstance(i, bool) or not isinstance(i, numbers.Integral) for i in index):
        raise ValueError(
            f"index must be a tuple of {len(out_spatial)} ints (one per spatial axis of the "
            f"output, whatever the data_format). Received: index={index!r}"
        )
    index = tuple(int(i) for i in index)
    for axis, (i, n) in enumerate(zip(index, out_spatial)):
        if not 0 <= i < n:
            raise ValueError(
                f"index {index} is outside the output: spatial axis {axis} has {n} cells "
                f"(valid indices 0..{n - 1})."
            )
    return index


__all__ = ["KINDS", "build_steps", "check_index", "stack_format"]
