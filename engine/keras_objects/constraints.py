"""Keras 3 weight constraints in NumPy: ``MaxNorm``, ``MinMaxNorm``, ``NonNeg``, ``UnitNorm``,
``get``, ``serialize``.

A constraint maps a weight array to its projection, in the weight's dtype, with Keras's
formulas: norms are ``sqrt(sum(w², axis, keepdims=True))`` along ``axis`` (default 0,
an int or a list of ints) and the rescaling divides by ``epsilon + norms`` (epsilon from
keras.json, default 1e-7), so e.g. ``UnitNorm`` leaves norms a hair below 1.
Names: ``"max_norm"``, ``"min_max_norm"``, ``"non_neg"``, ``"unit_norm"`` and the class
names (``"MaxNorm"``...), plus Keras's base ``"Constraint"``/``"constraint"`` (identity).
"""

from __future__ import annotations

import numpy as np

from engine.keras_objects._common import (
    KerasObject, build_table, epsilon, get_object, serialize_object,
)

__all__ = ["Constraint", "MaxNorm", "MinMaxNorm", "NonNeg", "UnitNorm", "get", "serialize",
           "ALL_OBJECTS_DICT"]


def _as_float(w) -> np.ndarray:
    w = np.asarray(w)
    return w if w.dtype.kind == "f" else w.astype(np.float32)


def _norms(w: np.ndarray, axis) -> np.ndarray:
    """L2 norms along ``axis`` (int or list), keeping dims, in ``w``'s dtype."""
    axis = tuple(axis) if isinstance(axis, (list, tuple)) else axis
    return np.sqrt(np.sum(np.square(w), axis=axis, keepdims=True, dtype=w.dtype))


def _rescale(w: np.ndarray, desired: np.ndarray, norms: np.ndarray) -> np.ndarray:
    """``w * (desired / (epsilon + norms))``, Keras's rescaling step."""
    return w * (desired / (w.dtype.type(epsilon()) + norms))


class Constraint(KerasObject):
    """Base class, as ``keras.constraints.Constraint``: the identity projection."""

    def __call__(self, w):
        return w


class MaxNorm(Constraint):
    """Rescale each slice along ``axis`` whose norm exceeds ``max_value`` down to it."""

    def __init__(self, max_value=2, axis=0):
        self.max_value = max_value
        self.axis = axis

    def __call__(self, w):
        w = _as_float(w)
        norms = _norms(w, self.axis)
        desired = np.clip(norms, w.dtype.type(0), w.dtype.type(self.max_value))
        return _rescale(w, desired, norms)

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


class NonNeg(Constraint):
    """Negative weights set to zero."""

    def __call__(self, w):
        w = _as_float(w)
        return np.maximum(w, w.dtype.type(0))


class UnitNorm(Constraint):
    """Each slice along ``axis`` divided by (epsilon +) its norm."""

    def __init__(self, axis=0):
        self.axis = axis

    def __call__(self, w):
        w = _as_float(w)
        norms = _norms(w, self.axis)
        return w / (w.dtype.type(epsilon()) + norms)

    def get_config(self):
        return {"axis": self.axis}


class MinMaxNorm(Constraint):
    """Norms moved towards ``[min_value, max_value]``:
    ``desired = rate * clip(norm, min, max) + (1 - rate) * norm``."""

    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        self.min_value = min_value
        self.max_value = max_value
        self.rate = rate
        self.axis = axis

    def __call__(self, w):
        w = _as_float(w)
        norms = _norms(w, self.axis)
        t = w.dtype.type
        clipped = np.clip(norms, t(self.min_value), t(self.max_value))
        desired = t(self.rate) * clipped + t(1 - self.rate) * norms
        return _rescale(w, desired, norms)

    def get_config(self):
        return {"min_value": self.min_value, "max_value": self.max_value,
                "rate": self.rate, "axis": self.axis}


_BUILTINS = (Constraint, MaxNorm, MinMaxNorm, NonNeg, UnitNorm)

#: Every name Keras accepts: class names and Keras's snake_case of them.
ALL_OBJECTS_DICT = build_table(_BUILTINS)


def get(identifier):
    """The constraint ``identifier`` stands for, as ``keras.constraints.get``: ``None``; a
    name; a config dict such as ``{"class_name": "MaxNorm", "config": {"max_value": 2,
    "axis": 0}}``; a class (instantiated); any callable ``f(w) -> w`` as is."""
    return get_object(identifier, ALL_OBJECTS_DICT, "constraint", from_string=lambda c: c())


def serialize(constraint):
    """Keras's ``{"module": "keras.constraints", "class_name", "config",
    "registered_name": None}`` for built-ins (``None`` → ``None``)."""
    return serialize_object(constraint, "keras.constraints", _BUILTINS)
