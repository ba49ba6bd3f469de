"""Packed convolution for small feature maps: a cache-blocked GEMM on gathered taps.

:func:`engine.kernels.conv._conv_filters` works row by row in register blocks of 8
consecutive output cells. On the small maps deep in a network (7×7, 4×4: rows shorter than
a block) that leaves lone cells and column blocks, with many taps (channels) each. This
kernel computes the same sums as a matrix product ``out (cells × F) = A (cells × taps) · W
(taps × F)`` in the BLIS manner:

- a work item takes a group of blocks of 16 filters and a part of the output cells
  (threads share out the filters: each weight is then read from memory about once);
- per chunk of taps, bands of ``band`` cells are *packed*: the input value each cell of a
  block of 8 needs, tap after tap (``A``, 8 floats per tap: one cache line per 2 taps),
  gathered once and reused by every block of 16 filters of the item;
- the register block is 8 cells × 16 filters as in the row kernel (8 × 32: two blocks of a
  group at once where there are), but its 8 cells may come from different rows; the last
  block of a part is zero-padded (nothing is computed twice);
- running sums wait in ``out`` between chunks of taps (bias first, then the taps in order:
  the same float32 operations in the same order as the other kernels).

No BLAS is involved: a BLAS call leaves its own thread pool spinning, which on a few cores
slows the Numba kernels that follow it (and vice versa).
"""

from __future__ import annotations

import numpy as np

from engine.kernels import simd as V
from engine.kernels.jit import jit, prange

LANES = V.LANES
BLOCK = 8


@jit()
def _pack(x, xbase, nc, offs, c0, c1, shift, pa):
    """``pa[(b·(c1−c0) + t)·8 + k] = x[xbase[b + k] + shift + offs[c0 + t]]`` for blocks
    ``b = 0, 8, …`` of the ``nc`` cells of a band (0 for the padding cells of the last
    block). Offsets may be negative (transposed phases); the sums are not."""
    cl = c1 - c0
    taps = offs[c0:c1]
    for b in range(0, nc, BLOCK):
        dst = pa[b * cl:(b + BLOCK) * cl]
        if b + BLOCK <= nc:
            x0 = xbase[b] + shift
            x1 = xbase[b + 1] + shift
            x2 = xbase[b + 2] + shift
            x3 = xbase[b + 3] + shift
            x4 = xbase[b + 4] + shift
            x5 = xbase[b + 5] + shift
            x6 = xbase[b + 6] + shift
            x7 = xbase[b + 7] + shift
            for t in range(cl):
                o = taps[t]
                p = t * BLOCK
                dst[p] = V.get(x, x0 + o)
                dst[p + 1] = V.get(x, x1 + o)
                dst[p + 2] = V.get(x, x2 + o)
                dst[p + 3] = V.get(x, x3 + o)
                dst[p + 4] = V.get(x, x4 + o)
                dst[p + 5] = V.get(x, x5 + o)
                dst[p + 6] = V.get(x, x6 + o)
                dst[p + 7] = V.get(x, x7 + o)
        else:
            for t in range(cl):
                for k in range(BLOCK):
                    dst[t * BLOCK + k] = (V.get(x, xbase[b + k] + shift + taps[t])
                                          if b + k < nc else 0.0)


@jit(parallel=True)
def conv_packed(x, off, segs, wt, bt, out, tasks, trows, rowpix, rowout, runs, dims):
    """Packed, cache-blocked gather convolution (see the module docstring).

    x, off, segs, wt, bt, out, runs: as for :func:`engine.kernels.conv._conv_filters`, each
    class combination one segment of ``off`` (x flat, padded so that every tap is inside:
    ``segs[k] = (first, 1, 0, 1, 0, length)``, or all 0 without taps). tasks: (run, class combination, first
    index into ``trows``, row count) — the output rows of one class combination for one
    run of columns; trows: output rows (flat ``(n, od, oh)`` index) of every task;
    rowpix / rowout: input cell index of a row's base / output cell index of a row's
    first cell. dims: channels, filters, groups, cg, fg, nfb, chunk, band, part, fpg,
    parts per task, weight row stride ``ws`` and ``raw`` (weights are the (taps, F) matrix
    itself, ``ws == F``; else packed in blocks of 16 filters, ``ws == 16``).
    """
    n_ch, n_filters, groups, cg, fg, nfb = dims[0], dims[1], dims[2], dims[3], dims[4], dims[5]
    chunk, band, part, fpg, nparts = dims[6], dims[7], dims[8], dims[9], dims[10]
    ws, raw = dims[11], dims[12]
    n_wrows = off.shape[0]
    nfbt = groups * nfb
    nfg = -(-nfbt // fpg)
    for item in prange(tasks.shape[0] * nparts * nfg):
        q = item % nfg
        pi = (item // nfg) % nparts
        ti = item // (nfg * nparts)
        ri = tasks[ti, 0]
        cnt = runs[ri, 2]
        m0 = pi * part
        m1 = min(tasks[ti, 3] * cnt, m0 + part)
        if m0 < m1:
            tb = segs[tasks[ti, 1], 0]
            offs = off[tb:tb + segs[tasks[ti, 1], 5]]
            nt = offs.shape[0]
            pa = np.empty(_ceil8(band) * min(chunk, max(nt, 1)), np.float32)
            xbase = np.empty(band, np.int64)
            obase = np.empty(band, np.int64)
            for c0 in range(0, max(nt, 1), chunk):
                c1 = min(nt, c0 + chunk)
                cl = c1 - c0
                for s0 in range(m0, m1, band):
                    nc = min(m1, s0 + band) - s0
                    for k in range(nc):
                        r = trows[tasks[ti, 2] + (s0 + k) // cnt]
                        j = (s0 + k) % cnt
                        xbase[k] = (rowpix[r] + runs[ri, 3] + j * runs[ri, 4]) * n_ch
                        obase[k] = (rowout[r] + runs[ri, 0] + j * runs[ri, 1]) * n_filters
                    g_packed = -1
                    gend = min(nfbt, (q + 1) * fpg)
                    gb = q * fpg
                    while gb < gend:
                        g = gb // nfb
                        if g != g_packed and cl > 0:
                            _pack(x, xbase, nc, offs, c0, c1, g * cg, pa)
                            g_packed = g
                        bv = V.load(bt, gb * LANES)
                        nf = min(LANES, fg - (gb % nfb) * LANES)
                        col = g * fg + (gb % nfb) * LANES
                        wb = (col if raw else gb * n_wrows * LANES) + (tb + c0) * ws
                        if gb % nfb + 1 < nfb and gb + 1 < gend:
                            # two blocks of 16 filters of one group (the first full): each
                            # packed value feeds two fma
                            bv2 = V.load(bt, (gb + 1) * LANES)
                            nf2 = min(LANES, fg - (gb % nfb + 1) * LANES)
                            wb2 = (col + LANES if raw else (gb + 1) * n_wrows * LANES) + (
                                tb + c0) * ws
                            for b in range(0, nc, BLOCK):
                                nv = min(BLOCK, nc - b)
                                a0, a1, a2, a3, a4, a5, a6, a7 = _acc8(out, obase, b, col, LANES,
                                                                       nv, c0 == 0, bv)
                                e0, e1, e2, e3, e4, e5, e6, e7 = _acc8(out, obase, b,
                                                                       col + LANES, nf2, nv,
                                                                       c0 == 0, bv2)
                                pb = b * cl
                                for t in range(cl):
                                    wv = V.load(wt, wb + t * ws)
                                    wv2 = V.load_n(wt, wb2 + t * ws, nf2)
                                    p = pb + t * BLOCK
                                    v = V.bload(pa, p)
                                    a0 = V.fma(v, wv, a0)
                                    e0 = V.fma(v, wv2, e0)
                                    v = V.bload(pa, p + 1)
                                    a1 = V.fma(v, wv, a1)
                                    e1 = V.fma(v, wv2, e1)
                                    v = V.bload(pa, p + 2)
                                    a2 = V.fma(v, wv, a2)
                                    e2 = V.fma(v, wv2, e2)
                                    v = V.bload(pa, p + 3)
                                    a3 = V.fma(v, wv, a3)
                                    e3 = V.fma(v, wv2, e3)
                                    v = V.bload(pa, p + 4)
                                    a4 = V.fma(v, wv, a4)
                                    e4 = V.fma(v, wv2, e4)
                                    v = V.bload(pa, p + 5)
                                    a5 = V.fma(v, wv, a5)
                                    e5 = V.fma(v, wv2, e5)
                                    v = V.bload(pa, p + 6)
                                    a6 = V.fma(v, wv, a6)
                                    e6 = V.fma(v, wv2, e6)
                                    v = V.bload(pa, p + 7)
                                    a7 = V.fma(v, wv, a7)
                                    e7 = V.fma(v, wv2, e7)
                                _put8(out, obase, b, col, LANES, nv, a0, a1, a2, a3, a4, a5,
                                      a6, a7)
                                _put8(out, obase, b, col + LANES, nf2, nv, e0, e1, e2, e3, e4,
                                      e5, e6, e7)
                            gb += 2
                            continue
                        gb += 1
                        for b in range(0, nc, BLOCK):
                            nv = nc - b  # valid cells in this block (the last may be short)
                            if c0 == 0:
                                a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = bv
                            else:
                                a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = bv
                                a0 = V.load_n(out, obase[b] + col, nf)
                                if nv > 1:
                                    a1 = V.load_n(out, obase[b + 1] + col, nf)
                                if nv > 2:
                                    a2 = V.load_n(out, obase[b + 2] + col, nf)
                                if nv > 3:
                                    a3 = V.load_n(out, obase[b + 3] + col, nf)
                                if nv > 4:
                                    a4 = V.load_n(out, obase[b + 4] + col, nf)
                                if nv > 5:
                                    a5 = V.load_n(out, obase[b + 5] + col, nf)
                                if nv > 6:
                                    a6 = V.load_n(out, obase[b + 6] + col, nf)
                                if nv > 7:
                                    a7 = V.load_n(out, obase[b + 7] + col, nf)
                            pb = b * cl
                            for t in range(cl):
                                wv = V.load_n(wt, wb + t * ws, nf)
                                p = pb + t * BLOCK
                                a0 = V.fma(V.bload(pa, p), wv, a0)
                                a1 = V.fma(V.bload(pa, p + 1), wv, a1)
                                a2 = V.fma(V.bload(pa, p + 2), wv, a2)
                                a3 = V.fma(V.bload(pa, p + 3), wv, a3)
                                a4 = V.fma(V.bload(pa, p + 4), wv, a4)
                                a5 = V.fma(V.bload(pa, p + 5), wv, a5)
                                a6 = V.fma(V.bload(pa, p + 6), wv, a6)
                                a7 = V.fma(V.bload(pa, p + 7), wv, a7)
                            V.store_n(out, obase[b] + col, a0, nf)
                            if nv > 1:
                                V.store_n(out, obase[b + 1] + col, a1, nf)
                            if nv > 2:
                                V.store_n(out, obase[b + 2] + col, a2, nf)
                            if nv > 3:
                                V.store_n(out, obase[b + 3] + col, a3, nf)
                            if nv > 4:
                                V.store_n(out, obase[b + 4] + col, a4, nf)
                            if nv > 5:
                                V.store_n(out, obase[b + 5] + col, a5, nf)
                            if nv > 6:
                                V.store_n(out, obase[b + 6] + col, a6, nf)
                            if nv > 7:
                                V.store_n(out, obase[b + 7] + col, a7, nf)


@jit()
def _acc8(out, obase, b, col, nf, nv, first, bv):
    """Accumulators of the ``nv`` valid cells of block ``b``: the bias on the first chunk
    of taps, else the running sums waiting in ``out`` (the others: the bias, unused)."""
    a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = bv
    if not first:
        a0 = V.load_n(out, obase[b] + col, nf)
        if nv > 1:
            a1 = V.load_n(out, obase[b + 1] + col, nf)
        if nv > 2:
            a2 = V.load_n(out, obase[b + 2] + col, nf)
        if nv > 3:
            a3 = V.load_n(out, obase[b + 3] + col, nf)
        if nv > 4:
            a4 = V.load_n(out, obase[b + 4] + col, nf)
        if nv > 5:
            a5 = V.load_n(out, obase[b + 5] + col, nf)
        if nv > 6:
            a6 = V.load_n(out, obase[b + 6] + col, nf)
        if nv > 7:
            a7 = V.load_n(out, obase[b + 7] + col, nf)
    return a0, a1, a2, a3, a4, a5, a6, a7


@jit()
def _put8(out, obase, b, col, nf, nv, a0, a1, a2, a3, a4, a5, a6, a7):
    """Store the accumulators of the ``nv`` valid cells of block ``b``."""
    V.store_n(out, obase[b] + col, a0, nf)
    if nv > 1:
        V.store_n(out, obase[b + 1] + col, a1, nf)
    if nv > 2:
        V.store_n(out, obase[b + 2] + col, a2, nf)
    if nv > 3:
        V.store_n(out, obase[b + 3] + col, a3, nf)
    if nv > 4:
        V.store_n(out, obase[b + 4] + col, a4, nf)
    if nv > 5:
        V.store_n(out, obase[b + 5] + col, a5, nf)
    if nv > 6:
        V.store_n(out, obase[b + 6] + col, a6, nf)
    if nv > 7:
        V.store_n(out, obase[b + 7] + col, a7, nf)


@jit()
def _ceil8(n):
    return -(-n // BLOCK) * BLOCK
