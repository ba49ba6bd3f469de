"""Keras 3 regularizers in NumPy: ``L1``, ``L2``, ``L1L2``, ``OrthogonalRegularizer``,
``get``, ``serialize`` and :func:`activity_penalty`.

Penalties are computed in the weight's dtype (float32 for layer weights) with the factor
cast to that dtype first, in Keras's order, and returned as a Python float.

Names, as Keras 3 accepts them (case-sensitive): ``"l1"``/``"L1"`` → ``L1(0.01)``,
``"l2"``/``"L2"`` → ``L2(0.01)``, ``"l1l2"``/``"L1L2"`` → ``L1L2(l1=0.0, l2=0.0)`` (Keras's
snake_case of ``L1L2`` is ``l1l2``; the string ``"l1_l2"`` is *refused* by Keras 3 and here),
``"orthogonal_regularizer"``/``"OrthogonalRegularizer"`` → factor 0.01, mode ``"rows"``.
"""

from __future__ import annotations

import math

import numpy as np

from engine.keras_objects._common import (
    KerasObject, build_table, epsilon, get_object, serialize_object,
)

__all__ = ["Regularizer", "L1", "L2", "L1L2", "OrthogonalRegularizer", "get", "serialize",
           "activity_penalty", "validate_float_arg", "ALL_OBJECTS_DICT"]


def validate_float_arg(value, name: str) -> float:
    """Keras's check on penalty factors: an ``int`` or ``float`` (so ``True`` passes and a
    NumPy float32 does not, as in Keras), finite and non-negative; else ``ValueError``."""
    if (not isinstance(value, (float, int)) or math.isinf(value) or math.isnan(value)
            or value < 0):
        raise ValueError(
            f"Invalid value for argument {name}: expected a non-negative float."
            f"Received: {name}={value}"
        )
    return float(value)


def _as_float(x) -> np.ndarray:
    x = np.asarray(x)
    return x if x.dtype.kind == "f" else x.astype(np.float32)


def _weighted_sum(factor, values: np.ndarray):
    """``cast(factor, dtype) * sum(values)`` in the values' dtype."""
    return values.dtype.type(factor) * np.sum(values, dtype=values.dtype)


class Regularizer(KerasObject):
    """Base class, as ``keras.regularizers.Regularizer``: the base penalty is 0."""

    def __call__(self, x) -> float:
        return 0.0

    def get_config(self):
        raise NotImplementedError(f"{object.__repr__(self)} does not implement get_config()")


class L1(Regularizer):
    """``l1 * sum(|x|)``. Keras keeps ``l1`` as a float32 tensor, so the config reports
    ``float(float32(l1))`` (0.01 → 0.009999999776482582); so do we."""

    def __init__(self, l1=0.01):
        l1 = 0.01 if l1 is None else l1
        self.l1 = np.float32(validate_float_arg(l1, name="l1"))

    def __call__(self, x) -> float:
        x = _as_float(x)
        return float(_weighted_sum(self.l1, np.abs(x)))

    def get_config(self):
        return {"l1": float(self.l1)}


class L2(Regularizer):
    """``l2 * sum(x²)``."""

    def __init__(self, l2=0.01):
        l2 = 0.01 if l2 is None else l2
        self.l2 = validate_float_arg(l2, name="l2")

    def __call__(self, x) -> float:
        x = _as_float(x)
        return float(_weighted_sum(self.l2, np.square(x)))

    def get_config(self):
        return {"l2": self.l2}


class L1L2(Regularizer):
    """``l1 * sum(|x|) + l2 * sum(x²)``; both default to 0 (unlike ``L1`` / ``L2``)."""

    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = validate_float_arg(0.0 if l1 is None else l1, name="l1")
        self.l2 = validate_float_arg(0.0 if l2 is None else l2, name="l2")

    def __call__(self, x) -> float:
        x = _as_float(x)
        total = x.dtype.type(0.0)
        if self.l1 != 0.0:
            total += _weighted_sum(self.l1, np.abs(x))
        if self.l2 != 0.0:
            total += _weighted_sum(self.l2, np.square(x))
        return float(total)

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


def _l2_normalize(x: np.ndarray, axis: int) -> np.ndarray:
    """``keras.ops.normalize(x, axis)``: ``x * min(rsqrt(sum(x²)), 1 / epsilon)``."""
    square_sum = np.sum(np.square(x), axis=axis, keepdims=True, dtype=x.dtype)
    with np.errstate(divide="ignore"):
        inv_norm = x.dtype.type(1) / np.sqrt(square_sum)
    return x * np.minimum(inv_norm, x.dtype.type(1.0 / epsilon()))


class OrthogonalRegularizer(Regularizer):
    """``factor * 0.5 * sum(|off-diagonal cosine similarities|) / (n (n - 1) / 2)`` of the
    rows (``mode="rows"``) or columns of a rank-2 weight; other ranks raise ``ValueError``.
    A single row (column) gives NaN, as in Keras (0 / 0)."""

    def __init__(self, factor=0.01, mode="rows"):
        validate_float_arg(factor, name="factor")
        self.factor = np.float32(factor)
        if mode not in {"rows", "columns"}:
            raise ValueError(
                "Invalid value for argument `mode`. Expected one of "
                f'{{"rows", "columns"}}. Received: mode={mode}'
            )
        self.mode = mode

    def __call__(self, inputs) -> float:
        x = _as_float(inputs)
        if x.ndim != 2:
            raise ValueError(
                "Inputs to OrthogonalRegularizer must have rank 2. Received: "
                f"inputs.shape={x.shape}"
            )
        if self.mode == "columns":
            x = x.T
        x = _l2_normalize(x, axis=1)
        size = x.shape[0]
        product = (x @ x.T) * (x.dtype.type(1) - np.eye(size, dtype=x.dtype))
        num_pairs = size * (size - 1.0) / 2.0
        with np.errstate(invalid="ignore", divide="ignore"):
            value = (x.dtype.type(self.factor) * x.dtype.type(0.5)
                     * np.sum(np.abs(product), dtype=x.dtype) / x.dtype.type(num_pairs))
        return float(value)

    def get_config(self):
        return {"factor": float(self.factor), "mode": self.mode}


_BUILTINS = (Regularizer, L1, L2, L1L2, OrthogonalRegularizer)

#: Every name Keras accepts: class names and Keras's snake_case of them.
ALL_OBJECTS_DICT = build_table(_BUILTINS)


def get(identifier):
    """The regularizer ``identifier`` stands for, as ``keras.regularizers.get``: ``None``;
    a name (module docstring); a config dict such as ``{"class_name": "L1L2", "config":
    {"l1": 0.01, "l2": 0.02}}``; a class (instantiated); any callable ``f(w) -> float``."""
    return get_object(identifier, ALL_OBJECTS_DICT, "regularizer", from_string=lambda c: c())


def serialize(regularizer):
    """Keras's ``{"module": "keras.regularizers", "class_name", "config",
    "registered_name": None}`` for built-ins (``None`` → ``None``)."""
    return serialize_object(regularizer, "keras.regularizers", _BUILTINS)


def activity_penalty(regularizer, outputs) -> float:
    """The activity-regularization loss Keras 3 adds when a layer is called.

    Keras (``keras/src/layers/layer.py``, ``Layer.__call__``) applies the regularizer to
    each output tensor and, when the output has at least one dimension, divides the
    penalty by the batch size ``output.shape[0]`` with ``divide_no_nan`` (an empty batch
    gives 0), in the penalty's dtype. Scalar outputs are not divided. For several outputs
    Keras adds one loss each; this returns their sum. ``regularizer=None`` gives 0.0.
    """
    if regularizer is None:
        return 0.0
    if isinstance(outputs, (list, tuple)):
        return float(sum(activity_penalty(regularizer, out) for out in outputs))
    y = _as_float(outputs)
    loss = regularizer(y)
    # Built-ins return a Python float computed in y's dtype: back to that dtype, as Keras.
    loss = np.asarray(loss, dtype=y.dtype if isinstance(loss, (int, float)) else None)
    if loss.dtype.kind != "f":
        loss = loss.astype(y.dtype)
    if y.ndim == 0:
        return float(loss)
    batch_size = y.shape[0]
    if batch_size == 0:
        return 0.0
    return float(loss / loss.dtype.type(batch_size))
