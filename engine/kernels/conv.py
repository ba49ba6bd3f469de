"""Convolution and transposed convolution over three spatial axes, channels-last, float32.

Shapes (1D and 2D callers insert unit axes; see :func:`to_3d`):

- ``x``: ``(N, D, H, W, C)`` input, *unpadded*; padding is given as ``pad_before`` (cells
  before each axis) and taps that fall outside the input read zero.
- ``w``: ``(KD, KH, KW, C // groups, F)`` for convolution; ``(KD, KH, KW, F, C)`` for the
  transposed convolution (Keras's layouts).
- output: ``(N, OD, OH, OW, F)``.

How it is computed
------------------
Both operations are written as one *gather*: along each axis, output cell ``o`` reads the
input at ``base(o) + rel`` for each tap of its *class*:

- convolution: ``base(o) = o·s − pad``, tap ``k`` at ``rel = k·d``;
- transposed convolution (``o = i·s + k·d − pad``): with ``q = o + pad``, the phase
  ``r = q mod s`` selects the taps ``k`` with ``k·d ≡ r (mod s)``, ``base(o) = q div s``
  and ``rel = −(k·d − r)/s``. Output cells of one phase are ``s`` apart and read
  consecutive input cells, so a transposed convolution is ``s^rank`` small ordinary
  convolutions and never tests divisibility in a loop.

A class is a phase together with the taps that land inside the input, so cells near a
border simply have fewer taps (no bounds tests, no padded copy). :func:`_plan` lists, per
combination of (depth, height, width) classes, the element offset of every tap (spatial
taps × input channels of a group) and its weight row; rows of output cells are cut into
*runs* of one width class. The kernels then only add offsets:

- :func:`_conv_filters` (path ``"filters"``): 16 filters per vector (see
  :mod:`engine.kernels.simd`), 8 output cells of a run per register block, each tap
  broadcasting one input value into the 8 accumulators with a fused multiply-add; float32
  accumulation in tap order, bias first. A run's last block overlaps the one before
  instead of falling back to single cells; runs shorter than a block (border columns) are
  done in blocks of 8 rows instead.
- ``"filters-padded"``: from PAD_TAPS taps per output cell, the border classes would cost
  more than a zero-padded copy of the input (cheap next to the arithmetic then); the same
  kernel runs on the copy.
- ``"packed"``: padded, and rows shorter than PACK_BELOW cells (small maps deep in a
  network): :mod:`engine.kernels.gemm` packs the taps of blocks of 8 cells across rows.
- :func:`_conv_channels` (``"channels"`` / ``"channels-expanded"``): grouped convolutions
  with fewer than 8 filters per group (depthwise: ``groups == C``; other groupings only if
  the expanded copy below is at most EXPAND_MAX times the input). 16 *output channels*
  per vector: output channel ``j`` must find its group's input channel ``c`` at lane ``j``,
  which the input already satisfies for depthwise with one filter per channel; otherwise
  an expanded copy ``xe[..., c, j] = x[..., (j // Fg)·Cg + c]`` is made first.

Work items for ``prange`` are (row of output cells, run, segment of the run); a row is cut
into segments only when there are too few rows to keep the threads busy (1D signals). No
two items write the same output.
"""

from __future__ import annotations

import itertools
import math
from functools import lru_cache

import numba
import numpy as np

from engine.kernels import gemm
from engine.kernels import simd as V
from engine.kernels.jit import jit, prange

LANES = V.LANES
BLOCK = 8  # output cells per register block
PAD_TAPS = 32  # pad the input (instead of trimming border taps) from this many taps per cell
EXPAND_MAX = 4  # largest expanded-input / input size ratio for "channels-expanded"
PACK_BELOW = BLOCK  # padded convolutions with rows shorter than this: the packed kernel
PACK_BAND = 64  # output cells packed at a time by the packed kernel
PACK_CHUNK = 8192  # taps packed at a time (packed band: at most 2 MiB)
PACK_PART = 256  # output cells per work item of the packed kernel


# --------------------------------------------------------------------------- kernels

@jit()
def _segment(sg, seg, cnt):
    """Cells ``[j0, j1)`` of segment ``sg`` of a run of ``cnt`` cells cut every ``seg``
    (a multiple of BLOCK); a last piece shorter than BLOCK joins the segment before it, so
    that every segment of at least BLOCK cells is covered by whole (overlapping) blocks."""
    j0 = sg * seg
    j1 = min(cnt, j0 + seg)
    if j0 >= cnt or (j0 > 0 and cnt - j0 < BLOCK):
        return 0, 0
    if cnt - j1 < BLOCK:
        j1 = cnt
    return j0, j1


@jit()
def _taps8(x, offs, c0, c1, xb, xs, wt, wb, ws, nf, a0, a1, a2, a3, a4, a5, a6, a7):
    """Add taps ``c0 … c1 − 1`` to the accumulators of 8 cells ``xs`` elements apart
    (``xb``: first cell's base in ``x``; weights of tap ``t``: ``nf`` floats at
    ``wt[wb + t·ws]``)."""
    for t in range(c0, c1):
        o = xb + offs[t]
        wv = V.load_n(wt, wb + t * ws, nf)
        a0 = V.fma(V.bload(x, o), wv, a0)
        a1 = V.fma(V.bload(x, o + xs), wv, a1)
        a2 = V.fma(V.bload(x, o + 2 * xs), wv, a2)
        a3 = V.fma(V.bload(x, o + 3 * xs), wv, a3)
        a4 = V.fma(V.bload(x, o + 4 * xs), wv, a4)
        a5 = V.fma(V.bload(x, o + 5 * xs), wv, a5)
        a6 = V.fma(V.bload(x, o + 6 * xs), wv, a6)
        a7 = V.fma(V.bload(x, o + 7 * xs), wv, a7)
    return a0, a1, a2, a3, a4, a5, a6, a7


@jit()
def _wbase(gb, col, n_rows, raw):
    """Start of filter block ``gb``'s weights: in the raw (taps, F) matrix, column ``col``;
    packed, ``gb``'s own ``n_rows`` rows of 16."""
    return col if raw else gb * n_rows * LANES


@jit()
def _cell(x, offs, xb, wt, wb, ws, nf, bv):
    """All taps of one cell; four partial sums hide the fma latency."""
    nt = offs.shape[0]
    a0 = bv
    a1 = V.splat(0.0)
    a2 = V.splat(0.0)
    a3 = V.splat(0.0)
    t = 0
    while t + 4 <= nt:
        wr = wb + t * ws
        a0 = V.fma(V.bload(x, xb + offs[t]), V.load_n(wt, wr, nf), a0)
        a1 = V.fma(V.bload(x, xb + offs[t + 1]), V.load_n(wt, wr + ws, nf), a1)
        a2 = V.fma(V.bload(x, xb + offs[t + 2]), V.load_n(wt, wr + 2 * ws, nf), a2)
        a3 = V.fma(V.bload(x, xb + offs[t + 3]), V.load_n(wt, wr + 3 * ws, nf), a3)
        t += 4
    while t < nt:
        a0 = V.fma(V.bload(x, xb + offs[t]), V.load_n(wt, wb + t * ws, nf), a0)
        t += 1
    return V.add(V.add(a0, a1), V.add(a2, a3))


@jit(parallel=True)
def _conv_filters(x, off, start, wt, bt, out, cls_d, base_d, cls_h, base_h, runs, cols,
                  dims):
    """Gather convolution, 16 filters per vector, 8 output cells per register block.

    x: flat input (N, D, H, W, C); off: element offset into ``x`` of every tap, class
    combination after combination, combination ``k`` at ``start[k]:start[k + 1]``; wt: flat
    weights, either packed (groups·nfb, len(off), 16), row by row as ``off`` (``ws = 16``),
    or, when ``off`` lists the taps in weight order, the (taps, F) matrix itself (``raw``,
    ``ws = F``); bt: flat (groups, nfb, 16) bias; out: flat (N, OD, OH, OW, F); cls_*/base_*: class and (possibly negative) input
    base of every output depth / height index; runs: (first output, output step, count,
    first base, base step, class) of each run of output columns; cols: (first row, row
    step, rows) of groups of at most 8 output rows of one class.

    Runs of at least BLOCK cells are done row by row in blocks of 8 consecutive cells (the
    last block overlapping the one before instead of a tail loop). Shorter runs (border
    columns) are done column by column, in blocks of 8 rows.
    """
    n_batch, in_d, in_h, in_w, n_ch = dims[0], dims[1], dims[2], dims[3], dims[4]
    out_d, out_h, out_w, n_filters = dims[5], dims[6], dims[7], dims[8]
    groups, cg, fg, nfb, ncls_h, ncls_w = dims[9], dims[10], dims[11], dims[12], dims[13], dims[14]
    seg, nseg, ws, raw = dims[15], dims[16], dims[17], dims[18]
    n_rows = off.shape[0]
    nruns = runs.shape[0]
    for item in prange(n_batch * out_d * out_h * nruns * nseg):
        ri = (item // nseg) % nruns
        j0, j1 = _segment(item % nseg, seg, runs[ri, 2])
        if j1 - j0 >= BLOCK:
            r = item // (nseg * nruns)
            oh = r % out_h
            od = (r // out_h) % out_d
            n = r // (out_h * out_d)
            ostep = runs[ri, 1]
            bstep = runs[ri, 4]
            combo = (cls_d[od] * ncls_h + cls_h[oh]) * ncls_w + runs[ri, 5]
            tb = start[combo]
            offs = off[tb:start[combo + 1]]
            nt = offs.shape[0]
            rowpix = ((n * in_d + base_d[od]) * in_h + base_h[oh]) * in_w + runs[ri, 3]
            orow = ((n * out_d + od) * out_h + oh) * out_w + runs[ri, 0]
            xs = bstep * n_ch
            os_ = ostep * n_filters
            for gb in range(groups * nfb):
                g = gb // nfb
                bv = V.load(bt, gb * LANES)
                nf = min(LANES, fg - (gb % nfb) * LANES)
                col = g * fg + (gb % nfb) * LANES
                wb = _wbase(gb, col, n_rows, raw) + tb * ws
                j = j0
                while j < j1:
                    js = min(j, j1 - BLOCK)  # the last block may overlap the one before
                    a0, a1, a2, a3, a4, a5, a6, a7 = _taps8(
                        x, offs, 0, nt, (rowpix + js * bstep) * n_ch + g * cg, xs, wt, wb, ws,
                        nf, bv, bv, bv, bv, bv, bv, bv, bv)
                    # cells before j were stored by the previous block
                    _store8(out, (orow + js * ostep) * n_filters + col, os_, nf, j - js,
                            a0, a1, a2, a3, a4, a5, a6, a7)
                    j = js + BLOCK
    ncols = cols.shape[0]
    for item in prange(n_batch * out_d * ncols * nruns):
        ri = item % nruns
        cnt = runs[ri, 2]
        if cnt < BLOCK:
            ci = (item // nruns) % ncols
            od = (item // (nruns * ncols)) % out_d
            n = item // (nruns * ncols * out_d)
            oh = cols[ci, 0]
            rstep = cols[ci, 1]
            nr = cols[ci, 2]
            combo = (cls_d[od] * ncls_h + cls_h[oh]) * ncls_w + runs[ri, 5]
            tb = start[combo]
            offs = off[tb:start[combo + 1]]
            rowpix = ((n * in_d + base_d[od]) * in_h + base_h[oh]) * in_w + runs[ri, 3]
            orow = ((n * out_d + od) * out_h + oh) * out_w + runs[ri, 0]
            xs = (base_h[oh + rstep] - base_h[oh]) * in_w * n_ch if nr > 1 else 0
            os_ = rstep * out_w * n_filters
            for gb in range(groups * nfb):
                g = gb // nfb
                bv = V.load(bt, gb * LANES)
                nf = min(LANES, fg - (gb % nfb) * LANES)
                col = g * fg + (gb % nfb) * LANES
                wb = _wbase(gb, col, n_rows, raw) + tb * ws
                for j in range(cnt):
                    xb = (rowpix + j * runs[ri, 4]) * n_ch + g * cg
                    ob = (orow + j * runs[ri, 1]) * n_filters + col
                    if nr == BLOCK:
                        a0, a1, a2, a3, a4, a5, a6, a7 = _taps8(
                            x, offs, 0, offs.shape[0], xb, xs, wt, wb, ws, nf, bv, bv, bv, bv,
                            bv, bv, bv, bv)
                        _store8(out, ob, os_, nf, 0, a0, a1, a2, a3, a4, a5, a6, a7)
                    else:
                        for k in range(nr):
                            V.store_n(out, ob + k * os_,
                                      _cell(x, offs, xb + k * xs, wt, wb, ws, nf, bv), nf)


@jit(parallel=True)
def _conv_channels(xc, off, start, wt, bt, out, cls_d, base_d, cls_h, base_h, runs, dims):
    """Gather convolution, 16 output channels per vector, 8 output cells per block.

    xc: flat (N, D, H, W, pix) input whose lanes line up with the output channels: output
    channel ``j`` reads input channel ``c`` of its group at ``c·cstride + j`` inside a cell
    (the input itself for depthwise with one filter per channel, else an expanded copy);
    off / start: element offset (in ``xc``) of each spatial tap, combination by
    combination; wt: flat (len(off), cg, fpad) weights in the same order; bt: (fpad,) bias;
    the rest as in :func:`_conv_filters`.
    """
    n_batch, in_d, in_h, in_w, pix = dims[0], dims[1], dims[2], dims[3], dims[4]
    out_d, out_h, out_w, n_filters = dims[5], dims[6], dims[7], dims[8]
    cg, cstride, fpad, ncls_h, ncls_w = dims[9], dims[10], dims[11], dims[12], dims[13]
    seg, nseg = dims[14], dims[15]
    nruns = runs.shape[0]
    for item in prange(n_batch * out_d * out_h * nruns * nseg):
        ri = (item // nseg) % nruns
        j0, j1 = _segment(item % nseg, seg, runs[ri, 2])
        if j0 < j1:
            r = item // (nseg * nruns)
            oh = r % out_h
            od = (r // out_h) % out_d
            n = r // (out_h * out_d)
            bstep = runs[ri, 4]
            combo = (cls_d[od] * ncls_h + cls_h[oh]) * ncls_w + runs[ri, 5]
            tb = start[combo]
            offs = off[tb:start[combo + 1]]
            nt = offs.shape[0]
            rowpix = ((n * in_d + base_d[od]) * in_h + base_h[oh]) * in_w + runs[ri, 3]
            orow = ((n * out_d + od) * out_h + oh) * out_w + runs[ri, 0]
            xs = bstep * pix
            os_ = runs[ri, 1] * n_filters
            for jb in range(0, fpad, LANES):
                bv = V.load(bt, jb)
                nf = min(LANES, n_filters - jb)
                if j1 - j0 >= BLOCK:
                    j = j0
                    while j < j1:
                        j = min(j, j1 - BLOCK)
                        xb = (rowpix + j * bstep) * pix + jb
                        a0 = bv
                        a1 = bv
                        a2 = bv
                        a3 = bv
                        a4 = bv
                        a5 = bv
                        a6 = bv
                        a7 = bv
                        for t in range(nt):
                            ot = xb + offs[t]
                            wr = (tb + t) * cg * fpad + jb
                            for c in range(cg):
                                o = ot + c * cstride
                                wv = V.load(wt, wr + c * fpad)
                                a0 = V.fma(V.load_n(xc, o, nf), wv, a0)
                                a1 = V.fma(V.load_n(xc, o + xs, nf), wv, a1)
                                a2 = V.fma(V.load_n(xc, o + 2 * xs, nf), wv, a2)
                                a3 = V.fma(V.load_n(xc, o + 3 * xs, nf), wv, a3)
                                a4 = V.fma(V.load_n(xc, o + 4 * xs, nf), wv, a4)
                                a5 = V.fma(V.load_n(xc, o + 5 * xs, nf), wv, a5)
                                a6 = V.fma(V.load_n(xc, o + 6 * xs, nf), wv, a6)
                                a7 = V.fma(V.load_n(xc, o + 7 * xs, nf), wv, a7)
                        _store8(out, (orow + j * runs[ri, 1]) * n_filters + jb, os_, nf, 0,
                                a0, a1, a2, a3, a4, a5, a6, a7)
                        j += BLOCK
                else:
                    for j in range(j0, j1):
                        xb = (rowpix + j * bstep) * pix + jb
                        a0 = bv
                        for t in range(nt):
                            ot = xb + offs[t]
                            wr = (tb + t) * cg * fpad + jb
                            for c in range(cg):
                                a0 = V.fma(V.load_n(xc, ot + c * cstride, nf),
                                           V.load(wt, wr + c * fpad), a0)
                        V.store_n(out, (orow + j * runs[ri, 1]) * n_filters + jb, a0, nf)


@jit()
def _store8(out, ob, step, nf, skip, a0, a1, a2, a3, a4, a5, a6, a7):
    """Store the first ``nf`` lanes of vectors ``a<skip>`` … ``a7`` at ``ob + k·step``."""
    if skip == 0 and nf == LANES:
        V.store(out, ob, a0)
        V.store(out, ob + step, a1)
        V.store(out, ob + 2 * step, a2)
        V.store(out, ob + 3 * step, a3)
        V.store(out, ob + 4 * step, a4)
        V.store(out, ob + 5 * step, a5)
        V.store(out, ob + 6 * step, a6)
        V.store(out, ob + 7 * step, a7)
    else:
        if skip <= 0:
            V.store_n(out, ob, a0, nf)
        if skip <= 1:
            V.store_n(out, ob + step, a1, nf)
        if skip <= 2:
            V.store_n(out, ob + 2 * step, a2, nf)
        if skip <= 3:
            V.store_n(out, ob + 3 * step, a3, nf)
        if skip <= 4:
            V.store_n(out, ob + 4 * step, a4, nf)
        if skip <= 5:
            V.store_n(out, ob + 5 * step, a5, nf)
        if skip <= 6:
            V.store_n(out, ob + 6 * step, a6, nf)
        V.store_n(out, ob + 7 * step, a7, nf)


def _pack_weights_py(w, rows, fg, wt):
    """``wt[g·nfb + b, i, l] = w[rows[i], g·fg + 16·b + l]`` (0 past the group's filters):
    weight rows in tap-table order, in blocks of 16 filters."""
    n_blocks, n_rows, _ = wt.shape
    n_cols = w.shape[1]
    nfb = -(-fg // LANES)
    for gb in prange(n_blocks):
        first = (gb // nfb) * fg + (gb % nfb) * LANES
        nf = min(LANES, fg - (gb % nfb) * LANES)
        for i in range(n_rows):
            V.store(wt, (gb * n_rows + i) * LANES, V.load_n(w, rows[i] * n_cols + first, nf))


_pack_weights = jit()(_pack_weights_py)
# large weight matrices: a memory-bound copy, worth the second core
_pack_weights_parallel = jit(parallel=True)(_pack_weights_py)
PACK_PARALLEL_BYTES = 1 << 20


# --------------------------------------------------------------------------- planning

def to_3d(values, fill):
    """Left-pad a per-axis tuple to 3 axes (``fill`` for the missing leading axes)."""
    values = tuple(int(v) for v in values)
    return (fill,) * (3 - len(values)) + values


def _as_5d(x):
    """``(N, *S, C)`` with 1–3 spatial axes → contiguous float32 ``(N, D, H, W, C)``."""
    rank = x.ndim - 2
    shape = (x.shape[0],) + (1,) * (3 - rank) + x.shape[1:]
    return np.ascontiguousarray(x, dtype=np.float32).reshape(shape)


def _ceil_to(n, m):
    return -(-n // m) * m


def _bases(n_out, k, s, d, pad, transposed):
    """Per output index: phase, first input index, and the input offset of every tap
    (``valid`` marks the taps that belong to the phase)."""
    o = np.arange(n_out, dtype=np.int64)
    taps = np.arange(k, dtype=np.int64)
    if transposed:
        q = o + pad
        phase = q % s
        num = taps[None, :] * d - phase[:, None]
        return phase, q // s, -(num // s), num % s == 0
    return (np.zeros(n_out, np.int64), o * s - pad, np.broadcast_to(taps * d, (n_out, k)),
            np.ones((n_out, k), bool))


def _padding(n_in, n_out, k, s, d, pad, transposed):
    """Zeros needed ``(before, after)`` so that every tap of every output lands inside."""
    _, base, rel, valid = _bases(n_out, k, s, d, pad, transposed)
    pos = np.where(valid, base[:, None] + rel, 0)
    return max(0, -int(pos.min())), max(0, int(pos.max()) + 1 - n_in)


def _axis(n_in, n_out, k, s, d, pad, transposed):
    """Gather plan along one axis.

    Returns ``(base, cls, classes, order)``: output index ``o`` reads input
    ``base[o] + rel`` for each ``(tap, rel)`` of ``classes[cls[o]]`` (only taps that land
    inside the input are listed); ``order`` lists the output indices phase by phase, each
    phase an arithmetic sequence whose bases step evenly.
    """
    phase, base, rel, valid = _bases(n_out, k, s, d, pad, transposed)
    pos = base[:, None] + rel
    valid = valid & (pos >= 0) & (pos < n_in)
    keys = np.concatenate([phase[:, None], valid], axis=1)
    _, first, cls = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    classes = [[(int(t), int(rel[i, t])) for t in range(k) if valid[i, t]] for i in first]
    order = [np.arange((r - pad) % s, n_out, s) for r in range(s)] if transposed else [
        np.arange(n_out)]
    return base, cls.reshape(-1).astype(np.int64), classes, [q for q in order if q.size]


def _runs(base, cls, order):
    """Split each phase of the width axis into runs of one class:
    rows (first output, output step, count, first base, base step, class)."""
    rows = []
    for idx in order:
        c = cls[idx]
        cuts = [0] + list(np.flatnonzero(np.diff(c)) + 1) + [idx.size]
        ostep = int(idx[1] - idx[0]) if idx.size > 1 else 1
        bstep = int(base[idx[1]] - base[idx[0]]) if idx.size > 1 else 0
        for a, b in zip(cuts[:-1], cuts[1:]):
            rows.append((int(idx[a]), ostep, b - a, int(base[idx[a]]), bstep, int(c[a])))
    return np.array(rows, np.int64)


def _row_groups(cls):
    """Output rows in groups of at most BLOCK rows of one class, evenly spaced:
    rows (first row, row step, count)."""
    groups = []
    for c in np.unique(cls):
        idx = np.flatnonzero(cls == c)
        cuts = [0] + list(np.flatnonzero(np.diff(np.diff(idx)) != 0) + 2) + [idx.size]
        for a, b in zip(cuts[:-1], cuts[1:]):
            step = int(idx[a + 1] - idx[a]) if b - a > 1 else 1
            for k in range(a, b, BLOCK):
                groups.append((int(idx[k]), step, min(BLOCK, b - k)))
    return np.array(groups, np.int64)


@lru_cache(maxsize=64)
def _plan(in_spatial, kernel, cg, strides, dilation, pads, out_spatial, transposed, pix):
    """Offsets and tap tables for one configuration (cached: they depend on shapes only).

    ``pads`` are the zeros before each axis *not* present in the input. The taps of each
    class combination (``start[k]:start[k + 1]`` of ``off`` and ``rows``) are listed in
    kernel order (kd, kh, kw, c) with ``c`` over ``cg`` channels: the offset of tap
    ``(rel_d, rel_h, rel_w, c)`` is ``((rel_d·H + rel_h)·W + rel_w)·pix + c`` and its row
    in the weight matrix ``((kd·KH + kh)·KW + kw)·cg + c``.
    """
    _, in_h, in_w = in_spatial
    (bd, cd, kd_cls, _), (bh, ch, kh_cls, _), (bw, cw, kw_cls, order) = (
        _axis(*args, transposed)
        for args in zip(in_spatial, out_spatial, kernel, strides, dilation, pads))
    combos = list(itertools.product(kd_cls, kh_cls, kw_cls))
    _, kh_, kw_ = kernel
    chans = np.arange(cg, dtype=np.int64)
    off, rows = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    for td, th, tw in combos:
        if not (td and th and tw):
            off.append(np.zeros(0, np.int64))
            rows.append(np.zeros(0, np.int64))
            continue
        t_d, r_d = np.array(td, np.int64).T
        t_h, r_h = np.array(th, np.int64).T
        t_w, r_w = np.array(tw, np.int64).T
        rel = (r_d[:, None, None] * in_h + r_h[None, :, None]) * in_w + r_w[None, None, :]
        row = (t_d[:, None, None] * kh_ + t_h[None, :, None]) * kw_ + t_w[None, None, :]
        off.append((rel[..., None] * pix + chans).reshape(-1))
        rows.append((row[..., None] * cg + chans).reshape(-1))
    start = np.cumsum([0] + [a.size for a in off[1:]]).astype(np.int64)
    rows = np.concatenate(rows)
    runs = _runs(bw, cw, order)
    # column blocks only serve runs shorter than a block (none: skip the second loop)
    cols = _row_groups(ch) if (runs[:, 2] < BLOCK).any() else np.zeros((0, 3), np.int64)
    return dict(off=np.concatenate(off), rows=rows, start=start, cg=cg, cls_d=cd, base_d=bd,
                cls_h=ch, base_h=bh, ncls_h=len(kh_cls), ncls_w=len(kw_cls), runs=runs, cols=cols,
                nphase_w=len(order), longest=int(runs[:, 2].max()),
                identity=bool(np.array_equal(rows, np.arange(int(np.prod(kernel)) * cg))))


def _segments(rows, longest):
    """Split rows of up to ``longest`` cells into ``nseg`` segments of ``seg`` cells (a
    multiple of BLOCK) so that there are a few work items per thread."""
    want = 4 * numba.get_num_threads()
    nseg = 1 if rows >= want else min(-(-want // rows), max(1, -(-longest // (4 * BLOCK))))
    seg = _ceil_to(-(-longest // nseg), BLOCK)
    return seg, max(1, -(-longest // seg))


@lru_cache(maxsize=64)
def _padded(in_spatial, kernel, strides, dilation, pads, out_spatial, transposed):
    """For the "filters-padded" path: zeros ``(before, after)`` per axis that put every tap
    inside the input, the padded sizes, and ``pads`` for the padded input (its index ``i``
    is the original ``i − before``: the conv base ``o·s − pad`` moves by ``before`` when pad
    shrinks by ``before``; the transposed base ``(o + pad) div s`` when pad grows by
    ``before·s``, which leaves the phases alone)."""
    extents = tuple(_padding(*a, transposed) for a in zip(in_spatial, out_spatial, kernel,
                                                          strides, dilation, pads))
    sizes = tuple(n + b + a for n, (b, a) in zip(in_spatial, extents))
    moved = tuple(p + b * s if transposed else p - b
                  for p, (b, _), s in zip(pads, extents, strides))
    return extents, sizes, moved


def _filters_conv(x5, wrows, bias, groups, geometry, transposed):
    """Run :func:`_conv_filters`. ``wrows`` is the (taps, F) weight matrix (taps in kernel
    order (kd, kh, kw, c), the filters of group ``g`` in columns ``g·Fg … (g+1)·Fg − 1``);
    geometry: (kernel, strides, dilation, pads, out_shape), 3 axes each."""
    kernel, strides, dilation, pads, out_shape = geometry
    n_taps, n_filters = wrows.shape
    cg, fg = n_taps // (kernel[0] * kernel[1] * kernel[2]), n_filters // groups
    if n_taps >= PAD_TAPS:  # path() "filters-padded" or "packed"
        # many taps per cell: trimming taps at the borders would leave long single-cell
        # runs there; a padded copy of the input is cheap next to the arithmetic
        extents, sizes, pads = _padded(tuple(x5.shape[1:4]), kernel, strides, dilation, pads,
                                       out_shape, transposed)
        if sizes != x5.shape[1:4]:
            xp = np.zeros((x5.shape[0],) + sizes + (x5.shape[4],), np.float32)
            xp[(slice(None),) + tuple(slice(b, b + n) for (b, _), n in zip(
                extents, x5.shape[1:4]))] = x5
            x5 = xp
    n_batch, in_d, in_h, in_w, n_ch = x5.shape
    plan = _plan((in_d, in_h, in_w), kernel, cg, strides, dilation, pads, out_shape,
                 transposed, n_ch)
    nfb = -(-fg // LANES)
    packed_path = n_taps >= PAD_TAPS and plan["longest"] < PACK_BELOW
    # the (taps, F) weight matrix as it is, when its rows are in tap-table order and either
    # it has 16 columns (then it is the packed form) or the packed kernel reads each weight
    # about once (packing would cost more than reading F floats apart)
    raw = (plan["identity"] and wrows.flags.c_contiguous
           and (n_filters == LANES or packed_path))
    if raw:
        wt, ws = wrows, n_filters
    else:
        # packed: each block of 16 filters reads contiguous rows (the row kernel reads
        # the weights again for every row of cells)
        wt, ws = np.empty((groups * nfb, plan["rows"].size, LANES), np.float32), LANES
        pack = _pack_weights_parallel if wt.nbytes > PACK_PARALLEL_BYTES else _pack_weights
        pack(np.ascontiguousarray(wrows), plan["rows"], fg, wt)
    bt = np.zeros((groups, nfb * LANES), np.float32)
    bt[:, :fg] = bias.reshape(groups, fg)
    out = np.empty((n_batch,) + tuple(out_shape) + (n_filters,), np.float32)
    if packed_path:  # "packed"
        _packed_conv(x5, wt, ws, raw, bt, out, plan, cg, fg, nfb, groups)
        return out
    out_d, out_h, out_w = out_shape
    seg, nseg = _segments(n_batch * out_d * out_h * plan["nphase_w"], plan["longest"])
    dims = np.array([n_batch, in_d, in_h, in_w, n_ch, out_d, out_h, out_w, n_filters, groups,
                     cg, fg, nfb, plan["ncls_h"], plan["ncls_w"], seg, nseg, ws, raw], np.int64)
    _conv_filters(x5.reshape(-1), plan["off"], plan["start"], wt.reshape(-1), bt.reshape(-1),
                  out.reshape(-1), plan["cls_d"], plan["base_d"], plan["cls_h"],
                  plan["base_h"], plan["runs"], plan["cols"], dims)
    return out


def _packed_conv(x5, wt, ws, raw, bt, out, plan, cg, fg, nfb, groups):
    """The "packed" path: :func:`engine.kernels.gemm.conv_packed` on the padded input."""
    n_batch, in_d, in_h, in_w, n_ch = x5.shape
    _, out_d, out_h, out_w, n_filters = out.shape
    n, od, oh = (a.reshape(-1) for a in np.meshgrid(
        np.arange(n_batch), np.arange(out_d), np.arange(out_h), indexing="ij"))
    rowpix = ((n * in_d + plan["base_d"][od]) * in_h + plan["base_h"][oh]) * in_w
    rowout = ((n * out_d + od) * out_h + oh) * out_w
    rowcls = plan["cls_d"][od] * plan["ncls_h"] + plan["cls_h"][oh]
    tasks, trows = [], []
    for rc in np.unique(rowcls):
        rows = np.flatnonzero(rowcls == rc)
        for ri, run in enumerate(plan["runs"]):
            tasks.append((ri, rc * plan["ncls_w"] + run[5], sum(map(len, trows)), rows.size))
            trows.append(rows)
    tasks = np.array(tasks, np.int64)
    cells = int((tasks[:, 3] * plan["runs"][tasks[:, 0], 2]).max())
    threads = numba.get_num_threads()
    nfbt = groups * nfb
    # few cells, many taps and filters: every work item would stream all the weights it
    # uses once per band of cells, so threads share out the filters and take all cells
    # (in parts of at most PACK_PART cells); packing costs a few cycles per value, once
    # per item and band
    fpg = -(-nfbt // min(nfbt, threads))
    nparts = -(-cells // PACK_PART)
    part = _ceil_to(-(-cells // nparts), BLOCK)
    nparts = -(-cells // part)
    dims = np.array([n_ch, n_filters, groups, cg, fg, nfb, PACK_CHUNK, min(part, PACK_BAND),
                     part, fpg, nparts, ws, raw], np.int64)
    gemm.conv_packed(x5.reshape(-1), plan["off"], plan["start"], wt.reshape(-1),
                     bt.reshape(-1), out.reshape(-1), tasks, np.concatenate(trows), rowpix,
                     rowout, plan["runs"], dims)


def _channels_conv(x5, w5, bias, groups, geometry):
    """Run :func:`_conv_channels` (grouped convolution with few filters per group)."""
    kernel, strides, dilation, pads, out_shape = geometry
    n_batch, in_d, in_h, in_w, n_ch = x5.shape
    kd_, kh_, kw_, cg, n_filters = w5.shape
    fg = n_filters // groups
    fpad = _ceil_to(n_filters, LANES)
    if cg == 1 and fg == 1:
        xc, pix, cstride = x5.reshape(-1), n_ch, 0
    else:
        # lane j of input channel c of the group holds x[..., (j // fg)·cg + c]
        xe = np.zeros((x5.size // n_ch, cg, fpad), np.float32)
        lanes = np.arange(n_filters)
        chans = (lanes // fg) * cg + np.arange(cg)[:, None]
        xe[:, :, :n_filters] = x5.reshape(-1, n_ch)[:, chans]
        xc, pix, cstride = xe.reshape(-1), cg * fpad, fpad
    plan = _plan((in_d, in_h, in_w), kernel, 1, strides, dilation, pads, out_shape, False,
                 pix)
    wt = np.zeros((plan["rows"].size, cg, fpad), np.float32)
    wt[:, :, :n_filters] = w5.reshape(kd_ * kh_ * kw_, cg, n_filters)[plan["rows"]]
    bt = np.zeros(fpad, np.float32)
    bt[:n_filters] = bias
    out_d, out_h, out_w = out_shape
    runs = plan["runs"]
    seg, nseg = _segments(n_batch * out_d * out_h, plan["longest"])
    out = np.empty((n_batch, out_d, out_h, out_w, n_filters), np.float32)
    dims = np.array([n_batch, in_d, in_h, in_w, pix, out_d, out_h, out_w, n_filters, cg,
                     cstride, fpad, plan["ncls_h"], plan["ncls_w"], seg, nseg], np.int64)
    _conv_channels(xc, plan["off"], plan["start"], wt.reshape(-1), bt, out.reshape(-1),
                   plan["cls_d"], plan["base_d"], plan["cls_h"], plan["base_h"], runs, dims)
    return out


# --------------------------------------------------------------------------- public

def _bias(bias, n_filters):
    if bias is None:
        return np.zeros(n_filters, np.float32)
    return np.ascontiguousarray(bias, np.float32).reshape(n_filters)


def _prepare(x, w, bias, n_filters, strides, dilation, pad_before, out_spatial):
    rank = x.ndim - 2
    x5 = _as_5d(x)
    w5 = np.ascontiguousarray(w, dtype=np.float32).reshape((1,) * (3 - rank) + tuple(w.shape))
    geometry = (tuple(w5.shape[:3]), to_3d(strides, 1), to_3d(dilation, 1),
                to_3d(pad_before, 0), to_3d(out_spatial, 1))
    return x5, w5, _bias(bias, n_filters), geometry


def path(w_shape, groups=1, transposed=False, out_width=None):
    """Which kernel a convolution with weights of ``w_shape`` (Keras layout) takes:
    ``"channels"`` (depthwise: one filter per channel, read in place), ``"channels-expanded"``
    (other groupings with fewer than 8 filters per group, if the expanded input is at
    most EXPAND_MAX times the input), ``"filters"`` (taps trimmed at
    the borders), ``"filters-padded"`` (a zero-padded copy of the input, from PAD_TAPS
    taps per output cell on) or ``"packed"`` (padded, and output rows — of one phase for a
    transposed convolution — shorter than PACK_BELOW cells: :mod:`engine.kernels.gemm`).
    ``out_width``: the last output axis (without it "packed" is never reported); for a
    transposed convolution pass ``out_width // stride``."""
    *kernel, cg, n_filters = w_shape
    if transposed:
        cg, n_filters = n_filters, cg
    if not transposed and groups > 1 and n_filters // groups < BLOCK:
        if cg == 1 and n_filters == groups:
            return "channels"
        if _ceil_to(n_filters, LANES) <= EXPAND_MAX * groups:
            return "channels-expanded"
    n_taps = math.prod(kernel) * cg
    if n_taps < PAD_TAPS:
        return "filters"
    if out_width is not None and out_width < PACK_BELOW:
        return "packed"
    return "filters-padded"


def conv(x, w, bias, strides, dilation, pad_before, out_spatial, groups=1):
    """Grouped cross-correlation, channels-last.

    x: (N, *S, C); w: (*K, C // groups, F); bias: (F,) or None; strides, dilation,
    pad_before, out_spatial: one int per spatial axis. Returns float32 (N, *out_spatial, F).
    """
    n_filters = w.shape[-1]
    groups = int(groups)
    final = (x.shape[0],) + tuple(out_spatial) + (n_filters,)
    if 0 in final:
        return np.zeros(final, np.float32)
    x5, w5, b, geometry = _prepare(x, w, bias, n_filters, strides, dilation, pad_before,
                                   out_spatial)
    if path(w.shape, groups).startswith("channels"):  # else "filters*" or "packed"
        y = _channels_conv(x5, w5, b, groups, geometry)
    else:
        y = _filters_conv(x5, w5.reshape(-1, n_filters), b, groups, geometry, False)
    return y.reshape(final)


def conv_transpose(x, w, bias, strides, dilation, pad_before, out_spatial):
    """Transposed convolution (gradient of :func:`conv` w.r.t. its input), channels-last.

    x: (N, *S, C); w: (*K, F, C); output cell ``o`` gets ``x[i] · w[t]`` whenever
    ``o = i·s + t·d − pad_before``. Returns float32 (N, *out_spatial, F).
    """
    n_filters = w.shape[-2]
    final = (x.shape[0],) + tuple(out_spatial) + (n_filters,)
    if 0 in final:
        return np.zeros(final, np.float32)
    x5, w5, b, geometry = _prepare(x, w, bias, n_filters, strides, dilation, pad_before,
                                   out_spatial)
    wrows = np.swapaxes(w5, -1, -2).reshape(-1, n_filters)
    return _filters_conv(x5, wrows, b, 1, geometry, True).reshape(final)
