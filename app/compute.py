"""Pure helpers behind the views (no Streamlit): inputs, the server's budget, padded views
and tensor layouts.

Which input cells feed which output cell, the paddings, the weight shapes, parameters and
multiply-adds are :mod:`engine.geometry`'s, and their derivations in words
:mod:`engine.geometry.explain`'s: this module only prepares numbers for the page.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.state import SAMPLES
from engine import io as eio
from engine.geometry import AXIS_SHORT, LayerGeometry, geometry

ASSETS = Path(__file__).resolve().parent.parent / "assets"
# The server's budget per request (one place; see README "Limits"). A request above any of
# these is refused with a message before anything is allocated or computed, so that one
# student's typo cannot freeze or exhaust a server shared by a class.
MAX_OUTPUT_ELEMENTS = 50_000_000      # float32 output values (200 MB)
MAX_MACS = 5_000_000_000              # multiply-adds (a few seconds on one core)
MAX_INPUT_ELEMENTS = 16_000_000       # prepared input values, batch included (64 MB)
MAX_PARAMS = 16_000_000               # weights (64 MB), checked before they are allocated
MAX_WORK_ELEMENTS = 64_000_000        # the kernels' working memory, output included (256 MB)


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
    """What a request needs, estimated from shapes alone. ``work_elements``: the kernels'
    working memory in float32 values (:attr:`engine.geometry.LayerGeometry.work_bytes`: the
    output, copies, the zero-padded input, tap tables and packed weights)."""

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
                    "(the output, the input with its zero padding, tap tables); the limit is "
                    f"{MAX_WORK_ELEMENTS:,}. Reduce dilation_rate, kernel_size, padding, "
                    "filters or the input size.")
        if self.macs > MAX_MACS:
            return (f"This request needs {approx(self.macs)} multiply-adds "
                    f"(≈ {self.macs / 1e9:.3g} G); the limit is {MAX_MACS / 1e9:.0f} G. Reduce "
                    "the input size (tick Resize), filters or kernel_size."
                    if self.macs < 10 ** 300 else
                    f"This request needs {approx(self.macs)} multiply-adds; the limit is "
                    f"{MAX_MACS / 1e9:.0f} G. Reduce the input size, filters or kernel_size.")
        return None


def cost_of(g: LayerGeometry) -> Cost:
    """Parameters, multiply-adds and sizes of the geometry ``g``, before anything runs.

    An output over the budget is refused on its size alone: its multiply-adds (which walk
    every output position of an interpolating resize) are then not counted (0)."""
    n_out = math.prod(g.out_shape)
    macs = g.macs if n_out <= MAX_OUTPUT_ELEMENTS and g.params <= MAX_PARAMS else 0
    fits = n_out <= MAX_OUTPUT_ELEMENTS and g.params <= MAX_PARAMS
    work = -(-g.work_bytes // 4) if fits else 0
    return Cost(g.params, int(macs), int(n_out), int(math.prod(g.in_shape)), work)


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


#: The longest count a one-third-width metric shows whole at a 1024 px window ("9,999,999").
METRIC_CHARS = 9


def metric_count(n: int) -> str:
    """``n`` for an ``st.metric`` value: whole (``2,164,138``) up to :data:`METRIC_CHARS`
    characters, else four significant digits and a unit (``100.0 M``, ``2.097 G``) rather
    than Streamlit's cut ``100,009,…``; the caller shows the exact count beside it."""
    whole = f"{n:,}"
    if len(whole) <= METRIC_CHARS:
        return whole
    unit, div = next((u, d) for u, d in (("T", 10**12), ("G", 10**9), ("M", 10**6)) if n >= d)
    x = n / div                                 # 1 ≤ x < 1000 (T: any size)
    return f"{x:,.{max(0, 3 - int(math.log10(x)))}f} {unit}"


# --------------------------------------------------------------------------- views

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


def layout_axes(data_format: str, rank: int) -> tuple[str, ...]:
    """The axes of a tensor in ``data_format``, in order: batch, rows, cols, channels."""
    spatial = tuple(AXIS_SHORT[rank])
    return (("batch",) + spatial + ("channels",) if data_format == "channels_last"
            else ("batch", "channels") + spatial)


def layout_words(data_format: str, rank: int) -> str:
    """:func:`layout_axes` as text: ``(batch, rows, cols, channels)``."""
    return "(" + ", ".join(layout_axes(data_format, rank)) + ")"


def data_format_note(data_format: str, rank: int, in_shape: tuple) -> str:
    """What ``data_format`` does to the tensor layout, with the actual shape."""
    other = "channels_first" if data_format == "channels_last" else "channels_last"
    shown, other = layout_words(data_format, rank), layout_words(other, rank)
    return (f"data_format={data_format!r}: tensors are laid out as {shown} = {tuple(in_shape)}; "
            f"the other choice would read them as {other}.")
