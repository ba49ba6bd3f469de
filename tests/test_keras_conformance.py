"""Property tests: every layer, random configurations, engine == Keras (TensorFlow backend).

Configurations deliberately include ones Keras refuses (kernel larger than the input,
strides with dilation, bad output_padding, groups that do not divide the channels...): the
engine must refuse exactly those, with ValueError. ``CONVLAB_EXAMPLES`` scales the number of
examples per layer (default 300).
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.keras_ref import compare, keras_by_subsampling

EXAMPLES = int(os.environ.get("CONVLAB_EXAMPLES", "300"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                    suppress_health_check=list(HealthCheck))

RANK = {"1D": 1, "2D": 2, "3D": 3}
ACTIVATIONS = [None, "relu", "tanh", "sigmoid", "gelu", "softmax", "leaky_relu", "elu"]


def per_axis(draw, rank, lo, hi):
    """Either one int (Keras broadcasts it) or a tuple with one int per axis."""
    if draw(st.booleans()):
        return draw(st.integers(lo, hi))
    return tuple(draw(st.integers(lo, hi)) for _ in range(rank))


def input_array(draw, rank, channels, data_format, max_size):
    batch = draw(st.integers(1, 2))
    spatial = tuple(draw(st.integers(1, max_size)) for _ in range(rank))
    shape = (batch, *spatial, channels) if data_format == "channels_last" else (batch, channels, *spatial)
    seed = draw(st.integers(0, 2**31 - 1))
    return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


MAX_SIZE = {1: 12, 2: 9, 3: 6}


@st.composite
def conv_case(draw, rank, kind):
    """(kwargs, x) for Conv / ConvTranspose / Depthwise / Separable of ``rank``."""
    fmt = draw(st.sampled_from(["channels_last", "channels_first"]))
    kwargs = {
        "kernel_size": per_axis(draw, rank, 1, 4),
        "strides": per_axis(draw, rank, 1, 3),
        "dilation_rate": per_axis(draw, rank, 1, 3) if draw(st.booleans()) else 1,
        "data_format": fmt,
        "use_bias": draw(st.booleans()),
        "activation": draw(st.sampled_from(ACTIVATIONS)),
        "bias_initializer": "random_normal",
    }
    paddings = ["valid", "same"] + (["causal"] if kind == "conv" and rank == 1 else [])
    kwargs["padding"] = draw(st.sampled_from(paddings))
    channels = draw(st.integers(1, 6))
    if kind in ("conv", "transpose", "separable"):
        kwargs["filters"] = draw(st.integers(1, 6))
    if kind == "conv":
        groups = draw(st.sampled_from([1, 1, 2, 3]))
        kwargs["groups"] = groups
        if groups > 1 and draw(st.booleans()):
            channels = groups * draw(st.integers(1, 2))
            kwargs["filters"] = groups * draw(st.integers(1, 2))
    if kind in ("depthwise", "separable"):
        kwargs["depth_multiplier"] = draw(st.integers(1, 3))
    if kind == "transpose" and draw(st.booleans()):
        kwargs["output_padding"] = per_axis(draw, rank, 0, 2)
    x = input_array(draw, rank, channels, fmt, MAX_SIZE[rank])
    return kwargs, x


def conv_layer_names():
    names = []
    for suffix, rank in RANK.items():
        names.append((f"Conv{suffix}", rank, "conv"))
        names.append((f"Conv{suffix}Transpose", rank, "transpose"))
        if rank < 3:
            names.append((f"DepthwiseConv{suffix}", rank, "depthwise"))
            names.append((f"SeparableConv{suffix}", rank, "separable"))
    return names


@pytest.mark.parametrize("cls_name,rank,kind", conv_layer_names())
def test_conv_family_matches_keras(cls_name, rank, kind):
    decisions = []

    @SETTINGS
    @given(conv_case(rank, kind))
    def check(case):
        kwargs, x = case
        decisions.append(compare(cls_name, kwargs, x))

    check()
    # The strategy must exercise both sides of the accept/refuse decision.
    assert decisions.count("accepted") >= len(decisions) // 4, decisions.count("accepted")


@st.composite
def pad_crop_case(draw, rank, kind):
    fmt = "channels_last" if (rank == 1 and kind == "Cropping") else draw(
        st.sampled_from(["channels_last", "channels_first"]))
    choice = draw(st.integers(0, 2))
    if choice == 0:
        value = draw(st.integers(0, 3))
    elif choice == 1 and rank > 1:
        value = tuple(draw(st.integers(0, 3)) for _ in range(rank))
    else:
        pairs = tuple((draw(st.integers(0, 3)), draw(st.integers(0, 3))) for _ in range(rank))
        value = pairs[0] if rank == 1 else pairs
    kwargs = {"cropping" if kind == "Cropping" else "padding": value}
    if not (rank == 1 and kind == "Cropping"):
        kwargs["data_format"] = fmt
    x = input_array(draw, rank, draw(st.integers(1, 3)), fmt, MAX_SIZE[rank])
    return kwargs, x


@st.composite
def upsampling_case(draw, rank):
    fmt = "channels_last" if rank == 1 else draw(st.sampled_from(["channels_last", "channels_first"]))
    kwargs = {"size": draw(st.integers(1, 3)) if rank == 1 else per_axis(draw, rank, 1, 3)}
    if rank > 1:
        kwargs["data_format"] = fmt
    if rank == 2:
        kwargs["interpolation"] = draw(st.sampled_from(
            ["nearest", "bilinear", "bicubic", "lanczos3", "lanczos5", "area"]))
    x = input_array(draw, rank, draw(st.integers(1, 3)), fmt, MAX_SIZE[rank])
    return kwargs, x


def case_for(cls_name):
    """The strategy of ``(kwargs, x)`` for one of the 19 layer class names."""
    for name, rank, kind in conv_layer_names():
        if name == cls_name:
            return conv_case(rank, kind)
    family, suffix = cls_name[:-2], cls_name[-2:]
    if family == "UpSampling":
        return upsampling_case(RANK[suffix])
    return pad_crop_case(RANK[suffix], family)


@pytest.mark.parametrize("kind", ["Cropping", "ZeroPadding", "UpSampling"])
@pytest.mark.parametrize("suffix", list(RANK))
def test_reshaping_family_matches_keras(kind, suffix):
    rank = RANK[suffix]
    strategy = upsampling_case(rank) if kind == "UpSampling" else pad_crop_case(rank, kind)

    @SETTINGS
    @given(strategy)
    def check(case):
        kwargs, x = case
        compare(f"{kind}{suffix}", kwargs, x)

    check()


CI_FAILURE = {"kernel_size": 4, "strides": (1, 3), "data_format": "channels_first",
              "use_bias": False, "padding": "same", "depth_multiplier": 3}


@pytest.mark.parametrize("cls_name,extra", [
    ("SeparableConv2D", {"filters": 2}),
    ("SeparableConv2D", {"filters": 2, "activation": "softmax"}),
    ("DepthwiseConv2D", {"use_bias": True, "activation": "tanh"}),
    ("DepthwiseConv2D", {"data_format": "channels_last", "padding": "valid"}),
])
def test_unequal_strides_on_one_channel_match_keras(cls_name, extra):
    """The configuration CI once failed on, where TensorFlow's own depthwise kernel leaves
    output cells uncomputed (tests/keras_ref.keras_depthwise_unequal_strides_bug): the
    reference must still be Keras's exact answer, here checked against a NumPy loop too."""
    kwargs = dict(CI_FAILURE, **extra)
    shape = (2, 1, 6, 3) if kwargs["data_format"] == "channels_first" else (2, 6, 5, 1)
    x = np.random.default_rng(7).normal(size=shape).astype(np.float32)
    assert compare(cls_name, kwargs, x) == "accepted"


def test_subsampling_reference_equals_a_numpy_loop():
    """keras_by_subsampling (stride-1 Keras on TF-padded input, every stride-th cell) against
    a direct depthwise sum, on the configuration TensorFlow's strided kernel gets wrong."""
    kwargs = dict(CI_FAILURE, data_format="channels_last", depth_multiplier=2)
    x = np.random.default_rng(3).normal(size=(1, 6, 3, 1)).astype(np.float32)
    kernel = np.random.default_rng(4).normal(size=(4, 4, 1, 2)).astype(np.float32)
    z = keras_by_subsampling("DepthwiseConv2D", kwargs, x, [kernel])
    padded = np.pad(x, ((0, 0), (1, 2), (0, 1), (0, 0)))  # TF "same": rows 1+2, columns 0+1
    expected = np.array([[[np.einsum("hwc,hwcm->m", padded[0, i:i + 4, 3 * j:3 * j + 4], kernel)
                           for j in range(1)] for i in range(6)]])
    assert z.shape == (1, 6, 1, 2)
    np.testing.assert_allclose(z, expected, rtol=1e-5, atol=1e-5)
