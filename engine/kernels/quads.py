"""Cell-blocked convolution in blocks of 4 output cells × 64 filters, reading the input in place.

:mod:`engine.kernels.cells` adds a chunk of taps to 8 cells × 32 filters at a time: per
tap, 2 weight vectors and 8 broadcast input values feed 16 fused multiply-adds. Where every
group has whole quads of 16-filter blocks (a multiple of 64 filters per group: 64, 128,
256, 512 …) this kernel uses the other 16-accumulator shape, 4 cells × 64 filters: per tap
4 weight vectors and 4 broadcast values feed 16 fma, with 4 cell bases instead of 8 live
in the loop. A block's input for a chunk of taps is 4 × chunk floats, so a chunk holds
more taps in the same L1 budget (all 576 taps of a 3×3×64 kernel, all 1,152 of 3×3×128:
no running sums in the output).

It also reads the *unpadded* input: the plan is the zero-padded input's (bases and runs
of taps in its coordinates), but no padded copy is made (≈ 10 % of a 224²×64 layer's
time: 13 MB written in a parallel launch of its own, which leaves input and output out of
cache). Blocks whose 4 cells have every tap inside the input read it in place; the others
(the border: 4 % of the blocks of 224², 17 % of 56²) first copy their chunk of taps into
a small buffer, zeros for the padding — the same zeros the padded copy holds, multiplied
in the same place, so the results do not depend on which way a block went.

Everything else is :mod:`engine.kernels.cells`'s: the same convolutions (every output cell
has all its taps, one run of output columns per row), work items (filter chunk, panel of
consecutive output cells across row ends; here panels of equal whole blocks, a multiple of
the threads in number), and summation order — bias first, then the taps in table order,
chunk after chunk, running sums waiting in the output — so results are identical bit for
bit to the kernel it replaces. A panel's last block overlaps the one before when its cells
do not come in fours; it stores only the cells the block before did not.
"""

from __future__ import annotations

import numpy as np

from engine.kernels import cells
from engine.kernels import simd as V
from engine.kernels.jit import jit, prange

LANES = V.LANES
BLOCK = 4  # output cells per register block
QUAD = 4  # blocks of 16 filters per register block (64 filters)
L1_INPUT_BYTES = 24 * 1024  # input of one block of 4 cells for one chunk of taps
PANEL_CELLS = 128  # output cells per work item (fewer if that leaves threads idle)
MIN_TAPS = 512  # fewer taps per output cell: engine.kernels.cells (see applies)
INSIDE = 2 ** 62  # interior limits when nothing is padded (every cell inside)


@jit()
def _cell(m, base_d, base_h, run, dims, geo):
    """Output cell ``m`` (flat (N, OD, OH, OW) index; dims as in :func:`_conv_quads`):
    (batch, depth, row, column) of its base in the padded input, and whether all its
    taps land inside the unpadded one (geo: see :func:`_conv_quads`)."""
    out_d, out_h, out_w = dims[5], dims[6], dims[7]
    r = m // out_w
    d = base_d[(r // out_h) % out_d]
    h = base_h[r % out_h]
    w = run[3] + (m % out_w) * run[4]
    inside = (geo[3] <= d < geo[4] and geo[5] <= h < geo[6] and geo[7] <= w < geo[8])
    return r // (out_h * out_d), d, h, w, inside


@jit()
def _offset(n, d, h, w, dims, geo):
    """Element offset in the unpadded input of padded position (n, d, h, w)."""
    return (((n * dims[1] + d - geo[0]) * dims[2] + h - geo[1]) * dims[3] + w - geo[2]) * dims[4]


@jit()
def _gather_run(x, buf, bb, n, d, h, w, rrel, ru, e0, nt, dims, geo):
    """``buf[bb … bb + nt − 1]`` ← taps ``e0 … e0 + nt − 1`` of run ``ru`` of the cell whose
    padded base is (n, d, h, w) — run ``ru`` starts ``rrel[ru]`` = (depth, row, column,
    element) after the base in the padded input — read from the unpadded input ``x``, zero
    where they fall in the padding (consecutive elements: channels, then columns)."""
    in_d, in_h, in_w, pix = dims[1], dims[2], dims[3], dims[4]
    ud = d + rrel[ru, 0] - geo[0]
    uh = h + rrel[ru, 1] - geo[1]
    col = w + rrel[ru, 2] - geo[2]  # unpadded column of the run's element 0
    e = rrel[ru, 3] + e0
    lo, hi = 0, 0  # taps [lo, hi) inside
    if 0 <= ud < in_d and 0 <= uh < in_h:
        lo = min(nt, max(0, -col * pix - e))
        hi = max(lo, min(nt, (in_w - col) * pix - e))
    src = (((n * in_d + ud) * in_h + uh) * in_w + col) * pix + e
    zero = V.splat(0.0)
    for t in range(0, lo, LANES):
        V.store_n(buf, bb + t, zero, min(LANES, lo - t))
    for t in range(lo, hi, LANES):
        k = min(LANES, hi - t)
        V.store_n(buf, bb + t, V.load_n(x, src + t, k), k)
    for t in range(hi, nt, LANES):
        V.store_n(buf, bb + t, zero, min(LANES, nt - t))


@jit()
def _block_bases(x, buf, bro, js, shift, ru0, ru1, c0, nt, base_d, base_h, run, dims, geo,
                 rrel):
    """Cell bases of the 4-cell block at output cell ``js`` for taps ``c0 … c0 + nt − 1``
    of runs ``ru0 … ru1 − 1`` (``shift``: the group's first channel) → (4 bases, 1 if in
    place): in ``x`` when every tap of the 4 cells lands inside it, else in ``buf``, filled with
    the taps (zeros in the padding; cell ``k`` at ``k·S``, ``S`` = taps of the chunk, run
    ``ru`` at ``bro[ru] + c0`` within it)."""
    n, d, h, w, inside = _cell(js, base_d, base_h, run, dims, geo)
    step = run[4]
    if js % dims[7] + BLOCK <= dims[7]:  # one row: inside when the last cell is
        if inside and w + 3 * step < geo[8]:
            b0 = _offset(n, d, h, w, dims, geo) + shift
            s = step * dims[4]
            return b0, b0 + s, b0 + 2 * s, b0 + 3 * s, 1
        cs = ((n, d, h, w), (n, d, h, w + step), (n, d, h, w + 2 * step),
              (n, d, h, w + 3 * step))
    else:
        c1 = _cell(js + 1, base_d, base_h, run, dims, geo)
        c2 = _cell(js + 2, base_d, base_h, run, dims, geo)
        c3 = _cell(js + 3, base_d, base_h, run, dims, geo)
        cs = ((n, d, h, w), c1[:4], c2[:4], c3[:4])
        if inside and c1[4] and c2[4] and c3[4]:
            return (_offset(n, d, h, w, dims, geo) + shift,
                    _offset(c1[0], c1[1], c1[2], c1[3], dims, geo) + shift,
                    _offset(c2[0], c2[1], c2[2], c2[3], dims, geo) + shift,
                    _offset(c3[0], c3[1], c3[2], c3[3], dims, geo) + shift, 1)
    size = (ru1 - ru0) * nt
    for ru in range(ru0, ru1):
        bro[ru] = (ru - ru0) * nt - c0
    for k in range(BLOCK):
        cn, cd, ch, cw = cs[k]
        for ru in range(ru0, ru1):
            _gather_run(x, buf, k * size + (ru - ru0) * nt, cn, cd, ch, cw, rrel, ru,
                        shift + c0, nt, dims, geo)
    return 0, size, 2 * size, 3 * size, 0


@jit()
def _taps4x4_at(x, n, x0, x1, x2, x3, wt, wb, bs, ws, a0, a1, a2, a3, b0, b1, b2, b3, c0, c1,
                c2, c3, d0, d1, d2, d3):
    """Add ``n`` taps at consecutive offsets from the 4 cell bases ``x0 … x3`` (tap ``t`` of
    cell ``k`` at ``x<k> + t``) to the sums of 4 cells × 4 blocks of 16 filters: block
    ``i``'s weights of tap ``t`` at ``wt[wb + i·bs + t·ws]``, its sums of cell ``k`` in
    ``a<k>`` (i = 0), ``b<k>``, ``c<k>``, ``d<k>``. Each input value loaded feeds four fma,
    each weight vector four."""
    for t in range(n):
        w = wb + t * ws
        u0 = V.load(wt, w)
        u1 = V.load(wt, w + bs)
        u2 = V.load(wt, w + 2 * bs)
        u3 = V.load(wt, w + 3 * bs)
        v = V.bload(x, x0 + t)
        a0 = V.fma(v, u0, a0)
        b0 = V.fma(v, u1, b0)
        c0 = V.fma(v, u2, c0)
        d0 = V.fma(v, u3, d0)
        v = V.bload(x, x1 + t)
        a1 = V.fma(v, u0, a1)
        b1 = V.fma(v, u1, b1)
        c1 = V.fma(v, u2, c1)
        d1 = V.fma(v, u3, d1)
        v = V.bload(x, x2 + t)
        a2 = V.fma(v, u0, a2)
        b2 = V.fma(v, u1, b2)
        c2 = V.fma(v, u2, c2)
        d2 = V.fma(v, u3, d2)
        v = V.bload(x, x3 + t)
        a3 = V.fma(v, u0, a3)
        b3 = V.fma(v, u1, b3)
        c3 = V.fma(v, u2, c3)
        d3 = V.fma(v, u3, d3)
    return a0, a1, a2, a3, b0, b1, b2, b3, c0, c1, c2, c3, d0, d1, d2, d3


@jit()
def _load4(out, ob, step):
    """The 4 vectors at ``ob + k·step`` (running sums waiting in the output)."""
    return (V.load(out, ob), V.load(out, ob + step), V.load(out, ob + 2 * step),
            V.load(out, ob + 3 * step))


@jit()
def _store4(out, ob, step, skip, a0, a1, a2, a3):
    """Store vectors ``a<skip>`` … ``a3`` at ``ob + k·step``."""
    if skip <= 0:
        V.store(out, ob, a0)
    if skip <= 1:
        V.store(out, ob + step, a1)
    if skip <= 2:
        V.store(out, ob + 2 * step, a2)
    V.store(out, ob + 3 * step, a3)


@jit()
def _quad(x, runoff, ru0, ru1, rl, c0, n, xb, wt, wb, bs, ws, out, ob, os_, skip, bt, gb):
    """Taps ``c0 … c0 + n − 1`` of runs ``ru0 … ru1 − 1`` (run ``r``'s taps at consecutive
    offsets from ``runoff[r]`` after each of the 4 cell bases ``xb``; weights of its first
    tap ``r·rl`` rows after ``wb``, block ``i`` ``i·bs`` further) added to the 4 × 64 block
    of output cells at ``ob`` (cells ``os_`` apart; filter blocks ``gb … gb + 3``, their
    bias in ``bt``) — from the bias for the first taps of the kernel, else from the sums
    in ``out``; cells ``skip …`` 3 stored."""
    if ru0 == 0 and c0 == 0:
        a0 = a1 = a2 = a3 = V.load(bt, gb * LANES)
        b0 = b1 = b2 = b3 = V.load(bt, (gb + 1) * LANES)
        e0 = e1 = e2 = e3 = V.load(bt, (gb + 2) * LANES)
        d0 = d1 = d2 = d3 = V.load(bt, (gb + 3) * LANES)
    else:
        a0, a1, a2, a3 = _load4(out, ob, os_)
        b0, b1, b2, b3 = _load4(out, ob + LANES, os_)
        e0, e1, e2, e3 = _load4(out, ob + 2 * LANES, os_)
        d0, d1, d2, d3 = _load4(out, ob + 3 * LANES, os_)
    for ru in range(ru0, ru1):
        o = runoff[ru] + c0
        (a0, a1, a2, a3, b0, b1, b2, b3, e0, e1, e2, e3, d0, d1, d2, d3) = _taps4x4_at(
            x, n, xb[0] + o, xb[1] + o, xb[2] + o, xb[3] + o, wt, wb + (ru * rl + c0) * ws, bs,
            ws, a0, a1, a2, a3, b0, b1, b2, b3, e0, e1, e2, e3, d0, d1, d2, d3)
    _store4(out, ob, os_, skip, a0, a1, a2, a3)
    _store4(out, ob + LANES, os_, skip, b0, b1, b2, b3)
    _store4(out, ob + 2 * LANES, os_, skip, e0, e1, e2, e3)
    _store4(out, ob + 3 * LANES, os_, skip, d0, d1, d2, d3)


@jit(parallel=True)
def _conv_quads(x, runoff, rrel, wt, bt, out, base_d, base_h, run, dims, geo):
    """Cell-blocked gather convolution in 4 × 64 blocks (see the module docstring; called
    by :func:`conv_quads`, which checks the arguments).

    x: flat input (N, D, H, W, C), unpadded; the plan (``base_d``, ``base_h``, ``run``,
    runs of taps) is the padded input's, ``geo[0:3]`` cells before each axis: padded
    position ``p`` is ``x``'s ``p − geo[a]``. The T taps come as runs of ``rl``
    consecutive offsets: run ``r`` starts ``runoff[r]`` elements after a cell's base in
    ``x``, at ``rrel[r]`` = (depth, row, column, element) after it in the padded input.
    Cells whose padded base lies in ``geo[3] ≤ d < geo[4]``, ``geo[5] ≤ h < geo[6]``,
    ``geo[7] ≤ w < geo[8]`` have all their taps inside ``x`` and are read in place;
    blocks with other cells read a copy of their taps, zeros for the padding. wt, bt, out:
    as for :func:`engine.kernels.cells._conv_cells`; dims: as there (``D, H, W`` those of
    ``x``; ``fg`` a multiple of 64, ``fpc`` of QUAD; ``out`` at least BLOCK cells), then
    the number of panels (:func:`panels`).
    """
    n_batch, n_filters = dims[0], dims[8]
    out_d, out_h, out_w = dims[5], dims[6], dims[7]
    cg, fg, nfb, ws, raw = dims[10], dims[11], dims[12], dims[13], dims[14]  # ws: F if raw
    fpc, chunk, rpc, rl = dims[15], dims[17], dims[18], dims[19]
    n_runs = runoff.shape[0]
    n_wrows = n_runs * rl
    nfbt = dims[9] * nfb
    bs = LANES if raw else n_wrows * LANES  # from one filter block's weights to the next
    cells_ = n_batch * out_d * out_h * out_w
    npanels = dims[20]
    nblocks = cells_ // BLOCK
    pieces, n_chunks = cells.chunk_count(rl, chunk, rpc, n_runs)
    for item in prange(-(-nfbt // fpc) * npanels):
        # panels of whole blocks, as equal as can be (the last one takes the rest)
        p = item % npanels
        m0 = p * nblocks // npanels * BLOCK
        m1 = cells_ if p == npanels - 1 else (p + 1) * nblocks // npanels * BLOCK
        g0 = (item // npanels) * fpc
        gend = min(nfbt, g0 + fpc)
        buf = np.empty(BLOCK * max(rpc * rl, chunk), np.float32)  # a border block's taps
        bro = np.empty(n_runs, np.int64)  # its runs' offsets in buf
        for q in range(n_chunks):
            ru0, ru1, c0, nt = cells.chunk_taps(q, rpc, pieces, chunk, rl, n_runs)
            j = m0
            while j < m1:
                js = min(j, m1 - BLOCK)  # the last block overlaps the one before
                g_based = -1
                x0, x1, x2, x3, in_place = 0, 0, 0, 0, 1
                for gb in range(g0, gend, QUAD):  # a quad never crosses a group
                    g = gb // nfb
                    if g != g_based:  # the block's input bases for this group
                        x0, x1, x2, x3, in_place = _block_bases(
                            x, buf, bro, js, g * cg, ru0, ru1, c0, nt, base_d, base_h, run,
                            dims, geo, rrel)
                        g_based = g
                    col = g * fg + (gb % nfb) * LANES
                    wb = col if raw else gb * n_wrows * LANES
                    ob = js * n_filters + col
                    xb = (x0, x1, x2, x3)
                    if in_place:
                        _quad(x, runoff, ru0, ru1, rl, c0, nt, xb, wt, wb, bs, ws, out, ob,
                              n_filters, j - js, bt, gb)
                    else:
                        _quad(buf, bro, ru0, ru1, rl, c0, nt, xb, wt, wb, bs, ws, out, ob,
                              n_filters, j - js, bt, gb)
                j = js + BLOCK


def conv_quads(x5, out, wt, bt, *, runoff, rl, base_d, base_h, run, groups, nfb, raw,
               threads, padding=None, cache=None):
    """``out`` (N, OD, OH, OW, F) ← the convolution of ``x5`` (N, D, H, W, C) by
    :func:`_conv_quads`. Arguments as for :func:`engine.kernels.cells.conv_cells`
    (``runoff`` in the padded input's elements), every group with a multiple of 64 filters;
    ``padding``: None when every output cell has all its taps inside
    ``x5``, else the zeros ``(before, after)`` per axis of the padded input the plan was
    made for (:func:`engine.kernels.conv._padded_geometry`), read as zeros instead of
    copied; ``cache``: None, or a dict kept with the plan these index arrays come from
    (:func:`unpadded_taps`' result is kept there, it depends on shapes only). Raises
    ValueError on arguments that do not fit together (nothing is indexed unchecked then)."""
    padding = ((0, 0),) * 3 if padding is None else tuple(map(tuple, padding))
    if len(padding) != 3 or min(min(p) for p in padding) < 0:
        raise ValueError("conv_quads: padding must be (before, after) ≥ 0 for 3 axes")
    padded = (x5.shape[0],) + tuple(n + b + a for n, (b, a) in zip(x5.shape[1:4], padding)) + (
        x5.shape[4],)
    cells.check_arguments("conv_quads", x5, out, wt, bt, runoff=runoff, rl=rl, base_d=base_d,
                          base_h=base_h, run=run, groups=groups, nfb=nfb, raw=raw,
                          block=BLOCK)
    n_filters = out.shape[-1]
    if (n_filters // groups) % (QUAD * LANES):
        raise ValueError("conv_quads: filters per group not a multiple of 64")
    key = ("quad taps", padding, groups, x5.shape[1:])
    taps = None if cache is None else cache.get(key)
    if taps is None:
        taps = unpadded_taps(runoff, rl, padded, x5.shape, padding, groups, base_d, base_h,
                             run, out.shape[1:4])
        if cache is not None:
            cache[key] = taps
    offs, rrel, geo = taps
    fpc, panel, chunk, rpc = shape(rl, runoff.shape[0], out.size // n_filters, groups * nfb,
                                   threads)
    dims = cells.dims_of(x5, out, groups=groups, nfb=nfb, raw=raw, fpc=fpc, panel=panel,
                         chunk=chunk, rpc=rpc, rl=rl)
    dims = np.append(dims, panels(out.size // n_filters, panel, -(-groups * nfb // fpc),
                                  threads))
    _conv_quads(x5.reshape(-1), offs, rrel, wt.reshape(-1), bt.reshape(-1), out.reshape(-1),
                base_d, base_h, run, dims, geo)


def unpadded_taps(runoff, rl, padded, shape, padding, groups, base_d, base_h, run, out_sp):
    """(offsets, rrel, geo) of :func:`_conv_quads` for runs of taps starting ``runoff``
    elements after a cell's base in a ``padded`` input (N, D, H, W, C) that is ``shape``
    with ``padding`` zeros: each run's start as (depth, row, column, element) in the padded
    input (every tap of a run within one row: consecutive elements), its offset in the
    unpadded input, and the padded bases whose cells read nothing outside it (the padded
    input holds every tap of every cell, so the offsets are ≥ 0 and decompose uniquely).
    Nothing padded: the offsets as they are (a transposed convolution's may be negative)
    and every base inside. Raises ValueError when a run does not fit its row or a cell
    base lies outside."""
    runoff = np.asarray(runoff, np.int64)
    if not any(b or a for b, a in padding):  # every cell inside, the plan's own offsets
        every = np.array([0, 0, 0] + [-INSIDE, INSIDE] * 3, np.int64)
        return runoff, np.zeros((runoff.shape[0], 4), np.int64), every
    _, dp, hp, wp, pix = padded
    _, in_d, in_h, in_w, _ = shape
    rc = runoff % pix
    q = runoff // pix
    rw, rh, rd = q % wp, (q // wp) % hp, q // (wp * hp)
    # the last element any group's run reaches, in columns after the run's first
    cg = pix // groups
    span = (rc + (groups - 1) * cg + rl - 1) // pix
    last_w = run[3] + (out_sp[2] - 1) * run[4]
    if (runoff.size == 0 or runoff.min() < 0 or min(base_d.min(), base_h.min(), run[3]) < 0
            or base_d.max() + rd.max() >= dp or base_h.max() + rh.max() >= hp
            or last_w + (rw + span).max() >= wp):
        raise ValueError("conv_quads: runs of taps outside the padded input")
    (bd, _), (bh, _), (bw, _) = padding
    geo = np.array([bd, bh, bw, bd - rd.min(), bd + in_d - rd.max(), bh - rh.min(),
                    bh + in_h - rh.max(), bw - rw.min(), bw + in_w - (rw + span).max()],
                   np.int64)
    offs = ((rd * in_h + rh) * in_w + rw) * pix + rc
    rrel = np.ascontiguousarray(np.stack([rd, rh, rw, rc], axis=1), np.int64)
    return offs, rrel, geo


def applies(fg, padded, taps):
    """Whether :func:`conv_quads` serves a convolution that
    :func:`engine.kernels.cells.applies` serves, with ``fg`` filters per group and
    ``taps`` taps per output cell, on an input that is ``padded`` (else the cell-blocked
    kernel reads it as it is): whole quads of filter blocks (a multiple of 64 filters) and
    at least MIN_TAPS taps. Elsewhere :mod:`engine.kernels.cells` is as quick or quicker:
    unpadded inputs have no copy to save, and with few taps a block's fixed costs (bases,
    bias, 16 stores) weigh more — measured 2026-12-02 (fifth session) on 1×1 56²×256→256
    (256 taps) −2 %, stride 2 112²×32→64 (288 taps) −3 %, from 576 taps +4 to +8 %."""
    return padded and fg % (QUAD * LANES) == 0 and taps >= MIN_TAPS


def panels(cells_, panel, nfc, threads):
    """How many panels of about ``panel`` cells the ``cells_`` output cells are cut into:
    with ``nfc`` filter chunks, a multiple of ``threads`` work items where there are more
    items than threads (``prange`` gives each thread an equal run of items; the kernel cuts
    panels of equal whole blocks)."""
    npanels = max(1, min(cells_ // BLOCK, cells_ // panel))
    while npanels > 1 and nfc * npanels > threads and nfc * npanels % threads:
        npanels -= 1
    return npanels


def shape(rl, n_runs, cells_, nfbt, threads):
    """(fpc, panel, chunk, rpc) as :func:`engine.kernels.cells.shape` for blocks of 4 cells
    (L1_INPUT_BYTES, PANEL_CELLS) and whole quads of filter blocks per work item."""
    return cells.shape(rl, n_runs, cells_, nfbt, threads, block=BLOCK, unit=QUAD,
                       l1_bytes=L1_INPUT_BYTES, panel_cells=PANEL_CELLS)
