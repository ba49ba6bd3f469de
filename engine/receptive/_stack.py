"""A stack of engine layers → a list of ``Step``s (shapes, per-axis ops, channel factors)."""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field

from engine import shapes
from engine.config import image_data_format
from engine.layers.conv import (BaseConv, BaseConvTranspose, BaseDepthwiseConv,
                                BaseSeparableConv)
from engine.layers.reshaping import BaseCropping, BaseUpSampling, BaseZeroPadding
from engine.pooling import BasePooling
from engine.receptive._ops import (AxisOp, ConvAxis, RepeatAxis, ResizeAxis, ShiftAxis,
                                   TransposeAxis)

#: Step kinds, in the order :func:`classify` tests them.
KINDS = ("separable", "depthwise", "conv", "transpose", "maxpool", "avgpool", "crop", "pad",
         "upsample")


def classify(layer) -> str:
    """The step kind of an engine layer (or pooling layer); ValueError for anything else."""
    if isinstance(layer, BaseSeparableConv):
        return "separable"
    if isinstance(layer, BaseDepthwiseConv):
        return "depthwise"
    if isinstance(layer, BaseConv):
        return "conv"
    if isinstance(layer, BaseConvTranspose):
        return "transpose"
    if isinstance(layer, BasePooling):
        return "maxpool" if layer.pool_mode == "max" else "avgpool"
    if isinstance(layer, BaseCropping):
        return "crop"
    if isinstance(layer, BaseZeroPadding):
        return "pad"
    if isinstance(layer, BaseUpSampling):
        return "upsample"
    raise ValueError(
        "Receptive fields are computed for the 19 engine layers (engine.layers) and the "
        f"pooling layers (engine.pooling). Received: {layer!r} of type {type(layer).__name__}"
    )


@dataclass
class Step:
    """One layer of the stack, for one input shape.

    ``in_spatial`` / ``out_spatial``: sizes of the spatial axes; ``in_channels`` /
    ``out_channels``; ``axes``: one :class:`AxisOp` per spatial axis; ``factor``: with
    all-ones kernels, how much one unit of gradient on every output channel becomes on every
    input channel (``filters / groups`` for Conv, ``filters`` for transposed, ``depth_multiplier``
    for depthwise, ``filters · depth_multiplier`` for separable, 1 for the weightless layers).
    """

    layer: object
    kind: str
    in_shape: tuple
    out_shape: tuple
    in_spatial: tuple
    out_spatial: tuple
    in_channels: int
    out_channels: int
    axes: list = field(default_factory=list)
    factor: int = 1

    @property
    def name(self) -> str:
        return getattr(self.layer, "name", type(self.layer).__name__)

    @property
    def class_name(self) -> str:
        return type(self.layer).__name__


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


def _axes(layer, kind, in_spatial, out_spatial):
    if kind in ("conv", "depthwise", "separable"):
        return [ConvAxis(n, k, s, d, layer.padding)
                for n, k, s, d in zip(in_spatial, layer.kernel_size, layer.strides,
                                      layer.dilation_rate)]
    if kind == "transpose":
        return [TransposeAxis(n, o, k, s, d, layer.padding)
                for n, o, k, s, d in zip(in_spatial, out_spatial, layer.kernel_size,
                                         layer.strides, layer.dilation_rate)]
    if kind in ("maxpool", "avgpool"):
        return [ConvAxis(n, k, s, 1, layer.padding, mean=True)
                for n, k, s in zip(in_spatial, layer.pool_size, layer.strides)]
    if kind == "crop":
        return [ShiftAxis(n, o, b, (-b, -a))
                for n, o, (b, a) in zip(in_spatial, out_spatial, layer.cropping)]
    if kind == "pad":
        return [ShiftAxis(n, o, -b, (b, a))
                for n, o, (b, a) in zip(in_spatial, out_spatial, layer.padding)]
    method = getattr(layer, "interpolation", "nearest")
    if method == "nearest":
        return [RepeatAxis(n, s) for n, s in zip(in_spatial, layer.size)]
    return [ResizeAxis(n, s, method) for n, s in zip(in_spatial, layer.size)]


def _factor(layer, kind, in_channels):
    if kind == "conv":
        return layer.filters // layer.groups
    if kind == "transpose":
        return layer.filters
    if kind == "depthwise":
        return layer.depth_multiplier
    if kind == "separable":
        return layer.filters * layer.depth_multiplier
    return 1


def build_steps(layers, input_shape, build=False) -> tuple:
    """``(steps, rank, data_format, input_shape)`` for ``layers`` applied to ``input_shape``.

    Shapes come from each layer's ``compute_output_shape`` (Keras's errors propagate as
    ``ValueError``). With ``build=True`` unbuilt layers are built for their input shape
    (creating their weights) and built layers are checked against it.
    """
    layers = list(layers)
    input_shape = _int_shape(input_shape)
    for layer in layers:
        classify(layer)
    rank, fmt = stack_format(layers, input_shape)
    if len(input_shape) != rank + 2:
        raise ValueError(
            f"input_shape must have {rank + 2} entries (batch, {rank} spatial, channels) for "
            f"this stack. Received: input_shape={input_shape}"
        )
    steps = []
    shape = input_shape
    for i, layer in enumerate(layers):
        kind = classify(layer)
        out_shape = tuple(layer.compute_output_shape(shape))
        _, in_spatial, in_c = shapes.split_shape(shape, rank, fmt, layer.name)
        _, out_spatial, out_c = shapes.split_shape(out_shape, rank, fmt, layer.name)
        if any(n == 0 for n in out_spatial):
            raise ValueError(
                f"Layer {i} ({type(layer).__name__} '{layer.name}') produces an empty output "
                f"{out_shape} from input {shape}: nothing has a receptive field."
            )
        if build:
            _ensure_built(layer, shape)
        steps.append(Step(layer, kind, shape, out_shape, tuple(in_spatial), tuple(out_spatial),
                          in_c, out_c, _axes(layer, kind, in_spatial, out_spatial),
                          _factor(layer, kind, in_c)))
        shape = out_shape
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


__all__ = ["AxisOp", "KINDS", "Step", "build_steps", "check_index", "classify", "stack_format"]
