"""The shape-only stand-ins added for model files (recurrent, wrappers, attention,
embedding, preprocessing, augmentation, activations, nested models): output shape and
count_params equal Keras's, layer by layer; configs from model.to_json() read back."""

from __future__ import annotations

import inspect
import json
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pytest  # noqa: E402

import keras  # noqa: E402

from engine.stack import analyze, load_model_config, summarize  # noqa: E402
from engine.stack.preprocessing import AUGMENTATIONS  # noqa: E402
from engine.stack.spec import LayerSpec, layer_class  # noqa: E402

CASES = [
    ((7, 3), "SimpleRNN", {"units": 5}),
    ((7, 3), "SimpleRNN", {"units": 5, "use_bias": False, "return_sequences": True}),
    ((7, 3), "LSTM", {"units": 4, "return_sequences": True}),
    ((None, 3), "LSTM", {"units": 4}),
    ((7, 3), "GRU", {"units": 6}),
    ((7, 3), "GRU", {"units": 6, "reset_after": False, "return_sequences": True}),
    ((5, 12, 3), "ConvLSTM1D", {"filters": 4, "kernel_size": 3, "strides": 2,
                                "return_sequences": True}),
    ((5, 12, 10, 3), "ConvLSTM2D", {"filters": 4, "kernel_size": (3, 2), "padding": "same"}),
    ((5, 3, 12, 10), "ConvLSTM2D", {"filters": 2, "kernel_size": 3, "dilation_rate": 2,
                                    "data_format": "channels_first"}),
    ((3, 6, 6, 6, 2), "ConvLSTM3D", {"filters": 2, "kernel_size": 3, "use_bias": False}),
    ((7, 3), "Bidirectional", {"layer": ("LSTM", {"units": 4, "return_sequences": True})}),
    ((7, 3), "Bidirectional", {"layer": ("GRU", {"units": 4}), "merge_mode": "ave"}),
    ((7, 3), "Bidirectional", {"layer": ("SimpleRNN", {"units": 4}),
                               "backward_layer": ("SimpleRNN", {"units": 3,
                                                                "go_backwards": True})}),
    ((4, 10, 10, 3), "TimeDistributed", {"layer": ("Conv2D", {"filters": 5,
                                                              "kernel_size": 3})}),
    ((4, 6), "TimeDistributed", {"layer": ("Dense", {"units": 2})}),
    ((9,), "Embedding", {"input_dim": 50, "output_dim": 8}),
    ((4, 5), "Embedding", {"input_dim": 10, "output_dim": 3}),
    ((10, 10, 3), "Normalization", {}),
    ((10, 10, 3), "Normalization", {"axis": (1, 2)}),
    ((10, 10, 3), "Normalization", {"axis": None}),
    ((10, 10, 3), "Normalization", {"mean": 0.5, "variance": 2.0}),
    ((10, 12, 3), "Resizing", {"height": 5, "width": 7}),
    ((10, 12, 3), "CenterCrop", {"height": 4, "width": 6}),
    ((10, 12, 3), "RandomCrop", {"height": 4, "width": 6}),
    ((10, 12, 3), "Rescaling", {"scale": 0.5}),
    ((6, 6, 3), "PReLU", {}),
    ((6, 6, 3), "PReLU", {"shared_axes": [1, 2]}),
    ((6, 3), "Masking", {}),
    ((6,), "RepeatVector", {"n": 4}),
    ((6, 6, 3), "LeakyReLU", {"negative_slope": 0.2}),
    ((6, 6, 3), "ELU", {}),
    ((6, 6, 3), "Softmax", {"axis": 1}),
    ((6, 6, 3), "ReLU", {"max_value": 6.0}),
    ((8, 4), "SpatialDropout1D", {"rate": 0.3}),
    ((8, 8, 4), "SpatialDropout2D", {"rate": 0.3}),
    ((4, 4, 4, 2), "SpatialDropout3D", {"rate": 0.3}),
    ((8, 4), "GaussianNoise", {"stddev": 0.3}),
] + [((8, 8, 3), name, {p: 2 if name == "RandomPosterization" else 0.1
                        for p, d in params if d is inspect.Parameter.empty})
     for name, params in AUGMENTATIONS.items()]


def _keras_arg(value):
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], dict):
        return getattr(keras.layers, value[0])(**value[1])
    return value


@pytest.mark.parametrize("shape, name, kwargs", CASES,
                         ids=[f"{c[1]}-{i}" for i, c in enumerate(CASES)])
def test_layer_matches_keras(shape, name, kwargs):
    spec_kwargs = {k: LayerSpec(*v) if k in ("layer", "backward_layer") else v
                   for k, v in kwargs.items()}
    row = summarize([LayerSpec(name, spec_kwargs)], (None,) + shape)[0]
    layer = getattr(keras.layers, name)(**{k: _keras_arg(v) for k, v in kwargs.items()})
    out = layer(keras.Input(shape))
    assert row["status"] == "ok", row["error"]
    assert row["output_shape"] == tuple(out.shape)
    assert row["params"] == layer.count_params()


def test_multi_head_attention_matches_keras():
    cases = [dict(num_heads=2, key_dim=4), dict(num_heads=3, key_dim=2, value_dim=5,
                                                output_shape=7, use_bias=False)]
    for kwargs in cases:
        code = f"""
import keras
q, v, k = keras.Input((6, 8)), keras.Input((4, 5)), keras.Input((4, 3))
mha = keras.layers.MultiHeadAttention(**{kwargs!r})
model = keras.Model([q, v, k], mha(q, v, key=k))
"""
        row = summarize(code)[0]
        q, v, k = keras.Input((6, 8)), keras.Input((4, 5)), keras.Input((4, 3))
        mha = keras.layers.MultiHeadAttention(**kwargs)
        out = mha(q, v, key=k)
        assert (row["output_shape"], row["params"]) == (tuple(out.shape), mha.count_params())


def test_augmentation_signatures_are_keras():
    for name, params in AUGMENTATIONS.items():
        ours = list(inspect.signature(layer_class(name)).parameters)[:-1]
        theirs = [p for p in inspect.signature(getattr(keras.layers, name)).parameters
                  if p != "kwargs"]
        assert ours == theirs, name


def test_configs_of_new_layers_read_back():
    inp = keras.Input((10, 8, 8, 3))
    x = keras.layers.TimeDistributed(keras.layers.Conv2D(4, 3))(inp)
    x = keras.layers.TimeDistributed(keras.layers.Flatten())(x)
    x = keras.layers.Bidirectional(keras.layers.GRU(5, return_sequences=True))(x)
    x = keras.layers.MultiHeadAttention(2, 3)(x, x)
    x = keras.layers.LSTM(3)(x)
    model = keras.Model(inp, x)
    report = analyze(load_model_config(model.to_json()))
    layers = model.layers[1:]
    assert [r["output_shape"] for r in report.rows] == [tuple(lyr.output.shape)
                                                         for lyr in layers]
    assert [r["params"] for r in report.rows] == [lyr.count_params() for lyr in layers]
    assert json.loads(model.to_json())["class_name"] == "Functional"


def test_rnn_states_are_checked():
    code = """
import keras
x = keras.Input((5, 3))
h = keras.Input((4,))
y = keras.layers.LSTM(4)(x, initial_state=[h])
model = keras.Model([x, h], y)
"""
    row = summarize(code)[0]
    assert row["status"] == "error" and "2 initial state(s)" in row["error"]


def test_run_computes_or_refuses_new_layers():
    import numpy as np

    from engine.stack import run_stack

    code = """
import keras
from keras import layers
model = keras.Sequential([keras.Input((6, 4)), layers.PReLU(), layers.Flatten(),
                          layers.RepeatVector(3)])
"""
    x = np.random.default_rng(0).normal(size=(1, 6, 4)).astype(np.float32)
    ours = run_stack(analyze(code), x)["repeat_vector"]
    theirs = keras.Sequential([keras.Input((6, 4)), keras.layers.PReLU(),
                               keras.layers.Flatten(), keras.layers.RepeatVector(3)])(x)
    np.testing.assert_allclose(ours, np.asarray(theirs), rtol=1e-6)
    with pytest.raises(ValueError, match="shapes and parameters only"):
        run_stack(analyze("import keras\nmodel = keras.Sequential([keras.Input((4, 2)), "
                          "keras.layers.LSTM(3)])"), np.zeros((1, 4, 2), np.float32))
