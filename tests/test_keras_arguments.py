"""Arguments as Keras takes them: configs both ways, refusals, casting, keras.json.

Complements test_keras_conformance.py (values on random configurations) with the
constructor side: every argument spelled as Keras users spell it, bad values refused by both.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.keras_ref import compare, keras

import engine.layers as E

KERAS_SPELLINGS = [
    ("Conv2D", {"filters": 3, "kernel_size": [3, 2], "strides": [1, 2], "padding": "SAME",
                "kernel_initializer": {"class_name": "he_normal", "config": {"seed": 7}},
                "kernel_regularizer": {"class_name": "L1L2", "config": {"l1": 0.01, "l2": 0.02}},
                "bias_constraint": "non_neg", "activation": "relu6"}),
    ("Conv1D", {"filters": 2, "kernel_size": 3, "padding": "causal", "dilation_rate": 2,
                "activation": "swish", "kernel_constraint": "max_norm"}),
    ("Conv3D", {"filters": 4, "kernel_size": 2, "groups": 2, "use_bias": False,
                "kernel_initializer": "lecun_uniform"}),
    ("SeparableConv2D", {"filters": 4, "kernel_size": 3, "depth_multiplier": 2,
                         "pointwise_initializer": "orthogonal", "depthwise_regularizer": "l2"}),
    ("DepthwiseConv1D", {"kernel_size": 2, "depth_multiplier": 3, "strides": 2,
                         "depthwise_initializer": "glorot_normal"}),
    ("Conv2DTranspose", {"filters": 2, "kernel_size": 3, "strides": 2, "output_padding": 1,
                         "activation": "sigmoid"}),
    ("Conv1DTranspose", {"filters": 2, "kernel_size": 4, "strides": 3, "padding": "same",
                         "output_padding": 1}),
    ("UpSampling2D", {"size": (2, 3), "interpolation": "bilinear"}),
    ("ZeroPadding3D", {"padding": (1, 2, 0)}),
    ("Cropping2D", {"cropping": ((1, 0), (2, 1))}),
    ("Cropping1D", {"cropping": 2}),
    ("UpSampling1D", {"size": 3}),
    ("ZeroPadding1D", {"padding": (0, 3)}),
]

INPUTS = {1: (2, 9, 4), 2: (2, 9, 8, 4), 3: (1, 5, 6, 4, 4)}


def _normalise(value):
    """Config values compared structurally: tuples ≡ lists, float32 rounding ignored."""
    if isinstance(value, (list, tuple)):
        return [_normalise(v) for v in value]
    if isinstance(value, dict):
        return {k: _normalise(v) for k, v in value.items() if k != "registered_name"}
    if isinstance(value, float):
        return round(value, 6)
    return value


@pytest.mark.parametrize("cls_name,kwargs", KERAS_SPELLINGS)
def test_config_matches_keras_both_ways(cls_name, kwargs):
    ours = getattr(E, cls_name)(**kwargs)
    theirs = getattr(keras.layers, cls_name)(**kwargs)
    ours_cfg, theirs_cfg = ours.get_config(), theirs.get_config()
    for key, value in theirs_cfg.items():
        if key in ("name", "dtype"):
            continue
        assert key in ours_cfg, f"{cls_name} config lacks {key}"
        if key.endswith("initializer") and isinstance(value, dict):
            assert ours_cfg[key]["class_name"] == value["class_name"]
            continue
        assert _normalise(ours_cfg[key]) == _normalise(value), key
    # Keras's own config (with its dtype policy dict) rebuilds an engine layer...
    rebuilt = getattr(E, cls_name).from_config(theirs_cfg)
    rank = getattr(E, cls_name).rank
    x = np.random.default_rng(0).normal(size=INPUTS[rank]).astype(np.float32)
    # ...which then computes what Keras computes with the same weights.
    y = rebuilt(x)
    theirs.build(x.shape)
    theirs.set_weights(rebuilt.get_weights())
    np.testing.assert_allclose(y, np.asarray(theirs(x)), rtol=1e-4, atol=1e-4)


BAD_ARGUMENTS = [
    ("Conv2D", {"filters": -1, "kernel_size": 3}),
    ("Conv2D", {"filters": 2, "kernel_size": (3, 3, 3)}),
    ("Conv2D", {"filters": 2, "kernel_size": 3, "strides": 0}),
    ("Conv2D", {"filters": 2, "kernel_size": 3, "strides": (2, 1), "dilation_rate": 2}),
    ("Conv2D", {"filters": 3, "kernel_size": 3, "groups": 2}),
    ("Conv2D", {"filters": 2, "kernel_size": 3, "padding": "full"}),
    ("Conv2D", {"filters": 2, "kernel_size": 3, "padding": "causal"}),
    ("Conv2D", {"filters": 2, "kernel_size": 3, "data_format": "NCHW"}),
    ("Conv2D", {"filters": 2, "kernel_size": 3, "activation": "no_such_thing"}),
    ("Conv2D", {"filters": 2, "kernel_size": 3, "kernel_initializer": "no_such_thing"}),
    ("Conv2D", {"filters": 2, "kernel_size": 3, "kernel_regularizer": "no_such_thing"}),
    ("Conv2D", {"filters": 2, "kernel_size": 3, "bias_constraint": "no_such_thing"}),
    ("Conv2D", {"filters": 2, "kernel_size": 3, "trainable": "yes"}),
    ("Conv2D", {"filters": 2, "kernel_size": 3, "fliters": 3}),
    ("Conv1D", {"filters": 2, "kernel_size": 12}),
    ("Conv2DTranspose", {"filters": 2, "kernel_size": 3, "strides": 2, "output_padding": 2}),
    ("Conv2DTranspose", {"filters": 2, "kernel_size": 3, "output_padding": (1, 0, 0)}),
    ("Conv3DTranspose", {"filters": 2, "kernel_size": 2, "strides": 2, "dilation_rate": 2}),
    ("DepthwiseConv2D", {"kernel_size": 3, "depth_multiplier": 0}),
    ("SeparableConv1D", {"filters": 0, "kernel_size": 3}),
    ("Cropping2D", {"cropping": -1}),
    ("Cropping2D", {"cropping": (1, 2, 3)}),
    ("Cropping2D", {"cropping": ((5, 5), (0, 0))}),
    ("Cropping3D", {"cropping": ((1, -1), 0, 0)}),
    ("Cropping1D", {"cropping": (5, 5)}),
    ("ZeroPadding2D", {"padding": (1, 2, 3)}),
    ("ZeroPadding1D", {"padding": -2}),
    ("UpSampling1D", {"size": 0}),
    ("UpSampling2D", {"size": (2, 0)}),
    ("UpSampling2D", {"interpolation": "nearest_neighbour"}),
    ("UpSampling3D", {"size": (1, 2)}),
]


@pytest.mark.parametrize("cls_name,kwargs", BAD_ARGUMENTS)
def test_bad_arguments_refused_like_keras(cls_name, kwargs):
    rank = getattr(E, cls_name).rank
    shape = (1, 9, 9, 3)[: rank + 1] + (3,) if rank < 3 else (1, 6, 6, 6, 3)
    x = np.ones(shape[:rank + 2] if rank < 3 else shape, np.float32)
    assert compare(cls_name, kwargs, x) == "refused"


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(
    cls_name=st.sampled_from(["Conv2D", "Conv2DTranspose", "DepthwiseConv2D", "SeparableConv2D",
                              "ZeroPadding2D", "Cropping2D", "UpSampling2D"]),
    arg=st.sampled_from(["kernel_size", "strides", "dilation_rate", "filters", "size",
                         "padding", "cropping", "depth_multiplier", "output_padding"]),
    value=st.one_of(st.integers(-3, 4), st.tuples(st.integers(-1, 3), st.integers(-1, 3)),
                    st.tuples(st.integers(0, 3)), st.sampled_from(["same", "valid", "x", None])),
)
def test_random_argument_values_decided_like_keras(cls_name, arg, value):
    defaults = {"Conv2D": {"filters": 2, "kernel_size": 3},
                "Conv2DTranspose": {"filters": 2, "kernel_size": 3},
                "DepthwiseConv2D": {"kernel_size": 3},
                "SeparableConv2D": {"filters": 2, "kernel_size": 3}}.get(cls_name, {})
    kwargs = dict(defaults, **{arg: value})
    x = np.random.default_rng(1).normal(size=(1, 7, 6, 2)).astype(np.float32)
    try:
        import inspect
        inspect.signature(getattr(keras.layers, cls_name)).bind(**kwargs)
    except TypeError:
        return  # not an argument of this layer: both refuse, nothing to compare
    compare(cls_name, kwargs, x)


@pytest.mark.parametrize("dtype", [np.float64, np.float16, np.int32, np.uint8, np.bool_])
def test_input_dtypes_cast_like_keras(dtype):
    """Floats are cast to float32; Keras refuses integer/bool inputs to convolutions."""
    x = (np.random.default_rng(3).normal(size=(2, 6, 5, 2)) * 3).astype(dtype)
    expected = "accepted" if np.dtype(dtype).kind == "f" else "refused"
    assert compare("Conv2D", {"filters": 2, "kernel_size": 2, "bias_initializer": "ones"}, x) \
        == expected
    for cls_name, kwargs in [("ZeroPadding2D", {"padding": 1}), ("Cropping2D", {"cropping": 1}),
                             ("UpSampling2D", {"size": 2})]:
        assert compare(cls_name, kwargs, x) == "accepted"


def test_keras_json_channels_first_matches_keras(tmp_path):
    """data_format=None follows $KERAS_HOME/keras.json in both (Keras reads it at import,
    so Keras runs in a subprocess)."""
    (tmp_path / "keras.json").write_text(json.dumps({"image_data_format": "channels_first",
                                                     "backend": "tensorflow"}))
    script = textwrap.dedent("""
        import json, os
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
        import keras
        layer = keras.layers.Conv2D(4, 3)
        print(json.dumps([layer.data_format,
                          list(layer.compute_output_shape((None, 3, 10, 12)))]))
    """)
    env = dict(os.environ, KERAS_HOME=str(tmp_path), KERAS_BACKEND="tensorflow")
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                         text=True, timeout=300, check=True).stdout.strip().splitlines()[-1]
    fmt, shape = json.loads(out)
    old = os.environ.get("KERAS_HOME")
    os.environ["KERAS_HOME"] = str(tmp_path)
    try:
        ours = E.Conv2D(4, 3)
    finally:
        if old is None:
            del os.environ["KERAS_HOME"]
        else:
            os.environ["KERAS_HOME"] = old
    assert ours.data_format == fmt == "channels_first"
    assert list(ours.compute_output_shape((None, 3, 10, 12))) == shape


@pytest.mark.parametrize("cls_name,kwargs", [
    ("Conv2D", {"filters": 3, "kernel_size": 3, "kernel_regularizer": "l2",
                "bias_regularizer": {"class_name": "L1L2", "config": {"l1": 0.3, "l2": 0.1}},
                "activity_regularizer": "l1", "bias_initializer": "random_normal",
                "kernel_constraint": {"class_name": "MaxNorm", "config": {"max_value": 0.5}},
                "bias_constraint": "non_neg"}),
    ("SeparableConv1D", {"filters": 2, "kernel_size": 2, "depthwise_regularizer": "l1",
                         "pointwise_regularizer": "l2", "activity_regularizer": "l2",
                         "pointwise_constraint": "unit_norm",
                         "depthwise_constraint": {"class_name": "MinMaxNorm",
                                                  "config": {"min_value": 0.2, "max_value": 0.4}}}),
    ("DepthwiseConv2D", {"kernel_size": 2, "depthwise_regularizer": "l2",
                         "activity_regularizer": {"class_name": "L1L2",
                                                  "config": {"l1": 0.01, "l2": 0.02}}}),
    ("Conv3DTranspose", {"filters": 2, "kernel_size": 2, "kernel_regularizer": "l1",
                         "kernel_constraint": "max_norm"}),
])
def test_losses_and_constraints_match_keras(cls_name, kwargs):
    rank = getattr(E, cls_name).rank
    x = np.random.default_rng(5).normal(size=INPUTS[rank]).astype(np.float32)
    ours = getattr(E, cls_name)(**kwargs)
    ours(x)
    theirs = getattr(keras.layers, cls_name)(**kwargs)
    theirs.build(x.shape)
    theirs.set_weights(ours.get_weights())
    theirs(x)
    np.testing.assert_allclose(ours.losses, [float(v) for v in theirs.losses], rtol=1e-5)
    ours.apply_constraints()
    for ours_w, var in zip(ours.weights, theirs.weights):
        expected = var.numpy() if var.constraint is None else np.asarray(var.constraint(var))
        np.testing.assert_allclose(ours_w.value, expected, rtol=1e-5, atol=1e-6)
