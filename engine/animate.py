"""Step-by-step data for animating every layer: frames as plain arrays and dicts, no plotting.

:func:`animate` runs a layer on a small input (batch of 1) and returns an :class:`Animation`:
``frames`` (one dict per step) plus ``meta`` (what does not change between steps: the input
as the layer sees it, padding, kernels, categories of cells). :func:`frames` returns only
the list, as DESIGN.md's minimum contract asks.

The values are *computed* here, step by step, in float64 from the float32 input and weights;
the last frame's ``"output"`` is then set to ``layer(x)`` exactly and its ``"computed"`` keeps
what the steps accumulated, so that tests can check the two agree.

Every frame has these keys:

============ ===============================================================================
step         position of the frame in the list (0-based)
stage        what the step does: ``conv`` (one output cell or row of a convolution),
             ``depthwise`` / ``pointwise`` (separable stages), ``scatter`` / ``gather`` (the
             two views of a transposed convolution), ``finish`` (bias and activation),
             ``copy``, ``pad``, ``crop``, ``repeat`` (nearest upsampling), ``interpolate``
caption      one sentence saying what happens, with the numbers
output       the output buffer after the step: shape and layout of ``layer(x)``, float32,
             NaN where nothing has been written yet
source       which buffer ``in_cells`` index: ``"input"`` (``meta["input_view"]``: the
             input with its padding, or the dilated and padded input of the gather view)
             or ``"mid"`` (the depthwise result of a separable convolution)
in_cells     int array ``(R, rank)``: the cells read in this step, in ``source`` coordinates
out_cells    int array ``(M, rank)``: the output cells written (``canvas_cells`` for the
             scatter view: where the stamp lands on the uncropped canvas)
============ ===============================================================================

Optional keys: ``taps`` (cell granularity of the convolutions: per kernel tap the kernel
index, the input index, whether it is inside the input, the input values ``x`` and the
``products``, see :func:`_conv_steps`), ``value`` (what was written, per output channel),
``in_weights`` (interpolation weights of ``in_cells``), ``mid`` (separable: the depthwise
buffer, channels-last ``(*spatial, C·M)``), ``canvas`` (scatter view: the uncropped
channels-last ``(*canvas, filters)`` buffer), ``cut`` (cropping: boolean mask of the input
cells removed so far), ``written`` (padding: boolean mask of the output cells written so
far), ``computed`` and ``pre_activation`` (last frame).

Frame counts (``P(shape)`` = product of the sizes, ``rows`` = product of all but the last):

=================================== ===================================== =================
layer                               granularity "cell"                    "row"
=================================== ===================================== =================
Conv, DepthwiseConv                 P(output) + 1 (bias + activation)     rows(output) + 1
SeparableConv                       2·P(output) + 1                       2·rows(output) + 1
ConvTranspose, view "scatter"       P(input) + 1                          rows(input) + 1
ConvTranspose, view "gather"        P(output) + 1                         rows(output) + 1
ZeroPadding                         1 + number of sides with padding > 0  (same)
Cropping                            number of sides with cropping > 0 + 1 (same)
UpSampling, nearest                 P(input)                              rows(input)
UpSampling2D, other interpolations  P(output)                             rows(output)
=================================== ===================================== =================

``granularity="auto"`` picks "cell" when it fits in ``max_frames`` (:data:`MAX_FRAMES`),
else "row"; beyond that a ``ValueError`` says how to shrink the input.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from engine import shapes
from engine.layers.conv import (
    BaseConv, BaseConvTranspose, BaseDepthwiseConv, BaseSeparableConv, depthwise_as_grouped,
    from_channels_last, to_channels_last,
)
from engine.layers.reshaping import BaseCropping, BaseUpSampling, BaseZeroPadding

MAX_FRAMES = 400  # more than this and the browser animation stops being smooth
MAX_CELLS = 4096  # spatial cells of the input / output an animation may have
GRANULARITIES = ("auto", "cell", "row")
TRANSPOSE_VIEWS = ("scatter", "gather")

# Categories of cells in ``meta["input_category"]`` / ``meta["output_category"]`` /
# ``meta["canvas_category"]``.
REAL = 0  # a value of the input (or of the output)
PAD = 1  # a zero added by padding (same / causal / ZeroPadding / transposed "full" padding)
STRIDE_ZERO = 2  # a zero inserted between input cells (gather view of a transposed conv)
OUTPUT_PAD = 3  # output cells beyond the full scatter (output_padding, or TF's n·s size)
UNUSED = 4  # an input cell no kernel tap ever reads
CUT = 5  # a cell removed by Cropping
CROPPED = 6  # canvas cells a transposed convolution with padding="same" cuts away
CATEGORY_NAMES = {
    REAL: "input", PAD: "padding zero", STRIDE_ZERO: "inserted zero (stride − 1)",
    OUTPUT_PAD: "output_padding", UNUSED: "never read", CUT: "cropped",
    CROPPED: "cut by same padding",
}

_SIDE_NAMES = {
    1: (("left", "right"),),
    2: (("top", "bottom"), ("left", "right")),
    3: (("front", "back"), ("top", "bottom"), ("left", "right")),
}
_AXIS_UNITS = {1: ("step",), 2: ("row", "column"), 3: ("slice", "row", "column")}


@dataclass
class Animation:
    """What :func:`animate` returns.

    kind: ``conv``, ``depthwise``, ``separable``, ``transpose``, ``zeropad``, ``crop``,
    ``upsample`` or ``interpolate``; view: ``scatter`` / ``gather`` for transposed
    convolutions, else None; frames: the list of frame dicts (module docstring);
    meta: static data, channels-last, batch dropped (see each builder).
    """

    kind: str
    layer_name: str
    rank: int
    data_format: str
    granularity: str
    view: Optional[str]
    frames: list = field(default_factory=list)
    meta: dict = field(default_factory=dict)

    @property
    def output(self) -> np.ndarray:
        """``layer(x)``: the last frame's output."""
        return self.frames[-1]["output"]


# --------------------------------------------------------------------------- public API

def frames(layer, x, granularity: str = "auto", view: str = "scatter",
           max_frames: int = MAX_FRAMES) -> list:
    """The frames of :func:`animate` (DESIGN.md's minimum contract)."""
    return animate(layer, x, granularity, view, max_frames).frames


def animate(layer, x, granularity: str = "auto", view: str = "scatter",
            max_frames: int = MAX_FRAMES) -> Animation:
    """Step-by-step data for ``layer`` applied to ``x`` (batch of one, layer's data_format).

    ``granularity``: ``"cell"`` (one frame per output cell, per input cell for stamps and
    repetition), ``"row"`` (one frame per row of cells) or ``"auto"`` (cell if it fits in
    ``max_frames``, else row). ``view`` (transposed convolutions only): ``"scatter"`` (each
    input cell stamps a scaled kernel into the output) or ``"gather"`` (dilate the input with
    stride − 1 zeros, pad, convolve with the flipped kernel).

    Raises ValueError for a batch other than 1, too many cells or frames (the message says
    what to shrink), or what the layer itself refuses.
    """
    if granularity not in GRANULARITIES:
        raise ValueError(f"`granularity` must be one of {GRANULARITIES}. "
                         f"Received: granularity={granularity!r}")
    if view not in TRANSPOSE_VIEWS:
        raise ValueError(f"`view` must be one of {TRANSPOSE_VIEWS}. Received: view={view!r}")
    x = np.asarray(x)
    if x.ndim != layer.rank + 2:
        # let the layer produce Keras's message
        layer(x)
    if x.shape[0] != 1:
        raise ValueError(
            f"Animations take a batch of one sample; received an input of shape {x.shape}. "
            "Pass x[:1].")
    y = layer(x)
    fmt = getattr(layer, "data_format", "channels_last")
    x0 = to_channels_last(np.asarray(x, dtype=np.float32), fmt)[0]
    y0 = to_channels_last(y, fmt)[0]
    for name, arr in (("input", x0), ("output", y0)):
        cells = math.prod(arr.shape[:-1])
        if cells > MAX_CELLS:
            raise ValueError(
                f"The {name} has {cells} cells ({' × '.join(map(str, arr.shape[:-1]))}); "
                f"animations take at most {MAX_CELLS}. Crop or resize the input to a few "
                "cells per axis (8 × 8 is plenty to see the layer work).")
    ctx = _Ctx(layer, fmt, x0, y, y0, granularity, max_frames)
    if isinstance(layer, BaseSeparableConv):
        return _separable(ctx)
    if isinstance(layer, BaseDepthwiseConv):
        return _depthwise(ctx)
    if isinstance(layer, BaseConv):
        return _conv(ctx)
    if isinstance(layer, BaseConvTranspose):
        return _transpose_gather(ctx) if view == "gather" else _transpose_scatter(ctx)
    if isinstance(layer, BaseZeroPadding):
        return _zeropad(ctx)
    if isinstance(layer, BaseCropping):
        return _crop(ctx)
    if isinstance(layer, BaseUpSampling):
        if layer.interpolation == "nearest":
            return _upsample_nearest(ctx)
        return _interpolate(ctx)
    raise ValueError(f"No animation for layer type {type(layer).__name__}")


def count_frames(layer, input_shape, granularity: str = "cell", view: str = "scatter") -> int:
    """Number of frames :func:`animate` makes for an input of ``input_shape`` (batch first),
    from the arithmetic alone (``granularity`` "cell" or "row")."""
    if granularity not in ("cell", "row"):
        raise ValueError("count_frames needs granularity 'cell' or 'row'")
    fmt = getattr(layer, "data_format", "channels_last")
    _, spatial, _ = shapes.split_shape(input_shape, layer.rank, fmt, layer.name)
    _, out, _ = shapes.split_shape(layer.compute_output_shape(tuple(input_shape)), layer.rank,
                                   fmt, layer.name)

    def n(sizes):
        return math.prod(sizes) if granularity == "cell" else math.prod(sizes[:-1])

    if isinstance(layer, BaseSeparableConv):
        return 2 * n(out) + 1
    if isinstance(layer, (BaseConv, BaseDepthwiseConv)):
        return n(out) + 1
    if isinstance(layer, BaseConvTranspose):
        return (n(out) if view == "gather" else n(spatial)) + 1
    if isinstance(layer, BaseZeroPadding):
        return 1 + sum(1 for pair in layer.padding for v in pair if v > 0)
    if isinstance(layer, BaseCropping):
        return sum(1 for pair in layer.cropping for v in pair if v > 0) + 1
    if isinstance(layer, BaseUpSampling):
        return n(spatial) if layer.interpolation == "nearest" else n(out)
    raise ValueError(f"No animation for layer type {type(layer).__name__}")


# --------------------------------------------------------------------------- helpers

class _Ctx:
    """What every builder needs: the layer, its input and output (channels-last, batch 0)."""

    def __init__(self, layer, fmt, x0, y, y0, granularity, max_frames):
        self.layer = layer
        self.fmt = fmt
        self.x0 = x0
        self.y = y
        self.y0 = y0
        self.rank = layer.rank
        self.granularity = granularity
        self.max_frames = max_frames
        self.frames: list = []

    def layout(self, buf: np.ndarray) -> np.ndarray:
        """channels-last ``(*spatial, C)`` buffer → the layer's layout with batch 1, float32."""
        return from_channels_last(np.asarray(buf, dtype=np.float32)[None], self.fmt)

    def choose(self, n_cell: int, n_row: int, unit_cell: str, unit_row: str) -> str:
        """Resolve the granularity against the frame cap (actionable message beyond it)."""
        g = self.granularity
        if g == "auto":
            g = "cell" if n_cell <= self.max_frames else "row"
        n = n_cell if g == "cell" else n_row
        if n > self.max_frames:
            hint = (f" or granularity='row' ({n_row} frames, one per {unit_row})"
                    if g == "cell" and n_row <= self.max_frames else "")
            raise ValueError(
                f"This animation would take {n} frames (one per {unit_cell if g == 'cell' else unit_row}); "
                f"the limit is {self.max_frames} so that it plays smoothly. Shrink the input "
                f"(e.g. to 8 × 8), use a larger stride{hint}.")
        return g

    def add(self, stage: str, caption: str, out_buf: np.ndarray, in_cells, out_cells,
            source: str = "input", **extra) -> dict:
        frame = {
            "step": len(self.frames),
            "stage": stage,
            "caption": caption,
            "output": self.layout(out_buf),
            "source": source,
            "in_cells": np.asarray(in_cells, dtype=np.int64).reshape(-1, self.rank),
            "out_cells": np.asarray(out_cells, dtype=np.int64).reshape(-1, self.rank),
        }
        frame.update(extra)
        self.frames.append(frame)
        return frame

    def finish_exact(self, computed_buf: np.ndarray) -> None:
        """Last frame: output = layer(x) exactly; ``computed`` keeps the accumulated values."""
        last = self.frames[-1]
        last["computed"] = from_channels_last(np.asarray(computed_buf, np.float64)[None],
                                              self.fmt)
        last["output"] = np.array(self.y, dtype=np.float32, copy=True)

    def animation(self, kind: str, granularity: str, view=None, **meta) -> Animation:
        base = {
            "input": self.x0,
            "output_final": self.y0,
            "input_shape": tuple(self.x0.shape[:-1]),
            "output_shape": tuple(self.y0.shape[:-1]),
            "in_channels": int(self.x0.shape[-1]),
            "out_channels": int(self.y0.shape[-1]),
        }
        base.update(meta)
        return Animation(kind, type(self.layer).__name__, self.rank, self.fmt, granularity,
                         view, self.frames, base)


def _fmt(v: float) -> str:
    v = float(v)
    if not math.isfinite(v):
        return str(v)
    if v == int(v) and abs(v) < 1e6:
        return str(int(v))
    a = abs(v)
    return f"{v:.0f}" if a >= 1000 else f"{v:.1f}" if a >= 100 else f"{v:.3g}"


def _paren(v: float) -> str:
    text = _fmt(v)
    return f"({text})" if text.startswith("-") else text


def _idx(cell) -> str:
    return "[" + ", ".join(str(int(c)) for c in cell) + "]"


def _positions(sizes) -> np.ndarray:
    """All cells of a grid, row-major, as ``(P, rank)`` int64."""
    sizes = tuple(int(s) for s in sizes)
    if math.prod(sizes) == 0:
        return np.zeros((0, len(sizes)), np.int64)
    grids = np.meshgrid(*[np.arange(s) for s in sizes], indexing="ij")
    return np.stack([g.reshape(-1) for g in grids], axis=1).astype(np.int64)


def _row_blocks(n_positions: int, last: int):
    """Consecutive ``(start, stop)`` blocks of one row (``last`` cells) each."""
    if last <= 0:
        return []
    return [(s, min(s + last, n_positions)) for s in range(0, n_positions, last)]


def _unique_cells(cells: np.ndarray) -> np.ndarray:
    cells = np.asarray(cells, np.int64)
    if cells.size == 0:
        return cells.reshape(0, cells.shape[-1] if cells.ndim > 1 else 0)
    return np.unique(cells.reshape(-1, cells.shape[-1]), axis=0)


def _activation_name(layer) -> str:
    act = getattr(layer, "activation", None)
    if act is None:
        return "linear"
    return getattr(act, "__name__", None) or type(act).__name__


def _finish_conv(ctx: _Ctx, pre: np.ndarray, channels_word: str = "filter") -> None:
    """The bias + activation frame of the weighted layers; then output = layer(x)."""
    layer = ctx.layer
    bias = layer._weight("bias") if layer.use_bias else None
    total = pre if bias is None else pre + bias.astype(np.float64)
    act = layer.activation
    if act is None:
        computed = total
    else:
        computed = np.asarray(act(total.astype(np.float32)), dtype=np.float64)
    parts = []
    if bias is not None:
        shown = ", ".join(_fmt(b) for b in bias[:6]) + (", …" if bias.size > 6 else "")
        parts.append(f"add the bias of each {channels_word} (b = [{shown}])")
    else:
        parts.append("no bias (use_bias=False)")
    parts.append(f"apply activation '{_activation_name(layer)}'" if act is not None
                 else "activation: none (linear)")
    ctx.add("finish", "Finish: " + " and ".join(parts) + ".", computed, [], [],
            pre_activation=from_channels_last(total[None], ctx.fmt))
    ctx.finish_exact(computed)


# --------------------------------------------------------------------------- convolutions

def _conv_steps(x_view: np.ndarray, kernel: np.ndarray, groups: int, strides, dilation,
                out_sizes, origin):
    """Gather every output cell's taps at once (vectorised im2col) in float64.

    ``x_view`` ``(*V, C)``: the input as the kernel sees it (padding included); ``origin``:
    the view index of input cell 0 per axis. Returns positions ``(P, rank)``, kernel taps
    ``(K, rank)``, view indices ``(P, K, rank)``, tap values ``(P, K, C)``, products
    ``(P, K, cg, F)`` (``products[p, k, c, f] = x[tap, g(f)·cg + c] · w[k, c, f]``) and sums
    ``(P, F)``.
    """
    rank = x_view.ndim - 1
    ksize = kernel.shape[:rank]
    cg, n_filters = kernel.shape[rank], kernel.shape[rank + 1]
    fg = n_filters // groups
    pos = _positions(out_sizes)
    taps = _positions(ksize)
    view_idx = (pos[:, None, :] * np.asarray(strides)[None, None]
                + taps[None] * np.asarray(dilation)[None, None])
    n_pos, n_taps = pos.shape[0], taps.shape[0]
    vals = x_view[tuple(view_idx[..., a] for a in range(rank))]  # (P, K, C)
    xg = vals.reshape(n_pos, n_taps, groups, cg).astype(np.float64)
    w = kernel.reshape(n_taps, cg, groups, fg).astype(np.float64)
    products = np.einsum("pkgc,kcgf->pkcgf", xg, w).reshape(n_pos, n_taps, cg, n_filters)
    sums = products.sum(axis=(1, 2))
    return pos, taps, view_idx, vals, products, sums, np.asarray(origin)


def _padded_view(x0: np.ndarray, pads) -> tuple:
    """``x0`` ``(*S, C)`` with ``pads[i] = (before, after)`` zeros (negative after: unreached
    trailing cells stay in the view). Returns the view and the category grid."""
    rank = x0.ndim - 1
    before = [p[0] for p in pads]
    after = [max(p[1], 0) for p in pads]
    view = np.pad(x0, [(b, a) for b, a in zip(before, after)] + [(0, 0)])
    cat = np.full(view.shape[:-1], PAD, np.int8)
    cat[tuple(slice(b, b + n) for b, n in zip(before, x0.shape[:rank]))] = REAL
    return view, cat


def _mark_unused(cat: np.ndarray, view_idx: np.ndarray) -> np.ndarray:
    """Real cells no tap reads become UNUSED; returns the read-count grid."""
    counts = np.zeros(cat.shape, np.int64)
    flat = view_idx.reshape(-1, cat.ndim)
    if flat.size:
        np.add.at(counts, tuple(flat[:, a] for a in range(cat.ndim)), 1)
    cat[(cat == REAL) & (counts == 0)] = UNUSED
    return counts


def _conv_frames(ctx: _Ctx, steps, stage: str, out_channels: int, granularity: str,
                 source: str = "input", input_coords: bool = True, buf=None,
                 extra_key: Optional[str] = None, extra_fn=None):
    """One frame per output cell (or row) from :func:`_conv_steps` data; returns the buffer."""
    pos, taps, view_idx, vals, products, sums, origin = steps
    out_sizes = ctx.y0.shape[:-1] if buf is None else buf.shape[:-1]
    if buf is None:
        buf = np.full(tuple(out_sizes) + (out_channels,), np.nan)
    n_taps = taps.shape[0]
    cg = products.shape[2]
    if granularity == "cell":
        for p in range(pos.shape[0]):
            cell = tuple(pos[p])
            buf[cell] = sums[p]
            in_index = view_idx[p] - origin[None] if input_coords else view_idx[p]
            inside = np.ones(n_taps, bool)
            if input_coords:
                inside = np.all((in_index >= 0) & (in_index < np.asarray(ctx.x0.shape[:-1])),
                                axis=1)
            n_pad = int((~inside).sum())
            value = sums[p]
            shown = ", ".join(_fmt(v) for v in value[:4]) + (", …" if value.size > 4 else "")
            caption = (f"{stage.capitalize()}: output{_idx(cell)} = sum of {n_taps} tap"
                       f"{'s' if n_taps != 1 else ''} × {cg} channel{'s' if cg != 1 else ''}"
                       + (f" ({n_pad} in the padding)" if n_pad else "")
                       + f" → [{shown}]")
            extra = {extra_key: extra_fn(buf)} if extra_key else {}
            ctx.add(stage, caption, buf if extra_key is None else _nan_like(ctx.y0),
                    view_idx[p], pos[p:p + 1], source,
                    taps={"kernel_index": taps, "input_index": in_index, "inside": inside,
                          "x": vals[p], "products": products[p]},
                    value=sums[p].copy(), **extra)
    else:
        for start, stop in _row_blocks(pos.shape[0], int(out_sizes[-1])):
            buf[tuple(pos[start:stop].T)] = sums[start:stop]
            lead = pos[start][:-1]
            caption = (f"{stage.capitalize()}: output row {_idx(lead) if lead.size else ''} "
                       f"({stop - start} cells, {n_taps} taps each)").replace("  ", " ")
            extra = {extra_key: extra_fn(buf)} if extra_key else {}
            ctx.add(stage, caption, buf if extra_key is None else _nan_like(ctx.y0),
                    _unique_cells(view_idx[start:stop]), pos[start:stop], source, **extra)
    return buf


def _nan_like(y0: np.ndarray) -> np.ndarray:
    return np.full(y0.shape, np.nan)


def _conv_meta(layer, x0, pads, kernel, groups, view, cat, counts, origin):
    rank = layer.rank
    n_filters = kernel.shape[-1]
    cg = kernel.shape[rank]
    fg = n_filters // groups
    group_map = [list(range((f // fg) * cg, (f // fg) * cg + cg)) for f in range(n_filters)]
    return {
        "kernel": kernel,  # channels-last (*k, C/groups, F) as applied
        "kernel_size": tuple(layer.kernel_size),
        "strides": tuple(layer.strides),
        "dilation_rate": tuple(layer.dilation_rate),
        "padding": layer.padding,
        "pads": tuple(tuple(int(v) for v in p) for p in pads),
        "groups": groups,
        "group_map": group_map,
        "input_view": view,
        "input_category": cat,
        "input_origin": tuple(int(o) for o in origin),
        "read_count": counts,
        "bias": None if not layer.use_bias else layer._weight("bias").copy(),
        "activation": _activation_name(layer),
    }


def _conv_common(ctx: _Ctx, kernel: np.ndarray, groups: int, kind: str, stage: str):
    layer = ctx.layer
    spatial = ctx.x0.shape[:-1]
    out = ctx.y0.shape[:-1]
    pads = [shapes.conv_padding(n, k, s, d, layer.padding)
            for n, k, s, d in zip(spatial, layer.kernel_size, layer.strides,
                                  layer.dilation_rate)]
    n_cell = math.prod(out) + 1
    n_row = math.prod(out[:-1]) + 1
    g = ctx.choose(n_cell, n_row, "output cell", "output row")
    view, cat = _padded_view(ctx.x0, pads)
    origin = [p[0] for p in pads]
    steps = _conv_steps(view, kernel, groups, layer.strides, layer.dilation_rate, out, origin)
    counts = _mark_unused(cat, steps[2])
    buf = _conv_frames(ctx, steps, stage, kernel.shape[-1], g)
    _finish_conv(ctx, np.nan_to_num(buf, nan=0.0))
    meta = _conv_meta(layer, ctx.x0, pads, kernel, groups, view, cat, counts, origin)
    return g, meta


def _conv(ctx: _Ctx) -> Animation:
    """Conv1D/2D/3D: one frame per output cell (all filters), then bias + activation.

    meta: ``input_view`` (the padded input ``(*V, C)``), ``input_category`` (REAL / PAD /
    UNUSED per view cell), ``input_origin`` (view index of input cell 0), ``pads`` (zeros
    ``(before, after)`` per axis, TF's rule; ``after`` < 0 for valid padding when the last
    cells are never reached), ``kernel`` ``(*k, C/groups, F)``, ``group_map`` (per filter,
    the input channels that feed it), ``read_count`` (how many taps read each view cell),
    strides, dilation_rate, bias, activation.
    """
    layer = ctx.layer
    g, meta = _conv_common(ctx, layer._weight("kernel"), layer.groups, "conv", "conv")
    return ctx.animation("conv", g, **meta)


def _depthwise(ctx: _Ctx) -> Animation:
    """DepthwiseConv1D/2D: a grouped convolution with one group per input channel; output
    channel ``c·M + m`` is channel ``c`` convolved with its ``m``-th kernel. meta as
    :func:`_conv` plus ``depth_multiplier`` and ``depthwise_kernel`` (Keras layout)."""
    layer = ctx.layer
    dw = layer._weight("kernel")
    channels = ctx.x0.shape[-1]
    g, meta = _conv_common(ctx, depthwise_as_grouped(dw), channels, "depthwise", "depthwise")
    meta["depth_multiplier"] = layer.depth_multiplier
    meta["depthwise_kernel"] = dw
    return ctx.animation("depthwise", g, **meta)


def _separable(ctx: _Ctx) -> Animation:
    """SeparableConv1D/2D: the depthwise stage (one frame per cell of the intermediate
    ``mid`` buffer, ``C·M`` channels, no bias), then the 1×1 pointwise stage (one frame per
    output cell: every mid channel of that cell times the pointwise kernel), then bias +
    activation. Pointwise frames read ``source="mid"``; their ``taps`` have one tap whose
    ``x`` is the mid cell ``(1, C·M)`` and ``products`` ``(1, C·M, filters)``.
    meta: as :func:`_conv` for the depthwise stage plus ``pointwise_kernel`` ``(C·M, F)``,
    ``mid_final``."""
    layer = ctx.layer
    spatial = ctx.x0.shape[:-1]
    out = ctx.y0.shape[:-1]
    channels = ctx.x0.shape[-1]
    pads = [shapes.conv_padding(n, k, s, d, layer.padding)
            for n, k, s, d in zip(spatial, layer.kernel_size, layer.strides,
                                  layer.dilation_rate)]
    n_cell = 2 * math.prod(out) + 1
    n_row = 2 * math.prod(out[:-1]) + 1
    g = ctx.choose(n_cell, n_row, "cell of each stage", "row of each stage")
    dw = layer._weight("depthwise_kernel")
    kernel = depthwise_as_grouped(dw)
    view, cat = _padded_view(ctx.x0, pads)
    origin = [p[0] for p in pads]
    steps = _conv_steps(view, kernel, channels, layer.strides, layer.dilation_rate, out, origin)
    counts = _mark_unused(cat, steps[2])
    mid = np.full(tuple(out) + (kernel.shape[-1],), np.nan)
    _conv_frames(ctx, steps, "depthwise", kernel.shape[-1], g, buf=mid,
                 extra_key="mid", extra_fn=lambda b: b.copy())
    pw = layer._weight("pointwise_kernel")
    pw2 = pw.reshape(pw.shape[-2], pw.shape[-1])
    mid_done = np.nan_to_num(mid, nan=0.0)
    ones = (1,) * ctx.rank
    steps2 = _conv_steps(mid_done, pw2.reshape(ones + pw2.shape), 1, ones, ones, out,
                         (0,) * ctx.rank)
    buf = _conv_frames(ctx, steps2, "pointwise", pw2.shape[-1], g, source="mid",
                       input_coords=False)
    for f in ctx.frames:
        if f["stage"] == "pointwise":
            f["mid"] = mid_done
    _finish_conv(ctx, np.nan_to_num(buf, nan=0.0))
    ctx.frames[-1]["mid"] = mid_done
    meta = _conv_meta(layer, ctx.x0, pads, kernel, channels, view, cat, counts, origin)
    meta.update(depth_multiplier=layer.depth_multiplier, depthwise_kernel=dw,
                pointwise_kernel=pw2, mid_final=mid_done)
    return ctx.animation("separable", g, **meta)


# --------------------------------------------------------------------------- transposed

def _transpose_geometry(layer, spatial, out):
    """Per axis: crop ``P`` (cells cut from the start of the full scatter), full scatter
    length, canvas length, output_padding cells (output cells beyond the full scatter)."""
    geo = []
    for n, o, k, s, d in zip(spatial, out, layer.kernel_size, layer.strides,
                             layer.dilation_rate):
        ke = shapes.effective_kernel(k, d)
        crop = shapes.conv_transpose_padding(n, o, k, s, d, layer.padding)
        full = (n - 1) * s + ke
        canvas = max(full, crop + o)
        extra = max(crop + o - full, 0)
        geo.append({"crop": crop, "full": full, "canvas": canvas, "extra": extra, "ke": ke})
    return geo


def _transpose_scatter(ctx: _Ctx) -> Animation:
    """Scatter view: input cell ``i`` stamps ``x[i] · w`` (summed over input channels) onto
    the canvas cells ``i·s + t·d``; overlaps sum. The output is the canvas from ``crop`` on
    (``padding="same"`` cuts ``crop`` cells at the start and the rest at the end; cells past
    the full scatter, from output_padding, only get the bias).

    Frame extras: ``canvas`` (uncropped buffer), ``canvas_cells`` (where the stamp lands),
    ``taps`` (``kernel_index``, ``canvas_index``, ``output_index``, ``inside`` (inside the
    output), ``x`` (the input cell's channels), ``products`` ``(K, C, F)``).
    meta: ``kernel`` (Keras layout ``(*k, F, C)``), ``crop``, ``canvas_shape``,
    ``canvas_category`` (REAL inside the output, CROPPED, OUTPUT_PAD), ``output_padding``.
    """
    layer = ctx.layer
    spatial = ctx.x0.shape[:-1]
    out = ctx.y0.shape[:-1]
    w = layer._weight("kernel").astype(np.float64)  # (*k, F, C)
    n_filters = w.shape[-2]
    geo = _transpose_geometry(layer, spatial, out)
    n_cell = math.prod(spatial) + 1
    n_row = math.prod(spatial[:-1]) + 1
    g = ctx.choose(n_cell, n_row, "input cell", "input row")
    crop = np.array([a["crop"] for a in geo])
    canvas_shape = tuple(a["canvas"] for a in geo)
    canvas = np.full(canvas_shape + (n_filters,), np.nan)
    taps = _positions(layer.kernel_size)
    wk = w.reshape(taps.shape[0], n_filters, -1)  # (K, F, C)
    strides = np.asarray(layer.strides)
    dil = np.asarray(layer.dilation_rate)
    pos = _positions(spatial)
    x64 = ctx.x0.astype(np.float64)
    out_arr = np.asarray(out)

    def output_view():
        sl = tuple(slice(c, c + o) for c, o in zip(crop, out))
        return canvas[sl]

    def stamp(p):
        i = pos[p]
        cells = i[None] * strides[None] + taps * dil[None]  # (K, rank) canvas coords
        xi = x64[tuple(i)]  # (C,)
        prods = np.einsum("c,kfc->kcf", xi, wk)  # (K, C, F)
        vals = prods.sum(axis=1)  # (K, F)
        # accumulate tap by tap (several taps may land on one cell when dilation·k overlaps)
        for k in range(cells.shape[0]):
            c = tuple(cells[k])
            canvas[c] = np.nan_to_num(canvas[c], nan=0.0) + vals[k]
        return cells, prods

    if g == "cell":
        for p in range(pos.shape[0]):
            cells, prods = stamp(p)
            o_idx = cells - crop[None]
            inside = np.all((o_idx >= 0) & (o_idx < out_arr[None]), axis=1)
            xi = ctx.x0[tuple(pos[p])]
            shown = ", ".join(_fmt(v) for v in xi[:3]) + (", …" if xi.size > 3 else "")
            n_out = int(inside.sum())
            caption = (f"Scatter: input{_idx(pos[p])} = [{shown}] stamps x·kernel onto "
                       f"{cells.shape[0]} canvas cells ({n_out} inside the output"
                       + (f", {cells.shape[0] - n_out} cut" if n_out < cells.shape[0] else "")
                       + "); overlaps add up")
            ctx.add("scatter", caption, output_view(), pos[p:p + 1], o_idx[inside],
                    canvas=canvas.copy(), canvas_cells=cells,
                    taps={"kernel_index": taps, "canvas_index": cells, "output_index": o_idx,
                          "inside": inside, "x": xi.copy(), "products": prods})
    else:
        for start, stop in _row_blocks(pos.shape[0], int(spatial[-1])):
            all_cells = [stamp(p)[0] for p in range(start, stop)]
            cells = _unique_cells(np.concatenate(all_cells))
            o_idx = cells - crop[None]
            inside = np.all((o_idx >= 0) & (o_idx < out_arr[None]), axis=1)
            lead = pos[start][:-1]
            caption = (f"Scatter: input row {_idx(lead) if lead.size else ''} "
                       f"({stop - start} cells) stamps its kernels; overlaps add up"
                       ).replace("  ", " ")
            ctx.add("scatter", caption, output_view(), pos[start:stop], o_idx[inside],
                    canvas=canvas.copy(), canvas_cells=cells)
    pre = np.nan_to_num(output_view(), nan=0.0)
    _finish_conv(ctx, pre)
    ctx.frames[-1]["canvas"] = canvas.copy()
    cat = np.full(canvas_shape, CROPPED, np.int8)
    cat[tuple(slice(c, c + o) for c, o in zip(crop, out))] = REAL
    for axis, a in enumerate(geo):
        if a["extra"]:
            sl = [slice(None)] * ctx.rank
            sl[axis] = slice(a["full"], a["canvas"])
            region = cat[tuple(sl)]
            region[region == REAL] = OUTPUT_PAD
    meta = {
        "kernel": layer._weight("kernel"),
        "kernel_size": tuple(layer.kernel_size),
        "strides": tuple(layer.strides),
        "dilation_rate": tuple(layer.dilation_rate),
        "padding": layer.padding,
        "output_padding": layer.output_padding,
        "crop": tuple(int(c) for c in crop),
        "crop_after": tuple(int(a["canvas"] - c - o) for a, c, o in zip(geo, crop, out)),
        "full_shape": tuple(a["full"] for a in geo),
        "canvas_shape": canvas_shape,
        "canvas_category": cat,
        "input_view": ctx.x0,
        "input_category": np.zeros(spatial, np.int8),
        "input_origin": (0,) * ctx.rank,
        "group_map": [list(range(ctx.x0.shape[-1]))] * n_filters,
        "bias": None if not layer.use_bias else layer._weight("bias").copy(),
        "activation": _activation_name(layer),
    }
    return ctx.animation("transpose", g, "scatter", **meta)


def _transpose_gather(ctx: _Ctx) -> Animation:
    """Gather view: the same output as a plain convolution. The input is dilated (``s − 1``
    zeros between cells), padded (``ke − 1 − crop`` before; after, the rest up to
    ``out + ke − 1`` cells, ending with the output_padding zeros) and convolved with stride 1
    and the spatially flipped kernel, input and output channels swapped.

    meta: as :func:`_conv` with ``input_view`` the dilated and padded input, categories
    REAL / STRIDE_ZERO / PAD / OUTPUT_PAD, ``kernel`` the flipped ``(*k, C, F)`` kernel and
    ``input_origin`` None (view cells are not input cells); ``input_positions`` gives the
    view cell of each input cell.
    """
    layer = ctx.layer
    spatial = ctx.x0.shape[:-1]
    out = ctx.y0.shape[:-1]
    channels = ctx.x0.shape[-1]
    geo = _transpose_geometry(layer, spatial, out)
    n_cell = math.prod(out) + 1
    n_row = math.prod(out[:-1]) + 1
    g = ctx.choose(n_cell, n_row, "output cell", "output row")
    rank = ctx.rank
    before = [a["ke"] - 1 - a["crop"] for a in geo]
    length = [o + a["ke"] - 1 for o, a in zip(out, geo)]
    view = np.zeros(tuple(length) + (channels,), np.float32)
    cat = np.full(tuple(length), PAD, np.int8)
    # stride zeros: between the first and last real cell along every axis
    inner = tuple(slice(b, b + (n - 1) * s + 1)
                  for b, n, s in zip(before, spatial, layer.strides))
    cat[inner] = STRIDE_ZERO
    for axis, (a, o) in enumerate(zip(geo, out)):
        if a["extra"]:
            sl = [slice(None)] * rank
            sl[axis] = slice(length[axis] - a["extra"], length[axis])
            cat[tuple(sl)] = OUTPUT_PAD
    pos = _positions(spatial)
    vpos = pos * np.asarray(layer.strides)[None] + np.asarray(before)[None]
    keep = np.all((vpos >= 0) & (vpos < np.asarray(length)[None]), axis=1)
    view[tuple(vpos[keep].T)] = ctx.x0[tuple(pos[keep].T)]
    cat[tuple(vpos[keep].T)] = REAL
    w = layer._weight("kernel")  # (*k, F, C)
    kernel = np.ascontiguousarray(
        np.swapaxes(np.flip(w, axis=tuple(range(rank))), -1, -2))  # (*k, C, F)
    steps = _conv_steps(view, kernel, 1, (1,) * rank, layer.dilation_rate, out, (0,) * rank)
    counts = _mark_unused(cat, steps[2])
    buf = _conv_frames(ctx, steps, "gather", kernel.shape[-1], g, input_coords=False)
    _finish_conv(ctx, np.nan_to_num(buf, nan=0.0))
    meta = _conv_meta(layer, ctx.x0, [(b, 0) for b in before], kernel, 1, view, cat, counts,
                      before)
    meta.update(
        input_origin=None,
        input_positions=vpos,
        dilated_before=tuple(int(b) for b in before),
        output_padding=layer.output_padding,
        crop=tuple(a["crop"] for a in geo),
        keras_kernel=w,
    )
    return ctx.animation("transpose", g, "gather", **meta)


# --------------------------------------------------------------------------- reshaping

def _side_slab(sizes, axis, lo, hi):
    sl = [slice(None)] * len(sizes)
    sl[axis] = slice(lo, hi)
    return tuple(sl)


def _zeropad(ctx: _Ctx) -> Animation:
    """ZeroPadding1D/2D/3D: the input is copied into the middle of the output, then one
    frame per side with padding > 0 writes its zeros (a side's slab spans the whole output
    along the other axes, minus cells an earlier side already wrote). Frame extra:
    ``written`` (output cells written so far). meta: ``padding`` pairs, ``output_category``
    (REAL / PAD)."""
    layer = ctx.layer
    pads = layer.padding
    spatial = ctx.x0.shape[:-1]
    out = ctx.y0.shape[:-1]
    channels = ctx.x0.shape[-1]
    buf = np.full(tuple(out) + (channels,), np.nan)
    interior = tuple(slice(b, b + n) for (b, _), n in zip(pads, spatial))
    buf[interior] = ctx.x0
    written = np.zeros(out, bool)
    written[interior] = True
    desc = ", ".join(f"{names[0]} {p[0]}, {names[1]} {p[1]}"
                     for names, p in zip(_SIDE_NAMES[ctx.rank], pads))
    ctx.add("copy", f"Copy the input ({' × '.join(map(str, spatial))}) into the middle of the "
            f"output; zeros to add: {desc}.", buf, _positions(spatial),
            _positions(spatial) + np.array([b for b, _ in pads])[None], written=written.copy())
    for axis, ((b, a), names) in enumerate(zip(pads, _SIDE_NAMES[ctx.rank])):
        unit = _AXIS_UNITS[ctx.rank][axis]
        for side, amount, lo, hi in ((names[0], b, 0, b), (names[1], a, out[axis] - a, out[axis])):
            if amount <= 0:
                continue
            slab = np.zeros(out, bool)
            slab[_side_slab(out, axis, lo, hi)] = True
            new = slab & ~written
            buf[new] = 0.0
            written |= new
            ctx.add("pad", f"Pad {side}: +{amount} {unit}{'s' if amount != 1 else ''} of zeros "
                    f"(axis {axis}).", buf, [], np.argwhere(new), written=written.copy())
    ctx.finish_exact(buf)
    cat = np.full(out, PAD, np.int8)
    cat[interior] = REAL
    return ctx.animation("zeropad", "cell", padding=pads, output_category=cat,
                         input_view=ctx.x0, input_category=np.zeros(spatial, np.int8),
                         input_origin=(0,) * ctx.rank)


def _crop(ctx: _Ctx) -> Animation:
    """Cropping1D/2D/3D: one frame per side with cropping > 0 marks the cells cut (extra
    ``cut``: cumulative boolean mask over the input), then the kept block is copied to the
    output. meta: ``cropping`` pairs, ``kept`` (slices as (start, stop) per axis)."""
    layer = ctx.layer
    crops = layer.cropping
    spatial = ctx.x0.shape[:-1]
    out = ctx.y0.shape[:-1]
    channels = ctx.x0.shape[-1]
    buf = np.full(tuple(out) + (channels,), np.nan)
    cut = np.zeros(spatial, bool)
    for axis, ((b, a), names) in enumerate(zip(crops, _SIDE_NAMES[ctx.rank])):
        unit = _AXIS_UNITS[ctx.rank][axis]
        for side, amount, lo, hi in ((names[0], b, 0, b),
                                     (names[1], a, spatial[axis] - a, spatial[axis])):
            if amount <= 0:
                continue
            slab = np.zeros(spatial, bool)
            slab[_side_slab(spatial, axis, lo, hi)] = True
            new = slab & ~cut
            cut |= slab
            ctx.add("crop", f"Crop {side}: −{amount} {unit}{'s' if amount != 1 else ''} "
                    f"(axis {axis}).", buf, np.argwhere(new), [], cut=cut.copy())
    kept = tuple((b, n - a) for (b, a), n in zip(crops, spatial))
    buf[...] = ctx.x0[tuple(slice(s, e) for s, e in kept)]
    ctx.add("copy", f"Keep the middle block: {' × '.join(map(str, spatial))} → "
            f"{' × '.join(map(str, out))}.", buf, np.argwhere(~cut), _positions(out),
            cut=cut.copy())
    ctx.finish_exact(buf)
    cat = np.where(cut, CUT, REAL).astype(np.int8)
    return ctx.animation("crop", "cell", cropping=crops, kept=kept, input_view=ctx.x0,
                         input_category=cat, input_origin=(0,) * ctx.rank)


def _upsample_nearest(ctx: _Ctx) -> Animation:
    """UpSampling (nearest): each input cell is repeated into a ``size[0] × …`` block of the
    output; one frame per input cell (or input row). meta: ``size``."""
    layer = ctx.layer
    size = np.asarray(layer.size)
    spatial = ctx.x0.shape[:-1]
    out = ctx.y0.shape[:-1]
    channels = ctx.x0.shape[-1]
    g = ctx.choose(math.prod(spatial), math.prod(spatial[:-1]), "input cell", "input row")
    buf = np.full(tuple(out) + (channels,), np.nan)
    pos = _positions(spatial)
    block = _positions(layer.size)
    x64 = ctx.x0.astype(np.float64)
    times = " × ".join(map(str, layer.size))
    blocks = [(p, p + 1) for p in range(pos.shape[0])] if g == "cell" else \
        _row_blocks(pos.shape[0], int(spatial[-1]))
    for start, stop in blocks:
        cells = (pos[start:stop, None, :] * size[None, None] + block[None]).reshape(-1, ctx.rank)
        src = np.repeat(pos[start:stop], block.shape[0], axis=0)
        buf[tuple(cells.T)] = x64[tuple(src.T)]
        if g == "cell":
            v = ctx.x0[tuple(pos[start])]
            caption = (f"Repeat: input{_idx(pos[start])} = {_fmt(v[0])}"
                       + (f" (and {v.size - 1} more channels)" if v.size > 1 else "")
                       + f" fills a {times} block of the output")
        else:
            lead = pos[start][:-1]
            caption = (f"Repeat: input row {_idx(lead) if lead.size else ''} fills "
                       f"{stop - start} blocks of {times}").replace("  ", " ")
        ctx.add("repeat", caption, buf, pos[start:stop], cells)
    ctx.finish_exact(buf)
    return ctx.animation("upsample", g, size=tuple(layer.size), interpolation="nearest",
                         input_view=ctx.x0, input_category=np.zeros(spatial, np.int8),
                         input_origin=(0,) * ctx.rank)


def _interpolate(ctx: _Ctx) -> Animation:
    """UpSampling2D with bilinear / bicubic / lanczos3 / lanczos5 / area: one frame per
    output cell, showing the source cells (clamped to the image, duplicates merged) and
    their weights ``w_rows[o_h, a] · w_cols[o_w, b]`` from
    :func:`engine.kernels.resize.resize_weights`. Frame extras: ``in_weights`` and ``taps``
    (``input_index``, ``weights``, ``x``). meta: ``interpolation``, per-axis ``starts`` and
    ``weights`` tables."""
    from engine.kernels.resize import resize_weights

    layer = ctx.layer
    method = layer.interpolation
    (h, w), (oh, ow) = ctx.x0.shape[:-1], ctx.y0.shape[:-1]
    g = ctx.choose(oh * ow, oh, "output cell", "output row")
    sh, wh = resize_weights(h, oh, method)
    sw, ww = resize_weights(w, ow, method)
    wh64, ww64 = wh.astype(np.float64), ww.astype(np.float64)
    x64 = ctx.x0.astype(np.float64)
    buf = np.full((oh, ow, ctx.x0.shape[-1]), np.nan)

    def sources(o_h, o_w):
        acc: dict = {}
        for a in range(wh.shape[1]):
            if wh64[o_h, a] == 0:
                continue
            r = min(max(sh[o_h] + a, 0), h - 1)
            for b in range(ww.shape[1]):
                if ww64[o_w, b] == 0:
                    continue
                c = min(max(sw[o_w] + b, 0), w - 1)
                acc[(r, c)] = acc.get((r, c), 0.0) + wh64[o_h, a] * ww64[o_w, b]
        cells = np.array(list(acc.keys()), np.int64).reshape(-1, 2)
        weights = np.array(list(acc.values()), np.float64)
        return cells, weights

    if g == "cell":
        for o_h in range(oh):
            for o_w in range(ow):
                cells, weights = sources(o_h, o_w)
                vals = x64[tuple(cells.T)] if cells.size else np.zeros((0, x64.shape[-1]))
                buf[o_h, o_w] = weights @ vals if cells.size else 0.0
                terms = " + ".join(f"{_fmt(wt)}·{_paren(v)}"
                                   for wt, v in zip(weights[:6], vals[:6, 0]))
                if len(weights) > 6:
                    terms += f" + … ({len(weights)} sources)"
                caption = (f"{method.capitalize()}: output[{o_h}, {o_w}] = {terms or '0'} = "
                           f"{_fmt(buf[o_h, o_w, 0])}"
                           + (" (channel 0)" if x64.shape[-1] > 1 else ""))
                ctx.add("interpolate", caption, buf, cells, [(o_h, o_w)], in_weights=weights,
                        taps={"input_index": cells, "weights": weights,
                              "x": vals.astype(np.float32)})
    else:
        for o_h in range(oh):
            all_cells = []
            for o_w in range(ow):
                cells, weights = sources(o_h, o_w)
                buf[o_h, o_w] = weights @ x64[tuple(cells.T)] if cells.size else 0.0
                all_cells.append(cells)
            ctx.add("interpolate", f"{method.capitalize()}: output row [{o_h}] ({ow} cells)",
                    buf, _unique_cells(np.concatenate(all_cells)),
                    [(o_h, o_w) for o_w in range(ow)])
    ctx.finish_exact(buf)
    return ctx.animation("interpolate", g, size=tuple(layer.size), interpolation=method,
                         starts=(sh, sw), weights=(wh, ww), input_view=ctx.x0,
                         input_category=np.zeros((h, w), np.int8), input_origin=(0, 0))


# --------------------------------------------------------------------------- receptive field

def _ones_clone(layer, input_shape):
    """A fresh copy of ``layer`` built for ``input_shape`` with every kernel weight 1,
    biases 0 and no activation (what "contribution counts" mean)."""
    config = layer.get_config()
    config.pop("name", None)
    if "activation" in config:
        config["activation"] = None
    clone = type(layer).from_config(config)
    clone.build(tuple(input_shape))
    clone.set_weights([np.zeros(w.shape, np.float32) if w.name == "bias"
                       else np.ones(w.shape, np.float32) for w in clone.weights])
    return clone


def _own_contribution_map(layers, input_shape, index) -> np.ndarray:
    """Fallback for :func:`engine.receptive.contribution_map` (weights="ones"): the layers
    are linear once biases and activations are dropped, so the gradient of
    ``sum_f y[0, *index, f]`` w.r.t. input cell ``p`` (summed over channels) is that sum for
    an input that is 1 on every channel of ``p`` and 0 elsewhere; all cells run as a batch."""
    input_shape = tuple(input_shape)
    first = layers[0]
    fmt = getattr(first, "data_format", "channels_last")
    _, spatial, channels = shapes.split_shape(input_shape, first.rank, fmt, first.name)
    shape = (1,) + tuple(input_shape[1:])
    clones = []
    for layer in layers:
        clone = _ones_clone(layer, shape)
        clones.append(clone)
        shape = clone.compute_output_shape(shape)
    pos = _positions(spatial)
    result = np.zeros(len(pos))
    chunk = max(1, 2 ** 22 // max(1, math.prod(input_shape[1:])))
    for start in range(0, len(pos), chunk):
        stop = min(start + chunk, len(pos))
        xb = np.zeros((stop - start,) + tuple(spatial) + (channels,), np.float32)
        xb[(np.arange(stop - start),) + tuple(pos[start:stop].T)] = 1.0
        y = from_channels_last(xb, fmt)
        for clone in clones:
            y = clone(y)
        last_fmt = getattr(clones[-1], "data_format", "channels_last")
        y = to_channels_last(y, last_fmt)
        result[start:stop] = y[(slice(None),) + tuple(index)].sum(axis=-1)
    return result.reshape(spatial)


def contribution_levels(layers, input_shape, index, use_engine_receptive: bool = True):
    """For a stack of layers and an output cell ``index`` (spatial, of the last output),
    how much each cell of every level contributes (weights 1, biases 0, no activation).

    Returns a dict: ``shapes`` (the tensor shape at each level, input first, output last),
    ``maps`` (one spatial array per level; the last is 1 at ``index``), ``source``
    (``"engine.receptive"`` or ``"engine.animate"``: who computed them).
    """
    input_shape = tuple(input_shape)
    level_shapes = [input_shape]
    shape = (1,) + input_shape[1:]
    for layer in layers:
        shape = layer.compute_output_shape(shape)
        level_shapes.append((input_shape[0],) + tuple(shape[1:]))
    last = layers[-1]
    fmt_last = getattr(last, "data_format", "channels_last")
    _, out_spatial, _ = shapes.split_shape(level_shapes[-1], last.rank, fmt_last, last.name)
    index = tuple(int(i) for i in index)
    if len(index) != len(out_spatial) or any(not 0 <= i < n for i, n in zip(index, out_spatial)):
        raise ValueError(f"Output cell {index} is outside the output's spatial shape "
                         f"{tuple(out_spatial)}.")
    fn = _own_contribution_map
    source = "engine.animate"
    if use_engine_receptive:
        try:
            from engine.receptive import contribution_map as fn  # type: ignore
            source = "engine.receptive"
        except ImportError:
            pass
    maps = []
    for k in range(len(layers)):
        try:
            m = fn(layers[k:], (1,) + tuple(level_shapes[k][1:]), index)
        except Exception:  # noqa: BLE001 - a half-written receptive module must not break us
            if fn is _own_contribution_map:
                raise
            fn, source = _own_contribution_map, "engine.animate"
            m = fn(layers[k:], (1,) + tuple(level_shapes[k][1:]), index)
        maps.append(np.asarray(m, dtype=np.float64))
    final = np.zeros(out_spatial)
    final[index] = 1.0
    maps.append(final)
    return {"shapes": level_shapes, "maps": maps, "source": source, "index": index}
