"""Shape-only stand-ins for embedding, attention, preprocessing and augmentation layers.

Embedding, MultiHeadAttention, Normalization, Resizing, CenterCrop, RandomCrop, the
shape-keeping Random* augmentations and colour layers, PReLU, Masking and RepeatVector:
constructor arguments as Keras names them, ``compute_output_shape`` and ``weight_shapes``
in Keras's order.
"""

from __future__ import annotations

import numbers

from engine import shapes
import numpy as np

from engine.stack.extra import ShapeLayer, ShapeOnly, _check_ndim, _norm_axis
from engine.stack.signatures import REQUIRED, KerasSignature


def _positive(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"Received an invalid value for argument `{name}`, expected a "
                         f"positive integer, got {value!r}.")
    return int(value)


class Embedding(ShapeOnly, ShapeLayer):
    """``Embedding(input_dim, output_dim)``: ``(…)`` → ``(…, output_dim)``."""

    kind = "reshape"

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform",
                 embeddings_regularizer=None, embeddings_constraint=None, mask_zero=False,
                 weights=None, lora_rank=None, lora_alpha=None, quantization_config=None,
                 input_length=None, **kwargs):
        super().__init__(**kwargs)
        self.input_dim = _positive(input_dim, "input_dim")
        self.output_dim = _positive(output_dim, "output_dim")

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def weight_shapes(self, input_shape):
        return [("embeddings", (self.input_dim, self.output_dim), True)]


class MultiHeadAttention(ShapeOnly, ShapeLayer):
    """``MultiHeadAttention(num_heads, key_dim)`` called as ``mha(query, value[, key])``:
    query, key and value projections ``(dim, heads, key_dim)`` (value: ``value_dim``), the
    output projection ``(heads, value_dim, out)``; the output has the query's shape with
    ``out`` (``output_shape`` or the query's last size) last."""

    kind = "merge"
    n_inputs = 0

    def __init__(self, num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True,
                 output_shape=None, attention_axes=None, sliding_window=None,
                 flash_attention=None, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 use_gate=False, seed=None, **kwargs):
        super().__init__(**kwargs)
        if use_gate:
            raise ValueError("MultiHeadAttention(use_gate=True) adds a gate projection the "
                             "shape debugger does not model; remove use_gate to see the "
                             "other shapes.")
        self.num_heads = _positive(num_heads, "num_heads")
        self.key_dim = _positive(key_dim, "key_dim")
        self.value_dim = self.key_dim if value_dim is None else _positive(value_dim,
                                                                          "value_dim")
        self.use_bias = bool(use_bias)
        if isinstance(output_shape, numbers.Integral):
            output_shape = (int(output_shape),)
        self.output_shape = None if output_shape is None else tuple(output_shape)

    def _shapes(self, input_shapes):
        if len(input_shapes) not in (2, 3):
            raise ValueError("MultiHeadAttention is called as mha(query, value) or "
                             f"mha(query, value, key); it got {len(input_shapes)} inputs.")
        query, value = tuple(input_shapes[0]), tuple(input_shapes[1])
        key = tuple(input_shapes[2]) if len(input_shapes) == 3 else value
        return query, value, key

    def compute_output_shape(self, input_shapes):
        query, value, key = self._shapes(input_shapes)
        if value[1:-1] != key[1:-1]:
            raise ValueError("All dimensions of `value` and `key`, except the last one, must "
                             f"be equal. Received: value_shape={value} and key_shape={key}")
        if self.output_shape:
            return query[:-1] + self.output_shape
        return query

    def weight_shapes(self, input_shapes):
        query, value, key = self._shapes(input_shapes)
        h, kd, vd = self.num_heads, self.key_dim, self.value_dim
        out_dims = self.output_shape or (query[-1],)
        out = []
        for name, dim, size in (("query", query[-1], kd), ("key", key[-1], kd),
                                ("value", value[-1], vd)):
            out.append((f"{name}/kernel", (dim, h, size), True))
            if self.use_bias:
                out.append((f"{name}/bias", (h, size), True))
        out.append(("attention_output/kernel", (h, vd) + tuple(out_dims), True))
        if self.use_bias:
            out.append(("attention_output/bias", tuple(out_dims), True))
        return out


class Normalization(ShapeOnly, ShapeLayer):
    """``Normalization(axis=-1, mean=None, variance=None)``: without given statistics it
    holds mean and variance over the kept axes and a count (non-trainable)."""

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kwargs):
        super().__init__(**kwargs)
        if axis is None:
            axis = ()
        self.axis = tuple(axis) if isinstance(axis, (list, tuple)) else (axis,)
        if (mean is None) != (variance is None):
            raise ValueError("When setting values directly, both `mean` and `variance` must "
                             f"be set. Received: mean={mean} and variance={variance}")
        self.given = mean is not None

    def weight_shapes(self, input_shape):
        if self.given:
            return []
        keep = sorted(_norm_axis(a, len(input_shape), self.name) for a in self.axis)
        dims = tuple(input_shape[a] for a in keep)
        return [("mean", dims, False), ("variance", dims, False), ("count", (), False)]


class _ImageSize(ShapeOnly, ShapeLayer):
    """Layers that give images a new ``(height, width)``."""

    kind = "reshape"

    def __init__(self, height, width, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.height, self.width = _positive(height, "height"), _positive(width, "width")
        self.data_format = shapes.standardize_data_format(data_format)

    def compute_output_shape(self, input_shape):
        _check_ndim(self, input_shape, ndim=4)
        batch, _, channels = shapes.split_shape(input_shape, 2, self.data_format, self.name)
        return shapes.join_shape(batch, (self.height, self.width), channels, self.data_format)


class Resizing(_ImageSize):
    def __init__(self, height, width, interpolation="bilinear", crop_to_aspect_ratio=False,
                 pad_to_aspect_ratio=False, fill_mode="constant", fill_value=0.0,
                 antialias=False, data_format=None, **kwargs):
        super().__init__(height, width, data_format, **kwargs)


class CenterCrop(_ImageSize):
    pass


class RandomCrop(_ImageSize):
    def __init__(self, height, width, seed=None, data_format=None, **kwargs):
        super().__init__(height, width, data_format, **kwargs)


# Keras 3's shape-keeping augmentation and colour layers: their parameters in order
# (REQUIRED: no default). tests/test_stack_layers.py checks the names against Keras.
AUGMENTATIONS = {
    "RandomFlip": (("mode", "horizontal_and_vertical"), ("seed", None), ("data_format", None)),
    "RandomRotation": (("factor", REQUIRED), ("fill_mode", "reflect"),
                       ("interpolation", "bilinear"), ("seed", None), ("fill_value", 0.0),
                       ("data_format", None)),
    "RandomZoom": (("height_factor", REQUIRED), ("width_factor", None),
                   ("fill_mode", "reflect"), ("interpolation", "bilinear"), ("seed", None),
                   ("fill_value", 0.0), ("data_format", None)),
    "RandomTranslation": (("height_factor", REQUIRED), ("width_factor", REQUIRED),
                          ("fill_mode", "reflect"), ("interpolation", "bilinear"),
                          ("seed", None), ("fill_value", 0.0), ("data_format", None)),
    "RandomContrast": (("factor", REQUIRED), ("value_range", (0, 255)), ("seed", None)),
    "RandomBrightness": (("factor", REQUIRED), ("value_range", (0, 255)), ("seed", None)),
    "RandomColorDegeneration": (("factor", REQUIRED), ("value_range", (0, 255)),
                                ("data_format", None), ("seed", None)),
    "RandomColorJitter": (("value_range", (0, 255)), ("brightness_factor", None),
                          ("contrast_factor", None), ("saturation_factor", None),
                          ("hue_factor", None), ("seed", None), ("data_format", None)),
    "RandomElasticTransform": (("factor", 1.0), ("scale", 1.0), ("interpolation", "bilinear"),
                               ("fill_mode", "reflect"), ("fill_value", 0.0),
                               ("value_range", (0, 255)), ("seed", None),
                               ("data_format", None)),
    "RandomErasing": (("factor", 1.0), ("scale", (0.02, 0.33)), ("fill_value", None),
                      ("value_range", (0, 255)), ("seed", None), ("data_format", None)),
    "RandomGaussianBlur": (("factor", 1.0), ("kernel_size", 3), ("sigma", 1.0),
                           ("value_range", (0, 255)), ("data_format", None), ("seed", None)),
    "RandomGrayscale": (("factor", 0.5), ("data_format", None), ("seed", None)),
    "RandomHue": (("factor", REQUIRED), ("value_range", (0, 255)), ("data_format", None),
                  ("seed", None)),
    "RandomInvert": (("factor", 1.0), ("value_range", (0, 255)), ("seed", None),
                     ("data_format", None)),
    "RandomPerspective": (("factor", 1.0), ("scale", 1.0), ("interpolation", "bilinear"),
                          ("fill_value", 0.0), ("seed", None), ("data_format", None)),
    "RandomPosterization": (("factor", REQUIRED), ("value_range", (0, 255)),
                            ("data_format", None), ("seed", None)),
    "RandomSaturation": (("factor", REQUIRED), ("value_range", (0, 255)),
                         ("data_format", None), ("seed", None)),
    "RandomSharpness": (("factor", REQUIRED), ("value_range", (0, 255)),
                        ("data_format", None), ("seed", None)),
    "RandomShear": (("x_factor", 0.0), ("y_factor", 0.0), ("interpolation", "bilinear"),
                    ("fill_mode", "reflect"), ("fill_value", 0.0), ("data_format", None),
                    ("seed", None)),
    "AutoContrast": (("value_range", (0, 255)),),
    "Equalization": (("value_range", (0, 255)), ("bins", 256), ("data_format", None)),
    "Solarization": (("addition_factor", 0.0), ("threshold_factor", 0.0),
                     ("value_range", (0, 255)), ("seed", None)),
}


class _Augmentation(KerasSignature, ShapeLayer):
    """A random augmentation or colour transform: the shape is kept."""

    def __init__(self, *args, **kwargs):
        self.options = self.bind_options(args, kwargs)
        super().__init__(**kwargs)


AUGMENTATION_LAYERS = {
    name: type(name, (_Augmentation,), {"PARAMETERS": parameters,
                                        "__doc__": f"Keras's ``{name}`` (shape kept)."})
    for name, parameters in AUGMENTATIONS.items()}


class PReLU(ShapeLayer):
    """``PReLU(shared_axes=None)``: one slope per input cell, shared along ``shared_axes``."""

    def __init__(self, alpha_initializer="zeros", alpha_regularizer=None,
                 alpha_constraint=None, shared_axes=None, **kwargs):
        super().__init__(**kwargs)
        if shared_axes is None:
            shared_axes = ()
        elif not isinstance(shared_axes, (list, tuple)):
            shared_axes = (shared_axes,)
        self.shared_axes = tuple(shared_axes)

    def weight_shapes(self, input_shape):
        dims = list(input_shape[1:])
        for a in self.shared_axes:
            dims[a - 1] = 1
        return [("alpha", tuple(dims), True)]

    def init_weights(self, input_shape, rng):
        return [np.zeros(s, np.float32) for _, s, _ in self.weight_shapes(input_shape)]

    def call(self, x, weights=None):
        return np.where(x >= 0, x, weights[0] * x).astype(np.float32)


class Masking(ShapeLayer):
    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)


class RepeatVector(ShapeLayer):
    """``RepeatVector(n)``: ``(batch, d)`` → ``(batch, n, d)``."""

    kind = "reshape"

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        self.n = _positive(n, "n")

    def compute_output_shape(self, input_shape):
        _check_ndim(self, input_shape, ndim=2)
        return (input_shape[0], self.n, input_shape[1])

    def call(self, x, weights=None):
        return np.repeat(x[:, None, :], self.n, axis=1)


LAYERS = {**{cls.__name__: cls for cls in (
    Embedding, MultiHeadAttention, Normalization, Resizing, CenterCrop, RandomCrop, PReLU,
    Masking, RepeatVector)}, **AUGMENTATION_LAYERS}
