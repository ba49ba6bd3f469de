"""Register blocks shared by the row kernels: 8 output cells × 16 (or 32) filters.

A register block holds the running sums of 8 output cells for one block of 16 filters
(``a0 … a7``, one 16-lane vector per cell) — or for two blocks of one group at once
(``a*`` and ``b*``: 8 cells × 32 filters, each input value loaded feeds two fma). Taps
are added in the order given, one fused multiply-add per tap and vector, so every caller
that adds the same taps in the same order from the same start gets the same float32
result, bit for bit, however it cuts the tap list into pieces.

Addresses are element offsets into flat float32 arrays: cell ``k`` of a block reads the
input at ``xb + k·xs + offs[t]``; the weights of tap ``t`` are 16 floats at
``wt[wb + t·ws]`` (``nf`` of them valid: a group's last block may be partial).
"""

from __future__ import annotations

from engine.kernels import simd as V
from engine.kernels.jit import jit

LANES = V.LANES
BLOCK = 8  # output cells per register block


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
def _taps8x2(x, offs, n, xb, xs, wt, wb, wb2, ws, nf2, a0, a1, a2, a3, a4, a5, a6, a7, b0, b1,
             b2, b3, b4, b5, b6, b7):
    """:func:`_taps8` for two blocks of filters at once (taps ``0 … n − 1``): 16 filters
    at ``wt[wb + t·ws]`` into ``a*``, ``nf2`` at ``wt[wb2 + t·ws]`` into ``b*``. Each input
    value is loaded once for both: two fma per load instead of one."""
    for t in range(n):
        o = xb + offs[t]
        wv = V.load(wt, wb + t * ws)
        wv2 = V.load_n(wt, wb2 + t * ws, nf2)
        v = V.bload(x, o)
        a0 = V.fma(v, wv, a0)
        b0 = V.fma(v, wv2, b0)
        v = V.bload(x, o + xs)
        a1 = V.fma(v, wv, a1)
        b1 = V.fma(v, wv2, b1)
        v = V.bload(x, o + 2 * xs)
        a2 = V.fma(v, wv, a2)
        b2 = V.fma(v, wv2, b2)
        v = V.bload(x, o + 3 * xs)
        a3 = V.fma(v, wv, a3)
        b3 = V.fma(v, wv2, b3)
        v = V.bload(x, o + 4 * xs)
        a4 = V.fma(v, wv, a4)
        b4 = V.fma(v, wv2, b4)
        v = V.bload(x, o + 5 * xs)
        a5 = V.fma(v, wv, a5)
        b5 = V.fma(v, wv2, b5)
        v = V.bload(x, o + 6 * xs)
        a6 = V.fma(v, wv, a6)
        b6 = V.fma(v, wv2, b6)
        v = V.bload(x, o + 7 * xs)
        a7 = V.fma(v, wv, a7)
        b7 = V.fma(v, wv2, b7)
    return a0, a1, a2, a3, a4, a5, a6, a7, b0, b1, b2, b3, b4, b5, b6, b7


@jit()
def _taps8x2_linear(x, n, xb, xs, wt, wb, wb2, ws, nf2, a0, a1, a2, a3, a4, a5, a6, a7, b0,
                    b1, b2, b3, b4, b5, b6, b7):
    """:func:`_taps8x2` for ``n`` taps at consecutive offsets ``xb, xb + 1, …`` (no offset
    table to read: the addresses are the loop counter plus fixed bases)."""
    return _taps8x2_strided(x, n, xb, 1, xs, wt, wb, wb2, ws, nf2, a0, a1, a2, a3, a4, a5,
                            a6, a7, b0, b1, b2, b3, b4, b5, b6, b7)


@jit()
def _taps8x2_strided(x, n, xb, tstep, xs, wt, wb, wb2, ws, nf2, a0, a1, a2, a3, a4, a5, a6,
                     a7, b0, b1, b2, b3, b4, b5, b6, b7):
    """:func:`_taps8x2` for ``n`` taps ``tstep`` elements apart (tap ``t`` of cell ``k`` at
    ``xb + t·tstep + k·xs``). Callers pass ``tstep`` or ``xs`` as a literal 1 where it is
    one, so that LLVM folds the addresses into constant displacements."""
    for t in range(n):
        o = xb + t * tstep
        wv = V.load(wt, wb + t * ws)
        wv2 = V.load_n(wt, wb2 + t * ws, nf2)
        v = V.bload(x, o)
        a0 = V.fma(v, wv, a0)
        b0 = V.fma(v, wv2, b0)
        v = V.bload(x, o + xs)
        a1 = V.fma(v, wv, a1)
        b1 = V.fma(v, wv2, b1)
        v = V.bload(x, o + 2 * xs)
        a2 = V.fma(v, wv, a2)
        b2 = V.fma(v, wv2, b2)
        v = V.bload(x, o + 3 * xs)
        a3 = V.fma(v, wv, a3)
        b3 = V.fma(v, wv2, b3)
        v = V.bload(x, o + 4 * xs)
        a4 = V.fma(v, wv, a4)
        b4 = V.fma(v, wv2, b4)
        v = V.bload(x, o + 5 * xs)
        a5 = V.fma(v, wv, a5)
        b5 = V.fma(v, wv2, b5)
        v = V.bload(x, o + 6 * xs)
        a6 = V.fma(v, wv, a6)
        b6 = V.fma(v, wv2, b6)
        v = V.bload(x, o + 7 * xs)
        a7 = V.fma(v, wv, a7)
        b7 = V.fma(v, wv2, b7)
    return a0, a1, a2, a3, a4, a5, a6, a7, b0, b1, b2, b3, b4, b5, b6, b7


@jit()
def _taps8x2_at(x, n, x0, x1, x2, x3, x4, x5, x6, x7, wt, wb, wb2, ws, nf2, a0, a1, a2, a3, a4,
                a5, a6, a7, b0, b1, b2, b3, b4, b5, b6, b7):
    """:func:`_taps8x2` for ``n`` taps at consecutive offsets from 8 cells of their own
    bases ``x0 … x7`` (tap ``t`` of cell ``k`` at ``x<k> + t``: cells need not be equally
    apart, e.g. a block crossing the end of a row)."""
    for t in range(n):
        wv = V.load(wt, wb + t * ws)
        wv2 = V.load_n(wt, wb2 + t * ws, nf2)
        v = V.bload(x, x0 + t)
        a0 = V.fma(v, wv, a0)
        b0 = V.fma(v, wv2, b0)
        v = V.bload(x, x1 + t)
        a1 = V.fma(v, wv, a1)
        b1 = V.fma(v, wv2, b1)
        v = V.bload(x, x2 + t)
        a2 = V.fma(v, wv, a2)
        b2 = V.fma(v, wv2, b2)
        v = V.bload(x, x3 + t)
        a3 = V.fma(v, wv, a3)
        b3 = V.fma(v, wv2, b3)
        v = V.bload(x, x4 + t)
        a4 = V.fma(v, wv, a4)
        b4 = V.fma(v, wv2, b4)
        v = V.bload(x, x5 + t)
        a5 = V.fma(v, wv, a5)
        b5 = V.fma(v, wv2, b5)
        v = V.bload(x, x6 + t)
        a6 = V.fma(v, wv, a6)
        b6 = V.fma(v, wv2, b6)
        v = V.bload(x, x7 + t)
        a7 = V.fma(v, wv, a7)
        b7 = V.fma(v, wv2, b7)
    return a0, a1, a2, a3, a4, a5, a6, a7, b0, b1, b2, b3, b4, b5, b6, b7


@jit()
def _taps8_at(x, n, x0, x1, x2, x3, x4, x5, x6, x7, wt, wb, ws, nf, a0, a1, a2, a3, a4, a5, a6,
              a7):
    """:func:`_taps8x2_at` for one block of ``nf`` filters (8 cells × 16)."""
    for t in range(n):
        wv = V.load_n(wt, wb + t * ws, nf)
        a0 = V.fma(V.bload(x, x0 + t), wv, a0)
        a1 = V.fma(V.bload(x, x1 + t), wv, a1)
        a2 = V.fma(V.bload(x, x2 + t), wv, a2)
        a3 = V.fma(V.bload(x, x3 + t), wv, a3)
        a4 = V.fma(V.bload(x, x4 + t), wv, a4)
        a5 = V.fma(V.bload(x, x5 + t), wv, a5)
        a6 = V.fma(V.bload(x, x6 + t), wv, a6)
        a7 = V.fma(V.bload(x, x7 + t), wv, a7)
    return a0, a1, a2, a3, a4, a5, a6, a7


@jit()
def _taps8_strided(x, n, xb, tstep, xs, wt, wb, ws, nf, a0, a1, a2, a3, a4, a5, a6, a7):
    """:func:`_taps8x2_strided` for one block of ``nf`` filters (8 cells × 16)."""
    for t in range(n):
        o = xb + t * tstep
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


@jit()
def _load8(out, ob, step, nf):
    """The first ``nf`` lanes of the 8 vectors at ``ob + k·step`` (running sums waiting
    in the output between chunks of taps)."""
    return (V.load_n(out, ob, nf), V.load_n(out, ob + step, nf),
            V.load_n(out, ob + 2 * step, nf), V.load_n(out, ob + 3 * step, nf),
            V.load_n(out, ob + 4 * step, nf), V.load_n(out, ob + 5 * step, nf),
            V.load_n(out, ob + 6 * step, nf), V.load_n(out, ob + 7 * step, nf))
