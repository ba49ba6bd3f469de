"""``Layer``: what every engine layer shares with ``keras.layers.Layer``.

Naming, ``build`` on first call, input checks, float32 casting, weights (``get_weights`` /
``set_weights`` in Keras's order), ``count_params``, ``losses`` (activity penalty of the
last call, then weight penalties, as Keras lists them), ``get_config`` / ``from_config``.
Subclasses implement ``_build(input_shape)`` (create weights through ``add_weight``),
``compute_output_shape(shape)`` and ``call(x)`` on a channels-as-given float32 array.
"""

from __future__ import annotations

import itertools
import re
import warnings
from collections import defaultdict

import numpy as np

from engine.keras_objects import regularizers as _regularizers
from engine.keras_objects import resolve, serialize

_FLOAT_DTYPES = ("float32", "float16", "bfloat16", "float64", "mixed_float16", "mixed_bfloat16")
_name_counters: defaultdict = defaultdict(itertools.count)


def _snake_case(name: str) -> str:
    """``Conv2DTranspose`` → ``conv2d_transpose``, as Keras names layers."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def _unique_name(cls_name: str) -> str:
    base = _snake_case(cls_name)
    n = next(_name_counters[base])
    return base if n == 0 else f"{base}_{n}"


def _dtype_name(dtype) -> str:
    """Keras dtype argument (None, a name, a DTypePolicy config dict) → its policy name."""
    if dtype is None:
        return "float32"
    if isinstance(dtype, dict):
        cfg = dtype.get("config", dtype)
        dtype = cfg.get("name") if isinstance(cfg, dict) else None
    if isinstance(dtype, type) and issubclass(dtype, np.generic):
        dtype = np.dtype(dtype).name
    if isinstance(dtype, np.dtype):
        dtype = dtype.name
    if dtype not in _FLOAT_DTYPES:
        raise ValueError(
            f"Invalid value for argument `dtype`: expected one of {_FLOAT_DTYPES} (or None). "
            f"Received: dtype={dtype!r}"
        )
    return dtype


class Weight:
    """A named weight array with its regularizer and constraint (Keras's Variable)."""

    __slots__ = ("name", "value", "regularizer", "constraint")

    def __init__(self, name, value, regularizer=None, constraint=None):
        self.name = name
        self.value = value
        self.regularizer = regularizer
        self.constraint = constraint

    @property
    def shape(self):
        return self.value.shape


class Layer:
    """Base of the 19 layers. Mirrors the parts of ``keras.layers.Layer`` they use."""

    rank: int = 0  # number of spatial axes; set by subclasses
    #: what the layer does to the cells, one of :data:`engine.geometry.KINDS` (set by the
    #: base classes); every view dispatches on it, never on an isinstance chain
    kind: str = ""
    # Keras keeps integer/bool inputs as they are; layers with float32 weights then fail.
    _accepts_integer_input = True

    def __init__(self, *, activity_regularizer=None, trainable=True, dtype=None, name=None,
                 **kwargs):
        for legacy in ("input_shape", "input_dim", "batch_input_shape", "batch_size"):
            if legacy in kwargs:
                kwargs.pop(legacy)
                warnings.warn(
                    "Do not pass an `input_shape`/`input_dim` argument to a layer. When "
                    "using Sequential models, prefer using an `Input(shape)` object as the "
                    "first layer in the model instead.", stacklevel=3)
        kwargs.pop("autocast", None)
        if kwargs:
            raise ValueError(
                f"Unrecognized keyword arguments passed to {type(self).__name__}: {kwargs}"
            )
        if not isinstance(trainable, bool):
            raise ValueError(
                f"Expected `trainable` to be a boolean. Received: trainable={trainable!r} "
                f"(of type {type(trainable).__name__})"
            )
        if name is not None and not isinstance(name, str):
            raise ValueError(f"Argument `name` must be a string. Received: name={name!r}")
        self.name = name if name else _unique_name(type(self).__name__)
        self.trainable = trainable
        self.dtype = _dtype_name(dtype)
        self.activity_regularizer = resolve("regularizer", activity_regularizer,
                                            "activity_regularizer")
        self.built = False
        self._weights: list[Weight] = []
        self._activity_losses: list[float] = []
        self._build_shape = None

    # ------------------------------------------------------------------ building
    def add_weight(self, name, shape, initializer, regularizer=None, constraint=None):
        """Create a float32 weight of ``shape`` from a resolved initializer."""
        value = np.asarray(initializer(tuple(shape), dtype="float32"), dtype=np.float32)
        if value.shape != tuple(shape):
            raise ValueError(
                f"Initializer for weight '{name}' of layer '{self.name}' returned shape "
                f"{value.shape}, expected {tuple(shape)}"
            )
        w = Weight(name, np.ascontiguousarray(value), regularizer, constraint)
        self._weights.append(w)
        return w

    def build(self, input_shape):
        """Check ``input_shape`` (batch first, ``None`` allowed) and create the weights."""
        input_shape = tuple(input_shape)
        self.compute_output_shape(input_shape)
        self._weights = []
        self._build(input_shape)
        self._build_shape = input_shape
        self.built = True

    def _build(self, input_shape):
        """Create weights; layers without weights need not override."""

    def check_input_shape(self, input_shape) -> None:
        """Keras's build-time checks of ``input_shape`` (e.g. channels known, groups that
        divide them), without creating anything; ValueError with Keras's reason."""

    # ------------------------------------------------------------------ calling
    def _check_input(self, x: np.ndarray) -> None:
        if self._build_shape is None:
            return
        ref = self._build_shape
        if x.ndim != len(ref):
            raise ValueError(
                f'Input 0 of layer "{self.name}" is incompatible with the layer: expected '
                f"ndim={len(ref)}, found ndim={x.ndim}. Full shape received: {x.shape}"
            )
        if getattr(self, "_channel_bound", False):
            axis = -1 if self.data_format == "channels_last" else 1
            if ref[axis] is not None and x.shape[axis] != ref[axis]:
                raise ValueError(
                    f'Input 0 of layer "{self.name}" is incompatible with the layer: expected '
                    f"axis {axis} of input shape to have value {ref[axis]}, but received "
                    f"input with shape {x.shape}"
                )

    def __call__(self, x):
        x = as_float32(x, self.name, self._accepts_integer_input)
        if not self.built:
            self.build(x.shape)
        self._check_input(x)
        self.compute_output_shape(x.shape)
        y = np.asarray(self.call(x), dtype=np.float32)
        self._activity_losses = []
        if self.activity_regularizer is not None:
            self._activity_losses.append(
                _regularizers.activity_penalty(self.activity_regularizer, y))
        return y

    def call(self, x: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def compute_output_shape(self, input_shape) -> tuple:  # pragma: no cover - abstract
        raise NotImplementedError

    # ------------------------------------------------------------------ weights
    @property
    def weights(self) -> list[Weight]:
        return list(self._weights)

    def weight(self, name: str):
        """The array of the weight named ``name`` (``kernel``, ``bias``, ``depthwise_kernel``…,
        Keras's names), or None when the layer has none (e.g. ``use_bias=False``, unbuilt)."""
        for w in self._weights:
            if w.name == name:
                return w.value
        return None

    def get_weights(self) -> list[np.ndarray]:
        return [w.value.copy() for w in self._weights]

    def set_weights(self, weights) -> None:
        weights = list(weights)
        if len(weights) != len(self._weights):
            raise ValueError(
                f"You called `set_weights(weights)` on layer '{self.name}' with a weight list "
                f"of length {len(weights)}, but the layer was expecting {len(self._weights)} "
                "weights."
            )
        new = []
        for w, value in zip(self._weights, weights):
            arr = np.asarray(value)
            if arr.dtype.kind not in "biuf":
                raise ValueError(
                    f"Weight '{w.name}' of layer {self.name} must be numeric; received dtype "
                    f"{arr.dtype}."
                )
            if arr.shape != w.shape:
                raise ValueError(
                    f"Layer {self.name} weight shape {w.shape} is not compatible with provided "
                    f"weight shape {arr.shape}."
                )
            new.append(np.ascontiguousarray(arr, dtype=np.float32))
        for w, arr in zip(self._weights, new):
            w.value = arr

    def count_params(self) -> int:
        if not self.built:
            raise ValueError(
                f"You tried to call `count_params` on layer '{self.name}', but the layer isn't "
                "built. You can build it manually via: `layer.build(input_shape)`."
            )
        return int(sum(w.value.size for w in self._weights))

    def apply_constraints(self) -> None:
        """Project each weight with its constraint, as an optimizer step would."""
        for w in self._weights:
            if w.constraint is not None:
                w.value = np.ascontiguousarray(w.constraint(w.value), dtype=np.float32)

    @property
    def losses(self) -> list[float]:
        """Activity penalty of the last call, then one penalty per regularized weight."""
        weight_losses = [float(w.regularizer(w.value)) for w in self._weights
                         if w.regularizer is not None and self.trainable]
        return list(self._activity_losses) + weight_losses

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict:
        config = {
            "name": self.name,
            "trainable": self.trainable,
            "dtype": {"module": "keras", "class_name": "DTypePolicy",
                      "config": {"name": self.dtype}, "registered_name": None},
        }
        if self.activity_regularizer is not None:
            config["activity_regularizer"] = serialize("regularizer", self.activity_regularizer)
        return config

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


def as_float32(x, layer_name: str = "layer", accept_integer: bool = True) -> np.ndarray:
    """Array-like of real numbers → float32 ndarray, as Keras casts layer inputs.

    Floating inputs of any precision become float32 (Keras's autocast). Integer and bool
    inputs are refused when ``accept_integer`` is False: Keras does not cast them, and a
    convolution of an integer tensor with a float32 kernel fails in TensorFlow.
    """
    try:
        arr = np.asarray(x)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"Layer \"{layer_name}\" needs a numeric array; could not convert "
                         f"the input: {exc}") from None
    if arr.dtype.kind not in "biuf":
        raise ValueError(
            f'Layer "{layer_name}" needs real numbers (bool, int or float); received an array '
            f"of dtype {arr.dtype}."
        )
    if arr.dtype.kind in "biu" and not accept_integer:
        raise ValueError(
            f'Layer "{layer_name}" received an input of dtype {arr.dtype}; Keras does not cast '
            "integer or bool inputs to a layer with float32 weights, and TensorFlow refuses the "
            "convolution. Convert it first, e.g. x.astype('float32') / 255 for 8-bit images."
        )
    return np.ascontiguousarray(arr, dtype=np.float32)
