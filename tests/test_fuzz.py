"""Fuzzing with hypothesis: the engine, the loaders and the URL parser under random input.

- every layer's constructor + ``compute_output_shape`` + call with random (mostly absurd)
  arguments and input shapes: nothing but ``ValueError`` ever escapes, and a successful call
  returns exactly ``compute_output_shape`` (the app's budget decides what is too big to run);
- the loaders with random bytes, random bytes behind real magic numbers, and real files with
  random bytes flipped or cut off: only ``InputError``, or a clean finite float32 array;
- ``app.state.parse_query`` with random query strings: never raises, always yields a state
  the widgets can show, and its URL reads back to the same state; a few random URLs also
  run through the whole app (AppTest) without an exception.

``CONVLAB_FUZZ_EXAMPLES`` scales the example counts (default 1 = the CI budget);
``CONVLAB_FUZZ_RANDOM=1`` draws new examples instead of the fixed, reproducible ones.
"""

from __future__ import annotations

import inspect
import io
import math
import os
import struct
import wave

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app import compute
from app import state as S
from engine import io as eio
from engine.layers import LAYER_CLASSES

SCALE = float(os.environ.get("CONVLAB_FUZZ_EXAMPLES", "1"))
RANDOM = os.environ.get("CONVLAB_FUZZ_RANDOM", "") not in ("", "0")


def fuzz_settings(n: int):
    return settings(max_examples=max(1, int(n * SCALE)), deadline=None, derandomize=not RANDOM,
                    suppress_health_check=list(HealthCheck), database=None)


# --------------------------------------------------------------------------- strategies

JUNK = st.sampled_from([None, "", "3", "same", 2.5, float("nan"), float("inf"), True, [], {},
                        (1, "a"), b"x", -(10 ** 9), 10 ** 20, 2 ** 63, object()])


def good_spatial(rank, lo, hi):
    return st.one_of(st.integers(lo, hi), st.tuples(*[st.integers(lo, hi)] * rank),
                     st.lists(st.integers(lo, hi), min_size=rank, max_size=rank))


def bad_spatial(rank):
    return st.one_of(st.lists(st.integers(-1, 5), max_size=4), st.integers(-3, 0),
                     st.sampled_from([10 ** 6, (10 ** 6,) * rank, (1.5,) * rank, 10 ** 9]), JUNK)


def good_pairs(rank):
    pair = st.tuples(st.integers(0, 2), st.integers(0, 2))
    if rank == 1:
        return st.one_of(st.integers(0, 2), pair)
    return st.one_of(st.integers(0, 2), st.tuples(*[st.integers(0, 2)] * rank),
                     st.tuples(*[pair] * rank))


def bad_pairs(rank):
    return st.one_of(st.integers(-2, -1), st.tuples(*[st.integers(-2, 3)] * (rank + 1)),
                     st.tuples(*[st.tuples(st.integers(-1, 3))] * rank), st.just(10 ** 7), JUNK)


INITIALIZERS = st.sampled_from([
    "glorot_uniform", "zeros", "ones", "he_normal", "orthogonal", "lecun_uniform",
    {"class_name": "RandomNormal", "config": {"seed": 3, "stddev": 0.5}},
    {"class_name": "Constant", "config": {"value": 2.0}}, {"class_name": "he_uniform"}])
BAD_INITIALIZERS = st.sampled_from([{"class_name": "Nope"}, {"config": {}}, "bogus", 5, np.ones])
REGULARIZERS = st.sampled_from([None, "l1", "l2", "l1l2", "orthogonal_regularizer",
                                {"class_name": "L1L2", "config": {"l1": 0.01}}])
BAD_REGULARIZERS = st.sampled_from([{"class_name": "L2", "config": {"l2": -1}}, "bad", 3])
CONSTRAINTS = st.sampled_from([None, "max_norm", "non_neg", "unit_norm", "min_max_norm",
                               {"class_name": "MaxNorm", "config": {"max_value": 2}}])
BAD_CONSTRAINTS = st.sampled_from(["bogus", 1, {"class_name": "X"}])
ACTIVATIONS = st.sampled_from([None, "relu", "softmax", "sigmoid", "linear", "gelu", "tanh",
                               "exponential", "glu", "log_softmax", "hard_shrink", "threshold",
                               np.tanh, "RELU"])
BAD_ACTIVATIONS = st.sampled_from(["nope", 3, "", {"class_name": "nope"}])


def arg_strategies(name: str, cls):
    """(valid values, invalid values) of one constructor argument of ``cls``."""
    rank = cls.rank
    if name in ("kernel_size", "strides", "dilation_rate", "size"):
        hi = {"kernel_size": 4, "strides": 3, "dilation_rate": 3, "size": 3}[name]
        good = good_spatial(rank, 1, hi)
        if name in ("strides", "dilation_rate"):  # Keras refuses both > 1: mostly 1
            good = st.one_of(st.just(1), st.just(1), st.just(1), good)
        if name == "size" and rank == 1:
            good = st.integers(1, 3)
        return good, bad_spatial(rank)
    if name == "padding" and cls.__name__.startswith("ZeroPadding") or name == "cropping":
        return good_pairs(rank), bad_pairs(rank)
    table = {
        "filters": (st.integers(1, 6), st.one_of(st.integers(-3, 0), st.just(10 ** 20), JUNK)),
        "padding": (st.sampled_from(["valid", "same", "SAME", "Valid"] + (
            ["causal"] if cls.__name__ == "Conv1D" else [])),
            st.sampled_from(["causal", "full", 0, None, 1.5, ""])),
        "data_format": (st.sampled_from([None, "channels_last", "channels_first",
                                         "CHANNELS_FIRST"]), st.sampled_from(["nchw", 1, ""])),
        "groups": (st.sampled_from([1, 1, 1, 1, 1, 2, 3]), st.one_of(st.integers(-1, 0), JUNK)),
        "depth_multiplier": (st.integers(1, 3), st.one_of(st.integers(-1, 0), JUNK)),
        "output_padding": (st.one_of(st.none(), st.integers(0, 2),
                                     st.tuples(*[st.integers(0, 2)] * rank)),
                           st.one_of(st.integers(-1, -1), st.integers(3, 9), JUNK)),
        "activation": (ACTIVATIONS, BAD_ACTIVATIONS),
        "use_bias": (st.sampled_from([True, False, 0, 1]), st.sampled_from(["yes", None, 2])),
        "interpolation": (st.sampled_from(["nearest", "bilinear", "bicubic", "lanczos3",
                                           "lanczos5", "area", "BILINEAR"]),
                          st.sampled_from(["cubic", None, 1])),
        "name": (st.sampled_from([None, "x", "", "ü" * 300]), st.sampled_from([5, b"x"])),
        "dtype": (st.sampled_from([None, "float32", "float64", "mixed_float16"]),
                  st.sampled_from(["int32", "bogus", 3])),
        "trainable": (st.booleans(), st.sampled_from(["no", None])),
    }
    if name in table:
        return table[name]
    if name.endswith("_initializer"):
        return INITIALIZERS, BAD_INITIALIZERS
    if name.endswith("_regularizer"):
        return REGULARIZERS, BAD_REGULARIZERS
    if name.endswith("_constraint"):
        return CONSTRAINTS, BAD_CONSTRAINTS
    raise AssertionError(f"no strategy for {cls.__name__}({name}=…)")


def kwargs_strategy(cls) -> st.SearchStrategy:
    """Mostly valid keyword arguments (any subset of the optional ones); in about a third
    of the examples one to three of them replaced by invalid values, or an unknown keyword."""
    params = [p for p in inspect.signature(cls.__init__).parameters.values()][1:]
    names = [p.name for p in params if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]
    names += ["name", "dtype", "trainable"]
    required = [p.name for p in params if p.default is p.empty
                and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]
    pairs_ = {n: arg_strategies(n, cls) for n in names}

    @st.composite
    def build(draw):
        chosen = set(required) | {n for n in names if n not in required and draw(st.booleans())}
        kwargs = {n: draw(pairs_[n][0]) for n in chosen}
        mode = draw(st.integers(0, 5))
        if mode in (0, 1):  # break one to three arguments
            for n in draw(st.lists(st.sampled_from(names), min_size=1, max_size=3)):
                kwargs[n] = draw(pairs_[n][1])
        elif mode == 2 and draw(st.booleans()):
            kwargs[draw(st.sampled_from(["bogus_argument", "input_shape", "autocast"]))] = 1
        return kwargs

    return build()


def shape_strategy(rank):
    dim = st.one_of(st.integers(3, 9), st.integers(3, 9), st.integers(1, 9), st.just(0))
    chan = st.one_of(st.integers(1, 4), st.integers(1, 4), st.just(0), st.just(6))
    right = st.tuples(st.integers(1, 2), *[dim] * rank, chan)
    wrong = st.lists(st.integers(0, 4), min_size=rank + 1, max_size=rank + 3).map(tuple)
    return st.one_of(right, right, right, right, wrong)


# Small enough to run a few thousand examples in seconds; the app's own budget is larger.
FUZZ_BUDGET = dict(params=200_000, out=300_000, macs=20_000_000, work=2_000_000, inp=100_000)


def within_budget(layer, shape, out_shape) -> bool:
    c = compute.cost(layer, shape, out_shape)
    return (c.params <= FUZZ_BUDGET["params"] and c.out_elements <= FUZZ_BUDGET["out"]
            and c.macs <= FUZZ_BUDGET["macs"] and c.work_elements <= FUZZ_BUDGET["work"]
            and c.in_elements <= FUZZ_BUDGET["inp"])


STATS: dict = {}


@pytest.mark.parametrize("layer_name", list(LAYER_CLASSES))
def test_layer_fuzz(layer_name):
    cls = LAYER_CLASSES[layer_name]
    stats = STATS.setdefault(layer_name, {"examples": 0, "constructed": 0, "called": 0})

    @fuzz_settings(120)
    @given(kwargs=kwargs_strategy(cls), shape=shape_strategy(cls.rank), seed=st.integers(0, 9),
           fit=st.booleans())
    def check(kwargs, shape, seed, fit):
        stats["examples"] += 1
        if fit and len(shape) == cls.rank + 2:
            # room for any drawn kernel (4 taps dilated by 3: 10 cells) and groups (2, 3):
            # without it a run of 120 Conv3D examples may never get to call the layer
            shape = shape[:1] + tuple(max(d, 12) for d in shape[1:])
        try:
            layer = cls(**kwargs)
        except ValueError:
            return
        stats["constructed"] += 1
        # the config reproduces the layer (a plain function cannot be deserialized: Keras
        # refuses it too)
        try:
            again = cls.from_config(layer.get_config())
            assert again.get_config() == layer.get_config()
        except ValueError:
            assert any(callable(v) and not isinstance(v, type) for v in kwargs.values())
        try:
            out_shape = tuple(layer.compute_output_shape(shape))
        except ValueError:
            out_shape = None
        if out_shape is not None:
            assert len(out_shape) == len(shape)
            assert all(isinstance(d, int) and d >= 0 for d in out_shape), out_shape
            unknown = layer.compute_output_shape((None,) + tuple(shape[1:]))
            assert tuple(unknown) == (None,) + out_shape[1:]
            cost = compute.cost(layer, shape, out_shape)  # the budget never crashes either
            assert min(cost.params, cost.macs, cost.out_elements, cost.work_elements) >= 0
            if not within_budget(layer, shape, out_shape):
                return
        elif math.prod(shape) > FUZZ_BUDGET["inp"]:
            return
        x = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
        try:
            y = layer(x)
        except ValueError:
            return
        stats["called"] += 1
        assert out_shape is not None, "the call succeeded where compute_output_shape refused"
        if str(kwargs.get("activation")).lower() == "glu":
            # Keras's compute_output_shape ignores that glu halves the last axis; so do we
            out_shape = out_shape[:-1] + (out_shape[-1] // 2,)
        assert y.shape == out_shape and y.dtype == np.float32
        assert [w.shape for w in layer.get_weights()] == [w.shape for w in layer.weights]

    check()
    # the strategies must reach the interesting part, not only refusals
    assert stats["called"] >= 1, stats


# --------------------------------------------------------------------------- loaders

def _png():
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.arange(48, dtype=np.uint8).reshape(4, 4, 3)).save(buf, format="PNG")
    return buf.getvalue()


def _image(fmt, **kw):
    from PIL import Image

    buf = io.BytesIO()
    img = Image.fromarray((np.arange(192).reshape(8, 8, 3) * 5 % 256).astype(np.uint8))
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def _wav():
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes((np.arange(64, dtype="<i2") * 300).tobytes())
    return buf.getvalue()


def _npy(arr):
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


SEEDS = {
    "a.png": _png(), "a.jpg": _image("JPEG"), "a.gif": _image("GIF"), "a.bmp": _image("BMP"),
    "a.tif": _image("TIFF"), "a.webp": _image("WEBP"), "a.wav": _wav(),
    "a.csv": b"t,x,y\n0,1.5,2\n1,2.5,-3\n2,1e-3,4\n", "a.txt": b"1 2 3\n4 5 6\n",
    "a.npy": _npy(np.arange(24, dtype=np.float32).reshape(2, 3, 4)),
    "b.npy": _npy(np.arange(10, dtype=np.int16)),
}
MAGIC = [b"", b"\x89PNG\r\n\x1a\n", b"GIF89a", b"\xff\xd8\xff\xe0", b"BM", b"II*\x00",
         b"RIFF\x00\x01\x00\x00WAVEfmt ", b"RIFF\x00\x00\x00\x00WEBPVP8 ", b"\x93NUMPY\x01\x00",
         b"\x93NUMPY\x03\x00", b"1,2\n", b"\xef\xbb\xbf"]
NAMES = ["x.png", "x.jpg", "x.gif", "x.tif", "x.csv", "x.txt", "x.wav", "x.npy", "x", "x.webp"]


def check_loaders(data: bytes, name: str) -> None:
    """Every loader: InputError, or a clean array of the documented layout."""
    for kind, ndim in (("image", 3), ("signal", 2), ("volume", 4), (None, None)):
        try:
            loaded = eio.load_any(data, name, kind=kind)
        except eio.InputError as exc:
            assert str(exc) and len(str(exc)) < 600
            continue
        arr = loaded.array
        assert arr.dtype == np.float32 and np.all(np.isfinite(arr)), (kind, name)
        assert arr.ndim == (ndim or {"image": 3, "signal": 2, "volume": 4}[loaded.kind])
        assert arr.size > 0 and arr.shape[-1] >= 1
        if loaded.kind == "image":
            assert 0 <= arr.min() and arr.max() <= 1


@fuzz_settings(300)
@given(prefix=st.sampled_from(MAGIC), tail=st.binary(max_size=600), name=st.sampled_from(NAMES))
def test_random_bytes_as_uploads(prefix, tail, name):
    check_loaders(prefix + tail, name)


@fuzz_settings(300)
@given(seed_name=st.sampled_from(sorted(SEEDS)),
       edits=st.lists(st.tuples(st.integers(0, 10 ** 6), st.integers(0, 255)), max_size=6),
       cut=st.one_of(st.none(), st.integers(0, 10 ** 6)), rename=st.booleans())
def test_mutated_real_files(seed_name, edits, cut, rename):
    data = bytearray(SEEDS[seed_name])
    for pos, value in edits:
        data[pos % len(data)] = value
    if cut is not None:
        data = data[: cut % (len(data) + 1)]
    check_loaders(bytes(data), "upload.bin" if rename else seed_name)


@fuzz_settings(40)
@given(header=st.dictionaries(st.sampled_from(["descr", "fortran_order", "shape", "x"]),
                              st.one_of(st.sampled_from(["<f4", "|O", "<c8", "V8", "<M8[D]"]),
                                        st.booleans(),
                                        st.lists(st.integers(-2, 10 ** 7), max_size=6).map(tuple),
                                        st.text(max_size=8))),
       payload=st.binary(max_size=256))
def test_npy_headers(header, payload):
    text = repr(header).encode()
    text += b" " * (63 - (len(text) + 10) % 64) + b"\n"
    data = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text + payload
    check_loaders(data, "h.npy")


# --------------------------------------------------------------------------- URLs

LITERALS = st.sampled_from([
    "3", "0", "-1", "(3,3)", "(3,3,3)", "[1,2]", "((1,2),(3,4))", "same", "valid", "causal",
    "None", "True", "1e9", "1000000000", "2147483648", "9" * 30, "'x'", "\"same\"", "{}",
    "{'class_name':'L2'}", "(", ")", "[[[[", "__import__('os')", "lambda: 1", "1+1", "f(x)",
    "(1,)*3", "nan", "inf", "-inf", "\x00", "%", "é", "(1,64,64,3)", "(1,0,4,4)",
    "(1,4096,4096,3)", "channels_first", "Conv2D", "conv3dtranspose", "stack", "animate",
    "[[0,1],[1,0]]", "[1e308]", "(2,2)", "bilinear", "relu", "he_normal", "photo", "clip",
])
KEYS = st.sampled_from(sorted({s.name for lay in S.ALL_LAYERS for s in S.arg_specs(lay)}
                              | set(S.APP_PARAMS) | {"code", "example", "anim_step", "rf_repeat",
                                                     "bogus", ""}))
QUERIES = st.dictionaries(
    st.one_of(KEYS, KEYS, st.text(max_size=6)),
    st.one_of(LITERALS, LITERALS, st.text(max_size=12),
              st.lists(LITERALS, min_size=0, max_size=3)),
    max_size=8)


def widget_ready(state) -> None:
    """What the sidebar widgets can hold: the coerced value of each argument, integers
    within the widgets' bounds (a value outside would make Streamlit raise)."""
    assert state.layer in S.ALL_LAYERS
    for spec in S.arg_specs(state.layer):
        value = state.args[spec.name]
        assert S.coerce_arg(spec, value) == value
    assert 1 <= state.batch <= S.MAX_BATCH and 0 <= state.seed < 2 ** 31
    if state.size is not None:
        assert all(1 <= v <= S.MAX_SIZE for v in state.size)
    assert state.view in S.VIEWS and state.color in S.COLOR_MODES


@fuzz_settings(400)
@given(QUERIES)
def test_random_query_strings_parse(params):
    state, errors = S.parse_query(params)
    widget_ready(state)
    assert all(isinstance(k, str) and isinstance(m, str) and len(m) < 1200 for k, m in errors)
    back, errors2 = S.parse_query(S.to_query(state))
    assert not errors2, errors2
    assert back.layer == state.layer and back.args == state.args
    widget_ready(back)


@fuzz_settings(12)
@given(QUERIES)
def test_random_urls_never_crash_the_app(params):
    from streamlit.testing.v1 import AppTest

    from tests.test_app import APP

    at = AppTest.from_file(APP, default_timeout=120)
    for k, v in params.items():
        if k:
            at.query_params[k] = v if isinstance(v, str) else list(v)
    at.run()
    assert not at.exception, [e.stack_trace for e in at.exception]
    texts = [m.value for m in at.markdown]
    if at.radio(key="view").value == "explore":
        assert any("Output shape:" in t for t in texts)
