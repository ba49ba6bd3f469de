"""The geometry said in words: the sentences Explore prints under its panels (scripts and
tests read them, so their form is fixed):

    Output cell (r, c) reads input rows a–b, columns c–d
    Output cell (t,) reads input steps a–b
    Output cell (d, r, c) reads input depths a–b, rows c–d, columns e–f
    Input cell (r, c) feeds output rows a–b, columns c–d

Each range is the extent of the cells with a non-zero weight, padding excluded.
"""

from __future__ import annotations

from typing import NamedTuple

from engine.geometry.layer import LayerGeometry


class AxisName(NamedTuple):
    """A spatial axis in words: ``plural`` for sentences, ``short`` for tight labels,
    ``singular`` for one index (``output row``)."""

    plural: str
    short: str
    singular: str


_STEPS, _DEPTHS = AxisName("steps", "steps", "step"), AxisName("depths", "depth", "depth")
_ROWS, _COLUMNS = AxisName("rows", "rows", "row"), AxisName("columns", "cols", "column")
#: The spatial axes of each rank, in spatial order (the one list of their names).
AXES = {1: (_STEPS,), 2: (_ROWS, _COLUMNS), 3: (_DEPTHS, _ROWS, _COLUMNS)}
AXIS_NAMES = {rank: tuple(a.plural for a in axes) for rank, axes in AXES.items()}
AXIS_SHORT = {rank: tuple(a.short for a in axes) for rank, axes in AXES.items()}
AXIS_SINGULAR = {rank: tuple(a.singular for a in axes) for rank, axes in AXES.items()}


def cell_text(cell) -> str:
    """``(3, 4)``, ``(5,)``: a cell as Python prints the tuple."""
    return str(tuple(int(i) for i in cell))


def ranges_text(box, rank: int) -> str:
    """``rows 2–4, columns 0–2`` for a box ``((2, 4), (0, 2))``."""
    return ", ".join(f"{name} {lo}–{hi}" for name, (lo, hi) in zip(AXIS_NAMES[rank], box))


def output_link(geom: LayerGeometry, out_cell) -> str:
    """``Output cell (r, c) reads input rows a–b, columns c–d`` (or why it reads none)."""
    cell = geom.check_cell(out_cell)
    box = geom.sources(cell)
    if box is None:
        why = ("only padding" if geom.kind in ("conv", "depthwise", "separable", "pad",
                                               "maxpool", "avgpool")
               else "no input cell (no kernel tap lands on it: its value is the bias)")
        return f"Output cell {cell_text(cell)} reads {why}"
    return f"Output cell {cell_text(cell)} reads input {ranges_text(box, geom.rank)}"


def input_link(geom: LayerGeometry, in_cell) -> str:
    """``Input cell (r, c) feeds output rows a–b, columns c–d`` (or why it feeds none)."""
    cell = geom.check_cell(in_cell, "input")
    box = geom.feeds(cell)
    if box is None:
        why = ("no output cell (it is cropped away)" if geom.kind == "crop" else
               "no output cell (no window reaches it)")
        return f"Input cell {cell_text(cell)} feeds {why}"
    return f"Input cell {cell_text(cell)} feeds output {ranges_text(box, geom.rank)}"
