"""Keras 3 activations in NumPy: ``get``, ``serialize`` and one function per Keras name.

Every function takes an array and returns an array of the same floating dtype (integer or
bool input is cast to float32), with the same keyword arguments and defaults as
``keras.activations.<name>``. Each follows the TensorFlow backend's formula, step by step in
the input's dtype and in TF's order (so cancelling formulas such as ``tanh_shrink``,
``squareplus`` or ``log_softmax`` round as TF does); transcendental primitives (exp, erfc,
sigmoid, softplus, tanh) are evaluated in float64 and rounded once. Subnormal results,
final or intermediate, are flushed to zero as TF's CPU kernels do. Measured against Keras
3.15 (TF 2.21): within 1e-5 relative plus 1e-6 absolute. The absolute part is needed only
where TF's own float32 result cancels (``tanh_shrink`` near 0, ``log_softmax`` of the
largest entry, approximate ``gelu`` for negative inputs): there TF's fast float32
tanh / exp kernels differ from correctly rounded ones by an ulp or two, amplified.

Known Keras quirks reproduced on purpose:

- ``sparsemax`` computes its threshold as ``(sum of the cumulative sums over the support
  - 1) / k`` (keras/src/backend/tensorflow/nn.py), not the textbook ``(cumsum[k] - 1) / k``;
  its outputs therefore need not sum to 1. We return what Keras returns.
- ``threshold`` has two required arguments; Keras accepts ``activation="threshold"`` and then
  fails when the layer is called. We raise a clear ``ValueError`` at call time.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from scipy import special

__all__ = [
    "get", "serialize", "ALL_ACTIVATIONS",
    "celu", "elu", "exponential", "gelu", "glu", "hard_shrink", "hard_sigmoid", "hard_silu",
    "hard_tanh", "leaky_relu", "linear", "log_sigmoid", "log_softmax", "mish", "relu",
    "relu6", "selu", "sigmoid", "silu", "soft_shrink", "softmax", "softplus", "softsign",
    "sparse_plus", "sparse_sigmoid", "sparsemax", "squareplus", "tanh", "tanh_shrink",
    "threshold",
]

#: Canonical Keras name → function (filled by ``_register``); aliases are added below.
ALL_ACTIVATIONS: dict = {}
_ALIASES = {"swish": "silu", "hard_swish": "hard_silu"}

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _register(fn):
    """Record ``fn`` under its ``__name__`` (Keras's ``ALL_OBJECTS_DICT`` key), with its
    result flushed to zero where subnormal, as TensorFlow's CPU kernels do (FTZ)."""

    if fn.__name__ == "linear":  # identity: nothing new can be subnormal; skip the passes
        ALL_ACTIVATIONS[fn.__name__] = fn
        return fn

    @functools.wraps(fn)
    def activation(x, *args, **kwargs):
        return _flush_subnormals(fn(x, *args, **kwargs))

    ALL_ACTIVATIONS[fn.__name__] = activation
    return activation


def _flush_subnormals(y: np.ndarray) -> np.ndarray:
    """Subnormal values → signed zero (TF runs its CPU kernels in flush-to-zero mode)."""
    tiny = np.finfo(y.dtype).tiny
    small = (np.abs(y) < tiny) & (y != 0)   # zeros are left as they are (relu makes many)
    return np.where(small, np.copysign(y.dtype.type(0), y), y) if small.any() else y


def _as_float(x) -> np.ndarray:
    """``x`` as an array of a floating dtype (float32 unless already floating)."""
    x = np.asarray(x)
    return x if x.dtype.kind == "f" else x.astype(np.float32)


def _rounded(x: np.ndarray, value) -> np.ndarray:
    """A float64 result rounded back to ``x``'s dtype, subnormals flushed (TF's FTZ also
    applies to intermediate results, e.g. the sigmoid inside silu)."""
    return _flush_subnormals(np.asarray(value).astype(x.dtype, copy=False))


def _scalar(x: np.ndarray, value):
    """A Python number as a scalar of ``x``'s dtype (as ``ops.cast(value, x.dtype)``)."""
    return x.dtype.type(value)


def _check_axis_size(x: np.ndarray, axis: int) -> None:
    """Keras's glu: the split axis must have an even size."""
    if x.shape[axis] % 2 != 0:
        raise ValueError(
            "axis size must be divisible by 2. "
            f"Received: x.shape={x.shape} with axis={axis}"
        )


# --------------------------------------------------------------------------- ReLU family

@_register
def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """``max(x, 0)``; with Keras's ``negative_slope``, ``max_value`` and ``threshold``."""
    x = _as_float(x)
    if negative_slope != 0.0:
        if max_value is None and threshold == 0:
            return leaky_relu(x, negative_slope=negative_slope)
        negative_part = np.maximum(-x + _scalar(x, threshold), 0) if threshold != 0 \
            else np.maximum(-x, 0)
    clip_max = max_value is not None
    if threshold != 0:
        y = np.where(x > _scalar(x, threshold), x, _scalar(x, 0))
    elif max_value == 6:
        y = relu6(x)
        clip_max = False
    else:
        y = np.maximum(x, _scalar(x, 0))
    if clip_max:
        y = np.clip(y, _scalar(x, 0), _scalar(x, max_value))
    if negative_slope != 0.0:
        y = y - _scalar(x, negative_slope) * negative_part
    return y


@_register
def leaky_relu(x, negative_slope=0.2):
    """``x`` for ``x > 0``, else ``negative_slope * x``."""
    x = _as_float(x)
    return np.where(x > 0, x, x * _scalar(x, negative_slope))


@_register
def relu6(x):
    """``min(max(x, 0), 6)``."""
    x = _as_float(x)
    return np.clip(x, _scalar(x, 0), _scalar(x, 6))


def _exp(x: np.ndarray) -> np.ndarray:
    """``exp(x)`` correctly rounded to ``x``'s dtype (and flushed)."""
    with np.errstate(over="ignore"):
        return _rounded(x, np.exp(x.astype(np.float64)))


def _exp_minus_one(x: np.ndarray) -> np.ndarray:
    """``exp(x) - 1`` in ``x``'s dtype, not ``expm1``: TF's elu/selu kernels round this way."""
    return _exp(x) - x.dtype.type(1)


@_register
def elu(x, alpha=1.0):
    """``x`` for ``x > 0``, else ``alpha * (exp(x) - 1)``."""
    x = _as_float(x)
    res = np.where(x > 0, x, _exp_minus_one(np.minimum(x, _scalar(x, 0))))
    return res if alpha == 1 else np.where(x > 0, res, _scalar(x, alpha) * res)


@_register
def selu(x):
    """``scale * elu(x, alpha)`` with Klambauer et al.'s constants."""
    x = _as_float(x)
    neg = _scalar(x, _SELU_SCALE * _SELU_ALPHA) * _exp_minus_one(np.minimum(x, _scalar(x, 0)))
    return np.where(x > 0, _scalar(x, _SELU_SCALE) * x, neg)


@_register
def celu(x, alpha=1.0):
    """``max(x, 0) + alpha * expm1(min(x, 0) / alpha)``."""
    x = _as_float(x)
    x64 = x.astype(np.float64)
    return _rounded(x, np.maximum(x64, 0) + alpha * np.expm1(np.minimum(x64, 0) / alpha))


@_register
def threshold(x, threshold=None, default_value=None):
    """``x`` where ``x > threshold``, else ``default_value`` (both arguments required)."""
    if threshold is None or default_value is None:
        raise ValueError(
            "Activation 'threshold' needs the arguments `threshold` and `default_value`; "
            "a layer calls its activation with the input only (Keras fails there too). "
            "Pass a callable such as `lambda x: threshold(x, 0.5, 0.0)` instead."
        )
    x = _as_float(x)
    return np.where(x > threshold, x, _scalar(x, default_value))


# --------------------------------------------------------------------------- smooth ones

@_register
def sigmoid(x):
    """``1 / (1 + exp(-x))``."""
    x = _as_float(x)
    return _rounded(x, special.expit(x.astype(np.float64)))


@_register
def log_sigmoid(x):
    """``log(sigmoid(x)) = -softplus(-x)``."""
    x = _as_float(x)
    return _rounded(x, -np.logaddexp(0.0, -x.astype(np.float64)))


@_register
def softplus(x):
    """``log(exp(x) + 1)``."""
    x = _as_float(x)
    return _rounded(x, np.logaddexp(0.0, x.astype(np.float64)))


@_register
def softsign(x):
    """``x / (|x| + 1)``."""
    x = _as_float(x)
    x64 = x.astype(np.float64)
    return _rounded(x, x64 / (np.abs(x64) + 1.0))


@_register
def silu(x):
    """``x * sigmoid(x)`` (alias ``swish``)."""
    x = _as_float(x)
    return x * sigmoid(x)


@_register
def gelu(x, approximate=False):
    """``x * Phi(x)``; Keras's default is the exact erf form (``approximate=False``)."""
    x = _as_float(x)
    x64 = x.astype(np.float64)
    if approximate:
        inner = math.sqrt(2.0 / math.pi) * (x64 + 0.044715 * x64 ** 3)
        return _rounded(x, 0.5 * x64 * (1.0 + np.tanh(inner)))
    return _rounded(x, 0.5 * x64 * special.erfc(-x64 / math.sqrt(2.0)))


@_register
def glu(x, axis=-1):
    """``a * sigmoid(b)`` where ``a, b`` are the two halves of ``x`` along ``axis``."""
    x = _as_float(x)
    _check_axis_size(x, axis)
    a, b = np.split(x, 2, axis=axis)
    return a * sigmoid(b)


@_register
def tanh(x):
    """Hyperbolic tangent."""
    x = _as_float(x)
    return _rounded(x, np.tanh(x.astype(np.float64)))


@_register
def mish(x):
    """``x * tanh(softplus(x))``."""
    x = _as_float(x)
    return x * tanh(softplus(x))


@_register
def exponential(x):
    """``exp(x)`` (overflows to ``inf`` as TF does)."""
    x = _as_float(x)
    return _exp(x)


@_register
def softmax(x, axis=-1):
    """``exp(x - max) / sum(exp(x - max))`` along ``axis`` (an int, a tuple, or ``None``)."""
    x = _as_float(x)
    e = _exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True, dtype=x.dtype)


@_register
def log_softmax(x, axis=-1):
    """``x - max - log(sum(exp(x - max)))`` along ``axis``, in ``x``'s dtype as TF (so the
    largest entry gets exactly 0 when the others are negligible)."""
    x = _as_float(x)
    shifted = x - np.max(x, axis=axis, keepdims=True)
    total = np.sum(_exp(shifted), axis=axis, keepdims=True, dtype=x.dtype)
    return shifted - np.log(total)


# --------------------------------------------------------------------------- piecewise ones

@_register
def hard_sigmoid(x):
    """``relu6(x + 3) / 6``."""
    x = _as_float(x)
    return relu6(x + _scalar(x, 3.0)) / _scalar(x, 6.0)


@_register
def hard_silu(x):
    """``x * hard_sigmoid(x)`` (alias ``hard_swish``)."""
    x = _as_float(x)
    return x * hard_sigmoid(x)


@_register
def hard_tanh(x):
    """``x`` clipped to ``[-1, 1]``."""
    x = _as_float(x)
    return np.clip(x, _scalar(x, -1.0), _scalar(x, 1.0))


@_register
def hard_shrink(x, threshold=0.5):
    """``x`` where ``|x| > threshold``, else 0."""
    x = _as_float(x)
    return np.where(np.abs(x) > threshold, x, _scalar(x, 0))


@_register
def soft_shrink(x, threshold=0.5):
    """``x - threshold`` above ``threshold``, ``x + threshold`` below ``-threshold``, else 0."""
    x = _as_float(x)
    t = _scalar(x, threshold)
    return np.where(x > t, x - t, np.where(x < -t, x + t, _scalar(x, 0)))


@_register
def tanh_shrink(x):
    """``x - tanh(x)`` (in the input's dtype, as TF computes it)."""
    x = _as_float(x)
    return x - tanh(x)


@_register
def sparse_plus(x):
    """0 for ``x <= -1``, ``(x + 1)^2 / 4`` for ``-1 < x < 1``, ``x`` for ``x >= 1``."""
    x = _as_float(x)
    quad = _scalar(x, 0.25) * np.square(x + _scalar(x, 1))
    return np.where(x <= -1, _scalar(x, 0), np.where(x < 1, quad, x))


@_register
def sparse_sigmoid(x):
    """0 for ``x <= -1``, 1 for ``x >= 1``, ``(x + 1) / 2`` between."""
    x = _as_float(x)
    mid = _scalar(x, 0.5) * (x + _scalar(x, 1))
    return np.where(x <= -1, _scalar(x, 0), np.where(x >= 1, _scalar(x, 1), mid))


@_register
def squareplus(x, b=4):
    """``(x + sqrt(x^2 + b)) / 2``."""
    x = _as_float(x)
    return (x + np.sqrt(np.square(x) + _scalar(x, b))) / _scalar(x, 2)


@_register
def sparsemax(x, axis=-1):
    """Sparsemax along ``axis``, with Keras's TF-backend threshold (see module docstring)."""
    x = _as_float(x)
    ordered = -np.sort(-x, axis=axis)
    cumsum = np.cumsum(ordered, axis=axis, dtype=x.dtype)
    shape = [1] * x.ndim
    shape[axis] = -1
    r = np.arange(1, x.shape[axis] + 1, dtype=x.dtype).reshape(shape)
    support = ordered - (cumsum - _scalar(x, 1)) / r > 0
    k = np.sum(support, axis=axis, keepdims=True, dtype=x.dtype)
    total = np.sum(np.where(support, cumsum, _scalar(x, 0)), axis=axis, keepdims=True)
    tau = (total - _scalar(x, 1)) / k
    return np.maximum(x - tau, _scalar(x, 0))


@_register
def linear(x):
    """Identity: returns the input unmodified."""
    return _as_float(x)


# --------------------------------------------------------------------------- lookup

_CANONICAL_NAMES = {id(fn): name for name, fn in ALL_ACTIVATIONS.items()}
_BY_NAME = {**ALL_ACTIVATIONS, **{alias: ALL_ACTIVATIONS[t] for alias, t in _ALIASES.items()}}
_FUNCTION_MODULES = ("builtins", "keras.activations")


def _unknown(identifier) -> ValueError:
    return ValueError(
        f"Could not interpret activation function identifier: {identifier!r}. "
        f"Known activations: {', '.join(sorted(_BY_NAME))}"
    )


def _from_dict(config: dict):
    """Keras's generic deserialization of an activation dict (no ``module_objects``).

    Accepted, as in Keras: ``{"module": "keras.activations" | "builtins", "class_name":
    "function", "config": "<name>", ...}`` and ``{"module": "keras.activations",
    "class_name": "<name>", "config": {...} | None}``. Keras refuses dicts without a
    ``config`` key or without a module (``{"class_name": "relu"}``), and so do we.
    """
    if "class_name" not in config or "config" not in config:
        raise _unknown(config)
    class_name, module = config["class_name"], config.get("module")
    if class_name == "function":
        name = config["config"]
        ok = module in _FUNCTION_MODULES
    else:
        name = class_name
        ok = module == "keras.activations" and (
            config["config"] is None or isinstance(config["config"], dict))
    if not ok or not isinstance(name, str) or name not in _BY_NAME:
        raise _unknown(config)
    return _BY_NAME[name]


def get(identifier):
    """The activation ``identifier`` stands for, as ``keras.activations.get`` resolves it.

    ``None`` → :func:`linear`; a Keras name (``"relu"``, ``"swish"``, ...); a Keras
    serialized dict (see :func:`_from_dict`); a callable is returned as is. Anything else
    raises ``ValueError``.
    """
    if identifier is None:
        return linear
    if isinstance(identifier, dict):
        return _from_dict(identifier)
    if isinstance(identifier, str):
        if identifier not in _BY_NAME:
            raise _unknown(identifier)
        return _BY_NAME[identifier]
    if callable(identifier):
        return identifier
    raise _unknown(identifier)


def serialize(activation) -> str:
    """The name Keras stores in a layer config: the canonical Keras name for built-ins
    (``swish`` → ``"silu"``, ``None`` → ``"linear"``), a user callable's ``__name__``."""
    if activation is None:
        return "linear"
    if id(activation) in _CANONICAL_NAMES:
        return _CANONICAL_NAMES[id(activation)]
    return getattr(activation, "__name__", type(activation).__name__)
