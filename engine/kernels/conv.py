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
border simply have fewer taps (no bounds tests, no padded copy); along an axis they are a
range of the phase's taps (:mod:`engine.kernels.axes`, O(outputs) per axis, never
outputs × taps). :func:`_plan` lists, per combination of (depth, height, width) phases,
the element offset of every tap (spatial taps × input channels of a group) and its weight
row — each tap of the kernel once — and gives the taps of each combination of classes as
segments of that table (a sub-box of its phases' box); rows of output cells are cut into
*runs* of one width class. The kernels then only add offsets:

- :func:`_conv_filters` (path ``"filters"``): 16 filters per vector (see
  :mod:`engine.kernels.simd`), 8 output cells of a run per register block, each tap
  broadcasting one input value into the 8 accumulators with a fused multiply-add; float32
  accumulation in tap order, bias first. Two blocks of 16 filters of a group are done
  together where there are (8 cells × 32 filters: each input value loaded feeds two fma),
  and taps at consecutive offsets (a kernel row of channels, padded) are looped over
  without the offset table. A run's last block overlaps the one before
  instead of falling back to single cells; runs shorter than a block (border columns) are
  done in blocks of 8 rows instead. Weights over CHUNK_WEIGHTS_BYTES are shared out by
  chunks of FILTER_CHUNK blocks, so that a thread keeps its chunk in cache over the rows.
  Few input channels (cells 1–6 floats apart: :mod:`engine.kernels.narrow`, from
  MIN_OUTPUT output values): runs of at least 16 cells in blocks of 16 cells × 16 filters
  whose addresses are constants, the same taps in the same order; this kernel keeps the
  border columns.
- ``"filters-padded"``: from PAD_TAPS taps per output cell, the border classes would cost
  more than a zero-padded copy of the input (cheap next to the arithmetic then); the same
  register blocks run on the copy wherever every cell has all taps in runs of consecutive
  offsets — also unpadded ones such as 1×1: cell-blocked (:mod:`engine.kernels.cells`: per
  block of 8 consecutive output cells, across row ends, its input kept in L1 while every
  filter block's weights stream from L2; on a padded input whose groups have multiples of
  64 filters, from quads.MIN_TAPS taps per cell, in blocks of 4 cells × 64 filters reading
  the input in place, no copy: :mod:`engine.kernels.quads`) where a group has at least
  two blocks of 16 filters, else tap-blocked (:mod:`engine.kernels.tiled`: per chunk of
  taps whose weights fit L1, over a band of output rows, running sums in the output) —
  and :func:`_conv_filters` otherwise.
- ``"packed"``: padded, and rows shorter than PACK_BELOW cells (small maps deep in a
  network): :mod:`engine.kernels.gemm` packs the taps of blocks of 8 cells across rows.
- :func:`_conv_channels` (``"channels"`` / ``"channels-expanded"``): grouped convolutions
  with fewer than 8 filters per group (depthwise: ``groups == C``; other groupings only if
  the expanded copy below is at most EXPAND_MAX times the input). 16 *output channels*
  per vector: output channel ``j`` must find its group's input channel ``c`` at lane ``j``,
  which the input already satisfies for depthwise with one filter per channel; otherwise
  an expanded copy ``xe[..., c, j] = x[..., (j // Fg)·Cg + c]`` is made first.

Weights in blocks of 16 filters (the packed layout) are re-laid from the (taps, F) matrix
on every call unless the caller (a layer) passes ``weights_version``: then the layout is
kept in :data:`_PACKED` (bounded, keyed by the array's identity and that version).

Work items for ``prange`` are (row of output cells, run, segment of the run); a row is cut
into segments only when there are too few rows to keep the threads busy (1D signals). No
two items write the same output.

Memory: before allocating anything, :func:`conv` / :func:`conv_transpose` estimate what the
call will hold (:func:`working_memory`: output, copies, padded or expanded input, tables,
packed weights, index arrays — O(input + output + weights)) and raise ValueError when it
exceeds :data:`engine.kernels.budget.MAX_WORK_BYTES` (:func:`check_budget`). The padded
copy is the default from PAD_TAPS taps per cell, unless padding would compute more than
WASTE times the taps that land inside the input (kernels or dilations much larger than the
input) or not fit; then only the axes where it pays are padded.
"""

from __future__ import annotations

import itertools
import math
import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache

import numba
import numpy as np

from engine.kernels import axes, budget, cells, gemm, narrow, quads, tiled
from engine.kernels.blocks import _store8, _taps8, _taps8x2, _taps8x2_linear
from engine.kernels.rows import _row_item, _segment
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
CHUNK_WEIGHTS_BYTES = 1 << 20  # weights above this: the row kernel works by filter chunk
FILTER_CHUNK = 2  # blocks of 16 filters per chunk (one 8 × 32 register block)
LINEAR_MIN = 16  # shortest run of consecutive tap offsets the row kernel loops over as such
TILED = True  # serve full-tap row convolutions with engine.kernels.tiled
CELLS = True  # ... or with engine.kernels.cells first, where it applies
QUADS = True  # ... in 4 × 64 blocks (engine.kernels.quads): padded, multiples of 64 filters
QUADS_IN_PLACE = True  # ... reading the unpadded input (no padded copy)
NARROW = True  # serve the long runs of row convolutions with engine.kernels.narrow


# --------------------------------------------------------------------------- kernels

@jit()
def _wbase(gb, col, n_rows, raw):
    """Start of filter block ``gb``'s weights: in the raw (taps, F) matrix, column ``col``;
    packed, ``gb``'s own ``n_rows`` rows of 16."""
    return col if raw else gb * n_rows * LANES


@jit()
def _cell(x, offs, xb, wt, wb, ws, nf, bv):
    """``bv`` plus all taps ``offs`` of one cell; four partial sums hide the fma latency."""
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


@jit()
def _segments_taps8(x, off, sg, xb, xs, wt, wb, ws, nf, a0, a1, a2, a3, a4, a5, a6, a7):
    """:func:`_taps8` over the segments of one class combination: ``sg`` = (first, n1,
    step1, n2, step2, length), segments ``first + p·step1 + q·step2`` of ``length`` taps."""
    n = sg[5]
    for p in range(sg[1]):
        for q in range(sg[3]):
            c0 = sg[0] + p * sg[2] + q * sg[4]
            # a slice indexed from 0: no negative-index handling in the tap loop
            a0, a1, a2, a3, a4, a5, a6, a7 = _taps8(x, off[c0:c0 + n], 0, n, xb, xs, wt,
                                                    wb + c0 * ws, ws, nf, a0, a1, a2, a3, a4,
                                                    a5, a6, a7)
    return a0, a1, a2, a3, a4, a5, a6, a7


@jit()
def _segments_taps8x2(x, off, sg, xb, xs, wt, wb, wb2, ws, nf2, lin, a0, a1, a2, a3, a4, a5,
                      a6, a7, b0, b1, b2, b3, b4, b5, b6, b7):
    """:func:`_taps8x2` over the segments of one class combination (see above); with
    ``lin > 0`` the segments are runs of ``lin`` consecutive offsets
    (:func:`_linear_runs`), done by :func:`_taps8x2_linear`. Taps in the same order."""
    n = sg[5]
    for p in range(sg[1]):
        for q in range(sg[3]):
            c0 = sg[0] + p * sg[2] + q * sg[4]
            if lin > 0:
                for r0 in range(c0, c0 + n, lin):
                    (a0, a1, a2, a3, a4, a5, a6, a7, b0, b1, b2, b3, b4, b5, b6,
                     b7) = _taps8x2_linear(x, lin, xb + off[r0], xs, wt, wb + r0 * ws,
                                           wb2 + r0 * ws, ws, nf2, a0, a1, a2, a3, a4, a5,
                                           a6, a7, b0, b1, b2, b3, b4, b5, b6, b7)
            else:
                (a0, a1, a2, a3, a4, a5, a6, a7, b0, b1, b2, b3, b4, b5, b6, b7) = _taps8x2(
                    x, off[c0:c0 + n], n, xb, xs, wt, wb + c0 * ws, wb2 + c0 * ws, ws, nf2,
                    a0, a1, a2, a3, a4, a5, a6, a7, b0, b1, b2, b3, b4, b5, b6, b7)
    return a0, a1, a2, a3, a4, a5, a6, a7, b0, b1, b2, b3, b4, b5, b6, b7


@jit()
def _linear_runs(off, segs, lin):
    """Whether every segment of ``segs`` (rows as in :func:`_segments_taps8`) is made of
    runs of ``lin`` consecutive offsets of ``off`` (its length a multiple of ``lin``)."""
    for k in range(segs.shape[0]):
        n = segs[k, 5]
        if n % lin != 0:
            return False
        for p in range(segs[k, 1]):
            for q in range(segs[k, 3]):
                c0 = segs[k, 0] + p * segs[k, 2] + q * segs[k, 4]
                for r0 in range(c0, c0 + n, lin):
                    for t in range(1, lin):
                        if off[r0 + t] != off[r0] + t:
                            return False
    return True


@jit()
def _segments_cell(x, off, sg, xb, wt, wb, ws, nf, bv):
    """:func:`_cell` over the segments of one class combination (see above)."""
    acc = bv
    n = sg[5]
    for p in range(sg[1]):
        for q in range(sg[3]):
            c0 = sg[0] + p * sg[2] + q * sg[4]
            acc = _cell(x, off[c0:c0 + n], xb, wt, wb + c0 * ws, ws, nf, acc)
    return acc


@jit(parallel=True)
def _conv_filters(x, off, segs, wt, bt, out, cls_d, base_d, cls_h, base_h, runs, cols,
                  dims):
    """Gather convolution, 16 filters per vector, 8 output cells per register block.

    x: flat input (N, D, H, W, C); off: element offset into ``x`` of every tap, phase
    combination after phase combination; segs: the taps of class combination ``k`` as
    segments of ``off`` (row ``k`` = first, n1, step1, n2, step2, length: see
    :func:`_segments_taps8`); wt: flat weights, either packed (groups·nfb, len(off), 16),
    row by row as ``off`` (``ws = 16``), or the (taps, F) matrix in the order of ``off``
    (``raw``, ``ws = F``); bt: flat (groups, nfb, 16) bias; out: flat (N, OD, OH, OW, F); cls_*/base_*: class and (possibly negative) input
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
    seg, nseg, ws, raw, fpc, lin = dims[15], dims[16], dims[17], dims[18], dims[19], dims[20]
    has_pairs, has_singles = dims[21], dims[22]
    n_rows = off.shape[0]
    nruns = runs.shape[0]
    nfbt = groups * nfb
    nfc = -(-nfbt // fpc)
    n_items = n_batch * out_d * out_h * nruns * nseg
    # filter chunk outermost: consecutive items (one thread's share) reuse its weights.
    # Pairs of filter blocks, then single blocks, in two loops (each compiled on its own:
    # the single-block loop keeps all its pointers in registers)
    if has_pairs:
        for fitem in prange(nfc * n_items):
            (j0, j1, sg, rowpix, orow, xs, os_, ostep, bstep, gb, gend) = _row_item(
                fitem, n_items, fpc, nfbt, nseg, seg, nruns, runs, out_h, out_d, segs, cls_d,
                cls_h, ncls_h, ncls_w, base_d, base_h, in_d, in_h, in_w, out_w, n_ch,
                n_filters)
            while j1 - j0 >= BLOCK and gb < gend:
                if not (gb % nfb + 1 < nfb and gb + 1 < gend):
                    gb += 1
                    continue
                # two blocks of 16 filters of one group (the first full): 8 × 32
                g = gb // nfb
                bv = V.load(bt, gb * LANES)
                col = g * fg + (gb % nfb) * LANES
                wb = _wbase(gb, col, n_rows, raw)
                bv2 = V.load(bt, (gb + 1) * LANES)
                nf2 = min(LANES, fg - (gb % nfb + 1) * LANES)
                wb2 = _wbase(gb + 1, col + LANES, n_rows, raw)
                j = j0
                while j < j1:
                    js = min(j, j1 - BLOCK)  # the last block may overlap the one before
                    (a0, a1, a2, a3, a4, a5, a6, a7, c0, c1, c2, c3, c4, c5, c6,
                     c7) = _segments_taps8x2(
                        x, off, sg, (rowpix + js * bstep) * n_ch + g * cg, xs, wt, wb,
                        wb2, ws, nf2, lin, bv, bv, bv, bv, bv, bv, bv, bv, bv2, bv2, bv2, bv2,
                        bv2, bv2, bv2, bv2)
                    ob = (orow + js * ostep) * n_filters + col
                    _store8(out, ob, os_, LANES, j - js, a0, a1, a2, a3, a4, a5, a6, a7)
                    _store8(out, ob + LANES, os_, nf2, j - js, c0, c1, c2, c3, c4, c5,
                            c6, c7)
                    j = js + BLOCK
                gb += 2
    if has_singles:
        for fitem in prange(nfc * n_items):
            (j0, j1, sg, rowpix, orow, xs, os_, ostep, bstep, gb, gend) = _row_item(
                fitem, n_items, fpc, nfbt, nseg, seg, nruns, runs, out_h, out_d, segs, cls_d,
                cls_h, ncls_h, ncls_w, base_d, base_h, in_d, in_h, in_w, out_w, n_ch,
                n_filters)
            while j1 - j0 >= BLOCK and gb < gend:
                if gb % nfb + 1 < nfb and gb + 1 < gend:
                    gb += 2  # a pair: done above
                    continue
                g = gb // nfb
                bv = V.load(bt, gb * LANES)
                nf = min(LANES, fg - (gb % nfb) * LANES)
                col = g * fg + (gb % nfb) * LANES
                wb = _wbase(gb, col, n_rows, raw)
                j = j0
                while j < j1:
                    js = min(j, j1 - BLOCK)  # the last block may overlap the one before
                    a0, a1, a2, a3, a4, a5, a6, a7 = _segments_taps8(
                        x, off, sg, (rowpix + js * bstep) * n_ch + g * cg, xs, wt, wb, ws,
                        nf, bv, bv, bv, bv, bv, bv, bv, bv)
                    # cells before j were stored by the previous block
                    _store8(out, (orow + js * ostep) * n_filters + col, os_, nf, j - js,
                            a0, a1, a2, a3, a4, a5, a6, a7)
                    j = js + BLOCK
                gb += 1
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
            sg = segs[(cls_d[od] * ncls_h + cls_h[oh]) * ncls_w + runs[ri, 5]]
            rowpix = ((n * in_d + base_d[od]) * in_h + base_h[oh]) * in_w + runs[ri, 3]
            orow = ((n * out_d + od) * out_h + oh) * out_w + runs[ri, 0]
            xs = (base_h[oh + rstep] - base_h[oh]) * in_w * n_ch if nr > 1 else 0
            os_ = rstep * out_w * n_filters
            for gb in range(groups * nfb):
                g = gb // nfb
                bv = V.load(bt, gb * LANES)
                nf = min(LANES, fg - (gb % nfb) * LANES)
                col = g * fg + (gb % nfb) * LANES
                wb = _wbase(gb, col, n_rows, raw)
                for j in range(cnt):
                    xb = (rowpix + j * runs[ri, 4]) * n_ch + g * cg
                    ob = (orow + j * runs[ri, 1]) * n_filters + col
                    if nr == BLOCK:
                        a0, a1, a2, a3, a4, a5, a6, a7 = _segments_taps8(
                            x, off, sg, xb, xs, wt, wb, ws, nf, bv, bv, bv, bv, bv, bv, bv, bv)
                        _store8(out, ob, os_, nf, 0, a0, a1, a2, a3, a4, a5, a6, a7)
                    else:
                        for k in range(nr):
                            V.store_n(out, ob + k * os_,
                                      _segments_cell(x, off, sg, xb + k * xs, wt, wb, ws, nf,
                                                     bv), nf)


@jit()
def _channel_taps8(xc, offs, tb, xb, xs, wt, cg, fpad, jb, cstride, nf, a0, a1, a2, a3, a4,
                   a5, a6, a7):
    """Add the spatial taps ``offs`` (table entries ``tb, tb + 1, …``; each with ``cg``
    input channels ``cstride`` apart, weights ``wt[(t·cg + c)·fpad + jb …]``) to the
    accumulators of 8 cells ``xs`` elements apart in ``xc`` (first cell at ``xb``)."""
    for t in range(offs.shape[0]):
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
    return a0, a1, a2, a3, a4, a5, a6, a7


@jit(parallel=True)
def _conv_channels(xc, off, segs, wt, bt, out, cls_d, base_d, cls_h, base_h, runs, dims):
    """Gather convolution, 16 output channels per vector, 8 output cells per block.

    xc: flat (N, D, H, W, pix) input whose lanes line up with the output channels: output
    channel ``j`` reads input channel ``c`` of its group at ``c·cstride + j`` inside a cell
    (the input itself for depthwise with one filter per channel, else an expanded copy);
    off / segs: element offset (in ``xc``) of each spatial tap, and the taps of each class
    combination as segments of it (as in :func:`_conv_filters`); wt: flat (len(off), cg,
    fpad) weights in the order of ``off``; bt: (fpad,) bias;
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
            sg = segs[(cls_d[od] * ncls_h + cls_h[oh]) * ncls_w + runs[ri, 5]]
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
                        for p in range(sg[1]):
                            for q in range(sg[3]):
                                c0 = sg[0] + p * sg[2] + q * sg[4]
                                a0, a1, a2, a3, a4, a5, a6, a7 = _channel_taps8(
                                    xc, off[c0:c0 + sg[5]], c0, xb, xs, wt, cg, fpad, jb,
                                    cstride, nf, a0, a1, a2, a3, a4, a5, a6, a7)
                        _store8(out, (orow + j * runs[ri, 1]) * n_filters + jb, os_, nf, 0,
                                a0, a1, a2, a3, a4, a5, a6, a7)
                        j += BLOCK
                else:
                    for j in range(j0, j1):
                        xb = (rowpix + j * bstep) * pix + jb
                        a0 = bv
                        for p in range(sg[1]):
                            for q in range(sg[3]):
                                c0 = sg[0] + p * sg[2] + q * sg[4]
                                offs = off[c0:c0 + sg[5]]
                                for t in range(offs.shape[0]):
                                    ot = xb + offs[t]
                                    wr = (c0 + t) * cg * fpad + jb
                                    for c in range(cg):
                                        a0 = V.fma(V.load_n(xc, ot + c * cstride, nf),
                                                   V.load(wt, wr + c * fpad), a0)
                        V.store_n(out, (orow + j * runs[ri, 1]) * n_filters + jb, a0, nf)


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
PAD_PARALLEL_BYTES = 1 << 20  # padded copies from this size: written in parallel


# --------------------------------------------------------------------------- planning

WASTE = 8  # pad the input by default only if that does at most this many times the taps
PLAN_CACHE_BYTES = 64 * 2 ** 20  # plans kept for reuse, in all


def to_3d(values, fill):
    """Left-pad a per-axis tuple to 3 axes (``fill`` for the missing leading axes)."""
    values = tuple(map(int, values))
    return (fill,) * (3 - len(values)) + values


def _as_5d(x):
    """``(N, *S, C)`` with 1–3 spatial axes → contiguous float32 ``(N, D, H, W, C)``."""
    rank = x.ndim - 2
    shape = (x.shape[0],) + (1,) * (3 - rank) + x.shape[1:]
    return np.ascontiguousarray(x, dtype=np.float32).reshape(shape)


def _ceil_to(n, m):
    return -(-n // m) * m


@jit()
def _fill_table(ps_d, t_d, r_d, ps_h, t_h, r_h, ps_w, t_w, r_w, dims, off, rows, box):
    """Tap table of every combination of (depth, height, width) phases with taps, in that
    order: combination ``(a, b, e)`` starts at ``box[(a·PH + b)·PW + e]`` and lists its
    taps in kernel order (kd, kh, kw, c): the element offset ``((rel_d·H + rel_h)·W +
    rel_w)·pix + c`` in ``off`` and the weight row ``((kd·KH + kh)·KW + kw)·cg + c`` in
    ``rows``. ``ps_*``: phase starts into the per-axis taps ``t_*`` and relative input
    indices ``r_*``; dims: H, W, pix, KH, KW, cg."""
    in_h, in_w, pix, kh_, kw_, cg = dims[0], dims[1], dims[2], dims[3], dims[4], dims[5]
    k = 0
    pos = 0
    for pd in range(ps_d.shape[0] - 1):
        for ph in range(ps_h.shape[0] - 1):
            for pw in range(ps_w.shape[0] - 1):
                box[k] = pos
                k += 1
                for a in range(ps_d[pd], ps_d[pd + 1]):
                    for b in range(ps_h[ph], ps_h[ph + 1]):
                        for e in range(ps_w[pw], ps_w[pw + 1]):
                            rel = ((r_d[a] * in_h + r_h[b]) * in_w + r_w[e]) * pix
                            row = ((t_d[a] * kh_ + t_h[b]) * kw_ + t_w[e]) * cg
                            for c in range(cg):
                                off[pos] = rel + c
                                rows[pos] = row + c
                                pos += 1


@jit()
def _combo_segments(cr_d, cr_h, cr_w, ps_d, ps_h, ps_w, box, cg):
    """Per class combination (depth, height, width classes in that order): its taps as
    segments of the phase-combination table of :func:`_fill_table`, rows (first, n1, step1,
    n2, step2, length) — segments ``first + p·step1 + q·step2`` (``p < n1``, ``q < n2``) of
    ``length`` entries; whole tap ranges of inner axes merge into one segment. ``cr_*``:
    class → (phase, first, end) tap range of the phase (:func:`engine.kernels.axes.classes`)."""
    nd, nh, nw = cr_d.shape[0], cr_h.shape[0], cr_w.shape[0]
    php, phw = ps_h.shape[0] - 1, ps_w.shape[0] - 1
    segs = np.zeros((nd * nh * nw, 6), np.int64)
    k = 0
    for cd in range(nd):
        for ch in range(nh):
            for cw in range(nw):
                jd, jh, jw = cr_d[cd, 0], cr_h[ch, 0], cr_w[cw, 0]
                ld, lh, lw = (cr_d[cd, 2] - cr_d[cd, 1], cr_h[ch, 2] - cr_h[ch, 1],
                              cr_w[cw, 2] - cr_w[cw, 1])
                if ld > 0 and lh > 0 and lw > 0:
                    full_h = ps_h[jh + 1] - ps_h[jh]
                    full_w = ps_w[jw + 1] - ps_w[jw]
                    first = box[(jd * php + jh) * phw + jw] + (
                        (cr_d[cd, 1] * full_h + cr_h[ch, 1]) * full_w + cr_w[cw, 1]) * cg
                    plane = full_h * full_w * cg
                    segs[k, 0] = first
                    if lw < full_w:
                        segs[k, 1], segs[k, 2], segs[k, 3], segs[k, 4] = ld, plane, lh, full_w * cg
                        segs[k, 5] = lw * cg
                    elif lh < full_h:
                        segs[k, 1], segs[k, 2], segs[k, 3], segs[k, 4] = ld, plane, 1, 0
                        segs[k, 5] = lh * full_w * cg
                    else:
                        segs[k, 1], segs[k, 2], segs[k, 3], segs[k, 4] = 1, 0, 1, 0
                        segs[k, 5] = ld * plane
                k += 1
    return segs


class _PlanCache:
    """Plans by geometry (they depend on shapes only), least recently used out first, at
    most ``max_bytes`` of arrays in all; a plan larger than a quarter of that is not kept."""

    def __init__(self, max_bytes):
        self.max_bytes = max_bytes
        self._plans = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            entry = self._plans.get(key)
            if entry is None:
                return None
            self._plans.move_to_end(key)
            return entry[0]

    def put(self, key, plan):
        size = sum(a.nbytes for a in plan.values() if isinstance(a, np.ndarray))
        if size > self.max_bytes // 4:
            return
        with self._lock:
            if key in self._plans:
                return
            while self._plans and self._bytes + size > self.max_bytes:
                self._bytes -= self._plans.popitem(last=False)[1][1]
            self._plans[key] = (plan, size)
            self._bytes += size


_PLANS = _PlanCache(PLAN_CACHE_BYTES)

PACKED_CACHE_BYTES = 64 * 2 ** 20  # packed weight layouts kept for reuse, in all


class _PackedWeightCache:
    """Packed weight layouts (:func:`_pack_weights`) of weight arrays a caller vouches for:
    ``(array, version)`` — a layer's weight and a counter its ``set_weights`` /
    ``apply_constraints`` bump (:class:`engine.layers.conv._ConvBase`), so that new values
    in the same array object are packed again. Keyed by the array's identity, checked with
    a weak reference (a dead array's entry is dropped at once; a new array at the same
    address never matches), the version and the tap-table order; least recently used out
    first, at most ``max_bytes`` in all, a layout larger than a quarter of that not kept.
    Thread-safe: entries are never written after they are stored; two threads missing at
    once both pack, one result is kept."""

    def __init__(self, max_bytes):
        self.max_bytes = max_bytes
        self._entries = OrderedDict()  # key -> (weakref to the source, packed array)
        self._bytes = 0
        self._lock = threading.RLock()

    def get(self, source, key):
        with self._lock:
            entry = self._entries.get((id(source),) + key)
            if entry is None or entry[0]() is not source:
                return None
            self._entries.move_to_end((id(source),) + key)
            return entry[1]

    def put(self, source, key, packed):
        if packed.nbytes > self.max_bytes // 4:
            return
        full = (id(source),) + key
        ref = weakref.ref(source, lambda _, k=full: self._drop(k))
        with self._lock:
            self._drop(full)
            while self._entries and self._bytes + packed.nbytes > self.max_bytes:
                self._bytes -= self._entries.popitem(last=False)[1][1].nbytes
            self._entries[full] = (ref, packed)
            self._bytes += packed.nbytes

    def _drop(self, full):
        with self._lock:
            entry = self._entries.pop(full, None)
            if entry is not None:
                self._bytes -= entry[1].nbytes

    def clear(self):
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def __len__(self):
        return len(self._entries)

    @property
    def nbytes(self):
        return self._bytes


_PACKED = _PackedWeightCache(PACKED_CACHE_BYTES)


def _plan(in_spatial, kernel, cg, strides, dilation, pads, out_spatial, transposed, pix):
    """Offsets and tap tables for one configuration (cached: they depend on shapes only).

    ``pads`` are the zeros before each axis *not* present in the input. ``off`` and
    ``rows`` list the taps of every combination of phases with taps (each tap of the kernel
    once: Πk·cg entries at most, see :func:`_fill_table`) in kernel order (kd, kh, kw, c)
    with ``c`` over ``cg`` channels: the offset of tap ``(rel_d, rel_h, rel_w, c)`` is
    ``((rel_d·H + rel_h)·W + rel_w)·pix + c`` and its row in the weight matrix
    ``((kd·KH + kh)·KW + kw)·cg + c``. A class combination's taps (those landing inside the
    input) are a sub-box of its phases' box, given as segments of ``off`` in ``segs``
    (:func:`_combo_segments`, one row per class combination). The per-axis arrays have one
    entry per output index (see :mod:`engine.kernels.axes`).
    """
    key = (in_spatial, kernel, cg, strides, dilation, pads, out_spatial, transposed, pix)
    plan = _PLANS.get(key)
    if plan is not None:
        return plan
    (cd, bd, pd, td, rd, qd, _), (ch, bh, ph, th, rh, qh, _), (cw, bw, pw, tw, rw, qw, stw) = (
        axes.classes(*args, transposed)
        for args in zip(in_spatial, out_spatial, kernel, strides, dilation, pads))
    n_rows = int(pd[-1] * ph[-1] * pw[-1]) * cg
    off = np.empty(n_rows, np.int64)
    rows = np.empty(n_rows, np.int64)
    box = np.empty((pd.size - 1) * (ph.size - 1) * (pw.size - 1), np.int64)
    _fill_table(pd, td, rd, ph, th, rh, pw, tw, rw,
                np.array([in_spatial[1], in_spatial[2], pix, kernel[1], kernel[2], cg], np.int64),
                off, rows, box)
    segs = _combo_segments(qd, qh, qw, pd, ph, pw, box, cg)
    runs = axes.runs(cw, bw, out_spatial[2], strides[2], pads[2], transposed,
                     int(stw[axes.NRUNS]))
    # column blocks only serve runs shorter than a block (none: skip the second loop)
    cols = (axes.row_groups(ch, len(qh), BLOCK) if (runs[:, 2] < BLOCK).any()
            else np.zeros((0, 3), np.int64))
    identity = n_rows == math.prod(kernel) * cg and bool(
        np.array_equal(rows, np.arange(n_rows, dtype=np.int64)))
    # taps in runs of consecutive offsets (a kernel row of channels, or the channels of
    # one tap): the register block then needs no offset table
    linear = next((n for n in (kernel[2] * cg, cg) if n >= LINEAR_MIN
                   and _linear_runs(off, segs, n)), 0)
    plan = dict(off=off, rows=rows, segs=segs, cg=cg, cls_d=cd, base_d=bd, cls_h=ch,
                base_h=bh, ncls_h=len(qh), ncls_w=len(qw), runs=runs, cols=cols,
                nphase_w=int(stw[axes.NPHASES]), longest=int(stw[axes.LONGEST]),
                identity=identity, key=key, linear=linear)
    _PLANS.put(key, plan)
    return plan


def _segments(rows, longest):
    """Split rows of up to ``longest`` cells into ``nseg`` segments of ``seg`` cells (a
    multiple of BLOCK) so that there are a few work items per thread."""
    want = 4 * numba.get_num_threads()
    nseg = 1 if rows >= want else min(-(-want // rows), max(1, -(-longest // (4 * BLOCK))))
    seg = _ceil_to(-(-longest // nseg), BLOCK)
    return seg, max(1, -(-longest // seg))


def _padded_geometry(shape, extents, pads, strides, transposed):
    """The shape of an input of ``shape`` (N, D, H, W, C) zero-padded by ``extents``
    (``(before, after)`` per axis), and the pads for it. Its index ``i`` is the original
    ``i − before``: the conv base ``o·s − pad`` moves by ``before`` when pad shrinks by
    ``before``; the transposed base ``(o + pad) div s`` when pad grows by ``before·s``, which
    leaves the phases alone."""
    sizes = tuple(n + b + a for n, (b, a) in zip(shape[1:4], extents))
    moved = tuple(p + b * s if transposed else p - b
                  for p, (b, _), s in zip(pads, extents, strides))
    return (shape[0],) + sizes + (shape[4],), moved


def _pad_input(x5, extents, pads, strides, transposed):
    """Zero-pad ``x5`` by ``extents`` (``(before, after)`` per axis) → (padded input, pads
    for it; see :func:`_padded_geometry`)."""
    if not any(b or a for b, a in extents):
        return x5, pads
    shape, moved = _padded_geometry(x5.shape, extents, pads, strides, transposed)
    return _padded_copy(x5, extents, shape), moved


def _padded_copy(x5, extents, shape):
    """``x5`` zero-padded by ``extents`` into a new array of ``shape``."""
    if 4 * math.prod(shape) < PAD_PARALLEL_BYTES:  # small: not worth a parallel launch
        xp = np.zeros(shape, np.float32)
        xp[(slice(None),) + tuple(slice(b, b + n)
                                  for (b, _), n in zip(extents, x5.shape[1:4]))] = x5
    else:
        xp = np.empty(shape, np.float32)
        _pad_copy(x5, xp, extents[0][0], extents[1][0], extents[2][0])
    return xp


@jit(parallel=True)
def _pad_copy(x5, xp, bd, bh, bw):
    """``xp`` = ``x5`` with ``bd, bh, bw`` zeros before and the rest of ``xp`` after each
    spatial axis, row by row in parallel (each value written once: no zero fill first)."""
    n_batch, in_d, in_h, in_w, n_ch = x5.shape
    _, pd, ph, pw, _ = xp.shape
    for r in prange(n_batch * pd * ph):
        h = r % ph
        d = (r // ph) % pd
        n = r // (ph * pd)
        row = xp[n, d, h]
        if bd <= d < bd + in_d and bh <= h < bh + in_h:
            src = x5[n, d - bd, h - bh]
            for i in range(bw):
                row[i, :] = 0.0
            for i in range(in_w):
                row[bw + i, :] = src[i, :]
            for i in range(bw + in_w, pw):
                row[i, :] = 0.0
        else:
            row[:, :] = 0.0


def _filters_conv(x5, wrows, bias, groups, geometry, transposed, layout, source=None):
    """Run :func:`_conv_filters`. ``wrows`` is the (taps, F) weight matrix (taps in kernel
    order (kd, kh, kw, c), the filters of group ``g`` in columns ``g·Fg … (g+1)·Fg − 1``);
    geometry: (kernel, strides, dilation, pads, out_shape), 3 axes each; layout: the
    :class:`Work` chosen by :func:`working_memory` and its padding extents; source: None,
    or ``(array, version)`` whose values ``wrows`` holds — then the packed weights are
    kept in :data:`_PACKED` for the next call."""
    kernel, strides, dilation, pads, out_shape = geometry
    work, extents = layout
    n_taps, n_filters = wrows.shape
    cg, fg = n_taps // (kernel[0] * kernel[1] * kernel[2]), n_filters // groups
    # many taps per cell ("filters-padded", "packed"): trimming taps at the borders would
    # leave long single-cell runs there; a padded copy of the input is cheap next to the
    # arithmetic (unless it would multiply the taps computed, see working_memory). The
    # plan is the padded input's; the quad kernel reads the padding as zeros, no copy
    unpadded = x5
    padded_shape, pads = _padded_geometry(x5.shape, extents, pads, strides, transposed)
    n_batch, in_d, in_h, in_w, n_ch = padded_shape
    plan = _plan((in_d, in_h, in_w), kernel, cg, strides, dilation, pads, out_shape,
                 transposed, n_ch)
    nfb = -(-fg // LANES)
    packed_path = work.path == "packed"
    cell_taps = (tiled.tap_runs(plan) if CELLS and not packed_path
                 and cells.applies(plan, out_shape, n_batch, nfb) else None)
    cells_path = cell_taps is not None
    padded = padded_shape != x5.shape
    quads_path = cells_path and QUADS and quads.applies(fg, padded, plan["off"].shape[0])
    if padded and not (quads_path and QUADS_IN_PLACE and not transposed):
        x5 = _padded_copy(x5, extents, padded_shape)
    # the (taps, F) weight matrix as it is, when its rows are in tap-table order and either
    # it has 16 columns (then it is the packed form), fewer (one group), or the packed
    # and cell-blocked kernels read each weight about once per panel of cells (packing
    # would cost more than reading F floats apart), unless the packed form is cached
    # (``source``): it is then free, and each block of 16 filters reads contiguous memory
    few = groups == 1 and n_filters < LANES
    raw = (plan["identity"] and wrows.flags.c_contiguous
           and (n_filters == LANES or ((packed_path or cells_path) and source is None) or few))
    if raw:
        wt, ws = wrows, n_filters
    elif few:
        # fewer than 16 filters: the rows in tap-table order, F floats each (16-lane blocks
        # would hold 16 / F times more)
        wt, ws, raw = np.ascontiguousarray(wrows[plan["rows"]]), n_filters, True
    else:
        # packed: each block of 16 filters reads contiguous rows (the row kernel reads
        # the weights again for every row of cells)
        wt, ws = _packed_weights(wrows, plan, fg, groups, nfb, source), LANES
    bt = np.zeros((groups, nfb * LANES), np.float32)
    bt[:, :fg] = bias.reshape(groups, fg)
    out = np.empty((n_batch,) + tuple(out_shape) + (n_filters,), np.float32)
    if packed_path:
        _packed_conv(x5, wt, ws, raw, bt, out, plan, cg, fg, nfb, groups)
        return out
    if quads_path:
        quads.conv_quads(x5, out, wt, bt, runoff=cell_taps[0], rl=cell_taps[1],
                         base_d=plan["base_d"], base_h=plan["base_h"], run=plan["runs"][0],
                         groups=groups, nfb=nfb, raw=bool(raw),
                         threads=numba.get_num_threads(),
                         padding=None if x5 is not unpadded else extents, cache=plan)
        return out
    if cells_path:
        _cells_conv(x5, wt, raw, bt, out, plan, groups, nfb, cell_taps)
        return out
    taps = tiled.runs_of_taps(plan) if TILED and tiled.applies(plan) else None
    if taps is not None:
        _tiled_conv(x5, wt, ws, raw, bt, out, plan, groups, cg, fg, nfb, taps)
        return out
    out_d, out_h, out_w = out_shape
    seg, nseg = _segments(n_batch * out_d * out_h * plan["nphase_w"], plan["longest"])
    # weights larger than a core's cache, streamed again for every row of cells: each
    # work item takes a chunk of FILTER_CHUNK filter blocks (items of one chunk follow
    # each other, so a thread keeps the chunk's weights in cache over many rows)
    fpc = groups * nfb
    if wt.nbytes > CHUNK_WEIGHTS_BYTES:
        fpc = FILTER_CHUNK
    pairing = _pairing(groups * nfb, nfb, fpc)
    if NARROW and out.size >= narrow.MIN_OUTPUT and narrow.long_runs(plan, n_ch) is not None:
        # few channels: the long runs in 16-cell blocks, only the column loop left here
        narrow.conv_narrow(x5, out, wt, bt, plan, groups=groups, nfb=nfb, raw=bool(raw),
                           fpc=fpc, seg=seg)
        if plan["cols"].shape[0] == 0:
            return out
        pairing = (0, 0)
    dims = np.array([n_batch, in_d, in_h, in_w, n_ch, out_d, out_h, out_w, n_filters, groups,
                     cg, fg, nfb, plan["ncls_h"], plan["ncls_w"], seg, nseg, ws, raw, fpc,
                     plan["linear"], *pairing], np.int64)
    _conv_filters(x5.reshape(-1), plan["off"], plan["segs"], wt.reshape(-1), bt.reshape(-1),
                  out.reshape(-1), plan["cls_d"], plan["base_d"], plan["cls_h"],
                  plan["base_h"], plan["runs"], plan["cols"], dims)
    return out


def _tiled_conv(x5, wt, ws, raw, bt, out, plan, groups, cg, fg, nfb, taps):
    """Run :func:`engine.kernels.tiled.conv_tiled` (every cell has all taps; see
    :func:`engine.kernels.tiled.applies`); ``taps``: :func:`engine.kernels.tiled.runs_of_taps`.
    Work items take all filter blocks when the weights are small, else FILTER_CHUNK of them
    (fewer if that leaves threads idle)."""
    runoff, rl = taps
    n_batch, in_d, in_h, in_w, n_ch = x5.shape
    _, out_d, out_h, out_w, n_filters = out.shape
    nfbt = groups * nfb
    threads = numba.get_num_threads()
    fpc = nfbt if wt.nbytes <= CHUNK_WEIGHTS_BYTES else min(nfbt, FILTER_CHUNK)
    if -(-nfbt // fpc) * n_batch * out_d * out_h < 2 * threads:
        fpc = min(fpc, FILTER_CHUNK)
    band, chunk = tiled.shape(rl, out_h, out_w, -(-nfbt // fpc) * n_batch * out_d, threads)
    dims = np.array([n_batch, in_d, in_h, in_w, n_ch, out_d, out_h, out_w, n_filters, groups,
                     cg, fg, nfb, ws, raw, fpc, band, chunk, rl], np.int64)
    tiled.conv_tiled(x5.reshape(-1), runoff, wt.reshape(-1), bt.reshape(-1), out.reshape(-1),
                     plan["base_d"], plan["base_h"], plan["runs"][0], dims)


def _cells_conv(x5, wt, raw, bt, out, plan, groups, nfb, taps):
    """Run :func:`engine.kernels.cells.conv_cells` (every cell has all taps, one run per
    row; see :func:`engine.kernels.cells.applies`); ``taps``:
    :func:`engine.kernels.tiled.tap_runs`."""
    runoff, rl = taps
    cells.conv_cells(x5, out, wt, bt, runoff=runoff, rl=rl, base_d=plan["base_d"],
                     base_h=plan["base_h"], run=plan["runs"][0], groups=groups, nfb=nfb,
                     raw=bool(raw), threads=numba.get_num_threads())


@lru_cache(maxsize=256)
def _pairing(nfbt, nfb, fpc):
    """(any pairs, any single blocks) in :func:`_conv_filters`'s walk over the filter
    blocks of every chunk (two blocks of one group in one chunk make a pair)."""
    pairs = singles = False
    for start in range(0, nfbt, fpc):
        gend, gb = min(nfbt, start + fpc), start
        while gb < gend:
            if gb % nfb + 1 < nfb and gb + 1 < gend:
                pairs, gb = True, gb + 2
            else:
                singles, gb = True, gb + 1
    return int(pairs), int(singles)


def _packed_weights(wrows, plan, fg, groups, nfb, source):
    """``wrows`` in blocks of 16 filters, rows in tap-table order: (groups·nfb, rows, 16);
    from / into :data:`_PACKED` when ``source`` is given."""
    rows = plan["rows"]
    # the order of the rows: the same for every input size when it is the kernel's own
    key = None
    if source is not None:
        key = (source[1], wrows.shape, fg, "identity" if plan["identity"] else plan["key"])
        wt = _PACKED.get(source[0], key)
        if wt is not None:
            return wt
    wt = np.empty((groups * nfb, rows.size, LANES), np.float32)
    pack = _pack_weights_parallel if wt.nbytes > PACK_PARALLEL_BYTES else _pack_weights
    pack(np.ascontiguousarray(wrows), rows, fg, wt)
    if key is not None:
        _PACKED.put(source[0], key, wt)
    return wt


def _packed_conv(x5, wt, ws, raw, bt, out, plan, cg, fg, nfb, groups):
    """The "packed" path: :func:`engine.kernels.gemm.conv_packed` on the padded input."""
    n_batch, in_d, in_h, in_w, n_ch = x5.shape
    _, out_d, out_h, out_w, n_filters = out.shape
    n, od, oh = (a.reshape(-1) for a in np.meshgrid(
        np.arange(n_batch), np.arange(out_d), np.arange(out_h), indexing="ij"))
    rowpix = ((n * in_d + plan["base_d"][od]) * in_h + plan["base_h"][oh]) * in_w
    rowout = ((n * out_d + od) * out_h + oh) * out_w
    rowcls = plan["cls_d"][od] * plan["ncls_h"] + plan["cls_h"][oh]
    tasks, trows, first = [], [], 0
    for rc in np.unique(rowcls):
        rows = np.flatnonzero(rowcls == rc)
        for ri, run in enumerate(plan["runs"]):
            tasks.append((ri, rc * plan["ncls_w"] + run[5], first, rows.size))
            trows.append(rows)
            first += rows.size
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
    gemm.conv_packed(x5.reshape(-1), plan["off"], plan["segs"], wt.reshape(-1),
                     bt.reshape(-1), out.reshape(-1), tasks, np.concatenate(trows), rowpix,
                     rowout, plan["runs"], dims)


def _channels_conv(x5, w5, bias, groups, geometry, layout):
    """Run :func:`_conv_channels` (grouped convolution with few filters per group)."""
    kernel, strides, dilation, pads, out_shape = geometry
    x5, pads = _pad_input(x5, layout[1], pads, strides, False)
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
    _conv_channels(xc, plan["off"], plan["segs"], wt.reshape(-1), bt, out.reshape(-1),
                   plan["cls_d"], plan["base_d"], plan["cls_h"], plan["base_h"], runs, dims)
    return out


# --------------------------------------------------------------------------- budget

@dataclass(frozen=True)
class Work:
    """What one kernel call needs, estimated from shapes alone.

    ``bytes``: peak working memory in bytes (output included), the sum of ``terms``
    (name → bytes); ``multiply_adds``: float32 multiply-adds of the chosen layout (taps
    that read padding included when the input is padded); ``path``: as :func:`path`, for
    this geometry; ``padded``: per spatial axis (3 of them, leading unit axes first for
    1D / 2D) whether the input gets a zero-padded copy along it; ``complete``: False when
    input, output and weights alone exceed the limit (the rest is then not estimated).
    """

    bytes: int
    multiply_adds: int
    path: str
    padded: tuple
    terms: dict
    complete: bool = True


INDEX_LIMIT = 2 ** 62  # index arithmetic is int64: larger geometry is refused


def _axis_stats(n_in, n_out, k, s, d, pad, transposed):
    """:func:`engine.kernels.axes.statistics` of one axis and its padding extents; O(n_out)
    time, nothing per output stored."""
    st = axes.statistics(n_in, n_out, k, s, d, pad, transposed)
    return st, axes.padding(st, n_in)


def _fixed_terms(transposed, batch, in_sp, channels, cg, n_filters, kernel, out_sp):
    """Bytes of the output and of the float32 copies of input and weights (a transposed
    convolution also swaps the weights' filter and channel axes)."""
    return {"output": 4 * batch * math.prod(out_sp) * n_filters,
            "input copy": 4 * batch * math.prod(in_sp) * channels,
            "weights copy": 4 * math.prod(kernel) * cg * n_filters * (2 if transposed else 1)}


def _terms(family, packed, transposed, batch, in_sp, channels, cg, n_filters, groups, kernel,
           out_sp, stats, extents, padded):
    """Bytes of everything one call allocates for one layout (see :func:`working_memory`)."""
    n_pad = [n + (b + a if p else 0) for n, (b, a), p in zip(in_sp, extents, padded)]
    ncls = [st[axes.P_NCLS] + st[axes.P_EMPTY] if p else st[axes.NCLS] + st[axes.EMPTY]
            for st, p in zip(stats, padded)]
    nruns = stats[2][axes.NPHASES] if padded[2] else stats[2][axes.NRUNS]
    channel_path = family.startswith("channels")
    # every tap of the kernel once, by phase combination (padded or not)
    table = math.prod(st[axes.P_TABLE] for st in stats) * (1 if channel_path else cg)
    fg = n_filters // groups
    fpad = _ceil_to(n_filters, LANES)
    terms = _fixed_terms(transposed, batch, in_sp, channels, cg, n_filters, kernel, out_sp)
    terms.update({
        "padded input": 4 * batch * math.prod(n_pad) * channels if any(padded) else 0,
        # offsets and weight rows, phase-combination starts, segments per class combination
        "tap table": 16 * table + 8 * math.prod(st[axes.P_NCLS] for st in stats)
        + 48 * math.prod(ncls) + 8 * -(-table // tiled.MIN_RUN),  # + tiled's run starts
        # per axis: class and base of every output, phase tap lists, class ranges; runs
        # and row groups of the width / height axes
        "index arrays": 16 * sum(out_sp) + sum(16 * st[axes.P_TABLE] + 24 * n for st, n in
                                               zip(stats, ncls)) + 48 * nruns + 24 * out_sp[1],
    })
    if channel_path:
        if family == "channels-expanded":
            # the expanded copy and the gathered input it is filled from
            terms["expanded input"] = 4 * batch * math.prod(n_pad) * cg * (fpad + n_filters)
        terms["channel weights"] = 4 * table * cg * (fpad + n_filters)
    else:
        lanes = n_filters if groups == 1 and n_filters < LANES else LANES * -(-fg // LANES)
        terms["packed weights"] = 4 * groups * lanes * table
        if packed:  # per output row: indices (8 arrays) and task rows; per task a tuple
            terms["index arrays"] += (8 * batch * out_sp[0] * out_sp[1] * (8 + nruns)
                                      + 200 * ncls[0] * ncls[1] * nruns)
            # per work item running at once (one per thread): a packed band of taps and
            # its cell indices (engine.kernels.gemm.conv_packed)
            band = _ceil_to(min(PACK_BAND, PACK_PART), BLOCK)
            terms["index arrays"] += numba.config.NUMBA_NUM_THREADS * (
                4 * band * min(PACK_CHUNK, max(table, 1)) + 16 * band)
    return terms


def _check_index_range(kernel, strides, dilation, pads, in_sp, out_sp, rank):
    """Refuse geometry whose index arithmetic could overflow int64, naming the argument."""
    for a, (k, s, d, p, n, o) in enumerate(zip(kernel, strides, dilation, pads, in_sp,
                                              out_sp)):
        if k * d + p >= INDEX_LIMIT or (n + o + 1) * s >= INDEX_LIMIT:
            name = "dilation_rate" if k * d + p >= INDEX_LIMIT else "strides"
            value = (dilation if name == "dilation_rate" else strides)[3 - rank:]
            raise ValueError(
                f"{name}={value} with kernel_size={kernel[3 - rank:]} spans more than 2**62 "
                f"cells along spatial axis {a - (3 - rank)}, beyond the engine's 64-bit index "
                f"arithmetic (TensorFlow's int64 shapes). Reduce {name}.")


def working_memory(transposed, batch, in_spatial, channels, kernel, n_filters, strides,
                   dilation, pad_before, out_spatial, groups=1, limit=None):
    """The working memory of :func:`conv` (``transposed=False``) or :func:`conv_transpose`
    for one geometry, without allocating anything: a :class:`Work`.

    Arguments as the kernels take them, one int per spatial axis (1 to 3 axes): batch;
    ``in_spatial`` / ``out_spatial``: input / output cells; ``channels``: input channels;
    ``kernel``: taps (Keras's kernel_size); ``n_filters``: output channels; ``strides``,
    ``dilation``; ``pad_before``: zeros before each axis (:func:`engine.shapes.conv_padding`
    ``[0]``, :func:`engine.shapes.conv_transpose_padding`); ``groups`` (depthwise:
    ``channels``, with ``n_filters = channels · depth_multiplier``; always 1 when
    transposed); ``limit``: bytes (default :data:`engine.kernels.budget.MAX_WORK_BYTES`).

    The layout is the kernels' own choice: the default path (a zero-padded copy from
    PAD_TAPS taps per cell on, see :func:`path`), unless it does not fit ``limit`` or pads
    enough to compute more than WASTE times the taps of the cheapest layout that fits; then
    the axes to pad are chosen to compute the fewest taps within ``limit``. Time:
    O(sum of the output sizes per axis), after an O(1) check that input, output and weights
    alone fit (else ``complete`` is False). Raises ValueError only for geometry beyond 64-bit
    index arithmetic.
    """
    limit = budget.MAX_WORK_BYTES if limit is None else int(limit)
    return _layout(*_key(transposed, batch, in_spatial, channels, kernel, n_filters, strides,
                         dilation, pad_before, out_spatial, groups, limit))[0]


def _key(transposed, batch, in_spatial, channels, kernel, n_filters, strides, dilation,
         pad_before, out_spatial, groups, limit):
    """Arguments of :func:`_layout`: plain ints, 3-axis tuples, the rank last."""
    return (bool(transposed), int(batch), to_3d(in_spatial, 1), int(channels), to_3d(kernel, 1),
            int(n_filters), to_3d(strides, 1), to_3d(dilation, 1), to_3d(pad_before, 0),
            to_3d(out_spatial, 1), int(groups), int(limit), len(in_spatial))


@lru_cache(maxsize=256)
def _layout(transposed, batch, in_sp, channels, kernel, n_filters, strides, dilation, pads,
            out_sp, groups, limit, rank):
    """:func:`working_memory` on 3-axis tuples → (Work, padding extents per axis)."""
    cg = channels // groups
    w_shape = kernel + ((n_filters, channels) if transposed else (cg, n_filters))
    family = path(w_shape, groups, transposed)
    fixed = _fixed_terms(transposed, batch, in_sp, channels, cg, n_filters, kernel, out_sp)
    macs = batch * math.prod(out_sp) * n_filters * math.prod(kernel) * cg
    if sum(fixed.values()) > limit:
        return Work(sum(fixed.values()), macs, family, (False,) * 3, fixed, False), None
    _check_index_range(kernel, strides, dilation, pads, in_sp, out_sp, rank)
    stats, extents = zip(*(_axis_stats(*a, transposed) for a in zip(
        in_sp, out_sp, kernel, strides, dilation, pads)))
    default_pad = family == "filters-padded"
    options = []
    for padded in itertools.product(*[(False, True) if any(e) else (False,) for e in extents]):
        default = padded == tuple(default_pad and any(e) for e in extents)
        packed = default and default_pad and (
            stats[2][axes.MAXCOUNT] if padded[2] else stats[2][axes.LONGEST]) < PACK_BELOW
        name = family if not default_pad else (
            "packed" if packed else "filters-padded" if any(padded) else "filters")
        terms = _terms(family, packed, transposed, batch, in_sp, channels, cg, n_filters,
                       groups, kernel, out_sp, stats, extents, padded)
        taps = math.prod(st[axes.FULL] if p else st[axes.REAL] for st, p in zip(stats, padded))
        work = Work(sum(terms.values()), batch * taps * cg * n_filters, name, padded, terms)
        options.append((default, work))
    fitting = [w for _, w in options if w.bytes <= limit]
    if not fitting:
        return min((w for _, w in options), key=lambda w: w.bytes), None
    fewest = min(w.multiply_adds for w in fitting)
    chosen = next((w for d, w in options if d and w.bytes <= limit
                   and w.multiply_adds <= WASTE * fewest), None)
    if chosen is None:
        chosen = min(fitting, key=lambda w: (w.multiply_adds, w.bytes))
    return chosen, tuple(e if p else (0, 0) for e, p in zip(extents, chosen.padded))


_REASONS = {
    "output": ("its output alone has {out:,} values, shape {shape}", "Reduce {grow}filters, "
               "the batch or the input size"),
    "input copy": ("its input has {inp:,} values", "Reduce the input size or the batch"),
    "weights copy": ("kernel_size={k} gives {weights:,} weights", "Reduce kernel_size, filters "
                     "or the input channels"),
    "padded input": ("the input zero-padded for kernel_size={k} and dilation_rate={d} has "
                     "{padded:,} values", "Reduce dilation_rate or kernel_size, or use "
                     "padding='valid'"),
    "tap table": ("kernel_size={k} with dilation_rate={d} and strides={s} needs tap tables "
                  "of this size (an entry per kernel tap and input channel, and per "
                  "combination of border classes of output cells)", "Reduce kernel_size, "
                  "dilation_rate or the input channels"),
    "index arrays": ("strides={s} with kernel_size={k} gives {out:,} output values in many "
                     "separate runs", "Reduce strides or the input size"),
    "expanded input": ("groups={groups} with fewer than 8 filters per group needs a copy of "
                       "the input expanded per filter", "Use one filter per channel "
                       "(depthwise) or at least 8 filters per group"),
}
_REASONS["packed weights"] = _REASONS["channel weights"] = _REASONS["tap table"]


def _refusal(work, transposed, batch, in_sp, channels, kernel, n_filters, strides, dilation,
             groups, out_sp, rank, limit):
    """The ValueError message for a geometry over the budget: what, which argument, what to
    change."""
    biggest = max(work.terms, key=work.terms.get)
    reason, advice = _REASONS[biggest]
    cut = slice(3 - rank, None)
    values = dict(out=batch * math.prod(out_sp) * n_filters, inp=batch * math.prod(in_sp) * channels,
                  weights=math.prod(kernel) * (channels // groups) * n_filters,
                  padded=work.terms.get("padded input", 0) // 4, k=kernel[cut], d=dilation[cut],
                  s=strides[cut], groups=groups,
                  shape=(batch,) + out_sp[cut] + (n_filters,),
                  grow="strides, kernel_size, dilation_rate, " if transposed else "")
    kind = "transposed convolution" if transposed else "convolution"
    return (f"This {kind} needs {budget.fmt_bytes(work.bytes)} of working memory, more than "
            f"{budget.limit_text(limit)}: {reason.format(**values)} "
            f"({budget.fmt_bytes(work.terms[biggest])}). {advice.format(**values)}.")


def check_budget(transposed, batch, in_spatial, channels, kernel, n_filters, strides, dilation,
                 pad_before, out_spatial, groups=1, limit=None):
    """:func:`working_memory`, raising ValueError (naming the argument, the size and what
    to change) when it exceeds ``limit`` (default MAX_WORK_BYTES). Returns the Work."""
    limit = budget.MAX_WORK_BYTES if limit is None else int(limit)
    key = _key(transposed, batch, in_spatial, channels, kernel, n_filters, strides, dilation,
               pad_before, out_spatial, groups, limit)
    return _checked(key)[0]


def _checked(key):
    """:func:`_layout` for a :func:`_key`, raising ValueError when over its limit."""
    work, extents = _layout(*key)
    transposed, batch, in_sp, channels, kernel, n_filters, strides, dilation, _, out_sp, \
        groups, limit, rank = key
    if work.bytes > limit:
        raise ValueError(_refusal(work, transposed, batch, in_sp, channels, kernel, n_filters,
                                  strides, dilation, groups, out_sp, rank, limit))
    return work, extents


# --------------------------------------------------------------------------- public

def _bias(bias, n_filters):
    if bias is None:
        return np.zeros(n_filters, np.float32)
    return np.ascontiguousarray(bias, np.float32).reshape(n_filters)


def _prepare(x, w, bias, n_filters, key):
    """Float32 5-d input and weights, bias, and geometry (kernel, strides, dilation, pads,
    out_shape; 3 axes each) from a :func:`_key`."""
    rank = x.ndim - 2
    x5 = _as_5d(x)
    w5 = np.ascontiguousarray(w, dtype=np.float32).reshape((1,) * (3 - rank) + tuple(w.shape))
    geometry = (key[4], key[6], key[7], key[8], key[9])
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


def _call_key(transposed, x_shape, kernel, n_filters, strides, dilation, pad_before,
              out_spatial, groups):
    """The :func:`_key` of one kernel call (``x_shape``: (N, *S, C)) under MAX_WORK_BYTES."""
    return _cached_key(transposed, x_shape, kernel, n_filters, tuple(strides), tuple(dilation),
                       tuple(pad_before), tuple(out_spatial), groups, budget.MAX_WORK_BYTES)


@lru_cache(maxsize=256)
def _cached_key(transposed, x_shape, kernel, n_filters, strides, dilation, pad_before,
                out_spatial, groups, limit):
    return _key(transposed, x_shape[0], x_shape[1:-1], x_shape[-1], kernel, n_filters, strides,
                dilation, pad_before, out_spatial, groups, limit)


def conv(x, w, bias, strides, dilation, pad_before, out_spatial, groups=1,
         weights_version=None):
    """Grouped cross-correlation, channels-last.

    x: (N, *S, C); w: (*K, C // groups, F); bias: (F,) or None; strides, dilation,
    pad_before, out_spatial: one int per spatial axis. Returns float32 (N, *out_spatial, F).
    Raises ValueError (before allocating) when :func:`check_budget` refuses the geometry.

    ``weights_version``: None, or a hashable the caller changes whenever the values of the
    float32 C-contiguous array ``w`` change (a layer's weight counter): the packed layout of
    ``w`` is then cached (:data:`_PACKED`, bounded) for the next call with the same array
    and version. Without it nothing is kept.
    """
    n_filters = w.shape[-1]
    groups = int(groups)
    final = (x.shape[0],) + tuple(out_spatial) + (n_filters,)
    if 0 in final:
        return np.zeros(final, np.float32)
    key = _call_key(False, x.shape, w.shape[:-2], n_filters, strides, dilation, pad_before,
                    out_spatial, groups)
    layout = _checked(key)
    x5, w5, b, geometry = _prepare(x, w, bias, n_filters, key)
    if layout[0].path.startswith("channels"):  # else "filters*" or "packed"
        y = _channels_conv(x5, w5, b, groups, geometry, layout)
    else:
        source = None
        if (weights_version is not None and isinstance(w, np.ndarray)
                and w.dtype == np.float32 and w.flags.c_contiguous):
            source = (w, weights_version)  # w5 is w reshaped: its values are w's
        y = _filters_conv(x5, w5.reshape(-1, n_filters), b, groups, geometry, False, layout,
                          source)
    return y.reshape(final)


def conv_transpose(x, w, bias, strides, dilation, pad_before, out_spatial):
    """Transposed convolution (gradient of :func:`conv` w.r.t. its input), channels-last.

    x: (N, *S, C); w: (*K, F, C); output cell ``o`` gets ``x[i] · w[t]`` whenever
    ``o = i·s + t·d − pad_before``. Returns float32 (N, *out_spatial, F). Raises ValueError
    (before allocating) when :func:`check_budget` refuses the geometry.
    """
    n_filters = w.shape[-2]
    final = (x.shape[0],) + tuple(out_spatial) + (n_filters,)
    if 0 in final:
        return np.zeros(final, np.float32)
    key = _call_key(True, x.shape, w.shape[:-2], n_filters, strides, dilation, pad_before,
                    out_spatial, 1)
    layout = _checked(key)
    x5, w5, b, geometry = _prepare(x, w, bias, n_filters, key)
    wrows = np.swapaxes(w5, -1, -2).reshape(-1, n_filters)
    return _filters_conv(x5, wrows, b, 1, geometry, True, layout).reshape(final)
