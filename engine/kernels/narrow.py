"""Row kernel for few input channels: 16 output cells × 16 filters, the cell step a constant.

The ``"filters"`` path (fewer than PAD_TAPS taps per output cell: a few input channels,
such as an RGB image under a 3×3 kernel) spends its time in the register block's
addresses, not in its arithmetic: in :func:`engine.kernels.conv._conv_filters` the 8 cells
of a block read the input ``xs`` elements apart (input channels × stride, a runtime value),
so every tap needs 8 addresses ``o + k·xs`` in integer registers, which spill (measured on
512²×3→16: 59 % of the FMA peak on one core). Here the cell step is a compile-time
constant for the steps in :data:`STEPS` (each step its own kernel, compiled on first use,
so LLVM folds ``o + k·xs`` into constant displacements from one address), and a block is
16 cells, so that each weight vector loaded feeds 16 fused multiply-adds (95 % of the peak
on the interior of 512²×3→16; the whole layer about 85 %, borders and work items
included). Below MIN_OUTPUT output values the row kernel alone is quicker (one parallel
launch instead of two).

Summation order: per cell, bias first, then the taps of its class in table order — the
same float32 fma in the same order as the row kernel, so results are identical bit for
bit.

Work items are the row kernel's (:func:`engine.kernels.rows._row_item`: filter chunk, output
row, run, segment of a run), segments a multiple of 16 cells. Runs of at least
:data:`CELLS` cells are done here, in blocks of 16 consecutive cells (a segment's last
block overlaps the one before and stores only the cells it did not); the caller does the
runs shorter than BLOCK (border columns) with the row kernel's column loop;
:func:`long_runs` refuses plans with runs in between. No two items write the same output.
"""

from __future__ import annotations

import numpy as np

from engine.kernels import simd as V
from engine.kernels.blocks import BLOCK, LANES, _store8
from engine.kernels.jit import jit, prange
from engine.kernels.rows import _row_item

CELLS = 16  # output cells per register block
STEPS = (1, 2, 3, 4, 6)  # cell steps (input elements: C · stride) compiled as constants
MIN_OUTPUT = 128 * 128 * LANES  # smaller outputs (values): the row kernel alone is quicker
# (a launch fewer; measured crossover near 128²×16)


@jit()
def _taps16(x, offs, xb, xs, wt, wb, ws, nf, a):
    """Add the taps ``offs`` (element offsets from a cell's base; weights of tap ``t``:
    ``nf`` floats at ``wt[wb + t·ws]``) to the 16 accumulators ``a`` of cells ``xs``
    elements apart, the first cell's base at ``xb``."""
    a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15 = a
    for t in range(offs.shape[0]):
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
        a8 = V.fma(V.bload(x, o + 8 * xs), wv, a8)
        a9 = V.fma(V.bload(x, o + 9 * xs), wv, a9)
        a10 = V.fma(V.bload(x, o + 10 * xs), wv, a10)
        a11 = V.fma(V.bload(x, o + 11 * xs), wv, a11)
        a12 = V.fma(V.bload(x, o + 12 * xs), wv, a12)
        a13 = V.fma(V.bload(x, o + 13 * xs), wv, a13)
        a14 = V.fma(V.bload(x, o + 14 * xs), wv, a14)
        a15 = V.fma(V.bload(x, o + 15 * xs), wv, a15)
    return a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15


@jit(inline=True)
def _block16(x, off, sg, xb, xs, wt, wb, ws, nf, bv, out, ob, os_, skip):
    """One register block: ``bv`` plus the taps of one class combination (``sg``: its
    segments of ``off``, as in :func:`engine.kernels.conv._segments_taps8`) for 16 cells
    ``xs`` elements apart (the first at ``xb``), stored at ``ob + k·os_`` from cell
    ``skip`` on (the first ``nf`` lanes). Nothing returned: no 16 vectors by memory."""
    a = (bv, bv, bv, bv, bv, bv, bv, bv, bv, bv, bv, bv, bv, bv, bv, bv)
    n = sg[5]
    for p in range(sg[1]):
        for q in range(sg[3]):
            c0 = sg[0] + p * sg[2] + q * sg[4]
            # a slice indexed from 0: no negative-index handling in the tap loop
            a = _taps16(x, off[c0:c0 + n], xb, xs, wt, wb + c0 * ws, ws, nf, a)
    if skip < BLOCK:
        _store8(out, ob, os_, nf, skip, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7])
    _store8(out, ob + BLOCK * os_, os_, nf, max(0, skip - BLOCK), a[8], a[9], a[10], a[11],
            a[12], a[13], a[14], a[15])


@jit()
def _run16(x, off, sg, xb, xs, wt, wb, ws, nf, bv, out, ob, os_, j0, j1):
    """Cells ``j0 … j1 − 1`` (``j1 ≥ 16``) of a run for one block of ``nf`` filters: the
    run's cell ``j`` reads the input from ``xb + j·xs`` and its sums go to ``ob + j·os_``;
    blocks of 16 cells, the last overlapping the one before (storing only new cells)."""
    j = j0
    while j < j1:
        js = max(0, min(j, j1 - CELLS))
        # cells before j were stored by the previous block
        _block16(x, off, sg, xb + js * xs, xs, wt, wb, ws, nf, bv, out, ob + js * os_, os_,
                 j - js)
        j = js + CELLS


def _compile(step):
    """The kernel of :func:`_conv_narrow` for one cell step, ``step`` a constant in it (a
    closure variable: Numba freezes it, so LLVM folds the 16 cells' addresses into
    constant displacements; the disk cache keys on its value)."""

    def kernel(x, off, segs, wt, bt, out, cls_d, base_d, cls_h, base_h, runs, dims):
        n_batch, in_d, in_h, in_w, n_ch = dims[0], dims[1], dims[2], dims[3], dims[4]
        out_d, out_h, out_w, n_filters = dims[5], dims[6], dims[7], dims[8]
        groups, cg, fg, nfb = dims[9], dims[10], dims[11], dims[12]
        ncls_h, ncls_w, seg, nseg, ws, raw, fpc = (dims[13], dims[14], dims[15], dims[16],
                                                   dims[17], dims[18], dims[19])
        n_rows = off.shape[0]
        nruns = runs.shape[0]
        nfbt = groups * nfb
        n_items = n_batch * out_d * out_h * nruns * nseg
        for fitem in prange(-(-nfbt // fpc) * n_items):
            (j0, j1, sg, rowpix, orow, _, os_, _, _, gb, gend) = _row_item(
                fitem, n_items, fpc, nfbt, nseg, seg, nruns, runs, out_h, out_d, segs, cls_d,
                cls_h, ncls_h, ncls_w, base_d, base_h, in_d, in_h, in_w, out_w, n_ch,
                n_filters)
            # j1 - j0 >= BLOCK: a run of at least CELLS cells (long_runs); j0 is 0 or >= 16
            while j1 - j0 >= BLOCK and gb < gend:
                g = gb // nfb
                col = g * fg + (gb % nfb) * LANES
                wb = col if raw else gb * n_rows * LANES
                nf = min(LANES, fg - (gb % nfb) * LANES)
                _run16(x, off, sg, rowpix * n_ch + g * cg, step, wt, wb, ws, nf,
                       V.load(bt, gb * LANES), out, orow * n_filters + col, os_, j0, j1)
                gb += 1

    return jit(parallel=True)(kernel)


_KERNELS = {step: _compile(step) for step in STEPS}  # compiled on first call, or loaded


def _conv_narrow(x, off, segs, wt, bt, out, cls_d, base_d, cls_h, base_h, runs, dims, step):
    """Runs of at least 16 cells of the gather convolution (called by :func:`conv_narrow`,
    which checks the arguments; arrays as for :func:`engine.kernels.conv._conv_filters`).

    dims: N, D, H, W, C, OD, OH, OW, F, groups, cg, fg, nfb, ncls_h, ncls_w, seg (cells
    per segment, a multiple of 16), nseg, ws, raw, fpc (filter blocks per item). step: the
    runs' cell step (input elements), one of STEPS: each has its own compiled kernel, so
    that a first call compiles only the one it needs.
    """
    _KERNELS[step](x, off, segs, wt, bt, out, cls_d, base_d, cls_h, base_h, runs, dims)


def long_runs(plan, n_ch):
    """The runs (rows of ``plan["runs"]``) that :func:`conv_narrow` serves for this plan of
    an input with ``n_ch`` channels per cell, or None when it does not apply: every run of
    output columns must be shorter than BLOCK (left to the row kernel's column loop) or at
    least CELLS long, some of the latter, all of those reading input cells the same number
    of elements apart, one of STEPS. Kept in the plan (it depends on shapes only)."""
    key = ("narrow runs", n_ch)
    if key not in plan:
        runs = plan["runs"]
        long = runs[:, 2] >= CELLS
        steps = set((runs[long, 4] * n_ch).tolist())
        ok = (len(steps) == 1 and steps <= set(STEPS)
              and bool(np.all(long | (runs[:, 2] < BLOCK))))
        plan[key] = np.ascontiguousarray(runs[long]) if ok else None
    return plan[key]


def conv_narrow(x5, out, wt, bt, plan, *, groups, nfb, raw, fpc, seg):
    """The runs of at least 16 output cells of the gather convolution of ``x5`` (N, D, H,
    W, C) into ``out`` (N, OD, OH, OW, F), by :func:`_conv_narrow`; the caller does the
    runs shorter than BLOCK.

    plan: :func:`engine.kernels.conv._plan` for ``x5`` (offsets ``off``, segments ``segs``,
    per-axis classes and bases, ``runs``, ``longest``), for which :func:`long_runs` is not
    None; wt: the (T, F) weight matrix in tap-table order (``raw``) or packed (groups·nfb,
    T, 16); bt: (groups, nfb·16) bias; fpc: filter blocks per work item; seg: cells per
    segment of a run (rounded up here to a multiple of 16). Raises ValueError on arguments
    that do not fit together (nothing is indexed unchecked then).
    """
    n_batch, in_d, in_h, in_w, n_ch = x5.shape
    _, out_d, out_h, out_w, n_filters = out.shape
    n_taps = plan["off"].shape[0]
    cg, fg = plan["cg"], n_filters // groups
    ws = n_filters if raw else LANES
    runs = long_runs(plan, n_ch)
    if not all(a.dtype == np.float32 and a.flags.c_contiguous for a in (x5, out, wt, bt)):
        raise ValueError("conv_narrow: x5, out, wt and bt must be C-contiguous float32")
    if (out.shape[0] != n_batch or plan["base_d"].shape[0] != out_d
            or plan["base_h"].shape[0] != out_h or fg * groups != n_filters
            or -(-fg // LANES) != nfb or cg * groups != n_ch or runs is None):
        raise ValueError("conv_narrow: output, plan and filter blocks do not match")
    if wt.size != (n_taps * n_filters if raw else groups * nfb * n_taps * LANES) or (
            bt.size != groups * nfb * LANES):
        raise ValueError("conv_narrow: weights or bias of the wrong size")
    seg = -(-max(seg, 1) // CELLS) * CELLS
    dims = np.array([n_batch, in_d, in_h, in_w, n_ch, out_d, out_h, out_w, n_filters, groups,
                     cg, fg, nfb, plan["ncls_h"], plan["ncls_w"], seg,
                     max(1, -(-plan["longest"] // seg)), ws, raw, fpc], np.int64)
    _conv_narrow(x5.reshape(-1), plan["off"], plan["segs"], wt.reshape(-1), bt.reshape(-1),
                 out.reshape(-1), plan["cls_d"], plan["base_d"], plan["cls_h"],
                 plan["base_h"], runs, dims, int(runs[0, 4]) * n_ch)
