"""Vector–Jacobian products of Keras activations, for the effective receptive field with an
input (``weights="actual"``, ``x`` given).

Derivatives are analytic, in float64, at the layer's pre-activation values, with
TensorFlow's conventions at kinks (``relu'(0) = 0``, ``relu6'(6) = 0``...). ``softmax`` and
``log_softmax`` get their full Jacobian along ``axis`` (the channel axis for channels_last).
Any other callable is treated as elementwise and differentiated by central differences in
float64 (documented approximation; exact formulas cover every Keras name except ``glu``,
``sparsemax`` and ``threshold``, which are refused).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special

from engine.keras_objects import activations as _acts

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _sigmoid(z):
    return special.expit(z)


def _hard_sigmoid_d(z):
    return np.where((z > -3) & (z < 3), 1.0 / 6.0, 0.0)


def _gelu_d(z):
    return special.ndtr(z) + z * np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)


_DERIVATIVES = {
    "linear": lambda z: np.ones_like(z),
    "relu": lambda z: (z > 0).astype(np.float64),
    "relu6": lambda z: ((z > 0) & (z < 6)).astype(np.float64),
    "leaky_relu": lambda z: np.where(z > 0, 1.0, 0.2),
    "elu": lambda z: np.where(z > 0, 1.0, np.exp(np.minimum(z, 0))),
    "selu": lambda z: _SELU_SCALE * np.where(z > 0, 1.0, _SELU_ALPHA * np.exp(np.minimum(z, 0))),
    "celu": lambda z: np.where(z > 0, 1.0, np.exp(np.minimum(z, 0))),
    "sigmoid": lambda z: _sigmoid(z) * (1 - _sigmoid(z)),
    "log_sigmoid": lambda z: _sigmoid(-z),
    "hard_sigmoid": _hard_sigmoid_d,
    "hard_silu": lambda z: np.clip(z + 3, 0, 6) / 6 + z * _hard_sigmoid_d(z),
    "hard_tanh": lambda z: ((z >= -1) & (z <= 1)).astype(np.float64),
    "tanh": lambda z: 1 - np.tanh(z) ** 2,
    "tanh_shrink": lambda z: np.tanh(z) ** 2,
    "softplus": _sigmoid,
    "softsign": lambda z: 1 / (1 + np.abs(z)) ** 2,
    "silu": lambda z: _sigmoid(z) * (1 + z * (1 - _sigmoid(z))),
    "gelu": _gelu_d,
    "mish": lambda z: (np.tanh(np.logaddexp(0, z))
                       + z * (1 - np.tanh(np.logaddexp(0, z)) ** 2) * _sigmoid(z)),
    "exponential": np.exp,
    "hard_shrink": lambda z: (np.abs(z) > 0.5).astype(np.float64),
    "soft_shrink": lambda z: (np.abs(z) > 0.5).astype(np.float64),
    "sparse_plus": lambda z: np.where(z <= -1, 0.0, np.where(z < 1, 0.5 * (z + 1), 1.0)),
    "sparse_sigmoid": lambda z: np.where((z > -1) & (z < 1), 0.5, 0.0),
    "squareplus": lambda z: 0.5 * (1 + z / np.sqrt(z * z + 4)),
}
_REFUSED = ("glu", "sparsemax", "threshold")


def activation_name(fn):
    """Keras name of an engine activation function, or None for a user callable."""
    if fn is None:
        return "linear"
    for name, registered in _acts.ALL_ACTIVATIONS.items():
        if fn is registered:
            return name
    return None


def check_supported(fn, data_format):
    """ValueError for activations whose Jacobian this module does not provide."""
    name = activation_name(fn)
    if name in _REFUSED:
        raise ValueError(
            f"The effective receptive field with an input does not support "
            f"activation='{name}' (its Jacobian is not elementwise). Pass x=None to treat "
            "activations as identity."
        )
    if name in ("softmax", "log_softmax") and data_format != "channels_last":
        raise ValueError(
            f"activation='{name}' on a channels_first layer normalises along the last "
            "spatial axis (Keras's axis=-1), which couples every position of that axis; the "
            "effective receptive field supports it only for channels_last."
        )


def vjp(fn, z, g):
    """``g · ∂fn/∂z`` at ``z`` (channels-last arrays of the same shape), float64."""
    z = np.asarray(z, np.float64)
    g = np.asarray(g, np.float64)
    name = activation_name(fn)
    if name == "softmax":
        s = special.softmax(z, axis=-1)
        return s * (g - np.sum(s * g, axis=-1, keepdims=True))
    if name == "log_softmax":
        s = special.softmax(z, axis=-1)
        return g - s * np.sum(g, axis=-1, keepdims=True)
    if name in _DERIVATIVES:
        return g * _DERIVATIVES[name](z)
    h = 1e-4 * np.maximum(1.0, np.abs(z))
    up = np.asarray(fn(z + h), np.float64)
    down = np.asarray(fn(z - h), np.float64)
    return g * (up - down) / (2 * h)
