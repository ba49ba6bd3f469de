"""Kernel working memory: per-axis plans without any (output × kernel) table, the budget
estimate, refusals before allocating, and exact results on absurd geometry.

- :mod:`engine.kernels.axes` against brute force from the definitions (every output, every
  tap): classes, input bases, runs, row groups, padding extents;
- kernels far larger than the input, strides far larger than the kernel, dilations far
  larger than the input: equal to a float64 reference summing, per output cell, the taps
  that the definition says land inside the input (no padded copy, so any size works);
- :func:`engine.kernels.conv.check_budget`: a ValueError naming the argument, raised while
  (almost) nothing is allocated (``tracemalloc``); the estimate bounds what a call allocates;
- the default layouts (the paths of :func:`engine.kernels.conv.path`) are unchanged.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import shapes
from engine.kernels import axes, budget
from engine.kernels import conv as K

SETTINGS = settings(max_examples=300, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck))


# --------------------------------------------------------------------------- per axis

def brute_force_taps(o, n_in, k, s, d, pad, transposed):
    """(tap, input index) pairs of output ``o`` that land inside the input, by definition."""
    if transposed:
        return [(t, (o + pad - t * d) // s) for t in range(k)
                if (o + pad - t * d) % s == 0 and 0 <= (o + pad - t * d) // s < n_in]
    return [(t, o * s - pad + t * d) for t in range(k) if 0 <= o * s - pad + t * d < n_in]


AXIS = dict(n_in=st.integers(1, 12), n_out=st.integers(1, 40), k=st.integers(1, 9),
            s=st.integers(1, 7), d=st.integers(1, 5), pad=st.integers(0, 14),
            transposed=st.booleans())


@SETTINGS
@given(**AXIS)
def test_axis_classes_match_the_definition(n_in, n_out, k, s, d, pad, transposed):
    cls, base, pstart, tap, rel, ranges, stats = axes.classes(n_in, n_out, k, s, d, pad,
                                                              transposed)
    seen = {}
    for o in range(n_out):
        j, i0, i1 = ranges[cls[o]]
        span = slice(pstart[j] + i0, pstart[j] + i1)
        mine = [(int(t), int(base[o] + r)) for t, r in zip(tap[span], rel[span])]
        assert mine == brute_force_taps(o, n_in, k, s, d, pad, transposed)
        key = tuple(t for t, _ in mine)
        assert seen.setdefault(key, cls[o]) == cls[o]  # one class per tap set
    assert len(set(seen.values())) == len(seen) == len(ranges)
    assert sorted(tap.tolist()) == sorted(set(tap.tolist()))  # each tap in one phase list
    assert stats[axes.P_TABLE] == tap.size
    assert stats[axes.TABLE] == sum(i1 - i0 for _, i0, i1 in ranges)
    assert stats[axes.REAL] == sum(
        len(brute_force_taps(o, n_in, k, s, d, pad, transposed)) for o in range(n_out))


@SETTINGS
@given(**AXIS)
def test_runs_and_row_groups_cover_every_output_once(n_in, n_out, k, s, d, pad, transposed):
    cls, base, *_, stats = axes.classes(n_in, n_out, k, s, d, pad, transposed)
    runs = axes.runs(cls, base, n_out, s, pad, transposed, int(stats[axes.NRUNS]))
    covered = []
    for first, ostep, count, b0, bstep, c in runs:
        idx = first + ostep * np.arange(count)
        assert np.all(cls[idx] == c) and np.all(base[idx] == b0 + bstep * np.arange(count))
        covered += idx.tolist()
    assert sorted(covered) == list(range(n_out)) and max(runs[:, 2]) == stats[axes.LONGEST]
    rows = []
    for first, step, count in axes.row_groups(cls, int(cls.max()) + 1, 8):
        idx = first + step * np.arange(count)
        assert 1 <= count <= 8 and np.all(cls[idx] == cls[first])
        rows += idx.tolist()
    assert sorted(rows) == list(range(n_out))


@SETTINGS
@given(**AXIS)
def test_padding_puts_every_phase_tap_inside(n_in, n_out, k, s, d, pad, transposed):
    stats = axes.scan(n_in, n_out, k, s, d, pad, transposed, np.empty(0, np.int64),
                      np.empty(0, np.int64), np.empty((0, 4), np.int64))
    before, after = axes.padding(stats, n_in)
    # every input index any tap of each output's phase reads, inside the input or not
    if transposed:
        reach = [(o + pad - t * d) // s for o in range(n_out) for t in range(k)
                 if (o + pad - t * d) % s == 0]
    else:
        reach = [o * s - pad + t * d for o in range(n_out) for t in range(k)]
    lo, hi = min(reach + [0]), max(reach + [0])
    assert (before, after) == (max(0, -lo), max(0, hi + 1 - n_in))


# --------------------------------------------------------------------------- exactness

def run_conv_layer(x, w, strides, dilation, padding, groups=1):
    out = [shapes.conv_output_length(n, k, s, d, padding)
           for n, k, s, d in zip(x.shape[1:-1], w.shape[:-2], strides, dilation)]
    pads = [shapes.conv_padding(n, k, s, d, padding)[0]
            for n, k, s, d in zip(x.shape[1:-1], w.shape[:-2], strides, dilation)]
    return K.conv(x, w, None, strides, dilation, pads, out, groups)


def run_transpose(x, w, strides, dilation, padding):
    out = [shapes.conv_transpose_output_length(n, k, s, d, padding, None)
           for n, k, s, d in zip(x.shape[1:-1], w.shape[:-2], strides, dilation)]
    pads = [shapes.conv_transpose_padding(n, o, k, s, d, padding)
            for n, o, k, s, d in zip(x.shape[1:-1], out, w.shape[:-2], strides, dilation)]
    return K.conv_transpose(x, w, None, strides, dilation, pads, out), out, pads


def reference(x, w, transposed, strides, dilation, pads, out, groups=1):
    """float64 ``(N, *out, F)`` from the definition: per output cell, the product over the
    axes of :func:`brute_force_taps`. w: (*K, C // groups, F), or (*K, F, C) if transposed."""
    x = x.astype(np.float64)
    w = w.astype(np.float64)
    if transposed:
        w = np.swapaxes(w, -1, -2)
    ks = w.shape[:-2]
    cg, n_filters = w.shape[-2], w.shape[-1]
    fg = n_filters // groups
    y = np.zeros((x.shape[0],) + tuple(out) + (n_filters,))
    per_axis = [[brute_force_taps(o, n, k, s, d, p, transposed) for o in range(m)]
                for n, k, s, d, p, m in zip(x.shape[1:-1], ks, strides, dilation, pads, out)]
    for cell in np.ndindex(*out):
        for combo in itertools.product(*[per_axis[a][o] for a, o in enumerate(cell)]):
            taps = tuple(t for t, _ in combo)
            src = x[(slice(None),) + tuple(i for _, i in combo)]
            for g in range(groups):
                y[(slice(None),) + cell + (slice(g * fg, (g + 1) * fg),)] += (
                    src[:, g * cg:(g + 1) * cg] @ w[taps][:, g * fg:(g + 1) * fg])
    return y


def assert_close(y, ref):
    assert y.shape == ref.shape
    np.testing.assert_allclose(y, ref, rtol=1e-4, atol=1e-4)


TRANSPOSED = [  # (input shape, kernel, strides, dilation, padding, filters)
    ((1, 6, 2), (300,), (1,), (1,), "valid", 2),
    ((1, 6, 2), (300,), (1,), (1,), "same", 3),
    ((2, 5, 3), (2,), (1000,), (1,), "valid", 2),
    ((1, 4, 2), (3,), (500,), (1,), "same", 17),
    ((1, 3, 4, 2), (40, 50), (1, 1), (1, 1), "valid", 2),
    ((1, 3, 3, 2), (3, 2), (60, 70), (1, 1), "valid", 3),
    ((1, 4, 4, 1), (2, 3), (1, 1), (90, 40), "same", 2),
    ((1, 2, 3, 2, 2), (9, 2, 33), (1, 5, 1), (1, 1, 1), "valid", 2),
    ((1, 5, 40), (40,), (3,), (1,), "valid", 5),  # many taps: the padded default
]


@pytest.mark.parametrize("shape,kernel,strides,dilation,padding,filters", TRANSPOSED)
def test_transposed_absurd_geometry_is_exact(shape, kernel, strides, dilation, padding,
                                             filters):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(np.float32)
    w = rng.standard_normal(kernel + (filters, shape[-1])).astype(np.float32)
    y, out, pads = run_transpose(x, w, strides, dilation, padding)
    assert_close(y, reference(x, w, True, strides, dilation, pads, out))


CONV = [  # (input shape, kernel, strides, dilation, padding, filters, groups)
    ((1, 8, 2), (300,), (1,), (1,), "same", 2, 1),
    ((1, 8, 2), (3,), (1,), (10 ** 6,), "same", 2, 1),
    ((1, 7, 2), (3,), (10 ** 9,), (1,), "same", 3, 1),
    ((1, 6, 5, 2), (40, 3), (1, 1), (1, 1), "same", 4, 1),
    ((1, 6, 6, 2), (3, 3), (1, 1), (10 ** 5, 10 ** 5), "same", 2, 2),
    ((1, 6, 6, 20), (5, 5), (1, 1), (7, 9), "same", 20, 20),  # depthwise
    ((1, 14, 14, 3), (13, 13), (1, 1), (1, 1), "same", 16, 1),  # many taps: padded
    ((1, 4, 5, 6, 4), (9, 9, 9), (1, 1, 1), (1, 1, 1), "same", 3, 1),
]


@pytest.mark.parametrize("shape,kernel,strides,dilation,padding,filters,groups", CONV)
def test_conv_absurd_geometry_is_exact(shape, kernel, strides, dilation, padding, filters,
                                       groups):
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape).astype(np.float32)
    w = rng.standard_normal(kernel + (shape[-1] // groups, filters)).astype(np.float32)
    y = run_conv_layer(x, w, strides, dilation, padding, groups)
    pads = [shapes.conv_padding(n, k, s, d, padding)[0]
            for n, k, s, d in zip(shape[1:-1], kernel, strides, dilation)]
    assert_close(y, reference(x, w, False, strides, dilation, pads, y.shape[1:-1], groups))


# --------------------------------------------------------------------------- budget

def test_headline_cases_are_refused_or_cheap():
    # Conv2DTranspose(2, kernel_size=10**6) on (1, 6, 6, 2): the weights alone are 4 TB
    n = 10 ** 6
    with pytest.raises(ValueError, match=r"limit.*kernel_size=\(1000000, 1000000\) gives"):
        K.check_budget(True, 1, (6, 6), 2, (n, n), 2, (1, 1), (1, 1), (0, 0),
                       (n + 5, n + 5))
    # Conv1DTranspose(2, kernel_size=10**6) on (1, 6, 2): trimmed taps, no padded copy
    work = K.check_budget(True, 1, (6,), 2, (n,), 2, (1,), (1,), (0,), (n + 5,))
    assert work.bytes < 2 ** 30 and not any(work.padded)
    assert work.multiply_adds == 6 * n * 2 * 2  # every (input, tap) pair lands inside
    # Conv1DTranspose(2, 2, strides=10**6): nothing per phase beyond a run
    work = K.check_budget(True, 1, (6,), 2, (2,), 2, (n,), (1,), (0,), (6 * n,))
    assert work.bytes < 400 * 2 ** 20 and work.multiply_adds == 6 * 2 * 2 * 2


@pytest.mark.parametrize("args,words", [
    ((False, 1, (6,), 2, (3,), 2, (1,), (2 * 10 ** 18,), (2 * 10 ** 18,), (6,), 1),
     ("dilation_rate=(2000000000000000000,)", "64-bit")),
    ((True, 1, (6,), 2, (2,), 4, (10 ** 9,), (1,), (0,), (6 * 10 ** 9,), 1),
     ("output alone", "strides")),
    ((False, 4, (10 ** 5, 10 ** 5), 3, (3, 3), 4, (1, 1), (1, 1), (1, 1), (10 ** 5, 10 ** 5), 1),
     ("output alone",)),
    ((True, 1, (6,), 1, (2,), 1, (4 * 10 ** 18,), (1,), (0,), (20 * 10 ** 18,), 1),
     ("output alone", "(1, 20000000000000000000, 1)", "Reduce strides")),
])
def test_refusals_name_the_argument(monkeypatch, args, words):
    monkeypatch.setattr(budget, "MAX_WORK_BYTES", 2 ** 30)
    with pytest.raises(ValueError) as info:
        K.check_budget(*args)
    msg = str(info.value)
    for w in words:
        assert w in msg, msg
    assert len(msg) < 600


def test_refused_before_allocating(monkeypatch):
    monkeypatch.setattr(budget, "MAX_WORK_BYTES", 2 ** 20)
    x = np.ones((1, 300, 300, 2), np.float32)
    w = np.ones((3, 3, 2, 2), np.float32)
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=r"1.0 MiB.*output alone .*\(1, 300, 300, 2\)"):
            K.conv(x, w, None, (1, 1), (1, 1), (1, 1), (300, 300))
        with pytest.raises(ValueError, match=r"output alone .*Reduce strides"):
            K.conv_transpose(x[:, :6, :6], w, None, (10 ** 4, 10 ** 4), (1, 1), (0, 0),
                             (6 * 10 ** 4, 6 * 10 ** 4))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * 2 ** 10


ESTIMATED = [  # (transposed, x shape, w shape, strides, dilation, padding, groups)
    (False, (1, 40, 40, 8), (3, 3, 8, 32), (1, 1), (1, 1), "same", 1),
    (False, (2, 30, 30, 16), (5, 5, 1, 32), (2, 2), (1, 1), "same", 16),
    (False, (1, 20, 20, 8), (3, 3, 2, 8), (1, 1), (2, 2), "same", 4),
    (False, (1, 7, 7, 64), (3, 3, 64, 64), (1, 1), (1, 1), "same", 1),
    (False, (1, 500, 3), (200, 3, 5), (1,), (1,), "same", 1),
    (True, (1, 6, 2), (5000, 3, 2), (1,), (1,), "valid", 1),
    (True, (1, 5, 5, 4), (3, 3, 20, 4), (300, 7), (1, 1), "valid", 1),
    (True, (1, 8, 8, 8, 4), (3, 3, 3, 8, 4), (2, 2, 2), (1, 1, 1), "same", 1),
]


@pytest.mark.parametrize("transposed,xs,ws,strides,dilation,padding,groups", ESTIMATED)
def test_estimate_bounds_what_a_call_allocates(transposed, xs, ws, strides, dilation, padding,
                                               groups):
    rng = np.random.default_rng(2)
    x = rng.standard_normal(xs).astype(np.float32)
    w = rng.standard_normal(ws).astype(np.float32)
    run = run_transpose if transposed else run_conv_layer
    args = (x, w, strides, dilation, padding) + (() if transposed else (groups,))
    K._PLANS.__init__(K.PLAN_CACHE_BYTES)  # a cold plan cache: the plan is built in the call
    tracemalloc.start()
    try:
        y = run(*args)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    y = y[0] if transposed else y
    out = y.shape[1:-1]
    if transposed:
        pads = [shapes.conv_transpose_padding(n, o, k, s, d, padding)
                for n, o, k, s, d in zip(xs[1:-1], out, ws[:-2], strides, dilation)]
    else:
        pads = [shapes.conv_padding(n, k, s, d, padding)[0]
                for n, k, s, d in zip(xs[1:-1], ws[:-2], strides, dilation)]
    work = K.working_memory(transposed, xs[0], xs[1:-1], xs[-1], ws[:-2], y.shape[-1], strides,
                            dilation, pads, out, groups)
    assert peak <= work.bytes, (peak, work.terms)


@pytest.mark.parametrize("transposed,xs,ws,strides,dilation,padding,groups", [
    (False, (1, 512, 512, 3), (3, 3, 3, 16), (1, 1), (1, 1), "same", 1),
    (False, (1, 56, 56, 128), (3, 3, 128, 128), (1, 1), (1, 1), "same", 1),
    (False, (1, 7, 7, 512), (3, 3, 512, 512), (1, 1), (1, 1), "same", 1),
    (False, (1, 112, 112, 32), (3, 3, 1, 32), (1, 1), (1, 1), "same", 32),
    (False, (1, 56, 56, 32), (3, 3, 1, 64), (1, 1), (1, 1), "same", 32),
    (False, (1, 4000, 32), (5, 32, 32), (1,), (1,), "causal", 1),
    (True, (1, 64, 64, 32), (3, 3, 16, 32), (2, 2), (1, 1), "same", 1),
    (True, (1, 16, 16, 64), (4, 4, 32, 64), (2, 2), (1, 1), "same", 1),
    (True, (1, 4000, 16), (9, 8, 16), (4,), (1,), "same", 1),
])
def test_default_layouts_are_kept(transposed, xs, ws, strides, dilation, padding, groups):
    spatial, ks = xs[1:-1], ws[:-2]
    if transposed:
        out = [shapes.conv_transpose_output_length(n, k, s, d, padding, None)
               for n, k, s, d in zip(spatial, ks, strides, dilation)]
        pads = [shapes.conv_transpose_padding(n, o, k, s, d, padding)
                for n, o, k, s, d in zip(spatial, out, ks, strides, dilation)]
        width = out[-1] // strides[-1]
    else:
        out = [shapes.conv_output_length(n, k, s, d, padding)
               for n, k, s, d in zip(spatial, ks, strides, dilation)]
        pads = [shapes.conv_padding(n, k, s, d, padding)[0]
                for n, k, s, d in zip(spatial, ks, strides, dilation)]
        width = out[-1]
    n_filters = ws[-2] if transposed else ws[-1]
    work = K.working_memory(transposed, xs[0], spatial, xs[-1], ks, n_filters, strides,
                            dilation, pads, out, groups)
    assert work.path == K.path(ws, groups, transposed, out_width=width)


def test_limit_from_the_environment():
    code = "from engine.kernels import budget; print(budget.MAX_WORK_BYTES)"
    env = dict(os.environ, CONVLAB_MAX_WORK_BYTES="1.5e9")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          cwd=os.path.dirname(os.path.dirname(__file__)))
    assert done.stdout.strip() == "1500000000", done.stderr
    env["CONVLAB_MAX_WORK_BYTES"] = "lots"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          cwd=os.path.dirname(os.path.dirname(__file__)))
    assert done.returncode != 0 and "CONVLAB_MAX_WORK_BYTES must be a number of bytes" in \
        done.stderr
