"""engine.kernels.quads (cell-blocked kernel in 4 × 64 blocks) against tests/naive.py and,
bit for bit, against the kernels it replaces: the cell-blocked 8 × 32 kernel on the padded
copy (:data:`engine.kernels.conv.QUADS` off) and itself on the padded copy
(:data:`engine.kernels.conv.QUADS_IN_PLACE` off: the padding read as zeros in place must
give the same bits as the zeros of the copy).

Fixed cases make each of its branches turn: blocks with border cells (every side, the
first and last rows and columns, asymmetric "same" padding, cells crossing the end of a
row), blocks crossing the end of a row inside (rows not a multiple of 4 wide), a panel's
last block overlapping the one before while running sums wait in the output, several
chunks per run and several runs per chunk, several filter chunks and quads, groups,
strides, dilation, batch, 1D / 3D, raw and packed weights (a layer's cached layout);
hypothesis draws more (:data:`engine.kernels.quads.MIN_TAPS` off: small cases are quick).
Unpadded inputs (1×1, "valid") and fewer taps stay with the 8 × 32 kernel. Tolerance as
in tests/test_kernels.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from engine import shapes
from engine.kernels import cells, quads
from engine.kernels import conv as K
from tests.naive import conv_nd, conv_transpose_nd
from tests.test_kernels import assert_close

CASES = [
    # (input shape, filters, kernel, strides, dilation, padding, groups)
    ((1, 9, 11, 32), 64, 3, 1, 1, "same", 1),      # rows of 11: blocks cross rows, borders
    ((2, 6, 19, 64), 128, 3, 2, 1, "same", 2),     # stride 2, groups of 64 filters, batch
    ((1, 7, 17, 24), 128, 3, 1, 2, "same", 1),     # dilation: runs of one tap's channels
    ((1, 30, 16, 24), 128, 3, 1, 1, "same", 1),    # several panels
    ((2, 12, 10, 40), 64, 2, 1, 1, "same", 1),     # 2×2: zeros after only
    ((1, 40, 20), 64, 5, 1, 1, "same", 1),         # 1D
    ((1, 4, 6, 9, 8), 64, 3, 1, 1, "same", 1),     # 3D, rows of 9
    ((1, 10, 12, 96), 64, 3, 1, 1, "same", 1),     # long runs: several chunks per run
    ((1, 2, 9, 16), 64, 3, 1, 1, "same", 1),       # 18 cells: the last block overlaps
    ((1, 8, 9, 16), 64, 4, 1, 1, "same", 1),       # even kernel: 1 zero before, 2 after
]


def _small_caches(monkeypatch):
    monkeypatch.setattr(quads, "L1_INPUT_BYTES", 4 * 4 * 48)  # chunks of at most 48 taps
    monkeypatch.setattr(cells, "L1_INPUT_BYTES", 8 * 4 * 48)  # (the same for cells)
    monkeypatch.setattr(cells, "L2_WEIGHT_BYTES", 48 * 64 * 4)  # filter chunks of 4 blocks
    monkeypatch.setattr(quads, "PANEL_CELLS", 12)
    monkeypatch.setattr(cells, "PANEL_CELLS", 24)


def _run(shape, filters, kernel, strides, dilation, padding, groups, seed=0, packed=False):
    """The engine's convolution (raw weights, or a layer's packed cached layout) and the
    naive reference; returns (x, w, b, conv's arguments, version or None, y, ref)."""
    rng = np.random.default_rng(seed)
    rank = len(shape) - 2
    x = rng.standard_normal(shape, dtype=np.float32)
    w = rng.standard_normal((kernel,) * rank + (shape[-1] // groups, filters),
                            dtype=np.float32)
    w /= np.float32(np.sqrt(w[..., 0].size))
    b = rng.standard_normal(filters, dtype=np.float32)
    st_, dl = (strides,) * rank, (dilation,) * rank
    out = [shapes.conv_output_length(n, kernel, strides, dilation, padding)
           for n in shape[1:-1]]
    pads = [shapes.conv_padding(n, kernel, strides, dilation, padding)[0]
            for n in shape[1:-1]]
    args = (st_, dl, pads, out, groups)
    version = ("test", seed) if packed else None
    y = K.conv(x, w, b, *args, weights_version=version)
    ref = conv_nd(x, w, st_, dl, padding, groups) + b
    return x, w, b, args, version, y, ref


def _compare(case, monkeypatch, seed=0, packed=False):
    """Naive's values and, where the quad kernel was taken, the bits of the 8 × 32 kernel
    and of itself on the padded copy. Returns its calls' (dims, geo)."""
    calls = []
    real = quads._conv_quads
    monkeypatch.setattr(K, "QUADS", True)
    monkeypatch.setattr(K, "QUADS_IN_PLACE", True)
    monkeypatch.setattr(quads, "MIN_TAPS", 0)  # small cases (quick) take it too
    monkeypatch.setattr(quads, "_conv_quads",
                        lambda *a: calls.append((a[-2], a[-1])) or real(*a))
    x, w, b, args, version, y, ref = _run(*case, seed=seed, packed=packed)
    assert_close(y, ref)
    if calls:
        monkeypatch.setattr(K, "QUADS_IN_PLACE", False)
        assert np.array_equal(y, K.conv(x, w, b, *args, weights_version=version)), \
            "the padding read in place differs from the copy"
        monkeypatch.setattr(K, "QUADS", False)
        assert np.array_equal(y, K.conv(x, w, b, *args, weights_version=version)), \
            "summation order changed"
    return calls


def _check(case, monkeypatch, seed=0, packed=False):
    """:func:`_compare`, the quad kernel taken; its first call's (dims, geo)."""
    calls = _compare(case, monkeypatch, seed, packed)
    assert calls, "the quad kernel was not taken"
    return calls[0]


@pytest.mark.parametrize("packed", [False, True], ids=["raw", "packed"])
@pytest.mark.parametrize("case", CASES, ids=[str(c[0]) for c in CASES])
def test_quads_match_naive_and_the_other_kernels(case, packed, monkeypatch):
    _check(case, monkeypatch, packed=packed)


@pytest.mark.parametrize("case", CASES, ids=[str(c[0]) for c in CASES])
def test_quads_loops_turn_with_small_caches(case, monkeypatch):
    _small_caches(monkeypatch)
    _check(case, monkeypatch, packed=True)


def test_small_caches_cut_chunks_panels_and_filters(monkeypatch):
    _small_caches(monkeypatch)
    dims, _ = _check(((1, 10, 12, 96), 128, 3, 1, 1, "same", 1), monkeypatch)
    fpc, panel, chunk, rpc, rl = dims[15:20]
    assert rl == 3 * 96 and chunk < rl and rpc == 1  # runs cut in chunks
    assert fpc == 4 and panel == 12  # two filter chunks of one quad each
    dims, _ = _check(((1, 9, 11, 8), 64, 3, 1, 1, "same", 1), monkeypatch)
    assert dims[18] == 2 and dims[17] == 24  # runs of 24 taps, two per chunk


def test_interior_read_in_place_borders_gathered(monkeypatch):
    """The padded input's interior: 'same' 3×3 on 9×11 → cells of padded rows 1 … 8 and
    columns 1 … 10 (padded bases 0 … 7, 0 … 9 with taps 0 … 2 after) read in place; a
    4×4 kernel pads 1 before and 2 after: bases 1 … 5 and 1 … 6."""
    _, geo = _check(((1, 9, 11, 32), 64, 3, 1, 1, "same", 1), monkeypatch)
    assert list(geo) == [0, 1, 1, 0, 1, 1, 8, 1, 10]
    _, geo = _check(((1, 8, 9, 16), 64, 4, 1, 1, "same", 1), monkeypatch)
    assert list(geo) == [0, 1, 1, 0, 1, 1, 6, 1, 7]


def test_transposed_convolution(monkeypatch):
    """A transposed convolution (stride 1: one phase, taps before the cell's base) takes the
    quad kernel on its padded copy (offsets as they are, every cell inside)."""
    calls = []
    real = quads._conv_quads
    monkeypatch.setattr(quads, "MIN_TAPS", 0)
    monkeypatch.setattr(quads, "_conv_quads", lambda *a: calls.append(a[-1]) or real(*a))
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1, 10, 13, 32), dtype=np.float32)
    w = rng.standard_normal((3, 3, 64, 32), dtype=np.float32) / np.float32(17)
    b = rng.standard_normal(64, dtype=np.float32)
    out = [shapes.conv_transpose_output_length(n, 3, 1, 1, "same", None) for n in (10, 13)]
    pads = [shapes.conv_transpose_padding(n, o, 3, 1, 1, "same") for n, o in zip((10, 13), out)]
    y = K.conv_transpose(x, w, b, (1, 1), (1, 1), pads, out)
    assert calls and list(calls[0][:3]) == [0, 0, 0]
    assert_close(y, conv_transpose_nd(x, w, (1, 1), (1, 1), out, pads) + b)
    monkeypatch.setattr(K, "QUADS", False)
    assert np.array_equal(y, K.conv_transpose(x, w, b, (1, 1), (1, 1), pads, out))


def test_layer_uses_quads_without_a_padded_copy(monkeypatch):
    """Through the layer API (packed weights): no padded copy is made."""
    from engine import layers as L

    monkeypatch.setattr(quads, "MIN_TAPS", 0)
    copies = []
    real = K._padded_copy
    monkeypatch.setattr(K, "_padded_copy", lambda *a: copies.append(1) or real(*a))
    x = np.random.default_rng(1).standard_normal((1, 13, 14, 16), dtype=np.float32)
    layer = L.Conv2D(64, 3, padding="same")
    y = layer(x)
    assert not copies
    assert_close(y, conv_nd(x, layer.weight("kernel"), (1, 1), (1, 1), "same", 1)
                 + layer.weight("bias"))
    monkeypatch.setattr(K, "QUADS", False)
    assert np.array_equal(y, layer(x)) and copies


def test_other_geometry_stays_with_the_cells_kernel(monkeypatch):
    """Filters per group not a multiple of 64, nothing padded (1×1, "valid"), or fewer
    than MIN_TAPS taps per cell."""
    calls = []
    monkeypatch.setattr(quads, "_conv_quads", lambda *a: calls.append(a))
    for shape, filters, kernel, padding, groups in (
            ((1, 9, 11, 64), 48, 3, "same", 1), ((1, 9, 11, 64), 96, 3, "same", 1),
            ((1, 9, 11, 64), 128, 3, "same", 4), ((1, 12, 10, 512), 64, 1, "valid", 1),
            ((1, 12, 10, 64), 64, 3, "valid", 1), ((1, 9, 11, 56), 64, 3, "same", 1)):
        _run(shape, filters, kernel, 1, 1, padding, groups)
    assert not calls
    _run((1, 9, 11, 64), 64, 3, 1, 1, "same", 1)  # 576 taps
    assert calls


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rank=st.sampled_from([1, 2, 3]), size=st.integers(2, 9), channels=st.integers(8, 40),
       quads_=st.integers(1, 2), kernel=st.sampled_from([1, 2, 3, 4]),
       strides=st.sampled_from([1, 2]), dilation=st.sampled_from([1, 2]),
       padding=st.sampled_from(["same", "valid"]), batch=st.integers(1, 2),
       groups=st.sampled_from([1, 2]), small=st.booleans(), packed=st.booleans(),
       seed=st.integers(0, 2 ** 16))
def test_quads_fuzz(rank, size, channels, quads_, kernel, strides, dilation, padding, batch,
                    groups, small, packed, seed):
    """Random geometry: whenever the quad kernel takes it, naive's values and the other
    kernels' bits (small caches: every loop turns)."""
    if strides > 1 and dilation > 1:  # Keras refuses both above 1
        dilation = 1
    channels *= groups
    filters = 64 * quads_ * groups
    # rows of at least 8 output cells (else the packed kernel), the other axes short
    shape = (batch,) + tuple(size + a for a in range(rank - 1)) + (
        8 * strides + size, channels)
    assume(all(shapes.conv_output_length(n, kernel, strides, dilation, padding) > 0
               for n in shape[1:-1]))  # "valid" wider than the input: no output
    with pytest.MonkeyPatch.context() as mp:
        if small:
            _small_caches(mp)
        calls = _compare((shape, filters, kernel, strides, dilation, padding, groups), mp,
                         seed, packed)
        event("quad kernel taken" if calls else "another kernel")


def test_wrapper_refuses_mismatched_arguments():
    x5 = np.zeros((1, 1, 8, 8, 32), np.float32)
    out = np.zeros((1, 1, 8, 8, 64), np.float32)
    wt = np.zeros((4, 9 * 32, 16), np.float32)
    bt = np.zeros((1, 64), np.float32)
    kw = dict(runoff=np.array([0, 320, 640]), rl=96, base_d=np.zeros(1, np.int64),
              base_h=np.arange(8, dtype=np.int64), run=np.array([0, 1, 8, 0, 1, 0]),
              groups=1, nfb=4, raw=False, threads=1, padding=((0, 0), (1, 1), (1, 1)))
    quads.conv_quads(x5, out, wt, bt, **kw)  # consistent: runs
    with pytest.raises(ValueError, match="weights"):
        quads.conv_quads(x5, out, wt[:2], bt, **kw)
    with pytest.raises(ValueError, match="index arrays"):
        quads.conv_quads(x5, out, wt, bt, **{**kw, "run": np.array([0, 1, 7, 0, 1, 0])})
    with pytest.raises(ValueError, match="float32"):
        quads.conv_quads(x5.astype(np.float64), out, wt, bt, **kw)
    with pytest.raises(ValueError, match="outside the padded input"):
        quads.conv_quads(x5, out, wt, bt, **{**kw, "padding": ((0, 0), (1, 1), (0, 0))})
    with pytest.raises(ValueError, match="padding"):
        quads.conv_quads(x5, out, wt, bt, **{**kw, "padding": ((0, 0), (-1, 1), (1, 1))})
    with pytest.raises(ValueError, match="multiple of 64"):
        quads.conv_quads(x5, np.zeros((1, 1, 8, 8, 48), np.float32), wt[:3].copy(),
                         bt[:, :48].copy(), **{**kw, "nfb": 3})
