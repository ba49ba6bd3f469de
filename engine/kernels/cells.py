"""Cell-blocked convolution: a register block's input stays in L1 while the weights stream.

For the convolutions :mod:`engine.kernels.tiled` serves (every output cell has all taps, in
runs of consecutive offsets: a zero-padded input, or a kernel that fits everywhere such as
1×1), this kernel swaps the loops the other way round, in the manner of a direct GEMM:
per chunk of taps, per block of 8 output cells, per pair of filter blocks — so the 8 cells'
input for the chunk (``8 × chunk`` floats, sized for L1) is loaded from memory once and
reused by every filter block of the work item, while each pair's weights for the chunk
(``chunk × 32`` floats) come from L2, 128 bytes per 16 fused multiply-adds. The 8 cells of
a block are 8 consecutive output cells in (batch, depth, row, column) order, so a block may
cross the end of a row (each cell has its own input base): rows that are not a multiple
of 8 wide (14, 28) waste nothing, unlike the row kernels' overlapping last block.

Summation order: bias first, then the taps in table order (chunks in order; running sums
wait in the output between chunks of taps) — the same float32 fma in the same order as the
row kernel and :mod:`engine.kernels.tiled`, so results are identical bit for bit.

Work items are (chunk of filter blocks, panel of ``panel`` cells); a filter chunk's
weights for one chunk of taps fit about L2 (:data:`L2_WEIGHT_BYTES`), and the items of one
filter chunk follow each other (one thread's share reuses them). No two items write the
same output. A panel's last block overlaps the one before when the cells do not come in
eights; with running sums in the output it stores only the cells the block before did not
(it computes the others from already updated sums and drops them).
"""

from __future__ import annotations

import numpy as np

from engine.kernels import simd as V
from engine.kernels import tiled
from engine.kernels.blocks import BLOCK, LANES, _load8, _store8, _taps8_at, _taps8x2_at
from engine.kernels.jit import jit, prange

L1_INPUT_BYTES = 16 * 1024  # input of one block of 8 cells for one chunk of taps
L2_WEIGHT_BYTES = 512 * 1024  # weights of one filter chunk for one chunk of taps
PANEL_CELLS = 256  # output cells per work item (fewer if that leaves threads idle)


@jit(inline=True)
def chunk_count(rl, chunk, rpc, n_runs):
    """(pieces per run, chunks) of a cell's ``n_runs`` runs of ``rl`` taps cut as
    :func:`shape` says: ``rpc`` whole runs per chunk, or (``rpc`` = 1) each run in pieces of
    ``chunk`` taps (1 piece when chunks are whole runs)."""
    pieces = -(-rl // chunk)
    return pieces, (-(-n_runs // rpc) if rpc > 1 else n_runs * pieces)


@jit(inline=True)
def chunk_taps(q, rpc, pieces, chunk, rl, n_runs):
    """Chunk ``q`` of :func:`chunk_count`'s → (first run, end run, first tap of each run in
    it, taps per run)."""
    if rpc > 1:
        return q * rpc, min(n_runs, q * rpc + rpc), 0, rl
    ru0, c0 = q // pieces, (q % pieces) * chunk
    return ru0, ru0 + 1, c0, min(rl, c0 + chunk) - c0


@jit()
def _base(m, base_d, base_h, run, dims):
    """Input element offset of output cell ``m`` (flat (N, OD, OH, OW) index; dims as in
    :func:`conv_cells`)."""
    in_d, in_h, in_w, n_ch = dims[1], dims[2], dims[3], dims[4]
    out_d, out_h, out_w = dims[5], dims[6], dims[7]
    r = m // out_w
    oh = r % out_h
    od = (r // out_h) % out_d
    n = r // (out_h * out_d)
    return ((((n * in_d + base_d[od]) * in_h + base_h[oh]) * in_w + run[3]
             + (m % out_w) * run[4]) * n_ch)


@jit()
def _bases8(m, shift, base_d, base_h, run, dims):
    """Input element offsets (plus ``shift``) of output cells ``m … m + 7``: one row's
    cells ``run[4]`` input cells apart, else each cell on its own (the block crosses the
    end of a row)."""
    b0 = _base(m, base_d, base_h, run, dims) + shift
    if m % dims[7] + BLOCK <= dims[7]:
        s = run[4] * dims[4]
        return b0, b0 + s, b0 + 2 * s, b0 + 3 * s, b0 + 4 * s, b0 + 5 * s, b0 + 6 * s, b0 + 7 * s
    return (b0, _base(m + 1, base_d, base_h, run, dims) + shift,
            _base(m + 2, base_d, base_h, run, dims) + shift,
            _base(m + 3, base_d, base_h, run, dims) + shift,
            _base(m + 4, base_d, base_h, run, dims) + shift,
            _base(m + 5, base_d, base_h, run, dims) + shift,
            _base(m + 6, base_d, base_h, run, dims) + shift,
            _base(m + 7, base_d, base_h, run, dims) + shift)


@jit()
def _pair(x, runoff, ru0, ru1, rl, c0, n, xb, wt, wb, wb2, ws, nf2, out, ob, os_, skip, bv,
          bv2):
    """Taps ``c0 … c0 + n − 1`` of runs ``ru0 … ru1 − 1`` (run ``r``'s taps at consecutive
    offsets from ``runoff[r]`` after each of the 8 cell bases ``xb``; weights of its first
    tap ``r·rl`` rows after ``wb`` / ``wb2``) added to the 8 × 32 block of output cells at
    ``ob`` (cells ``os_`` apart; 16 filters at ``ob``, ``nf2`` at ``ob + 16``) — from the
    bias for the first taps of the kernel, else from the sums in ``out``; cells ``skip …``
    7 stored."""
    if ru0 == 0 and c0 == 0:
        a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = bv
        e0 = e1 = e2 = e3 = e4 = e5 = e6 = e7 = bv2
    else:
        a0, a1, a2, a3, a4, a5, a6, a7 = _load8(out, ob, os_, LANES)
        e0, e1, e2, e3, e4, e5, e6, e7 = _load8(out, ob + LANES, os_, nf2)
    for ru in range(ru0, ru1):
        o = runoff[ru] + c0
        w = (ru * rl + c0) * ws
        (a0, a1, a2, a3, a4, a5, a6, a7, e0, e1, e2, e3, e4, e5, e6, e7) = _taps8x2_at(
            x, n, xb[0] + o, xb[1] + o, xb[2] + o, xb[3] + o, xb[4] + o, xb[5] + o, xb[6] + o,
            xb[7] + o, wt, wb + w, wb2 + w, ws, nf2, a0, a1, a2, a3, a4, a5, a6, a7, e0, e1, e2,
            e3, e4, e5, e6, e7)
    _store8(out, ob, os_, LANES, skip, a0, a1, a2, a3, a4, a5, a6, a7)
    _store8(out, ob + LANES, os_, nf2, skip, e0, e1, e2, e3, e4, e5, e6, e7)


@jit()
def _single(x, runoff, ru0, ru1, rl, c0, n, xb, wt, wb, ws, nf, out, ob, os_, skip, bv):
    """:func:`_pair` for one block of ``nf`` filters (8 × 16)."""
    if ru0 == 0 and c0 == 0:
        a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = bv
    else:
        a0, a1, a2, a3, a4, a5, a6, a7 = _load8(out, ob, os_, nf)
    for ru in range(ru0, ru1):
        o = runoff[ru] + c0
        a0, a1, a2, a3, a4, a5, a6, a7 = _taps8_at(
            x, n, xb[0] + o, xb[1] + o, xb[2] + o, xb[3] + o, xb[4] + o, xb[5] + o, xb[6] + o,
            xb[7] + o, wt, wb + (ru * rl + c0) * ws, ws, nf, a0, a1, a2, a3, a4, a5, a6, a7)
    _store8(out, ob, os_, nf, skip, a0, a1, a2, a3, a4, a5, a6, a7)


@jit(parallel=True)
def _conv_cells(x, runoff, wt, bt, out, base_d, base_h, run, dims):
    """Cell-blocked gather convolution (see the module docstring; called by
    :func:`conv_cells`, which checks the arguments).

    x: flat input (N, D, H, W, C), every tap of every output cell inside; the T taps in
    kernel order come as runs of ``rl`` consecutive offsets, run ``r`` starting
    ``runoff[r]`` after a cell's base; wt: flat weights, packed (groups·nfb, T, 16) with
    ``ws = 16``, or the (T, F) matrix (``raw``, ``ws = F``); bt: flat (groups·nfb, 16) bias;
    out: flat (N, OD, OH, OW, F), at least BLOCK cells; base_d / base_h: input index of
    every output depth / row; run: (0, 1, OW, first input column, input step, class), the
    one run of every row. dims: N, D, H, W, C, OD, OH, OW, F, groups, cg, fg, nfb, ws, raw,
    fpc (filter blocks per item), panel (cells per item, a multiple of BLOCK), chunk (taps
    per chunk: a piece of a run, or ``rpc`` whole runs), rpc (runs per chunk), rl.
    """
    n_batch, n_filters = dims[0], dims[8]
    out_d, out_h, out_w = dims[5], dims[6], dims[7]
    groups, cg, fg, nfb, ws, raw = dims[9], dims[10], dims[11], dims[12], dims[13], dims[14]
    fpc, panel, chunk, rpc, rl = dims[15], dims[16], dims[17], dims[18], dims[19]
    n_runs = runoff.shape[0]
    n_wrows = n_runs * rl
    nfbt = groups * nfb
    cells = n_batch * out_d * out_h * out_w
    npanels = max(1, cells // panel)  # the last panel takes the rest (at least BLOCK cells)
    pieces, n_chunks = chunk_count(rl, chunk, rpc, n_runs)
    for item in prange(-(-nfbt // fpc) * npanels):
        m0 = (item % npanels) * panel
        m1 = cells if item % npanels == npanels - 1 else m0 + panel
        g0 = (item // npanels) * fpc
        gend = min(nfbt, g0 + fpc)
        for q in range(n_chunks):
            ru0, ru1, c0, nt = chunk_taps(q, rpc, pieces, chunk, rl, n_runs)
            j = m0
            while j < m1:
                js = min(j, m1 - BLOCK)  # the last block overlaps the one before
                g_based = -1
                xb = (0, 0, 0, 0, 0, 0, 0, 0)
                gb = g0
                while gb < gend:
                    g = gb // nfb
                    if g != g_based:  # the block's input bases for this group
                        xb = _bases8(js, g * cg, base_d, base_h, run, dims)
                        g_based = g
                    col = g * fg + (gb % nfb) * LANES
                    ob = js * n_filters + col
                    bv = V.load(bt, gb * LANES)
                    wb = col if raw else gb * n_wrows * LANES
                    if gb % nfb + 1 < nfb and gb + 1 < gend:
                        nf2 = min(LANES, fg - (gb % nfb + 1) * LANES)
                        wb2 = col + LANES if raw else (gb + 1) * n_wrows * LANES
                        _pair(x, runoff, ru0, ru1, rl, c0, nt, xb, wt, wb, wb2, ws, nf2, out,
                              ob, n_filters, j - js, bv, V.load(bt, (gb + 1) * LANES))
                        gb += 2
                    else:
                        nf = min(LANES, fg - (gb % nfb) * LANES)
                        _single(x, runoff, ru0, ru1, rl, c0, nt, xb, wt, wb, ws, nf, out, ob,
                                n_filters, j - js, bv)
                        gb += 1
                j = js + BLOCK


def conv_cells(x5, out, wt, bt, *, runoff, rl, base_d, base_h, run, groups, nfb, raw,
               threads):
    """``out`` (N, OD, OH, OW, F) ← the convolution of ``x5`` (N, D, H, W, C), every output
    cell having all its taps inside ``x5``, by :func:`_conv_cells`.

    wt: the (T, F) weight matrix (``raw``) or packed (groups·nfb, T, 16), T = len(runoff)·rl
    rows in tap-table order; bt: (groups, nfb·16) bias; runoff, rl: the taps as runs
    (:func:`engine.kernels.tiled.tap_runs`); base_d / base_h: input index of every output
    depth / row; run: the plan's one run of every row (all OW cells, in order); groups,
    nfb: groups and blocks of 16 filters per group; threads: for :func:`shape`. Raises
    ValueError on arguments that do not fit together (nothing is indexed unchecked then).
    """
    check_arguments("conv_cells", x5, out, wt, bt, runoff=runoff, rl=rl, base_d=base_d,
                    base_h=base_h, run=run, groups=groups, nfb=nfb, raw=raw, block=BLOCK)
    n_filters = out.shape[-1]
    fpc, panel, chunk, rpc = shape(rl, runoff.shape[0], out.size // n_filters, groups * nfb,
                                   threads)
    dims = dims_of(x5, out, groups=groups, nfb=nfb, raw=raw, fpc=fpc, panel=panel,
                   chunk=chunk, rpc=rpc, rl=rl)
    _conv_cells(x5.reshape(-1), runoff, wt.reshape(-1), bt.reshape(-1), out.reshape(-1),
                base_d, base_h, run, dims)


def check_arguments(name, x5, out, wt, bt, *, runoff, rl, base_d, base_h, run, groups, nfb,
                    raw, block):
    """Raise ValueError (prefixed ``name``) unless the arguments of :func:`conv_cells` (or
    a kernel taking the same, in register blocks of ``block`` cells) fit together."""
    n_batch, _, _, _, n_ch = x5.shape
    _, out_d, out_h, out_w, n_filters = out.shape
    n_taps = runoff.shape[0] * rl
    cg, fg = n_ch // groups, n_filters // groups
    arrays = (x5, out, wt, bt)
    if not all(a.dtype == np.float32 and a.flags.c_contiguous for a in arrays):
        raise ValueError(f"{name}: x5, out, wt and bt must be C-contiguous float32")
    if (out.shape[0] != n_batch or base_d.shape[0] != out_d or base_h.shape[0] != out_h
            or tuple(run[:3]) != (0, 1, out_w) or n_batch * out_d * out_h * out_w < block
            or n_taps % cg or fg * groups != n_filters or -(-fg // LANES) != nfb):
        raise ValueError(f"{name}: output, index arrays and filter blocks do not match")
    if wt.size != (n_taps * n_filters if raw else groups * nfb * n_taps * LANES) or (
            bt.size != groups * nfb * LANES):
        raise ValueError(f"{name}: weights or bias of the wrong size")


def dims_of(x5, out, *, groups, nfb, raw, fpc, panel, chunk, rpc, rl):
    """The ``dims`` array of :func:`_conv_cells` (int64: shapes, then the work's shape)."""
    n_batch, in_d, in_h, in_w, n_ch = x5.shape
    _, out_d, out_h, out_w, n_filters = out.shape
    ws = n_filters if raw else LANES
    return np.array([n_batch, in_d, in_h, in_w, n_ch, out_d, out_h, out_w, n_filters, groups,
                     n_ch // groups, n_filters // groups, nfb, ws, raw, fpc, panel, chunk, rpc,
                     rl], np.int64)


def applies(plan, out_shape, batch, nfb):
    """Whether :func:`conv_cells` serves this plan: :func:`engine.kernels.tiled.applies`
    (all taps inside, one run per row), the run covering the whole row in order, at
    least BLOCK output cells, and at least two blocks of 16 filters per group (``nfb``:
    with single blocks, 8 cells × 16 filters, a block's work is too short for its own
    input bases; the row kernels walk rows with fixed strides)."""
    run = plan["runs"][0] if plan["runs"].shape[0] == 1 else None
    return (nfb >= 2 and tiled.applies(plan) and run[0] == 0 and run[1] == 1
            and run[2] == out_shape[2]
            and batch * out_shape[0] * out_shape[1] * out_shape[2] >= BLOCK)


def shape(rl, n_runs, cells, nfbt, threads, *, block=BLOCK, unit=2, l1_bytes=None,
          panel_cells=None):
    """(fpc, panel, chunk, rpc): filter blocks per work item, cells per item, taps per chunk
    and runs per chunk. A chunk's input for a block of ``block`` cells fits ``l1_bytes``
    (default L1_INPUT_BYTES): whole runs of ``rl`` taps (``rpc`` of them) where one fits,
    else a run cut in equal chunks (a chunk never crosses a run); a filter chunk's weights
    for one chunk of taps (64 bytes per filter block and tap) fit L2_WEIGHT_BYTES, in whole
    register blocks of ``unit`` filter blocks (2: pairs); panels of ``panel_cells``
    (default PANEL_CELLS) cells, cut down (to multiples of ``block``) while there are
    fewer than 2 items per thread."""
    l1_bytes = L1_INPUT_BYTES if l1_bytes is None else l1_bytes
    panel_cells = PANEL_CELLS if panel_cells is None else panel_cells
    cap = max(1, l1_bytes // (4 * block))  # taps per chunk
    rpc = max(1, min(n_runs, cap // rl))
    chunk = rl if rpc > 1 else -(-rl // -(-rl // cap))
    fpc = max(unit, min(nfbt, L2_WEIGHT_BYTES // (chunk * rpc * 4 * LANES)))
    fpc = nfbt if fpc >= nfbt else fpc - fpc % unit  # whole register blocks
    nfc = -(-nfbt // fpc)
    panel = max(block, min(panel_cells, -(-cells // block) * block))
    while panel > block and nfc * max(1, cells // panel) < 2 * threads:
        panel = max(block, -(-(panel // 2) // block) * block)
    return fpc, panel, chunk, rpc
