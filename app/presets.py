"""Named preset kernels that make a layer's output meaningful, and how they fill Keras weights.

A preset is a spatial kernel of any ``kernel_size`` (built from 1-D pieces so that 3×3 gives
the textbook numbers: Sobel ``[[-1,0,1],[-2,0,2],[-1,0,1]]``, Laplacian
``[[0,1,0],[1,-4,1],[0,1,0]]``, sharpen, emboss). The centre tap of an even kernel is
``(k − 1) // 2``, the tap TensorFlow's ``same`` padding aligns with the output cell.

:func:`layer_weights` turns one spatial kernel per filter into the layer's weights in Keras's
order and shapes: every input channel gets ``K / channels`` (so a filter sees the channel
mean), depthwise kernels get ``K`` per channel, separable layers a depthwise preset and an
averaging pointwise kernel, biases are zero. ``bank`` gives filter ``f`` the ``f``-th preset.
"""

from __future__ import annotations

import math

import numpy as np

PRESETS = {
    1: ("identity", "moving_average", "gaussian", "difference", "second_difference"),
    2: ("identity", "box_blur", "gaussian", "sobel_x", "sobel_y", "laplacian", "sharpen",
        "emboss"),
    3: ("identity", "box_blur", "gaussian", "sobel_x", "sobel_y", "sobel_z", "laplacian"),
}
BANK = {
    1: ("moving_average", "difference", "second_difference", "gaussian", "identity"),
    2: ("sobel_x", "sobel_y", "laplacian", "gaussian", "box_blur", "sharpen", "emboss",
        "identity"),
    3: ("sobel_x", "sobel_y", "sobel_z", "laplacian", "gaussian", "box_blur", "identity"),
}
LABELS = {
    "bank": "Bank: a different preset per filter",
    "identity": "Identity", "box_blur": "Box blur", "moving_average": "Moving average",
    "gaussian": "Gaussian", "sobel_x": "Sobel x (vertical edges)",
    "sobel_y": "Sobel y (horizontal edges)", "sobel_z": "Sobel z (depth edges)",
    "laplacian": "Laplacian", "sharpen": "Sharpen", "emboss": "Emboss",
    "difference": "Difference (derivative)", "second_difference": "Second difference",
    "init": "Keras initializer (seeded)", "custom": "Custom (edited grid)",
}


def preset_names(rank: int) -> tuple:
    return ("bank",) + PRESETS[rank]


# --------------------------------------------------------------------------- 1-D pieces

def _binomial(k: int) -> np.ndarray:
    row = np.array([math.comb(k - 1, i) for i in range(k)], np.float64)
    return row / row.sum()


def _delta(k: int) -> np.ndarray:
    v = np.zeros(k)
    v[(k - 1) // 2] = 1.0
    return v


def _diff(k: int) -> np.ndarray:
    """Derivative: binomial(k−1) ⊛ [−1, 1] → [−1, 0, 1] for k = 3 (unnormalised like Sobel)."""
    if k == 1:
        return np.zeros(1)
    base = np.array([math.comb(k - 2, i) for i in range(k - 1)], np.float64)
    return np.convolve(base, [1.0, -1.0])[::-1] * 1.0


def _diff2(k: int) -> np.ndarray:
    """Second derivative: binomial(k−2) ⊛ [1, −2, 1]; zero below 3 taps."""
    if k < 3:
        return np.zeros(k)
    base = np.array([math.comb(k - 3, i) for i in range(k - 2)], np.float64)
    return np.convolve(base, [1.0, -2.0, 1.0])


def _outer(*vs) -> np.ndarray:
    out = vs[0]
    for v in vs[1:]:
        out = np.multiply.outer(out, v)
    return out


def _smooth(k: int) -> np.ndarray:
    """Sobel's smoothing: [1, 2, 1] for k = 3 (binomial, unnormalised)."""
    return np.array([math.comb(k - 1, i) for i in range(k)], np.float64)


def preset_kernel(name: str, kernel_size) -> np.ndarray:
    """The spatial kernel ``name`` of shape ``kernel_size`` (float32)."""
    ks = tuple(int(k) for k in kernel_size)
    rank = len(ks)
    if name not in PRESETS[rank]:
        raise ValueError(f"Unknown {rank}D preset {name!r}; choose one of "
                         f"{', '.join(PRESETS[rank])}.")
    deltas = [_delta(k) for k in ks]
    if name == "identity":
        out = _outer(*deltas)
    elif name in ("box_blur", "moving_average"):
        out = np.full(ks, 1.0 / math.prod(ks))
    elif name == "gaussian":
        out = _outer(*[_binomial(k) for k in ks])
    elif name == "difference":
        out = _diff(ks[0])
    elif name == "second_difference":
        out = _diff2(ks[0])
    elif name.startswith("sobel_"):
        axis = {"x": rank - 1, "y": rank - 2, "z": rank - 3}[name[-1]]
        out = _outer(*[_diff(k) if i == axis else _smooth(k) for i, k in enumerate(ks)])
    elif name == "laplacian":
        out = sum(_outer(*[_diff2(k) if i == axis else deltas[i] for i, k in enumerate(ks)])
                  for axis in range(rank))
    elif name == "sharpen":
        out = _outer(*deltas) - preset_kernel("laplacian", ks)
    elif name == "emboss":
        ones = [np.ones(k) for k in ks]
        out = _outer(*deltas) + _outer(_diff(ks[0]), ones[1]) + _outer(ones[0], _diff(ks[1]))
    else:  # pragma: no cover
        raise ValueError(name)
    return np.asarray(out, np.float32).reshape(ks)


def spatial_kernels(mode: str, kernel_size, n: int, custom=None) -> list:
    """``n`` spatial kernels: one preset repeated, the bank cycled, or the custom grid."""
    ks = tuple(int(k) for k in kernel_size)
    rank = len(ks)
    if mode == "custom":
        arr = np.asarray(custom, np.float32).reshape(ks) if custom is not None else None
        if arr is None:
            raise ValueError("No custom kernel to use.")
        return [arr] * n
    if mode == "bank":
        bank = BANK[rank]
        return [preset_kernel(bank[i % len(bank)], ks) for i in range(n)]
    return [preset_kernel(mode, ks)] * n


def kernel_labels(mode: str, rank: int, n: int) -> list:
    if mode == "bank":
        return [LABELS[BANK[rank][i % len(BANK[rank])]] for i in range(n)]
    return [LABELS.get(mode, mode)] * n


def custom_fits(custom, kernel_size) -> bool:
    if custom is None:
        return False
    arr = np.asarray(custom)
    ks = tuple(kernel_size)
    return arr.size == math.prod(ks) and (arr.ndim == len(ks) and arr.shape == ks
                                          or len(ks) == 1)


def layer_weights(layer, mode: str, custom=None) -> list:
    """Weights (Keras order and shapes) for a *built* engine layer from preset ``mode``."""
    kind = layer.kind
    current = layer.get_weights()
    ks = layer.kernel_size
    rank = len(ks)
    if kind == "separable":
        dw, pw = current[0], current[1]
        channels, mult = dw.shape[-2], dw.shape[-1]
        filters = pw.shape[-1]
        kernels = spatial_kernels(mode, ks, mult, custom)
        new_dw = np.stack([np.stack([kernels[m] for m in range(mult)], -1)] * channels, -2)
        new_pw = np.zeros_like(pw)
        flat = new_pw.reshape(channels * mult, filters)
        for f in range(filters):
            for c in range(channels):
                flat[c * mult + f % mult, f] = 1.0 / channels
        out = [new_dw.astype(np.float32), flat.reshape(pw.shape).astype(np.float32)]
    elif kind == "depthwise":
        dw = current[0]
        channels, mult = dw.shape[-2], dw.shape[-1]
        kernels = spatial_kernels(mode, ks, mult, custom)
        out = [np.stack([np.stack([kernels[m] for m in range(mult)], -1)] * channels, -2)
               .astype(np.float32)]
    elif kind == "transpose":
        k = current[0]
        filters, channels = k.shape[-2], k.shape[-1]
        kernels = spatial_kernels(mode, ks, filters, custom)
        out = [np.stack([np.stack([kernels[f] / channels] * channels, -1) for f in range(filters)],
                        -2).astype(np.float32)]
    else:
        k = current[0]
        cin, filters = k.shape[-2], k.shape[-1]
        kernels = spatial_kernels(mode, ks, filters, custom)
        out = [np.stack([np.stack([kernels[f] / cin] * cin, -1) for f in range(filters)], -1)
               .astype(np.float32)]
    if layer.use_bias:
        out.append(np.zeros_like(current[-1]))
    for new, old in zip(out, current):
        assert new.shape == old.shape, (new.shape, old.shape, rank)
    return out
