"""One layer along one spatial axis: which input cells, through which kernel taps and with
which weights, make each output cell. The one statement of that rule in the engine.

Every layer of the family is separable along its spatial axes as far as *which cells* it
reads (and, with all-ones kernels, also *how much*), so each layer becomes one ``AxisOp`` per
spatial axis: a map from output positions (``n_out`` cells) to input positions (``n_in``).

Each op answers:

- ``taps(lo, hi)``: for outputs ``lo..hi`` an :class:`AxisTaps` — per output and tap slot, the
  input position read (outside ``[0, n_in)``: padding), the kernel tap index (``-1`` for
  weightless layers) and the weight (interpolation weight, ``1/count`` for average pooling,
  1 for a kernel tap); ``cell_taps(o)`` is the same for one output as a list of :class:`Tap`.
- ``feeds(i)``: the ``(output, tap)`` pairs that input cell ``i`` feeds with a non-zero weight.
- ``pad``: ``(before, after)`` cells of padding the layer adds (negative: cells dropped).

- ``span(lo, hi)``: the hull ``(lo', hi')`` of the input positions read by outputs
  ``lo..hi``, *not clipped* to ``[0, n_in - 1]`` (positions outside are padding or the
  border); works on ints and on int64 arrays. ``span_inf`` is the same on an infinitely long
  input (only interpolating resizes differ: their border taps are renormalised or clamped).
- ``relax()``: ``(J, a, b)`` exact ``Fraction``s such that output ``o`` reads only inputs in
  ``[o·J + a, o·J + b]``, the tightest such affine bounds (Araujo et al.'s stride and
  padding, extended to fractional strides): conv ``(s, −p, −p + d(k−1))``, transposed conv
  ``(1/s, (p − d(k−1))/s, p/s)``, nearest ×s ``(1/s, −(s−1)/s, 0)``.
- ``gather(lo, hi)``: for outputs ``lo..hi``, ``(idx, w)`` with ``out[o] = Σ_t w[o, t] ·
  in[idx[o, t]]`` (``idx = -1``: padding / no tap) for *one channel of all-ones kernels*;
  average (and, without an input, max) pooling weigh ``1/count`` of the real cells per axis.
- ``kernel``, ``stride``, ``pad``: what the table prints for this layer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from engine import shapes
from engine.kernels.resize import resize_weights


def _ceil_div(a, s):
    return -((-a) // s)


class Tap(NamedTuple):
    """One tap of one output cell along one axis.

    ``position``: the input cell read (outside ``[0, n_in)`` it is padding); ``tap``: the
    kernel index (``None`` for weightless layers); ``weight``: 1 for a kernel tap, the
    interpolation weight of a resize, ``1/count`` for average pooling; ``inside``: the
    position is a real input cell."""

    position: int
    tap: int | None
    weight: float
    inside: bool


@dataclass(frozen=True)
class AxisTaps:
    """The taps of outputs ``lo..hi`` along one axis; every array is ``(hi − lo + 1, T)``.

    ``position`` (int64): input cell read; ``tap`` (int64): kernel index, ``-1`` for
    weightless layers; ``weight`` (float64); ``exists`` (bool): the slot is a tap of that
    output at all (a transposed convolution's tap whose stride does not divide, a resize
    weight of exactly 0, are not); ``n_in``: input length."""

    position: np.ndarray
    tap: np.ndarray
    weight: np.ndarray
    exists: np.ndarray
    n_in: int

    @property
    def inside(self) -> np.ndarray:
        """Taps that read a real input cell (not padding)."""
        return self.exists & (self.position >= 0) & (self.position < self.n_in)


class AxisOp:
    """Base: subclasses set ``n_in``, ``n_out`` and implement ``taps``, ``span``, ``relax``."""

    n_in: int
    n_out: int
    kernel = 1  # extent read by one output (display)
    stride = Fraction(1)
    pad = (0, 0)  # (before, after) cells of padding added by the layer (display)

    def taps(self, lo: int, hi: int) -> AxisTaps:
        raise NotImplementedError

    def span(self, lo, hi):
        raise NotImplementedError

    def span_inf(self, lo, hi):
        return self.span(lo, hi)

    def relax(self):
        raise NotImplementedError

    def gather(self, lo, hi):
        """``(idx, w)`` for outputs ``lo..hi``: ``out[o] = Σ_t w[o, t] · in[idx[o, t]]`` for one
        channel of all-ones kernels; ``idx = -1`` where the slot reads padding or is no tap."""
        t = self.taps(lo, hi)
        inside = t.inside
        return np.where(inside, t.position, -1), np.where(inside, t.weight, 0.0)

    def cell_taps(self, o: int) -> list[Tap]:
        """The taps of output ``o`` (padding taps included, slots that are no tap left out)."""
        t = self.taps(o, o)
        inside = t.inside[0]
        return [Tap(int(p), None if k < 0 else int(k), float(w), bool(i))
                for p, k, w, e, i in zip(t.position[0], t.tap[0], t.weight[0], t.exists[0],
                                         inside) if e]

    def reads(self, o: int) -> np.ndarray:
        """The input cells output ``o`` reads with a non-zero weight (padding excluded),
        sorted, each once (int64; dilation leaves gaps between them)."""
        t = self.taps(o, o)
        return np.unique(t.position[0][t.inside[0] & (t.weight[0] != 0)])

    def sources(self, o: int) -> tuple | None:
        """``(first, last)`` of :meth:`reads`, or ``None`` when output ``o`` reads no input."""
        cells = self.reads(o)
        return (int(cells[0]), int(cells[-1])) if cells.size else None

    def feeds(self, i: int) -> list[tuple]:
        """``[(o, tap), …]`` (tap ``None`` for weightless layers), outputs in increasing order:
        every output cell that input cell ``i`` feeds with a non-zero weight."""
        lo, hi = self._feed_window(i)
        lo, hi = max(lo, 0), min(hi, self.n_out - 1)
        if lo > hi:
            return []
        t = self.taps(lo, hi)
        hit = t.inside & (t.position == i) & (t.weight != 0)
        rows, cols = np.nonzero(hit)
        return [(lo + int(r), None if t.tap[r, c] < 0 else int(t.tap[r, c]))
                for r, c in zip(rows, cols)]

    def _feed_window(self, i: int) -> tuple:
        """Outputs that can read input ``i`` (a superset): from the affine bounds of
        :meth:`relax`, ``o·J + a ≤ i ≤ o·J + b``."""
        j, a, b = self.relax()
        return math.ceil((i - b) / j), math.floor((i - a) / j)

    @property
    def signed(self) -> bool:
        """True when some ``gather`` weight can be negative (bicubic / lanczos)."""
        return False


class ConvAxis(AxisOp):
    """Convolution or pooling: output ``o`` reads ``o·s + t·d − p`` for ``t < k``.

    ``mean=True`` (pooling): weights ``1 / (real cells in the window)``, as TensorFlow's
    average pooling (padded cells are not counted)."""

    def __init__(self, n_in, k, s, d, padding, mean=False):
        self.n_in, self.k, self.s, self.d = int(n_in), int(k), int(s), int(d)
        self.pad = shapes.conv_padding(self.n_in, self.k, self.s, self.d, padding)
        self.p = self.pad[0]
        self.n_out = shapes.conv_output_length(self.n_in, self.k, self.s, self.d, padding)
        self.kernel = shapes.effective_kernel(self.k, self.d)
        self.stride = Fraction(self.s)
        self.mean = mean

    def span(self, lo, hi):
        return lo * self.s - self.p, hi * self.s - self.p + self.kernel - 1

    def relax(self):
        return Fraction(self.s), Fraction(-self.p), Fraction(self.kernel - 1 - self.p)

    def taps(self, lo, hi):
        o = np.arange(lo, hi + 1, dtype=np.int64)[:, None]
        t = np.arange(self.k, dtype=np.int64)[None, :]
        pos = o * self.s + t * self.d - self.p
        tap = np.broadcast_to(t, pos.shape)
        exists = np.ones(pos.shape, bool)
        w = np.ones(pos.shape, np.float64)
        if self.mean:
            real = ((pos >= 0) & (pos < self.n_in)).sum(axis=1, keepdims=True)
            w = w / np.maximum(real, 1)
            tap = np.full(pos.shape, -1, np.int64)
        return AxisTaps(pos, tap, w, exists, self.n_in)

    def feeds(self, i):
        if self.mean:
            return super().feeds(i)
        # taps t with q = i + p − t·d a multiple of s in [0, (n_out − 1)·s]
        t_lo = max(_ceil_div(i + self.p - (self.n_out - 1) * self.s, self.d), 0)
        t_hi = min((i + self.p) // self.d, self.k - 1)
        if not 0 <= i < self.n_in or t_lo > t_hi:
            return []
        t = np.arange(t_lo, t_hi + 1, dtype=np.int64)
        q = i + self.p - t * self.d
        ok = q % self.s == 0
        return sorted((int(o), int(k)) for o, k in zip(q[ok] // self.s, t[ok]))


class TransposeAxis(AxisOp):
    """Transposed convolution: input ``i`` feeds outputs ``i·s + t·d − p`` (``t < k``)."""

    def __init__(self, n_in, n_out, k, s, d, padding):
        self.n_in, self.n_out = int(n_in), int(n_out)
        self.k, self.s, self.d = int(k), int(s), int(d)
        self.p = shapes.conv_transpose_padding(self.n_in, self.n_out, self.k, self.s, self.d,
                                               padding)
        self.kernel = shapes.effective_kernel(self.k, self.d)
        full = (self.n_in - 1) * self.s + self.kernel  # the full scatter, before cropping
        self.pad = (-self.p, self.n_out - (full - self.p))  # negative: cells cut (cropped)
        self.stride = Fraction(1, self.s)

    def span(self, lo, hi):
        if self.s == 1:
            return lo + self.p - (self.kernel - 1), hi + self.p
        return _ceil_div(lo + self.p - self.kernel + 1, self.s), (hi + self.p) // self.s

    def relax(self):
        s = Fraction(self.s)
        return 1 / s, Fraction(self.p - self.kernel + 1) / s, Fraction(self.p) / s

    def taps(self, lo, hi):
        o = np.arange(lo, hi + 1, dtype=np.int64)[:, None]
        t = np.arange(self.k, dtype=np.int64)[None, :]
        num = o + self.p - t * self.d
        pos = num // self.s
        exists = (num % self.s == 0) & (pos >= 0) & (pos < self.n_in)
        return AxisTaps(pos, np.broadcast_to(t, pos.shape), np.ones(pos.shape, np.float64),
                        exists, self.n_in)

    def feeds(self, i):
        if not 0 <= i < self.n_in:
            return []
        base = i * self.s - self.p  # output of tap 0
        t_lo = max(_ceil_div(-base, self.d), 0)
        t_hi = min((self.n_out - 1 - base) // self.d, self.k - 1)
        return [(base + t * self.d, t) for t in range(t_lo, t_hi + 1)]


class ShiftAxis(AxisOp):
    """Cropping (``offset = cropped cells before``) or zero padding (``offset = −pad``):
    output ``o`` is input ``o + offset``."""

    def __init__(self, n_in, n_out, offset, pad):
        self.n_in, self.n_out, self.offset = int(n_in), int(n_out), int(offset)
        self.pad = pad

    def span(self, lo, hi):
        return lo + self.offset, hi + self.offset

    def relax(self):
        return Fraction(1), Fraction(self.offset), Fraction(self.offset)

    def taps(self, lo, hi):
        pos = np.arange(lo, hi + 1, dtype=np.int64)[:, None] + self.offset
        return AxisTaps(pos, np.full(pos.shape, -1, np.int64), np.ones(pos.shape, np.float64),
                        np.ones(pos.shape, bool), self.n_in)


class RepeatAxis(AxisOp):
    """Nearest upsampling by ``s`` (Keras repeats): output ``o`` is input ``⌊o/s⌋``."""

    def __init__(self, n_in, s):
        self.n_in, self.s = int(n_in), int(s)
        self.n_out = self.n_in * self.s
        self.stride = Fraction(1, self.s)

    def span(self, lo, hi):
        return lo // self.s, hi // self.s

    def relax(self):
        return Fraction(1, self.s), Fraction(1 - self.s, self.s), Fraction(0)

    def taps(self, lo, hi):
        pos = np.arange(lo, hi + 1, dtype=np.int64)[:, None] // self.s
        return AxisTaps(pos, np.full(pos.shape, -1, np.int64), np.ones(pos.shape, np.float64),
                        np.ones(pos.shape, bool), self.n_in)

@lru_cache(maxsize=64)
def _resize_tables(n_in, n_out, method):
    """Read-only (idx clamped, w, lo, hi): the resize as a gather, and for each output the
    first / last *unclamped* input position with a non-zero weight (made monotone, so that
    the hull of a run of outputs is ``(lo[first], hi[last])``)."""
    starts, weights = resize_weights(n_in, n_out, method)
    raw = starts[:, None] + np.arange(weights.shape[1], dtype=np.int64)[None, :]
    nz = weights != 0
    idx = np.where(nz, np.clip(raw, 0, n_in - 1), -1)
    big = np.iinfo(np.int64).max
    lo = np.where(nz, raw, big).min(axis=1)
    hi = np.where(nz, raw, -big).max(axis=1)
    empty = ~nz.any(axis=1)  # (cannot happen for upsampling; keep the hull sane anyway)
    lo = np.where(empty, 0, lo)
    hi = np.where(empty, -1, hi)
    lo = np.minimum.accumulate(lo[::-1])[::-1].copy()
    hi = np.maximum.accumulate(hi)
    out = (idx, weights.astype(np.float64), lo, hi)
    for arr in out:
        arr.setflags(write=False)
    return out


_PATTERN_CELLS = 48  # synthetic input long enough for lanczos5's interior (radius 5)


@lru_cache(maxsize=64)
def _resize_pattern(s, method):
    """Interior pattern of a ×s resize on an unbounded input: ``lo(o) = ⌊o/s⌋ + plo[o % s]``
    (and ``hi``), the loosest over a dozen interior periods (float32 weights make the
    pattern periodic up to rounding of near-zero taps)."""
    n = _PATTERN_CELLS
    _, _, lo, hi = _resize_tables(n, n * s, method)
    first, last = 16, n - 16
    o = np.arange(first * s, last * s)
    k, r = o // s, o % s
    plo = np.full(s, np.iinfo(np.int64).max)
    phi = np.full(s, np.iinfo(np.int64).min)
    np.minimum.at(plo, r, lo[o] - k)
    np.maximum.at(phi, r, hi[o] - k)
    return tuple(int(v) for v in plo), tuple(int(v) for v in phi)


class ResizeAxis(AxisOp):
    """UpSampling2D with ``interpolation`` (bilinear, bicubic, lanczos3/5, area, and nearest
    as TF resizes it) by an integer factor ``s``: TensorFlow's half-pixel resize weights
    (:func:`engine.kernels.resize.resize_weights`); taps outside the input read the clamped
    edge cell."""

    def __init__(self, n_in, s, method):
        self.n_in, self.s, self.method = int(n_in), int(s), method
        self.n_out = self.n_in * self.s
        self.stride = Fraction(1, self.s)
        plo, phi = _resize_pattern(self.s, method)
        self.kernel = max(h - l for l, h in zip(plo, phi)) + 1

    @property
    def _tables(self):
        return _resize_tables(self.n_in, self.n_out, self.method)

    def span(self, lo, hi):
        _, _, tlo, thi = self._tables
        return tlo[lo], thi[hi]

    def span_inf(self, lo, hi):
        plo, phi = (np.asarray(p, dtype=np.int64) for p in _resize_pattern(self.s, self.method))
        return lo // self.s + plo[lo % self.s], hi // self.s + phi[hi % self.s]

    def relax(self):
        plo, phi = _resize_pattern(self.s, self.method)
        a = min(Fraction(v) - Fraction(r, self.s) for r, v in enumerate(plo))
        b = max(Fraction(v) - Fraction(r, self.s) for r, v in enumerate(phi))
        return Fraction(1, self.s), a, b

    def taps(self, lo, hi):
        idx, w, _, _ = self._tables
        idx, w = idx[lo:hi + 1], w[lo:hi + 1]
        return AxisTaps(idx, np.full(idx.shape, -1, np.int64), w, idx >= 0, self.n_in)

    def feeds(self, i):
        idx, w, _, _ = self._tables
        rows = np.nonzero(((idx == i) & (w != 0)).any(axis=1))[0]
        return [(int(o), None) for o in rows]

    @property
    def signed(self) -> bool:
        return self.method in ("bicubic", "lanczos3", "lanczos5")
