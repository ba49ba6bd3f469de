"""Slow, obviously-correct NumPy references for the engine's kernels (tests only).

Written from the definitions, not from engine code: explicit zero padding with ``np.pad``
and one loop over kernel taps. All arrays are channels-last.
"""

from __future__ import annotations

import itertools
import math

import numpy as np


def tf_same_padding(n, k, s, d):
    """TensorFlow's SAME padding (before, after) for one axis."""
    ke = d * (k - 1) + 1
    out = math.ceil(n / s)
    total = max((out - 1) * s + ke - n, 0)
    return total // 2, total - total // 2


def conv_nd(x, w, strides, dilation, padding, groups=1):
    """Grouped cross-correlation. x (N, *S, C); w (*K, C//groups, F); padding
    'valid' | 'same' | 'causal' | explicit [(before, after), ...]."""
    x = x.astype(np.float64)
    w = w.astype(np.float64)
    rank = x.ndim - 2
    ks = w.shape[:rank]
    if padding == "valid":
        pads = [(0, 0)] * rank
    elif padding == "same":
        pads = [tf_same_padding(n, k, s, d) for n, k, s, d in zip(x.shape[1:-1], ks, strides, dilation)]
    elif padding == "causal":
        pads = [(dilation[0] * (ks[0] - 1), 0)]
    else:
        pads = list(padding)
    xp = np.pad(x, [(0, 0), *pads, (0, 0)])
    out_sizes = [(xp.shape[1 + i] - dilation[i] * (ks[i] - 1) - 1) // strides[i] + 1
                 for i in range(rank)]
    n_filters = w.shape[-1]
    cg = w.shape[-2]
    fg = n_filters // groups
    y = np.zeros((x.shape[0], *out_sizes, n_filters))
    for tap in itertools.product(*[range(k) for k in ks]):
        index = tuple(slice(t * d, t * d + (o - 1) * s + 1, s)
                      for t, d, o, s in zip(tap, dilation, out_sizes, strides))
        patch = xp[(slice(None), *index, slice(None))]
        for g in range(groups):
            y[..., g * fg:(g + 1) * fg] += patch[..., g * cg:(g + 1) * cg] @ w[tap][:, g * fg:(g + 1) * fg]
    return y


def conv_transpose_nd(x, w, strides, dilation, out_sizes, pad_before):
    """Scatter definition: y[i·s + t·d − pad] += x[i] · w[t]ᵀ. w (*K, F, C)."""
    x = x.astype(np.float64)
    w = w.astype(np.float64)
    rank = x.ndim - 2
    ks = w.shape[:rank]
    full = [(n - 1) * s + d * (k - 1) + 1 for n, s, d, k in zip(x.shape[1:-1], strides, dilation, ks)]
    big = [max(f, o + p) for f, o, p in zip(full, out_sizes, pad_before)]
    y = np.zeros((x.shape[0], *big, w.shape[-2]))
    for tap in itertools.product(*[range(k) for k in ks]):
        index = tuple(slice(t * d, t * d + (n - 1) * s + 1, s)
                      for t, d, n, s in zip(tap, dilation, x.shape[1:-1], strides))
        y[(slice(None), *index, slice(None))] += x @ w[tap].T
    crop = tuple(slice(p, p + o) for p, o in zip(pad_before, out_sizes))
    return y[(slice(None), *crop, slice(None))]
