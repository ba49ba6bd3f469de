"""Pure helpers behind the views (no Streamlit): inputs, size estimates, per-axis formulas,
padded views and the cell-to-cell links between input, kernel and output.

Geometry works per spatial axis on a *built-or-not* engine layer; a cell of an N-d array is
the product of its per-axis answers. Conventions follow :mod:`engine.shapes`: output cell
``o`` of a convolution reads padded position ``o·s + t·d`` (tap ``t``), i.e. input
``o·s + t·d − before``; a transposed convolution writes input ``i`` through tap ``t`` to
``o = i·s + t·d − before``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.state import SAMPLES, kind_of
from engine import io as eio
from engine import shapes

ASSETS = Path(__file__).resolve().parent.parent / "assets"
MAX_OUTPUT_ELEMENTS = 50_000_000
MAX_MACS = 5_000_000_000
MAX_INPUT_ELEMENTS = 16_000_000
AXIS_NAMES = {1: ("steps",), 2: ("rows", "cols"), 3: ("depth", "rows", "cols")}


# --------------------------------------------------------------------------- inputs

def load_sample(name: str) -> tuple[np.ndarray, dict]:
    """A shipped sample → (array without batch, channels last; meta)."""
    s = SAMPLES[name]
    loaded = eio.load_any(ASSETS / s.file, s.file, kind=s.kind)
    return loaded.array, {"kind": s.kind, **loaded.meta}


def synthetic(spatial: tuple, channels: int, seed: int = 0) -> np.ndarray:
    """A structured synthetic input (no batch, channels last): smooth waves plus a bright
    box in the middle, different per channel, values in [0, 1]."""
    grids = np.meshgrid(*[np.linspace(0, 1, n, dtype=np.float32) for n in spatial],
                        indexing="ij")
    out = np.empty(tuple(spatial) + (channels,), np.float32)
    for c in range(channels):
        v = np.zeros(spatial, np.float32)
        for a, g in enumerate(grids):
            v += np.sin(2 * np.pi * (1.5 + a + 0.7 * c) * g + c)
        v = 0.5 + 0.25 * v / max(len(grids), 1)
        box = np.ones(spatial, bool)
        for g in grids:
            box &= (g > 0.35) & (g < 0.65)
        v[box] = 1.0 - 0.2 * (c % 3)
        out[..., c] = v
    return out


def batch_variant(base: np.ndarray, b: int) -> np.ndarray:
    """Element ``b`` of a batch built from one input: flips and shifts of it."""
    rank = base.ndim - 1
    if b == 0:
        return base
    if b == 1:
        return np.flip(base, axis=rank - 1)
    if b == 2 and rank > 1:
        return np.flip(base, axis=0)
    if b == 3 and rank > 1:
        return np.flip(base, axis=(0, rank - 1))
    return np.roll(base, shift=b * max(base.shape[rank - 1] // 8, 1), axis=rank - 1)


def prepare(base: np.ndarray, rank: int, color: str, size, batch: int,
            data_format: str) -> np.ndarray:
    """Base array (no batch, channels last) → model input ``(batch, …)`` in data_format."""
    arr = base
    if arr.ndim != rank + 1:
        raise eio.InputError(f"This input has {arr.ndim - 1} spatial axes; the layer needs {rank}.")
    if color == "gray":
        arr = eio.to_grayscale(arr)
    elif color == "rgb":
        arr = eio.to_rgb(arr)
    if size is not None:
        arr = eio.resize(arr, tuple(size))
    x = np.stack([batch_variant(arr, b) for b in range(batch)])
    if data_format == "channels_first":
        x = np.moveaxis(x, -1, 1)
    return np.ascontiguousarray(x, dtype=np.float32)


def synthetic_input(shape: tuple, data_format: str) -> np.ndarray:
    """``input_shape`` (batch first, in data_format) → a structured array of that shape."""
    shape = tuple(int(d) for d in shape)
    n = math.prod(shape)
    if n > MAX_INPUT_ELEMENTS:
        raise eio.InputError(f"input_shape {shape} has {n:,} values; the limit is "
                             f"{MAX_INPUT_ELEMENTS:,}. Use a smaller shape.")
    if data_format == "channels_last":
        spatial, channels = shape[1:-1], shape[-1]
    else:
        spatial, channels = shape[2:], shape[1]
    base = synthetic(spatial, channels)
    return prepare(base, len(spatial), "auto", None, shape[0], data_format)


def to_last(x: np.ndarray, data_format: str) -> np.ndarray:
    return x if data_format == "channels_last" else np.moveaxis(x, 1, -1)


# --------------------------------------------------------------------------- estimates

@dataclass
class Cost:
    params: int
    macs: int
    out_elements: int
    in_elements: int

    @property
    def refused(self) -> str | None:
        if self.out_elements > MAX_OUTPUT_ELEMENTS:
            return (f"This request would produce {self.out_elements:,} output values; the limit "
                    f"is {MAX_OUTPUT_ELEMENTS:,}. Reduce the batch, the input size, filters or "
                    "the upsampling factor.")
        if self.macs > MAX_MACS:
            return (f"This request needs {self.macs / 1e9:.1f} G multiply-adds; the limit is "
                    f"{MAX_MACS / 1e9:.0f} G. Reduce the input size, filters or kernel_size.")
        return None


def param_count(layer, in_shape) -> int:
    """Parameters of ``layer`` for ``in_shape`` without allocating weights."""
    kind = kind_of(type(layer).__name__)
    if kind in ("crop", "upsample", "pad"):
        return 0
    _, _, c = shapes.split_shape(in_shape, layer.rank, layer.data_format)
    k = math.prod(layer.kernel_size)
    bias = layer.use_bias
    if kind == "conv":
        return k * (c // layer.groups) * layer.filters + (layer.filters if bias else 0)
    if kind == "depthwise":
        return k * c * layer.depth_multiplier + (c * layer.depth_multiplier if bias else 0)
    if kind == "separable":
        m = layer.depth_multiplier
        return k * c * m + c * m * layer.filters + (layer.filters if bias else 0)
    return k * layer.filters * c + (layer.filters if bias else 0)  # transpose


def cost(layer, in_shape, out_shape) -> Cost:
    """Parameters, multiply-adds and sizes, computed before anything runs."""
    kind = kind_of(type(layer).__name__)
    n_out = math.prod(out_shape)
    n_in = math.prod(in_shape)
    params = param_count(layer, in_shape)
    if kind in ("crop", "pad"):
        macs = 0
    elif kind == "upsample":
        taps = {"nearest": 0, "bilinear": 4, "area": 4, "bicubic": 16, "lanczos3": 36,
                "lanczos5": 100}.get(getattr(layer, "interpolation", "nearest"), 0)
        macs = n_out * taps
    else:
        batch, out_sp, _ = shapes.split_shape(out_shape, layer.rank, layer.data_format)
        _, in_sp, c = shapes.split_shape(in_shape, layer.rank, layer.data_format)
        k = math.prod(layer.kernel_size)
        if kind == "conv":
            macs = n_out * k * (c // layer.groups)
        elif kind == "depthwise":
            macs = n_out * k
        elif kind == "separable":
            mid = batch * math.prod(out_sp) * c * layer.depth_multiplier
            macs = mid * k + n_out * c * layer.depth_multiplier
        else:
            macs = batch * math.prod(in_sp) * c * k * layer.filters
    return Cost(params, int(macs), int(n_out), int(n_in))


def fmt_count(n: int) -> str:
    for unit, div in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= div:
            return f"{n:,} (≈ {n / div:.3g} {unit})"
    return f"{n:,}"


# --------------------------------------------------------------------------- formulas

@dataclass
class AxisInfo:
    name: str
    n_in: int
    n_out: int
    formula: str
    pad: tuple = (0, 0)     # zeros (before, after) added by the layer's own padding
    note: str = ""


def axis_infos(layer, in_shape) -> list[AxisInfo]:
    """Per spatial axis: the output-size formula with the user's numbers filled in."""
    name = type(layer).__name__
    kind = kind_of(name)
    _, spatial, _ = shapes.split_shape(in_shape, layer.rank, layer.data_format)
    out_shape = layer.compute_output_shape(in_shape)
    _, out_sp, _ = shapes.split_shape(out_shape, layer.rank, layer.data_format)
    names = AXIS_NAMES[layer.rank]
    infos = []
    for a, (n, o) in enumerate(zip(spatial, out_sp)):
        note = ""
        pad = (0, 0)
        if kind in ("conv", "separable", "depthwise"):
            k, s, d = layer.kernel_size[a], layer.strides[a], layer.dilation_rate[a]
            ke = shapes.effective_kernel(k, d)
            if layer.padding == "valid":
                if d > 1:
                    f = f"⌊({n} − {d}·({k} − 1) − 1)/{s}⌋ + 1 = {o}"
                else:
                    f = f"⌊({n} − {k})/{s}⌋ + 1 = {o}"
                before, after = shapes.conv_padding(n, k, s, d, "valid")
                if after < 0:
                    note = (f"valid padding: the last {-after} {names[a]} of the input are never "
                            "read by the kernel (they fall past the last full window).")
            else:
                before, after = shapes.conv_padding(n, k, s, d, layer.padding)
                pad = (before, after)
                f = (f"⌈{n}/{s}⌉ = {o}  ·  with the zeros ({before} before, {after} after): "
                     f"⌊({n} + {before} + {after} − {ke})/{s}⌋ + 1 = {o}")
                if layer.padding == "causal":
                    note = f"causal: {before} zeros on the left only ({d}·({k} − 1))."
                elif before != after:
                    note = (f"TensorFlow's same padding puts the odd extra zero at the end: "
                            f"{before} before, {after} after (PyTorch-style symmetric padding "
                            "would differ).")
        elif kind == "transpose":
            k, s, d = layer.kernel_size[a], layer.strides[a], layer.dilation_rate[a]
            ke = shapes.effective_kernel(k, d)
            op = None if layer.output_padding is None else layer.output_padding[a]
            kstr = f"{d}·({k} − 1) + 1" if d > 1 else f"{k}"
            if layer.padding == "valid":
                if op is None:
                    f = f"({n} − 1)·{s} + {kstr} + max({kstr}, {s}) − {kstr} = {o}"
                else:
                    f = f"({n} − 1)·{s} + {kstr} + {op} = {o}"
            else:
                f = (f"{n}·{s} = {o}" if op is None
                     else f"({n} − 1)·{s} + ({kstr}) mod 2 + {op} = {o}")
            if s > 1 and op is None:
                alts = sorted({shapes.conv_transpose_output_length(n, k, s, d, layer.padding, p)
                               for p in range(s)})
                note = (f"Ambiguous without output_padding: a forward {'Conv'} with these "
                        f"arguments maps any of {', '.join(map(str, alts))} cells to {n}; Keras "
                        f"picks {o}. Set output_padding to choose.")
        elif kind == "crop":
            b, e = layer.cropping[a]
            f = f"{n} − {b} − {e} = {o}"
        elif kind == "pad":
            b, e = layer.padding[a]
            pad = (b, e)
            f = f"{n} + {b} + {e} = {o}"
        else:
            f = f"{n}·{layer.size[a]} = {o}"
        infos.append(AxisInfo(names[a], n, o, f, pad, note))
    return infos


# --------------------------------------------------------------------------- geometry

def conv_pad_before(layer, n: int, a: int) -> int:
    return shapes.conv_padding(n, layer.kernel_size[a], layer.strides[a],
                               layer.dilation_rate[a], layer.padding)[0]


def sources_1d(layer, a: int, n_in: int, n_out: int, o: int) -> list:
    """Input cells feeding output ``o`` along axis ``a``: list of ``(i, tap)`` where ``i``
    is the input index (``None`` when the tap reads padding) and ``tap`` the kernel index
    (``None`` for weightless layers)."""
    kind = kind_of(type(layer).__name__)
    if kind in ("conv", "separable", "depthwise"):
        p = conv_pad_before(layer, n_in, a)
        s, d = layer.strides[a], layer.dilation_rate[a]
        out = []
        for t in range(layer.kernel_size[a]):
            i = o * s + t * d - p
            out.append((i if 0 <= i < n_in else None, t))
        return out
    if kind == "transpose":
        k, s, d = layer.kernel_size[a], layer.strides[a], layer.dilation_rate[a]
        p = shapes.conv_transpose_padding(n_in, n_out, k, s, d, layer.padding)
        out = []
        for t in range(k):
            q = o + p - t * d
            if q >= 0 and q % s == 0 and q // s < n_in:
                out.append((q // s, t))
        return out
    if kind == "crop":
        return [(o + layer.cropping[a][0], None)]
    if kind == "pad":
        i = o - layer.padding[a][0]
        return [(i if 0 <= i < n_in else None, None)]
    s = layer.size[a]
    if getattr(layer, "interpolation", "nearest") == "nearest":
        return [(o // s, None)]
    c = (o + 0.5) / s - 0.5
    lo = int(math.floor(c))
    return [(i, None) for i in sorted({min(max(lo, 0), n_in - 1), min(max(lo + 1, 0), n_in - 1)})]


def targets_1d(layer, a: int, n_in: int, n_out: int, i: int) -> list:
    """Output cells that input ``i`` feeds along axis ``a`` (with the tap used)."""
    kind = kind_of(type(layer).__name__)
    if kind in ("conv", "separable", "depthwise"):
        p = conv_pad_before(layer, n_in, a)
        s, d = layer.strides[a], layer.dilation_rate[a]
        out = []
        for t in range(layer.kernel_size[a]):
            q = i + p - t * d
            if q >= 0 and q % s == 0 and q // s < n_out:
                out.append((q // s, t))
        return out
    if kind == "transpose":
        k, s, d = layer.kernel_size[a], layer.strides[a], layer.dilation_rate[a]
        p = shapes.conv_transpose_padding(n_in, n_out, k, s, d, layer.padding)
        return [(i * s + t * d - p, t) for t in range(k) if 0 <= i * s + t * d - p < n_out]
    if kind == "crop":
        o = i - layer.cropping[a][0]
        return [(o, None)] if 0 <= o < n_out else []
    if kind == "pad":
        return [(i + layer.padding[a][0], None)]
    s = layer.size[a]
    if getattr(layer, "interpolation", "nearest") == "nearest":
        return [(o, None) for o in range(i * s, (i + 1) * s)]
    return [(o, None) for o in range(n_out) if any(j == i for j, _ in sources_1d(
        layer, a, n_in, n_out, o))]


def display_pads(layer, spatial_in: tuple, spatial_out: tuple) -> list:
    """Per axis ``(before, after)`` zeros of the "padded input" panel (clipped at 0)."""
    kind = kind_of(type(layer).__name__)
    pads = []
    for a, (n, o) in enumerate(zip(spatial_in, spatial_out)):
        if kind in ("conv", "separable", "depthwise"):
            b, e = shapes.conv_padding(n, layer.kernel_size[a], layer.strides[a],
                                       layer.dilation_rate[a], layer.padding)
            pads.append((max(b, 0), max(e, 0)))
        else:
            pads.append((0, 0))
    return pads


def transpose_view(layer, x_axes: np.ndarray, spatial_out: tuple) -> tuple[np.ndarray, list]:
    """A transposed convolution as a stride-1 convolution (with the kernel flipped) over the
    input with ``s − 1`` zeros inserted between cells and ``d·(k−1) − before`` zeros around.
    ``x_axes``: (*spatial, channels). Returns (that array, per-axis (offset, stride)) where
    input cell ``i`` sits at ``offset + i·stride``."""
    arr = x_axes
    place = []
    for a, o in enumerate(spatial_out):
        n = arr.shape[a]
        k, s, d = layer.kernel_size[a], layer.strides[a], layer.dilation_rate[a]
        before = shapes.conv_transpose_padding(x_axes.shape[a], o, k, s, d, layer.padding)
        left = d * (k - 1) - before
        length = o + d * (k - 1)
        z_shape = list(arr.shape)
        z_shape[a] = length
        z = np.zeros(z_shape, arr.dtype)
        idx = left + np.arange(n) * s
        ok = (idx >= 0) & (idx < length)
        sl_z = [slice(None)] * arr.ndim
        sl_x = [slice(None)] * arr.ndim
        sl_z[a] = idx[ok]
        sl_x[a] = np.nonzero(ok)[0]
        z[tuple(sl_z)] = arr[tuple(sl_x)]
        arr = z
        place.append((left, s))
    return arr, place


def data_format_note(data_format: str, rank: int, in_shape: tuple) -> str:
    """What ``data_format`` does to the tensor layout, with the actual shape."""
    axes = AXIS_NAMES[rank]
    last = "(batch, " + ", ".join(axes) + ", channels)"
    first = "(batch, channels, " + ", ".join(axes) + ")"
    shown = last if data_format == "channels_last" else first
    other = first if data_format == "channels_last" else last
    return (f"data_format={data_format!r}: tensors are laid out as {shown} = {tuple(in_shape)}; "
            f"the other choice would read them as {other}.")
