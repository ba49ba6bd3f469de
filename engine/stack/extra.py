"""Shape-only stand-ins for the Keras layers outside the convolutional family.

(Max/AveragePooling are not here: :mod:`engine.pooling` provides them as engine layers.)

A shape debugger meets Dense, pooling, BatchNormalization, activations, Dropout, Flatten,
Reshape, global pooling and merges between the convolutions. Each class here mirrors one
Keras 3 layer just enough for that: the constructor arguments and Keras's checks on them,
``compute_output_shape`` (Keras's rules, ``None`` carried through), ``weight_shapes`` (what
``build`` would create, in Keras's order; ``count_params`` counts them all, trainable or
not, as ``model.summary()`` does) and a plain NumPy ``call`` so that a stack can be run
on a real input to look at its feature maps (inference mode: Dropout is the identity,
BatchNormalization uses its initial moving statistics).

``kind`` tells the receptive-field arithmetic what the layer does to space:
``"pointwise"`` (every output cell sees only the same cell of the input), ``"pool"``
(a window like a convolution), ``"global"`` (every cell sees everything), ``"merge"``
and ``"reshape"`` (spatial axes lose their meaning).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from engine import shapes
from engine.keras_objects import resolve

_BASE_KWARGS = ("name", "trainable", "dtype", "autocast")
_LEGACY_KWARGS = ("input_shape", "input_dim", "batch_input_shape", "batch_size")


class ShapeLayer:
    """Base of the shape-only layers: name, base keyword arguments, no weights."""

    kind = "pointwise"
    n_inputs = 1          # 0 = any number >= 1 (merges), else exactly this many
    data_format = None
    rank = 0

    def __init__(self, **kwargs):
        for legacy in _LEGACY_KWARGS:
            kwargs.pop(legacy, None)
        extra = {k: v for k, v in kwargs.items() if k not in _BASE_KWARGS}
        if extra:
            raise ValueError(
                f"Unrecognized keyword arguments passed to {type(self).__name__}: {extra}")
        name = kwargs.get("name")
        if name is not None and not isinstance(name, str):
            raise ValueError(f"Argument `name` must be a string. Received: name={name!r}")
        self.name = name or type(self).__name__.lower()
        self.trainable = kwargs.get("trainable", True)

    # shapes -------------------------------------------------------------------------
    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def weight_shapes(self, input_shape):
        """``[(name, shape, trainable), ...]`` in Keras's weight order."""
        return []

    # values -------------------------------------------------------------------------
    def call(self, x, weights=None):
        return x

    def init_weights(self, input_shape, rng):
        return []

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"


class ShapeOnly:
    """Mixin for stand-ins whose values are not computed here (shapes and weights only):
    running a stack through one stops with a clear message."""

    def call(self, x, weights=None):
        raise ValueError(f"{type(self).__name__} is modelled for shapes and parameters only: "
                         "feature maps are not computed through it.")


def _check_ndim(layer, shape, ndim=None, min_ndim=None):
    if ndim is not None and len(shape) != ndim:
        raise ValueError(
            f'Input 0 of layer "{layer.name}" is incompatible with the layer: expected '
            f"ndim={ndim}, found ndim={len(shape)}. Full shape received: {tuple(shape)}")
    if min_ndim is not None and len(shape) < min_ndim:
        raise ValueError(
            f'Input 0 of layer "{layer.name}" is incompatible with the layer: expected '
            f"min_ndim={min_ndim}, found ndim={len(shape)}. Full shape received: "
            f"{tuple(shape)}")


def _real(value, name, layer):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(
            f"Invalid value for argument `{name}` of {layer}: expected a number. "
            f"Received: {name}={value!r}")
    return float(value)


# ------------------------------------------------------------------------------ Dense

class Dense(ShapeLayer):
    """``Dense(units)``: a matrix product on the last axis; ``(…, d)`` → ``(…, units)``."""

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 lora_rank=None, lora_alpha=None, quantization_config=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(units, bool) or not isinstance(units, numbers.Integral) or units <= 0:
            if not (isinstance(units, float) and units.is_integer() and units > 0):
                raise ValueError(
                    "Received an invalid value for `units`, expected a positive integer. "
                    f"Received: units={units!r}")
        self.units = int(units)
        self.activation = resolve("activation", activation, "activation")
        self.use_bias = bool(use_bias)

    def compute_output_shape(self, input_shape):
        _check_ndim(self, input_shape, min_ndim=2)
        return tuple(input_shape[:-1]) + (self.units,)

    def weight_shapes(self, input_shape):
        if input_shape[-1] is None:
            raise ValueError(
                f'The last dimension of the inputs to a Dense layer ("{self.name}") should '
                f"be defined. Found None. Full input shape received: {tuple(input_shape)}")
        out = [("kernel", (input_shape[-1], self.units), True)]
        if self.use_bias:
            out.append(("bias", (self.units,), True))
        return out

    def init_weights(self, input_shape, rng):
        fan_in, fan_out = input_shape[-1], self.units
        limit = math.sqrt(6.0 / (fan_in + fan_out))
        kernel = rng.uniform(-limit, limit, (fan_in, fan_out)).astype(np.float32)
        return [kernel] + ([np.zeros(self.units, np.float32)] if self.use_bias else [])

    def call(self, x, weights=None):
        y = np.tensordot(x, weights[0], axes=([-1], [0])).astype(np.float32)
        if self.use_bias:
            y = y + weights[1]
        if self.activation is not None:
            y = np.asarray(self.activation(y), np.float32)
        return y


# ------------------------------------------------------------------------------ pooling
# Max/AveragePooling live in :mod:`engine.pooling` (shared with engine.receptive).

class _GlobalPooling(ShapeLayer):
    kind = "global"
    mode = "average"

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = shapes.standardize_data_format(data_format)
        self.keepdims = bool(keepdims)

    def compute_output_shape(self, input_shape):
        _check_ndim(self, input_shape, ndim=self.rank + 2)
        batch, _, channels = shapes.split_shape(input_shape, self.rank, self.data_format,
                                                self.name)
        if not self.keepdims:
            return (batch, channels)
        return shapes.join_shape(batch, (1,) * self.rank, channels, self.data_format)

    def call(self, x, weights=None):
        axes = tuple(range(1, 1 + self.rank)) if self.data_format == "channels_last" else \
            tuple(range(2, 2 + self.rank))
        fn = np.max if self.mode == "max" else np.mean
        return fn(x, axis=axes, keepdims=self.keepdims).astype(np.float32)


def _global_class(name, rank, mode):
    return type(name, (_GlobalPooling,), {"rank": rank, "mode": mode,
                                          "__doc__": f"Keras's ``{name}``."})


GlobalAveragePooling1D = _global_class("GlobalAveragePooling1D", 1, "average")
GlobalAveragePooling2D = _global_class("GlobalAveragePooling2D", 2, "average")
GlobalAveragePooling3D = _global_class("GlobalAveragePooling3D", 3, "average")
GlobalMaxPooling1D = _global_class("GlobalMaxPooling1D", 1, "max")
GlobalMaxPooling2D = _global_class("GlobalMaxPooling2D", 2, "max")
GlobalMaxPooling3D = _global_class("GlobalMaxPooling3D", 3, "max")


# ------------------------------------------------------------------------------ normalization

def _norm_axis(axis, ndim, name):
    if axis >= ndim or axis < -ndim:
        raise ValueError(f"Axis {axis} is out of bounds for input shape of rank {ndim}. "
                         f"Received: axis={axis} (layer {name})")
    return axis % ndim


class BatchNormalization(ShapeLayer):
    """``BatchNormalization``: gamma, beta (trainable), moving_mean, moving_variance
    (non-trainable), each ``(C,)``: 4·C parameters, all counted by ``model.summary()``."""

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones",
                 moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, synchronized=False, renorm=False,
                 renorm_clipping=None, renorm_momentum=0.99, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
            raise ValueError(f"`axis` must be an integer. Received: axis={axis!r}")
        self.axis = int(axis)
        self.epsilon = _real(epsilon, "epsilon", "BatchNormalization")
        self.center, self.scale, self.renorm = bool(center), bool(scale), bool(renorm)

    def compute_output_shape(self, input_shape):
        _norm_axis(self.axis, len(input_shape), self.name)
        return tuple(input_shape)

    def weight_shapes(self, input_shape):
        c = input_shape[_norm_axis(self.axis, len(input_shape), self.name)]
        if c is None:
            raise ValueError(
                f'Axis {self.axis} of the input of layer "{self.name}" should have a defined '
                f"dimension. Received input_shape={tuple(input_shape)}")
        out = []
        if self.scale:
            out.append(("gamma", (c,), True))
        if self.center:
            out.append(("beta", (c,), True))
        out += [("moving_mean", (c,), False), ("moving_variance", (c,), False)]
        if self.renorm:
            out += [("moving_stddev", (c,), False), ("renorm_mean", (c,), False),
                    ("renorm_stddev", (c,), False)]
        return out

    def init_weights(self, input_shape, rng):
        values = {"gamma": 1.0, "beta": 0.0, "moving_mean": 0.0, "moving_variance": 1.0,
                  "moving_stddev": 1.0, "renorm_mean": 0.0, "renorm_stddev": 1.0}
        return [np.full(s, values[n], np.float32) for n, s, _ in self.weight_shapes(input_shape)]

    def call(self, x, weights=None):
        named = dict(zip([n for n, _, _ in self.weight_shapes(x.shape)], weights))
        axis = _norm_axis(self.axis, x.ndim, self.name)
        shape = [1] * x.ndim
        shape[axis] = x.shape[axis]
        inv = 1.0 / np.sqrt(named["moving_variance"] + self.epsilon)
        if self.scale:
            inv = inv * named["gamma"]
        y = (x - named["moving_mean"].reshape(shape)) * inv.reshape(shape)
        if self.center:
            y = y + named["beta"].reshape(shape)
        return y.astype(np.float32)


class LayerNormalization(ShapeLayer):
    """``LayerNormalization``: gamma and beta over ``axis`` (default the last)."""

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, rms_scaling=False,
                 beta_initializer="zeros", gamma_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.axis = tuple(axis) if isinstance(axis, (list, tuple)) else (axis,)
        self.epsilon = _real(epsilon, "epsilon", "LayerNormalization")
        self.center, self.scale = bool(center), bool(scale)
        self.rms_scaling = bool(rms_scaling)

    def _axes(self, shape):
        return sorted(_norm_axis(a, len(shape), self.name) for a in self.axis)

    def compute_output_shape(self, input_shape):
        self._axes(input_shape)
        return tuple(input_shape)

    def weight_shapes(self, input_shape):
        dims = tuple(input_shape[a] for a in self._axes(input_shape))
        if None in dims:
            raise ValueError(f'Layer "{self.name}" needs defined sizes on axis {self.axis}. '
                             f"Received input_shape={tuple(input_shape)}")
        out = []
        if self.scale or self.rms_scaling:
            out.append(("gamma", dims, True))
        if self.center and not self.rms_scaling:
            out.append(("beta", dims, True))
        return out

    def init_weights(self, input_shape, rng):
        return [np.full(s, 1.0 if n == "gamma" else 0.0, np.float32)
                for n, s, _ in self.weight_shapes(input_shape)]

    def call(self, x, weights=None):
        axes = tuple(self._axes(x.shape))
        mean = x.mean(axis=axes, keepdims=True)
        var = x.var(axis=axes, keepdims=True)
        return ((x - mean) / np.sqrt(var + self.epsilon)).astype(np.float32)


# ------------------------------------------------------------------------------ activations

class Activation(ShapeLayer):
    """``Activation(name)``: applies the activation; shape unchanged."""

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = resolve("activation", activation, "activation")

    def call(self, x, weights=None):
        if self.activation is None:
            return x
        return np.asarray(self.activation(x), np.float32)


class ReLU(ShapeLayer):
    """``ReLU(max_value=None, negative_slope=0.0, threshold=0.0)``."""

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        if max_value is not None and _real(max_value, "max_value", "ReLU") < 0:
            raise ValueError("max_value of a ReLU layer cannot be a negative value. "
                             f"Received: max_value={max_value}")
        if negative_slope is None or _real(negative_slope, "negative_slope", "ReLU") < 0:
            raise ValueError("negative_slope of a ReLU layer cannot be a negative value. "
                             f"Received: negative_slope={negative_slope}")
        if threshold is None or _real(threshold, "threshold", "ReLU") < 0:
            raise ValueError("threshold of a ReLU layer cannot be a negative value. "
                             f"Received: threshold={threshold}")
        self.max_value, self.negative_slope, self.threshold = max_value, negative_slope, threshold

    def call(self, x, weights=None):
        y = np.where(x >= self.threshold, x, self.negative_slope * (x - self.threshold))
        if self.max_value is not None:
            y = np.minimum(y, self.max_value)
        return y.astype(np.float32)


class LeakyReLU(ShapeLayer):
    """``LeakyReLU(negative_slope=0.3)`` (``alpha`` is Keras 2's name for it)."""

    def __init__(self, negative_slope=0.3, **kwargs):
        if "alpha" in kwargs:
            negative_slope = kwargs.pop("alpha")
        super().__init__(**kwargs)
        if negative_slope is None or _real(negative_slope, "negative_slope", "LeakyReLU") < 0:
            raise ValueError(
                "The negative_slope value of a Leaky ReLU layer cannot be None or negative "
                f"value. Expected a float. Received: negative_slope={negative_slope}")
        self.negative_slope = float(negative_slope)

    def call(self, x, weights=None):
        return np.where(x >= 0, x, self.negative_slope * x).astype(np.float32)


class ELU(ShapeLayer):
    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = _real(alpha, "alpha", "ELU")

    def call(self, x, weights=None):
        return np.where(x > 0, x, self.alpha * np.expm1(np.minimum(x, 0))).astype(np.float32)


class Softmax(ShapeLayer):
    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def call(self, x, weights=None):
        e = np.exp(x - x.max(axis=self.axis, keepdims=True))
        return (e / e.sum(axis=self.axis, keepdims=True)).astype(np.float32)


class Identity(ShapeLayer):
    pass


class Rescaling(ShapeLayer):
    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = _real(scale, "scale", "Rescaling")
        self.offset = _real(offset, "offset", "Rescaling")

    def call(self, x, weights=None):
        return (x * self.scale + self.offset).astype(np.float32)


# ------------------------------------------------------------------------------ regularization

def _check_rate(rate, name="rate"):
    if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not 0 <= rate <= 1:
        raise ValueError(f"Invalid value received for argument `{name}`. Expected a float "
                         f"value between 0 and 1. Received: {name}={rate!r}")
    return float(rate)


class Dropout(ShapeLayer):
    """``Dropout(rate)``: identity at inference."""

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = _check_rate(rate)
        self.noise_shape = noise_shape


class _SpatialDropout(ShapeLayer):
    def __init__(self, rate, data_format=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = _check_rate(rate)
        self.data_format = shapes.standardize_data_format(data_format)

    def compute_output_shape(self, input_shape):
        _check_ndim(self, input_shape, ndim=self.rank + 2)
        return tuple(input_shape)


class SpatialDropout1D(_SpatialDropout):
    rank = 1

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(rate, "channels_last", seed, **kwargs)


SpatialDropout2D = type("SpatialDropout2D", (_SpatialDropout,), {"rank": 2})
SpatialDropout3D = type("SpatialDropout3D", (_SpatialDropout,), {"rank": 3})


class GaussianNoise(ShapeLayer):
    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.stddev = _real(stddev, "stddev", "GaussianNoise")


class GaussianDropout(ShapeLayer):
    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = _check_rate(rate)


class AlphaDropout(GaussianDropout):
    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(rate, seed, **kwargs)


class ActivityRegularization(ShapeLayer):
    def __init__(self, l1=0.0, l2=0.0, **kwargs):
        super().__init__(**kwargs)


# ------------------------------------------------------------------------------ reshaping

class Flatten(ShapeLayer):
    """``Flatten``: ``(batch, …)`` → ``(batch, prod(…))`` (``None`` if any size unknown)."""

    kind = "reshape"

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = shapes.standardize_data_format(data_format)

    def compute_output_shape(self, input_shape):
        _check_ndim(self, input_shape, min_ndim=1)
        rest = tuple(input_shape[1:])
        if not rest:
            return (input_shape[0], 1)
        if None in rest:
            return (input_shape[0], None)
        return (input_shape[0], math.prod(rest))

    def call(self, x, weights=None):
        if self.data_format == "channels_first" and x.ndim > 2:
            x = np.moveaxis(x, 1, -1)
        return np.ascontiguousarray(x).reshape(x.shape[0], -1)


class Reshape(ShapeLayer):
    """``Reshape(target_shape)``: batch kept; one ``-1`` may be inferred."""

    kind = "reshape"

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        try:
            target = tuple(target_shape)
        except TypeError:
            target = (target_shape,)
        for d in target:
            if isinstance(d, bool) or not isinstance(d, numbers.Integral):
                raise ValueError("Each dimension in `target_shape` must be an integer. "
                                 f"Received: target_shape={target_shape!r}")
            if d < -1:
                raise ValueError(
                    "Each dimension in `target_shape` must be a non-negative integer, or `-1` "
                    f"for a single unknown dimension. Received: target_shape={target}.")
        if target.count(-1) > 1:
            raise ValueError("There must be at most one unknown dimension (-1) in "
                             f"`target_shape`. Received: target_shape={target}.")
        self.target_shape = tuple(int(d) for d in target)

    def compute_output_shape(self, input_shape):
        rest = tuple(input_shape[1:])
        target = self.target_shape
        if None in rest:
            return (input_shape[0],) + tuple(None if d == -1 else d for d in target)
        size = math.prod(rest)
        if -1 not in target:
            if size != math.prod(target):
                raise ValueError(
                    "The total size of the tensor must be unchanged. Received: "
                    f"input_shape={rest}, target_shape={target}")
            return (input_shape[0],) + target
        known = math.prod(d for d in target if d != -1)
        if known == 0 or size % known:
            raise ValueError(
                "The total size of the tensor must be unchanged, however, the input size "
                "cannot by divided by the specified dimensions in target_shape. Received: "
                f"input_shape={rest}, target_shape={target}")
        return (input_shape[0],) + tuple(size // known if d == -1 else d for d in target)

    def call(self, x, weights=None):
        return np.ascontiguousarray(x).reshape((x.shape[0],) + self.target_shape)


class Permute(ShapeLayer):
    """``Permute(dims)``: dims is a permutation of ``1..n`` (batch stays first)."""

    kind = "reshape"

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        dims = tuple(dims)
        if sorted(dims) != list(range(1, len(dims) + 1)):
            raise ValueError(
                "Invalid permutation argument `dims` for Permute Layer. The set of indices "
                f"in `dims` must be consecutive and start from 1. Received dims={dims}")
        self.dims = dims

    def compute_output_shape(self, input_shape):
        if len(input_shape) != len(self.dims) + 1:
            raise ValueError(
                f'Input 0 of layer "{self.name}" is incompatible with the layer: expected '
                f"ndim={len(self.dims) + 1}, found ndim={len(input_shape)}. Full shape "
                f"received: {tuple(input_shape)}")
        return (input_shape[0],) + tuple(input_shape[d] for d in self.dims)

    def call(self, x, weights=None):
        return np.ascontiguousarray(np.transpose(x, (0,) + self.dims))


# ------------------------------------------------------------------------------ merges

class _Merge(ShapeLayer):
    """Element-wise merge of a list of inputs with Keras's broadcasting rule."""

    kind = "merge"
    n_inputs = 0

    @staticmethod
    def _elementwise(shape1, shape2):
        if len(shape1) < len(shape2):
            shape1, shape2 = shape2, shape1
        if not shape2:
            return tuple(shape1)
        out = list(shape1[:-len(shape2)])
        for i, j in zip(shape1[-len(shape2):], shape2):
            if i is None or j is None:
                out.append(None)
            elif i == 1:
                out.append(j)
            elif j == 1:
                out.append(i)
            elif i != j:
                raise ValueError(
                    f"Inputs have incompatible shapes. Received shapes {tuple(shape1)} and "
                    f"{tuple(shape2)}")
            else:
                out.append(i)
        return tuple(out)

    def compute_output_shape(self, input_shapes):
        if not input_shapes:
            raise ValueError("A merge layer should be called on a list of at least 1 input. "
                             "Received 0 inputs.")
        batch = {s[0] for s in input_shapes} - {None}
        if len(batch) > 1:
            raise ValueError("Cannot merge tensors with different batch sizes. Received "
                             f"tensors with shapes {list(input_shapes)}")
        out = tuple(input_shapes[0][1:])
        for s in input_shapes[1:]:
            out = self._elementwise(out, tuple(s[1:]))
        return (batch.pop() if batch else None,) + out

    def call(self, xs, weights=None):
        y = xs[0]
        for x in xs[1:]:
            y = self._op(y, x)
        return np.asarray(y, np.float32)


def _merge_class(name, op):
    return type(name, (_Merge,), {"_op": staticmethod(op), "__doc__": f"Keras's ``{name}``."})


Add = _merge_class("Add", np.add)
Multiply = _merge_class("Multiply", np.multiply)
Maximum = _merge_class("Maximum", np.maximum)
Minimum = _merge_class("Minimum", np.minimum)


class Subtract(_Merge):
    """``Subtract``: exactly two inputs."""

    def compute_output_shape(self, input_shapes):
        if len(input_shapes) != 2:
            raise ValueError("A `Subtract` layer should be called on exactly 2 inputs. "
                             f"Received: input_shape={list(input_shapes)}")
        return super().compute_output_shape(input_shapes)

    def call(self, xs, weights=None):
        return (xs[0] - xs[1]).astype(np.float32)


class Average(_Merge):
    def call(self, xs, weights=None):
        return (sum(xs) / len(xs)).astype(np.float32)


class Concatenate(ShapeLayer):
    """``Concatenate(axis=-1)``: same shapes except along ``axis``."""

    kind = "merge"
    n_inputs = 0

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
            raise ValueError(f"`axis` must be an integer. Received: axis={axis!r}")
        self.axis = int(axis)

    def compute_output_shape(self, input_shapes):
        if not input_shapes:
            raise ValueError("A `Concatenate` layer should be called on a list of at least 1 "
                             "input. Received: input_shape=[]")
        message = ("A `Concatenate` layer requires inputs with matching shapes except for "
                   f"the concatenation axis. Received: input_shape={list(input_shapes)}")
        ranks = {len(s) for s in input_shapes}
        if len(ranks) != 1:
            raise ValueError(message)
        ndim = ranks.pop()
        axis = _norm_axis(self.axis, ndim, self.name)
        for k in range(ndim):
            if k == axis:
                continue
            sizes = {s[k] for s in input_shapes} - {None}
            if len(sizes) > 1:
                raise ValueError(message)
        out = list(input_shapes[0])
        for s in input_shapes[1:]:
            if out[axis] is None or s[axis] is None:
                out[axis] = None
                break
            out[axis] += s[axis]
        return tuple(out)

    def call(self, xs, weights=None):
        return np.concatenate(xs, axis=self.axis).astype(np.float32)


# ------------------------------------------------------------------------------ registry

SHAPE_LAYERS = {
    cls.__name__: cls
    for cls in (
        Dense, GlobalAveragePooling1D, GlobalAveragePooling2D,
        GlobalAveragePooling3D, GlobalMaxPooling1D, GlobalMaxPooling2D, GlobalMaxPooling3D,
        BatchNormalization, LayerNormalization, Activation, ReLU, LeakyReLU, ELU, Softmax,
        Identity, Rescaling, Dropout, SpatialDropout1D, SpatialDropout2D, SpatialDropout3D,
        GaussianNoise, GaussianDropout, AlphaDropout, ActivityRegularization, Flatten,
        Reshape, Permute, Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate,
    )
}
