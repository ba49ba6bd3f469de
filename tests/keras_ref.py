"""Run one layer configuration through both the engine and real Keras (TensorFlow backend).

``compare(cls_name, kwargs, x)`` is the single conformance check used by the property
tests: same accept/refuse decision, and when both accept, the same output shape, values
(within the DESIGN tolerance), ``compute_output_shape``, ``count_params`` and weight shapes.
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

import keras  # noqa: E402

import engine.layers as E  # noqa: E402

LOOSE_INTERPOLATIONS = {"bicubic", "lanczos3", "lanczos5", "area"}


def tolerance(kwargs) -> float:
    return 2e-3 if kwargs.get("interpolation") in LOOSE_INTERPOLATIONS else 1e-4


def assert_close(actual, expected, tol, context=""):
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, f"shape {actual.shape} != {expected.shape} {context}"
    err = np.abs(actual - expected) / np.maximum(1.0, np.abs(expected))
    worst = float(err.max()) if err.size else 0.0
    assert worst <= tol, (f"max relative error {worst:.3g} > {tol} {context} (non-finite "
                          f"values: engine {int((~np.isfinite(actual)).sum())}, expected "
                          f"{int((~np.isfinite(expected)).sum())} of {actual.size})")


def keras_outcome(cls_name, kwargs, x, weights):
    """Keras's output for ``x`` with ``weights`` (or the exception it raised)."""
    try:
        layer = getattr(keras.layers, cls_name)(**kwargs)
        layer.build(x.shape)
        if weights is not None:
            layer.set_weights(weights)
        y = np.asarray(layer(x))
        return layer, y, None
    except Exception as exc:  # Keras refuses with many exception types
        return None, None, exc


def keras_channels_first_bias_bug(cls_name, kwargs, y):
    """Keras 3.15's TensorFlow ``ops.add`` turns ``x + bias`` into ``tf.nn.bias_add`` and
    guesses NHWC whenever the last axis has as many entries as the bias. For a
    channels_first output whose last spatial size equals the channel count, Keras therefore
    adds the bias along the wrong axis (e.g. ``Conv2D(2, 1, data_format="channels_first")``
    on a (1, 1, 1, 2) input). The engine adds it per channel; for such cases the reference
    is Keras without bias and activation, plus the bias per channel, then Keras's activation."""
    has_bias = "Conv" in cls_name and kwargs.get("use_bias", True)
    return (has_bias and kwargs.get("data_format") == "channels_first" and y is not None
            and y.shape[-1] == y.shape[1])


def keras_softmax_single_axis_bug(kwargs, y):
    """TensorFlow's softmax over an axis of size 1 (a channels_first output whose last
    spatial size is 1: Keras's softmax takes axis -1) returns uninitialised memory for some
    heap states instead of 1: measured with the heap filled with 0xFF bytes before each
    call, 40 of 150 Keras outputs held NaN while the same layer without activation was
    finite (CI once failed on it). For such cases the reference is Keras without the
    activation, then softmax in NumPy (``exp(0) / exp(0)``)."""
    return (kwargs.get("activation") == "softmax" and y is not None and y.ndim > 1
            and y.shape[-1] == 1)


def keras_depthwise_unequal_strides_bug(cls_name, kwargs, x):
    """TensorFlow 2.21's CPU ``depthwise_conv2d`` leaves output cells uncomputed (zeros or
    leftover memory, NaN for some heap states) when the input has one channel, the depth
    multiplier is above 1 and the row stride differs from the column stride: measured on a
    grid of 48,600 configurations, 342 were wrong, all with one input channel, multiplier
    2–4 and strides (1, 2) or (1, 3); e.g. ``SeparableConv2D(2, 4, strides=(1, 3),
    padding="same", depth_multiplier=3, data_format="channels_first")`` on (2, 1, 6, 3)
    (CI once failed on it). Stride-1 depthwise convolutions were right in every case, so
    the reference for any 2D depthwise or separable layer with unequal strides is
    :func:`keras_by_subsampling`."""
    if not ("Depthwise" in cls_name or "Separable" in cls_name) or x.ndim != 4:
        return False
    strides = _per_axis(kwargs.get("strides", 1), 2)
    return strides[0] != strides[1]


def _per_axis(value, rank):
    return (value,) * rank if isinstance(value, int) else tuple(value)


def _spatial_axes(kwargs, ndim):
    """The spatial axes of an array of ``ndim`` axes in the layer's data format."""
    first = 2 if kwargs.get("data_format") == "channels_first" else 1
    return range(first, first + ndim - 2)


def tf_same_padding(x, kwargs):
    """``x`` padded with zeros as TensorFlow's ``padding="same"`` pads (the odd cell after);
    unchanged for ``"valid"``. Written from TF's documented rule, independent of the engine."""
    if kwargs.get("padding", "valid") == "valid":
        return x
    rank = x.ndim - 2
    pads = [(0, 0)] * x.ndim
    for i, axis in enumerate(_spatial_axes(kwargs, x.ndim)):
        k, s, d = (_per_axis(kwargs.get(name, 1), rank)[i]
                   for name in ("kernel_size", "strides", "dilation_rate"))
        n = x.shape[axis]
        total = max((-(-n // s) - 1) * s + (k - 1) * d + 1 - n, 0)
        pads[axis] = (total // 2, total - total // 2)
    return np.pad(x, pads)


def keras_by_subsampling(cls_name, kwargs, x, weights):
    """Keras's layer at stride 1 with ``padding="valid"`` on ``x`` padded as TF pads, keeping
    every stride-th cell: the strided layer's output before bias and activation (shape of
    the strided output). Stride 1 does not meet :func:`keras_depthwise_unequal_strides_bug`."""
    use_bias = kwargs.get("use_bias", True)
    plain = dict(kwargs, strides=1, padding="valid", use_bias=False, activation=None)
    _, z, error = keras_outcome(cls_name, plain, tf_same_padding(x, kwargs),
                                weights[:-1] if use_bias else weights)
    assert error is None, error
    strides = _per_axis(kwargs.get("strides", 1), x.ndim - 2)
    keep = [slice(None)] * x.ndim
    for axis, s in zip(_spatial_axes(kwargs, x.ndim), strides):
        keep[axis] = slice(None, None, s)
    return z[tuple(keep)]


def keras_head(z, kwargs, bias):
    """``activation(z + bias)``: the bias (or None) added per channel, Keras's activation,
    except softmax, which is computed in NumPy (see :func:`keras_softmax_single_axis_bug`)."""
    z = np.asarray(z, np.float64)
    if bias is not None:
        channel_axis = 1 if kwargs.get("data_format") == "channels_first" else z.ndim - 1
        shape = [1] * z.ndim
        shape[channel_axis] = -1
        z = z + bias.reshape(shape)
    if kwargs.get("activation") == "softmax":
        e = np.exp(z - z.max(axis=-1, keepdims=True))
        return (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)
    return np.asarray(keras.activations.get(kwargs.get("activation"))(z.astype(np.float32)))


def keras_reference(cls_name, kwargs, x, weights, y):
    """Keras's output for ``x``, routed around the TensorFlow bugs above: the Keras layer
    itself where no bug applies, else the bug-free Keras pieces plus :func:`keras_head`.
    Returns (layer, output, error) like :func:`keras_outcome`."""
    k_layer, k_y, k_error = keras_outcome(cls_name, kwargs, x, weights)
    if k_error is not None or weights is None:  # Keras refused, or the engine did
        return k_layer, k_y, k_error
    use_bias = "Conv" in cls_name and kwargs.get("use_bias", True)
    bias = weights[-1] if use_bias else None
    if keras_depthwise_unequal_strides_bug(cls_name, kwargs, x):
        z = keras_by_subsampling(cls_name, kwargs, x, weights)
    elif (keras_channels_first_bias_bug(cls_name, kwargs, y)
          or keras_softmax_single_axis_bug(kwargs, y)):
        plain = dict(kwargs, use_bias=False, activation=None)
        _, z, error = keras_outcome(cls_name, plain, x, weights[:-1] if use_bias else weights)
        assert error is None, error
    else:
        return k_layer, k_y, None
    return k_layer, keras_head(z, kwargs, bias), None


def compare(cls_name, kwargs, x):
    """Assert engine and Keras agree on ``cls_name(**kwargs)(x)``; returns the decision."""
    context = f"{cls_name}({kwargs}) on input {x.shape}"
    try:
        layer = getattr(E, cls_name)(**kwargs)
        y = layer(x)
        engine_error = None
    except ValueError as exc:
        layer, y, engine_error = None, None, exc
    weights = layer.get_weights() if layer is not None else None
    k_layer, k_y, k_error = keras_reference(cls_name, kwargs, x, weights, y)
    if k_error is not None:
        assert engine_error is not None, (
            f"Keras refused ({type(k_error).__name__}: {str(k_error)[:300]}) but the engine "
            f"accepted {context}")
        return "refused"
    assert engine_error is None, f"engine refused ({engine_error}) but Keras accepted {context}"
    assert_close(y, k_y, tolerance(kwargs), context)
    assert y.dtype == np.float32
    batchless = (None,) + tuple(x.shape[1:])
    assert tuple(layer.compute_output_shape(batchless)) == tuple(
        k_layer.compute_output_shape(batchless)), context
    assert layer.count_params() == k_layer.count_params(), context
    assert [w.shape for w in layer.get_weights()] == [
        tuple(w.shape) for w in k_layer.get_weights()], context
    return "accepted"
