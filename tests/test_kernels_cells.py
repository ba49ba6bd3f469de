"""engine.kernels.cells (cell-blocked kernel) against tests/naive.py and, bit for bit,
against the kernels it replaces (:data:`engine.kernels.conv.CELLS` off: the tap-blocked
or the row kernel).

Fixed cases make each of its loops turn (L1_INPUT_BYTES / L2_WEIGHT_BYTES made small):
several chunks per run and several runs per chunk, blocks crossing the end of a row (rows
not a multiple of 8 wide), a panel's last block overlapping the one before while running
sums wait in the output, pairs and single filter blocks (partial lanes, groups), several
panels and filter chunks, strides, dilation, batch, 1×1 and 1D / 3D; hypothesis draws
more. Tolerance as in tests/test_kernels.py. The quad kernel, which takes the geometries
with multiples of 64 filters per group first, is off here
(:data:`engine.kernels.conv.QUADS`; see tests/test_kernels_quads.py).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.kernels import cells
from engine.kernels import conv as K
from tests.test_kernels import assert_close
from tests.test_kernels_tiled import _run

CASES = [
    # (input shape, filters, kernel, strides, dilation, padding, groups)
    ((1, 9, 11, 80), 40, 3, 1, 1, "same", 1),      # rows of 11: blocks cross rows; 3 blocks
    ((2, 6, 19, 64), 96, 3, 2, 1, "same", 2),      # stride 2, groups, partial pair, batch
    ((1, 12, 10, 200), 48, 1, 1, 1, "valid", 1),   # 1×1: one run of one tap's channels
    ((1, 7, 17, 32), 64, 3, 1, 2, "same", 1),      # dilation: runs of one tap's channels
    ((1, 30, 16, 96), 72, 3, 1, 1, "valid", 1),    # several panels, pair + single
    ((1, 40, 130), 40, 5, 1, 1, "same", 1),        # 1D
    ((1, 4, 6, 9, 24), 32, 3, 1, 1, "same", 1),    # 3D, rows of 9
    ((1, 10, 12, 288), 64, 3, 1, 1, "same", 1),    # long runs: several chunks per run
    ((1, 4, 9, 48), 32, 1, 1, 1, "valid", 1),      # 36 cells: the last block overlaps
]


@pytest.fixture(autouse=True)
def _no_quads(monkeypatch):
    monkeypatch.setattr(K, "QUADS", False)


def _small_caches(monkeypatch):
    monkeypatch.setattr(cells, "L1_INPUT_BYTES", 8 * 4 * 48)  # chunks of at most 48 taps
    monkeypatch.setattr(cells, "L2_WEIGHT_BYTES", 48 * 64 * 2)  # filter chunks of 2 blocks
    monkeypatch.setattr(cells, "PANEL_CELLS", 24)


def _check(case, monkeypatch, seed=0):
    calls = []
    real = cells._conv_cells
    monkeypatch.setattr(K, "CELLS", True)
    monkeypatch.setattr(cells, "_conv_cells", lambda *a: calls.append(a[-1]) or real(*a))
    x, w, b, args, y, ref = _run(*case, seed=seed)
    assert calls, "the cell-blocked kernel was not taken"
    assert_close(y, ref)
    monkeypatch.setattr(cells, "_conv_cells", real)
    monkeypatch.setattr(K, "CELLS", False)
    assert np.array_equal(y, K.conv(x, w, b, *args)), "summation order changed"
    return calls[0]


@pytest.mark.parametrize("case", CASES, ids=[str(c[0]) for c in CASES])
def test_cells_match_naive_and_the_other_kernels(case, monkeypatch):
    _check(case, monkeypatch)


@pytest.mark.parametrize("case", CASES, ids=[str(c[0]) for c in CASES])
def test_cells_loops_turn_with_small_caches(case, monkeypatch):
    _small_caches(monkeypatch)
    _check(case, monkeypatch)


def test_small_caches_cut_chunks_panels_and_filters(monkeypatch):
    _small_caches(monkeypatch)
    dims = _check(((1, 10, 12, 288), 64, 3, 1, 1, "same", 1), monkeypatch)
    fpc, panel, chunk, rpc, rl = dims[15:20]
    assert rl == 3 * 288 and chunk < rl and rpc == 1  # runs cut in chunks
    assert fpc == 2 and panel == 24
    dims = _check(((1, 9, 11, 16), 40, 3, 1, 1, "same", 1), monkeypatch)
    assert dims[18] == 1 and dims[17] == 48  # runs of 48 taps, one per chunk
    monkeypatch.setattr(cells, "L1_INPUT_BYTES", 8 * 4 * 96)
    dims = _check(((1, 9, 11, 16), 40, 3, 1, 1, "same", 1), monkeypatch)
    assert dims[18] == 2  # two runs per chunk


def test_single_filter_blocks_stay_with_the_row_kernels(monkeypatch):
    calls = []
    monkeypatch.setattr(cells, "_conv_cells", lambda *a: calls.append(a))
    x, w, b, args, y, ref = _run((1, 9, 11, 80), 16, 3, 1, 1, "same", 1)
    assert not calls
    assert_close(y, ref)


def test_shape_keeps_threads_busy():
    fpc, panel, chunk, rpc = cells.shape(256, 1, 196, 32, 2)
    assert chunk == 256 and rpc == 1 and fpc * chunk * 64 <= cells.L2_WEIGHT_BYTES
    assert -(-32 // fpc) * (196 // panel) >= 4 and panel % cells.BLOCK == 0
    fpc, panel, chunk, rpc = cells.shape(192, 3, 50176, 4, 2)
    assert rpc == 2 and chunk == 192 and fpc == 4 and panel == cells.PANEL_CELLS


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rank=st.sampled_from([1, 2, 3]), size=st.integers(3, 13), channels=st.integers(6, 40),
       filters=st.integers(17, 70), kernel=st.sampled_from([1, 2, 3]),
       strides=st.sampled_from([1, 2]), dilation=st.sampled_from([1, 2]),
       padding=st.sampled_from(["same", "valid"]), batch=st.integers(1, 2),
       groups=st.sampled_from([1, 2]), small=st.booleans(), seed=st.integers(0, 2 ** 16))
def test_cells_fuzz(rank, size, channels, filters, kernel, strides, dilation, padding, batch,
                    groups, small, seed):
    """Random geometry: whenever the cell-blocked kernel takes it, naive's values and the
    other kernels' bits (small caches: every loop turns)."""
    if strides > 1 and dilation > 1:
        dilation = 1
    channels *= groups
    filters = -(-filters // groups) * groups
    shape = (batch,) + tuple(size + a for a in range(rank)) + (channels,)
    with pytest.MonkeyPatch.context() as mp:
        if small:
            _small_caches(mp)
        calls = []
        real = cells._conv_cells
        mp.setattr(cells, "_conv_cells", lambda *a: calls.append(1) or real(*a))
        try:
            x, w, b, args, y, ref = _run(shape, filters, kernel, strides, dilation, padding,
                                         groups, seed=seed)
        except ValueError:  # an empty output ("valid" wider than the input)
            return
        assert_close(y, ref)
        if calls:
            mp.setattr(K, "CELLS", False)
            assert np.array_equal(y, K.conv(x, w, b, *args))


def test_wrapper_refuses_mismatched_arguments():
    x5 = np.zeros((1, 1, 10, 10, 32), np.float32)
    out = np.zeros((1, 1, 8, 8, 32), np.float32)
    wt = np.zeros((2, 9 * 32, 16), np.float32)
    bt = np.zeros((1, 32), np.float32)
    kw = dict(runoff=np.array([0, 320, 640]), rl=96, base_d=np.zeros(1, np.int64),
              base_h=np.arange(8, dtype=np.int64), run=np.array([0, 1, 8, 0, 1, 0]),
              groups=1, nfb=2, raw=False, threads=1)
    cells.conv_cells(x5, out, wt, bt, **kw)  # consistent: runs
    with pytest.raises(ValueError, match="weights"):
        cells.conv_cells(x5, out, wt[:1], bt, **kw)
    with pytest.raises(ValueError, match="index arrays"):
        cells.conv_cells(x5, out, wt, bt, **{**kw, "run": np.array([0, 1, 7, 0, 1, 0])})
    with pytest.raises(ValueError, match="float32"):
        cells.conv_cells(x5.astype(np.float64), out, wt, bt, **kw)
