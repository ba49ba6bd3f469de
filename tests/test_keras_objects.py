"""engine.keras_objects against real Keras 3 (TensorFlow backend).

Activations, regularizers and constraints must give Keras's values; initializers Keras's
distributions (same fans, limits, standard deviations, truncation) and Keras's exact arrays
for the deterministic ones; ``get`` must accept and refuse what Keras accepts and refuses;
``serialize`` must write what Keras writes.
"""

from __future__ import annotations

import math
import os
import warnings

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import given, settings, strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

import keras  # noqa: E402
from keras.src import activations as k_activations  # noqa: E402
from keras.src import constraints as k_constraints  # noqa: E402
from keras.src import initializers as k_initializers  # noqa: E402
from keras.src import regularizers as k_regularizers  # noqa: E402
from keras.src.initializers.random_initializers import compute_fans as k_compute_fans  # noqa: E402

from engine.keras_objects import (  # noqa: E402
    activations, constraints, initializers, regularizers, resolve, serialize,
)

RTOL, ATOL = 1e-5, 1e-6  # activations: relative, plus an absolute floor where TF cancels
PENALTY_RTOL = 1e-6


def tf(x):
    return keras.ops.convert_to_tensor(x)


def np_(t):
    return np.asarray(keras.ops.convert_to_numpy(t))


def keras_refuses(fn, *args) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fn(*args)
    except Exception:  # noqa: BLE001 - any refusal counts
        return True
    return False


def assert_values(ours, ref, rtol=RTOL, atol=ATOL):
    ours, ref = np.asarray(ours), np.asarray(ref)
    assert ours.shape == ref.shape
    assert ours.dtype == ref.dtype
    np.testing.assert_allclose(ours, ref, rtol=rtol, atol=atol)


# =========================================================================== activations

ACTIVATION_NAMES = sorted(k_activations.ALL_OBJECTS_DICT)
CALLABLE_WITH_X_ONLY = [n for n in ACTIVATION_NAMES if n != "threshold"]


def _activation_input() -> np.ndarray:
    rng = np.random.default_rng(0)
    special = [-1e4, -100, -90, -88, -20, -6, -3, -1, -0.5, -1e-8, 0, 1e-8, 0.5, 1, 3, 6,
               20, 88, 90, 100]
    values = np.concatenate([rng.normal(0, 3, 1200), rng.uniform(-100, 100, 600), special,
                             special[::-1]])
    return values.astype(np.float32).reshape(-1, 8)


X_ACT = _activation_input()


def test_activation_names_are_keras_names():
    assert set(activations._BY_NAME) == set(ACTIVATION_NAMES)


@pytest.mark.parametrize("name", CALLABLE_WITH_X_ONLY)
def test_activation_values_match_keras(name):
    ref = np_(k_activations.get(name)(tf(X_ACT)))
    assert_values(activations.get(name)(X_ACT), ref)


@pytest.mark.parametrize("name", CALLABLE_WITH_X_ONLY)
@settings(max_examples=10, deadline=None)
@given(x=hnp.arrays(np.float32, hnp.array_shapes(min_dims=1, max_dims=4, max_side=4).map(
    lambda s: s[:-1] + (2 * s[-1],)),  # even last axis for glu
    elements=st.floats(-60, 60, width=32)))
def test_activation_values_match_keras_property(name, x):
    ref = np_(k_activations.get(name)(tf(x)))
    assert_values(activations.get(name)(x), ref)


@pytest.mark.parametrize("name, kwargs", [
    ("relu", {"negative_slope": 0.1}),
    ("relu", {"max_value": 6}),
    ("relu", {"max_value": 2.5}),
    ("relu", {"threshold": 1.0}),
    ("relu", {"negative_slope": 0.3, "max_value": 4.0, "threshold": 0.5}),
    ("relu", {"negative_slope": 0.3, "threshold": -1.0}),
    ("leaky_relu", {"negative_slope": 0.01}),
    ("elu", {"alpha": 0.5}),
    ("celu", {"alpha": 2.0}),
    ("gelu", {"approximate": True}),
    ("soft_shrink", {"threshold": 1.5}),
    ("hard_shrink", {"threshold": 0.1}),
    ("squareplus", {"b": 1}),
    ("softmax", {"axis": 0}),
    ("softmax", {"axis": (0, 1)}),
    ("log_softmax", {"axis": 0}),
    ("sparsemax", {"axis": 0}),
    ("glu", {"axis": 0}),
    ("threshold", {"threshold": 0.5, "default_value": -1.0}),
])
def test_activation_arguments_match_keras(name, kwargs):
    x = X_ACT[:-4]  # even number of rows for glu(axis=0)
    ref = np_(getattr(keras.activations, name)(tf(x), **kwargs))
    assert_values(getattr(activations, name)(x, **kwargs), ref)


def test_sparsemax_reproduces_keras_threshold():
    """Keras's TF sparsemax does not sum to one here; we return what Keras returns."""
    x = np.array([[1.0, 0.9, -1.0], [3.0, 1.0, 0.5]], np.float32)
    ref = np_(keras.activations.sparsemax(tf(x)))
    assert_values(activations.sparsemax(x), ref)


def test_activation_get_special_identifiers():
    assert activations.get(None) is activations.linear
    assert activations.get("swish") is activations.silu
    assert activations.get("hard_swish") is activations.hard_silu

    def mine(x):
        return x * 2

    assert activations.get(mine) is mine


@pytest.mark.parametrize("identifier", [
    {"module": "keras.activations", "class_name": "function", "config": "relu",
     "registered_name": "function"},
    {"module": "builtins", "class_name": "function", "config": "relu",
     "registered_name": "function"},
    {"module": "keras.activations", "class_name": "relu", "config": None},
    {"module": "keras.activations", "class_name": "relu", "config": {}},
])
def test_activation_dicts_keras_accepts(identifier):
    assert k_activations.get(identifier) is keras.activations.relu
    assert activations.get(identifier) is activations.relu


@pytest.mark.parametrize("identifier", [
    "foo", "ReLU", "Relu", 3, 1.5, [], {"class_name": "relu"},
    {"class_name": "relu", "config": {}},
    {"class_name": "function", "config": "relu"},
    {"module": "keras.activations", "class_name": "function", "config": "foo",
     "registered_name": "function"},
])
def test_activation_identifiers_keras_refuses(identifier):
    assert keras_refuses(k_activations.get, identifier)
    with pytest.raises(ValueError, match="Could not interpret activation function identifier"):
        activations.get(identifier)


def test_activation_error_names_the_identifier_and_known_names():
    with pytest.raises(ValueError) as info:
        activations.get("foo")
    assert "'foo'" in str(info.value) and "relu" in str(info.value)


@pytest.mark.parametrize("name", ACTIVATION_NAMES)
def test_activation_serialize_matches_keras(name):
    expected = k_activations.serialize(k_activations.get(name))
    assert activations.serialize(activations.get(name)) == expected
    assert activations.get(activations.serialize(activations.get(name))) is \
        activations.get(name)


def test_activation_serialize_none_and_user_callables():
    def my_act(x):
        return x

    assert activations.serialize(None) == k_activations.serialize(k_activations.get(None))
    assert activations.serialize(None) == "linear"
    assert activations.serialize(my_act) == "my_act"


def test_glu_odd_axis_and_threshold_by_name_raise():
    with pytest.raises(ValueError, match="divisible by 2"):
        activations.glu(np.ones((2, 3), np.float32))
    with pytest.raises(ValueError, match="threshold"):
        activations.get("threshold")(np.ones(3, np.float32))


# =========================================================================== initializers

INITIALIZER_NAMES = sorted(k_initializers.ALL_OBJECTS_DICT)
RANDOM_CLASSES = ["RandomNormal", "TruncatedNormal", "RandomUniform", "VarianceScaling",
                  "GlorotNormal", "GlorotUniform", "LecunNormal", "LecunUniform", "HeNormal",
                  "HeUniform", "Orthogonal"]
KERNEL_SHAPE = (3, 3, 64, 96)  # 55296 values: sampling error of the std ~0.3 %


def test_initializer_names_are_keras_names():
    assert set(initializers.ALL_OBJECTS_DICT) == set(INITIALIZER_NAMES)
    for name, cls in initializers.ALL_OBJECTS_DICT.items():
        assert cls.__name__ == k_initializers.ALL_OBJECTS_DICT[name].__name__, name


@pytest.mark.parametrize("shape", [
    (), (7,), (5, 9), (3, 8, 16), (3, 3, 8, 16), (1, 1, 3, 1), (2, 3, 4, 5, 6), (4, 1, 2),
])
def test_compute_fans_matches_keras(shape):
    assert initializers.compute_fans(shape) == k_compute_fans(shape)


def test_compute_fans_with_axes_matches_keras():
    shape = (3, 4, 5, 6)
    assert initializers.compute_fans(shape, [0, 2], [1, 3]) == \
        k_compute_fans(shape, [0, 2], [1, 3])
    assert initializers.compute_fans(shape, [0], None) == k_compute_fans(shape, [0], None)


def _expected_spread(init, shape):
    """(distribution kind, parameter) from Keras's formulas for a Keras initializer."""
    cfg = init.get_config()
    name = type(init).__name__
    if name == "RandomUniform":
        return "uniform", (cfg["minval"], cfg["maxval"])
    if name == "RandomNormal":
        return "normal", cfg["stddev"]
    if name == "TruncatedNormal":
        return "truncated", cfg["stddev"]
    scale = init.scale
    fan_in, fan_out = k_compute_fans(shape)
    n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[init.mode]
    variance = scale / max(1.0, n)
    if init.distribution == "uniform":
        limit = math.sqrt(3 * variance)
        return "uniform", (-limit, limit)
    if init.distribution == "untruncated_normal":
        return "normal", math.sqrt(variance)
    return "truncated", math.sqrt(variance) / 0.87962566103423978


@pytest.mark.parametrize("name", [n for n in RANDOM_CLASSES if n != "Orthogonal"] + [
    {"class_name": "VarianceScaling", "config": {"scale": 2.0, "mode": "fan_out",
                                                 "distribution": "uniform", "seed": 3}},
    {"class_name": "VarianceScaling", "config": {"scale": 0.5, "mode": "fan_avg",
                                                 "distribution": "untruncated_normal"}},
    {"class_name": "RandomUniform", "config": {"minval": 1.0, "maxval": 3.0}},
    {"class_name": "RandomNormal", "config": {"mean": 2.0, "stddev": 0.5}},
])
def test_random_initializer_statistics_match_keras(name):
    ours = initializers.get(name)(KERNEL_SHAPE)
    k_init = k_initializers.get(name)
    ref = np_(k_init(KERNEL_SHAPE))
    assert ours.dtype == np.float32 and ours.shape == KERNEL_SHAPE
    kind, param = _expected_spread(k_init, KERNEL_SHAPE)
    std_err = ref.std() / math.sqrt(ref.size)
    assert abs(ours.mean() - ref.mean()) < 8 * std_err
    assert ours.std() == pytest.approx(ref.std(), rel=0.02)
    if kind == "uniform":
        low, high = param
        assert ours.min() >= low and ours.max() <= high
        assert ours.min() < low + 0.01 * (high - low) and ours.max() > high - 0.01 * (high - low)
        assert ours.std() == pytest.approx((high - low) / math.sqrt(12), rel=0.02)
    elif kind == "normal":
        assert ours.std() == pytest.approx(param, rel=0.02)
    else:
        mean = k_init.get_config().get("mean", 0.0)
        assert np.abs(ours - mean).max() <= 2 * param * (1 + 1e-6)
        assert np.abs(ref - mean).max() <= 2 * param * (1 + 1e-6)
        assert np.abs(ours - mean).max() > 1.95 * param


@pytest.mark.parametrize("name", RANDOM_CLASSES)
def test_seeded_initializers_are_reproducible(name):
    shape = (3, 3, 4, 8)
    a = initializers.get({"class_name": name, "config": {"seed": 7}})
    b = initializers.get({"class_name": name, "config": {"seed": 7}})
    c = initializers.get({"class_name": name, "config": {"seed": 8}})
    np.testing.assert_array_equal(a(shape), b(shape))
    np.testing.assert_array_equal(a(shape), a(shape))
    assert not np.array_equal(a(shape), c(shape))


@pytest.mark.parametrize("name", RANDOM_CLASSES)
def test_unseeded_initializers_differ_per_instance_like_keras(name):
    shape = (3, 3, 4, 8)
    first, second = initializers.get(name), initializers.get(name)
    assert not np.array_equal(first(shape), second(shape))
    # Keras 3: one unseeded instance draws its seed once, so repeated calls agree.
    np.testing.assert_array_equal(first(shape), first(shape))
    k_init = k_initializers.get(name)
    np.testing.assert_array_equal(np_(k_init(shape)), np_(k_init(shape)))


@pytest.mark.parametrize("shape", [(64, 32), (32, 64), (3, 3, 4, 16), (2, 2, 8, 4)])
@pytest.mark.parametrize("gain", [1.0, 0.5])
def test_orthogonal_is_orthogonal_like_keras(shape, gain):
    ours = initializers.Orthogonal(gain=gain, seed=1)(shape)
    ref = np_(k_initializers.Orthogonal(gain=gain, seed=1)(shape))
    assert ours.shape == ref.shape == shape and ours.dtype == np.float32
    for w in (ours, ref):
        flat = w.reshape(-1, shape[-1]).astype(np.float64)
        gram = flat.T @ flat if flat.shape[0] >= flat.shape[1] else flat @ flat.T
        np.testing.assert_allclose(gram, gain ** 2 * np.eye(len(gram)), atol=1e-5)


@pytest.mark.parametrize("identifier, shape", [
    ("zeros", (3, 3, 2, 4)), ("Zeros", (5,)), ("zero", (2, 2)), ("ones", (3, 3, 2, 4)),
    ("one", (1,)), ({"class_name": "Constant", "config": {"value": 0.3}}, (3, 3, 2, 4)),
    ({"class_name": "constant", "config": {"value": -2}}, (4,)),
    ("identity", (4, 4)), ("IdentityInitializer", (3, 5)),
    ({"class_name": "Identity", "config": {"gain": 2.5}}, (5, 3)),
    ("stft", (16, 1, 9)), ("STFTInitializer", (8, 1, 5)),
    ({"class_name": "STFT", "config": {"side": "imag", "window": "hamming",
                                       "scaling": "spectrum", "periodic": True}}, (32, 1, 17)),
    ({"class_name": "STFT", "config": {"window": None, "scaling": None}}, (10, 1, 6)),
])
def test_deterministic_initializers_equal_keras(identifier, shape):
    ours = initializers.get(identifier)(shape)
    ref = np_(k_initializers.get(identifier)(shape))
    assert_values(ours, ref, rtol=1e-6, atol=1e-6)


def test_array_identifier_and_callables():
    value = np.arange(6, dtype=np.float32).reshape(2, 3)
    init = initializers.get(value)
    np.testing.assert_array_equal(init((2, 3)), value)
    with pytest.raises(ValueError, match="Expected `shape`"):
        init((3, 2))

    def my_init(shape, dtype=None):
        return np.full(shape, 4.0, dtype or "float32")

    assert initializers.get(my_init) is my_init
    assert isinstance(initializers.get(initializers.HeNormal), initializers.HeNormal)
    assert initializers.get(None) is None


@pytest.mark.parametrize("identifier", [
    "glorot_uniform", "GlorotUniform", "he_normal", "he_uniform", "lecun_normal",
    "lecun_uniform", "glorot_normal", "zeros", "ones", "random_normal", "random_uniform",
    "truncated_normal", "variance_scaling", "orthogonal", "identity", "IdentityInitializer",
    "normal", "uniform", "stft",
    {"class_name": "he_normal", "config": {"seed": 7}},
    {"class_name": "HeNormal"},
    {"class_name": "VarianceScaling", "config": {"scale": 2.0, "mode": "fan_in",
                                                 "distribution": "truncated_normal",
                                                 "seed": None}},
    {"class_name": "VarianceScaling", "config": {"distribution": "normal"}},
    {"module": "keras.initializers", "class_name": "GlorotUniform", "config": {"seed": None},
     "registered_name": None},
    {"class_name": "Constant", "config": {"value": 1.5}},
    {"class_name": "RandomUniform", "config": {"minval": -1, "maxval": 2, "seed": 3}},
    {"class_name": "Orthogonal", "config": {"gain": 2.0, "seed": 4}},
])
def test_initializer_serialize_matches_keras(identifier):
    ours = initializers.serialize(initializers.get(identifier))
    assert ours == k_initializers.serialize(k_initializers.get(identifier))
    again = initializers.get(ours)
    assert type(again) is type(initializers.get(identifier))
    assert initializers.serialize(again) == ours


@pytest.mark.parametrize("identifier", [
    "foo", "Glorot_Uniform", "constant", "Constant", 3, [1, 2],
    {"class_name": "foo", "config": {}},
    {"config": {}},
    {"class_name": "GlorotUniform", "config": {"seed": None, "foo": 1}},
    {"class_name": "GlorotUniform", "config": {"seed": "x"}},
    {"class_name": "GlorotUniform", "config": {"seed": 1.5}},
    {"class_name": "GlorotUniform", "config": {}, "module": None},
    {"class_name": "VarianceScaling", "config": {"scale": 0.0}},
    {"class_name": "VarianceScaling", "config": {"mode": "fan_max"}},
    {"class_name": "VarianceScaling", "config": {"distribution": "cauchy"}},
    {"class_name": "STFT", "config": {"side": "both"}},
    {"class_name": "STFT", "config": {"scaling": "loud"}},
])
def test_initializer_identifiers_keras_refuses(identifier):
    assert keras_refuses(k_initializers.get, identifier)
    with pytest.raises(ValueError):
        initializers.get(identifier)


def test_initializer_error_message_names_identifier():
    with pytest.raises(ValueError, match="Could not interpret initializer identifier: 'foo'"):
        initializers.get("foo")


def test_initializer_shape_errors_match_keras():
    for ours, ref, shape in [(initializers.Identity(), k_initializers.Identity(), (2, 2, 2)),
                             (initializers.Orthogonal(), k_initializers.Orthogonal(), (4,))]:
        assert keras_refuses(ref, shape)
        with pytest.raises(ValueError):
            ours(shape)


# =========================================================================== regularizers

REGULARIZER_NAMES = sorted(k_regularizers.ALL_OBJECTS_DICT)


def test_regularizer_names_are_keras_names():
    assert set(regularizers.ALL_OBJECTS_DICT) == set(REGULARIZER_NAMES)


def _penalty_pair(identifier, w):
    ours = regularizers.get(identifier)(w)
    ref = float(np_(k_regularizers.get(identifier)(tf(w))))
    return ours, ref


@pytest.mark.parametrize("identifier", [
    "l1", "L1", "l2", "L2", "l1l2", "L1L2",
    {"class_name": "L1L2", "config": {"l1": 0.01, "l2": 0.02}},
    {"class_name": "L1", "config": {"l1": 0.3}},
    {"class_name": "l2", "config": {"l2": 1e-4}},
    {"class_name": "L1L2", "config": {"l1": 0.0, "l2": 0.5}},
    {"class_name": "L1L2", "config": {"l1": None, "l2": 2}},
])
@pytest.mark.parametrize("shape", [(3, 3, 4, 8), (17,), (5, 7)])
def test_regularizer_penalties_match_keras(identifier, shape):
    w = np.random.default_rng(sum(shape)).normal(0, 1, shape).astype(np.float32)
    ours, ref = _penalty_pair(identifier, w)
    assert isinstance(ours, float)
    assert ours == pytest.approx(ref, rel=PENALTY_RTOL, abs=1e-12)


@pytest.mark.parametrize("mode", ["rows", "columns"])
@pytest.mark.parametrize("shape", [(6, 4), (4, 6), (2, 2), (9, 3)])
def test_orthogonal_regularizer_matches_keras(mode, shape):
    w = np.random.default_rng(1).normal(0, 1, shape).astype(np.float32)
    w[0] = 0.0  # a zero row exercises Keras's epsilon cap in normalize
    identifier = {"class_name": "OrthogonalRegularizer", "config": {"factor": 0.2,
                                                                    "mode": mode}}
    ours, ref = _penalty_pair(identifier, w)
    assert ours == pytest.approx(ref, rel=PENALTY_RTOL, abs=1e-9)


@settings(max_examples=25, deadline=None)
@given(w=hnp.arrays(np.float32, hnp.array_shapes(min_dims=1, max_dims=4, max_side=5),
                    elements=st.floats(-100, 100, width=32)),
       l1=st.floats(0, 1), l2=st.floats(0, 1))
def test_l1l2_penalty_matches_keras_property(w, l1, l2):
    identifier = {"class_name": "L1L2", "config": {"l1": l1, "l2": l2}}
    ours, ref = _penalty_pair(identifier, w)
    assert ours == pytest.approx(ref, rel=PENALTY_RTOL, abs=1e-30)


@pytest.mark.parametrize("name", REGULARIZER_NAMES)
def test_regularizer_serialize_matches_keras(name):
    if name in ("Regularizer", "regularizer"):
        with pytest.raises(NotImplementedError):
            regularizers.serialize(regularizers.get(name))
        return
    ours = regularizers.serialize(regularizers.get(name))
    assert ours == k_regularizers.serialize(k_regularizers.get(name))
    assert regularizers.serialize(regularizers.get(ours)) == ours


@pytest.mark.parametrize("identifier", [
    "l1_l2", "foo", "L1l2", 3,
    {"class_name": "foo", "config": {}},
    {"class_name": "L1", "config": {"l1": -0.1}},
    {"class_name": "L2", "config": {"l2": "a"}},
    {"class_name": "L1L2", "config": {"l1": float("nan")}},
    {"class_name": "L1L2", "config": {"l2": float("inf")}},
    {"class_name": "L2", "config": {"l2": np.float32(0.1)}},
    {"class_name": "L2", "config": {"factor": 0.1}},
    {"class_name": "OrthogonalRegularizer", "config": {"mode": "diagonal"}},
    {"class_name": "OrthogonalRegularizer", "config": {"factor": -1}},
])
def test_regularizer_identifiers_keras_refuses(identifier):
    assert keras_refuses(k_regularizers.get, identifier)
    with pytest.raises(ValueError):
        regularizers.get(identifier)


def test_regularizer_factor_error_message_matches_keras():
    with pytest.raises(ValueError) as ref:
        k_regularizers.L1(-1)
    with pytest.raises(ValueError) as ours:
        regularizers.L1(-1)
    assert str(ours.value) == str(ref.value)
    with pytest.raises(ValueError, match="Could not interpret regularizer identifier: 'l1_l2'"):
        regularizers.get("l1_l2")


def test_orthogonal_regularizer_rejects_conv_kernels_like_keras():
    w = np.ones((3, 3, 2, 4), np.float32)
    assert keras_refuses(k_regularizers.OrthogonalRegularizer(), tf(w))
    with pytest.raises(ValueError, match="rank 2"):
        regularizers.OrthogonalRegularizer()(w)


def test_regularizer_callables_and_none():
    def my_reg(w):
        return 0.5 * float(np.sum(w))

    assert regularizers.get(my_reg) is my_reg
    assert regularizers.get(None) is None
    assert regularizers.serialize(None) is None
    assert isinstance(regularizers.get(regularizers.L2), regularizers.L2)


@pytest.mark.parametrize("identifier", ["l2", "l1", {"class_name": "L1L2",
                                                     "config": {"l1": 0.01, "l2": 0.02}}])
@pytest.mark.parametrize("shape", [(4, 5, 3), (1, 6), (7,)])
def test_activity_penalty_matches_keras_layer(identifier, shape):
    x = np.random.default_rng(3).normal(0, 2, shape).astype(np.float32)
    layer = keras.layers.Activation("linear",
                                    activity_regularizer=k_regularizers.get(identifier))
    layer(tf(x))
    (ref,) = [float(np_(loss)) for loss in layer.losses]
    ours = regularizers.activity_penalty(regularizers.get(identifier), x)
    assert ours == pytest.approx(ref, rel=PENALTY_RTOL)


def test_activity_penalty_edge_cases():
    l2 = regularizers.L2(0.5)
    assert regularizers.activity_penalty(None, np.ones((2, 3))) == 0.0
    assert regularizers.activity_penalty(l2, np.zeros((0, 3), np.float32)) == 0.0
    assert regularizers.activity_penalty(l2, np.float32(2.0)) == pytest.approx(2.0)
    both = regularizers.activity_penalty(l2, [np.ones((2, 2), np.float32),
                                              np.ones((4, 2), np.float32)])
    assert both == pytest.approx(0.5 * 4 / 2 + 0.5 * 8 / 4)


# =========================================================================== constraints

CONSTRAINT_NAMES = sorted(k_constraints.ALL_OBJECTS_DICT)


def test_constraint_names_are_keras_names():
    assert set(constraints.ALL_OBJECTS_DICT) == set(CONSTRAINT_NAMES)


@pytest.mark.parametrize("identifier", [
    "max_norm", "MaxNorm", "non_neg", "NonNeg", "unit_norm", "UnitNorm", "min_max_norm",
    "MinMaxNorm", "constraint",
    {"class_name": "MaxNorm", "config": {"max_value": 2, "axis": 0}},
    {"class_name": "MaxNorm", "config": {"max_value": 0.5, "axis": [0, 1, 2]}},
    {"class_name": "max_norm", "config": {"max_value": 1.5, "axis": -1}},
    {"class_name": "UnitNorm", "config": {"axis": [0, 1, 2]}},
    {"class_name": "MinMaxNorm", "config": {"min_value": 0.5, "max_value": 1.5, "rate": 0.5,
                                            "axis": [0, 1, 2]}},
    {"class_name": "MinMaxNorm", "config": {"min_value": 2.0, "max_value": 3.0, "axis": 1}},
])
@pytest.mark.parametrize("shape", [(3, 3, 4, 8), (5, 3, 2, 4)])
def test_constraint_values_match_keras(identifier, shape):
    w = np.random.default_rng(2).normal(0, 0.7, shape).astype(np.float32)
    w[..., 0] = 0.0  # a zero filter: norm 0, the epsilon matters
    ours = constraints.get(identifier)(w)
    ref = np_(k_constraints.get(identifier)(tf(w)))
    assert_values(ours, ref, rtol=1e-6, atol=1e-7)


@settings(max_examples=20, deadline=None)
@given(w=hnp.arrays(np.float32, hnp.array_shapes(min_dims=2, max_dims=4, max_side=4),
                    elements=st.floats(-10, 10, width=32)),
       max_value=st.floats(0.1, 5))
def test_max_norm_matches_keras_property(w, max_value):
    ours = constraints.MaxNorm(max_value, axis=0)(w)
    ref = np_(k_constraints.MaxNorm(max_value, axis=0)(tf(w)))
    assert_values(ours, ref, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", CONSTRAINT_NAMES)
def test_constraint_serialize_matches_keras(name):
    ours = constraints.serialize(constraints.get(name))
    assert ours == k_constraints.serialize(k_constraints.get(name))
    assert constraints.serialize(constraints.get(ours)) == ours


@pytest.mark.parametrize("identifier", [
    "foo", "maxnorm", "Max_Norm", 2, {"class_name": "foo", "config": {}},
    {"class_name": "MaxNorm", "config": {"max_norm": 2}},
])
def test_constraint_identifiers_keras_refuses(identifier):
    assert keras_refuses(k_constraints.get, identifier)
    with pytest.raises(ValueError, match="constraint"):
        constraints.get(identifier)


def test_constraint_callables_and_none():
    def clip(w):
        return np.clip(w, -1, 1)

    assert constraints.get(clip) is clip
    assert constraints.get(None) is None
    assert constraints.serialize(None) is None
    assert constraints.serialize(clip) == k_constraints.serialize(clip)


# =========================================================================== resolve

@pytest.mark.parametrize("kind, identifier, argument", [
    ("activation", "foo", "activation"),
    ("initializer", "foo", "kernel_initializer"),
    ("initializer", {"class_name": "he_normal", "config": {"seed": "x"}}, "bias_initializer"),
    ("regularizer", "l1_l2", "kernel_regularizer"),
    ("regularizer", {"class_name": "L1", "config": {"l1": -1}}, "activity_regularizer"),
    ("constraint", 5, "kernel_constraint"),
])
def test_resolve_names_the_argument_and_value(kind, identifier, argument):
    with pytest.raises(ValueError) as info:
        resolve(kind, identifier, argument)
    message = str(info.value)
    assert message.startswith(f"Invalid value for argument `{argument}`: ")
    assert message.endswith(f"Received: {argument}={identifier!r}")


def test_resolve_and_serialize_dispatch():
    assert resolve("activation", None, "activation") is activations.linear
    assert isinstance(resolve("initializer", "he_normal", "kernel_initializer"),
                      initializers.HeNormal)
    assert resolve("regularizer", None, "kernel_regularizer") is None
    assert isinstance(resolve("constraint", "non_neg", "kernel_constraint"),
                      constraints.NonNeg)
    assert serialize("activation", activations.relu) == "relu"
    assert serialize("regularizer", None) is None
    assert serialize("constraint", constraints.MaxNorm(3))["config"] == {"max_value": 3,
                                                                        "axis": 0}
    with pytest.raises(ValueError, match="Unknown kind"):
        resolve("loss", "mse", "loss")
