"""Pure helpers behind the views (no Streamlit): inputs, the server's budget, per-axis
formulas and padded views.

Which input cells feed which output cell, the paddings, the weight shapes, parameters and
multiply-adds are :mod:`engine.geometry`'s: this module only puts them into words and
numbers for the page.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.state import SAMPLES
from engine import io as eio
from engine import shapes
from engine.geometry import AXIS_SHORT, LayerGeometry, geometry

ASSETS = Path(__file__).resolve().parent.parent / "assets"
# The server's budget per request (one place; see README "Limits"). A request above any of
# these is refused with a message before anything is allocated or computed, so that one
# student's typo cannot freeze or exhaust a server shared by a class.
MAX_OUTPUT_ELEMENTS = 50_000_000      # float32 output values (200 MB)
MAX_MACS = 5_000_000_000              # multiply-adds (a few seconds on one core)
MAX_INPUT_ELEMENTS = 16_000_000       # prepared input values, batch included (64 MB)
MAX_PARAMS = 16_000_000               # weights (64 MB), checked before they are allocated
MAX_WORK_ELEMENTS = 64_000_000        # padded / expanded copies the kernels make (256 MB)


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
    c = arr.shape[-1]
    channels = 1 if color == "gray" else (3 if color == "rgb" and c == 1 else c)
    spatial = tuple(size) if size is not None else tuple(arr.shape[:-1])
    n = batch * math.prod(spatial) * channels
    if n > MAX_INPUT_ELEMENTS:
        fit = fit_size(tuple(arr.shape[:-1]), batch * channels)
        raise eio.InputError(
            f"This input would have {n:,} values (batch {batch} × {' × '.join(map(str, spatial))}"
            f" × {channels} channels); the server's limit is {MAX_INPUT_ELEMENTS:,}. Tick "
            f"Resize and use at most {' × '.join(map(str, fit))}, or a smaller batch.")
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


def fit_size(spatial: tuple, per_cell: int, limit: int = MAX_INPUT_ELEMENTS) -> tuple:
    """The largest ``spatial`` size with the same proportions whose ``prod · per_cell`` fits
    ``limit`` (each axis ≥ 1; an axis that would shrink below 1 stays at 1)."""
    spatial = tuple(int(s) for s in spatial)
    per_cell = max(int(per_cell), 1)
    if math.prod(spatial) * per_cell <= limit:
        return spatial
    budget = max(limit // per_cell, 1)
    out = [1] * len(spatial)
    free = list(range(len(spatial)))
    while free:
        f = (budget / math.prod(spatial[i] for i in free)) ** (1 / len(free))
        small = [i for i in free if spatial[i] * f < 1]
        if not small:
            for i in free:
                out[i] = max(1, int(spatial[i] * f))
            break
        free = [i for i in free if i not in small]  # those stay 1
    while math.prod(out) > budget and max(out) > 1:  # float rounding: at most a few steps
        out[out.index(max(out))] -= 1
    return tuple(out)


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

def approx(n: int) -> str:
    """A count for messages: ``1,234,567`` or, when astronomically large, ``≈ 10^42``."""
    n = int(n)
    if n < 10 ** 15:
        return f"{n:,}"
    return f"≈ 10^{int(math.log10(n))}"


@dataclass
class Cost:
    """What a request needs, estimated from shapes alone. ``work_elements``: the largest
    temporary array (zero-padded or channel-expanded input, separable's middle tensor)."""

    params: int
    macs: int
    out_elements: int
    in_elements: int
    work_elements: int = 0

    @property
    def params_refusal(self) -> str | None:
        """Why the weights alone are over budget, or ``None``."""
        if self.params > MAX_PARAMS:
            return (f"This layer would have {approx(self.params)} weights; the server's limit "
                    f"is {MAX_PARAMS:,}. Reduce filters, depth_multiplier, kernel_size or the "
                    "input channels.")
        return None

    @property
    def refused(self) -> str | None:
        """Why the request is over budget (weights, output, working copy, multiply-adds)."""
        if self.params_refusal:
            return self.params_refusal
        if self.out_elements > MAX_OUTPUT_ELEMENTS:
            return (f"This request would produce {approx(self.out_elements)} output values; the "
                    f"limit is {MAX_OUTPUT_ELEMENTS:,}. Reduce the batch, the input size (tick "
                    "Resize), filters or the upsampling factor.")
        if self.work_elements > MAX_WORK_ELEMENTS:
            return (f"This request needs a working copy of {approx(self.work_elements)} values "
                    f"(the input with its zero padding); the limit is {MAX_WORK_ELEMENTS:,}. "
                    "Reduce dilation_rate, kernel_size, padding or the input size.")
        if self.macs > MAX_MACS:
            return (f"This request needs {approx(self.macs)} multiply-adds "
                    f"(≈ {self.macs / 1e9:.3g} G); the limit is {MAX_MACS / 1e9:.0f} G. Reduce "
                    "the input size (tick Resize), filters or kernel_size."
                    if self.macs < 10 ** 300 else
                    f"This request needs {approx(self.macs)} multiply-adds; the limit is "
                    f"{MAX_MACS / 1e9:.0f} G. Reduce the input size, filters or kernel_size.")
        return None


def _work(g: LayerGeometry) -> int:
    """Upper bound of the largest temporary array the engine (and the padded-input panel)
    makes: the input zero-padded by each dilated kernel's extent on both sides, the
    channel-expanded input of grouped convolutions, the separable middle tensor."""
    kind, layer = g.kind, g.layer
    if kind not in ("conv", "separable", "depthwise", "transpose"):
        return 0
    batch, in_sp, c = g.batch, g.in_spatial, g.in_channels
    out_sp, f = g.out_spatial, g.out_channels
    ke = [shapes.effective_kernel(k, d) for k, d in zip(layer.kernel_size, layer.dilation_rate)]
    padded = math.prod(n + 2 * e for n, e in zip(in_sp, ke))
    work = batch * padded * c
    if kind == "transpose":  # the zero-inserted view of one item
        work = max(work, math.prod(o + e for o, e in zip(out_sp, ke)) * c)
    if kind in ("depthwise", "separable"):
        m = layer.depth_multiplier
        work = max(work, batch * math.prod(in_sp) * (-(-c * m // 16) * 16))
        if kind == "separable":
            work = max(work, batch * math.prod(out_sp) * c * m)
    elif kind == "conv" and layer.groups > 1:
        work = max(work, batch * math.prod(in_sp) * (c // layer.groups) * (-(-f // 16) * 16))
    return int(work)


def cost_of(g: LayerGeometry) -> Cost:
    """Parameters, multiply-adds and sizes of the geometry ``g``, before anything runs.

    An output over the budget is refused on its size alone: its multiply-adds (which walk
    every output position of an interpolating resize) are then not counted (0)."""
    n_out = math.prod(g.out_shape)
    macs = g.macs if n_out <= MAX_OUTPUT_ELEMENTS and g.params <= MAX_PARAMS else 0
    return Cost(g.params, int(macs), int(n_out), int(math.prod(g.in_shape)), _work(g))


def cost(layer, in_shape, out_shape=None) -> Cost:
    """:func:`cost_of` ``layer`` on ``in_shape``. With ``out_shape`` (what
    ``compute_output_shape`` gave), a shape Keras refuses only when it builds (no input
    channels, groups that do not divide them) costs its sizes alone: the call fails before
    any work. Without it, that refusal is raised (ValueError, Keras's reason)."""
    try:
        return cost_of(geometry(layer, tuple(in_shape)))
    except ValueError:
        if out_shape is None:
            raise
        return Cost(0, 0, math.prod(out_shape), math.prod(in_shape))


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


def _conv_formula(layer, a: int, n: int, o: int, pad: tuple, names) -> tuple[str, tuple, str]:
    """(formula, zeros shown, note) of a convolution axis; ``pad`` is the geometry's."""
    k, s, d = layer.kernel_size[a], layer.strides[a], layer.dilation_rate[a]
    before, after = pad
    if layer.padding == "valid":
        f = (f"⌊({n} − {d}·({k} − 1) − 1)/{s}⌋ + 1 = {o}" if d > 1
             else f"⌊({n} − {k})/{s}⌋ + 1 = {o}")
        note = (f"valid padding: the last {-after} {names[a]} of the input are never read by "
                "the kernel (they fall past the last full window)." if after < 0 else "")
        return f, (0, 0), note
    ke = shapes.effective_kernel(k, d)
    f = (f"⌈{n}/{s}⌉ = {o}  ·  with the zeros ({before} before, {after} after): "
         f"⌊({n} + {before} + {after} − {ke})/{s}⌋ + 1 = {o}")
    note = ""
    if layer.padding == "causal":
        note = f"causal: {before} zeros on the left only ({d}·({k} − 1))."
    elif before != after:
        note = (f"TensorFlow's same padding puts the odd extra zero at the end: {before} "
                f"before, {after} after (PyTorch-style symmetric padding would differ).")
    return f, pad, note


def _transpose_formula(layer, a: int, n: int, o: int) -> tuple[str, str]:
    """(formula, note) of a transposed-convolution axis."""
    k, s, d = layer.kernel_size[a], layer.strides[a], layer.dilation_rate[a]
    op = None if layer.output_padding is None else layer.output_padding[a]
    kstr = f"{d}·({k} − 1) + 1" if d > 1 else f"{k}"
    if layer.padding == "valid":
        f = (f"({n} − 1)·{s} + {kstr} + max({kstr}, {s}) − {kstr} = {o}" if op is None
             else f"({n} − 1)·{s} + {kstr} + {op} = {o}")
    else:
        f = f"{n}·{s} = {o}" if op is None else f"({n} − 1)·{s} + ({kstr}) mod 2 + {op} = {o}"
    note = ""
    if s > 1 and op is None:
        # output_padding 0 … s−1 give consecutive sizes (never enumerate a huge s)
        lo, hi = (shapes.conv_transpose_output_length(n, k, s, d, layer.padding, p)
                  for p in (0, s - 1))
        alts = (", ".join(map(str, range(lo, hi + 1))) if hi - lo < 8
                else f"{lo}, {lo + 1}, …, {hi}")
        note = (f"Ambiguous without output_padding: a forward Conv with these arguments maps "
                f"any of {alts} cells to {n}; Keras picks {o}. Set output_padding to choose.")
    return f, note


def axis_infos(layer, in_shape) -> list[AxisInfo]:
    """Per spatial axis: the output-size formula with the user's numbers filled in; the
    paddings are the geometry's (:attr:`engine.geometry.AxisOp.pad`)."""
    g = geometry(layer, tuple(in_shape))
    names = AXIS_SHORT[g.rank]
    infos = []
    for a, (n, o, op) in enumerate(zip(g.in_spatial, g.out_spatial, g.axes)):
        note, pad = "", (0, 0)
        if g.kind in ("conv", "separable", "depthwise"):
            f, pad, note = _conv_formula(layer, a, n, o, op.pad, names)
        elif g.kind == "transpose":
            f, note = _transpose_formula(layer, a, n, o)
        elif g.kind == "crop":
            b, e = (-p for p in op.pad)
            f = f"{n} − {b} − {e} = {o}"
        elif g.kind == "pad":
            pad = op.pad
            f = f"{n} + {pad[0]} + {pad[1]} = {o}"
        else:
            f = f"{n}·{layer.size[a]} = {o}"
        infos.append(AxisInfo(names[a], n, o, f, pad, note))
    return infos


def padded_pads(g: LayerGeometry) -> tuple:
    """Per axis ``(before, after)`` zeros of the "padded input" panel: a convolution's
    padding (a valid convolution's unread tail is not drawn), none for the other kinds."""
    if g.kind not in ("conv", "separable", "depthwise"):
        return tuple((0, 0) for _ in g.axes)
    return tuple((max(b, 0), max(e, 0)) for b, e in g.pads)


def transpose_view(g: LayerGeometry, x_axes: np.ndarray) -> tuple[np.ndarray, list]:
    """A transposed convolution (``g.axes`` are :class:`engine.geometry.TransposeAxis`) as a
    stride-1 convolution (with the kernel flipped) over the input with ``s − 1`` zeros
    inserted between cells and ``d·(k−1) − before`` zeros around, ``before`` being the
    cells the transposed convolution crops (``−pad[0]``).
    ``x_axes``: (*spatial, channels). Returns (that array, per-axis (offset, stride)) where
    input cell ``i`` sits at ``offset + i·stride``."""
    arr = x_axes
    place = []
    for a, op in enumerate(g.axes):
        n, o = op.n_in, op.n_out
        left = op.kernel - 1 + op.pad[0]  # pad[0] = −(cells cropped before)
        length = o + op.kernel - 1
        z_shape = list(arr.shape)
        z_shape[a] = length
        z = np.zeros(z_shape, arr.dtype)
        idx = left + np.arange(n) * op.s
        ok = (idx >= 0) & (idx < length)
        sl_z = [slice(None)] * arr.ndim
        sl_x = [slice(None)] * arr.ndim
        sl_z[a] = idx[ok]
        sl_x[a] = np.nonzero(ok)[0]
        z[tuple(sl_z)] = arr[tuple(sl_x)]
        arr = z
        place.append((left, op.s))
    return arr, place


def data_format_note(data_format: str, rank: int, in_shape: tuple) -> str:
    """What ``data_format`` does to the tensor layout, with the actual shape."""
    axes = AXIS_SHORT[rank]
    last = "(batch, " + ", ".join(axes) + ", channels)"
    first = "(batch, channels, " + ", ".join(axes) + ")"
    shown = last if data_format == "channels_last" else first
    other = first if data_format == "channels_last" else last
    return (f"data_format={data_format!r}: tensors are laid out as {shown} = {tuple(in_shape)}; "
            f"the other choice would read them as {other}.")
