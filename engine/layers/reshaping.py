"""Weightless spatial layers: ZeroPadding, Cropping and UpSampling in 1D, 2D and 3D.

Each family is one N-d base; the Keras classes only fix ``rank`` and the defaults.
Input ``(batch, *spatial, channels)`` (channels_last) or ``(batch, channels, *spatial)``.
"""

from __future__ import annotations

import numpy as np

from engine import shapes
from engine.kernels.resize import resize2d
from engine.layers.base import Layer
from engine.layers.conv import from_channels_last, to_channels_last

INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "lanczos3", "lanczos5", "area")


class _SpatialLayer(Layer):
    """A weightless layer acting on the ``rank`` spatial axes."""

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = shapes.standardize_data_format(data_format)

    def _map_spatial(self, input_shape, fn):
        """Output shape with each known spatial size ``n`` (axis ``i``) replaced by ``fn(i, n)``."""
        batch, spatial, channels = shapes.split_shape(input_shape, self.rank, self.data_format,
                                                      self.name)
        out = tuple(None if n is None else fn(i, n) for i, n in enumerate(spatial))
        return shapes.join_shape(batch, out, channels, self.data_format)

    def _spatial_slice(self, per_axis):
        """Index tuple applying one slice per spatial axis in the layer's layout."""
        if self.data_format == "channels_last":
            return (slice(None), *per_axis, slice(None))
        return (slice(None), slice(None), *per_axis)

    def get_config(self):
        config = super().get_config()
        config["data_format"] = self.data_format
        return config


# --------------------------------------------------------------------------- ZeroPadding

class BaseZeroPadding(_SpatialLayer):
    """Adds ``padding[i] = (before, after)`` zeros along spatial axis ``i``."""

    kind = "pad"

    def __init__(self, padding, data_format=None, **kwargs):
        super().__init__(data_format, **kwargs)
        self.padding = shapes.standardize_side_pairs(padding, self.rank, "padding")

    def compute_output_shape(self, input_shape):
        return self._map_spatial(input_shape, lambda i, n: n + sum(self.padding[i]))

    def call(self, x):
        pad = [(0, 0), *self.padding, (0, 0)]
        if self.data_format == "channels_first":
            pad = [(0, 0), (0, 0), *self.padding]
        return np.pad(x, pad)

    def get_config(self):
        config = super().get_config()
        config["padding"] = self.padding[0] if self.rank == 1 else self.padding
        return config


class ZeroPadding1D(BaseZeroPadding):
    """``padding``: int or ``(left, right)``; default 1."""

    rank = 1

    def __init__(self, padding=1, data_format=None, **kwargs):
        super().__init__(padding, data_format, **kwargs)


class ZeroPadding2D(BaseZeroPadding):
    """``padding``: int, ``(sym_rows, sym_cols)`` or ``((top, bottom), (left, right))``."""

    rank = 2

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(padding, data_format, **kwargs)


class ZeroPadding3D(BaseZeroPadding):
    """``padding``: int, 3 ints or 3 pairs ``(before, after)``; default 1 everywhere."""

    rank = 3

    def __init__(self, padding=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(padding, data_format, **kwargs)


# --------------------------------------------------------------------------- Cropping

class BaseCropping(_SpatialLayer):
    """Removes ``cropping[i] = (before, after)`` cells along spatial axis ``i``."""

    kind = "crop"

    def __init__(self, cropping, data_format=None, **kwargs):
        super().__init__(data_format, **kwargs)
        self.cropping = shapes.standardize_side_pairs(cropping, self.rank, "cropping")

    def compute_output_shape(self, input_shape):
        def cropped(i, n):
            left = n - sum(self.cropping[i])
            if left <= 0:
                raise ValueError(
                    f"`cropping` parameter of `{type(self).__name__}` layer must be smaller "
                    f"than the input size along each spatial axis. Received: "
                    f"input_shape={tuple(input_shape)}, cropping={self.cropping}: spatial "
                    f"axis {i} has {n} cells and {sum(self.cropping[i])} would be removed."
                )
            return left
        return self._map_spatial(input_shape, cropped)

    def call(self, x):
        spatial = x.shape[1:-1] if self.data_format == "channels_last" else x.shape[2:]
        index = self._spatial_slice(
            [slice(b, n - a) for (b, a), n in zip(self.cropping, spatial)])
        return np.ascontiguousarray(x[index])

    def get_config(self):
        config = super().get_config()
        config["cropping"] = self.cropping[0] if self.rank == 1 else self.cropping
        return config


class Cropping1D(BaseCropping):
    """``cropping``: int or ``(left, right)``; default ``(1, 1)``. Keras's Cropping1D has
    no ``data_format``: the input is always ``(batch, steps, channels)``."""

    rank = 1

    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__(cropping, "channels_last", **kwargs)

    def get_config(self):
        config = super().get_config()
        del config["data_format"]
        return config


class Cropping2D(BaseCropping):
    """``cropping``: int, ``(sym_rows, sym_cols)`` or ``((top, bottom), (left, right))``."""

    rank = 2

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(cropping, data_format, **kwargs)


class Cropping3D(BaseCropping):
    """``cropping``: int, 3 ints or 3 pairs; default 1 on every side."""

    rank = 3

    def __init__(self, cropping=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(cropping, data_format, **kwargs)


# --------------------------------------------------------------------------- UpSampling

class BaseUpSampling(_SpatialLayer):
    """Repeats each cell ``size[i]`` times along spatial axis ``i`` (nearest), or resizes
    with ``interpolation`` (2D only, TensorFlow's ``tf.image.resize`` numbers)."""

    kind = "upsample"

    interpolation = "nearest"

    def __init__(self, size, data_format=None, **kwargs):
        super().__init__(data_format, **kwargs)
        self.size = shapes.standardize_tuple(size, self.rank, "size")

    def compute_output_shape(self, input_shape):
        return self._map_spatial(input_shape, lambda i, n: n * self.size[i])

    def call(self, x):
        if self.interpolation == "nearest":
            offset = 1 if self.data_format == "channels_last" else 2
            for i, s in enumerate(self.size):
                if s > 1:
                    x = np.repeat(x, s, axis=offset + i)
            return x
        x_last = to_channels_last(x, self.data_format)
        _, h, w, _ = x_last.shape
        y = resize2d(np.ascontiguousarray(x_last), h * self.size[0], w * self.size[1],
                     self.interpolation)
        return from_channels_last(y, self.data_format)

    def get_config(self):
        config = super().get_config()
        config["size"] = self.size
        return config


class UpSampling1D(BaseUpSampling):
    """``size``: a positive int (default 2). Input ``(batch, steps, channels)``."""

    rank = 1

    def __init__(self, size=2, **kwargs):
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)):
            raise ValueError(
                f"Argument `size` should be a positive integer. Received: size={size!r} "
                f"(of type {type(size).__name__})"
            )
        if size <= 0:
            raise ValueError(
                f"Argument `size` should be a positive integer. Received: size={size}"
            )
        super().__init__(int(size), "channels_last", **kwargs)

    def get_config(self):
        config = super().get_config()
        del config["data_format"]
        config["size"] = self.size[0]
        return config


class UpSampling2D(BaseUpSampling):
    """``size``: int or ``(rows, cols)`` (default ``(2, 2)``); ``interpolation`` one of
    nearest, bilinear, bicubic, lanczos3, lanczos5, area."""

    rank = 2

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(size, data_format, **kwargs)
        if not isinstance(interpolation, str) or interpolation.lower() not in INTERPOLATIONS:
            raise ValueError(
                f"Invalid value for argument `interpolation`: expected one of "
                f"{INTERPOLATIONS}. Received: interpolation={interpolation!r}"
            )
        self.interpolation = interpolation.lower()

    def get_config(self):
        config = super().get_config()
        config["interpolation"] = self.interpolation
        return config


class UpSampling3D(BaseUpSampling):
    """``size``: int or 3 ints (default ``(2, 2, 2)``); nearest repetition only."""

    rank = 3

    def __init__(self, size=(2, 2, 2), data_format=None, **kwargs):
        super().__init__(size, data_format, **kwargs)
