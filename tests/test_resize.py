"""engine.kernels.resize against TensorFlow / Keras 3 (TF backend) UpSampling2D."""

import os

os.environ["KERAS_BACKEND"] = "tensorflow"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

from engine.kernels.resize import METHODS, resize2d, resize_weights  # noqa: E402

# Required tolerances (relative to max(1, |y|)); in practice the results are bit-exact.
TOL = {"bilinear": 1e-4, "nearest": 1e-4, "bicubic": 2e-3, "lanczos3": 2e-3,
       "lanczos5": 2e-3, "area": 2e-3}


def _tf_resize(x, size, method):
    # What keras.src.backend.tensorflow.image.resize runs for data_format="channels_last".
    return tf.image.resize(x, size, method=method, antialias=False).numpy()


def _keras_upsampling(x, fh, fw, method):
    layer = keras.layers.UpSampling2D(size=(fh, fw), interpolation=method,
                                      data_format="channels_last")
    return np.asarray(layer(x))


def _err(y, ref):
    assert y.shape == ref.shape, (y.shape, ref.shape)
    return float(np.max(np.abs(y.astype(np.float64) - ref) / np.maximum(1.0, np.abs(ref))))


def _rebuild(x, out_h, out_w, method):
    """resize_weights applied separably in float64: out[o] = sum_t w[o,t] in[clamp(s[o]+t)]."""
    def matrix(in_size, out_size):
        starts, weights = resize_weights(in_size, out_size, method)
        assert starts.shape == (out_size,) and starts.dtype == np.int64
        assert weights.ndim == 2 and weights.shape[0] == out_size
        assert weights.dtype == np.float32
        m = np.zeros((out_size, in_size))
        for o in range(out_size):
            for t in range(weights.shape[1]):
                m[o, min(max(starts[o] + t, 0), in_size - 1)] += weights[o, t]
        return m

    mh = matrix(x.shape[1], out_h)
    mw = matrix(x.shape[2], out_w)
    return np.einsum("oh,nhwc,pw->nopc", mh, x.astype(np.float64), mw)


cases = st.fixed_dictionaries({
    "n": st.integers(1, 2), "h": st.integers(1, 9), "w": st.integers(1, 9),
    "c": st.integers(1, 3), "fh": st.integers(1, 4), "fw": st.integers(1, 4),
    "method": st.sampled_from(METHODS), "seed": st.integers(0, 2**31 - 1),
})


def _input(p):
    rng = np.random.default_rng(p["seed"])
    return (rng.standard_normal((p["n"], p["h"], p["w"], p["c"])) * 4).astype(np.float32)


@settings(max_examples=200, deadline=None)
@given(cases)
def test_matches_tf_resize_and_keras_upsampling2d(p):
    x = _input(p)
    m, fh, fw = p["method"], p["fh"], p["fw"]
    y = resize2d(x, p["h"] * fh, p["w"] * fw, m)
    assert y.dtype == np.float32
    assert _err(y, _tf_resize(x, (p["h"] * fh, p["w"] * fw), m)) <= TOL[m]
    assert _err(y, _keras_upsampling(x, fh, fw, m)) <= TOL[m]


@settings(max_examples=200, deadline=None)
@given(cases)
def test_resize_weights_rebuild_resize2d(p):
    x = _input(p)
    m, oh, ow = p["method"], p["h"] * p["fh"], p["w"] * p["fw"]
    y = resize2d(x, oh, ow, m)
    assert _err(y, _rebuild(x, oh, ow, m)) <= 1e-5


@pytest.mark.parametrize("method", METHODS)
def test_one_pixel_and_identity(method):
    x = np.full((2, 1, 1, 3), 2.5, np.float32)
    x[1] = -7.0
    for fh in range(1, 5):
        for fw in range(1, 5):
            y = resize2d(x, fh, fw, method)
            np.testing.assert_array_equal(y, _tf_resize(x, (fh, fw), method))
            np.testing.assert_allclose(y, np.broadcast_to(x, y.shape), rtol=1e-6)
    x = np.random.default_rng(0).standard_normal((1, 5, 4, 2)).astype(np.float32)
    np.testing.assert_allclose(resize2d(x, 5, 4, method), x, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("method", METHODS)
def test_weights_sum_to_one(method):
    for in_size in (1, 2, 3, 7):
        for out_size in (in_size, 2 * in_size, 3 * in_size, 4 * in_size, 5):
            _, w = resize_weights(in_size, out_size, method)
            np.testing.assert_allclose(w.sum(axis=1), 1.0, rtol=2e-6)


def test_larger_and_non_integer_sizes():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1, 23, 17, 4)).astype(np.float32)
    for m in METHODS:
        for size in ((46, 51), (31, 12), (23, 17)):
            assert _err(resize2d(x, *size, m), _tf_resize(x, size, m)) <= TOL[m] / 10


def test_bad_arguments():
    x = np.zeros((1, 2, 2, 1), np.float32)
    with pytest.raises(ValueError):
        resize2d(x, 4, 4, "cubic")
    with pytest.raises(ValueError):
        resize2d(x[0], 4, 4, "bilinear")
    with pytest.raises(ValueError):
        resize2d(x, 0, 4, "bilinear")
    with pytest.raises(ValueError):
        resize_weights(0, 3, "area")
