"""Zero padding and cropping, side by side: the (before, after) cells of every axis are the
geometry's ``pads`` (``ShiftAxis.pad``: positive for padding, negative for cropping).

- ZeroPadding: the input is copied into the middle of the output, then one frame per side
  with padding > 0 writes its zeros (a side's slab spans the whole output along the other
  axes, minus cells an earlier side already wrote): ``1 + sides``.
- Cropping: one frame per side with cropping > 0 marks the input cells cut, then the kept
  block is copied to the output: ``sides + 1``.
"""

from __future__ import annotations

import numpy as np

from engine.animate.cells import positions, slab
from engine.animate.frames import CUT, PAD, REAL, Context, CropMeta, Family, PadMeta
from engine.animate import text as T

_SIDE_NAMES = {
    1: (("left", "right"),),
    2: (("top", "bottom"), ("left", "right")),
    3: (("front", "back"), ("top", "bottom"), ("left", "right")),
}


def _sides(ctx: Context, pairs, sizes):
    """``(axis, side name, amount, lo, hi, unit)`` of every side with ``amount`` > 0, where
    ``lo..hi`` are the cells of that side in a grid of ``sizes``."""
    units = T.axis_units(ctx.rank)
    for axis, ((b, a), names) in enumerate(zip(pairs, _SIDE_NAMES[ctx.rank])):
        for side, amount, lo, hi in ((names[0], b, 0, b),
                                     (names[1], a, sizes[axis] - a, sizes[axis])):
            if amount > 0:
                yield axis, side, amount, lo, hi, units[axis]


def build_zeropad(ctx: Context, view=None):
    pads = tuple(tuple(int(v) for v in p) for p in ctx.geom.pads)
    spatial, out = ctx.in_sizes, ctx.out_sizes
    buf = np.full(out + (ctx.x0.shape[-1],), np.nan)
    interior = tuple(slice(b, b + n) for (b, _), n in zip(pads, spatial))
    buf[interior] = ctx.x0
    written = np.zeros(out, bool)
    written[interior] = True
    desc = ", ".join(f"{names[0]} {b}, {names[1]} {a}"
                     for names, (b, a) in zip(_SIDE_NAMES[ctx.rank], pads))
    ctx.add("copy", T.copy_in(spatial, desc), buf, positions(spatial),
            positions(spatial) + np.array([b for b, _ in pads])[None], written=written.copy())
    for axis, side, amount, lo, hi, unit in _sides(ctx, pads, out):
        new = slab(out, axis, lo, hi) & ~written
        buf[new] = 0.0
        written |= new
        ctx.add("pad", T.pad_side(side, amount, unit, axis), buf, [],
                np.argwhere(new), written=written.copy())
    ctx.finish_exact(buf)
    cat = np.full(out, PAD, np.int8)
    cat[interior] = REAL
    return ctx.animation("zeropad", "cell", PadMeta(**ctx.common(), padding=pads,
                                                    output_category=cat))


def build_crop(ctx: Context, view=None):
    crops = tuple((-int(b), -int(a)) for b, a in ctx.geom.pads)
    spatial, out = ctx.in_sizes, ctx.out_sizes
    buf = np.full(out + (ctx.x0.shape[-1],), np.nan)
    cut = np.zeros(spatial, bool)
    for axis, side, amount, lo, hi, unit in _sides(ctx, crops, spatial):
        side_cells = slab(spatial, axis, lo, hi)
        new = side_cells & ~cut
        cut |= side_cells
        ctx.add("crop", T.crop_side(side, amount, unit, axis), buf,
                np.argwhere(new), [], cut=cut.copy())
    kept = tuple((b, n - a) for (b, a), n in zip(crops, spatial))
    buf[...] = ctx.x0[tuple(slice(s, e) for s, e in kept)]
    ctx.add("copy", T.keep_block(spatial, out, kept, ctx.rank), buf, np.argwhere(~cut),
            positions(out), cut=cut.copy())
    ctx.finish_exact(buf)
    common = dict(ctx.common(), input_category=np.where(cut, CUT, REAL).astype(np.int8))
    return ctx.animation("crop", "cell", CropMeta(**common, cropping=crops, kept=kept))


def _sides_count(geom) -> int:
    return sum(1 for pair in geom.pads for v in pair if v != 0)


PAD_FAMILY = Family(build_zeropad, lambda geom, n, view: 1 + _sides_count(geom))
CROP_FAMILY = Family(build_crop, lambda geom, n, view: _sides_count(geom) + 1)
