"""engine.kernels.tiled (tap-blocked row kernel) against tests/naive.py and, bit for bit,
against the row kernel it replaces (:data:`engine.kernels.conv.TILED` off). The
cell-blocked kernel, which takes most of these geometries first, is off here
(:data:`engine.kernels.conv.CELLS`; see tests/test_kernels_cells.py).

Fixed cases make each of its loops turn (L1_WEIGHT_BYTES made small): several chunks of
taps per run, runs of a kernel row and of one tap's channels (1×1), the last
register block overlapping the one before while running sums wait in the output, pairs
and single filter blocks (partial lanes, groups), several bands of rows and filter chunks
(weights over CHUNK_WEIGHTS_BYTES), strides, dilation, batch and 1D / 3D. Tolerance as in
tests/test_kernels.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from engine import shapes
from engine.kernels import conv as K
from engine.kernels import tiled
from tests.naive import conv_nd
from tests.test_kernels import assert_close

CASES = [
    # (input shape, filters, kernel, strides, dilation, padding, groups)
    ((1, 9, 11, 80), 40, 3, 1, 1, "same", 1),      # 2 chunks per run, overlap, pair + single
    ((2, 6, 19, 64), 24, 3, 2, 1, "same", 2),      # stride 2, groups, partial blocks
    ((1, 12, 10, 200), 48, 1, 1, 1, "valid", 1),   # 1×1: runs of one tap's channels
    ((1, 7, 17, 32), 64, 3, 1, 2, "same", 1),      # dilation
    ((1, 30, 16, 96), 32, 3, 1, 1, "valid", 1),    # several bands of rows
    ((1, 40, 130), 20, 5, 1, 1, "same", 1),        # 1D
    ((1, 4, 6, 9, 24), 16, 3, 1, 1, "same", 1),    # 3D
    ((1, 10, 12, 288), 64, 3, 1, 1, "same", 1),    # weights over CHUNK_WEIGHTS_BYTES
]


def _run(shape, filters, kernel, strides, dilation, padding, groups, seed=0):
    rng = np.random.default_rng(seed)
    rank = len(shape) - 2
    x = rng.standard_normal(shape, dtype=np.float32)
    w = rng.standard_normal((kernel,) * rank + (shape[-1] // groups, filters),
                            dtype=np.float32)
    w /= np.float32(np.sqrt(w[..., 0].size))  # |y| about 1 over thousands of taps
    b = rng.standard_normal(filters, dtype=np.float32)
    st, dl = (strides,) * rank, (dilation,) * rank
    out = [shapes.conv_output_length(n, kernel, strides, dilation, padding)
           for n in shape[1:-1]]
    pads = [shapes.conv_padding(n, kernel, strides, dilation, padding)[0]
            for n in shape[1:-1]]
    y = K.conv(x, w, b, st, dl, pads, out, groups)
    ref = conv_nd(x, w, st, dl, padding, groups) + b
    return x, w, b, (st, dl, pads, out, groups), y, ref


@pytest.mark.parametrize("case", CASES, ids=[str(c[0]) for c in CASES])
def test_tiled_matches_naive_and_row_kernel(case, monkeypatch):
    calls = []
    real = tiled.conv_tiled
    monkeypatch.setattr(tiled, "conv_tiled", lambda *a: calls.append(a[-1]) or real(*a))
    monkeypatch.setattr(K, "CELLS", False)
    monkeypatch.setattr(K, "CHUNK_WEIGHTS_BYTES", 1 << 18)  # filter chunks in small cases
    monkeypatch.setattr(tiled, "L1_WEIGHT_BYTES", 2048)  # chunks of 16 taps: many per run
    x, w, b, args, y, ref = _run(*case)
    assert calls, "the tiled kernel was not taken"
    assert_close(y, ref)
    monkeypatch.setattr(K, "TILED", False)
    assert np.array_equal(y, K.conv(x, w, b, *args)), "summation order changed"


def test_small_weights_stay_with_the_row_kernel():
    # 1×1, 256 channels: a pair of filter blocks' weights (32 KiB) fit two chunks
    plan = {"linear": 256, "off": np.arange(256)}
    assert tiled.runs_of_taps(plan) is None
    plan = {"linear": 192, "off": np.arange(576)}  # 3×3×64: 72 KiB
    runoff, rl = tiled.runs_of_taps(plan)
    assert rl == 192 and list(runoff) == [0, 192, 384]


def test_tiled_shape_cuts_runs_and_bands():
    band, chunk = tiled.shape(768, 28, 28, 8, 2)
    assert chunk * 2 * tiled.LANES * 4 <= tiled.L1_WEIGHT_BYTES and 768 % chunk == 0
    assert band * -(-28 // tiled.BLOCK) >= tiled.BAND_BLOCKS or band == 28
    # few items: bands shrink until every thread has two
    band, _ = tiled.shape(64, 8, 64, 1, 2)
    assert -(-8 // band) >= 4
