"""Per-axis geometry of the gather convolution (see :mod:`engine.kernels.conv`), without
any table of output cells × kernel taps.

One spatial axis: ``n_in`` input cells, ``n_out`` output cells, ``k`` taps, stride ``s``,
dilation ``d``, ``pad`` zeros before the input:

- convolution: output ``o`` reads input ``base(o) + t·d`` through tap ``t``,
  ``base(o) = o·s − pad``;
- transposed convolution: with ``q = o + pad``, the *phase* ``r = q mod s`` owns the taps
  ``t`` with ``t·d ≡ r (mod s)`` — ``t0, t0 + m, t0 + 2m, …`` with ``m = s / gcd(s, d)`` —
  and output ``o`` reads input ``base(o) + (r − t·d)/s``, ``base(o) = q div s``.

Outputs are visited *phase by phase*: phases in ascending ``r``, the outputs of a phase
``s`` apart (a convolution has one phase, its outputs 1 apart). The taps of output ``o``
that land inside the input are the phase's taps from ``first(o)`` to ``last(o)``, both
monotone along a phase, so equal tap sets are consecutive in this order: a *class* (one
tap set) is found by comparing neighbours. Outputs without any tap share one class (class
0 when there is one). Every scan is O(n_out) time; besides its outputs, O(1) memory.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from engine.kernels.jit import jit

# entries of the statistics array returned by scan() (all counts are per axis)
NCLS, EMPTY, TABLE, REAL, FULL, NRUNS, LONGEST, LO, HI = range(9)
P_NCLS, P_EMPTY, P_TABLE, NPHASES, MAXCOUNT = range(9, 14)
N_STATS = 14


@jit()
def _gcd(a, b):
    while b:
        a, b = b, a % b
    return a


@jit()
def _inverse(a, m):
    """``a⁻¹ mod m`` for ``gcd(a, m) = 1`` (extended Euclid); 0 when ``m = 1``."""
    old_r, r = a % m, m
    old_x, x = 1, 0
    while r != 0:
        q = old_r // r
        old_r, r = r, old_r - q * r
        old_x, x = x, old_x - q * x
    return old_x % m


@jit()
def _phase(j, n_out, s, pad, transposed):
    """The ``j``-th phase present, in ascending order → (r, first output, outputs in it).
    The phases present are ``(pad + i) mod s`` for ``i < min(s, n_out)``."""
    if not transposed:
        return 0, 0, n_out
    p0 = pad % s
    wrap = p0 + min(s, n_out) - s
    if wrap > 0:
        r = j if j < wrap else p0 + (j - wrap)
    else:
        r = p0 + j
    o0 = (r - p0) % s
    return r, o0, (n_out - 1 - o0) // s + 1


@jit()
def _progression(s, d, transposed):
    """``(g, m, inv)`` shared by all phases: ``g = gcd(d, s)``, tap step ``m = s / g``,
    ``inv = (d / g)⁻¹ mod m``."""
    if not transposed:
        return 1, 1, 0
    g = _gcd(d, s)
    m = s // g
    return g, m, _inverse((d // g) % m, m)


@jit()
def _phase_taps(r, k, transposed, g, m, inv):
    """Taps of phase ``r``: ``(t0, m, count)`` — ``t0, t0 + m, …``, ``count`` of them
    (``g, m, inv`` from :func:`_progression`)."""
    if not transposed:
        return 0, 1, k
    if r % g:
        return 0, m, 0
    t0 = ((r // g) % m) * inv % m
    return t0, m, (k - 1 - t0) // m + 1 if t0 < k else 0


@jit()
def _window(o, n_in, k, s, d, pad, transposed):
    """``(base, lo, hi)``: the input base of output ``o`` and the taps ``lo … hi`` (of any
    phase) whose input index lies in ``[0, n_in)``."""
    if transposed:
        q = o + pad
        base = q // s
        lo = -(((n_in - 1) * s - q) // d)  # ceil((q − (n_in − 1)·s) / d)
        hi = q // d
    else:
        base = o * s - pad
        lo = -(base // d)  # ceil(−base / d)
        hi = (n_in - 1 - base) // d
    return base, max(lo, 0), min(hi, k - 1)


@jit()
def scan(n_in, n_out, k, s, d, pad, transposed, cls, base, keys):
    """Visit the outputs phase by phase; returns the int64 statistics (indices above):

    NCLS / EMPTY: nonempty classes / 1 if some output has no tap; TABLE: taps summed over
    the nonempty classes; REAL: taps summed over the outputs; FULL: the same counting
    every tap of the output's phase (a zero-padded input); NRUNS / LONGEST: runs of one
    class along a phase and the longest; LO / HI: smallest / largest input index any
    phase tap reads (0 included); P_*: NCLS, EMPTY, TABLE once padded so that every tap
    lands inside; NPHASES; MAXCOUNT: most outputs of one phase.

    If ``cls`` is not empty, fills ``cls[o]`` (class, empty = −1 here), ``base[o]`` and
    ``keys[c] = (first tap, last tap, phase, index of the phase among those with taps)`` of
    nonempty class ``c`` (shapes ``(n_out,)``, ``(n_out,)``, ``(NCLS, 4)``).
    """
    fill = cls.shape[0] > 0
    st = np.zeros(N_STATS, np.int64)
    g, m_, inv = _progression(s, d, transposed)
    step = s if transposed else 1
    nph = min(s, n_out) if transposed else 1
    pf, pl = 1, 0  # key of the previous output in visiting order ((1, 0): no tap)
    for j in range(nph):
        r, o0, cnt = _phase(j, n_out, s, pad, transposed)
        t0, m, ntap = _phase_taps(r, k, transposed, g, m_, inv)
        st[FULL] += cnt * ntap
        st[MAXCOUNT] = max(st[MAXCOUNT], cnt)
        if ntap > 0:
            st[P_NCLS] += 1
            st[P_TABLE] += ntap
            t_last = t0 + (ntap - 1) * m
            b_first = _window(o0, n_in, k, s, d, pad, transposed)[0]
            b_last = _window(o0 + (cnt - 1) * step, n_in, k, s, d, pad, transposed)[0]
            if transposed:
                st[LO] = min(st[LO], b_first + (r - t_last * d) // s)
                st[HI] = max(st[HI], b_last + (r - t0 * d) // s)
            else:
                st[LO] = min(st[LO], b_first)
                st[HI] = max(st[HI], b_last + (k - 1) * d)
        else:
            st[P_EMPTY] = 1
        run_cls = -2
        run_len = 0
        for i in range(cnt):
            o = o0 + i * step
            b, lo, hi = _window(o, n_in, k, s, d, pad, transposed)
            first, last = 1, 0
            if ntap > 0:
                first = lo + (t0 - lo) % m
                last = hi - (hi - t0) % m
            if first <= last:
                n = (last - first) // m + 1
                st[REAL] += n
                if first != pf or last != pl:
                    if fill:
                        keys[st[NCLS], 0] = first
                        keys[st[NCLS], 1] = last
                        keys[st[NCLS], 2] = r
                        keys[st[NCLS], 3] = st[P_NCLS] - 1
                    st[NCLS] += 1
                    st[TABLE] += n
                c = st[NCLS] - 1
            else:
                c = -1
                st[EMPTY] = 1
            pf, pl = first, last
            if fill:
                cls[o] = c
                base[o] = b
            if c != run_cls:
                st[NRUNS] += 1
                run_cls = c
                run_len = 0
            run_len += 1
            st[LONGEST] = max(st[LONGEST], run_len)
    st[NPHASES] = nph
    return st


@lru_cache(maxsize=256)
def statistics(n_in, n_out, k, s, d, pad, transposed):
    """:func:`scan`'s statistics as a tuple of ints (cached: the layout choice and the plan
    ask for the same axes)."""
    none = np.empty(0, np.int64)
    return tuple(int(v) for v in scan(n_in, n_out, k, s, d, pad, transposed, none, none,
                                      np.empty((0, 4), np.int64)))


def padding(stats, n_in):
    """Zeros ``(before, after)`` that put every tap of every output inside the input."""
    return max(0, -int(stats[LO])), max(0, int(stats[HI]) + 1 - n_in)


@jit()
def phase_taps(n_out, k, s, d, pad, transposed, n_phases):
    """The phases with taps, in visiting order: rows (phase r, first tap t0, tap step m,
    taps); ``n_phases`` = ``scan(...)[P_NCLS]``."""
    out = np.empty((n_phases, 4), np.int64)
    g, m_, inv = _progression(s, d, transposed)
    j = 0
    for i in range(min(s, n_out) if transposed else 1):
        r = _phase(i, n_out, s, pad, transposed)[0]
        t0, m, ntap = _phase_taps(r, k, transposed, g, m_, inv)
        if ntap > 0:
            out[j, 0] = r
            out[j, 1] = t0
            out[j, 2] = m
            out[j, 3] = ntap
            j += 1
    return out


def classes(n_in, n_out, k, s, d, pad, transposed):
    """Output classes along one axis, as ranges of the phases' tap lists.

    Returns ``(cls, base, pstart, tap, rel, ranges, stats)``: output ``o`` (of ``n_out``)
    has class ``cls[o]`` and input base ``base[o]``; the ``j``-th phase with taps lists its
    taps ``tap[pstart[j]:pstart[j + 1]]`` (ascending; ``stats[P_TABLE]`` in all), reading
    input ``base + rel`` (same slice of ``rel``); class ``c`` has the taps
    ``i0 … i1 − 1`` of phase ``j`` for ``ranges[c] = (j, i0, i1)`` (class 0 is the empty
    class, ``(0, 0, 0)``, when ``stats[EMPTY]``).
    """
    stats = statistics(n_in, n_out, k, s, d, pad, transposed)
    cls = np.empty(n_out, np.int64)
    base = np.empty(n_out, np.int64)
    keys = np.empty((stats[NCLS], 4), np.int64)
    scan(n_in, n_out, k, s, d, pad, transposed, cls, base, keys)
    empty = stats[EMPTY]
    cls += empty
    phases = phase_taps(n_out, k, s, d, pad, transposed, stats[P_NCLS])
    phase, t0, m, ntap = phases.T
    pstart = np.zeros(len(phases) + 1, np.int64)
    np.cumsum(ntap, out=pstart[1:])
    within = np.arange(int(pstart[-1]), dtype=np.int64) - np.repeat(pstart[:-1], ntap)
    tap = np.repeat(t0, ntap) + np.repeat(m, ntap) * within
    rel = (np.repeat(phase, ntap) - tap * d) // s if transposed else tap * d
    ranges = np.zeros((len(keys) + empty, 3), np.int64)
    j = keys[:, 3]
    ranges[empty:, 0] = j
    ranges[empty:, 1] = (keys[:, 0] - t0[j]) // m[j]
    ranges[empty:, 2] = (keys[:, 1] - t0[j]) // m[j] + 1
    return cls, base, pstart, tap, rel, ranges, stats


@jit()
def runs(cls, base, n_out, s, pad, transposed, nruns):
    """Each phase cut into runs of one class: rows (first output, output step, count,
    first base, base step, class), phases in ascending order; steps are those of the
    phase (output step 1 and base step 0 for a phase of one output)."""
    out = np.empty((nruns, 6), np.int64)
    step = s if transposed else 1
    nph = min(s, n_out) if transposed else 1
    ri = 0
    for j in range(nph):
        _, o0, cnt = _phase(j, n_out, s, pad, transposed)
        ostep = step if cnt > 1 else 1
        bstep = base[o0 + step] - base[o0] if cnt > 1 else 0
        i = 0
        while i < cnt:
            o = o0 + i * step
            n = 1
            while i + n < cnt and cls[o + n * step] == cls[o]:
                n += 1
            out[ri, 0] = o
            out[ri, 1] = ostep
            out[ri, 2] = n
            out[ri, 3] = base[o]
            out[ri, 4] = bstep
            out[ri, 5] = cls[o]
            ri += 1
            i += n
    return out


@jit()
def row_groups(cls, ncls, block):
    """Output rows in groups of at most ``block`` rows of one class, evenly spaced: rows
    (first row, row step, count). The rows of a class (ascending) are cut where their
    spacing changes; a piece of one row has step 1."""
    n = cls.shape[0]
    start = np.zeros(ncls + 1, np.int64)
    for o in range(n):
        start[cls[o] + 1] += 1
    for c in range(ncls):
        start[c + 1] += start[c]
    order = np.empty(n, np.int64)
    fill = start[:ncls].copy()
    for o in range(n):
        order[fill[cls[o]]] = o
        fill[cls[o]] += 1
    out = np.empty((n, 3), np.int64)
    g = 0
    for c in range(ncls):
        idx = order[start[c]:start[c + 1]]
        size = idx.shape[0]
        a = 0
        while a < size:
            # a piece ends at j + 2 for the first j ≥ a − 1 where the spacing changes
            # (idx[j + 2] − idx[j + 1] ≠ idx[j + 1] − idx[j])
            j = max(a - 1, 0)
            while j <= size - 3 and idx[j + 2] - idx[j + 1] == idx[j + 1] - idx[j]:
                j += 1
            b = j + 2 if j <= size - 3 else size
            step = idx[a + 1] - idx[a] if b - a > 1 else 1
            for k in range(a, b, block):
                out[g, 0] = idx[k]
                out[g, 1] = step
                out[g, 2] = min(block, b - k)
                g += 1
            a = b
    return out[:g]
