"""Convolution, depthwise and separable convolution: one frame per output cell (or row),
then bias and activation. The taps come from :mod:`engine.geometry` (``AxisOp.taps``), the
padding from its ``pads``; here they are only combined across axes and multiplied.

Frame counts (``P`` = product of the output sizes, ``rows`` = product of all but the last):
conv and depthwise ``P + 1`` (``rows + 1``), separable ``2·P + 1`` (``2·rows + 1``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from engine.animate.cells import blocks, grid, positions, unique_cells
from engine.animate.frames import (PAD, REAL, UNUSED, ConvMeta, ConvTaps, Context,
                                   DepthwiseMeta, Family, SeparableMeta)
from engine.animate import text as T
from engine.layers.conv import depthwise_as_grouped, from_channels_last


@dataclass(frozen=True)
class Steps:
    """Every output cell's taps at once (P cells, K taps, C channels, cg = C/groups per
    filter, F filters), in float64.

    ``positions`` ``(P, rank)``; ``kernel_index`` ``(K, rank)``; ``input_index``,
    ``view_index`` ``(P, K, rank)``; ``inside`` ``(P, K)``; ``values`` ``(P, K, C)``;
    ``products`` ``(P, K, cg, F)`` with ``products[p, k, c, f] = x[tap, g(f)·cg + c] ·
    w[k, c, f]``; ``sums`` ``(P, F)``."""

    positions: np.ndarray
    kernel_index: np.ndarray
    input_index: np.ndarray
    view_index: np.ndarray
    inside: np.ndarray
    values: np.ndarray
    products: np.ndarray
    sums: np.ndarray

    def taps(self, p: int) -> ConvTaps:
        return ConvTaps(self.kernel_index, self.input_index[p], self.view_index[p],
                        self.inside[p], self.values[p], self.products[p])


def axis_taps(axes) -> tuple:
    """The taps of every output cell of ``axes`` (``AxisOp`` per spatial axis) combined
    across axes: ``kernel_index`` ``(K, rank)``, ``position`` ``(P, K, rank)`` (input cells,
    outside the input: padding) and ``inside`` ``(P, K)``."""
    taps = [op.taps(0, op.n_out - 1) for op in axes]
    kernel_index = grid([t.tap[:1] for t in taps])[0]
    return kernel_index, grid([t.position for t in taps]), grid([t.inside for t in taps]).all(-1)


def compute_steps(view: np.ndarray, view_index: np.ndarray, input_index, inside, kernel_index,
                  kernel: np.ndarray, groups: int, out_sizes) -> Steps:
    """Read ``view`` ``(*V, C)`` at ``view_index`` ``(P, K, rank)`` and multiply by ``kernel``
    ``(*k, C/groups, F)`` (taps row-major, as ``kernel_index``)."""
    rank = view.ndim - 1
    cg, n_filters = kernel.shape[rank], kernel.shape[rank + 1]
    n_pos, n_taps = view_index.shape[:2]
    vals = view[tuple(view_index[..., a] for a in range(rank))].astype(np.float64)
    xg = vals.reshape(n_pos, n_taps, groups, cg)
    w = kernel.reshape(n_taps, cg, groups, n_filters // groups).astype(np.float64)
    products = np.einsum("pkgc,kcgf->pkcgf", xg, w).reshape(n_pos, n_taps, cg, n_filters)
    return Steps(positions(out_sizes), kernel_index, input_index, view_index, inside, vals,
                 products, products.sum(axis=(1, 2)))


def padded_input(ctx: Context) -> tuple:
    """The input with the geometry's padding: ``(view (*V, C), category (*V), origin)``
    (``after`` < 0, valid padding's unreached trailing cells, stay in the view)."""
    pads = ctx.geom.pads
    origin = tuple(int(b) for b, _ in pads)
    view = np.pad(ctx.x0, [(b, max(a, 0)) for b, a in pads] + [(0, 0)])
    cat = np.full(view.shape[:-1], PAD, np.int8)
    cat[tuple(slice(b, b + n) for b, n in zip(origin, ctx.in_sizes))] = REAL
    return view, cat, origin


def mark_unused(cat: np.ndarray, view_index: np.ndarray) -> np.ndarray:
    """Real cells no tap reads become UNUSED (in place); returns the read-count grid."""
    counts = np.zeros(cat.shape, np.int64)
    flat = view_index.reshape(-1, cat.ndim)
    np.add.at(counts, tuple(flat.T), 1)
    cat[(cat == REAL) & (counts == 0)] = UNUSED
    return counts


def _cell_caption(ctx: Context, stage: str, steps: Steps, p: int, pad_word: str) -> str:
    n_taps, per_filter = steps.products.shape[1:3]
    if stage == "pointwise":
        return T.pointwise_cell(ctx.rank, steps.positions[p], per_filter, steps.sums[p])
    return T.conv_cell(ctx.geom, stage, steps.positions[p], n_taps, per_filter,
                       int((~steps.inside[p]).sum()), steps.sums[p], pad_word)


def emit(ctx: Context, steps: Steps, stage: str, granularity: str, buf: np.ndarray,
         shown=None, source: str = "input", pad_word: str = "padding zeros",
         **extra) -> np.ndarray:
    """One frame per output cell (or row) of ``steps``, writing the sums into ``buf``
    ``(*out, F)`` (NaN = not yet). ``shown(buf) → (output buffer, extras)`` lets a stage
    write elsewhere (the separable depthwise stage fills ``mid``); returns ``buf``."""
    shown = shown or (lambda b: (b, {}))
    pos = steps.positions
    for start, stop in blocks(pos.shape[0], ctx.out_sizes[-1], granularity):
        buf[tuple(pos[start:stop].T)] = steps.sums[start:stop]
        out, more = shown(buf)
        if granularity == "cell":
            ctx.add(stage, _cell_caption(ctx, stage, steps, start, pad_word), out,
                    steps.view_index[start], pos[start:stop], source, taps=steps.taps(start),
                    value=steps.sums[start].copy(), **more, **extra)
        else:
            ctx.add(stage, T.conv_row(ctx.geom, stage, pos[start:stop],
                                      steps.kernel_index.shape[0]), out,
                    unique_cells(steps.view_index[start:stop]), pos[start:stop], source,
                    **more, **extra)
    return buf


def activation_name(layer) -> str:
    act = layer.activation
    return "linear" if act is None else getattr(act, "__name__", None) or type(act).__name__


def finish(ctx: Context, pre: np.ndarray, channels_word: str = "filter", **extra) -> None:
    """The bias + activation frame of the weighted layers (``pre`` ``(*out, F)``); then
    the output is set to layer(x) exactly."""
    layer = ctx.layer
    bias = layer.weight("bias")
    total = pre if bias is None else pre + bias.astype(np.float64)
    act = layer.activation
    computed = total if act is None else np.asarray(act(total.astype(np.float32)), np.float64)
    caption = T.finish(bias, None if act is None else activation_name(layer), channels_word)
    ctx.add("finish", caption, computed, [], [],
            pre_activation=from_channels_last(total[None], ctx.fmt), **extra)
    ctx.finish_exact(computed)


def weighted_fields(ctx: Context) -> dict:
    """The :class:`~engine.animate.frames.WeightedMeta` fields of a built layer."""
    layer, geom = ctx.layer, ctx.geom
    bias = layer.weight("bias")
    return {"kernel_size": tuple(layer.kernel_size), "strides": tuple(layer.strides),
            "dilation_rate": tuple(layer.dilation_rate), "padding": layer.padding,
            "group_map": [list(geom.channel_sources(f)) for f in range(geom.out_channels)],
            "bias": None if bias is None else bias.copy(),
            "activation": activation_name(layer)}


# --------------------------------------------------------------------------- builders

def _input_steps(ctx: Context, kernel: np.ndarray, groups: int) -> tuple:
    """The steps of a convolution of the padded input: ``(steps, conv meta fields)``."""
    view, cat, origin = padded_input(ctx)
    kernel_index, position, inside = axis_taps(ctx.geom.axes)
    view_index = position + np.asarray(origin, np.int64)
    steps = compute_steps(view, view_index, position, inside, kernel_index, kernel, groups,
                          ctx.out_sizes)
    counts = mark_unused(cat, view_index)
    fields = dict(ctx.common(view, cat, origin), **weighted_fields(ctx), kernel=kernel,
                  pads=tuple(tuple(int(v) for v in p) for p in ctx.geom.pads), groups=groups,
                  read_count=counts)
    return steps, fields


def _grouped(ctx: Context, kernel: np.ndarray, groups: int, stage: str) -> tuple:
    """Conv and depthwise: the steps, the bias + activation frame; ``(granularity, fields)``."""
    out = ctx.out_sizes
    g = ctx.choose(math.prod(out) + 1, math.prod(out[:-1]) + 1, "output cell", "output row")
    steps, fields = _input_steps(ctx, kernel, groups)
    buf = emit(ctx, steps, stage, g, np.full(out + (kernel.shape[-1],), np.nan))
    finish(ctx, np.nan_to_num(buf, nan=0.0))
    return g, fields


def build_conv(ctx: Context, view=None):
    """Conv1D/2D/3D: one frame per output cell (all filters), then bias + activation."""
    layer = ctx.layer
    g, fields = _grouped(ctx, layer.weight("kernel"), layer.groups, "conv")
    return ctx.animation("conv", g, ConvMeta(**fields))


def build_depthwise(ctx: Context, view=None):
    """DepthwiseConv1D/2D: a grouped convolution with one group per input channel; output
    channel ``c·M + m`` is channel ``c`` convolved with its ``m``-th kernel."""
    layer = ctx.layer
    kernel = depthwise_as_grouped(layer.weight("kernel"))
    g, fields = _grouped(ctx, kernel, ctx.x0.shape[-1], "depthwise")
    return ctx.animation("depthwise", g,
                         DepthwiseMeta(**fields, depth_multiplier=layer.depth_multiplier))


def _pointwise_steps(mid: np.ndarray, pw: np.ndarray) -> Steps:
    """The 1×1 pointwise stage on ``mid`` ``(*out, C·M)`` with ``pw`` ``(C·M, F)``: one tap
    per output cell, the cell itself."""
    rank = mid.ndim - 1
    pos = positions(mid.shape[:-1])
    cell = pos[:, None, :]
    return compute_steps(mid, cell, cell, np.ones(cell.shape[:2], bool),
                         np.zeros((1, rank), np.int64), pw.reshape((1,) * rank + pw.shape), 1,
                         mid.shape[:-1])


def build_separable(ctx: Context, view=None):
    """SeparableConv1D/2D: the depthwise stage (one frame per cell of ``mid``, ``C·M``
    channels, no bias; the frames' output stays NaN), then the 1×1 pointwise stage (one
    frame per output cell, ``source="mid"``), then bias + activation."""
    layer = ctx.layer
    out = ctx.out_sizes
    g = ctx.choose(2 * math.prod(out) + 1, 2 * math.prod(out[:-1]) + 1,
                   "cell of each stage", "row of each stage")
    kernel = depthwise_as_grouped(layer.weight("depthwise_kernel"))
    steps, fields = _input_steps(ctx, kernel, ctx.x0.shape[-1])
    nan_out = np.full(ctx.y0.shape, np.nan)
    mid = emit(ctx, steps, "depthwise", g, np.full(out + (kernel.shape[-1],), np.nan),
               shown=lambda b: (nan_out, {"mid": b.copy()}))
    pw = layer.weight("pointwise_kernel")
    pw = pw.reshape(pw.shape[-2:])
    buf = emit(ctx, _pointwise_steps(mid, pw), "pointwise", g,
               np.full(out + (pw.shape[-1],), np.nan), source="mid", mid=mid)
    finish(ctx, np.nan_to_num(buf, nan=0.0), mid=mid)
    return ctx.animation("separable", g, SeparableMeta(
        **fields, depth_multiplier=layer.depth_multiplier, pointwise_kernel=pw,
        mid_final=mid))


def _count(per_stage: int):
    return lambda geom, n, view: per_stage * n(geom.out_spatial) + 1


CONV = Family(build_conv, _count(1))
DEPTHWISE = Family(build_depthwise, _count(1))
SEPARABLE = Family(build_separable, _count(2))
