"""Transposed convolution, two views of the same numbers.

- ``scatter``: input cell ``i`` stamps ``x[i] · w`` (summed over input channels) onto the
  canvas cells its taps feed; overlaps sum. The canvas is the full scatter plus any
  output_padding cells; the output is the canvas cut by the geometry's padding
  (``TransposeAxis.pad``: ``padding="same"`` cuts cells at both ends). One frame per input
  cell (or row), then bias + activation: ``P(input) + 1``.
- ``gather``: the input dilated (``s − 1`` zeros between cells) and padded, convolved with
  stride 1 and the spatially flipped kernel, channels swapped: a valid convolution of the
  dilated view (``ConvAxis``), whose taps are the transposed taps flipped
  (``TransposeAxis.taps``). One frame per output cell (or row) + 1.

Which cells each tap reads or feeds comes from :mod:`engine.geometry`.
"""

from __future__ import annotations

import math

import numpy as np

from engine.animate.cells import blocks, grid, positions, unique_cells
from engine.animate.conv import compute_steps, emit, finish, mark_unused, weighted_fields
from engine.animate.frames import (CROPPED, OUTPUT_PAD, PAD, REAL, STRIDE_ZERO, Context, Family,
                                   GatherMeta, ScatterMeta, StampTaps)
from engine.animate import text as T
from engine.geometry import ConvAxis


def canvas_extent(op) -> tuple:
    """``(crop, length, full)`` of one axis: cells cut before the output, canvas length,
    full-scatter length, from the geometry's ``pad`` ``(−crop, after)`` (``after`` > 0:
    output_padding cells past the scatter; < 0: cells cut at the end)."""
    crop, after = -op.pad[0], op.pad[1]
    return crop, crop + op.n_out + max(-after, 0), crop + op.n_out - after


def stamp_table(op) -> np.ndarray:
    """``(n_in, k)``: the canvas cell that input ``i``'s tap ``t`` feeds along one axis
    (the transposed taps of every canvas cell, inverted)."""
    crop, length, _ = canvas_extent(op)
    t = op.taps(-crop, length - crop - 1)
    rows, cols = np.nonzero(t.exists)
    table = np.empty((op.n_in, op.k), np.int64)
    table[t.position[rows, cols], t.tap[rows, cols]] = rows
    return table


def _canvas_category(axes) -> np.ndarray:
    """REAL inside the output, CROPPED where the padding cuts, OUTPUT_PAD past the scatter."""
    extents = [canvas_extent(op) for op in axes]
    cat = np.full(tuple(length for _, length, _ in extents), CROPPED, np.int8)
    cat[tuple(slice(c, c + op.n_out) for (c, _, _), op in zip(extents, axes))] = REAL
    for axis, (_, length, full) in enumerate(extents):
        index = [slice(None)] * len(axes)
        index[axis] = slice(full, length)
        region = cat[tuple(index)]
        region[region == REAL] = OUTPUT_PAD
    return cat


class _Canvas:
    """The uncropped ``(*canvas, F)`` buffer (NaN = not yet) and the stamps onto it."""

    def __init__(self, ctx: Context, w: np.ndarray):
        axes = ctx.geom.axes
        extents = [canvas_extent(op) for op in axes]
        self.crop = np.array([c for c, _, _ in extents], np.int64)
        self.out = np.asarray(ctx.out_sizes, np.int64)
        self.buf = np.full(tuple(length for _, length, _ in extents) + (w.shape[-2],), np.nan)
        self.cells = grid([stamp_table(op) for op in axes])  # (P_in, K, rank)
        self.kernel_index = grid([np.arange(op.k)[None] for op in axes])[0]
        self.w = w.reshape(self.kernel_index.shape[0], w.shape[-2], w.shape[-1])  # (K, F, C)

    def output_view(self) -> np.ndarray:
        return self.buf[tuple(slice(c, c + o) for c, o in zip(self.crop, self.out))]

    def stamp(self, p: int, xi: np.ndarray) -> StampTaps:
        """Add input cell ``p``'s stamp (``xi`` ``(C,)`` float64) onto the canvas."""
        cells = self.cells[p]
        prods = np.einsum("c,kfc->kcf", xi, self.w)  # (K, C, F)
        where = tuple(cells.T)
        self.buf[where] = np.nan_to_num(self.buf[where], nan=0.0)
        np.add.at(self.buf, where, prods.sum(axis=1))
        o_idx = cells - self.crop[None]
        return StampTaps(self.kernel_index, cells, o_idx, self._inside(o_idx), xi, prods)

    def _inside(self, o_idx: np.ndarray) -> np.ndarray:
        return np.all((o_idx >= 0) & (o_idx < self.out[None]), axis=1)

    def in_output(self, cells: np.ndarray) -> np.ndarray:
        """Canvas ``cells`` ``(n, rank)`` → the output cells among them."""
        o_idx = cells - self.crop[None]
        return o_idx[self._inside(o_idx)]


def build_scatter(ctx: Context) -> object:
    layer, axes = ctx.layer, ctx.geom.axes
    spatial = ctx.in_sizes
    g = ctx.choose(math.prod(spatial) + 1, math.prod(spatial[:-1]) + 1, "input cell",
                   "input row")
    w = layer.weight("kernel")  # (*k, F, C)
    canvas = _Canvas(ctx, w.astype(np.float64))
    pos = positions(spatial)
    x64 = ctx.x0.astype(np.float64)
    for start, stop in blocks(pos.shape[0], spatial[-1], g):
        taps = [canvas.stamp(p, x64[tuple(pos[p])]) for p in range(start, stop)]
        if g == "cell":
            t = taps[0]
            caption = T.stamp_cell(ctx.geom, pos[start], ctx.x0[tuple(pos[start])],
                                   len(t.inside), int(t.inside.sum()))
            ctx.add("scatter", caption,
                    canvas.output_view(), pos[start:stop], t.output_index[t.inside],
                    canvas=canvas.buf.copy(), canvas_cells=t.canvas_index, taps=t)
            continue
        stamped = unique_cells(np.concatenate([t.canvas_index for t in taps]))
        ctx.add("scatter", T.stamp_row(ctx.geom, pos[start:stop]), canvas.output_view(),
                pos[start:stop], canvas.in_output(stamped),
                canvas=canvas.buf.copy(), canvas_cells=stamped)
    finish(ctx, np.nan_to_num(canvas.output_view(), nan=0.0), canvas=canvas.buf.copy())
    extents = [canvas_extent(op) for op in axes]
    meta = ScatterMeta(
        **ctx.common(), **weighted_fields(ctx), kernel=w,
        output_padding=layer.output_padding,
        crop=tuple(int(c) for c in canvas.crop),
        crop_after=tuple(int(length - c - op.n_out)
                         for (c, length, _), op in zip(extents, axes)),
        full_shape=tuple(int(full) for _, _, full in extents),
        canvas_shape=canvas.buf.shape[:-1], canvas_category=_canvas_category(axes))
    return ctx.animation("transpose", g, meta, "scatter")


# --------------------------------------------------------------------------- gather

def _dilated_input(ctx: Context) -> tuple:
    """The input with ``s − 1`` zeros between cells, ``ke − 1 − crop`` zeros before and the
    rest (output_padding last) after: ``(view (*V, C), category (*V), before, input
    positions (P_in, rank))`` with ``V = out + ke − 1`` per axis."""
    axes, layer = ctx.geom.axes, ctx.layer
    extents = [canvas_extent(op) for op in axes]
    before = np.array([op.kernel - 1 - c for op, (c, _, _) in zip(axes, extents)], np.int64)
    length = tuple(op.n_out + op.kernel - 1 for op in axes)
    cat = np.full(length, PAD, np.int8)
    cat[tuple(slice(b, b + (n - 1) * s + 1)
              for b, n, s in zip(before, ctx.in_sizes, layer.strides))] = STRIDE_ZERO
    for axis, op in enumerate(axes):
        extra = max(op.pad[1], 0)  # output_padding cells past the scatter
        index = [slice(None)] * len(axes)
        index[axis] = slice(length[axis] - extra, length[axis])
        cat[tuple(index)] = OUTPUT_PAD
    pos = positions(ctx.in_sizes)
    vpos = pos * np.asarray(layer.strides)[None] + before[None]
    keep = np.all(vpos < np.asarray(length)[None], axis=1) & np.all(vpos >= 0, axis=1)
    view = np.zeros(length + (ctx.x0.shape[-1],), np.float32)
    view[tuple(vpos[keep].T)] = ctx.x0[tuple(pos[keep].T)]
    cat[tuple(vpos[keep].T)] = REAL
    return view, cat, before, vpos


def _gather_taps(ctx: Context, length) -> tuple:
    """``(kernel_index, view_index, input_index, inside)``: the stride-1 valid convolution
    of the dilated view (``ConvAxis``), whose flipped tap ``k − 1 − t`` is the transposed
    tap ``t`` (``TransposeAxis``: the input cell read, where it exists)."""
    axes, layer = ctx.geom.axes, ctx.layer
    view_axes = [ConvAxis(n, op.k, 1, d, "valid")
                 for n, op, d in zip(length, axes, layer.dilation_rate)]
    view_taps = [op.taps(0, op.n_out - 1) for op in view_axes]
    flipped = [op.taps(0, op.n_out - 1) for op in axes]
    return (grid([t.tap[:1] for t in view_taps])[0], grid([t.position for t in view_taps]),
            grid([t.position[:, ::-1] for t in flipped]),
            grid([t.exists[:, ::-1] for t in flipped]).all(-1))


def build_gather(ctx: Context) -> object:
    layer = ctx.layer
    out = ctx.out_sizes
    g = ctx.choose(math.prod(out) + 1, math.prod(out[:-1]) + 1, "output cell", "output row")
    view, cat, before, vpos = _dilated_input(ctx)
    w = layer.weight("kernel")  # (*k, F, C)
    kernel = np.ascontiguousarray(np.swapaxes(np.flip(w, axis=tuple(range(ctx.rank))), -1, -2))
    kernel_index, view_index, input_index, inside = _gather_taps(ctx, view.shape[:-1])
    steps = compute_steps(view, view_index, input_index, inside, kernel_index, kernel, 1, out)
    counts = mark_unused(cat, view_index)
    buf = emit(ctx, steps, "gather", g, np.full(out + (kernel.shape[-1],), np.nan),
               pad_word="inserted or padding zeros")
    finish(ctx, np.nan_to_num(buf, nan=0.0))
    crop = tuple(int(canvas_extent(op)[0]) for op in ctx.geom.axes)
    meta = GatherMeta(
        **ctx.common(view, cat, None), **weighted_fields(ctx), kernel=kernel,
        pads=tuple((int(b), 0) for b in before), groups=1, read_count=counts,
        input_positions=vpos, dilated_before=tuple(int(b) for b in before), crop=crop,
        output_padding=layer.output_padding)
    return ctx.animation("transpose", g, meta, "gather")


def _build(ctx: Context, view: str):
    return build_gather(ctx) if view == "gather" else build_scatter(ctx)


def _count(geom, n, view) -> int:
    return (n(geom.out_spatial) if view == "gather" else n(geom.in_spatial)) + 1


TRANSPOSE = Family(_build, _count)
