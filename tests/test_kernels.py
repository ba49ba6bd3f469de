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
