"""One layer along one spatial axis, as receptive-field arithmetic sees it.

Every layer of the family is separable along its spatial axes as far as *which cells* it
reads (and, with all-ones kernels, also *how much*), so each layer becomes one ``AxisOp`` per
spatial axis: a map from output positions (``n_out`` cells) to input positions (``n_in``).

Each op answers four questions:

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

from fractions import Fraction
from functools import lru_cache

import numpy as np

from engine import shapes
from engine.kernels.resize import resize_weights


def _ceil_div(a, s):
    return -((-a) // s)


class AxisOp:
    """Base: subclasses set ``n_in``, ``n_out`` and implement the four questions."""

    n_in: int
    n_out: int
    kernel = 1  # extent read by one output (display)
    stride = Fraction(1)
    pad = (0, 0)  # (before, after) cells of padding added by the layer (display)

    def span(self, lo, hi):
        raise NotImplementedError

    def span_inf(self, lo, hi):
        return self.span(lo, hi)

    def relax(self):
        raise NotImplementedError

    def gather(self, lo, hi):
        raise NotImplementedError

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

    def gather(self, lo, hi):
        o = np.arange(lo, hi + 1, dtype=np.int64)[:, None]
        idx = o * self.s + np.arange(self.k, dtype=np.int64)[None, :] * self.d - self.p
        valid = (idx >= 0) & (idx < self.n_in)
        w = valid.astype(np.float64)
        if self.mean:
            w /= np.maximum(valid.sum(axis=1, keepdims=True), 1)
        return np.where(valid, idx, -1), w


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

    def gather(self, lo, hi):
        o = np.arange(lo, hi + 1, dtype=np.int64)[:, None]
        num = o + self.p - np.arange(self.k, dtype=np.int64)[None, :] * self.d
        idx = num // self.s
        valid = (num % self.s == 0) & (idx >= 0) & (idx < self.n_in)
        return np.where(valid, idx, -1), valid.astype(np.float64)


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

    def gather(self, lo, hi):
        idx = np.arange(lo, hi + 1, dtype=np.int64)[:, None] + self.offset
        valid = (idx >= 0) & (idx < self.n_in)
        return np.where(valid, idx, -1), valid.astype(np.float64)


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

    def gather(self, lo, hi):
        idx = np.arange(lo, hi + 1, dtype=np.int64)[:, None] // self.s
        return idx, np.ones(idx.shape, np.float64)


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

    def gather(self, lo, hi):
        idx, w, _, _ = self._tables
        return idx[lo:hi + 1], w[lo:hi + 1]

    @property
    def signed(self) -> bool:
        return self.method in ("bicubic", "lanczos3", "lanczos5")
