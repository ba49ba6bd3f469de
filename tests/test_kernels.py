"""engine.kernels.conv against the slow float64 references in tests/naive.py.

Random configurations (hypothesis) over ranks 1–3, batch 1–2, 1–40 channels, groups
(including depthwise ``groups == C`` with one or more filters per channel), strides,
dilation and Keras's paddings — once as dispatched, once with every padded convolution
forced through the packed kernel (tiny chunks, bands and parts so that each of its loops
turns); fixed cases make sure each dispatch path of :func:`engine.kernels.conv.path`
("filters", "filters-padded", "packed", "channels", "channels-expanded") and each loop
shape (register blocks, overlapping last block, column blocks and lone cells at borders,
several 16-filter blocks, partial lanes, row segments spread over threads, transposed
phases with no taps) is taken. Tolerance: ``1e-4 · max(1, |y|)`` element by element.
``CONVLAB_KERNEL_EXAMPLES`` sets the number of random examples per test (default 300).
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import shapes
from engine.kernels import conv as K
from tests.naive import conv_nd, conv_transpose_nd

EXAMPLES = int(os.environ.get("CONVLAB_KERNEL_EXAMPLES", "300"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                    suppress_health_check=list(HealthCheck))
MAX_SPATIAL = {1: 40, 2: 14, 3: 7}


def assert_close(y, ref):
    assert y.dtype == np.float32
    assert y.shape == ref.shape
    err = np.abs(y.astype(np.float64) - ref)
    bound = 1e-4 * np.maximum(1.0, np.abs(ref))
    assert np.all(err <= bound), f"max error {err.max():.3g} (bound {bound.min():.3g})"


def run_conv(x, w, b, strides, dilation, padding, groups):
    spatial = x.shape[1:-1]
    ks = w.shape[:-2]
    out = [shapes.conv_output_length(n, k, s, d, padding)
           for n, k, s, d in zip(spatial, ks, strides, dilation)]
    pads = [shapes.conv_padding(n, k, s, d, padding)[0]
            for n, k, s, d in zip(spatial, ks, strides, dilation)]
    y = K.conv(x, w, b, strides, dilation, pads, out, groups)
    ref = conv_nd(x, w, strides, dilation, padding, groups)
    if b is not None:
        ref = ref + b
    assert_close(y, ref)


def run_transpose(x, w, b, strides, dilation, padding, output_padding):
    spatial = x.shape[1:-1]
    ks = w.shape[:-2]
    out = [shapes.conv_transpose_output_length(n, k, s, d, padding, op)
           for n, k, s, d, op in zip(spatial, ks, strides, dilation, output_padding)]
    pads = [shapes.conv_transpose_padding(n, o, k, s, d, padding)
            for n, o, k, s, d in zip(spatial, out, ks, strides, dilation)]
    y = K.conv_transpose(x, w, b, strides, dilation, pads, out)
    ref = conv_transpose_nd(x, w, strides, dilation, out, pads)
    if b is not None:
        ref = ref + b
    assert_close(y, ref)


def arrays(seed, x_shape, w_shape, n_filters, bias=True):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, x_shape).astype(np.float32)
    w = rng.uniform(-1, 1, w_shape).astype(np.float32)
    b = rng.uniform(-1, 1, n_filters).astype(np.float32) if bias else None
    return x, w, b


# --------------------------------------------------------------------------- random

@st.composite
def conv_configs(draw):
    rank = draw(st.integers(1, 3))
    channels = draw(st.integers(1, 40))
    divisors = [g for g in range(1, channels + 1) if channels % g == 0]
    kind = draw(st.sampled_from(["dense", "depthwise", "grouped"]))
    if kind == "dense":
        groups = 1
    elif kind == "depthwise":
        groups = channels
    else:
        groups = draw(st.sampled_from(divisors))
    per_group = draw(st.integers(1, max(1, 40 // groups)))
    n_filters = groups * per_group
    ks = tuple(draw(st.integers(1, 4)) for _ in range(rank))
    strides = tuple(draw(st.integers(1, 3)) for _ in range(rank))
    dilation = tuple(draw(st.integers(1, 3)) for _ in range(rank))
    padding = draw(st.sampled_from(["valid", "same", "causal"] if rank == 1 else ["valid", "same"]))
    limit = MAX_SPATIAL[rank]
    spatial = []
    for k, d in zip(ks, dilation):
        lo = d * (k - 1) + 1 if padding == "valid" else 1
        spatial.append(draw(st.integers(lo, max(lo, limit))))
    batch = draw(st.integers(1, 2))
    return (rank, batch, tuple(spatial), channels, n_filters, groups, ks, strides, dilation,
            padding, draw(st.booleans()), draw(st.integers(0, 2**31 - 1)))


@SETTINGS
@given(conv_configs())
def test_conv_random(config):
    (_, batch, spatial, channels, n_filters, groups, ks, strides, dilation, padding, bias,
     seed) = config
    x, w, b = arrays(seed, (batch, *spatial, channels), ks + (channels // groups, n_filters),
                     n_filters, bias)
    run_conv(x, w, b, strides, dilation, padding, groups)


@st.composite
def transpose_configs(draw):
    rank = draw(st.integers(1, 3))
    channels = draw(st.integers(1, 40))
    n_filters = draw(st.integers(1, 40))
    ks = tuple(draw(st.integers(1, 4)) for _ in range(rank))
    strides = tuple(draw(st.integers(1, 4)) for _ in range(rank))
    dilation = tuple(draw(st.integers(1, 3)) for _ in range(rank))
    padding = draw(st.sampled_from(["valid", "same"]))
    spatial = tuple(draw(st.integers(1, MAX_SPATIAL[rank] // 2 + 1)) for _ in range(rank))
    if draw(st.booleans()):
        output_padding = tuple(draw(st.integers(0, s - 1)) for s in strides)
    else:
        output_padding = (None,) * rank
    # keep only configurations TensorFlow accepts (see engine.shapes)
    for n, k, s, d, op in zip(spatial, ks, strides, dilation, output_padding):
        o = shapes.conv_transpose_output_length(n, k, s, d, padding, op)
        if o <= 0 or shapes.conv_output_length(o, k, s, d, padding) != n:
            output_padding = (None,) * rank
    batch = draw(st.integers(1, 2))
    return (batch, spatial, channels, n_filters, ks, strides, dilation, padding,
            output_padding, draw(st.booleans()), draw(st.integers(0, 2**31 - 1)))


@SETTINGS
@given(transpose_configs())
def test_conv_transpose_random(config):
    (batch, spatial, channels, n_filters, ks, strides, dilation, padding, output_padding, bias,
     seed) = config
    x, w, b = arrays(seed, (batch, *spatial, channels), ks + (n_filters, channels), n_filters,
                     bias)
    run_transpose(x, w, b, strides, dilation, padding, output_padding)


# --------------------------------------------------------------------------- each path

# (spatial, channels, filters, groups, kernel, strides, dilation, padding, batch, path)
CONV_CASES = [
    # filters, trimmed borders: register blocks, overlapping last block, lone border cells
    ((37, 29), 3, 16, 1, (3, 3), (1, 1), (1, 1), "same", 1, "filters"),
    ((21, 23), 2, 40, 1, (3, 2), (2, 1), (1, 1), "same", 2, "filters"),  # 3 filter blocks
    ((9, 6), 1, 5, 1, (2, 3), (1, 2), (2, 1), "valid", 1, "filters"),  # partial lanes
    ((300,), 1, 16, 1, (9,), (1,), (1,), "same", 1, "filters"),  # one row: segments
    ((257,), 3, 7, 1, (5,), (2,), (1,), "causal", 2, "filters"),
    ((6, 7, 9), 1, 17, 1, (3, 3, 3), (1, 1, 2), (1, 2, 1), "same", 1, "filters"),
    ((12, 20), 6, 24, 3, (3, 1), (1, 1), (1, 1), "same", 1, "filters"),  # groups, fg >= 8
    ((3, 3), 1, 16, 1, (5, 5), (1, 1), (1, 1), "same", 1, "filters"),  # kernel > input
    # filters, zero-padded copy (many taps per cell)
    ((14, 15), 24, 40, 1, (3, 3), (1, 1), (1, 1), "same", 2, "filters-padded"),
    ((11, 10), 40, 16, 2, (3, 3), (2, 2), (1, 1), "same", 1, "packed"),
    ((5, 6, 7), 8, 9, 1, (2, 3, 3), (1, 1, 1), (1, 1, 1), "valid", 1, "packed"),
    ((5, 6, 12), 8, 9, 1, (2, 3, 3), (1, 1, 1), (1, 1, 1), "valid", 1, "filters-padded"),
    ((70,), 33, 19, 1, (4,), (1,), (3,), "causal", 1, "filters-padded"),
    ((4, 11), 40, 17, 1, (4, 4), (1, 1), (1, 1), "same", 2, "filters-padded"),
    ((9, 11), 200, 40, 1, (3, 3), (1, 1), (1, 1), "same", 1, "filters-padded"),  # 1800 taps
    # packed: rows shorter than PACK_BELOW, many taps
    ((6, 5), 256, 128, 1, (3, 3), (1, 1), (1, 1), "same", 2, "packed"),
    ((7,), 160, 600, 1, (3,), (2,), (1,), "same", 1, "packed"),
    ((5, 6), 96, 80, 2, (3, 3), (1, 1), (1, 1), "same", 1, "packed"),
    ((9, 7), 40, 17, 1, (3, 3), (1, 1), (1, 1), "valid", 1, "packed"),
    # channel lanes: depthwise in place, and expanded groups
    ((20, 19), 32, 32, 32, (3, 3), (1, 1), (1, 1), "same", 1, "channels"),
    ((17, 18), 40, 40, 40, (3, 3), (2, 2), (1, 1), "same", 2, "channels"),  # partial lanes
    ((9, 30), 5, 5, 5, (3, 4), (1, 3), (2, 1), "valid", 1, "channels"),
    ((50,), 3, 3, 3, (7,), (1,), (1,), "causal", 1, "channels"),
    ((4, 5, 6), 7, 7, 7, (3, 2, 3), (1, 1, 1), (1, 1, 1), "same", 1, "channels"),
    ((13, 12), 8, 24, 8, (3, 3), (1, 1), (1, 1), "same", 1, "channels-expanded"),  # mult. 3
    ((13, 12), 12, 8, 4, (2, 2), (1, 2), (1, 1), "same", 2, "channels-expanded"),  # cg 3
    ((40,), 6, 2, 2, (3,), (1,), (2,), "same", 1, "filters"),  # expansion too large
]


@pytest.mark.parametrize("case", CONV_CASES, ids=lambda c: f"{c[-1]}-{c[0]}-{c[1]}x{c[2]}g{c[3]}")
def test_conv_paths(case):
    spatial, channels, n_filters, groups, ks, strides, dilation, padding, batch, path = case
    w_shape = ks + (channels // groups, n_filters)
    width = shapes.conv_output_length(spatial[-1], ks[-1], strides[-1], dilation[-1], padding)
    assert K.path(w_shape, groups, out_width=width) == path
    x, w, b = arrays(len(spatial) * 1000 + channels, (batch, *spatial, channels), w_shape,
                     n_filters)
    run_conv(x, w, b, strides, dilation, padding, groups)


# (spatial, channels, filters, kernel, strides, dilation, padding, output_padding, path)
TRANSPOSE_CASES = [
    ((5, 3), 256, 24, (3, 3), (2, 2), (1, 1), "same", (None, None), "packed"),
    ((28, 28), 4, 4, (3, 3), (2, 2), (1, 1), "valid", (None, None), "filters-padded"),
    ((9, 10), 3, 16, (3, 3), (2, 2), (1, 1), "same", (None, None), "filters"),
    ((9, 10), 3, 5, (3, 3), (2, 2), (1, 1), "same", (1, 1), "filters"),
    ((6, 7), 2, 20, (2, 2), (3, 3), (1, 1), "valid", (None, None), "filters"),  # empty phase
    ((6, 7), 2, 3, (4, 3), (3, 2), (1, 1), "valid", (2, 1), "filters"),
    ((7, 8), 20, 17, (3, 3), (1, 1), (2, 2), "same", (None, None), "filters-padded"),
    ((12,), 3, 8, (5,), (4,), (1,), "same", (None,), "filters"),
    ((100,), 1, 16, (9,), (2,), (1,), "same", (None,), "filters"),
    ((4, 5, 6), 8, 16, (3, 3, 3), (2, 2, 2), (1, 1, 1), "same", (None,) * 3, "packed"),
    ((4, 5, 9), 8, 16, (3, 3, 3), (1, 1, 2), (1, 1, 1), "same", (None,) * 3, "filters-padded"),
    ((3, 4, 3), 2, 5, (2, 3, 2), (1, 2, 3), (1, 1, 1), "valid", (None,) * 3, "filters"),
]


@pytest.mark.parametrize("case", TRANSPOSE_CASES, ids=lambda c: f"{c[-1]}-{c[0]}-{c[1]}x{c[2]}")
def test_conv_transpose_paths(case):
    spatial, channels, n_filters, ks, strides, dilation, padding, output_padding, path = case
    w_shape = ks + (n_filters, channels)
    width = shapes.conv_transpose_output_length(spatial[-1], ks[-1], strides[-1],
                                                dilation[-1], padding, output_padding[-1])
    assert K.path(w_shape, transposed=True, out_width=width // strides[-1]) == path
    x, w, b = arrays(len(spatial) * 1000 + channels, (2, *spatial, channels), w_shape,
                     n_filters)
    run_transpose(x, w, b, strides, dilation, padding, output_padding)


@pytest.fixture
def packed(monkeypatch):
    """Every convolution with PAD_TAPS or more taps through the packed kernel, with tiny
    chunks of taps, bands of cells and filter panels so that each loop turns."""
    monkeypatch.setattr(K, "PACK_BELOW", 1 << 30)
    monkeypatch.setattr(K, "PACK_CHUNK", 24)
    monkeypatch.setattr(K, "PACK_BAND", 16)
    monkeypatch.setattr(K, "PACK_PART", 24)


@SETTINGS
@given(conv_configs())
def test_conv_random_packed(packed, config):
    (_, batch, spatial, channels, n_filters, groups, ks, strides, dilation, padding, bias,
     seed) = config
    x, w, b = arrays(seed, (batch, *spatial, channels), ks + (channels // groups, n_filters),
                     n_filters, bias)
    run_conv(x, w, b, strides, dilation, padding, groups)


@SETTINGS
@given(transpose_configs())
def test_conv_transpose_random_packed(packed, config):
    (batch, spatial, channels, n_filters, ks, strides, dilation, padding, output_padding, bias,
     seed) = config
    x, w, b = arrays(seed, (batch, *spatial, channels), ks + (n_filters, channels), n_filters,
                     bias)
    run_transpose(x, w, b, strides, dilation, padding, output_padding)


def test_packed_groups_and_phases(packed):
    """Grouped convolutions and transposed phases through the packed kernel."""
    x, w, b = arrays(5, (2, 9, 8, 40), (3, 3, 10, 40), 40)
    assert K.path(w.shape, 4, out_width=8) == "packed"  # PACK_BELOW raised by the fixture
    run_conv(x, w, b, (2, 1), (1, 1), "same", 4)
    x, w, b = arrays(6, (2, 5, 6, 12), (3, 4, 7, 12), 7)
    assert K.path(w.shape, transposed=True, out_width=3) == "packed"
    run_transpose(x, w, b, (2, 3), (1, 1), "valid", (1, 2))
    x, w, b = arrays(7, (1, 4, 4, 20), (2, 2, 9, 20), 9)  # stride > kernel: empty phases
    run_transpose(x, w, b, (3, 3), (1, 1), "valid", (None, None))


# --------------------------------------------------------------------------- wrapper

def test_inputs_are_converted():
    """float64, non-contiguous input and float64 weights give float32 results."""
    rng = np.random.default_rng(7)
    x = rng.uniform(-1, 1, (2, 6, 9, 5)).transpose(0, 2, 1, 3)  # (2, 9, 6, 5), strided
    w = rng.uniform(-1, 1, (3, 3, 5, 18))
    run_conv(x, w, None, (1, 2), (1, 1), "same", 1)
    wt = rng.uniform(-1, 1, (3, 3, 4, 5))
    run_transpose(x, wt, None, (2, 1), (1, 1), "valid", (None, None))


def test_empty_batch():
    x = np.zeros((0, 5, 5, 3), np.float32)
    w = np.ones((3, 3, 3, 4), np.float32)
    assert K.conv(x, w, None, (1, 1), (1, 1), (1, 1), (5, 5)).shape == (0, 5, 5, 4)
    assert K.conv_transpose(x, np.ones((3, 3, 4, 3), np.float32), None, (2, 2), (1, 1),
                            (0, 0), (11, 11)).shape == (0, 11, 11, 4)


def test_thread_count_does_not_change_results():
    """Segments and rows are split by thread count; the values must not depend on it."""
    import numba

    rng = np.random.default_rng(3)
    x = rng.uniform(-1, 1, (1, 333, 2)).astype(np.float32)
    w = rng.uniform(-1, 1, (5, 2, 16)).astype(np.float32)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = K.conv(x, w, None, (1,), (1,), (2,), (333,))
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        many = K.conv(x, w, None, (1,), (1,), (2,), (333,))
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(one, many)


# --------------------------------------------------------------------------- layouts

def test_row_kernel_variants_are_bitwise_equal(monkeypatch):
    """The 8 × 32 register blocks, the filter chunks (large weights) and the runs of
    consecutive offsets change the loops, never the float32 operations: the results equal
    those of single 16-filter blocks over the offset table, bit for bit."""
    cases = [  # (x shape, w shape, strides, padding, groups): pairs, odd block counts,
        ((1, 12, 11, 40), (3, 3, 40, 40), (1, 1), "same", 1),  # partial second block
        ((2, 9, 10, 24), (3, 3, 12, 48), (2, 1), "same", 2),  # pairs within a group
        ((1, 10, 12, 64), (1, 1, 64, 96), (1, 1), "valid", 1),  # 1 × 1: one run of taps
        ((1, 9, 13, 32), (3, 3, 32, 64), (2, 2), "same", 1),  # stride 2
        ((1, 20, 9), (5, 9, 33), (1,), "causal", 1),
    ]
    results = []
    for xs, ws, strides, padding, groups in cases:
        x, w, b = arrays(len(results), xs, ws, ws[-1])
        rank = len(strides)
        out = [shapes.conv_output_length(n, k, s, 1, padding)
               for n, k, s in zip(xs[1:-1], ws[:rank], strides)]
        pads = [shapes.conv_padding(n, k, s, 1, padding)[0]
                for n, k, s in zip(xs[1:-1], ws[:rank], strides)]
        results.append((x, w, b, strides, pads, out, groups))
    default = [K.conv(x, w, b, s, (1,) * len(s), p, o, g) for x, w, b, s, p, o, g in results]
    for x, w, b, s, p, o, g in results:
        run_conv(x, w, b, s, (1,) * len(s), "causal" if len(s) == 1 else
                 ("valid" if w.shape[0] == 1 else "same"), g)
    monkeypatch.setattr(K, "CHUNK_WEIGHTS_BYTES", 0)  # every call by filter chunks
    monkeypatch.setattr(K, "LINEAR_MIN", 1 << 30)  # never runs of offsets
    monkeypatch.setattr(K, "_PLANS", K._PlanCache(K.PLAN_CACHE_BYTES))  # plans made again
    chunked = [K.conv(x, w, b, s, (1,) * len(s), p, o, g) for x, w, b, s, p, o, g in results]
    monkeypatch.setattr(K, "FILTER_CHUNK", 1)  # single blocks only
    single = [K.conv(x, w, b, s, (1,) * len(s), p, o, g) for x, w, b, s, p, o, g in results]
    for a, c, d in zip(default, chunked, single):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(a, d)


@pytest.mark.parametrize("parallel_from", [0, 1 << 30])
def test_pad_copy(monkeypatch, parallel_from):
    """The zero-padded copy (parallel, or NumPy for small inputs): every cell written, the
    input in the middle."""
    monkeypatch.setattr(K, "PAD_PARALLEL_BYTES", parallel_from)
    rng = np.random.default_rng(11)
    x5 = rng.uniform(-1, 1, (2, 3, 4, 5, 6)).astype(np.float32)
    extents = ((1, 2), (0, 3), (2, 1))
    xp, _ = K._pad_input(x5, extents, (0, 0, 0), (1, 1, 1), False)
    np.testing.assert_array_equal(xp, np.pad(x5, ((0, 0),) + extents + ((0, 0),)))


# --------------------------------------------------------------------------- weight cache

def _deep_layer(filters=48, **kwargs):
    """A Conv2D whose kernel takes the packed weight layout (3 blocks of 16 filters)."""
    from engine.layers import Conv2D

    layer = Conv2D(filters, 3, padding="same", **kwargs)
    layer.build((1, 9, 10, 20))
    return layer


def _reference(layer, x):
    kernel, bias = layer.get_weights()
    return conv_nd(x, kernel, (1, 1), (1, 1), "same", 1) + bias


@pytest.fixture
def packed_cache(monkeypatch):
    """A fresh, empty weight cache for the test."""
    cache = K._PackedWeightCache(K.PACKED_CACHE_BYTES)
    monkeypatch.setattr(K, "_PACKED", cache)
    return cache


def test_weight_cache_reused_and_invalidated_by_set_weights(packed_cache):
    layer = _deep_layer()
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, (1, 9, 10, 20)).astype(np.float32)
    y = layer(x)
    assert_close(y, _reference(layer, x))
    assert len(packed_cache) == 1
    layer(x[:, :7])  # another input size: the same layout of the same weights
    assert len(packed_cache) == 1
    # new values in the *same* array objects through set_weights
    kernel, bias = layer.weights[0].value, layer.weights[1].value
    kernel[...] = rng.uniform(-1, 1, kernel.shape)
    bias[...] = rng.uniform(-1, 1, bias.shape)
    layer.set_weights([kernel, bias])
    assert layer.weights[0].value is kernel  # no copy: only the version tells them apart
    y2 = layer(x)
    assert_close(y2, _reference(layer, x))
    assert not np.array_equal(y, y2)
    # a new array
    layer.set_weights([rng.uniform(-1, 1, kernel.shape), bias])
    assert_close(layer(x), _reference(layer, x))
    # the kernel array of the first call is gone: its entry too
    del kernel
    import gc

    gc.collect()
    assert len(packed_cache) == 1


def test_weight_cache_invalidated_by_apply_constraints(packed_cache):
    layer = _deep_layer(kernel_constraint="non_neg")
    x = np.random.default_rng(2).uniform(-1, 1, (1, 9, 10, 20)).astype(np.float32)
    layer(x)
    layer.apply_constraints()
    assert (layer.get_weights()[0] >= 0).all()
    assert_close(layer(x), _reference(layer, x))


def test_weight_cache_only_for_callers_that_vouch(packed_cache):
    """Direct kernel calls without ``weights_version`` keep nothing (their arrays may be
    changed in place between calls)."""
    x, w, b = arrays(3, (1, 9, 10, 20), (3, 3, 20, 48), 48)
    K.conv(x, w, b, (1, 1), (1, 1), (1, 1), (9, 10))
    assert len(packed_cache) == 0
    w[...] = -w
    run_conv(x, w, b, (1, 1), (1, 1), "same", 1)
    K.conv(x, w.astype(np.float64), b, (1, 1), (1, 1), (1, 1), (9, 10), weights_version=1)
    assert len(packed_cache) == 0  # a converted copy is not the caller's array


def test_weight_cache_is_bounded(monkeypatch):
    layout_bytes = 3 * 9 * 20 * 16 * 4  # 3 blocks of 16 filters × 180 rows
    cache = K._PackedWeightCache(5 * layout_bytes)
    monkeypatch.setattr(K, "_PACKED", cache)
    layers = [_deep_layer() for _ in range(12)]
    x = np.ones((1, 9, 10, 20), np.float32)
    for layer in layers:
        layer(x)
        assert cache.nbytes <= cache.max_bytes
    assert len(cache) == 5
    small = K._PackedWeightCache(layout_bytes)  # a layout over a quarter of it: not kept
    monkeypatch.setattr(K, "_PACKED", small)
    layers[0](x)
    assert len(small) == 0


def test_weight_cache_concurrent_calls_and_changes(packed_cache):
    """Threads call the same layers while others change their weights and clear the
    cache: every result equals the one of the weights it was computed with."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    rng = np.random.default_rng(4)
    layers = [_deep_layer(), _deep_layer(64)]
    xs = [rng.uniform(-1, 1, (1, 9, 10, 20)).astype(np.float32) for _ in range(4)]
    versions = [[rng.uniform(-1, 1, w.shape).astype(np.float32) for w in layer.get_weights()]
                for layer in layers for _ in range(2)]
    expected = {}
    for li, layer in enumerate(layers):
        for vi in range(2):
            layer.set_weights(versions[2 * li + vi])
            for xi, x in enumerate(xs):
                expected[li, vi, xi] = layer(x)
        layer.set_weights(versions[2 * li])
    state = {li: 0 for li in range(len(layers))}
    lock = threading.Lock()
    errors = []

    def call(job):
        li, xi = job % len(layers), job % len(xs)
        with lock:  # the weights a call sees: no change while it runs
            vi = state[li]
            y = layers[li](xs[xi])
        if not np.array_equal(y, expected[li, vi, xi]):
            errors.append((li, vi, xi))

    def unlocked(job):
        li, xi = job % len(layers), job % len(xs)
        y = layers[li](xs[xi])  # any version: one of the expected results
        if not any(np.array_equal(y, expected[li, v, xi]) for v in range(2)):
            errors.append(("unlocked", li, xi))

    def change(job):
        li = job % len(layers)
        with lock:
            state[li] = 1 - state[li]
            layers[li].set_weights(versions[2 * li + state[li]])
        if job % 3 == 0:
            packed_cache.clear()

    jobs = [(call, j) for j in range(60)] + [(unlocked, j) for j in range(60)] + \
        [(change, j) for j in range(30)]
    order = np.random.default_rng(5).permutation(len(jobs))
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda k: jobs[k][0](jobs[k][1]), order))
    assert not errors
    assert packed_cache.nbytes <= packed_cache.max_bytes


@pytest.mark.parametrize("xs,ws", [((1, 7, 7, 64), (3, 3, 64, 96)),  # packed
                                   ((1, 12, 12, 40), (3, 3, 40, 48))])  # filters-padded
def test_estimate_bounds_a_call_that_fills_the_weight_cache(packed_cache, xs, ws):
    """The packed layout a call leaves in the cache is part of what it allocates: still
    within :func:`engine.kernels.conv.working_memory`."""
    import tracemalloc

    x, w, b = arrays(9, xs, ws, ws[-1])
    args = (x, w, b, (1, 1), (1, 1), (1, 1), xs[1:3])
    K.conv(*args, weights_version=0)  # compiled or loaded kernels, then cold caches
    packed_cache.clear()
    K._PLANS.__init__(K.PLAN_CACHE_BYTES)  # a cold plan cache: the plan is built in the call
    tracemalloc.start()
    try:
        K.conv(*args, weights_version=1)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(packed_cache) == 1
    work = K.working_memory(False, 1, xs[1:3], xs[-1], ws[:2], ws[-1], (1, 1), (1, 1),
                            (1, 1), xs[1:3])
    assert peak <= work.bytes, (peak, work.terms)
    np.testing.assert_array_equal(K.conv(*args, weights_version=1), K.conv(*args))
