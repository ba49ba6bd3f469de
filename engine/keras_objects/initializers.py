"""Keras 3 initializers in NumPy: every class of ``keras.initializers``, ``get``, ``serialize``.

Deterministic initializers (``Zeros``, ``Ones``, ``Constant``, ``Identity``, ``STFT``) return
exactly Keras's arrays. Random ones draw from the same distributions with the same
parameters as Keras (same limits, standard deviations, truncation at two standard
deviations, fan computation), from a NumPy ``Generator`` — the numbers themselves differ
from TensorFlow's.

Seeds behave as in Keras 3: an integer seed makes the initializer return the same array
on every call; ``seed=None`` draws a random integer seed once, when the initializer is
created, so two initializers built from the same name differ, while one initializer object
called twice for the same shape returns the same array (Keras's documented behaviour).
``get_config()`` reports the seed that was given (``None`` stays ``None``).
"""

from __future__ import annotations

import math

import numpy as np

from engine.keras_objects._common import (
    KerasObject, build_table, get_object, serialize_object, to_plain,
)

__all__ = [
    "Initializer", "Constant", "Zeros", "Ones", "Identity", "STFT", "RandomNormal",
    "TruncatedNormal", "RandomUniform", "VarianceScaling", "GlorotNormal", "GlorotUniform",
    "LecunNormal", "LecunUniform", "HeNormal", "HeUniform", "Orthogonal", "compute_fans",
    "get", "serialize", "ALL_OBJECTS_DICT",
]

#: Keras's truncated-normal correction: the stddev of a unit normal truncated to [-2, 2].
TRUNCATED_NORMAL_STDDEV = 0.87962566103423978


def _dtype(dtype) -> np.dtype:
    """Keras's ``standardize_dtype``: ``None`` means float32 (``floatx``)."""
    return np.dtype("float32" if dtype is None else dtype)


def _shape(shape) -> tuple:
    return tuple(int(d) for d in shape)


def compute_fans(shape, input_axes=None, output_axes=None):
    """``(fan_in, fan_out)`` exactly as ``keras.src.initializers.random_initializers``.

    Conv kernels ``(*spatial, in, out)``: receptive field size × ``in`` / × ``out``.
    With both ``input_axes`` and ``output_axes``, the products of those axes.
    """
    shape = tuple(shape)
    if input_axes is not None and output_axes is not None:
        return (int(math.prod(shape[a] for a in input_axes)),
                int(math.prod(shape[a] for a in output_axes)))
    if len(shape) < 1:
        return 1, 1
    if len(shape) == 1:
        return int(shape[0]), int(shape[0])
    if len(shape) == 2:
        return int(shape[0]), int(shape[1])
    receptive_field_size = math.prod(shape[:-2])
    return int(shape[-2] * receptive_field_size), int(shape[-1] * receptive_field_size)


def truncated_normal(rng: np.random.Generator, shape, mean=0.0, stddev=1.0) -> np.ndarray:
    """Normal samples redrawn until within two standard deviations of ``mean`` (as TF)."""
    z = rng.standard_normal(shape)
    outside = np.abs(z) > 2.0
    while outside.any():
        z[outside] = rng.standard_normal(int(outside.sum()))
        outside = np.abs(z) > 2.0
    return mean + stddev * z


# --------------------------------------------------------------------------- base classes

class Initializer(KerasObject):
    """Base class, as ``keras.initializers.Initializer``: subclasses implement ``__call__``."""

    def __call__(self, shape, dtype=None):
        raise NotImplementedError(
            "Initializer subclasses must implement the `__call__()` method."
        )

    def clone(self):
        return type(self).from_config(self.get_config())


class RandomInitializer(Initializer):
    """Seed handling shared by random initializers (see the module docstring)."""

    def __init__(self, seed=None):
        self._init_seed = seed
        if seed is None:
            seed = int(np.random.default_rng().integers(1, int(1e9), endpoint=True))
        elif isinstance(seed, dict) or not isinstance(seed, int):
            raise ValueError(
                "`seed` argument should be an instance of "
                "`keras.random.SeedGenerator()` or an integer. "
                f"Received: seed={seed}"
            )
        self.seed = seed

    def _rng(self) -> np.random.Generator:
        """A fresh generator from the seed: every call draws the same numbers."""
        return np.random.default_rng(self.seed)

    def get_config(self):
        return {"seed": self._init_seed}


# --------------------------------------------------------------------------- constants

class Constant(Initializer):
    """Every element equal to the scalar ``value``."""

    def __init__(self, value=0.0):
        self.value = value

    def __call__(self, shape, dtype=None):
        dtype = _dtype(dtype)
        return np.asarray(self.value).astype(dtype) * np.ones(_shape(shape), dtype=dtype)

    def get_config(self):
        return {"value": to_plain(self.value)}

    @classmethod
    def from_config(cls, config):
        """As Keras: the config must hold ``value`` (``get("constant")`` fails in Keras)."""
        return cls(config["value"])


class Zeros(Initializer):
    """All zeros."""

    def __call__(self, shape, dtype=None):
        return np.zeros(_shape(shape), dtype=_dtype(dtype))


class Ones(Initializer):
    """All ones."""

    def __call__(self, shape, dtype=None):
        return np.ones(_shape(shape), dtype=_dtype(dtype))


class Identity(Initializer):
    """``gain`` × the identity matrix (2-D shapes only, possibly rectangular).

    As in Keras 3, ``get_config()`` is empty: ``gain`` is not serialized (a Keras quirk
    kept so that layer configs equal Keras's).
    """

    def __init__(self, gain=1.0):
        self.gain = gain

    def __call__(self, shape, dtype=None):
        shape = _shape(shape)
        if len(shape) != 2:
            raise ValueError(
                "Identity matrix initializer can only be used for 2D matrices. "
                f"Received: shape={shape} of rank {len(shape)}."
            )
        dtype = _dtype(dtype)
        return (self.gain * np.eye(*shape, dtype=dtype)).astype(dtype)


class STFT(Initializer):
    """Real or imaginary DFT kernel of shape ``(frame_length, 1, fft_length // 2 + 1)``,
    optionally windowed (``scipy.signal.get_window``) and scaled, as Keras's ``STFT``."""

    def __init__(self, side="real", window="hann", scaling="density", periodic=False):
        if side not in ["real", "imag"]:
            raise ValueError(f"side should be 'real' or 'imag', not {side}")
        if isinstance(window, str):
            _get_window(window, 1, False)  # raises for an unknown window
        if scaling is not None and scaling not in ["density", "spectrum"]:
            raise ValueError(
                "Scaling is invalid, it must be `None`, 'density' "
                f"or 'spectrum'. Received scaling={scaling}"
            )
        self.side = side
        self.window = window
        self.scaling = scaling
        self.periodic = periodic

    def __call__(self, shape, dtype=None):
        dtype = _dtype(dtype)
        frame_length, _, fft_length = _shape(shape)
        time = np.arange(frame_length, dtype=dtype).reshape(frame_length, 1, 1)
        freq = np.arange(fft_length, dtype=dtype).reshape(1, 1, fft_length) / dtype.type(
            (fft_length - 1) * 2)
        args = (dtype.type(-2) * time * freq) * dtype.type(math.pi)
        kernel = (np.cos(args) if self.side == "real" else np.sin(args)).astype(dtype)
        win = self._window(frame_length, dtype)
        if win is None:
            return kernel
        return kernel * win / self._scale(win)

    def _window(self, frame_length, dtype):
        if self.window is None:
            return None
        win = self.window
        if isinstance(win, str):
            win = _get_window(win, frame_length, self.periodic)
        win = np.asarray(win, dtype=dtype)
        if win.ndim != 1 or win.shape[-1] != frame_length:
            raise ValueError(
                "The shape of `window` must be equal to [frame_length]."
                f"Received: window shape={win.shape}"
            )
        return win.reshape(frame_length, 1, 1)

    def _scale(self, win):
        if self.scaling == "density":
            return np.sqrt(np.sum(np.square(win)))
        if self.scaling == "spectrum":
            return np.sum(np.abs(win))
        return win.dtype.type(1)

    def get_config(self):
        return {"side": self.side, "window": to_plain(self.window),
                "periodic": self.periodic, "scaling": self.scaling}


def _get_window(name, length, periodic):
    from scipy import signal

    return signal.get_window(name, length, periodic)


# --------------------------------------------------------------------------- random

class RandomNormal(RandomInitializer):
    """Normal with ``mean`` and ``stddev``."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean = mean
        self.stddev = stddev
        super().__init__(seed=seed)

    def __call__(self, shape, dtype=None):
        values = self._rng().normal(self.mean, self.stddev, _shape(shape))
        return values.astype(_dtype(dtype))

    def get_config(self):
        return {**super().get_config(), "mean": self.mean, "stddev": self.stddev}


class TruncatedNormal(RandomNormal):
    """Normal with ``mean`` and ``stddev``, redrawn beyond two standard deviations."""

    def __call__(self, shape, dtype=None):
        values = truncated_normal(self._rng(), _shape(shape), self.mean, self.stddev)
        return values.astype(_dtype(dtype))


class RandomUniform(RandomInitializer):
    """Uniform on ``[minval, maxval)``."""

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        self.minval = minval
        self.maxval = maxval
        super().__init__(seed=seed)

    def __call__(self, shape, dtype=None):
        values = self._rng().uniform(self.minval, self.maxval, _shape(shape))
        return values.astype(_dtype(dtype))

    def get_config(self):
        return {**super().get_config(), "minval": self.minval, "maxval": self.maxval}


class VarianceScaling(RandomInitializer):
    """Variance ``scale / n`` with ``n`` the fan in, out or their mean (``mode``).

    ``distribution``: ``"truncated_normal"`` (``"normal"`` is its alias; the stddev is
    divided by 0.8796... so that the truncated draw has the intended variance),
    ``"untruncated_normal"`` or ``"uniform"`` (limit ``sqrt(3 * scale / n)``).
    """

    _MODES = {"fan_in", "fan_out", "fan_avg"}
    _DISTRIBUTIONS = {"uniform", "truncated_normal", "untruncated_normal"}

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None,
                 input_axes=None, output_axes=None):
        if scale <= 0.0:
            raise ValueError(
                f"Argument `scale` must be positive float. Received: scale={scale}")
        if mode not in self._MODES:
            raise ValueError(
                f"Invalid `mode` argument: {mode}. Please use one of {self._MODES}")
        distribution = distribution.lower()
        if distribution == "normal":
            distribution = "truncated_normal"
        if distribution not in self._DISTRIBUTIONS:
            raise ValueError(
                f"Invalid `distribution` argument: {distribution}."
                f"Please use one of {self._DISTRIBUTIONS}"
            )
        self.scale = scale
        self.mode = mode
        self.distribution = distribution
        self.input_axes = input_axes
        self.output_axes = output_axes
        super().__init__(seed=seed)

    def variance(self, shape) -> float:
        """``scale / max(1, n)`` for ``shape``, as Keras computes it."""
        fan_in, fan_out = compute_fans(shape, self.input_axes, self.output_axes)
        n = {"fan_in": fan_in, "fan_out": fan_out,
             "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        return self.scale / max(1.0, n)

    def __call__(self, shape, dtype=None):
        shape = _shape(shape)
        variance = self.variance(shape)
        rng = self._rng()
        if self.distribution == "truncated_normal":
            stddev = math.sqrt(variance) / TRUNCATED_NORMAL_STDDEV
            values = truncated_normal(rng, shape, 0.0, stddev)
        elif self.distribution == "untruncated_normal":
            values = rng.normal(0.0, math.sqrt(variance), shape)
        else:
            limit = math.sqrt(3.0 * variance)
            values = rng.uniform(-limit, limit, shape)
        return values.astype(_dtype(dtype))

    def get_config(self):
        return {**super().get_config(), "scale": self.scale, "mode": self.mode,
                "distribution": self.distribution, "input_axes": self.input_axes,
                "output_axes": self.output_axes}


def _preset(name, scale, mode, distribution, doc):
    """A named ``VarianceScaling`` whose config is only ``seed`` and the axes (as Keras)."""

    def __init__(self, seed=None, input_axes=None, output_axes=None):
        VarianceScaling.__init__(self, scale=scale, mode=mode, distribution=distribution,
                                 seed=seed, input_axes=input_axes, output_axes=output_axes)

    def get_config(self):
        return {"seed": self._init_seed, "input_axes": self.input_axes,
                "output_axes": self.output_axes}

    return type(name, (VarianceScaling,), {
        "__init__": __init__, "get_config": get_config, "__doc__": doc,
        "__module__": __name__, "__qualname__": name,
    })


GlorotUniform = _preset("GlorotUniform", 1.0, "fan_avg", "uniform",
                        "Uniform in ±sqrt(6 / (fan_in + fan_out)).")
GlorotNormal = _preset("GlorotNormal", 1.0, "fan_avg", "truncated_normal",
                       "Truncated normal, stddev sqrt(2 / (fan_in + fan_out)).")
LecunUniform = _preset("LecunUniform", 1.0, "fan_in", "uniform",
                       "Uniform in ±sqrt(3 / fan_in).")
LecunNormal = _preset("LecunNormal", 1.0, "fan_in", "truncated_normal",
                      "Truncated normal, stddev sqrt(1 / fan_in).")
HeUniform = _preset("HeUniform", 2.0, "fan_in", "uniform",
                    "Uniform in ±sqrt(6 / fan_in).")
HeNormal = _preset("HeNormal", 2.0, "fan_in", "truncated_normal",
                   "Truncated normal, stddev sqrt(2 / fan_in).")


class Orthogonal(RandomInitializer):
    """``gain`` × an orthogonal matrix from the QR decomposition of a normal draw,
    reshaped from ``(prod(shape[:-1]), shape[-1])`` (orthonormal rows if wide)."""

    def __init__(self, gain=1.0, seed=None):
        self.gain = gain
        super().__init__(seed=seed)

    def __call__(self, shape, dtype=None):
        shape = _shape(shape)
        if len(shape) < 2:
            raise ValueError(
                "The tensor to initialize must be at least two-dimensional. "
                f"Received: shape={shape} of rank {len(shape)}."
            )
        num_rows, num_cols = math.prod(shape[:-1]), shape[-1]
        flat_shape = (max(num_cols, num_rows), min(num_cols, num_rows))
        q, r = np.linalg.qr(self._rng().standard_normal(flat_shape))
        q = q * np.sign(np.diag(r))
        if num_rows < num_cols:
            q = q.T
        return (self.gain * q.reshape(shape)).astype(_dtype(dtype))

    def get_config(self):
        return {**super().get_config(), "gain": self.gain}


# --------------------------------------------------------------------------- lookup

_BUILTINS = (Initializer, Constant, Identity, Ones, STFT, Zeros, GlorotNormal, GlorotUniform,
             HeNormal, HeUniform, LecunNormal, LecunUniform, Orthogonal, RandomNormal,
             RandomUniform, TruncatedNormal, VarianceScaling)

#: Every name Keras accepts (case-sensitive): CamelCase, snake_case and Keras's aliases.
ALL_OBJECTS_DICT = build_table(_BUILTINS, {
    "IdentityInitializer": Identity, "normal": RandomNormal, "one": Ones,
    "STFTInitializer": STFT, "OrthogonalInitializer": Orthogonal, "uniform": RandomUniform,
    "zero": Zeros,
})


def _array_initializer(value: np.ndarray):
    """Keras accepts an array as initializer: it returns that array for its own shape."""

    def initialize_fn(shape, dtype=None):
        if _shape(shape) != value.shape:
            raise ValueError(
                f"Expected `shape` to be {value.shape} for direct tensor as initializer. "
                f"Received shape={shape}"
            )
        return value.astype(_dtype(dtype))

    return initialize_fn


def get(identifier):
    """The initializer ``identifier`` stands for, as ``keras.initializers.get``.

    ``None`` → ``None``; a name (``"he_normal"``, ``"HeNormal"``, ``"normal"``, ...) → the
    class built from an empty config (so ``"constant"`` is refused, as in Keras, which
    needs a ``value``); a config dict (``{"class_name": "he_normal", "config": {"seed":
    7}}`` or Keras's full serialized form); a class → an instance; an array → an
    initializer returning it; any other callable ``f(shape, dtype=None)`` as is.
    """
    if isinstance(identifier, np.ndarray) or isinstance(identifier, np.generic):
        return _array_initializer(np.asarray(identifier))
    return get_object(identifier, ALL_OBJECTS_DICT, "initializer",
                      from_string=lambda cls: cls.from_config({}))


def serialize(initializer):
    """Keras's ``{"module": "keras.initializers", "class_name", "config",
    "registered_name": None}`` for built-ins (``None`` → ``None``)."""
    return serialize_object(initializer, "keras.initializers", _BUILTINS)
