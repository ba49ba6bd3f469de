"""engine.kernels.narrow (16-cell row kernel for few input channels) against tests/naive.py
and, bit for bit, against the row kernel it replaces (:data:`engine.kernels.conv.NARROW`
off).

Fixed cases make each of its branches turn: every cell step of STEPS (channels × stride),
runs of exactly 16 cells and runs cut into several segments (1D: few rows), a segment's
last block overlapping the one before, border rows with fewer taps, single partial filter
blocks (fewer than 16 filters, ``raw`` weights), several blocks (packed weights), groups,
dilation, batch, 3D and a transposed convolution; hypothesis draws more. Tolerance as in
tests/test_kernels.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from engine import shapes
from engine.kernels import conv as K
from engine.kernels import narrow
from tests.naive import conv_transpose_nd
from tests.test_kernels import assert_close
from tests.test_kernels_tiled import _run

CASES = [
    # (input shape, filters, kernel, strides, dilation, padding, groups)
    ((1, 20, 37, 3), 16, 3, 1, 1, "same", 1),      # RGB: step 3, 35-cell runs overlap
    ((2, 9, 18, 1), 5, 3, 1, 1, "same", 1),         # step 1, 16-cell runs, partial block
    ((1, 11, 40, 2), 40, 3, 1, 1, "same", 1),       # step 2, three blocks (packed)
    ((1, 9, 70, 3), 16, 3, 2, 1, "same", 1),        # stride 2: step 6
    ((1, 8, 35, 1), 24, 5, 1, 2, "same", 1),        # dilation, 5×5 on one channel
    ((1, 6, 50, 4), 16, 2, 1, 1, "valid", 1),       # step 4, 2×2 kernel
    ((1, 10, 33, 2), 16, 3, 1, 1, "same", 2),       # groups: one channel, 8 filters each
    ((1, 3000, 1), 16, 9, 1, 1, "same", 1),         # 1D: few rows, runs cut in segments
    ((1, 3, 5, 40, 1), 16, 3, 1, 1, "same", 1),     # 3D
]


def _compare(case, monkeypatch, seed=0):
    """Naive's values and, where the narrow kernel was taken, the row kernel's bits.
    Returns the kernel's (dims, step) of each call."""
    calls = []
    real = narrow._conv_narrow
    monkeypatch.setattr(K, "NARROW", True)
    monkeypatch.setattr(narrow, "MIN_OUTPUT", 0)  # small cases (quick) take it too
    monkeypatch.setattr(narrow, "_conv_narrow", lambda *a: calls.append(a[-2:]) or real(*a))
    x, w, b, args, y, ref = _run(*case, seed=seed)
    assert_close(y, ref)
    if calls:
        monkeypatch.setattr(K, "NARROW", False)
        assert np.array_equal(y, K.conv(x, w, b, *args)), "summation order changed"
    return calls


def _check(case, monkeypatch, seed=0):
    """:func:`_compare`, the narrow kernel taken; its first call's (dims, step)."""
    calls = _compare(case, monkeypatch, seed)
    assert calls, "the narrow kernel was not taken"
    return calls[0]


@pytest.mark.parametrize("case", CASES, ids=[str(c[0]) for c in CASES])
def test_narrow_matches_naive_and_the_row_kernel(case, monkeypatch):
    _check(case, monkeypatch)


def test_every_step_and_segments_are_exercised(monkeypatch):
    steps = {_check(c, monkeypatch)[1] for c in CASES[:6]}
    assert steps == set(narrow.STEPS)
    dims, _ = _check(CASES[7], monkeypatch)
    assert dims[16] > 1 and dims[15] % narrow.CELLS == 0  # several segments of 16k cells


def test_transposed_convolution(monkeypatch):
    """A transposed convolution with few taps per phase: phases of runs of one cell step."""
    calls = []
    real = narrow._conv_narrow
    monkeypatch.setattr(narrow, "MIN_OUTPUT", 0)
    monkeypatch.setattr(narrow, "_conv_narrow", lambda *a: calls.append(1) or real(*a))
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1, 12, 40, 2), dtype=np.float32)
    w = rng.standard_normal((3, 3, 16, 2), dtype=np.float32)
    b = rng.standard_normal(16, dtype=np.float32)
    out = [shapes.conv_transpose_output_length(n, 3, 2, 1, "same", None) for n in (12, 40)]
    pads = [shapes.conv_transpose_padding(n, o, 3, 2, 1, "same") for n, o in zip((12, 40), out)]
    y = K.conv_transpose(x, w, b, (2, 2), (1, 1), pads, out)
    assert calls
    assert_close(y, conv_transpose_nd(x, w, (2, 2), (1, 1), out, pads) + b)
    monkeypatch.setattr(K, "NARROW", False)
    assert np.array_equal(y, K.conv_transpose(x, w, b, (2, 2), (1, 1), pads, out))


@pytest.mark.parametrize("case", [
    ((1, 9, 14, 3), 16, 3, 1, 1, "same", 1, 0),                  # runs of 12 cells
    ((1, 9, 40, 3), 16, 3, 1, 1, "same", 1, None),               # a small output
    ((1, 9, 60, 3), 16, 3, 3, 1, "same", 1, 0),                  # step 9: not compiled
], ids=["runs of 12", "small output", "step 9"])
def test_other_geometry_stays_with_the_row_kernel(case, monkeypatch):
    calls = []
    if case[-1] is not None:
        monkeypatch.setattr(narrow, "MIN_OUTPUT", case[-1])
    monkeypatch.setattr(narrow, "_conv_narrow", lambda *a: calls.append(a))
    x, w, b, args, y, ref = _run(*case[:-1])
    assert not calls
    assert_close(y, ref)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rank=st.sampled_from([1, 2, 3]), size=st.integers(3, 40), channels=st.integers(1, 4),
       filters=st.integers(1, 40), kernel=st.sampled_from([1, 2, 3, 5]),
       strides=st.sampled_from([1, 2]), dilation=st.sampled_from([1, 2]),
       padding=st.sampled_from(["same", "valid"]), batch=st.integers(1, 2),
       groups=st.sampled_from([1, 2]), seed=st.integers(0, 2 ** 16))
def test_narrow_fuzz(rank, size, channels, filters, kernel, strides, dilation, padding, batch,
                     groups, seed):
    """Random geometry: whenever the narrow kernel takes it, naive's values and the row
    kernel's bits."""
    channels *= groups
    filters = max(8, -(-filters // groups)) * groups  # >= 8 per group: not "channels"
    # rows long enough for 16-cell runs, the other axes short (quick)
    shape = (batch,) + tuple(3 + size % 5 for _ in range(rank - 1)) + (16 + size,
                                                                      channels)
    assume(all(shapes.conv_output_length(n, kernel, strides, dilation, padding) > 0
               for n in shape[1:-1]))  # "valid" wider than the input: no output
    with pytest.MonkeyPatch.context() as mp:
        _compare((shape, filters, kernel, strides, dilation, padding, groups), mp, seed)


def test_wrapper_refuses_mismatched_arguments():
    x5 = np.zeros((1, 1, 10, 40, 3), np.float32)
    out = np.zeros((1, 1, 10, 40, 16), np.float32)
    plan = K._plan((1, 10, 40), (1, 3, 3), 3, (1, 1, 1), (1, 1, 1), (0, 1, 1), (1, 10, 40),
                   False, 3)
    wt = np.zeros((27, 16), np.float32)
    bt = np.zeros((1, 16), np.float32)
    kw = dict(groups=1, nfb=1, raw=True, fpc=1, seg=48)
    narrow.conv_narrow(x5, out, wt, bt, plan, **kw)  # consistent: runs
    with pytest.raises(ValueError, match="weights"):
        narrow.conv_narrow(x5, out, wt[:26], bt, plan, **kw)
    with pytest.raises(ValueError, match="plan"):
        narrow.conv_narrow(x5, out[:, :, :9], wt, bt, plan, **kw)
    with pytest.raises(ValueError, match="float32"):
        narrow.conv_narrow(x5.astype(np.float64), out, wt, bt, plan, **kw)
    short = K._plan((1, 10, 14), (1, 3, 3), 3, (1, 1, 1), (1, 1, 1), (0, 1, 1), (1, 10, 14),
                    False, 3)
    assert narrow.long_runs(short, 3) is None  # runs of 12 cells
