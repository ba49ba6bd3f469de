"""Direct convolution kernels over three spatial axes, channels-last, float32.

Shapes (1D and 2D callers insert unit axes; see :func:`to_3d`):

- ``x``: ``(N, D, H, W, C)`` input, *unpadded*; padding is given as ``pad`` (cells before
  each axis) and taps that fall outside the input read zero.
- ``w``: ``(KD, KH, KW, C // groups, F)`` for convolution; ``(KD, KH, KW, F, C)`` for the
  transposed convolution (Keras's layouts).
- output: ``(N, OD, OH, OW, F)``.
"""

from __future__ import annotations

import numpy as np

from engine.kernels.jit import jit, prange


@jit(parallel=True)
def _conv3d(x, w, bias, out, sd, sh, sw, dd, dh, dw, pd, ph, pw, groups):
    n_batch, in_d, in_h, in_w, _ = x.shape
    kd_, kh_, kw_, cg, n_filters = w.shape
    _, out_d, out_h, out_w, _ = out.shape
    fg = n_filters // groups
    rows = n_batch * out_d * out_h
    for r in prange(rows):
        n = r // (out_d * out_h)
        od = (r // out_h) % out_d
        oh = r % out_h
        acc = np.empty(n_filters, dtype=np.float32)
        for ow in range(out_w):
            for f in range(n_filters):
                acc[f] = 0.0
            for kd in range(kd_):
                i_d = od * sd + kd * dd - pd
                if i_d < 0 or i_d >= in_d:
                    continue
                for kh in range(kh_):
                    i_h = oh * sh + kh * dh - ph
                    if i_h < 0 or i_h >= in_h:
                        continue
                    for kw in range(kw_):
                        i_w = ow * sw + kw * dw - pw
                        if i_w < 0 or i_w >= in_w:
                            continue
                        for g in range(groups):
                            for c in range(cg):
                                xv = x[n, i_d, i_h, i_w, g * cg + c]
                                for f in range(fg):
                                    acc[g * fg + f] += xv * w[kd, kh, kw, c, g * fg + f]
            for f in range(n_filters):
                out[n, od, oh, ow, f] = acc[f] + bias[f]


@jit(parallel=True)
def _conv3d_transpose(x, w, bias, out, sd, sh, sw, dd, dh, dw, pd, ph, pw):
    n_batch, in_d, in_h, in_w, n_in = x.shape
    kd_, kh_, kw_, n_filters, _ = w.shape
    _, out_d, out_h, out_w, _ = out.shape
    rows = n_batch * out_d * out_h
    for r in prange(rows):
        n = r // (out_d * out_h)
        od = (r // out_h) % out_d
        oh = r % out_h
        acc = np.empty(n_filters, dtype=np.float32)
        for ow in range(out_w):
            for f in range(n_filters):
                acc[f] = 0.0
            for kd in range(kd_):
                t_d = od + pd - kd * dd
                if t_d < 0 or t_d % sd != 0 or t_d // sd >= in_d:
                    continue
                i_d = t_d // sd
                for kh in range(kh_):
                    t_h = oh + ph - kh * dh
                    if t_h < 0 or t_h % sh != 0 or t_h // sh >= in_h:
                        continue
                    i_h = t_h // sh
                    for kw in range(kw_):
                        t_w = ow + pw - kw * dw
                        if t_w < 0 or t_w % sw != 0 or t_w // sw >= in_w:
                            continue
                        i_w = t_w // sw
                        for c in range(n_in):
                            xv = x[n, i_d, i_h, i_w, c]
                            for f in range(n_filters):
                                acc[f] += xv * w[kd, kh, kw, f, c]
            for f in range(n_filters):
                out[n, od, oh, ow, f] = acc[f] + bias[f]


def to_3d(values, fill):
    """Left-pad a per-axis tuple to 3 axes (``fill`` for the missing leading axes)."""
    values = tuple(int(v) for v in values)
    return (fill,) * (3 - len(values)) + values


def _as_5d(x):
    """``(N, *spatial, C)`` with 1–3 spatial axes → contiguous float32 ``(N, D, H, W, C)``."""
    rank = x.ndim - 2
    shape = (x.shape[0],) + (1,) * (3 - rank) + x.shape[1:]
    return np.ascontiguousarray(x, dtype=np.float32).reshape(shape)


def conv(x, w, bias, strides, dilation, pad_before, out_spatial, groups=1):
    """Grouped cross-correlation, channels-last.

    x: (N, *S, C); w: (*K, C // groups, F); bias: (F,) or None; strides, dilation,
    pad_before, out_spatial: one int per spatial axis. Returns float32 (N, *out_spatial, F).
    """
    rank = x.ndim - 2
    n_filters = w.shape[-1]
    x5 = _as_5d(x)
    w5 = np.ascontiguousarray(w, dtype=np.float32).reshape(
        (1,) * (3 - rank) + tuple(w.shape))
    b = np.zeros(n_filters, np.float32) if bias is None else np.ascontiguousarray(bias, np.float32)
    out = np.empty((x.shape[0],) + to_3d(out_spatial, 1) + (n_filters,), np.float32)
    _conv3d(x5, w5, b, out, *to_3d(strides, 1), *to_3d(dilation, 1), *to_3d(pad_before, 0),
            int(groups))
    return out.reshape((x.shape[0],) + tuple(out_spatial) + (n_filters,))


def conv_transpose(x, w, bias, strides, dilation, pad_before, out_spatial):
    """Transposed convolution (gradient of :func:`conv` w.r.t. its input), channels-last.

    x: (N, *S, C); w: (*K, F, C); output cell ``o`` gets ``x[i] · w[t]`` whenever
    ``o = i·s + t·d − pad_before``. Returns float32 (N, *out_spatial, F).
    """
    rank = x.ndim - 2
    n_filters = w.shape[-2]
    x5 = _as_5d(x)
    w5 = np.ascontiguousarray(w, dtype=np.float32).reshape(
        (1,) * (3 - rank) + tuple(w.shape))
    b = np.zeros(n_filters, np.float32) if bias is None else np.ascontiguousarray(bias, np.float32)
    out = np.empty((x.shape[0],) + to_3d(out_spatial, 1) + (n_filters,), np.float32)
    _conv3d_transpose(x5, w5, b, out, *to_3d(strides, 1), *to_3d(dilation, 1),
                      *to_3d(pad_before, 0))
    return out.reshape((x.shape[0],) + tuple(out_spatial) + (n_filters,))
