"""Backward (input-gradient) kernels for receptive fields: the transposes of the forward ops.

Everything is channels-last. Public wrappers validate nothing (callers in
:mod:`engine.receptive` do) and allocate their outputs; private ``@njit`` kernels never
validate.

- :func:`scatter_axis`: transpose of a *gather-form* 1-D operator applied along one axis,
  ``out[o] = Σ_t w[o, t] · in[idx[o, t]]`` (``idx = -1``: no tap). Padding, cropping,
  nearest repetition, every ``UpSampling2D`` interpolation (TensorFlow resizes are separable),
  average pooling and all-ones convolution kernels are all of that form, axis by axis.
- :func:`conv_input_grad`: gradient of :func:`engine.kernels.conv.conv` w.r.t. its input,
  i.e. the transposed convolution with the same kernel (one call of the public
  ``conv_transpose`` wrapper per group; depthwise = grouped with one channel per group).
- :func:`conv_transpose_input_grad`: gradient of ``conv_transpose`` w.r.t. its input, i.e. the
  forward convolution with the same kernel.
- :func:`maxpool_input_grad`: max pooling routes each output's gradient to the first largest
  cell of its window in row-major scan order (TensorFlow's CPU ``MaxPoolGrad``); padded cells
  never win.

``pad_before`` may be negative in the convolution wrappers (a window that starts inside the
data); they shift the arrays so that the forward kernels only ever see ``pad >= 0``.
"""

from __future__ import annotations

import numpy as np

from engine.kernels import conv as conv_kernels
from engine.kernels.jit import jit, prange

@jit(parallel=True)
def _scatter_axis(g, idx, w, out):
    """``out[a, idx[o, t], b] += w[o, t] * g[a, o, b]`` for g (A, O, B), out (A, I, B).

    Parallel over (a, block of b): tasks write disjoint slices of ``out``."""
    n_a, n_o, n_b = g.shape
    taps = idx.shape[1]
    n_blocks = (n_b + 255) // 256
    for r in prange(n_a * n_blocks):
        a = r // n_blocks
        b0 = (r % n_blocks) * 256
        b1 = min(b0 + 256, n_b)
        for o in range(n_o):
            for t in range(taps):
                i = idx[o, t]
                if i < 0:
                    continue
                wt = w[o, t]
                if wt == 0.0:
                    continue
                for b in range(b0, b1):
                    out[a, i, b] += wt * g[a, o, b]


@jit(parallel=True)
def _maxpool_grad(x, g, out, kd_, kh_, kw_, sd, sh, sw, pd, ph, pw):
    """x, out (D, H, W, C); g (OD, OH, OW, C). Parallel over channels (disjoint writes)."""
    in_d, in_h, in_w, n_c = x.shape
    out_d, out_h, out_w, _ = g.shape
    for c in prange(n_c):
        for od in range(out_d):
            for oh in range(out_h):
                for ow in range(out_w):
                    best = -np.inf
                    bd = -1
                    bh = -1
                    bw = -1
                    for kd in range(kd_):
                        i_d = od * sd + kd - pd
                        if i_d < 0 or i_d >= in_d:
                            continue
                        for kh in range(kh_):
                            i_h = oh * sh + kh - ph
                            if i_h < 0 or i_h >= in_h:
                                continue
                            for kw in range(kw_):
                                i_w = ow * sw + kw - pw
                                if i_w < 0 or i_w >= in_w:
                                    continue
                                v = x[i_d, i_h, i_w, c]
                                if bd < 0 or v > best:
                                    best = v
                                    bd = i_d
                                    bh = i_h
                                    bw = i_w
                    if bd >= 0:
                        out[bd, bh, bw, c] += g[od, oh, ow, c]


def _lift3(values, fill):
    """Left-pad a per-axis tuple to 3 axes (the kernels work on three spatial axes)."""
    values = tuple(int(v) for v in values)
    return (fill,) * (3 - len(values)) + values


def scatter_axis(g: np.ndarray, axis: int, idx: np.ndarray, w: np.ndarray,
                 n_in: int) -> np.ndarray:
    """Transpose of the gather ``out[..., o, ...] = Σ_t w[o, t] · in[..., idx[o, t], ...]``
    along ``axis`` of ``g``: returns float64 with ``g``'s shape except ``n_in`` on ``axis``.

    ``idx``: (O, T) int64 with -1 where a tap reads nothing (padding); ``w``: (O, T).
    """
    g = np.asarray(g)
    axis = axis % g.ndim
    n_o = g.shape[axis]
    a = int(np.prod(g.shape[:axis], dtype=np.int64))
    b = int(np.prod(g.shape[axis + 1:], dtype=np.int64))
    out = np.zeros((a, n_in, b), np.float64)
    if a and b and n_o and n_in:
        _scatter_axis(np.ascontiguousarray(g, np.float64).reshape(a, n_o, b),
                      np.ascontiguousarray(idx, np.int64), np.ascontiguousarray(w, np.float64),
                      out)
    return out.reshape(g.shape[:axis] + (n_in,) + g.shape[axis + 1:])


def _shift_window(arr, axis, q):
    """Drop the first ``q`` cells along ``axis`` (``q > 0``)."""
    index = [slice(None)] * arr.ndim
    index[axis] = slice(q, None)
    return arr[tuple(index)]


def conv_input_grad(g, kernel, strides, dilation, pad_before, in_spatial, groups=1):
    """Gradient w.r.t. ``x`` of ``conv(x, kernel, strides, dilation, pad_before, ...)``.

    g: (N, *out, F); kernel: (*K, C // groups, F) (Keras's Conv layout); in_spatial: the
    input's spatial sizes. Returns float32 (N, *in_spatial, C): cell ``i`` receives
    ``g[o] · kernel[t]`` whenever ``i = o·s + t·d − pad_before``.
    """
    g = np.asarray(g, np.float32)
    kernel = np.asarray(kernel, np.float32)
    n = g.shape[0]
    in_spatial = tuple(int(v) for v in in_spatial)
    cg, f = kernel.shape[-2], kernel.shape[-1]
    out = np.zeros((n,) + in_spatial + (cg * groups,), np.float32)
    # negative pad q: only cells i >= q receive anything, and with pad 0 they are i - q.
    lead = [max(-int(p), 0) for p in pad_before]
    pads = [max(int(p), 0) for p in pad_before]
    sub = tuple(max(length - q, 0) for length, q in zip(in_spatial, lead))
    if 0 in sub or 0 in g.shape:
        return out
    target = (slice(None),) + tuple(slice(q, None) for q in lead)
    fg = f // groups
    for gi in range(groups):
        gx = conv_kernels.conv_transpose(
            np.ascontiguousarray(g[..., gi * fg:(gi + 1) * fg]),
            np.ascontiguousarray(kernel[..., gi * fg:(gi + 1) * fg]),
            None, strides, dilation, pads, sub)
        out[target + (slice(gi * cg, (gi + 1) * cg),)] = gx
    return out


def conv_transpose_input_grad(g, kernel, strides, dilation, pad_before, in_spatial):
    """Gradient w.r.t. ``x`` of ``conv_transpose(x, kernel, strides, dilation, pad_before,
    ...)``: the forward convolution of ``g`` with the same kernel.

    g: (N, *out, F); kernel: (*K, F, C) (Keras's transposed layout, read by ``conv`` as
    (*K, C_in=F, F_out=C)). Returns float32 (N, *in_spatial, C): ``gx[i] = Σ_t g[i·s + t·d −
    pad_before] · kernel[t]``.
    """
    g = np.asarray(g, np.float32)
    in_spatial = tuple(int(v) for v in in_spatial)
    n, c = g.shape[0], kernel.shape[-1]
    pads = []
    for axis, p in enumerate(pad_before):
        p = int(p)
        if p < 0:  # g index i·s + t·d + q: drop the first q cells of g
            g = _shift_window(g, 1 + axis, -p)
            p = 0
        pads.append(p)
    if 0 in g.shape[1:-1] or 0 in in_spatial:
        return np.zeros((n,) + in_spatial + (c,), np.float32)
    return conv_kernels.conv(np.ascontiguousarray(g), np.asarray(kernel, np.float32), None,
                             strides, dilation, pads, in_spatial, 1)


def maxpool_input_grad(x, g, pool_size, strides, pad_before):
    """Gradient of max pooling w.r.t. its input ``x`` (channels-last, one image).

    x: (*in, C); g: (*out, C); output cell ``o`` pools ``x[o·s + t − pad_before]``
    (``t < pool_size``, cells outside ``x`` ignored). Returns float64 shaped like ``x``."""
    x = np.asarray(x, np.float64)
    g = np.asarray(g, np.float64)
    rank = x.ndim - 1
    lift = (1,) * (3 - rank)
    x5 = np.ascontiguousarray(x.reshape(lift + x.shape))
    g5 = np.ascontiguousarray(g.reshape(lift + g.shape))
    out = np.zeros(x5.shape, np.float64)
    k = _lift3(pool_size, 1)
    s = _lift3(strides, 1)
    p = _lift3(pad_before, 0)
    if x5.size and g5.size:
        _maxpool_grad(x5, g5, out, *k, *s, *p)
    return out.reshape(x.shape)
