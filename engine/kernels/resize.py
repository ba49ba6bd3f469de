"""Image resizing as Keras 3's ``UpSampling2D(interpolation=...)`` computes it (TF backend).

Keras calls ``ops.image.resize(x, (H*sh, W*sw), interpolation=m)`` which, with the TensorFlow
backend and ``antialias=False``, is ``tf.image.resize(x, size, method=m)``. TensorFlow dispatches:

=========== ==================================================================================
bilinear    ``ResizeBilinear(half_pixel_centers=True)``: ``src = (o + .5) * in/out - .5``;
            lower = max(floor(src), 0), upper = min(ceil(src), in-1), lerp = src - floor(src);
            columns first then rows, in the form ``a + (b - a) * t``.
nearest     ``ResizeNearestNeighbor(half_pixel_centers=True)``:
            ``src = clamp(floor((o + .5) * in/out), 0, in-1)``.
            (``UpSampling2D`` itself never resizes for "nearest": it repeats; for integer
            factors the two agree.)
bicubic     ``ResizeBicubic(half_pixel_centers=True)``: Keys cubic a=-0.5 looked up in TF's
            1024-entry coefficient table (``lrintf(frac * 1024)``); taps outside the image get
            weight 0 and the 4 weights are renormalised; rows first, then columns.
lanczos3/5  ``ScaleAndTranslate(kernel_type=lanczosN, antialias=False)``: span of
            ``min(2N+1, in)`` taps, ``sample = (o + .5) / (out/in)``, taps
            ``ceil(sample - N - .5) .. floor(sample + N - .5)`` clipped to the image, weights
            ``lanczosN(src + .5 - sample)`` normalised to sum 1; rows first, then columns.
area        ``ResizeArea``: output cell ``[o*s, (o+1)*s)`` with ``s = in/out`` covers source
            cells with their overlap as weight (indices beyond the edge, produced by float
            rounding, read the edge cell); columns first, then rows, then ``* 1/(s_h*s_w)``.
=========== ==================================================================================

All weight tables are computed in float32 with TF's operation order (the bicubic table in
double, as TF does; the lanczos sine with the C library's ``sinf`` through ctypes, as TF's
``std::sin(float)``), and the Numba kernels accumulate in float32 in TF's order. Against
TF 2.21 on x86-64 the results were bit-identical for every method and size tried (integer and
non-integer factors, down-scaling too). Setting ``CONVLAB_JIT_FASTMATH=1`` gives that up.

Public functions: :func:`resize2d` and :func:`resize_weights`.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from engine.kernels.jit import jit, prange

METHODS = ("bilinear", "nearest", "bicubic", "lanczos3", "lanczos5", "area")

_F = np.float32
# Pass modes for the kernels.
_SUM = 0  # out = sum_t w[t] * in[clamp(start + t)]   (accumulated from 0, in tap order)
_LERP = 1  # out = a + (b - a) * w[1], a = in[clamp(start)], b = in[clamp(start + 1)]
_COPY = 2  # out = in[clamp(start)]


# --------------------------------------------------------------------------------------------
# 1-D weight tables (NumPy, float32 arithmetic in TensorFlow's order)
# --------------------------------------------------------------------------------------------


def _check(in_size: int, out_size: int, method: str) -> tuple[int, int, str]:
    if method not in METHODS:
        raise ValueError(f"Unknown interpolation method {method!r}; expected one of {METHODS}")
    in_size, out_size = int(in_size), int(out_size)
    if in_size < 1 or out_size < 1:
        raise ValueError(f"Sizes must be >= 1, got in_size={in_size}, out_size={out_size}")
    return in_size, out_size, method


def _resize_scale(in_size: int, out_size: int) -> np.float32:
    """TF's ``CalculateResizeScale`` without align_corners: ``in / (float) out``."""
    return _F(in_size) / _F(out_size)


def _plan_bilinear(in_size, out_size):
    scale = _resize_scale(in_size, out_size)
    o = np.arange(out_size, dtype=_F)
    src = (o + _F(0.5)) * scale - _F(0.5)
    fl = np.floor(src)
    lerp = (src - fl).astype(_F)
    starts = fl.astype(np.int64)
    weights = np.stack([(_F(1) - lerp).astype(_F), lerp], axis=1)
    return starts, weights, _LERP


def _plan_nearest(in_size, out_size):
    scale = _resize_scale(in_size, out_size)
    o = np.arange(out_size, dtype=_F)
    src = np.floor((o + _F(0.5)) * scale).astype(np.int64)
    starts = np.clip(src, 0, in_size - 1)
    return starts, np.ones((out_size, 1), _F), _COPY


_TABLE_SIZE = 1024


@lru_cache(maxsize=None)
def _keys_table(a: float = -0.5) -> np.ndarray:
    """TF's ``InitCoeffsTable(a)``: float x = i/1024 (double -> float), polynomial in double."""
    x = (np.arange(_TABLE_SIZE + 1, dtype=np.float64) * 1.0 / _TABLE_SIZE).astype(_F)
    x = x.astype(np.float64)
    table = np.empty((_TABLE_SIZE + 1, 2), np.float32)
    table[:, 0] = (((a + 2) * x - (a + 3)) * x * x + 1).astype(_F)
    x1 = (x.astype(_F) + _F(1.0)).astype(np.float64)
    table[:, 1] = (((a * x1 - 5 * a) * x1 + 8 * a) * x1 - 4 * a).astype(_F)
    return table


def _plan_bicubic(in_size, out_size):
    scale = _resize_scale(in_size, out_size)
    table = _keys_table(-0.5)
    o = np.arange(out_size, dtype=_F)
    in_loc_f = (o + _F(0.5)) * scale - _F(0.5)
    in_loc = np.floor(in_loc_f).astype(np.int64)
    delta = (in_loc_f - in_loc.astype(_F)).astype(_F)
    offset = np.rint(delta * _F(_TABLE_SIZE)).astype(np.int64)  # lrintf: half to even
    w = np.stack(
        [
            table[offset, 1],
            table[offset, 0],
            table[_TABLE_SIZE - offset, 0],
            table[_TABLE_SIZE - offset, 1],
        ],
        axis=1,
    ).astype(_F)
    starts = in_loc - 1
    idx = starts[:, None] + np.arange(4)[None, :]
    w = np.where((idx >= 0) & (idx < in_size), w, _F(0)).astype(_F)
    total = ((w[:, 0] + w[:, 1]) + w[:, 2]) + w[:, 3]
    ok = np.abs(total) >= _F(1000.0) * np.finfo(_F).tiny
    inv = np.where(ok, _F(1) / np.where(ok, total, _F(1)), _F(1)).astype(_F)
    w = np.where(ok[:, None], w * inv[:, None], w).astype(_F)
    return starts, w, _SUM


_KPI = _F(3.14159265359)


def _load_sinf():
    """The C library's ``sinf`` (what TF's ``std::sin(float)`` calls), vectorised; ``None`` if
    it cannot be loaded (then a correctly rounded float64 sine is used: differs in ~1% of
    arguments by 1 ulp)."""
    try:
        import ctypes
        import ctypes.util

        lib = ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6")
        fn = lib.sinf
        fn.restype = ctypes.c_float
        fn.argtypes = [ctypes.c_float]
        if fn(1.0) != np.float32(np.sin(1.0)):
            return None
        return np.frompyfunc(fn, 1, 1)
    except (OSError, AttributeError):  # pragma: no cover - platform without libm
        return None


_SINF = _load_sinf()


def _sinf(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=_F)
    if _SINF is not None:
        return np.asarray(_SINF(a), dtype=_F).reshape(a.shape)
    return np.sin(a.astype(np.float64)).astype(_F)  # pragma: no cover


def _lanczos(x: np.ndarray, radius: np.float32) -> np.ndarray:
    """TF's ``LanczosKernelFunc`` in float32, operation by operation."""
    x = np.abs(np.asarray(x, dtype=_F))
    tiny = x.astype(np.float64) <= 1e-3  # C++ compares float with the double 1e-3
    safe = np.where(tiny, _F(1), x).astype(_F)
    arg1 = (_KPI * safe).astype(_F)
    arg2 = (arg1 / radius).astype(_F)
    num = ((radius * _sinf(arg1)).astype(_F) * _sinf(arg2)).astype(_F)
    den = (((_KPI * _KPI) * safe).astype(_F) * safe).astype(_F)
    val = np.where(tiny, _F(1), (num / den).astype(_F))
    return np.where(x > radius, _F(0), val).astype(_F)


def _plan_lanczos(in_size, out_size, radius_int):
    """TF's ``ComputeSpansCore`` (scale_and_translate_op.cc) with antialias=False."""
    radius = _F(radius_int)
    scale = _F(out_size) / _F(in_size)  # tf: cast(new_size, f32) / cast(shape, f32)
    inv_scale = _F(1.0 / np.float64(scale))  # C++: const float inv_scale = 1.0 / scale
    inv_translate = -inv_scale * _F(0.0)
    span = min(2 * int(np.ceil(radius_int)) + 1, in_size)
    o = np.arange(out_size, dtype=_F)
    sample = ((o + _F(0.5)) * inv_scale + inv_translate).astype(_F)
    empty = (sample < 0) | (sample > _F(in_size))  # TF: empty span, output 0
    lo = np.ceil(((sample - radius).astype(_F) - _F(0.5)).astype(_F)).astype(np.int64)
    hi = np.floor(((sample + radius).astype(_F) - _F(0.5)).astype(_F)).astype(np.int64)
    lo = np.clip(lo, 0, in_size - 1)
    hi = np.clip(hi, 0, in_size - 1) + 1
    src = lo[:, None] + np.arange(span)[None, :]
    inside = src < hi[:, None]
    pos = ((src.astype(_F) + _F(0.5)) - sample[:, None]).astype(_F)
    w = np.where(inside, _lanczos(pos, radius), _F(0)).astype(_F)
    total = np.zeros(out_size, _F)
    for t in range(span):  # sequential float32 sum, as TF
        total = (total + w[:, t]).astype(_F)
    ok = (np.abs(total) >= _F(1000.0) * np.finfo(_F).tiny) & ~empty
    inv = (_F(1) / np.where(ok, total, _F(1))).astype(_F)
    weights = np.where(ok[:, None], (w * inv[:, None]).astype(_F), _F(0)).astype(_F)
    starts = np.where(empty, 0, lo)
    return starts, weights, _SUM


def _plan_area(in_size, out_size):
    """Per-axis part of TF's ``ResizeArea`` (the 1/(sh*sw) factor is applied afterwards)."""
    s = _resize_scale(in_size, out_size)
    o = np.arange(out_size, dtype=_F)
    lo_f = (o * s).astype(_F)
    hi_f = ((o + _F(1)) * s).astype(_F)
    start = np.floor(lo_f).astype(np.int64)
    end = np.ceil(hi_f).astype(np.int64)
    taps = int((end - start).max())
    starts = start
    weights = np.zeros((out_size, taps), _F)
    for t in range(taps):
        i = start + t
        valid = i < end
        i_f = i.astype(_F)
        i1_f = (i + 1).astype(_F)
        w = np.where(
            i_f < lo_f,
            np.where(i1_f > hi_f, s, (i1_f - lo_f).astype(_F)),
            np.where(i1_f > hi_f, (hi_f - i_f).astype(_F), _F(1)),
        ).astype(_F)
        weights[:, t] = np.where(valid, w, _F(0))
    return starts, weights, _SUM


@lru_cache(maxsize=256)
def _plan(in_size: int, out_size: int, method: str):
    """``(starts, weights, index, mode)`` for one axis, as the kernels consume them.

    ``index[o, t] = clamp(starts[o] + t, 0, in_size - 1)``; ``mode`` is ``_SUM``, ``_LERP`` or
    ``_COPY`` (see the kernels)."""
    if method == "bilinear":
        plan = _plan_bilinear(in_size, out_size)
    elif method == "nearest":
        plan = _plan_nearest(in_size, out_size)
    elif method == "bicubic":
        plan = _plan_bicubic(in_size, out_size)
    elif method == "lanczos3":
        plan = _plan_lanczos(in_size, out_size, 3)
    elif method == "lanczos5":
        plan = _plan_lanczos(in_size, out_size, 5)
    else:
        plan = _plan_area(in_size, out_size)
    starts, weights, mode = plan
    starts = np.ascontiguousarray(starts, np.int64)
    weights = np.ascontiguousarray(weights, np.float32)
    taps = max(weights.shape[1], 2 if mode == _LERP else 1)
    index = np.clip(starts[:, None] + np.arange(taps)[None, :], 0, in_size - 1)
    index = np.ascontiguousarray(index, np.int64)
    for arr in (starts, weights, index):
        arr.setflags(write=False)
    return starts, weights, index, mode


def resize_weights(in_size: int, out_size: int, method: str) -> tuple[np.ndarray, np.ndarray]:
    """Separable 1-D weights of ``method`` for one axis resized from ``in_size`` to ``out_size``.

    Returns ``(starts, weights)``: ``starts`` ``(out_size,)`` int64 and ``weights``
    ``(out_size, taps)`` float32 such that, along that axis,

        ``out[o] = sum_t weights[o, t] * in[clamp(starts[o] + t, 0, in_size - 1)]``

    Border rule: source indices are always *clamped* to ``[0, in_size - 1]`` (edge
    replication); ``starts[o]`` may be negative and ``starts[o] + t`` may pass the end.

    - bilinear: ``starts[o] = floor(src)``, ``weights[o] = (1 - f, f)``; near the borders the
      out-of-range tap has a non-zero weight and reads the edge cell (TF: ``lower =
      max(floor, 0)``, ``upper = min(ceil, in - 1)``), so clamping is essential here.
    - bicubic, lanczos3/5: taps outside the image have weight 0 and the others are
      renormalised to sum 1 (TF's rule), so clamping and skipping agree.
    - nearest: one tap, weight 1, already inside the image.
    - area: the cells each output cell overlaps, weighted by overlap and normalised by
      ``out/in`` (sum 1). Float rounding of ``(o + 1) * in/out`` can make the last cell reach a
      hair (~1e-7) past the edge; that sliver reads the clamped edge cell, as in TF.

    :func:`resize2d` is this applied along H and along W. It follows TF's order of operations
    (e.g. bilinear as ``a + (b - a) * f``; area with the normalisation applied last), so
    rebuilding from these weights matches it to float32 rounding, not bit for bit.
    """
    in_size, out_size, method = _check(in_size, out_size, method)
    starts, weights, _, _ = _plan(in_size, out_size, method)
    weights = np.array(weights, dtype=np.float32)
    if method == "area":
        s = np.float64(_resize_scale(in_size, out_size))
        weights = (weights.astype(np.float64) / s).astype(np.float32)
    return np.array(starts, dtype=np.int64), weights


# --------------------------------------------------------------------------------------------
# Numba kernels: one 1-D pass along H or along W (channels-last)
# --------------------------------------------------------------------------------------------


@jit(parallel=True)
def _pass_h(x, index, weights, mode, post, out):
    """Resize along axis 1: ``x`` (N, H, L) → ``out`` (N, OH, L), ``L`` = W*C.

    mode 0: ``out = (sum_t weights[o, t] * x[index[o, t]]) * post`` accumulated from 0 in tap
    order (``* post`` skipped when post == 1); mode 1: ``a + (b - a) * weights[o, 1]`` with
    ``a, b`` = rows ``index[o, 0], index[o, 1]``; mode 2: copy row ``index[o, 0]``.
    """
    n_batch, _, length = x.shape
    out_h = out.shape[1]
    taps = weights.shape[1]
    for r in prange(n_batch * out_h):
        n = r // out_h
        o = r % out_h
        orow = out[n, o]
        if mode == 2:
            irow = x[n, index[o, 0]]
            for j in range(length):
                orow[j] = irow[j]
        elif mode == 1:
            arow = x[n, index[o, 0]]
            brow = x[n, index[o, 1]]
            t = weights[o, 1]
            for j in range(length):
                a = arow[j]
                orow[j] = a + (brow[j] - a) * t
        else:
            for j in range(length):
                orow[j] = np.float32(0.0)
            for k in range(taps):
                wt = weights[o, k]
                irow = x[n, index[o, k]]
                for j in range(length):
                    orow[j] += wt * irow[j]
            if post != np.float32(1.0):
                for j in range(length):
                    orow[j] = orow[j] * post


@jit(parallel=True)
def _pass_w(x, index, weights, mode, post, out):
    """Resize along axis 1 of ``x`` (R, W, C) → ``out`` (R, OW, C), R = N*H; modes as
    :func:`_pass_h` (here the taps are columns and each channel is accumulated separately)."""
    rows, _, ch = x.shape
    out_w = out.shape[1]
    taps = weights.shape[1]
    scaled = post != np.float32(1.0)
    for r in prange(rows):
        xr = x[r]
        orow = out[r]
        if mode == 2:
            for o in range(out_w):
                i0 = index[o, 0]
                for c in range(ch):
                    orow[o, c] = xr[i0, c]
        elif mode == 1 and ch == 3:
            for o in range(out_w):
                i0 = index[o, 0]
                i1 = index[o, 1]
                t = weights[o, 1]
                a0 = xr[i0, 0]
                a1 = xr[i0, 1]
                a2 = xr[i0, 2]
                orow[o, 0] = a0 + (xr[i1, 0] - a0) * t
                orow[o, 1] = a1 + (xr[i1, 1] - a1) * t
                orow[o, 2] = a2 + (xr[i1, 2] - a2) * t
        elif mode == 1:
            for o in range(out_w):
                i0 = index[o, 0]
                i1 = index[o, 1]
                t = weights[o, 1]
                for c in range(ch):
                    a = xr[i0, c]
                    orow[o, c] = a + (xr[i1, c] - a) * t
        elif ch == 3:  # RGB: one pass over the taps, three scalar accumulators
            for o in range(out_w):
                acc0 = np.float32(0.0)
                acc1 = np.float32(0.0)
                acc2 = np.float32(0.0)
                for k in range(taps):
                    wt = weights[o, k]
                    i = index[o, k]
                    acc0 += wt * xr[i, 0]
                    acc1 += wt * xr[i, 1]
                    acc2 += wt * xr[i, 2]
                if scaled:
                    acc0 = acc0 * post
                    acc1 = acc1 * post
                    acc2 = acc2 * post
                orow[o, 0] = acc0
                orow[o, 1] = acc1
                orow[o, 2] = acc2
        else:
            for o in range(out_w):
                for c in range(ch):
                    acc = np.float32(0.0)
                    for k in range(taps):
                        acc += weights[o, k] * xr[index[o, k], c]
                    if scaled:
                        acc = acc * post
                    orow[o, c] = acc


# TF's pass order: columns (W) first for these, rows (H) first for bicubic and lanczos.
_W_FIRST = {"bilinear": True, "area": True, "nearest": True}


def resize2d(x: np.ndarray, out_h: int, out_w: int, method: str) -> np.ndarray:
    """Resize ``x`` ``(N, H, W, C)`` (channels-last) to ``(N, out_h, out_w, C)`` float32.

    Equal (to float32 rounding) to ``tf.image.resize(x, (out_h, out_w), method=method,
    antialias=False)``, which is what Keras 3's TF backend runs for ``UpSampling2D`` with
    ``interpolation=method`` (for "nearest", UpSampling2D repeats instead; for integer
    factors that is the same).
    """
    x = np.ascontiguousarray(x, dtype=np.float32)
    if x.ndim != 4:
        raise ValueError(f"resize2d expects a 4-D (N, H, W, C) array, got shape {x.shape}")
    n, in_h, in_w, ch = x.shape
    if in_h < 1 or in_w < 1:
        raise ValueError(f"resize2d needs a non-empty image, got shape {x.shape}")
    _, out_h, method = _check(in_h, out_h, method)
    _, out_w, method = _check(in_w, out_w, method)
    if n == 0 or ch == 0:
        return np.zeros((n, out_h, out_w, ch), np.float32)

    _, wh, ih, mh = _plan(in_h, out_h, method)
    _, ww, iw, mw = _plan(in_w, out_w, method)
    post = np.float32(1.0)
    if method == "area":
        hs = _resize_scale(in_h, out_h)
        ws = _resize_scale(in_w, out_w)
        post = np.float32(1.0 / np.float64(_F(hs * ws)))  # C++: float scale = 1.0 / (hs * ws)
    one = np.float32(1.0)

    out = np.empty((n, out_h, out_w, ch), np.float32)
    if _W_FIRST.get(method, False):
        tmp = np.empty((n, in_h, out_w, ch), np.float32)
        _pass_w(x.reshape(n * in_h, in_w, ch), iw, ww, mw, one, tmp.reshape(n * in_h, out_w, ch))
        _pass_h(tmp.reshape(n, in_h, -1), ih, wh, mh, post, out.reshape(n, out_h, -1))
    else:
        tmp = np.empty((n, out_h, in_w, ch), np.float32)
        _pass_h(x.reshape(n, in_h, -1), ih, wh, mh, one, tmp.reshape(n, out_h, -1))
        _pass_w(tmp.reshape(n * out_h, in_w, ch), iw, ww, mw, post, out.reshape(-1, out_w, ch))
    return out
