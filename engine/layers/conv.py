"""Convolution layers: the N-d bases and the 10 thin Keras classes built on them.

``BaseConv`` (Conv1D/2D/3D), ``BaseDepthwiseConv`` (DepthwiseConv1D/2D),
``BaseSeparableConv`` (SeparableConv1D/2D) and ``BaseConvTranspose`` (Conv1D/2D/3DTranspose)
share ``_ConvBase``: argument normalisation, activation, bias, data_format handling. All
arithmetic comes from :mod:`engine.shapes`, all loops from :mod:`engine.kernels.conv`.

Input shape: ``(batch, *spatial, channels)`` for channels_last, ``(batch, channels,
*spatial)`` for channels_first, with ``rank`` spatial axes. Output shape: the same layout,
spatial sizes from :func:`engine.shapes.conv_output_length` (or the transposed rule).
"""

from __future__ import annotations

import itertools

import numpy as np

from engine import shapes
from engine.kernels import budget
from engine.kernels import conv as conv_kernels
from engine.geometry.weights import KERNEL_PREFIXES, weight_shapes
from engine.keras_objects import resolve, serialize
from engine.layers.base import Layer


_VERSIONS = itertools.count(1)

#: Bytes one weight needs while it is created: a float64 draw of the initializer plus its
#: float32 copy.
INIT_BYTES_PER_WEIGHT = 12


def to_channels_last(x: np.ndarray, data_format: str) -> np.ndarray:
    return x if data_format == "channels_last" else np.moveaxis(x, 1, -1)


def from_channels_last(y: np.ndarray, data_format: str) -> np.ndarray:
    return y if data_format == "channels_last" else np.ascontiguousarray(np.moveaxis(y, -1, 1))


class _ConvBase(Layer):
    """Arguments every convolution shares, normalised once (Keras's rules and messages)."""

    _channel_bound = True
    _accepts_integer_input = False
    _allow_causal = False

    def __init__(self, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, activation=None, use_bias=True, bias_initializer="zeros",
                 bias_regularizer=None, bias_constraint=None, **kwargs):
        super().__init__(**kwargs)
        r = self.rank
        self.kernel_size = shapes.standardize_tuple(kernel_size, r, "kernel_size")
        self.strides = shapes.standardize_tuple(strides, r, "strides")
        self.dilation_rate = shapes.standardize_tuple(dilation_rate, r, "dilation_rate")
        self.padding = shapes.standardize_padding(padding, allow_causal=self._allow_causal)
        self.data_format = shapes.standardize_data_format(data_format)
        self.activation = resolve("activation", activation, "activation")
        if not isinstance(use_bias, (bool, np.bool_)) and use_bias not in (0, 1):
            raise ValueError(f"Argument `use_bias` must be a boolean. Received: use_bias={use_bias!r}")
        self.use_bias = bool(use_bias)
        self.bias_initializer = resolve("initializer", bias_initializer, "bias_initializer")
        self.bias_regularizer = resolve("regularizer", bias_regularizer, "bias_regularizer")
        self.bias_constraint = resolve("constraint", bias_constraint, "bias_constraint")

    #: changed by set_weights / apply_constraints (a fresh number, unique in the process):
    #: the kernels cache the packed layout of a weight array by its identity and this
    #: version (engine.kernels.conv.conv)
    _weights_version = 0

    def set_weights(self, weights):
        super().set_weights(weights)
        self._weights_version = next(_VERSIONS)

    def apply_constraints(self):
        super().apply_constraints()
        self._weights_version = next(_VERSIONS)

    def _set_kernel_args(self, prefix, initializer, regularizer, constraint):
        setattr(self, f"{prefix}_initializer",
                resolve("initializer", initializer, f"{prefix}_initializer"))
        setattr(self, f"{prefix}_regularizer",
                resolve("regularizer", regularizer, f"{prefix}_regularizer"))
        setattr(self, f"{prefix}_constraint",
                resolve("constraint", constraint, f"{prefix}_constraint"))

    def _check_no_strided_dilation(self):
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(
                "`strides > 1` not supported in conjunction with `dilation_rate > 1`. "
                f"Received: strides={self.strides} and dilation_rate={self.dilation_rate}"
            )

    # ------------------------------------------------------------------ helpers
    def _split(self, input_shape):
        return shapes.split_shape(input_shape, self.rank, self.data_format, self.name)

    def _input_channels(self, input_shape):
        channels = self._split(input_shape)[2]
        if channels is None:
            raise ValueError(
                f'The channel dimension of the inputs of layer "{self.name}" should be '
                f"defined. Received input_shape={tuple(input_shape)}"
            )
        if channels <= 0:
            raise ValueError(
                f'Layer "{self.name}" needs at least one input channel. '
                f"Received input_shape={tuple(input_shape)}"
            )
        return channels

    def _out_spatial(self, spatial):
        """Output size per spatial axis for a forward (not transposed) convolution."""
        return [shapes.conv_output_length(n, k, s, d, self.padding)
                for n, k, s, d in zip(spatial, self.kernel_size, self.strides,
                                      self.dilation_rate)]

    def _pads(self, spatial):
        """Zeros before each spatial axis (TensorFlow's rule; causal pads left only)."""
        return [shapes.conv_padding(n, k, s, d, self.padding)[0]
                for n, k, s, d in zip(spatial, self.kernel_size, self.strides,
                                      self.dilation_rate)]

    def _check_channels(self, channels, input_shape):
        """Build-time checks of the input channels beyond "known and positive"."""

    def check_input_shape(self, input_shape):
        self._check_channels(self._input_channels(input_shape), input_shape)

    def _check_weight_budget(self, weights):
        """Refuse, before allocating, weights the engine's working-memory limit cannot hold
        while their initializer draws them (:data:`INIT_BYTES_PER_WEIGHT`)."""
        n = sum(w.size for w in weights)
        if INIT_BYTES_PER_WEIGHT * n > budget.MAX_WORK_BYTES:
            raise ValueError(
                f"Layer '{self.name}' would have {n:,} weights ({budget.fmt_bytes(4 * n)} of "
                f"float32), more than {budget.limit_text(budget.MAX_WORK_BYTES)}. Reduce "
                "kernel_size, filters, depth_multiplier or the input channels.")

    def _build(self, input_shape):
        self.check_input_shape(input_shape)
        weights = weight_shapes(self, self._input_channels(input_shape))
        self._check_weight_budget(weights)
        for w in weights:
            self.add_weight(w.name, w.shape, getattr(self, f"{w.prefix}_initializer"),
                            getattr(self, f"{w.prefix}_regularizer"),
                            getattr(self, f"{w.prefix}_constraint"))

    def _finish(self, y_last):
        """channels_last kernel output → data_format layout, activation applied."""
        y = from_channels_last(y_last, self.data_format)
        if self.activation is not None:
            y = np.asarray(self.activation(y), dtype=np.float32)
        return y

    def get_config(self):
        config = super().get_config()
        config.update({
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
            "activation": serialize("activation", self.activation),
            "use_bias": self.use_bias,
        })
        prefixes = KERNEL_PREFIXES[self.kind]
        for prefix in prefixes:
            config[f"{prefix}_initializer"] = serialize(
                "initializer", getattr(self, f"{prefix}_initializer"))
        config["bias_initializer"] = serialize("initializer", self.bias_initializer)
        for prefix in prefixes:
            config[f"{prefix}_regularizer"] = serialize(
                "regularizer", getattr(self, f"{prefix}_regularizer"))
        config["bias_regularizer"] = serialize("regularizer", self.bias_regularizer)
        config["activity_regularizer"] = serialize("regularizer", self.activity_regularizer)
        for prefix in prefixes:
            config[f"{prefix}_constraint"] = serialize(
                "constraint", getattr(self, f"{prefix}_constraint"))
        config["bias_constraint"] = serialize("constraint", self.bias_constraint)
        return config


# --------------------------------------------------------------------------- Conv

class BaseConv(_ConvBase):
    """N-d (grouped) convolution. Kernel ``(*kernel_size, in_channels // groups, filters)``,
    bias ``(filters,)``; output channels = ``filters``."""

    kind = "conv"

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, groups=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(kernel_size, strides, padding, data_format, dilation_rate, activation,
                         use_bias, bias_initializer, bias_regularizer, bias_constraint,
                         activity_regularizer=activity_regularizer, **kwargs)
        self.filters = shapes.positive_int(filters, "filters")
        if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups <= 0:
            raise ValueError(
                f"The number of groups must be a positive integer. Received: groups={groups!r}."
            )
        self.groups = int(groups)
        if self.filters % self.groups != 0:
            raise ValueError(
                "The number of filters must be evenly divisible by the number of groups. "
                f"Received: groups={self.groups}, filters={self.filters}."
            )
        self._check_no_strided_dilation()
        self._set_kernel_args("kernel", kernel_initializer, kernel_regularizer,
                              kernel_constraint)

    def compute_output_shape(self, input_shape):
        return shapes.compute_conv_output_shape(
            input_shape, self.filters, self.kernel_size, self.strides, self.padding,
            self.data_format, self.dilation_rate, self.name)

    def _check_channels(self, channels, input_shape):
        if channels % self.groups != 0:
            raise ValueError(
                "The number of input channels must be evenly divisible by the number of "
                f"groups. Received groups={self.groups}, but the input has {channels} channels "
                f"(full input shape is {tuple(input_shape)})."
            )

    def call(self, x):
        x = to_channels_last(x, self.data_format)
        spatial = x.shape[1:-1]
        y = conv_kernels.conv(x, self.weight("kernel"), self.weight("bias"), self.strides,
                              self.dilation_rate, self._pads(spatial),
                              self._out_spatial(spatial), self.groups,
                              weights_version=self._weights_version)
        return self._finish(y)

    def get_config(self):
        config = super().get_config()
        config["filters"] = self.filters
        config["groups"] = self.groups
        return config


class Conv1D(BaseConv):
    """1D convolution (temporal). ``padding`` may also be ``"causal"`` (zeros on the left
    only, ``dilation_rate·(kernel_size − 1)`` of them). Input ``(batch, steps, channels)``."""

    rank = 1
    _allow_causal = True


class Conv2D(BaseConv):
    """2D convolution. Input ``(batch, rows, cols, channels)`` (channels_last)."""

    rank = 2


class Conv3D(BaseConv):
    """3D convolution. Input ``(batch, depth, rows, cols, channels)`` (channels_last)."""

    rank = 3


# --------------------------------------------------------------------------- Depthwise

def depthwise_as_grouped(kernel: np.ndarray) -> np.ndarray:
    """Depthwise kernel ``(*k, C, M)`` → grouped-conv kernel ``(*k, 1, C·M)``; output
    channel ``c·M + m`` is input channel ``c`` convolved with multiplier ``m`` (Keras's order)."""
    *k, c, m = kernel.shape
    return kernel.reshape(tuple(k) + (1, c * m))


class _DepthwiseBase(_ConvBase):
    """What depthwise and separable convolutions share: ``depth_multiplier`` and the
    depthwise stage (each input channel convolved with its own ``depth_multiplier`` filters,
    kernel ``(*kernel_size, in_channels, depth_multiplier)``)."""

    def __init__(self, kernel_size, strides=1, padding="valid", depth_multiplier=1,
                 data_format=None, dilation_rate=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", bias_initializer="zeros",
                 depthwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(kernel_size, strides, padding, data_format, dilation_rate, activation,
                         use_bias, bias_initializer, bias_regularizer, bias_constraint,
                         activity_regularizer=activity_regularizer, **kwargs)
        self.depth_multiplier = shapes.positive_int(depth_multiplier, "depth_multiplier")
        self._set_kernel_args("depthwise", depthwise_initializer, depthwise_regularizer,
                              depthwise_constraint)

    def _depthwise(self, x_last, kernel, bias):
        """channels_last ``x`` → the depthwise stage's output ``(batch, *out, C·M)``."""
        spatial = x_last.shape[1:-1]
        return conv_kernels.conv(x_last, depthwise_as_grouped(kernel), bias, self.strides,
                                 self.dilation_rate, self._pads(spatial),
                                 self._out_spatial(spatial), groups=x_last.shape[-1])

    def get_config(self):
        config = super().get_config()
        config["depth_multiplier"] = self.depth_multiplier
        return config


class BaseDepthwiseConv(_DepthwiseBase):
    """N-d depthwise convolution. Kernel ``(*kernel_size, in_channels, depth_multiplier)``,
    bias ``(in_channels · depth_multiplier,)``."""

    kind = "depthwise"

    def compute_output_shape(self, input_shape):
        _, _, channels = self._split(input_shape)
        filters = None if channels is None else channels * self.depth_multiplier
        return shapes.compute_conv_output_shape(
            input_shape, filters, self.kernel_size, self.strides, self.padding,
            self.data_format, self.dilation_rate, self.name)

    def call(self, x):
        return self._finish(self._depthwise(to_channels_last(x, self.data_format),
                                            self.weight("kernel"), self.weight("bias")))


class DepthwiseConv1D(BaseDepthwiseConv):
    """1D depthwise convolution: each input channel has its own ``depth_multiplier`` filters."""

    rank = 1


class DepthwiseConv2D(BaseDepthwiseConv):
    """2D depthwise convolution: each input channel has its own ``depth_multiplier`` filters."""

    rank = 2


# --------------------------------------------------------------------------- Separable

class BaseSeparableConv(_DepthwiseBase):
    """Depthwise convolution (no bias) followed by a pointwise ``1×…×1`` convolution.

    Weights in Keras's order: depthwise_kernel ``(*kernel_size, C, depth_multiplier)``,
    pointwise_kernel ``(1,)*rank + (C · depth_multiplier, filters)``, bias ``(filters,)``.
    """

    kind = "separable"

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, depth_multiplier=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", pointwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, pointwise_constraint=None, bias_constraint=None,
                 **kwargs):
        super().__init__(kernel_size, strides, padding, depth_multiplier, data_format,
                         dilation_rate, activation, use_bias, depthwise_initializer,
                         bias_initializer, depthwise_regularizer, bias_regularizer,
                         activity_regularizer, depthwise_constraint, bias_constraint, **kwargs)
        self.filters = shapes.positive_int(filters, "filters")
        self._set_kernel_args("pointwise", pointwise_initializer, pointwise_regularizer,
                              pointwise_constraint)

    def compute_output_shape(self, input_shape):
        return shapes.compute_conv_output_shape(
            input_shape, self.filters, self.kernel_size, self.strides, self.padding,
            self.data_format, self.dilation_rate, self.name)

    def call(self, x):
        mid = self._depthwise(to_channels_last(x, self.data_format),
                              self.weight("depthwise_kernel"), None)
        ones, zeros = (1,) * self.rank, (0,) * self.rank
        y = conv_kernels.conv(mid, self.weight("pointwise_kernel"), self.weight("bias"), ones,
                              ones, zeros, mid.shape[1:-1], weights_version=self._weights_version)
        return self._finish(y)

    def get_config(self):
        config = super().get_config()
        config["filters"] = self.filters
        return config


class SeparableConv1D(BaseSeparableConv):
    """1D depthwise-separable convolution."""

    rank = 1


class SeparableConv2D(BaseSeparableConv):
    """2D depthwise-separable convolution."""

    rank = 2


# --------------------------------------------------------------------------- Transposed

class BaseConvTranspose(_ConvBase):
    """N-d transposed convolution. Kernel ``(*kernel_size, filters, in_channels)``.

    Output length per axis: :func:`engine.shapes.conv_transpose_output_length`; TensorFlow
    refuses sizes its forward twin cannot map back (see
    :func:`engine.shapes.check_conv_transpose_consistent`).
    """

    kind = "transpose"

    def __init__(self, filters, kernel_size, strides=1, padding="valid", output_padding=None,
                 data_format=None, dilation_rate=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(kernel_size, strides, padding, data_format, dilation_rate, activation,
                         use_bias, bias_initializer, bias_regularizer, bias_constraint,
                         activity_regularizer=activity_regularizer, **kwargs)
        self.filters = shapes.positive_int(filters, "filters")
        if output_padding is None:
            self.output_padding = None
        else:
            self.output_padding = shapes.standardize_tuple(output_padding, self.rank,
                                                           "output_padding", allow_zero=True)
            for i, (op, s) in enumerate(zip(self.output_padding, self.strides)):
                if op >= s:
                    raise ValueError(
                        "`output_padding` must be strictly less than `strides` for all "
                        f"dimensions. At dimension {i}, `output_padding` is {op} but `strides` "
                        f"is {s}. Received: output_padding={self.output_padding}, "
                        f"strides={self.strides}"
                    )
        self._check_no_strided_dilation()
        self._set_kernel_args("kernel", kernel_initializer, kernel_regularizer,
                              kernel_constraint)

    def compute_output_shape(self, input_shape):
        return shapes.compute_conv_transpose_output_shape(
            input_shape, self.filters, self.kernel_size, self.strides, self.padding,
            self.output_padding, self.data_format, self.dilation_rate, self.name)

    def call(self, x):
        x = to_channels_last(x, self.data_format)
        spatial = x.shape[1:-1]
        ops = self.output_padding or (None,) * self.rank
        out = [shapes.conv_transpose_output_length(n, k, s, d, self.padding, op)
               for n, k, s, d, op in zip(spatial, self.kernel_size, self.strides,
                                         self.dilation_rate, ops)]
        pads = [shapes.conv_transpose_padding(n, o, k, s, d, self.padding)
                for n, o, k, s, d in zip(spatial, out, self.kernel_size, self.strides,
                                         self.dilation_rate)]
        y = conv_kernels.conv_transpose(x, self.weight("kernel"), self.weight("bias"),
                                        self.strides, self.dilation_rate, pads, out)
        return self._finish(y)

    def get_config(self):
        config = super().get_config()
        config["filters"] = self.filters
        config["output_padding"] = self.output_padding
        return config


class Conv1DTranspose(BaseConvTranspose):
    """1D transposed convolution (a.k.a. deconvolution)."""

    rank = 1


class Conv2DTranspose(BaseConvTranspose):
    """2D transposed convolution: e.g. ``Conv2DTranspose(4, 3, strides=2)`` maps 28 → 57
    with ``padding="valid"`` (``(28 − 1)·2 + 3``) and 28 → 56 with ``padding="same"``."""

    rank = 2


class Conv3DTranspose(BaseConvTranspose):
    """3D transposed convolution."""

    rank = 3
