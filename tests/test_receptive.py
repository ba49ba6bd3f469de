"""engine.receptive, engine.pooling and engine.kernels.backward.

- contribution maps and masks against TensorFlow gradients (GradientTape on a Keras model
  built from the same stack, kernels 1 and biases 0, or the engine's own weights with an
  input and activations) on random stacks of every layer kind (hypothesis);
- the arithmetic table against hand-derived cases (Araujo et al., Distill 2019: VGG-like,
  WaveNet-like dilated Conv1D) and the published numbers of VGG-16, AlexNet v2, MobileNet v1;
- the backward kernels against NumPy references (adjoint identities);
- the pooling layers against Keras;
- the effective field growing like √n; the speed target; the Streamlit page.
"""

from __future__ import annotations

import os
from fractions import Fraction

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import HealthCheck, assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import engine.layers as E  # noqa: E402
import engine.pooling as EP  # noqa: E402
from engine.kernels import backward as bk  # noqa: E402
from engine.kernels import conv as ck  # noqa: E402
from engine.receptive import (ReceptivePlan, contribution_map, describe_field,  # noqa: E402
                              effective_fraction, erf_growth, field_box, receptive_field,
                              receptive_field_mask)

EXAMPLES = int(os.environ.get("CONVLAB_RF_EXAMPLES", "80"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                    suppress_health_check=list(HealthCheck))
SIGNED = ("bicubic", "lanczos3", "lanczos5")


# =========================================================================== references

def engine_layer(name, kwargs):
    cls = getattr(E, name, None) or getattr(EP, name)
    return cls(**kwargs)


def keras_gradient(specs, input_shape, index, weights=None, x=None, ones=True):
    """TensorFlow's gradient of Σ_c y[0, *index, c] w.r.t. the input, summed over channels.

    ``ones``: kernels 1, biases 0, activation removed, max pooling replaced by average
    pooling (the engine's all-ones semantics). Otherwise ``weights`` (per layer, Keras
    order) are set and ``x`` is the input."""
    import keras
    import tensorflow as tf

    fmt = _format(specs)
    layers = []
    for name, kwargs in specs:
        kwargs = dict(kwargs)
        if ones:
            kwargs.pop("activation", None)
            name = name.replace("MaxPooling", "AveragePooling")
        layers.append(getattr(keras.layers, name)(**kwargs))
    model = keras.Sequential([keras.Input(shape=input_shape[1:], batch_size=input_shape[0])]
                             + layers)
    for i, layer in enumerate(layers):
        if ones:
            layer.set_weights([np.ones(w.shape, np.float32) if "bias" not in v.path else
                               np.zeros(w.shape, np.float32)
                               for w, v in zip(layer.get_weights(), layer.weights)])
        elif weights is not None and weights[i]:
            layer.set_weights(weights[i])
    xt = tf.Variable(np.zeros(input_shape, np.float32) if x is None else x)
    with tf.GradientTape() as tape:
        y = model(xt)
        sel = y[(0, *index, slice(None))] if fmt == "channels_last" else y[(0, slice(None), *index)]
        total = tf.reduce_sum(sel)
    g = tape.gradient(total, xt).numpy()[0]
    return g.sum(axis=-1 if fmt == "channels_last" else 0).astype(np.float64)


def _format(specs):
    for _, kwargs in specs:
        if "data_format" in kwargs:
            return kwargs["data_format"]
    return "channels_last"


def avoid_keras_bias_bug(plan):
    """Keras 3.15 (TF) adds a channels_first bias along the last axis when that axis has as
    many entries as there are channels (see tests/keras_ref.py): no valid reference then."""
    for step in plan.steps:
        out = step.out_shape
        if (step.kind in ("conv", "depthwise", "separable", "transpose")
                and step.layer.data_format == "channels_first" and step.layer.use_bias
                and out[-1] == out[1]):
            assume(False)


def assert_maps_close(ours, ref, tol, context=""):
    assert ours.shape == ref.shape, (ours.shape, ref.shape, context)
    scale = max(1.0, float(np.abs(ref).max()))
    err = float(np.abs(ours - ref).max()) / scale
    assert err <= tol, f"relative error {err:.3g} > {tol}: {context}"


# =========================================================================== random stacks

MAX_SIZE = {1: 14, 2: 9, 3: 5}


def per_axis(draw, rank, lo, hi):
    if draw(st.booleans()):
        return draw(st.integers(lo, hi))
    return tuple(draw(st.integers(lo, hi)) for _ in range(rank))


@st.composite
def layer_spec(draw, rank, fmt, channels, interpolations=("bilinear", "bicubic", "lanczos3",
                                                           "lanczos5", "nearest")):
    """(class name, kwargs, channels after the layer)."""
    kinds = ["conv", "conv", "transpose", "crop", "pad", "up", "maxpool", "avgpool"]
    if rank <= 2:
        kinds += ["depthwise", "separable"]
    if rank == 1 and fmt == "channels_first":
        kinds = [k for k in kinds if k not in ("crop", "up")]  # always channels_last in Keras
    kind = draw(st.sampled_from(kinds))
    r = f"{rank}D"
    fmt_kw = {} if (rank == 1 and kind in ("crop", "up")) else {"data_format": fmt}
    strided = draw(st.booleans())
    geometry = {
        "kernel_size": per_axis(draw, rank, 1, 4),
        "strides": per_axis(draw, rank, 1, 3) if strided else 1,
        "dilation_rate": 1 if strided else per_axis(draw, rank, 1, 3),
    }
    if kind == "conv":
        groups = draw(st.sampled_from([g for g in (1, 2, 3) if channels % g == 0]))
        filters = groups * draw(st.integers(1, 2))
        pads = ["valid", "same"] + (["causal"] if rank == 1 else [])
        return (f"Conv{r}", dict(filters=filters, groups=groups, padding=draw(
            st.sampled_from(pads)), **geometry, **fmt_kw), filters)
    if kind == "depthwise":
        m = draw(st.integers(1, 2))
        return (f"DepthwiseConv{r}", dict(depth_multiplier=m, padding=draw(
            st.sampled_from(["valid", "same"])), **geometry, **fmt_kw), channels * m)
    if kind == "separable":
        filters = draw(st.integers(1, 3))
        return (f"SeparableConv{r}", dict(filters=filters, depth_multiplier=draw(
            st.integers(1, 2)), padding=draw(st.sampled_from(["valid", "same"])), **geometry,
            **fmt_kw), filters)
    if kind == "transpose":
        filters = draw(st.integers(1, 3))
        kw = dict(filters=filters, padding=draw(st.sampled_from(["valid", "same"])), **geometry,
                  **fmt_kw)
        if strided and draw(st.booleans()):
            strides = kw["strides"] if isinstance(kw["strides"], tuple) else (kw["strides"],) * rank
            kw["output_padding"] = tuple(draw(st.integers(0, s - 1)) for s in strides)
        return (f"Conv{r}Transpose", kw, filters)
    if kind == "crop":
        return (f"Cropping{r}", dict(cropping=tuple(
            (draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in range(rank))
            if rank > 1 else (draw(st.integers(0, 2)), draw(st.integers(0, 2))), **fmt_kw),
            channels)
    if kind == "pad":
        return (f"ZeroPadding{r}", dict(padding=tuple(
            (draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in range(rank))
            if rank > 1 else (draw(st.integers(0, 2)), draw(st.integers(0, 2))), **fmt_kw),
            channels)
    if kind == "up":
        size = draw(st.integers(1, 3)) if rank == 1 else per_axis(draw, rank, 1, 3)
        kw = dict(size=size, **fmt_kw)
        if rank == 2:
            kw["interpolation"] = draw(st.sampled_from(interpolations))
        return (f"UpSampling{r}", kw, channels)
    pool = per_axis(draw, rank, 1, 3)
    name = "MaxPooling" if kind == "maxpool" else "AveragePooling"
    return (f"{name}{r}", dict(pool_size=pool, strides=draw(st.one_of(
        st.none(), st.just(per_axis(draw, rank, 1, 3)))), padding=draw(
        st.sampled_from(["valid", "same"])), **fmt_kw), channels)


@st.composite
def stack_case(draw, max_layers=4, rank=None, **kw):
    rank = draw(st.sampled_from([1, 1, 2, 2, 2, 3])) if rank is None else rank
    fmt = draw(st.sampled_from(["channels_last", "channels_first"]))
    channels = draw(st.integers(1, 3))
    spatial = tuple(draw(st.integers(2, MAX_SIZE[rank])) for _ in range(rank))
    input_shape = (1, *spatial, channels) if fmt == "channels_last" else (1, channels, *spatial)
    specs = []
    c = channels
    for _ in range(draw(st.integers(1, max_layers))):
        name, kwargs, c = draw(layer_spec(rank, fmt, c, **kw))
        specs.append((name, kwargs))
    try:
        plan = ReceptivePlan([engine_layer(n, k) for n, k in specs], input_shape)
    except ValueError:
        assume(False)
    assume(int(np.prod(plan.output_spatial)) * 1 <= 20000)
    index = tuple(draw(st.integers(0, n - 1)) for n in plan.output_spatial)
    return specs, input_shape, index


def _try_keras(fn):
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001 - Keras/TF refuse with many exception types
        msg = str(exc)
        if "is not supported" in msg or "Unimplemented" in type(exc).__name__ or \
                "not implemented" in msg.lower() or "Current implementation" in msg or \
                "dilation" in msg.lower() or "ResizeArea" in msg:
            assume(False)
        raise


@SETTINGS
@given(stack_case())
def test_ones_map_and_mask_equal_tensorflow_gradient(case):
    specs, input_shape, index = case
    layers = [engine_layer(n, k) for n, k in specs]
    ours = contribution_map(layers, input_shape, index)
    mask = receptive_field_mask(layers, input_shape, index)
    ref = _try_keras(lambda: keras_gradient(specs, input_shape, index))
    signed = any(k.get("interpolation") in SIGNED for _, k in specs)
    context = f"{specs} on {input_shape} at {index}"
    assert_maps_close(ours, ref, 2e-4 if signed else 1e-5, context)
    if signed:  # signed taps may cancel in float32; the mask counts structural paths
        assert np.all(mask[np.abs(ref) > 1e-5 * max(1.0, np.abs(ref).max())]), context
        assert not np.any(ours[~mask]), context
    else:
        assert np.array_equal(mask, ref != 0), context
    assert np.array_equal(mask, ours != 0) or signed, context
    # the exact box contains the mask, and the map is zero outside it
    box = field_box(layers, input_shape, index)
    if box is None:
        assert not mask.any()
    else:
        inside = np.zeros(mask.shape, bool)
        inside[tuple(slice(lo, hi + 1) for lo, hi in box)] = True
        assert not np.any(mask & ~inside), context
        for axis, (lo, hi) in enumerate(box):  # the hull is tight along every axis
            proj = mask.any(axis=tuple(a for a in range(mask.ndim) if a != axis))
            assert proj.any() or not mask.any()
            if proj.any() and not any(k.get("interpolation") in SIGNED for _, k in specs):
                hits = np.flatnonzero(proj)
                assert lo <= hits[0] and hits[-1] <= hi, context


ACTS = [None, "relu", "tanh", "gelu", "softmax", "leaky_relu", "elu", "sigmoid", "silu",
        "softplus", "selu", "relu6", "log_softmax", "mish", "hard_sigmoid"]


def _actual_case(case, acts):
    specs, input_shape, index = case
    specs = [(n, dict(k, activation=a, bias_initializer="random_normal")
              if "Conv" in n else k) for (n, k), a in zip(specs, acts)]
    specs = [(n, dict(k, activation="tanh") if k.get("activation") in (
        "softmax", "log_softmax") and k.get("data_format") == "channels_first" else k)
        for n, k in specs]
    return specs, input_shape, index


@SETTINGS
@given(stack_case(max_layers=3, interpolations=("bilinear", "nearest", "bicubic")),
       st.lists(st.sampled_from(ACTS), min_size=3, max_size=3), st.integers(0, 2**31 - 1))
def test_actual_map_at_an_input_equals_tensorflow_gradient(case, acts, seed):
    """Real weights, biases and activations, gradient at a random input."""
    specs, input_shape, index = _actual_case(case, acts)
    layers = [engine_layer(n, k) for n, k in specs]
    x = np.random.default_rng(seed).normal(size=input_shape).astype(np.float32)
    plan = ReceptivePlan(layers, input_shape)
    avoid_keras_bias_bug(plan)
    plan.window_fraction = 1.0  # forward through the field's boxes only
    ours = plan.contribution_map(index, "actual", x)
    plan.window_fraction = 0.0  # one full forward pass, cropped
    assert_maps_close(plan.contribution_map(index, "actual", x), ours, 1e-5, "window")
    weights = [layer.get_weights() for layer in layers]
    ref = _try_keras(lambda: keras_gradient(specs, input_shape, index, weights, x, ones=False))
    assert_maps_close(ours, ref, 2e-4, f"{specs} on {input_shape} at {index}")
    assert np.array_equal(plan.mask(index, "actual", x), ours != 0)


@settings(SETTINGS, max_examples=max(EXAMPLES // 2, 10))
@given(stack_case(max_layers=3, interpolations=("bilinear", "nearest", "lanczos3")),
       st.lists(st.sampled_from(ACTS), min_size=3, max_size=3))
def test_actual_map_without_input_is_the_linearised_gradient(case, acts):
    """x=None: identity activations, max pooling as its window mean."""
    specs, input_shape, index = _actual_case(case, acts)
    layers = [engine_layer(n, k) for n, k in specs]
    avoid_keras_bias_bug(ReceptivePlan(layers, input_shape))
    ours = contribution_map(layers, input_shape, index, weights="actual")
    weights = [layer.get_weights() for layer in layers]
    ref_specs = [(n.replace("MaxPooling", "AveragePooling"),
                  {k: v for k, v in kw.items() if k != "activation"}) for n, kw in specs]
    ref = _try_keras(lambda: keras_gradient(ref_specs, input_shape, index, weights, None,
                                            ones=False))
    assert_maps_close(ours, ref, 2e-4, f"{specs} on {input_shape} at {index}")


@settings(SETTINGS, max_examples=2 * EXAMPLES)
@given(stack_case(max_layers=5), st.integers(0, 2**31 - 1))
def test_windowed_forward_equals_the_full_forward(case, seed):
    """The forward pass through the field's boxes gives the full pass's values there."""
    specs, input_shape, index = case
    specs = [(n, dict(k, activation="relu", bias_initializer="random_normal"))
             if "Conv" in n else (n, k) for n, k in specs]
    plan = ReceptivePlan([engine_layer(n, k) for n, k in specs], input_shape)
    plan._build_all()
    x = np.random.default_rng(seed).normal(size=input_shape).astype(np.float32)
    levels = plan.boxes(index)
    assume(levels[0] is not None)
    plan.window_fraction = 0.0
    full = plan._records(x, levels)
    window = plan._window_forward(x, levels)
    for (xa, za, _), (xb, zb, _) in zip(full, window):
        assert_maps_close(xb, xa, 1e-5, f"{specs} at {index}")
        if za is not None:
            assert_maps_close(zb, za, 1e-5, f"{specs} at {index}")


# =========================================================================== dedicated maps

def test_ones_map_is_the_product_of_binomial_rows():
    stack = [E.Conv2D(1, 3), E.Conv2D(1, 3)]
    m = contribution_map(stack, (1, 7, 7, 1), (0, 0))
    row = np.array([1, 2, 3, 2, 1], float)
    assert np.array_equal(m[:5, :5], np.outer(row, row))
    assert not m[5:, :].any() and not m[:, 5:].any()


def test_channel_factors_multiply_the_single_channel_map():
    # 3 input channels, Conv(4) groups 2 (factor 2), Depthwise ×3, Separable(5, m=2) (×10)
    stack = [E.Conv2D(4, 3, groups=1), E.Conv2D(6, 1, groups=2), E.DepthwiseConv2D(
        1, depth_multiplier=3), E.SeparableConv2D(5, 1, depth_multiplier=2),
        E.Conv2DTranspose(7, 1)]
    m = contribution_map(stack, (1, 6, 6, 3), (2, 2))
    assert m.max() == 3 * 4 * 3 * 3 * 10 * 7


def test_same_padding_asymmetry_in_the_map_and_table():
    # 4 cells, kernel 2, stride 1, same: TF pads 0 before and 1 after.
    layers = [E.Conv1D(1, 2, padding="same")]
    m = contribution_map(layers, (1, 4, 1), (0,))
    assert m.tolist() == [1, 1, 0, 0]  # output 0 reads cells 0 and 1, not -1 and 0
    assert contribution_map(layers, (1, 4, 1), (3,)).tolist() == [0, 0, 0, 1]  # 4 is padding
    row = receptive_field(layers, (1, 4, 1)).final(0)
    assert row.pad == (0, 1) and row.start == 0 and row.centre == Fraction(1, 2)
    assert row.clipped_after == 1 and row.clipped_before == 0
    assert "odd cell at the end" in row.note
    # stride 2 on an even input: total padding 1, all of it at the end
    row = receptive_field([E.Conv2D(1, 3, strides=2, padding="same")], (1, 224, 224, 3)).final(0)
    assert row.pad == (0, 1) and row.start == 0 and row.centre == 1
    row = receptive_field([E.Conv2D(1, 3, strides=2, padding="same")], (1, 223, 223, 3)).final(0)
    assert row.pad == (1, 1) and row.start == -1 and row.centre == 0


def test_empty_fields_and_gaps():
    # an output cell made of padding sees nothing
    layers = [E.ZeroPadding2D(2)]
    assert not contribution_map(layers, (1, 4, 4, 1), (0, 0)).any()
    assert field_box(layers, (1, 4, 4, 1), (0, 0)) is None
    assert "no input" in describe_field(layers, (1, 4, 4, 1), (1, 1))
    # kernel 1 stride 2 transposed convolution: odd outputs are gaps
    layers = [E.Conv1DTranspose(1, 1, strides=2)]
    assert contribution_map(layers, (1, 5, 1), (3,)).sum() == 0
    assert contribution_map(layers, (1, 5, 1), (4,)).tolist() == [0, 0, 1, 0, 0]
    row = receptive_field(layers, (1, 5, 1)).final(0)
    assert (row.size_min, row.size_max) == (0, 1) and row.empty == 5  # outputs 1, 3, …, 9


def test_dilation_holes_and_mask():
    layers = [E.Conv1D(1, 3, dilation_rate=3)]
    mask = receptive_field_mask(layers, (1, 10, 1), (0,))
    assert mask.tolist() == [True, False, False, True, False, False, True, False, False, False]
    assert field_box(layers, (1, 10, 1), (0,)) == ((0, 6),)


def test_bilinear_upsampling_contributes_fractions():
    layers = [E.UpSampling2D(2, interpolation="bilinear")]
    m = contribution_map(layers, (1, 4, 4, 1), (3, 4))  # rows (3+.5)/2-.5 = 1.25 → 1, 2
    assert np.allclose(m[1:3, 1:3], np.outer([0.75, 0.25], [0.25, 0.75]))
    assert np.isclose(m.sum(), 1.0)
    # the border clamps: output 0 reads cell 0 with weight 1 (0.75 + 0.25 of the clamped -1)
    m0 = contribution_map(layers, (1, 4, 4, 1), (0, 0))
    assert m0[0, 0] == 1.0 and m0.sum() == 1.0
    row = receptive_field(layers, (1, 4, 4, 1)).final(0)
    assert row.jump == Fraction(1, 2) and row.size == Fraction(5, 2)
    assert row.centre == Fraction(-1, 4)  # (0 + ½)/2 − ½: half-pixel centres
    assert (row.size_min, row.size_max) == (2, 2)
    assert row.clipped_before == 1 and row.clipped_after == 1


def test_area_upsampling_equals_the_transpose_of_tensorflow_resize():
    import tensorflow as tf

    # TF registers no gradient for ResizeArea; the op is linear, so probe it with unit images.
    h, w, s = 3, 4, (2, 3)
    layers = [E.UpSampling2D(s, interpolation="area")]
    ours = contribution_map(layers, (1, h, w, 1), (3, 7))
    ref = np.zeros((h, w))
    for i in range(h):
        for j in range(w):
            e = np.zeros((1, h, w, 1), np.float32)
            e[0, i, j, 0] = 1
            ref[i, j] = tf.image.resize(e, (h * s[0], w * s[1]), method="area").numpy()[0, 3, 7, 0]
    assert_maps_close(ours, ref, 1e-6)


def test_max_pooling_routes_to_the_first_maximum_with_an_input():
    layers = [EP.MaxPooling2D(2)]
    x = np.array([[1, 3, 0, 0], [3, 2, 0, 0], [0, 0, 5, 5], [0, 0, 5, 5]], np.float32)
    x = x.reshape(1, 4, 4, 1)
    plan = ReceptivePlan(layers, x.shape)
    assert plan.contribution_map((0, 0), "actual", x)[0, 1] == 1  # first of the two 3s
    assert plan.contribution_map((1, 1), "actual", x)[2, 2] == 1
    # without an input, max pooling counts as the average of its window
    assert np.allclose(plan.contribution_map((0, 0))[:2, :2], 0.25)
    assert receptive_field_mask(layers, x.shape, (0, 0)).sum() == 4


def test_errors_are_clear():
    with pytest.raises(ValueError, match="outside the output"):
        contribution_map([E.Conv2D(1, 3)], (1, 5, 5, 1), (3, 0))
    with pytest.raises(ValueError, match="tuple of 2 ints"):
        contribution_map([E.Conv2D(1, 3)], (1, 5, 5, 1), (1,))
    with pytest.raises(ValueError, match="same data_format"):
        contribution_map([E.Conv2D(1, 3), E.Conv2D(1, 3, data_format="channels_first")],
                         (1, 5, 5, 1), (0, 0))
    with pytest.raises(ValueError, match="weights must be"):
        contribution_map([E.Conv2D(1, 3)], (1, 5, 5, 1), (0, 0), weights="random")
    with pytest.raises(ValueError, match="fully known"):
        receptive_field([E.Conv2D(1, 3)], (1, None, 5, 1))
    with pytest.raises(ValueError, match="Computed output size"):
        receptive_field([E.Conv2D(1, 3), E.Conv2D(1, 5)], (1, 5, 5, 1))
    with pytest.raises(ValueError, match="engine layers"):
        receptive_field(["Conv2D"], (1, 5, 5, 1))
    layer = E.Conv2D(1, 3, activation="glu")
    with pytest.raises(ValueError, match="glu"):
        ReceptivePlan([layer], (1, 5, 5, 2)).contribution_map((0, 0), "actual",
                                                              np.ones((1, 5, 5, 2), np.float32))


def test_index_is_spatial_whatever_the_data_format():
    a = contribution_map([E.Conv2D(2, (3, 2), strides=(1, 2))], (1, 6, 7, 2), (1, 2))
    b = contribution_map([E.Conv2D(2, (3, 2), strides=(1, 2), data_format="channels_first")],
                         (1, 2, 6, 7), (1, 2))
    assert np.array_equal(a, b) and a.shape == (6, 7)


# =========================================================================== table

def vgg16():
    layers = []
    for reps, filters in [(2, 64), (2, 128), (3, 256), (3, 512), (3, 512)]:
        layers += [E.Conv2D(filters, 3, padding="same") for _ in range(reps)]
        layers.append(EP.MaxPooling2D(2, 2))
    return layers


def alexnet_v2():
    return [E.Conv2D(64, 11, strides=4, padding="valid"), EP.MaxPooling2D(3, 2),
            E.Conv2D(192, 5, padding="same"), EP.MaxPooling2D(3, 2),
            E.Conv2D(384, 3, padding="same"), E.Conv2D(384, 3, padding="same"),
            E.Conv2D(256, 3, padding="same"), EP.MaxPooling2D(3, 2)]


def mobilenet_v1():
    layers = [E.Conv2D(32, 3, strides=2, padding="same")]
    strides = [1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 2, 1]
    filters = [64, 128, 128, 256, 256, 512, 512, 512, 512, 512, 512, 1024, 1024]
    for s, f in zip(strides, filters):
        layers += [E.DepthwiseConv2D(3, strides=s, padding="same"), E.Conv2D(f, 1)]
    return layers


# Araujo et al.'s receptive_field library, pre-computed table (TF-Slim models):
# (size, effective stride, effective padding) at the end-points, for 224 and 321 inputs.
PUBLISHED = [
    (vgg16, 224, {0: (3, 1, 1), 2: (6, 2, 2), 3: (10, 2, 4), 5: (16, 4, 6), 6: (24, 4, 10),
                  7: (32, 4, 14), 9: (44, 8, 18), 10: (60, 8, 26), 11: (76, 8, 34),
                  13: (100, 16, 42), 14: (132, 16, 58), 15: (164, 16, 74),
                  17: (212, 32, 90)}),
    (vgg16, 321, {17: (212, 32, 90)}),
    (alexnet_v2, 224, {0: (11, 4, 0), 1: (19, 8, 0), 2: (51, 8, 16), 4: (99, 16, 32),
                       5: (131, 16, 48), 6: (163, 16, 64), 7: (195, 32, 64)}),
    (alexnet_v2, 321, {7: (195, 32, 64)}),
    (mobilenet_v1, 224, {0: (3, 2, 0), 2: (7, 2, 2), 4: (11, 4, 2), 6: (19, 4, 6),
                         8: (27, 8, 6), 22: (219, 16, 94), 24: (251, 32, 94),
                         26: (315, 32, 126)}),
    (mobilenet_v1, 321, {0: (3, 2, 1), 2: (7, 2, 3), 4: (11, 4, 5), 24: (251, 32, 125),
                         26: (315, 32, 157)}),
]


@pytest.mark.parametrize("net, res, expected", PUBLISHED,
                         ids=[f"{n.__name__}-{r}" for n, r, _ in PUBLISHED])
def test_published_networks(net, res, expected):
    table = receptive_field(net(), (1, res, res, 3))
    for axis in (0, 1):
        rows = [r for r in table if r.axis == axis]
        for position, (size, jump, padding) in expected.items():
            row = rows[position]
            assert (row.size, row.jump, row.padding) == (size, jump, padding), (position, row)
            assert row.size_min == row.size_max == size


def test_vgg_like_stack_by_hand():
    # Distill article: each 3×3 conv adds 2·jump, each 2×2 pool adds 1·jump and doubles it.
    layers = [E.Conv2D(8, 3, padding="same"), E.Conv2D(8, 3, padding="same"),
              EP.MaxPooling2D(2), E.Conv2D(8, 3, padding="same"), EP.MaxPooling2D(2)]
    rows = [r for r in receptive_field(layers, (1, 32, 32, 3)) if r.axis == 0]
    assert [r.size for r in rows] == [3, 5, 6, 10, 12]
    assert [r.jump for r in rows] == [1, 1, 2, 2, 4]
    assert [r.start for r in rows] == [-1, -2, -2, -4, -4]
    assert [r.centre for r in rows] == [0, 0, Fraction(1, 2), Fraction(1, 2), Fraction(3, 2)]
    # the field of output (1, 2) of the last layer is [start + o·jump, … + size − 1]
    box = field_box(layers, (1, 32, 32, 3), (1, 2))
    assert box == ((-4 + 4, -4 + 4 + 11), (-4 + 8, -4 + 8 + 11))


def test_wavenet_like_dilated_causal_stack():
    dilations = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]
    layers = [E.Conv1D(4, 2, dilation_rate=d, padding="causal") for d in dilations]
    rows = receptive_field(layers, (1, 4000, 1))
    assert [r.size for r in rows] == [2 ** (i + 1) for i in range(10)]
    assert all(r.jump == 1 for r in rows)
    last = rows[-1]
    assert last.start == -1023 and last.padding == 1023 and last.pad == (512, 0)
    assert last.clipped_before == 1023 and last.clipped_after == 0
    # every cell of the 1024-cell field contributes exactly once per path: all ones
    m = contribution_map(layers, (1, 4000, 1), (2000,))
    assert np.array_equal(m[977:2001], np.full(1024, 4.0 ** 10))
    assert np.count_nonzero(m) == 1024


def test_transposed_and_upsampling_fractions():
    rows = receptive_field([E.Conv2DTranspose(1, 3, strides=2)], (1, 8, 8, 1))
    r = rows.final(0)
    assert r.jump == Fraction(1, 2) and r.size == 2 and r.start == -1
    assert (r.size_min, r.size_max) == (1, 2)
    r = receptive_field([E.UpSampling1D(3)], (1, 8, 1)).final(0)
    assert r.jump == Fraction(1, 3) and r.size == Fraction(5, 3)
    assert (r.size_min, r.size_max) == (1, 1)
    assert r.centre == Fraction(-1, 3)  # geometric centre of output 0: (0 + ½)/3 − ½
    # conv after upsampling: a 3-tap conv on a ×2 map reads 2 cells (or 3? never: 2)
    stack = [E.UpSampling1D(2), E.Conv1D(1, 3)]
    r = receptive_field(stack, (1, 8, 1)).final(0)
    assert r.size == Fraction(5, 2) and (r.size_min, r.size_max) == (2, 2)
    # a stride-2 conv undoes the upsampling jump
    stack = [E.UpSampling1D(2), E.Conv1D(1, 3, strides=2)]
    assert receptive_field(stack, (1, 8, 1)).final(0).jump == 1


@SETTINGS
@given(stack_case(max_layers=4))
def test_table_bounds_every_field(case):
    """The relaxed interval contains each exact field; exact sizes lie in [min, max]."""
    specs, input_shape, _ = case
    layers = [engine_layer(n, k) for n, k in specs]
    plan = ReceptivePlan(layers, input_shape)
    table = receptive_field(layers, input_shape)
    for axis in range(plan.rank):
        row = table.final(axis)
        n = plan.output_spatial[axis]
        ops = [s.axes[axis] for s in plan.steps]
        for o in range(n):
            lo, hi = o, o
            for op in reversed(ops):
                lo, hi = op.span_inf(lo, hi)
                lo, hi = int(lo), int(hi)
                if lo > hi:
                    break
            if lo > hi:
                assert row.size_min == 0 or row.empty > 0
                continue
            assert row.start + o * row.jump <= lo, (specs, o)
            assert hi <= row.start + o * row.jump + row.size - 1, (specs, o)
            assert row.size_min <= hi - lo + 1 <= row.size_max


def test_table_records_are_plain():
    recs = receptive_field([E.UpSampling1D(2)], (1, 5, 1)).records()
    assert recs[0]["jump"] == "1/2" and isinstance(recs[0]["pad"], str)


# =========================================================================== effective field

def test_effective_field_grows_like_sqrt_n():
    def make(n):
        return [E.Conv1D(1, 3, padding="same") for _ in range(n)]

    growth = erf_growth(make, (1, 801, 1), [2, 4, 8, 16, 32, 64], mass=0.95)
    assert 0.9 <= growth.theoretical_exponent <= 1.05  # 2n + 1 cells
    assert 0.4 <= growth.effective_exponent <= 0.6
    fractions = [r["fraction"] for r in growth.rows]
    assert fractions == sorted(fractions, reverse=True)
    # 2-D: area fractions shrink like 1/n
    growth2 = erf_growth(lambda n: [E.Conv2D(1, 3, padding="same") for _ in range(n)],
                         (1, 129, 129, 1), [2, 4, 8, 16, 32])
    assert 0.4 <= growth2.effective_exponent <= 0.6


def test_effective_fraction():
    stats = effective_fraction(np.array([0, 10, 1, 1, 0]), mass=0.8)
    assert stats == {"theoretical_cells": 3, "effective_cells": 1, "fraction": 1 / 3,
                     "mass": 0.8}
    assert effective_fraction(np.zeros(4))["effective_cells"] == 0


def test_describe_field_in_words():
    layers = [E.Conv2D(1, 3), E.Conv2D(1, 3, dilation_rate=2)]
    text = describe_field(layers, (1, 20, 20, 1), (3, 4))
    assert text.startswith("output (3, 4) sees input rows 3..9, cols 4..10: 49 cells")


# =========================================================================== kernels

@pytest.mark.parametrize("rank, groups, s, d, p", [
    (1, 1, 2, 1, 1), (1, 2, 1, 2, 0), (2, 3, 1, 1, 2), (2, 1, 2, 1, -1), (3, 1, 1, 1, 1),
    (2, 2, 3, 1, 0)])
def test_conv_input_grad_brute_force(rank, groups, s, d, p):
    rng = np.random.default_rng(rank * 10 + groups)
    spatial = (5, 4, 3)[:rank]
    cg, fg = 2, 2
    c, f = cg * groups, fg * groups
    k = (2,) * rank
    w = rng.normal(size=k + (cg, f)).astype(np.float32)
    out = tuple(max((n + 2 * max(p, 0) - d * (2 - 1) - 1) // s + 1, 1) for n in spatial)
    g = rng.normal(size=(1, *out, f)).astype(np.float32)
    gx = bk.conv_input_grad(g, w, (s,) * rank, (d,) * rank, (p,) * rank, spatial, groups)
    ref = np.zeros((1, *spatial, c), np.float64)
    for o in np.ndindex(*out):  # y[o, f] = Σ_t x[o·s + t·d − p, c] · w[t, c_local, f]
        for t in np.ndindex(*k):
            i = tuple(oo * s + tt * d - p for oo, tt in zip(o, t))
            if not all(0 <= ii < nn for ii, nn in zip(i, spatial)):
                continue
            for gi in range(groups):
                ref[(0, *i, slice(gi * cg, (gi + 1) * cg))] += (
                    w[t][:, gi * fg:(gi + 1) * fg] @ g[(0, *o, slice(gi * fg, (gi + 1) * fg))])
    assert np.allclose(gx, ref, atol=1e-4)
    if p >= 0:  # adjoint of the public forward wrapper: <conv x, g> == <x, conv* g>
        x = rng.normal(size=(1, *spatial, c)).astype(np.float32)
        y = ck.conv(x, w, None, (s,) * rank, (d,) * rank, (p,) * rank, out, groups)
        assert np.isclose((y * g).sum(), (x * gx).sum(), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("s, d, p", [(2, 1, 1), (1, 2, 2), (3, 1, -1), (2, 1, 0)])
def test_conv_transpose_input_grad_is_the_adjoint(s, d, p):
    rng = np.random.default_rng(s + d)
    w = rng.normal(size=(3, 3, 2, 3)).astype(np.float32)  # (*K, F, C)
    spatial, out = (4, 3), (7, 6)
    x = rng.normal(size=(1, *spatial, 3)).astype(np.float32)
    y = ck.conv_transpose(x, w, None, (s, s), (d, d), (max(p, 0),) * 2, out) if p >= 0 else None
    g = rng.normal(size=(1, *out, 2)).astype(np.float32)
    gx = bk.conv_transpose_input_grad(g, w, (s, s), (d, d), (p, p), spatial)
    if y is not None:  # <T x, g> == <x, T* g>
        assert np.isclose((y * g).sum(), (x * gx).sum(), rtol=1e-4)
    # brute force: gx[i] = Σ_t g[i·s + t·d − p] · w[t]
    ref = np.zeros_like(gx)
    for i in np.ndindex(*spatial):
        for t in np.ndindex(3, 3):
            o = tuple(ii * s + tt * d - p for ii, tt in zip(i, t))
            if all(0 <= oo < nn for oo, nn in zip(o, out)):
                ref[(0, *i)] += g[(0, *o)] @ w[t]
    assert np.allclose(gx, ref, atol=1e-4)


def test_scatter_axis_is_the_transpose_of_the_gather():
    rng = np.random.default_rng(3)
    n_in, n_out, taps = 6, 9, 3
    idx = rng.integers(-1, n_in, size=(n_out, taps))
    w = rng.normal(size=(n_out, taps))
    dense = np.zeros((n_out, n_in))
    for o in range(n_out):
        for t in range(taps):
            if idx[o, t] >= 0:
                dense[o, idx[o, t]] += w[o, t]
    g = rng.normal(size=(2, n_out, 5))
    out = bk.scatter_axis(g, 1, idx, w, n_in)
    assert np.allclose(out, np.einsum("oi,aob->aib", dense, g))
    g = rng.normal(size=(n_out, 700))  # several column blocks
    assert np.allclose(bk.scatter_axis(g, 0, idx, w, n_in), dense.T @ g)


def test_maxpool_input_grad_brute_force():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(5, 6, 2))
    g = rng.normal(size=(3, 3, 2))
    gx = bk.maxpool_input_grad(x, g, (2, 3), (2, 2), (0, 1))
    ref = np.zeros_like(x)
    for o in np.ndindex(3, 3):
        for c in range(2):
            cells = [(o[0] * 2 + a, o[1] * 2 + b - 1) for a in range(2) for b in range(3)]
            cells = [q for q in cells if 0 <= q[0] < 5 and 0 <= q[1] < 6]
            best = max(cells, key=lambda q: x[q[0], q[1], c])
            ref[best[0], best[1], c] += g[o[0], o[1], c]
    assert np.allclose(gx, ref)


# =========================================================================== pooling layers

POOL_CASES = [
    ("MaxPooling1D", {}, (2, 7, 3)), ("MaxPooling1D", {"pool_size": 3, "strides": 2,
                                                         "padding": "same"}, (1, 8, 2)),
    ("AveragePooling1D", {"pool_size": 3, "padding": "same", "data_format": "channels_first"},
     (2, 3, 7)),
    ("MaxPooling2D", {"pool_size": (3, 2), "strides": (2, 1), "padding": "same"}, (1, 7, 6, 2)),
    ("AveragePooling2D", {"pool_size": 3, "strides": 2, "padding": "same"}, (1, 8, 7, 2)),
    ("MaxPooling3D", {"padding": "same", "data_format": "channels_first"}, (1, 2, 3, 5, 4)),
    ("AveragePooling3D", {"pool_size": (2, 1, 3), "strides": 1}, (1, 4, 3, 5, 2)),
]


@pytest.mark.parametrize("name, kwargs, shape", POOL_CASES)
def test_pooling_matches_keras(name, kwargs, shape):
    import keras

    x = np.random.default_rng(len(shape)).normal(size=shape).astype(np.float32)
    ours = getattr(EP, name)(**kwargs)
    ref = getattr(keras.layers, name)(**kwargs)
    assert np.allclose(ours(x), np.asarray(ref(x)), atol=1e-6)
    batchless = (None,) + shape[1:]
    assert ours.compute_output_shape(batchless) == ref.compute_output_shape(batchless)
    cfg = ours.get_config()
    assert cfg["pool_size"] == ref.get_config()["pool_size"]
    assert type(ours).from_config(cfg).compute_output_shape(batchless) == \
        ours.compute_output_shape(batchless)


def test_pooling_arguments():
    assert EP.MaxPooling2D().pool_size == (2, 2) and EP.MaxPooling2D().strides == (2, 2)
    assert EP.MaxPooling2D(3, strides=1).strides == (1, 1)
    assert EP.POOLING_CLASSES["MaxPool2D"] is EP.MaxPooling2D
    assert EP.POOLING_CLASSES["AvgPool1D"] is EP.AveragePooling1D
    with pytest.raises(ValueError, match="padding"):
        EP.MaxPooling2D(padding="VALID")  # Keras only accepts lower case
    with pytest.raises(ValueError, match="strides"):
        EP.MaxPooling2D(strides=0)
    with pytest.raises(ValueError, match="pool_size"):
        EP.AveragePooling2D((2, 2, 2))
    with pytest.raises(TypeError):
        EP.AveragePooling1D()  # no default pool size, as in Keras
    with pytest.raises(ValueError, match="zero or negative"):
        EP.MaxPooling2D(4).compute_output_shape((None, 3, 8, 1))
    assert EP.MaxPooling2D(4).compute_output_shape((None, None, 8, 1)) == (None, None, 2, 1)
    assert EP.MaxPooling2D(3, strides=2, padding="same").compute_output_shape(
        (None, 224, 224, 64)) == (None, 112, 112, 64)


# =========================================================================== big stacks

def test_ten_layer_map_on_512_is_exact():
    """The interactive case (its speed is measured in benchmarks/receptive.py): 10 × 3×3
    convolutions see a 21×21 box, and with all-ones weights the map's total is
    C_in · F^10 · 9^10 (every path through every channel counts once)."""
    layers = [E.Conv2D(64, 3, padding="same") for _ in range(10)]
    shape = (1, 512, 512, 3)
    cmap = contribution_map(layers, shape, (200, 300))
    rows, cols = np.nonzero(cmap)
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (190, 210, 290, 310)
    assert cmap.sum() == pytest.approx(3 * 64.0 ** 10 * 9.0 ** 10, rel=1e-9)
    plan = ReceptivePlan(layers, shape)
    mask = plan.mask((10, 500))
    assert mask.sum() == 21 * 21 and mask[0:21, 490:511].all()


# =========================================================================== page

def test_figures_are_pure():
    from app.figures import receptive as F

    layers = [E.Conv2D(1, 3, dilation_rate=2), E.Conv2D(1, 3)]
    plan = ReceptivePlan(layers, (1, 16, 16, 1))
    table = receptive_field(layers, (1, 16, 16, 1))
    fig = F.map_figure(plan.contribution_map((2, 3)), plan.mask((2, 3)),
                       theory=F.theory_box(table, (2, 3)), axis_names=("rows", "cols"))
    spec = fig.to_dict()                   # sent as written: the spec is the figure
    assert spec["data"] and spec["layout"]["shapes"]
    fig1 = F.map_figure(np.arange(5.0), np.arange(5) > 0, theory=((-1, 5),),
                        axis_names=("steps",))
    assert fig1.to_dict()["data"]
    growth = erf_growth(lambda n: [E.Conv1D(1, 3, padding="same") for _ in range(n)],
                        (1, 64, 1), [1, 2, 4])
    assert F.growth_figure(growth).to_dict()["data"]


@pytest.mark.parametrize("layer_name, kwargs, shape, extras", [
    ("Conv2D", {"filters": 2, "kernel_size": 3, "padding": "same"}, (1, 24, 24, 3),
     {"rf_repeat": "3", "rf_add": "'maxpool'"}),
    ("Conv1DTranspose", {"filters": 1, "kernel_size": 3, "strides": 2}, (1, 16, 1), {}),
    ("UpSampling2D", {"size": 2, "interpolation": "bilinear", "data_format": "channels_first"},
     (1, 2, 8, 8), {"rf_weights": "'actual'"}),
    ("Conv3D", {"filters": 1, "kernel_size": 2}, (1, 6, 6, 6, 1), {"rf_pos": "(1, 2, 3)"}),
])
def test_page_renders(layer_name, kwargs, shape, extras):
    from streamlit.testing.v1 import AppTest

    def app(layer_name, kwargs, shape, extras):
        import numpy as np

        from app.context import ViewContext
        from app.pages.receptive import render

        x = np.random.default_rng(0).normal(size=shape).astype(np.float32)
        render(ViewContext(layer_name, kwargs, x, extras=extras))

    at = AppTest.from_function(app, args=(layer_name, kwargs, shape, extras),
                               default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    text = " ".join(m.value for m in at.markdown) + " ".join(c.value for c in at.caption)
    assert "sees input" in text
    assert len(at.dataframe) >= 1
