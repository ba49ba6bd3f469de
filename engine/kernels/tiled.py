"""Tap-blocked row kernel: the weights of a chunk of taps stay in L1 over many cells.

:func:`engine.kernels.conv._conv_filters` adds *all* taps of a register block (8 cells ×
32 filters) before it moves on, so for a deep layer every block streams its filters'
whole weight matrix (taps × 32 floats: 73 KiB for 3×3×64, 590 KiB for 3×3×512) from L2
or further. This kernel swaps the loops in the GEMM manner: per pair of filter blocks,
per *chunk* of ``chunk`` taps (``chunk × 128`` bytes of weights, sized for L1), it runs
over every block of cells of a band of output rows; running sums wait in the output
between chunks (bias first, then the taps in table order: the same float32 fma in the
same order as the row kernel, so results are identical bit for bit).

It serves the convolutions whose every output cell has all taps (a padded input, or a
kernel that fits everywhere: ``"filters-padded"`` / unpadded 1×1) with one run of at
least 8 cells per row — every output row reads the same tap table, one segment long.

Work items are (chunk of filter blocks, batch, depth, band of ``band`` output rows); no
two items write the same output. Within a row the last block of 8 cells overlaps the one
before (as in the row kernel); with running sums in the output it must not add a chunk
twice to a cell, so it stores only the cells the block before did not (it computes the
others from already updated sums and drops them).
"""

from __future__ import annotations

from engine.kernels import simd as V
from engine.kernels.blocks import BLOCK, LANES, _load8, _store8, _taps8_strided, \
    _taps8x2_strided
from engine.kernels.jit import jit, prange

L1_WEIGHT_BYTES = 24 * 1024  # weights of one chunk of taps for a pair of filter blocks
BAND_BLOCKS = 32  # register blocks per band and chunk (weight reuse from L1)
MIN_RUN = 16  # shortest run of taps worth a chunk of its own (conv.LINEAR_MIN)


@jit()
def _pair_chunk(x, n, xb, tstep, xs, wt, wb, wb2, ws, nf2, out, ob, os_, first, skip, bv,
                bv2):
    """``n`` taps (``tstep`` apart, cells ``xs`` apart, from ``xb``; weights of the first at
    ``wb`` / ``wb2``) added to the 8 × 32 block of output cells at ``ob`` (two filter
    blocks: 16 at ``ob``, ``nf2`` at ``ob + 16``; cells ``os_`` apart) — from the bias when
    ``first``, else from the sums in ``out``; cells ``skip …`` 7 stored."""
    if first:
        a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = bv
        e0 = e1 = e2 = e3 = e4 = e5 = e6 = e7 = bv2
    else:
        a0, a1, a2, a3, a4, a5, a6, a7 = _load8(out, ob, os_, LANES)
        e0, e1, e2, e3, e4, e5, e6, e7 = _load8(out, ob + LANES, os_, nf2)
    (a0, a1, a2, a3, a4, a5, a6, a7, e0, e1, e2, e3, e4, e5, e6, e7) = _taps8x2_strided(
        x, n, xb, tstep, xs, wt, wb, wb2, ws, nf2, a0, a1, a2, a3, a4, a5, a6, a7, e0, e1, e2,
        e3, e4, e5, e6, e7)
    _store8(out, ob, os_, LANES, skip, a0, a1, a2, a3, a4, a5, a6, a7)
    _store8(out, ob + LANES, os_, nf2, skip, e0, e1, e2, e3, e4, e5, e6, e7)


@jit()
def _single_chunk(x, n, xb, tstep, xs, wt, wb, ws, nf, out, ob, os_, first, skip, bv):
    """:func:`_pair_chunk` for one block of ``nf`` filters (8 × 16)."""
    if first:
        a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = bv
    else:
        a0, a1, a2, a3, a4, a5, a6, a7 = _load8(out, ob, os_, nf)
    a0, a1, a2, a3, a4, a5, a6, a7 = _taps8_strided(x, n, xb, tstep, xs, wt, wb, ws, nf, a0,
                                                    a1, a2, a3, a4, a5, a6, a7)
    _store8(out, ob, os_, nf, skip, a0, a1, a2, a3, a4, a5, a6, a7)


@jit()
def _block(x, n, xb, xs, wt, wb, wb2, ws, nf, nf2, pair, out, ob, os_, first, skip, bv, bv2):
    """One register block over one chunk of ``n`` taps at consecutive offsets: a pair of
    filter blocks or a single one (the tap step a literal 1: constant displacements)."""
    if pair:
        _pair_chunk(x, n, xb, 1, xs, wt, wb, wb2, ws, nf2, out, ob, os_, first, skip, bv, bv2)
    else:
        _single_chunk(x, n, xb, 1, xs, wt, wb, ws, nf, out, ob, os_, first, skip, bv)


@jit(parallel=True)
def conv_tiled(x, runoff, wt, bt, out, base_d, base_h, run, dims):
    """Tap-blocked gather convolution (see the module docstring).

    x: flat input (N, D, H, W, C), every tap of every output cell inside; the T taps in
    kernel order come as runs of ``rl`` consecutive offsets, run ``r`` starting
    ``runoff[r]`` after a cell's base; wt: flat weights, packed (groups·nfb, T, 16) with
    ``ws = 16``, or the (T, F) matrix (``raw``, ``ws = F``); bt: flat (groups·nfb, 16) bias;
    out: flat (N, OD, OH, OW, F); base_d / base_h: input index of every output depth / row;
    run: (first output column, output step, count ≥ 8, first input column, input step,
    class) of every row. dims: N, D, H, W, C, OD, OH, OW, F, groups, cg, fg, nfb, ws, raw,
    fpc (filter blocks per item), band (output rows per item), chunk (taps per chunk, within
    a run), rl.
    """
    n_batch, in_d, in_h, in_w, n_ch = dims[0], dims[1], dims[2], dims[3], dims[4]
    out_d, out_h, out_w, n_filters = dims[5], dims[6], dims[7], dims[8]
    groups, cg, fg, nfb, ws, raw = dims[9], dims[10], dims[11], dims[12], dims[13], dims[14]
    fpc, band, chunk, rl = dims[15], dims[16], dims[17], dims[18]
    n_runs = runoff.shape[0]
    n_wrows = n_runs * rl
    nfbt = groups * nfb
    nbands = -(-out_h // band)
    n_items = n_batch * out_d * nbands
    cnt = run[2]
    xs = run[4] * n_ch
    os_ = run[1] * n_filters
    for item in prange(-(-nfbt // fpc) * n_items):
        r = item % n_items
        h0 = (r % nbands) * band
        h1 = min(out_h, h0 + band)
        od = (r // nbands) % out_d
        n = r // (nbands * out_d)
        gb = (item // n_items) * fpc
        gend = min(nfbt, gb + fpc)
        while gb < gend:
            pair = gb % nfb + 1 < nfb and gb + 1 < gend
            g = gb // nfb
            col = g * fg + (gb % nfb) * LANES
            bv = V.load(bt, gb * LANES)
            nf = min(LANES, fg - (gb % nfb) * LANES)
            wb = col if raw else gb * n_wrows * LANES
            bv2 = V.load(bt, (gb + 1) * LANES) if pair else bv
            nf2 = min(LANES, fg - (gb % nfb + 1) * LANES) if pair else 0
            wb2 = (col + LANES if raw else (gb + 1) * n_wrows * LANES) if pair else wb
            for ru in range(n_runs):
                for c0 in range(0, rl, chunk):
                    nt = min(rl, c0 + chunk) - c0
                    t0 = ru * rl + c0
                    tap = runoff[ru] + c0 + g * cg
                    for oh in range(h0, h1):
                        rowpix = (((n * in_d + base_d[od]) * in_h + base_h[oh]) * in_w
                                  + run[3]) * n_ch + tap
                        orow = ((n * out_d + od) * out_h + oh) * out_w + run[0]
                        j = 0
                        while j < cnt:
                            js = min(j, cnt - BLOCK)  # the last block overlaps the one before
                            _block(x, nt, rowpix + js * xs, xs, wt, wb + t0 * ws, wb2 + t0 * ws,
                                   ws, nf, nf2, pair, out, (orow + js * run[1]) * n_filters + col,
                                   os_, t0 == 0, j - js, bv, bv2)
                            j = js + BLOCK
            gb += 2 if pair else 1


def applies(plan):
    """Whether :func:`conv_tiled` serves this plan: one tap segment for every output cell
    (all taps inside), one run of at least BLOCK cells per row."""
    segs, runs = plan["segs"], plan["runs"]
    return (segs.shape[0] == 1 and segs[0, 1] == 1 and segs[0, 3] == 1 and segs[0, 0] == 0
            and segs[0, 5] == plan["off"].shape[0] and runs.shape[0] == 1
            and runs[0, 2] >= BLOCK and plan["identity"])


def shape(rl, out_h, out_w, items_per_band, threads, pair_bytes=2 * LANES * 4):
    """(band, chunk): output rows per work item and taps per chunk. The chunk's weights
    for a pair of filter blocks fit L1_WEIGHT_BYTES (runs of ``rl`` taps cut in equal
    chunks: a chunk never crosses a run); the band gives each chunk
    BAND_BLOCKS register blocks, cut down while there are fewer than 2 items per thread
    (``items_per_band``: items of one band of rows)."""
    pieces = -(-rl // max(1, L1_WEIGHT_BYTES // pair_bytes))
    chunk = -(-rl // pieces)
    per_row = -(-out_w // BLOCK)
    band = min(out_h, max(1, -(-BAND_BLOCKS // per_row)))
    while band > 1 and items_per_band * -(-out_h // band) < 2 * threads:
        band = -(-band // 2)
    return band, chunk


def runs_of_taps(plan, pair_bytes=2 * LANES * 4):
    """``(runoff, rl)``: the plan's taps as runs of ``rl`` consecutive offsets (a kernel
    row of channels, or one tap's channels) starting at ``runoff``; None when they do not
    come in runs of at least MIN_RUN, or when a pair of filter blocks' weights for all taps
    fit in two chunks (about L1: the row kernel keeps them there itself, and running sums
    in the output would only cost) — the row kernel then serves."""
    if plan["off"].shape[0] * pair_bytes <= 2 * L1_WEIGHT_BYTES:
        return None
    return tap_runs(plan)


def tap_runs(plan):
    """``(runoff, rl)``: the plan's taps as runs of ``rl`` consecutive offsets (a kernel
    row of channels, or one tap's channels) starting at ``runoff``; None when they do not
    come in runs of at least MIN_RUN."""
    lin = plan["linear"]
    if lin < MIN_RUN:
        return None
    return plan["off"][::lin].copy(), lin
