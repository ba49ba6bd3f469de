"""The Keras-compatible API of engine.layers: weights, config, errors, casting, edge sizes."""

import numpy as np
import pytest

import engine.layers as E
from engine.layers import LAYER_CLASSES
from tests import naive

# Smallest valid constructor arguments per layer, and an input that fits it.
EXAMPLES = {
    "Conv1D": ({"filters": 2, "kernel_size": 3}, (2, 7, 3)),
    "Conv2D": ({"filters": 2, "kernel_size": 3}, (2, 7, 6, 3)),
    "Conv3D": ({"filters": 2, "kernel_size": 2}, (1, 4, 5, 3, 2)),
    "SeparableConv1D": ({"filters": 2, "kernel_size": 3}, (2, 7, 3)),
    "SeparableConv2D": ({"filters": 2, "kernel_size": 3}, (2, 7, 6, 3)),
    "DepthwiseConv1D": ({"kernel_size": 3}, (2, 7, 3)),
    "DepthwiseConv2D": ({"kernel_size": 3}, (2, 7, 6, 3)),
    "Conv1DTranspose": ({"filters": 2, "kernel_size": 3}, (2, 7, 3)),
    "Conv2DTranspose": ({"filters": 2, "kernel_size": 3}, (2, 7, 6, 3)),
    "Conv3DTranspose": ({"filters": 2, "kernel_size": 2}, (1, 4, 5, 3, 2)),
    "Cropping1D": ({}, (2, 7, 3)),
    "Cropping2D": ({}, (2, 7, 6, 3)),
    "Cropping3D": ({}, (1, 4, 5, 3, 2)),
    "UpSampling1D": ({}, (2, 7, 3)),
    "UpSampling2D": ({}, (2, 7, 6, 3)),
    "UpSampling3D": ({}, (1, 4, 5, 3, 2)),
    "ZeroPadding1D": ({}, (2, 7, 3)),
    "ZeroPadding2D": ({}, (2, 7, 6, 3)),
    "ZeroPadding3D": ({}, (1, 4, 5, 3, 2)),
}


def test_all_19_layers_exist():
    assert sorted(LAYER_CLASSES) == sorted(EXAMPLES)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_call_shape_config_roundtrip(name):
    kwargs, shape = EXAMPLES[name]
    layer = LAYER_CLASSES[name](**kwargs)
    x = np.random.default_rng(0).normal(size=shape).astype(np.float32)
    y = layer(x)
    assert y.dtype == np.float32
    assert y.shape == layer.compute_output_shape(shape)
    clone = type(layer).from_config(layer.get_config())
    clone.build(shape)
    clone.set_weights(layer.get_weights())
    np.testing.assert_array_equal(clone(x), y)
    assert clone.get_config() == layer.get_config()


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_count_params_needs_build(name):
    kwargs, shape = EXAMPLES[name]
    layer = LAYER_CLASSES[name](**kwargs)
    with pytest.raises(ValueError, match="isn't built"):
        layer.count_params()
    layer.build(shape)
    assert layer.count_params() == sum(w.size for w in layer.get_weights())


def test_weight_layouts_follow_keras():
    c = E.Conv2D(8, (3, 5), groups=2)
    c.build((None, 10, 10, 4))
    assert [w.shape for w in c.get_weights()] == [(3, 5, 2, 8), (8,)]
    t = E.Conv2DTranspose(8, 3)
    t.build((None, 10, 10, 4))
    assert [w.shape for w in t.get_weights()] == [(3, 3, 8, 4), (8,)]
    d = E.DepthwiseConv2D(3, depth_multiplier=2)
    d.build((None, 10, 10, 4))
    assert [w.shape for w in d.get_weights()] == [(3, 3, 4, 2), (8,)]
    s = E.SeparableConv1D(5, 3, depth_multiplier=2, use_bias=False)
    s.build((None, 10, 4))
    assert [w.shape for w in s.get_weights()] == [(3, 4, 2), (1, 8, 5)]


def test_set_weights_errors_name_the_layer():
    c = E.Conv2D(2, 3, name="probe")
    c.build((None, 5, 5, 1))
    with pytest.raises(ValueError, match="expecting 2 weights"):
        c.set_weights([np.zeros((3, 3, 1, 2))])
    with pytest.raises(ValueError, match=r"probe weight shape \(3, 3, 1, 2\)"):
        c.set_weights([np.zeros((3, 3, 2, 2)), np.zeros(2)])


def test_depthwise_equals_per_channel_convolution():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 9, 8, 3)).astype(np.float32)
    d = E.DepthwiseConv2D(3, depth_multiplier=2, padding="same", use_bias=False)
    y = d(x)
    (k,) = d.get_weights()
    for c in range(3):
        for m in range(2):
            ref = naive.conv_nd(x[..., c:c + 1], k[:, :, c:c + 1, m:m + 1], (1, 1), (1, 1), "same")
            np.testing.assert_allclose(y[..., c * 2 + m], ref[..., 0], atol=1e-5)


def test_inputs_are_cast_like_keras():
    layer = E.Conv1D(2, 2, kernel_initializer="ones", use_bias=False)
    y_f64 = layer(np.arange(6, dtype=np.float64).reshape(1, 6, 1))
    y_f16 = layer(np.arange(6, dtype=np.float16).reshape(1, 6, 1))
    assert y_f64.dtype == y_f16.dtype == np.float32
    np.testing.assert_array_equal(y_f64[0, :, 0], [1, 3, 5, 7, 9])
    np.testing.assert_array_equal(y_f64, y_f16)
    # Keras refuses integer inputs to layers with float32 weights; weightless layers take them.
    for bad in (np.arange(6).reshape(1, 6, 1), np.ones((1, 6, 1), bool)):
        with pytest.raises(ValueError, match="astype"):
            layer(bad)
    padded = E.ZeroPadding1D(1)(np.arange(3, dtype=np.uint8).reshape(1, 3, 1))
    assert padded.dtype == np.float32 and padded[0, :, 0].tolist() == [0, 0, 1, 2, 0]
    with pytest.raises(ValueError, match="real numbers"):
        layer(np.array([[["a"]]]))
    with pytest.raises(ValueError, match="expected axis -1 of input shape to have value 1"):
        layer(np.ones((1, 6, 2)))


@pytest.mark.parametrize("bad,match", [
    ({"filters": 0, "kernel_size": 3}, "filters"),
    ({"filters": 4, "kernel_size": 0}, "kernel_size"),
    ({"filters": 4, "kernel_size": 3, "strides": 2, "dilation_rate": 2}, "dilation_rate"),
    ({"filters": 4, "kernel_size": 3, "groups": 3}, "groups"),
    ({"filters": 4, "kernel_size": 3, "padding": 0}, "padding"),
    ({"filters": 4, "kernel_size": 3, "padding": "causal"}, "padding"),
    ({"filters": 4, "kernel_size": 3, "activation": "nope"}, "activation"),
    ({"filters": 4, "kernel_size": 3, "kernel_initializer": "nope"}, "kernel_initializer"),
    ({"filters": 4, "kernel_size": 3, "unknown": 1}, "Unrecognized keyword"),
])
def test_conv2d_refusals_name_the_argument(bad, match):
    with pytest.raises(ValueError, match=match):
        E.Conv2D(**bad)


def test_transpose_output_padding_rule():
    with pytest.raises(ValueError, match="output_padding"):
        E.Conv2DTranspose(2, 3, strides=2, output_padding=2)
    layer = E.Conv2DTranspose(4, 3, strides=2)
    assert layer.compute_output_shape((None, 28, 28, 1)) == (None, 57, 57, 4)


def test_cropping_larger_than_input_is_refused():
    with pytest.raises(ValueError, match="cropping"):
        E.Cropping2D(((2, 2), (0, 0)))(np.zeros((1, 4, 4, 1)))


def test_one_pixel_inputs():
    x = np.ones((1, 1, 1, 1), np.float32)
    assert E.Conv2D(3, 3, padding="same")(x).shape == (1, 1, 1, 3)
    assert E.Conv2DTranspose(3, 3, strides=2)(x).shape == (1, 3, 3, 3)
    assert E.UpSampling2D(3, interpolation="bicubic")(x).shape == (1, 3, 3, 1)
    with pytest.raises(ValueError, match="zero or negative"):
        E.Conv2D(3, 2)(x)


def test_channels_first_matches_channels_last():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2, 8, 7, 3)).astype(np.float32)
    last = E.Conv2D(4, 3, strides=2, padding="same", data_format="channels_last")
    first = E.Conv2D(4, 3, strides=2, padding="same", data_format="channels_first")
    y_last = last(x)
    first.build((None, 3, 8, 7))
    first.set_weights(last.get_weights())
    np.testing.assert_allclose(first(np.moveaxis(x, -1, 1)), np.moveaxis(y_last, -1, 1),
                               atol=1e-5)


def test_keras_json_default_data_format(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    (tmp_path / "keras.json").write_text('{"image_data_format": "channels_first"}')
    layer = E.Conv2D(2, 3)
    assert layer.data_format == "channels_first"
    assert layer.compute_output_shape((None, 3, 10, 10)) == (None, 2, 8, 8)


def test_regularizer_losses_and_constraints():
    layer = E.Conv2D(2, 3, kernel_initializer="ones", bias_initializer="ones",
                     kernel_regularizer={"class_name": "L1L2", "config": {"l1": 0.01, "l2": 0.02}},
                     bias_regularizer="l2", activity_regularizer="l1",
                     kernel_constraint={"class_name": "MaxNorm", "config": {"max_value": 1.0}})
    x = np.ones((2, 3, 3, 1), np.float32)
    y = layer(x)
    activity, kernel_pen, bias_pen = layer.losses
    assert activity == pytest.approx(0.01 * np.abs(y).sum() / 2, rel=1e-5)
    assert kernel_pen == pytest.approx(0.01 * 18 + 0.02 * 18, rel=1e-5)
    assert bias_pen == pytest.approx(0.01 * 2, rel=1e-5)
    layer.apply_constraints()
    kernel = layer.get_weights()[0]
    # Keras's MaxNorm default axis=0: the norm of every kernel column along the first axis.
    norms = np.sqrt((kernel ** 2).sum(axis=0))
    np.testing.assert_allclose(norms, 1.0, rtol=1e-3)


def test_initializers_are_seeded_and_reproducible():
    a = E.Conv2D(4, 3, kernel_initializer={"class_name": "he_normal", "config": {"seed": 7}})
    b = E.Conv2D(4, 3, kernel_initializer={"class_name": "he_normal", "config": {"seed": 7}})
    a.build((None, 8, 8, 3))
    b.build((None, 8, 8, 3))
    np.testing.assert_array_equal(a.get_weights()[0], b.get_weights()[0])
