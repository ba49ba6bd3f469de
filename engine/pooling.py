"""Keras's pooling layers — MaxPooling1D/2D/3D and AveragePooling1D/2D/3D — for shapes,
receptive fields and small NumPy forward passes.

They are not part of the 19-layer convolutional family the app explores, but real stacks
(VGG, AlexNet, a shape-debugging session) interleave them with convolutions, so the
receptive-field table (:mod:`engine.receptive`) and the shape debugger need them. Each class
takes Keras 3's arguments with Keras's defaults and meaning:

- ``pool_size``: int or tuple of ``rank`` ints (MaxPooling default 2 / (2, 2) / (2, 2, 2);
  AveragePooling has no default, as in Keras);
- ``strides``: int, tuple or ``None`` (= ``pool_size``);
- ``padding``: ``"valid"`` or ``"same"`` (lower case only, as Keras checks it); ``same``
  pads exactly as TensorFlow pads a convolution (:func:`engine.shapes.conv_padding`: the odd
  extra cell at the end);
- ``data_format``: ``None`` (keras.json, else channels_last), ``"channels_last"`` or
  ``"channels_first"``; ``name`` and the other base-layer keywords.

``compute_output_shape(shape)`` follows ``keras.src.ops.operation_utils.
compute_pooling_output_shape``: valid ``⌊(n − k)/s⌋ + 1`` (ValueError when ≤ 0), same
``⌈n/s⌉``; ``None`` sizes are carried through. ``__call__`` pools a NumPy array (float32,
any batch) as ``tf.nn.max_pool`` / ``tf.nn.avg_pool`` do: max pooling ignores padded cells,
average pooling divides by the number of real (non-padded) cells in the window.

Example::

    >>> from engine.pooling import MaxPooling2D
    >>> MaxPooling2D(3, strides=2, padding="same").compute_output_shape((None, 224, 224, 64))
    (None, 112, 112, 64)
"""

from __future__ import annotations

import numpy as np

from engine import shapes
from engine.layers.base import Layer

__all__ = [
    "BasePooling", "MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "AveragePooling1D",
    "AveragePooling2D", "AveragePooling3D", "POOLING_CLASSES",
]


class BasePooling(Layer):
    """N-d pooling (``rank`` spatial axes); ``pool_mode`` is ``"max"`` or ``"average"``.

    Attributes after construction: ``pool_size`` and ``strides`` (tuples of ``rank`` ints),
    ``padding`` (``"valid"`` / ``"same"``), ``data_format``, ``pool_mode``.

    Raises:
        ValueError: a bad ``pool_size`` / ``strides`` (Keras's wording), ``strides`` with a
            zero (Keras accepts it, then crashes with an OverflowError), or a ``padding``
            other than ``"valid"`` / ``"same"``.
    """

    pool_mode = "max"
    kind = "maxpool"
    _channel_bound = False

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        r = self.rank
        self.pool_size = shapes.standardize_tuple(pool_size, r, "pool_size")
        strides = self.pool_size if strides is None else strides
        self.strides = shapes.standardize_tuple(strides, r, "strides", allow_zero=True)
        if 0 in self.strides:
            raise ValueError(
                f"The `strides` argument must be a tuple of {r} integers. Received "
                f"strides={strides!r}, including values {{0}} that do not satisfy "
                "`value > 0` (a pooling window cannot stay in place)"
            )
        if padding not in ("valid", "same"):
            raise ValueError(
                "Argument `padding` must be either 'valid' or 'same'. Received: "
                f"padding={padding}"
            )
        self.padding = padding
        self.data_format = shapes.standardize_data_format(data_format)

    # ------------------------------------------------------------------ shapes
    def compute_output_shape(self, input_shape):
        batch, spatial, channels = shapes.split_shape(input_shape, self.rank, self.data_format,
                                                      self.name)
        out = []
        for i, (n, k, s) in enumerate(zip(spatial, self.pool_size, self.strides)):
            if n is None:
                out.append(None)
            elif self.padding == "valid":
                o = shapes.conv_output_length(n, k, s, 1, "valid")
                if o <= 0:
                    raise ValueError(
                        "Computed output size would be zero or negative. Received: "
                        f"`inputs.shape={list(input_shape)}`, `pool_size={list(self.pool_size)}`"
                        f", `strides={self.strides}`, `padding={self.padding}`. Along spatial "
                        f"axis {i} the input has {n} cells but the window spans {k}: use "
                        "padding='same', a smaller pool_size or a larger input."
                    )
                out.append(o)
            else:
                out.append(shapes.conv_output_length(n, k, s, 1, "same"))
        return shapes.join_shape(batch, tuple(out), channels, self.data_format)

    def pads(self, spatial) -> list:
        """``(before, after)`` cells of padding per spatial axis for input sizes ``spatial``
        (TensorFlow's rule; ``after`` is negative for valid pooling that leaves cells out)."""
        return [shapes.conv_padding(n, k, s, 1, self.padding)
                for n, k, s in zip(spatial, self.pool_size, self.strides)]

    # ------------------------------------------------------------------ values
    def call(self, x):
        last = x if self.data_format == "channels_last" else np.moveaxis(x, 1, -1)
        spatial = last.shape[1:-1]
        out_spatial = [shapes.conv_output_length(n, k, s, 1, self.padding)
                       for n, k, s in zip(spatial, self.pool_size, self.strides)]
        pads = self.pads(spatial)
        widths = [(0, 0)] + [(b, max(a, 0)) for b, a in pads] + [(0, 0)]
        r = self.rank
        if self.pool_mode == "max":
            padded = np.pad(last, widths, constant_values=-np.inf)
        else:
            padded = np.pad(last, widths)
            ones = np.pad(np.ones(spatial, np.float32), widths[1:-1])
        win = np.lib.stride_tricks.sliding_window_view(padded, self.pool_size,
                                                       axis=tuple(range(1, r + 1)))
        take = tuple(slice(0, (o - 1) * s + 1, s) for o, s in zip(out_spatial, self.strides))
        win = win[(slice(None),) + take]
        axes = tuple(range(-r, 0))
        if self.pool_mode == "max":
            y = win.max(axis=axes)
        else:
            counts = np.lib.stride_tricks.sliding_window_view(ones, self.pool_size)[take]
            y = win.sum(axis=axes, dtype=np.float32) / counts.sum(axis=axes)[None, ..., None]
        y = np.ascontiguousarray(y, dtype=np.float32)
        return y if self.data_format == "channels_last" else np.ascontiguousarray(
            np.moveaxis(y, -1, 1))

    def get_config(self):
        config = super().get_config()
        config.update({"pool_size": self.pool_size, "padding": self.padding,
                       "strides": self.strides, "data_format": self.data_format})
        return config


class MaxPooling1D(BasePooling):
    """Max over windows of ``pool_size`` steps. Input ``(batch, steps, channels)``."""

    rank = 1

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class MaxPooling2D(BasePooling):
    """Max over ``pool_size`` windows. Input ``(batch, rows, cols, channels)``."""

    rank = 2

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None,
                 **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class MaxPooling3D(BasePooling):
    """Max over ``pool_size`` windows. Input ``(batch, depth, rows, cols, channels)``."""

    rank = 3

    def __init__(self, pool_size=(2, 2, 2), strides=None, padding="valid", data_format=None,
                 **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class AveragePooling1D(BasePooling):
    """Mean over windows of ``pool_size`` steps (padded cells excluded from the count)."""

    rank = 1
    pool_mode = "average"
    kind = "avgpool"

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class AveragePooling2D(BasePooling):
    """Mean over ``pool_size`` windows (padded cells excluded from the count)."""

    rank = 2
    pool_mode = "average"
    kind = "avgpool"

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class AveragePooling3D(BasePooling):
    """Mean over ``pool_size`` windows (padded cells excluded from the count)."""

    rank = 3
    pool_mode = "average"
    kind = "avgpool"

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


#: Keras class name → class (Keras's ``MaxPool2D`` / ``AvgPool2D`` aliases included).
POOLING_CLASSES = {
    cls.__name__: cls
    for cls in (MaxPooling1D, MaxPooling2D, MaxPooling3D, AveragePooling1D, AveragePooling2D,
                AveragePooling3D)
}
POOLING_CLASSES.update({
    name.replace("Pooling", "Pool").replace("Average", "Avg"): cls
    for name, cls in list(POOLING_CLASSES.items())
})
