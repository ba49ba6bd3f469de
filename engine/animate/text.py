"""Every caption of an animation, in words, from the geometry: the one place they are written.

A step says which cells it reads and writes with the wording of Explore's link sentences
(:func:`engine.geometry.output_link` / ``input_link``: ``reads input rows 0–2, columns 0–2``,
the extent of the cells with a non-zero weight, padding excluded), then what it computes::

    Output row 0, column 0 reads input rows 0–2, columns 0–2: 9 products, sum 1.25
    Input row 1, column 2 (x = 0.5) feeds output rows 2–4, columns 4–6: x·kernel, 9 products added
    Output row 0, column 1 reads input rows 0–1, columns 0–1 with bilinear weights 0.75, 0.25: …

Cells are spatial tuples (or ``(n, rank)`` arrays); ``geom`` is the animation's
:class:`~engine.geometry.LayerGeometry`.
"""

from __future__ import annotations

import math

import numpy as np

from engine.geometry import AXIS_NAMES, LayerGeometry, input_link, output_link


# --------------------------------------------------------------------------- numbers

def fmt(v: float) -> str:
    """A value for a caption: integers as such, else 3 significant digits."""
    v = float(v)
    if not math.isfinite(v):
        return str(v)
    if v == int(v) and abs(v) < 1e6:
        return str(int(v))
    a = abs(v)
    return f"{v:.0f}" if a >= 1000 else f"{v:.1f}" if a >= 100 else f"{v:.3g}"


def paren(v: float) -> str:
    """:func:`fmt` in parentheses when negative (for products ``0.5·(−2)``)."""
    text = fmt(v)
    return f"({text})" if text.startswith("-") else text


def plural(n: int, word: str) -> str:
    """``1 tap``, ``9 taps``."""
    return f"{n} {word}{'s' if n != 1 else ''}"


def listed(values, limit: int) -> str:
    """``1, 2.5, …``: at most ``limit`` values."""
    values = np.asarray(values).ravel()
    return ", ".join(fmt(v) for v in values[:limit]) + (", …" if values.size > limit else "")


# --------------------------------------------------------------------------- cells

def axis_units(rank: int) -> tuple:
    """``("row", "column")``: the singular of :data:`engine.geometry.AXIS_NAMES`."""
    return tuple(name[:-1] for name in AXIS_NAMES[rank])


def cells_words(cells, rank: int) -> str:
    """``row 0, column 3`` for one cell; ``row 2, columns 0–7`` for a block of cells."""
    cells = np.asarray(cells, np.int64).reshape(-1, rank)
    parts = []
    for unit, name, lo, hi in zip(axis_units(rank), AXIS_NAMES[rank], cells.min(axis=0),
                                  cells.max(axis=0)):
        parts.append(f"{unit} {lo}" if lo == hi else f"{name} {lo}–{hi}")
    return ", ".join(parts)


def _after(sentence: str, verb: str) -> str:
    """``only padding`` of a link sentence (``Output cell (0, 0) reads only padding``)."""
    return sentence.split(f" {verb} ", 1)[1]


def box_words(box, rank: int) -> str:
    """``rows 0–2, column 4`` for a box ``((0, 2), (4, 4))`` (per axis ``(first, last)``)."""
    return ", ".join(f"{unit} {lo}" if lo == hi else f"{name} {lo}–{hi}"
                     for unit, name, (lo, hi) in zip(axis_units(rank), AXIS_NAMES[rank], box))


def reads(geom: LayerGeometry, cells) -> str:
    """``reads input rows 0–2, columns 0–2`` of the output ``cells`` together: the box of
    :meth:`~engine.geometry.LayerGeometry.sources` (as :func:`~engine.geometry.output_link`
    says it; a single cell's range is said as that cell)."""
    cells = np.asarray(cells, np.int64).reshape(-1, geom.rank)
    verb = "reads" if len(cells) == 1 else "read"
    boxes = [b for b in (geom.sources(tuple(c)) for c in cells) if b is not None]
    if not boxes:
        return f"{verb} {_after(output_link(geom, tuple(cells[0])), 'reads')}"
    lo = np.min([[a for a, _ in b] for b in boxes], axis=0)
    hi = np.max([[z for _, z in b] for b in boxes], axis=0)
    return f"{verb} input {box_words(list(zip(lo, hi)), geom.rank)}"


def feeds(geom: LayerGeometry, cell) -> str:
    """``feeds output rows 2–4, columns 4–6`` of one input cell (the box of
    :meth:`~engine.geometry.LayerGeometry.feeds`, or why it feeds none as
    :func:`~engine.geometry.input_link` says it)."""
    cell = tuple(int(c) for c in cell)
    box = geom.feeds(cell)
    if box is None:
        return f"feeds {_after(input_link(geom, cell), 'feeds')}"
    return f"feeds output {box_words(box, geom.rank)}"


def _sums(sums, word: str = "filter") -> str:
    sums = np.asarray(sums).ravel()
    return f"sum {fmt(sums[0])}" if sums.size == 1 else f"sums {listed(sums, 4)} (one per {word})"


# --------------------------------------------------------------------------- captions

def conv_cell(geom: LayerGeometry, stage: str, cell, n_taps: int, per_filter: int, n_pad: int,
              sums, pad_word: str) -> str:
    """A convolution step of one output cell: ``n_taps`` taps × ``per_filter`` channels."""
    n = n_taps * per_filter
    what = plural(n, "product") + (f" ({n_taps} taps × {per_filter} channels)"
                                   if per_filter > 1 else "")
    pad = f"; {plural(n_pad, 'tap')} {'reads' if n_pad == 1 else 'read'} {pad_word}" \
        if n_pad else ""
    lead = {"conv": "", "gather": "Gather: ", "depthwise": "Depthwise: "}[stage]
    out = "output" if lead else "Output"
    return (f"{lead}{out} {cells_words([cell], geom.rank)} {reads(geom, [cell])}: {what}, "
            f"{_sums(sums, 'channel' if stage == 'depthwise' else 'filter')}{pad}")


def pointwise_cell(rank: int, cell, n_mid: int, sums) -> str:
    """The 1×1 pointwise step of a separable convolution at one cell."""
    return (f"Pointwise: output {cells_words([cell], rank)} mixes the {n_mid} depthwise "
            f"channels of the same cell: {plural(n_mid, 'product')}, {_sums(sums)}")


def conv_row(geom: LayerGeometry, stage: str, cells, n_taps: int) -> str:
    """A convolution step of a row of output cells."""
    head = {"conv": "Output", "gather": "Gather: output", "depthwise": "Depthwise: output",
            "pointwise": "Pointwise: output"}[stage]
    what = ("each mixes the depthwise channels of its cell" if stage == "pointwise"
            else f"{reads(geom, cells)}, {plural(n_taps, 'tap')} per cell")
    return f"{head} {cells_words(cells, geom.rank)} ({len(cells)} cells): {what}"


def stamp_cell(geom: LayerGeometry, cell, x, n_taps: int, n_inside: int) -> str:
    """Scatter view: one input cell stamps ``x · kernel`` onto the output."""
    cut = f" ({n_taps - n_inside} fall outside the output and are cut)" if n_inside < n_taps \
        else ""
    c = np.asarray(x).size
    what = plural(n_taps * c, "product") + (f" ({n_taps} taps × {c} channels)" if c > 1 else "")
    return (f"Input {cells_words([cell], geom.rank)} (x = {listed(x, 3)}) "
            f"{feeds(geom, cell)}: x·kernel, {what} added in{cut}; overlapping stamps add up")


def stamp_row(geom: LayerGeometry, cells) -> str:
    """Scatter view: a row of input cells stamps its kernels."""
    return (f"Input {cells_words(cells, geom.rank)} ({len(cells)} cells): each adds "
            "x·kernel onto the output; overlapping stamps add up")


def _block(geom: LayerGeometry) -> str:
    """``a 2 × 3 block`` (``2 cells`` along a 1-D axis) of nearest upsampling."""
    size = tuple(geom.layer.size)
    return plural(size[0], "cell") if len(size) == 1 else \
        f"a {' × '.join(map(str, size))} block"


def repeat_cell(geom: LayerGeometry, cell, x) -> str:
    """Nearest upsampling: one input cell copied into its block."""
    x = np.asarray(x).ravel()
    value = f"value {fmt(x[0])}" + (f" and {x.size - 1} more channels" if x.size > 1 else "")
    return (f"Input {cells_words([cell], geom.rank)} ({value}) {feeds(geom, cell)}: "
            f"copied into {_block(geom)}")


def repeat_row(geom: LayerGeometry, cells) -> str:
    """Nearest upsampling: a row of input cells copied into their blocks."""
    return (f"Input {cells_words(cells, geom.rank)}: each cell is copied into "
            f"{_block(geom)} of the output")


def interpolate_cell(geom: LayerGeometry, cell, weights, values, value) -> str:
    """An interpolated output cell: its source cells, their weights and the weighted sum
    (channel 0)."""
    method = geom.layer.interpolation
    terms = " + ".join(f"{fmt(w)}·{paren(v)}" for w, v in zip(weights[:6], values[:6, 0]))
    if len(weights) > 6:
        terms += f" + … ({len(weights)} sources)"
    return (f"Output {cells_words([cell], geom.rank)} {reads(geom, [cell])} with {method} "
            f"weights {listed(weights, 6)}: {terms or '0'} = {fmt(value)}"
            + (" (channel 0)" if values.shape[-1] > 1 else ""))


def interpolate_row(geom: LayerGeometry, cells) -> str:
    """A row of interpolated output cells."""
    return (f"Output {cells_words(cells, geom.rank)} ({len(cells)} cells) {reads(geom, cells)} "
            f"with {geom.layer.interpolation} weights")


def finish(bias, activation: str | None, channels_word: str) -> str:
    """The bias + activation step of the weighted layers."""
    parts = [f"add the bias of each {channels_word} (b = [{listed(bias, 6)}])"
             if bias is not None else "no bias (use_bias=False)",
             f"apply activation '{activation}'" if activation is not None
             else "activation: none (linear)"]
    return "Finish: " + " and ".join(parts) + "."


def copy_in(in_sizes, sides: str) -> str:
    """ZeroPadding's first step."""
    return (f"Copy the input ({' × '.join(map(str, in_sizes))}) into the middle of the "
            f"output; zeros to add: {sides}.")


def pad_side(side: str, amount: int, unit: str, axis: int) -> str:
    return f"Pad {side}: +{plural(amount, unit)} of zeros (axis {axis})."


def crop_side(side: str, amount: int, unit: str, axis: int) -> str:
    return f"Crop {side}: −{plural(amount, unit)} (axis {axis})."


def keep_block(in_sizes, out_sizes, kept, rank: int) -> str:
    """Cropping's last step: the kept block, in words."""
    where = ", ".join(f"{name} {a}–{b - 1}" for name, (a, b) in zip(AXIS_NAMES[rank], kept))
    return (f"Keep the middle block, input {where}: {' × '.join(map(str, in_sizes))} → "
            f"{' × '.join(map(str, out_sizes))}.")
