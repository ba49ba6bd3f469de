"""UpSampling, nearest and interpolated.

- nearest: each input cell is repeated into a ``size[0] × …`` block of the output (the
  outputs it feeds, ``RepeatAxis.feeds``); one frame per input cell (or input row).
- bilinear / bicubic / lanczos3 / lanczos5 / area (UpSampling2D): one frame per output cell
  (or row), showing its source cells (clamped to the image, duplicates merged) and their
  weights, the product over axes of the geometry's ``ResizeAxis`` taps.
"""

from __future__ import annotations

import math

import numpy as np

from engine.animate.cells import blocks, grid, positions, unique_cells
from engine.animate.frames import Context, Family, UpsampleMeta
from engine.animate import text as T


def _meta(ctx: Context) -> UpsampleMeta:
    return UpsampleMeta(**ctx.common(), size=tuple(ctx.layer.size),
                        interpolation=ctx.layer.interpolation)


def build_nearest(ctx: Context):
    spatial = ctx.in_sizes
    g = ctx.choose(math.prod(spatial), math.prod(spatial[:-1]), "input cell", "input row")
    fed = grid([[[o for o, _ in op.feeds(i)] for i in range(op.n_in)]
                for op in ctx.geom.axes])  # (P_in, Πsize, rank)
    buf = np.full(ctx.out_sizes + (ctx.x0.shape[-1],), np.nan)
    pos = positions(spatial)
    for start, stop in blocks(pos.shape[0], spatial[-1], g):
        out_cells = fed[start:stop].reshape(-1, ctx.rank)
        src = np.repeat(pos[start:stop], fed.shape[1], axis=0)
        buf[tuple(out_cells.T)] = ctx.x0[tuple(src.T)]
        caption = (T.repeat_cell(ctx.geom, pos[start], ctx.x0[tuple(pos[start])])
                   if g == "cell" else T.repeat_row(ctx.geom, pos[start:stop]))
        ctx.add("repeat", caption, buf, pos[start:stop], out_cells)
    ctx.finish_exact(buf)
    return ctx.animation("upsample", g, _meta(ctx))


def resize_sources(axes) -> tuple:
    """Per output cell (row-major) its source cells and weights: lists of ``(n_p, rank)``
    cells and ``(n_p,)`` float64 weights (taps clamped to the same cell are merged)."""
    taps = [op.taps(0, op.n_out - 1) for op in axes]
    where = grid([t.position for t in taps])  # (P, T, rank)
    weight = grid([t.weight for t in taps]).prod(-1)
    exists = grid([t.exists for t in taps]).all(-1)
    cells, weights = [], []
    for p in range(where.shape[0]):
        uniq, inverse = np.unique(where[p][exists[p]], axis=0, return_inverse=True)
        cells.append(uniq)
        weights.append(np.bincount(inverse.ravel(), weight[p][exists[p]], len(uniq)))
    return cells, weights


def build_interpolate(ctx: Context):
    out = ctx.out_sizes
    g = ctx.choose(math.prod(out), math.prod(out[:-1]), "output cell", "output row")
    cells, weights = resize_sources(ctx.geom.axes)
    x64 = ctx.x0.astype(np.float64)
    buf = np.full(out + (ctx.x0.shape[-1],), np.nan)
    pos = positions(out)
    for p in range(pos.shape[0]):
        buf[tuple(pos[p])] = weights[p] @ x64[tuple(cells[p].T)]
    shown = np.full_like(buf, np.nan)
    for start, stop in blocks(pos.shape[0], out[-1], g):
        shown[tuple(pos[start:stop].T)] = buf[tuple(pos[start:stop].T)]
        if g == "cell":
            vals = x64[tuple(cells[start].T)]
            caption = T.interpolate_cell(ctx.geom, pos[start], weights[start], vals,
                                         buf[tuple(pos[start])][0])
            ctx.add("interpolate", caption,
                    shown, cells[start], pos[start:stop], in_weights=weights[start])
        else:
            ctx.add("interpolate", T.interpolate_row(ctx.geom, pos[start:stop]), shown,
                    unique_cells(np.concatenate(cells[start:stop])), pos[start:stop])
    ctx.finish_exact(shown)
    return ctx.animation("interpolate", g, _meta(ctx))


def _build(ctx: Context, view=None):
    return build_nearest(ctx) if ctx.layer.interpolation == "nearest" else \
        build_interpolate(ctx)


def _count(geom, n, view) -> int:
    nearest = geom.layer.interpolation == "nearest"
    return n(geom.in_spatial if nearest else geom.out_spatial)


UPSAMPLE = Family(_build, _count)
